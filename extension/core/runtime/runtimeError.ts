import { codedError } from "../util/errors";

/** knn_core, its modules or its channel tool failed on a target; the message names the target and what to do. */
export class RuntimeError extends codedError("runtime", "RuntimeError") {}

/** A channel command knn_core refused: errno is the kernel's (positive) error number, e.g. 2 for ENOENT. */
export class ChannelCommandError extends RuntimeError {
	override name = "ChannelCommandError";

	constructor(message: string, readonly errno: number) {
		super(message);
	}
}
