import { StringDecoder } from "node:string_decoder";

import { KnnError, type KnnErrorCode } from "../util/errors";

/** Where a line of command output came from; on a pty both streams arrive merged as stdout. */
export type OutputStream = "stdout" | "stderr";

export interface RunOptions {
	/** Working directory on the target. */
	cwd?: string;
	/** Variables added to the target's environment for this command only. */
	env?: Record<string, string>;
	/** Aborting stops the command: locally its whole process group, remotely its channel. */
	signal?: AbortSignal;
	/** Each complete line as it arrives, without its line ending. */
	onLine?: (line: string, stream: OutputStream) => void;
	/**
	 * Run on a pseudo-terminal. Use it for long-running followers on an SSH target: hanging up the pty is the only
	 * way to stop a remote process that OpenSSH reliably honours (it refuses signals for root logins). Locally
	 * commands are always stopped by process group, so this changes nothing there.
	 */
	pty?: boolean;
	/** Bytes for the command's standard input; without it standard input is empty. */
	input?: string | Uint8Array;
	/** Stop the command after this long and fail with TargetError "timeout". */
	timeoutMs?: number;
	/** false: don't keep the output in the result, for followers whose output would grow without bound. */
	buffer?: boolean;
}

export interface RunResult {
	/** Exit status, or null when the command was ended by a signal. */
	code: number | null;
	/** Name of the signal without "SIG", when the command was ended by one. */
	signal?: string;
	stdout: string;
	stderr: string;
}

export interface TransferOptions {
	signal?: AbortSignal;
	/** File mode of the written file, e.g. 0o644; without it the receiving side's default applies. */
	mode?: number;
	onProgress?: (transferredBytes: number, totalBytes: number) => void;
}

/** A machine that runs commands and receives files: this one, or one reached over SSH. */
export interface Target {
	/** For messages and logs: "local", "root@127.0.0.1:10022". */
	readonly description: string;
	/**
	 * Runs a program with arguments. On an SSH target every word is quoted for the remote POSIX shell, so no
	 * argument is ever interpreted by it. A non-zero exit is a result, not an error; see expectSuccess.
	 */
	run(command: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
	/** Copies a file to the target. Readers of remotePath see the old file or the whole new one, never a part. */
	upload(localPath: string, remotePath: string, options?: TransferOptions): Promise<void>;
	/** Copies a file from the target, as atomically on this side as upload is on the other. */
	download(remotePath: string, localPath: string, options?: TransferOptions): Promise<void>;
	/** Stops whatever is still running and releases the connection. */
	close(): Promise<void>;
	/** VS Code's Disposable: close() without waiting. */
	dispose(): void;
}

/** The codes a target connection fails with (a subset of KnnErrorCode). */
export type TargetErrorCode = Extract<KnnErrorCode, "host-key-changed" | "host-key-unknown" | "host-key-revoked" | "auth" | "connect"
	| "disconnected" | "cancelled" | "timeout" | "command" | "transfer" | "config">;

export class TargetError extends KnnError {
	override readonly name = "TargetError";

	constructor(
		message: string,
		override readonly code: TargetErrorCode,
		readonly host?: string,
		options?: { cause?: unknown },
	) {
		super(message, code, options);
	}
}

// Words made only of these characters mean themselves to every POSIX shell. "=" is left out because a first word
// like A=b would be an assignment, and "~" because of tilde expansion.
const SHELL_SAFE = /^[A-Za-z0-9_@%+:,./-]+$/;

/** Quotes one word for a POSIX shell (sh, bash, dash, busybox ash) so that it reaches the program byte for byte. */
export function shellQuote(word: string): string {
	if (word.includes("\0")) {
		throw new TargetError(`Cannot pass ${JSON.stringify(word)} to a remote command: it contains a NUL byte, which no command line can hold.`, "command");
	}
	if (SHELL_SAFE.test(word)) return word;
	// Inside single quotes nothing is special except the closing quote, which is written as '\'' (close, escaped quote, reopen).
	return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line that runs command with args and nothing else. */
export function shellCommand(command: string, args: readonly string[]): string {
	return [command, ...args].map(shellQuote).join(" ");
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** shellCommand with an optional working directory and environment, both quoted like the arguments. */
export function shellCommandLine(command: string, args: readonly string[], options: Pick<RunOptions, "cwd" | "env"> = {}): string {
	const parts: string[] = [];
	if (options.cwd !== undefined) parts.push(`cd ${shellQuote(options.cwd)} &&`);
	for (const [name, value] of Object.entries(options.env ?? {})) {
		if (!ENV_NAME.test(name)) {
			throw new TargetError(`Environment variable name ${JSON.stringify(name)} is not valid in a shell; use letters, digits and "_" only.`, "command");
		}
		parts.push(`${name}=${shellQuote(value)}`);
	}
	parts.push(shellCommand(command, args));
	return parts.join(" ");
}

/** Returns result when the command exited with 0, and otherwise throws an error naming the command, the target and the end of its output. */
export function expectSuccess(result: RunResult, target: Pick<Target, "description">, command: string): RunResult {
	if (result.code === 0) return result;
	const status = result.code === null ? `was killed by SIG${result.signal ?? "?"}` : `exited with code ${result.code}`;
	const tail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-5).join("\n");
	throw new TargetError(`"${command}" ${status} on ${target.description}${tail ? `:\n${tail}` : "."}`, "command", target.description);
}

/** Decodes one output stream as UTF-8 (characters may be split across chunks), keeps it if asked, and reports whole lines. */
export class OutputCollector {
	private readonly decoder = new StringDecoder("utf8");
	private partialLine = "";
	private kept = "";

	constructor(
		private readonly stream: OutputStream,
		private readonly keep: boolean,
		private readonly onLine?: (line: string, stream: OutputStream) => void,
	) {}

	push(chunk: Buffer | string): void {
		this.accept(typeof chunk === "string" ? chunk : this.decoder.write(chunk));
	}

	/** Flushes a last line that had no line ending, and returns the whole text when it was kept. */
	end(): string {
		this.accept(this.decoder.end());
		if (this.partialLine !== "") this.emit(this.partialLine);
		this.partialLine = "";
		return this.kept;
	}

	private accept(text: string): void {
		if (text === "") return;
		if (this.keep) this.kept += text;
		if (!this.onLine) return;
		const lines = (this.partialLine + text).split("\n");
		this.partialLine = lines.pop() ?? "";
		for (const line of lines) this.emit(line);
	}

	private emit(line: string): void {
		// A pty turns "\n" into "\r\n".
		this.onLine?.(line.endsWith("\r") ? line.slice(0, -1) : line, this.stream);
	}
}

export function cancelledError(target: string, what: string): TargetError {
	return new TargetError(`${what} on ${target} was cancelled.`, "cancelled", target);
}

export function timeoutError(target: string, what: string, timeoutMs: number): TargetError {
	return new TargetError(`${what} on ${target} did not finish within ${formatDuration(timeoutMs)} and was stopped.`, "timeout", target);
}

export function formatDuration(ms: number): string {
	return ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

/** A short name for a command in messages: the program and, if short, its arguments. */
export function describeCommand(command: string, args: readonly string[]): string {
	const text = shellCommand(command, args);
	return text.length <= 80 ? text : `${text.slice(0, 77)}...`;
}
