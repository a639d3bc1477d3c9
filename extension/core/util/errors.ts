/**
 * What kind of failure a KnnError is. Shells decide from the code, never from message text: the CLI maps it to an
 * exit status (see cli/exitStatus.ts), the extension to a message and actions, tests assert it.
 */
export type KnnErrorCode =
	// The command line or a setting was wrong (unknown flag, missing argument, invalid prefix or name).
	| "usage"
	| "name"
	| "path"
	// The model file, its config or the feeds could not be read or do not fit together.
	| "model"
	| "config"
	| "input"
	| "checkpoint"
	| "freeze"
	| "graph"
	// Evaluating, compiling or quantizing the graph.
	| "kernel"
	| "execution"
	| "compile"
	| "quantize"
	| "budget"
	// Building, loading and reading back a module.
	| "build"
	| "deploy"
	| "kernel-log"
	| "sandbox"
	| "not-installed"
	| "process"
	| "timeout"
	| "cancelled"
	// knn_core and its channel on a target (RuntimeError).
	| "runtime"
	// Target connections (TargetError).
	| "host-key-changed"
	| "host-key-unknown"
	| "host-key-revoked"
	| "auth"
	| "connect"
	| "disconnected"
	| "command"
	| "transfer";

/** An error whose message a user can act on, with a code saying what kind it is. Anything else is a bug. */
export class KnnError extends Error {
	override name = "KnnError";

	constructor(
		message: string,
		readonly code: KnnErrorCode,
		options?: { cause?: unknown },
	) {
		super(message, options);
	}
}

/**
 * A base class for an error family with one code, keeping the family's (message, options) constructor:
 * `export class FreezeError extends codedError("freeze", "FreezeError") {}`.
 */
export function codedError(code: KnnErrorCode, errorName: string) {
	return class extends KnnError {
		override name = errorName;

		constructor(message: string, options?: { cause?: unknown }) {
			super(message, code, options);
		}
	};
}

/** The code of err when it is a KnnError; undefined for anything else (a bug, or an error of a library). */
export function knnErrorCode(err: unknown): KnnErrorCode | undefined {
	return err instanceof KnnError ? err.code : undefined;
}

/** Whether err is a KnnError with this code. */
export function hasCode(err: unknown, code: KnnErrorCode): boolean {
	return err instanceof KnnError && err.code === code;
}
