import { KnnError, type KnnErrorCode } from "../core/util/errors";
import { terminalText } from "../core/util/terminalText";

/** A command line the user can fix (unknown flag, missing argument); the CLI exits 2 with the usage. */
export class UsageError extends KnnError {
	override name = "UsageError";

	constructor(message: string) {
		super(message, "usage");
	}
}

/** Exit status of a failed command by error code: 2 for what the command line got wrong, 1 for every other typed failure. */
const EXIT_STATUS: Record<KnnErrorCode, number> = {
	"usage": 2, "name": 2,
	"path": 1, "model": 1, "config": 1, "input": 1, "checkpoint": 1, "freeze": 1, "graph": 1,
	"kernel": 1, "execution": 1, "compile": 1, "quantize": 1, "budget": 1,
	"build": 1, "deploy": 1, "kernel-log": 1, "sandbox": 1, "not-installed": 1, "process": 1, "timeout": 1, "cancelled": 1, "runtime": 1,
	"host-key-changed": 1, "host-key-unknown": 1, "host-key-revoked": 1, "auth": 1, "connect": 1, "disconnected": 1,
	"command": 1, "transfer": 1,
};

/** An error that is not a KnnError is a bug in Kernel NN, not in the user's input: EX_SOFTWARE from sysexits.h. */
export const BUG_EXIT_STATUS = 70;

/** Node's parseArgs throws TypeErrors with these codes for unknown flags, missing values and stray arguments. */
function isParseArgsError(error: unknown): boolean {
	const code = (error as { code?: unknown } | undefined)?.code;
	return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

/** A failed system call (ENOENT on a path the user gave, EACCES, EISDIR...): the environment's fault, not a bug. */
function isSystemError(error: unknown): boolean {
	const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
	return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) && typeof syscall === "string";
}

export function exitStatusOf(error: unknown): number {
	if (error instanceof KnnError) return EXIT_STATUS[error.code] ?? 1;
	if (isSystemError(error)) return 1;
	return isParseArgsError(error) ? 2 : BUG_EXIT_STATUS;
}

/**
 * Prints a failed command's error as the user should see it (control characters escaped; usage appended to
 * command-line mistakes; a bug named as one) and returns the exit status.
 */
export function reportFailure(command: string, error: unknown, usage: string): number {
	const status = exitStatusOf(error);
	const message = error instanceof Error ? error.message : String(error);
	if (error instanceof KnnError || status === 1) {
		// A usage error that spells out its own usage lines (knn deploy, knn quantize) is not followed by the whole of it.
		const withUsage = error instanceof KnnError && error.code === "usage" && !message.includes("\n") ? `\n\n${usage}` : "";
		process.stderr.write(`${terminalText(`${command}: ${message}`)}${withUsage}\n`);
	} else if (status === 2) {
		process.stderr.write(`${terminalText(`${command}: ${message}`)}\n\n${usage}\n`);
	} else {
		const stack = error instanceof Error && error.stack ? error.stack.split("\n").slice(1, 6).join("\n") : "";
		process.stderr.write(terminalText(`${command}: internal error: ${message}\nThis is a bug in Kernel NN, not in your input: please report it `
			+ `with the command line and the model.${stack ? `\n${stack}` : ""}`) + "\n");
	}
	return status;
}
