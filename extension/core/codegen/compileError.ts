import { codedError } from "../util/errors";

/** Raised for a graph the compiler cannot lower; names the node and op, and says what would work. */
export class CompileError extends codedError("compile", "CompileError") {}
