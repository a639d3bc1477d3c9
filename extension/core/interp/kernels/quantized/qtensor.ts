import type { GraphNode } from "../../../graph/graph";
import { type DType, type NumericData, type Tensor } from "../../../graph/tensor";
import type { QuantizedType } from "../../../quant/arith";
import { fail, newTensor, values } from "../util";

// What the quantized kernels of ADD/SUB/MUL, the activations, SOFTMAX and CONCATENATION share: checking that a
// tensor is quantized and making the output in the node's out_type.

const QUANTIZED: readonly DType[] = ["int8", "uint8", "int16"];

/** The tensor's elements after checking it holds int8, uint8 or int16 values. */
export function quantizedValues(node: GraphNode, t: Tensor, what = "input"): NumericData {
	if (!QUANTIZED.includes(t.dtype)) fail(node, `${what} must be an int8, uint8 or int16 tensor, got ${t.dtype}`);
	return values(node, t, what);
}

/** A quantized output type (out_type), refusing others. */
export function quantizedOutType(node: GraphNode, outType: DType): QuantizedType {
	if (!QUANTIZED.includes(outType)) fail(node, `out_type must be int8, uint8 or int16, got ${outType}`);
	return outType as QuantizedType;
}

export function quantizedOutput(node: GraphNode, outType: DType, shape: readonly number[]): { tensor: Tensor; data: NumericData } {
	return newTensor(quantizedOutType(node, outType), shape);
}

/** Refuses element types a kernel does not implement, naming them. */
export function requireTypes(node: GraphNode, dtype: DType, allowed: readonly DType[], op: string): void {
	if (!allowed.includes(dtype)) fail(node, `${op} on ${dtype} tensors is not supported (${allowed.join(", ")} are)`);
}
