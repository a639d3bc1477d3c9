// How kernel log records look in a terminal: ANSI colours by level, "\r\n" line ends, no control characters
// from the kernel that could move the cursor or retitle the terminal. No `vscode` here, so it is unit-tested.
import { type KernelLogRecord, LEVEL_NAMES, formatRecord } from "../core/kernelLog/kmsg";
import { terminalText } from "../core/util/terminalText";

const SGR = (codes: string) => `\x1b[${codes}m`;
const RESET = SGR("0");
/** emerg, alert, crit: bold red; err: red; warn: yellow; notice: cyan; info: default; debug: dim. */
const LEVEL_STYLE = ["1;31", "1;31", "1;31", "31", "33", "36", "", "2"];

/** A terminal wants "\r\n": a bare "\n" moves down without returning to the first column. */
export function toTerminalText(text: string): string {
	return text.replace(/\r?\n/g, "\r\n");
}

/** Shows control and bidi characters (ESC, BEL, C1, U+202E...) escaped so that a kernel message cannot drive the terminal. */
export function escapeControls(text: string): string {
	return terminalText(text);
}

/** The line as it is kept for tests and copy: dmesg's "[   12.345678] level: text". */
export function plainRecordLine(record: KernelLogRecord): string {
	return formatRecord({ ...record, message: escapeControls(record.message) }, true);
}

/** The record for the terminal: dim timestamp, level and message in the level's colour, ending in "\r\n". */
export function terminalRecordLine(record: KernelLogRecord): string {
	const seconds = (record.timestampUs / 1e6).toFixed(6).padStart(12);
	const style = LEVEL_STYLE[record.level] ?? "";
	const level = LEVEL_NAMES[record.level] ?? String(record.level);
	const body = `${level}: ${escapeControls(record.message)}`;
	return toTerminalText(`${SGR("2")}[${seconds}]${RESET} ${style ? `${SGR(style)}${body}${RESET}` : body}\n`);
}

/** A line of our own (connection state, hints) in the terminal: italic, yellow for trouble. */
export function terminalNoticeLine(text: string, kind: "info" | "warning" = "info"): string {
	return toTerminalText(`${SGR(kind === "warning" ? "3;33" : "3;2")}-- ${escapeControls(text)} --${RESET}\n`);
}

export class KernelLogFilterError extends Error {}

/** Which records the kernel log terminal shows. */
export interface KernelLogFilter {
	/** For the terminal and the prompt: `module indigo`, `/fail|err/i`. */
	readonly description: string;
	matches(record: KernelLogRecord): boolean;
}

const MODULE_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * "" means no filter; "/regex/flags" a regular expression on the message; a bare name a module (its name as a
 * whole word, as `knn dmesg --module` does); anything else a regular expression.
 */
export function parseKernelLogFilter(text: string): KernelLogFilter | undefined {
	const spec = text.trim();
	if (spec === "") return undefined;
	const slashed = /^\/(.*)\/([a-z]*)$/.exec(spec);
	if (!slashed && MODULE_NAME.test(spec)) {
		const word = new RegExp(`(^|[^A-Za-z0-9_])${spec.replace(/-/g, "[-_]")}([^A-Za-z0-9_]|$)`);
		return { description: `module ${spec}`, matches: (record) => word.test(record.message) };
	}
	const [source, flags] = slashed ? [slashed[1], slashed[2]] : [spec, ""];
	let pattern: RegExp;
	try {
		pattern = new RegExp(source, flags.replace(/g/g, ""));
	} catch (error) {
		throw new KernelLogFilterError(`"${spec}" is not a module name or a regular expression: ${error instanceof Error ? error.message : String(error)}`);
	}
	return { description: `/${source}/${flags}`, matches: (record) => pattern.test(record.message) };
}

export type FollowStatus = { kind: "disconnected"; error: Error; retryInMs: number } | { kind: "reconnected"; lost: number };

/** What the terminal says when the connection drops and comes back. */
export function followStatusText(status: FollowStatus, target: string): string {
	if (status.kind === "disconnected") return `connection to ${target} lost (${status.error.message.split("\n")[0]}); reconnecting in ${status.retryInMs} ms`;
	return `reconnected to ${target}${status.lost > 0 ? `; ${status.lost} record(s) were overwritten meanwhile` : ""}`;
}
