// What one node run costs in the work budget's operations (see util/budget.ts): every element its kernel reads
// and writes, plus, for the ops whose work grows faster than their tensors, the multiply-adds or window taps they
// will make. Counted from the input shapes and attributes before the kernel starts, so a MatMul of two 8192x8192
// matrices is refused rather than begun. Upper bounds where an exact count needs the kernel's own checks.
import { type GraphNode, attrBool, attrInts, attrString } from "../graph/graph";
import type { Tensor } from "../graph/tensor";

const size = (tensor: Tensor | undefined): number => {
	if (!tensor) return 0;
	let n = 1;
	for (const d of tensor.shape) n *= d;
	return Number.isFinite(n) && n > 0 ? n : 0;
};

/** The product of an int-list attribute (strides, ksize), or 1 when it is absent or not a list of positive ints. */
function product(node: GraphNode, name: string): number {
	try {
		const list = attrInts(node, name, []);
		const p = list.reduce((a, b) => a * b, 1);
		return list.every((v) => Number.isInteger(v) && v >= 1) && p >= 1 ? p : 1;
	} catch {
		return 1;
	}
}

function productOf(tensor: Tensor | undefined): number {
	if (!tensor || size(tensor) > 8) return 1;
	const p = Array.from(tensor.data as ArrayLike<number | bigint>, Number).reduce((a, b) => a * b, 1);
	return Number.isFinite(p) && p >= 1 ? p : 1;
}

/** The channel count of a window op's data tensor: axis 1 for the channels-first formats, else the last. */
function channels(node: GraphNode, tensor: Tensor): number {
	let format = "";
	try {
		format = attrString(node, "data_format", "");
	} catch {
		// A malformed attribute is the kernel's to report.
	}
	const axis = format.startsWith("NC") ? 1 : tensor.shape.length - 1;
	return Math.max(1, tensor.shape[axis] ?? 1);
}

/** A filter op: every position of the data (all but its channels) meets every filter element, once per stride. */
function filterWork(node: GraphNode, data: Tensor | undefined, filter: Tensor | undefined, strided: boolean): number {
	if (!data || !filter) return 0;
	return (size(data) / channels(node, data)) * size(filter) / (strided ? product(node, "strides") : 1);
}

function matmulWork(node: GraphNode, a: Tensor | undefined, b: Tensor | undefined, transposeA: string): number {
	if (!a || !b || a.shape.length < 2 || b.shape.length < 2) return 0;
	let transposed = false;
	try {
		transposed = attrBool(node, transposeA, false);
	} catch {
		// The kernel reports it.
	}
	const k = Math.max(1, a.shape[a.shape.length - (transposed ? 2 : 1)]);
	// Each of batch x M x N outputs is a k-long dot product; the batch broadcasts, so the larger operand's counts.
	const matrixA = Math.max(1, a.shape[a.shape.length - 1] * a.shape[a.shape.length - 2]);
	const matrixB = Math.max(1, b.shape[b.shape.length - 1] * b.shape[b.shape.length - 2]);
	const batch = Math.max(size(a) / matrixA, size(b) / matrixB);
	return batch * (matrixA * matrixB / k);
}

type WorkOf = (node: GraphNode, inputs: readonly (Tensor | undefined)[]) => number;

const pool: WorkOf = (node, [x]) => size(x) * product(node, "ksize") / product(node, "strides");
const conv: WorkOf = (node, [x, filter]) => filterWork(node, x, filter, true);
const backprop: WorkOf = (node, [, filter, dy]) => filterWork(node, dy, filter, false);

const WORK: ReadonlyMap<string, WorkOf> = new Map<string, WorkOf>([
	["MatMul", (node, [a, b]) => matmulWork(node, a, b, "transpose_a")],
	...["BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"].map((op): [string, WorkOf] => [op, (node, [a, b]) => matmulWork(node, a, b, "adj_x")]),
	...["Conv2D", "DepthwiseConv2dNative", "Conv3D", "QConv2D", "QDepthwiseConv2D"].map((op): [string, WorkOf] => [op, conv]),
	["Conv2DBackpropInput", backprop],
	["Conv3DBackpropInputV2", backprop],
	// TFLite's transpose convolution takes (input, filter[, bias]); every input position meets every filter element.
	["QTransposeConv", (node, [x, filter]) => filterWork(node, x, filter, false)],
	...["MaxPool", "AvgPool", "MaxPool3D", "AvgPool3D", "QAveragePool2D", "QMaxPool2D"].map((op): [string, WorkOf] => [op, pool]),
	["MaxPoolV2", (_node, [x, ksize, strides]) => size(x) * productOf(ksize) / productOf(strides)],
	// (input [.., K]) x (filter [N, K]): every input row meets every filter element.
	["QFullyConnected", (_node, [x, filter]) => (x && filter ? (size(x) / Math.max(1, x.shape.at(-1) ?? 1)) * size(filter) : 0)],
	// Every time step of every batch row meets all the weights.
	["QUnidirectionalSequenceLstm", (_node, [x, ...rest]) => (x ? (size(x) / Math.max(1, x.shape.at(-1) ?? 1)) * rest.reduce((sum, t) => sum + size(t), 0) : 0)],
]);

/** The operations a kernel run of `node` on `inputs` counts before it starts: its inputs and its extra work. */
export function kernelWork(node: GraphNode, inputs: readonly (Tensor | undefined)[]): number {
	let work = 0;
	for (const input of inputs) work += size(input);
	const extra = WORK.get(node.op);
	return extra ? work + extra(node, inputs) : work;
}

/** The elements a kernel run wrote, each counted twice: written and allocated. */
export function outputWork(outputs: readonly unknown[]): number {
	let work = 0;
	for (const output of outputs) if (output && typeof output === "object" && "shape" in output) work += size(output as Tensor);
	return 2 * work;
}
