import type { GraphNode } from "../graph/graph";
import type { Tensor } from "../graph/tensor";
import { codedError } from "../util/errors";

/**
 * A pure op implementation: TensorFlow semantics, inputs in NodeDef order (data inputs only), outputs in the
 * op's output order. Control flow, TensorArrays, placeholders and variables are the executor's, not kernels'.
 */
export type Kernel = (inputs: Tensor[], node: GraphNode) => Tensor[];

/** Raised for a node whose inputs or attributes an op cannot accept; names the node and op. */
export class KernelError extends codedError("kernel", "KernelError") {
	constructor(node: GraphNode, detail: string) {
		super(`node "${node.name}" (${node.op}): ${detail}`);
	}
}
