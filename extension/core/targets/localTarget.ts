import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import type { ResultPromise } from "execa";
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
		// A real dynamic import: execa is ESM-only, and tsx turns a static import into require(), under which
		// execa's dependency unicorn-magic (exports with only an "import" condition) fails to resolve. esbuild
		// bundles this import like any other.
		const { execa } = await import("execa");
		const subprocess = execa(command, [...args], {
			cwd: options.cwd,
			env: options.env,
			detached: true,
			reject: false,
			buffer: false,
			stdin: options.input === undefined ? "ignore" : "pipe",
			stdout: "pipe",
			stderr: "pipe",
		});
		if (options.input !== undefined) subprocess.stdin?.end(options.input);
		const keep = options.buffer !== false;
		const stdout = new OutputCollector("stdout", keep, options.onLine);
		const stderr = new OutputCollector("stderr", keep, options.onLine);
		subprocess.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
		subprocess.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));

		let stoppedBy: TargetError | undefined;
		let killing: Promise<void> | undefined;
		const stop = (error: TargetError): Promise<void> => {
			stoppedBy ??= error;
			killing ??= this.killGroup(subprocess, subprocess.pid);
			return killing;
		};
		const stopper = { stop: () => stop(cancelledError(DESCRIPTION, what)) };
		const onAbort = (): void => void stop(cancelledError(DESCRIPTION, what));
		options.signal?.addEventListener("abort", onAbort, { once: true });
		const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => void stop(timeoutError(DESCRIPTION, what, options.timeoutMs ?? 0)), options.timeoutMs);
		this.running.add(stopper);
		try {
			const result = await subprocess;
			if (stoppedBy) throw stoppedBy;
			if (result.exitCode === undefined && result.signal === undefined) {
				const why = (result as { originalMessage?: string }).originalMessage ?? result.shortMessage;
				throw new TargetError(`Could not start ${what} on this machine: ${why}. Check that the program is installed and on PATH, and that the working directory exists.`, "command", DESCRIPTION);
			}
			return {
				code: result.exitCode ?? null,
				...(result.signal ? { signal: result.signal.replace(/^SIG/, "") } : {}),
				stdout: stdout.end(),
				stderr: stderr.end(),
			};
		} finally {
			clearTimeout(timer);
			options.signal?.removeEventListener("abort", onAbort);
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

	/** SIGTERM to the whole group, then SIGKILL to whatever ignored it; resolves once the child has exited. */
	private async killGroup(subprocess: ResultPromise, pid: number | undefined): Promise<void> {
		if (pid === undefined) return;
		signalGroup(pid, "SIGTERM");
		let timer: NodeJS.Timeout | undefined;
		const exited = subprocess.then(() => undefined, () => undefined);
		await new Promise<void>((resolve) => {
			timer = setTimeout(resolve, this.killGraceMs);
			void exited.then(resolve);
		});
		clearTimeout(timer);
		// Grandchildren may outlive the child itself, so the group gets SIGKILL whether or not the child is gone.
		await new Promise((resolve) => setTimeout(resolve, Math.min(this.killGraceMs, 200)));
		signalGroup(pid, "SIGKILL");
		await exited;
	}
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pid, signal);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
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
