import { codedError } from "../../util/errors";

// What the inliner and the lowering of functional control flow share: the library's types and their error.

export type { ArgDef, FunctionDef } from "./proto/types";

/** Raised inside the inliner for one call; the call is left in the graph, marked with the message. */
export class InlineProblem extends codedError("model", "InlineProblem") {}
