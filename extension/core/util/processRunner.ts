import * as fs from "node:fs";
import { KnnError, type KnnErrorCode } from "./errors";

// The one way Kernel NN runs a program on this machine: never through a shell, in its own process group so that
// stopping it (abort, timeout) also ends whatever it started, and with a missing program named with its package.

/** How long a stopped process group gets between SIGTERM and SIGKILL. */
const DEFAULT_KILL_GRACE_MS = 2000;

/** Debian packages of the programs Kernel NN runs, for "not installed" errors. */
const PACKAGE_OF: Record<string, string> = {
	objdump: "binutils", nm: "binutils", readelf: "binutils", ld: "binutils",
	modinfo: "kmod", insmod: "kmod", rmmod: "kmod", lsmod: "kmod", modprobe: "kmod",
	make: "make", gcc: "gcc", cc: "gcc",
	ssh: "openssh-client", "ssh-keygen": "openssh-client", scp: "openssh-client",
	"qemu-system-x86_64": "qemu-system-x86", "qemu-img": "qemu-utils",
	cpio: "cpio", dpkg: "dpkg", "dpkg-deb": "dpkg", "apt-get": "apt", zstd: "zstd", xz: "xz-utils", gzip: "gzip",
};

export type ProcessStream = "stdout" | "stderr";

export interface ProcessOptions {
	cwd?: string;
	/** Variables added to this process's environment; with `replaceEnv` the whole environment instead. */
	env?: NodeJS.ProcessEnv;
	replaceEnv?: boolean;
	/** Bytes for standard input; without it standard input is empty. */
	input?: string | Uint8Array;
	/** Aborting stops the whole process group; the result then has `cancelled`. */
	signal?: AbortSignal;
	/** Stops the whole process group after this long; the result then has `timedOut`. */
	timeoutMs?: number;
	/** Between SIGTERM and SIGKILL when stopping; 0 sends SIGKILL at once. */
	killGraceMs?: number;
	/** Each chunk of output as it arrives. */
	onData?: (chunk: Buffer, stream: ProcessStream) => void;
	/** false: don't keep the output in the result (for followers whose output would grow without bound). */
	buffer?: boolean;
	/** The Debian package to name when the program is missing, when PACKAGE_OF does not know it. */
	package?: string;
}

export interface ProcessResult {
	/** Exit status, or null when the process was ended by a signal. */
	code: number | null;
	/** Name of the signal without "SIG", when the process was ended by one. */
	signal?: string;
	stdout: string;
	stderr: string;
	timedOut: boolean;
	cancelled: boolean;
}

export type ProcessErrorCode = Extract<KnnErrorCode, "not-installed" | "process">;

/** A program that could not be started ("not-installed" when missing from PATH) or failed (see expectSuccess). */
export class ProcessError extends KnnError {
	override name = "ProcessError";

	constructor(
		message: string,
		override readonly code: ProcessErrorCode,
		readonly command: string,
		options?: { cause?: unknown },
	) {
		super(message, code, options);
	}
}

/** The Debian package that provides a program, for install hints. */
export function packageOf(command: string): string {
	const base = command.split("/").pop() ?? command;
	return PACKAGE_OF[base] ?? base;
}

/**
 * Runs a program with arguments (never through a shell). A non-zero exit, a timeout and a cancellation are
 * results; a program that cannot be started throws ProcessError ("not-installed" when it is not on PATH).
 */
export async function runLocalProcess(command: string, args: readonly string[], options: ProcessOptions = {}): Promise<ProcessResult> {
	// A real dynamic import: execa is ESM-only, and tsx turns a static import into require(), under which
	// execa's dependency unicorn-magic (exports with only an "import" condition) fails to resolve.
	const { execa } = await import("execa");
	if (options.signal?.aborted) return { code: null, stdout: "", stderr: "", timedOut: false, cancelled: true };
	const subprocess = execa(command, [...args], {
		cwd: options.cwd,
		env: options.env,
		extendEnv: options.replaceEnv !== true,
		detached: true,
		reject: false,
		buffer: false,
		stdin: options.input === undefined ? "ignore" : "pipe",
		stdout: "pipe",
		stderr: "pipe",
	});
	if (options.input !== undefined) subprocess.stdin?.end(options.input);
	const keep = options.buffer !== false;
	const output: Record<ProcessStream, Buffer[]> = { stdout: [], stderr: [] };
	for (const stream of ["stdout", "stderr"] as const) {
		subprocess[stream]?.on("data", (chunk: Buffer) => {
			if (keep) output[stream].push(chunk);
			options.onData?.(chunk, stream);
		});
	}

	let stoppedBy: "timeout" | "cancel" | undefined;
	let stopping: Promise<void> | undefined;
	const exited = subprocess.then(() => undefined, () => undefined);
	const stop = (why: "timeout" | "cancel"): void => {
		stoppedBy ??= why;
		stopping ??= killGroup(subprocess.pid, exited, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
	};
	const onAbort = (): void => stop("cancel");
	options.signal?.addEventListener("abort", onAbort, { once: true });
	const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => stop("timeout"), options.timeoutMs);
	try {
		const result = await subprocess;
		await stopping;
		if (result.exitCode === undefined && result.signal === undefined && !stoppedBy) {
			throw startError(command, result, options.cwd);
		}
		return {
			code: result.exitCode ?? null,
			...(result.signal ? { signal: result.signal.replace(/^SIG/, "") } : {}),
			stdout: Buffer.concat(output.stdout).toString("utf8"),
			stderr: Buffer.concat(output.stderr).toString("utf8"),
			timedOut: stoppedBy === "timeout",
			cancelled: stoppedBy === "cancel",
		};
	} finally {
		clearTimeout(timer);
		options.signal?.removeEventListener("abort", onAbort);
	}
}

/** runLocalProcess, failing with ProcessError "process" (naming the command and its last output) unless it exits 0. */
export async function runLocalTool(command: string, args: readonly string[], options: ProcessOptions = {}): Promise<string> {
	const result = await runLocalProcess(command, args, options);
	if (result.code === 0 && !result.timedOut && !result.cancelled) return result.stdout;
	const why = result.timedOut ? `did not finish within ${options.timeoutMs} ms and was stopped`
		: result.cancelled ? "was cancelled"
			: result.stderr.trim() || (result.signal ? `ended by SIG${result.signal}` : `exit status ${result.code}`);
	throw new ProcessError(`${command} ${args.join(" ")} failed: ${why}`, "process", command);
}

function startError(command: string, result: { cause?: unknown; shortMessage?: string; originalMessage?: string }, cwd: string | undefined): ProcessError {
	const cause = result.cause as NodeJS.ErrnoException | undefined;
	// spawn reports a missing working directory as ENOENT too, which is not a missing program.
	if (cwd !== undefined && !fs.existsSync(cwd)) {
		return new ProcessError(`Could not start ${command}: its working directory ${cwd} does not exist.`, "process", command, { cause });
	}
	if (cause?.code === "ENOENT" || /\bENOENT\b/.test(result.originalMessage ?? "")) {
		const pkg = packageOf(command);
		return new ProcessError(`${command} is not installed (not found in PATH): install ${pkg} (Debian: apt-get install ${pkg}) and try again.`,
			"not-installed", command, { cause });
	}
	const why = result.originalMessage ?? result.shortMessage ?? String(cause);
	return new ProcessError(`Could not start ${command}: ${why}. Check that the program is installed and on PATH, and that the working directory exists.`,
		"process", command, { cause });
}

/** SIGTERM to the whole group, then SIGKILL to whatever ignored it; resolves once the child has exited. */
async function killGroup(pid: number | undefined, exited: Promise<void>, graceMs: number): Promise<void> {
	if (pid === undefined) return;
	if (graceMs > 0) {
		signalGroup(pid, "SIGTERM");
		let timer: NodeJS.Timeout | undefined;
		await new Promise<void>((resolve) => {
			timer = setTimeout(resolve, graceMs);
			void exited.then(resolve);
		});
		clearTimeout(timer);
		// Grandchildren may outlive the child itself, so the group gets SIGKILL whether or not the child is gone.
		await new Promise((resolve) => setTimeout(resolve, Math.min(graceMs, 200)));
	}
	signalGroup(pid, "SIGKILL");
	await exited;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pid, signal);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
	}
}
