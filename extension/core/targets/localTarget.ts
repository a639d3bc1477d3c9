import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import {
	OutputCollector,
	type RunOptions,
	type RunResult,
	type Target,
	TargetError,
	type TransferOptions,
	cancelledError,
	describeCommand,
	timeoutError,
} from "./target";
import { ProcessError, runLocalProcess } from "../util/processRunner";

/** How long a cancelled process group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2000;
const DESCRIPTION = "local";

/** This machine. Each command runs in its own process group so that cancelling it also ends what it started. */
export class LocalTarget implements Target {
	readonly description = DESCRIPTION;
	private readonly running = new Set<{ stop: () => Promise<void> }>();

	constructor(private readonly killGraceMs = KILL_GRACE_MS) {}

	async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
		const what = `"${describeCommand(command, args)}"`;
		if (options.signal?.aborted) throw cancelledError(DESCRIPTION, what);
		const keep = options.buffer !== false;
		const stdout = new OutputCollector("stdout", keep, options.onLine);
		const stderr = new OutputCollector("stderr", keep, options.onLine);
		// close() stops every running command through its own controller, as an abort by the caller would.
		const closing = new AbortController();
		const signal = options.signal ? AbortSignal.any([options.signal, closing.signal]) : closing.signal;
		const running = runLocalProcess(command, args, {
			cwd: options.cwd, env: options.env, input: options.input, signal, timeoutMs: options.timeoutMs,
			killGraceMs: this.killGraceMs, buffer: false,
			onData: (chunk, stream) => (stream === "stdout" ? stdout : stderr).push(chunk),
		});
		const stopper = { stop: () => { closing.abort(); return running.then(() => undefined, () => undefined); } };
		this.running.add(stopper);
		try {
			const result = await running;
			if (result.cancelled) throw cancelledError(DESCRIPTION, what);
			if (result.timedOut) throw timeoutError(DESCRIPTION, what, options.timeoutMs ?? 0);
			return {
				code: result.code,
				...(result.signal ? { signal: result.signal } : {}),
				stdout: stdout.end(),
				stderr: stderr.end(),
			};
		} catch (error) {
			if (!(error instanceof ProcessError)) throw error;
			throw new TargetError(`Could not start ${what} on this machine: ${error.message}`, "command", DESCRIPTION, { cause: error });
		} finally {
			this.running.delete(stopper);
		}
	}

	async upload(localPath: string, remotePath: string, options: TransferOptions = {}): Promise<void> {
		await copyFileAtomic(localPath, remotePath, options, DESCRIPTION);
	}

	async download(remotePath: string, localPath: string, options: TransferOptions = {}): Promise<void> {
		await copyFileAtomic(remotePath, localPath, options, DESCRIPTION);
	}

	async close(): Promise<void> {
		await Promise.all([...this.running].map((r) => r.stop()));
	}

	dispose(): void {
		void this.close();
	}
}

/** A temporary name beside file, so that renaming it over file is atomic. */
export function temporaryPathBeside(file: string): string {
	return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/** Copies through a temporary file beside the destination, so that the destination is never half-written. */
export async function copyFileAtomic(source: string, destination: string, options: TransferOptions, target: string): Promise<void> {
	if (options.signal?.aborted) throw cancelledError(target, `Copying ${source}`);
	const temp = temporaryPathBeside(destination);
	try {
		const total = (await fs.promises.stat(source)).size;
		let transferred = 0;
		const input = fs.createReadStream(source);
		if (options.onProgress) {
			input.on("data", (chunk) => {
				transferred += chunk.length;
				options.onProgress?.(transferred, total);
			});
		}
		await pipeline(input, fs.createWriteStream(temp, { mode: options.mode ?? 0o666 }), { signal: options.signal });
		if (options.mode !== undefined) await fs.promises.chmod(temp, options.mode);
		await fs.promises.rename(temp, destination);
	} catch (error) {
		await fs.promises.rm(temp, { force: true });
		if (options.signal?.aborted) throw cancelledError(target, `Copying ${source}`);
		const code = (error as NodeJS.ErrnoException).code;
		const why = code === "ENOENT" ? "the file or the destination folder does not exist" : (error as Error).message;
		throw new TargetError(`Could not copy ${source} to ${destination} on ${target}: ${why}.`, "transfer", target, { cause: error });
	}
}
