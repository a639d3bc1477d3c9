import type { GraphNode } from "../../graph/graph";
import type { Tensor } from "../../graph/tensor";
import { type Kernel, KernelError } from "../kernel";
import { BudgetError } from "../../util/budget";
import { BINARY_KERNELS } from "./binary";
import { CONV_KERNELS } from "./conv";
import { CONV_TRANSPOSE_KERNELS } from "./convTranspose";
import { CONV3D_KERNELS } from "./conv3d";
import { ELEMENTWISE_KERNELS } from "./elementwise";
import { FIXED_EDGE_KERNELS } from "./quantized/fixedEdges";
import { GATHER_KERNELS } from "./gather";
import { QUANTIZED_KERNELS_A } from "./quantized";
import { QUANTIZED_KERNELS_B } from "./quantized/indexB";
import { LAYOUT_KERNELS } from "./layout";
import { MATMUL_KERNELS } from "./matmul";
import { NN_KERNELS } from "./nn";
import { REDUCE_KERNELS } from "./reduce";
import { SHAPE_KERNELS } from "./shape";
import { STRIDED_SLICE_KERNELS } from "./stridedSlice";
import { UNARY_KERNELS } from "./unary";

/**
 * Every failure inside a kernel reaches the caller as a KernelError naming the node: attribute getters throw
 * GraphError and tensor helpers TypeError/RangeError, and those messages are kept, minus any repeated node prefix.
 */
function guarded(kernel: Kernel): Kernel {
	return (inputs: Tensor[], node: GraphNode): Tensor[] => {
		try {
			return kernel(inputs, node);
		} catch (error) {
			if (error instanceof KernelError) throw error;
			// Over the memory budget is its own kind of failure (raise --max-memory), not a wrong input.
			if (error instanceof BudgetError) throw error.at(`node "${node.name}" (${node.op})`);
			const message = error instanceof Error ? error.message : String(error);
			const prefix = `node "${node.name}" (${node.op}): `;
			const wrapped = new KernelError(node, message.startsWith(prefix) ? message.slice(prefix.length) : message);
			wrapped.cause = error;
			throw wrapped;
		}
	};
}

const FAMILIES = [
	UNARY_KERNELS, BINARY_KERNELS, ELEMENTWISE_KERNELS, MATMUL_KERNELS, CONV_KERNELS, NN_KERNELS, REDUCE_KERNELS,
	SHAPE_KERNELS, LAYOUT_KERNELS, STRIDED_SLICE_KERNELS, GATHER_KERNELS,
	CONV_TRANSPOSE_KERNELS, CONV3D_KERNELS,
	QUANTIZED_KERNELS_A,
	QUANTIZED_KERNELS_B,
	FIXED_EDGE_KERNELS,
];

function collect(): Map<string, Kernel> {
	const all = new Map<string, Kernel>();
	for (const family of FAMILIES) {
		for (const [op, kernel] of family) {
			if (all.has(op)) throw new Error(`two kernel families define ${op}`);
			all.set(op, guarded(kernel));
		}
	}
	return all;
}

/** The reference interpreter's op kernels, by TensorFlow op name. */
export const KERNELS: ReadonlyMap<string, Kernel> = collect();

/** Names of the ops with a kernel, sorted. */
export function supportedOps(): string[] {
	return [...KERNELS.keys()].sort();
}
