import { type RunResult, type Target, TargetError } from "../targets/target";
import { CHANNEL_TOOL_NAME, buildChannelTool } from "./channelTool";
import { parseAppStatus, parseChannelLine } from "./channelLines";
import { ChannelCommandError, RuntimeError } from "./runtimeError";
import type { AppStatus, ChannelLine, ElementType } from "./types";

export { parseChannelLine } from "./channelLines";
export { formatStatus } from "./statusTable";

// knn_core's channel as seen from the host: every call runs knn-channel on the target (over SSH or locally) and
// reads its JSON lines. Arguments are passed as words, never as a shell string, so names cannot inject commands.

export const REMOTE_RUNTIME_DIR = "/tmp/knn/runtime";
const TOOL_PATH = `${REMOTE_RUNTIME_DIR}/${CHANNEL_TOOL_NAME}`;
const COMMAND_TIMEOUT_MS = 30_000;
// The tool's exit statuses (kmod/runtime/tools/knn_channel.c).
const EXIT_REFUSED = 1;
const EXIT_NOT_LOADED = 2;
const EXIT_NOT_FOUND = 127;

/** An application of the user's own, created in knn_core with KNN_CMD_APP_ADD. */
export interface AppSpec {
	app: string;
	inputType: ElementType;
	outputType: ElementType;
	inputBytes: number;
	outputBytes: number;
	/** The most recurrent-state bytes a flow keeps; 0 or absent for stateless models. */
	stateBytes?: number;
}

/** The guard's settings; an absent field is left as it is. min/max bound every float32 output. */
export interface GuardSettings {
	window?: number;
	/** Bad outputs within a window that roll back at once. */
	badOutputs?: number;
	latencyNs?: number;
	min?: number;
	max?: number;
}

/** Builds knn-channel on this machine (cached in cacheDir), copies it to the target and returns its path there. */
export async function uploadChannelTool(target: Target, cacheDir: string, signal?: AbortSignal): Promise<string> {
	const local = await buildChannelTool(cacheDir, signal);
	const mkdir = await target.run("mkdir", ["-p", REMOTE_RUNTIME_DIR], { signal, timeoutMs: COMMAND_TIMEOUT_MS });
	if (mkdir.code !== 0) throw new RuntimeError(`Could not create ${REMOTE_RUNTIME_DIR} on ${target.description}: ${mkdir.stderr.trim() || `exit ${mkdir.code}`}; check that /tmp is writable there.`);
	await target.upload(local, TOOL_PATH, { signal, mode: 0o755 });
	return TOOL_PATH;
}

/** The applications knn_core holds (only `app` when given; none if it does not exist). */
export async function runtimeStatus(target: Target, options: { app?: string; signal?: AbortSignal } = {}): Promise<AppStatus[]> {
	const stdout = await runTool(target, ["list", ...appArgs(options.app)], options.signal);
	return stdout.split("\n").map((line) => line.trim()).filter((line) => line !== "").map(parseAppStatus);
}

/** Makes modelId (default: the model in the standby slot) the active model of app. */
export async function activateModel(target: Target, app: string, modelId?: number, signal?: AbortSignal): Promise<void> {
	await runTool(target, ["activate", "--app", app, ...(modelId !== undefined ? ["--model", String(modelId)] : [])], signal);
}

/** Swaps app back to the model in its other slot. */
export async function rollbackApp(target: Target, app: string, signal?: AbortSignal): Promise<void> {
	await runTool(target, ["rollback", "--app", app], signal);
}

/** Creates an application owned by knn_core, for models that no hook module feeds. */
export async function addApp(target: Target, app: AppSpec, signal?: AbortSignal): Promise<void> {
	await runTool(target, [
		"app-add", "--app", app.app, "--input-type", app.inputType, "--output-type", app.outputType,
		"--input-bytes", String(app.inputBytes), "--output-bytes", String(app.outputBytes),
		...(app.stateBytes !== undefined ? ["--state-bytes", String(app.stateBytes)] : []),
	], signal);
}

/** Removes an application made by addApp. */
export async function deleteApp(target: Target, app: string, signal?: AbortSignal): Promise<void> {
	await runTool(target, ["app-del", "--app", app], signal);
}

/** Changes app's guard; fields left out keep their values. */
export async function setGuard(target: Target, app: string, guard: GuardSettings, signal?: AbortSignal): Promise<void> {
	const args = ["guard", "--app", app];
	if (guard.window !== undefined) args.push("--window", String(guard.window));
	if (guard.badOutputs !== undefined) args.push("--bad-outputs", String(guard.badOutputs));
	if (guard.latencyNs !== undefined) args.push("--latency-ns", String(guard.latencyNs));
	// Shortest round-trip text of a double; the tool rounds it to float32 as the kernel compares in float32.
	if (guard.min !== undefined) args.push("--min", String(guard.min));
	if (guard.max !== undefined) args.push("--max", String(guard.max));
	await runTool(target, args, signal);
}

/**
 * Follows knn_core's records and events until the signal aborts (then resolves) or the tool ends. The tool runs on
 * a pty: hanging it up is what stops it on an OpenSSH target, where signals are refused for root logins.
 */
export async function streamChannel(target: Target, options: {
	app?: string; onLine: (line: ChannelLine) => void; signal: AbortSignal; recordsOnly?: boolean; eventsOnly?: boolean;
}): Promise<void> {
	const args = ["stream", ...appArgs(options.app), ...(options.recordsOnly ? ["--records-only"] : []), ...(options.eventsOnly ? ["--events-only"] : [])];
	// A line that does not parse, or a callback that throws, ends the stream with that error.
	const stopped = new AbortController();
	const signal = AbortSignal.any([options.signal, stopped.signal]);
	let failure: { error: unknown } | undefined;
	// On a pty the tool's stderr arrives among the JSON lines; kept for the error if it fails.
	const diagnostics: string[] = [];
	const onLine = (text: string): void => {
		const line = text.trim();
		if (failure || line === "") return;
		if (!line.startsWith("{")) {
			diagnostics.push(line);
			if (diagnostics.length > 10) diagnostics.shift();
			return;
		}
		try {
			options.onLine(parseChannelLine(line));
		} catch (error) {
			failure = { error };
			stopped.abort();
		}
	};
	let result: RunResult;
	try {
		result = await target.run(TOOL_PATH, args, { signal, pty: true, buffer: false, onLine });
	} catch (error) {
		if (failure) throw failure.error;
		if (options.signal.aborted && error instanceof TargetError && error.code === "cancelled") return;
		throw error;
	}
	if (failure) throw failure.error;
	if (result.code === 0 || options.signal.aborted) return;
	const text = diagnostics.join("\n");
	throw toolError(target, args, { ...result, stdout: text, stderr: text });
}

function appArgs(app: string | undefined): string[] {
	return app === undefined ? [] : ["--app", app];
}

/** Runs one knn-channel command and returns its stdout; a refusal or failure becomes a RuntimeError. */
async function runTool(target: Target, args: string[], signal: AbortSignal | undefined): Promise<string> {
	const result = await target.run(TOOL_PATH, args, { signal, timeoutMs: COMMAND_TIMEOUT_MS });
	if (result.code === 0) return result.stdout;
	throw toolError(target, args, result);
}

/** The tool's failure as a sentence naming the target: knn_core's errno and extack message when it refused. */
function toolError(target: Target, args: string[], result: RunResult): RuntimeError {
	const command = `knn-channel ${args.join(" ")}`;
	const stderr = result.stderr.trim().replace(/^knn-channel: /gm, "");
	if (result.code === EXIT_REFUSED) {
		const verdict = result.stdout.split("\n").map((l) => l.trim()).reverse().find((l) => l.startsWith("{\"ok\":false"));
		if (verdict) {
			const parsed = JSON.parse(verdict) as { errno?: unknown; error?: unknown };
			const errno = typeof parsed.errno === "number" ? parsed.errno : 0;
			return new ChannelCommandError(`knn_core on ${target.description} refused "${command}": ${String(parsed.error)}`, errno);
		}
	}
	if (result.code === EXIT_NOT_LOADED) return new RuntimeError(`${stderr || "knn_core is not loaded: run knn runtime install"} (on ${target.description})`);
	// The shells of small targets say "not found" (busybox) or "No such file or directory" for a missing program.
	if (result.code === EXIT_NOT_FOUND || /knn-channel:? (not found|No such file or directory)/.test(result.stderr)) {
		return new RuntimeError(`${TOOL_PATH} is missing on ${target.description}: run knn runtime install --target to copy it there.`);
	}
	const status = result.code === null ? `was killed by SIG${result.signal ?? "?"}` : `exited with code ${result.code}`;
	const tail = (stderr || result.stdout.trim()).split("\n").slice(-5).join("\n");
	return new RuntimeError(`"${command}" ${status} on ${target.description}${tail ? `: ${tail}` : "."}`);
}
