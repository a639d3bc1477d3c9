import { type GraphNode, attrInts, attrString, hasAttr } from "../../graph/graph";
import type { AttrValue } from "../../graph/attr";
import { type Tensor, shapeSize } from "../../graph/tensor";
import type { Kernel } from "../kernel";
import { intVector, newTensor, values } from "./util";

// Window ops with data_format NCHW or NCDHW (as ONNX models arrive, so no Transpose surrounds them in the compiled
// C). The interpreter runs them through the channels-last code: attributes and data are permuted there and back.

const CHANNELS_FIRST: Record<string, string> = { NCHW: "NHWC", NCDHW: "NDHWC" };

function permuteTensor(node: GraphNode, t: Tensor, perm: readonly number[]): Tensor {
	const shape = perm.map((p) => t.shape[p]);
	const source = values(node, t);
	const { tensor, data } = newTensor(t.dtype, shape);
	const sourceStrides = t.shape.map((_, d) => shapeSize(t.shape.slice(d + 1)));
	const at = new Array<number>(shape.length).fill(0);
	for (let i = 0; i < data.length; i++) {
		data[i] = source[perm.reduce((offset, p, d) => offset + at[d] * sourceStrides[p], 0)];
		for (let d = shape.length - 1; d >= 0 && ++at[d] === shape[d]; d--) at[d] = 0;
	}
	return tensor;
}

/**
 * Runs a channels-last window kernel on a channels-first node: `dataInput` (the image, or out_backprop) and the
 * result are transposed, and strides, dilations, ksize, explicit_paddings and a `sizesInput` (input_sizes) permuted.
 */
export function channelsFirst(kernel: Kernel, dataInput = 0, sizesInput = -1): Kernel {
	return (inputs, node) => {
		const format = attrString(node, "data_format", "NHWC");
		const last = CHANNELS_FIRST[format];
		if (!last) return kernel(inputs, node);
		const rank = format.length;
		const toLast = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
		const toFirst = [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
		const attr: Record<string, AttrValue> = { ...node.attr, data_format: { s: new TextEncoder().encode(last) } };
		for (const name of ["strides", "dilations", "ksize"]) {
			if (!hasAttr(node, name)) continue;
			const list = attrInts(node, name);
			attr[name] = { list: { i: toLast.map((p) => list[p]) } };
		}
		const pads = attrInts(node, "explicit_paddings", []);
		if (pads.length === 2 * rank) attr.explicit_paddings = { list: { i: toLast.flatMap((p) => [pads[2 * p], pads[2 * p + 1]]) } };
		const shadow: GraphNode = { ...node, attr };
		const moved = inputs.map((t, i) => {
			if (i === dataInput) return permuteTensor(node, t, toLast);
			if (i !== sizesInput) return t;
			const sizes = intVector(node, t, "input_sizes", rank);
			return { dtype: "int32", shape: [rank], data: Int32Array.from(toLast.map((p) => sizes[p])) } as Tensor;
		});
		return kernel(moved, shadow).map((t) => permuteTensor(node, t, toFirst));
	};
}
