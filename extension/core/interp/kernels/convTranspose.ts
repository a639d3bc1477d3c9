import { type GraphNode, attrInts, attrString } from "../../graph/graph";
import { formatShape } from "../../graph/tensor";
import type { Kernel } from "../kernel";
import { channelsFirst } from "./channelsFirst";
import { arity, fail, intVector, newTensor, requireFloat, values } from "./util";

/** Where a transposed convolution's geometry comes from: the attributes of TensorFlow's Conv2DBackpropInput. */
export interface TransposedGeometry {
	strideH: number;
	strideW: number;
	dilationH: number;
	dilationW: number;
	/** Leading padding of the forward convolution this op is the gradient of (rows, columns). */
	padTop: number;
	padLeft: number;
}

function leadingPad(node: GraphNode, padding: string, size: number, inSize: number, kernel: number, stride: number, dilation: number, explicit: number): number {
	if (padding === "VALID") return 0;
	if (padding === "EXPLICIT") return explicit;
	if (padding !== "SAME") fail(node, `padding "${padding}" is not supported (expected SAME, VALID or EXPLICIT)`);
	const effective = (kernel - 1) * dilation + 1;
	return Math.floor(Math.max((inSize - 1) * stride + effective - size, 0) / 2);
}

/** Reads and checks the attributes; `outH`/`outW` is the result's size, `inH`/`inW` that of out_backprop. */
export function transposedGeometry(node: GraphNode, outH: number, outW: number, inH: number, inW: number, kernelH: number, kernelW: number): TransposedGeometry {
	const format = attrString(node, "data_format", "NHWC");
	if (format !== "NHWC" && format !== "NCHW") fail(node, `data_format "${format}" is not supported (expected NHWC or NCHW)`);
	// Attribute lists follow the data format: height and width are dimensions 1, 2 (NHWC) or 2, 3 (NCHW).
	const [hd, wd] = format === "NCHW" ? [2, 3] : [1, 2];
	const strides = attrInts(node, "strides");
	const dilations = attrInts(node, "dilations", [1, 1, 1, 1]);
	for (const [name, list] of [["strides", strides], ["dilations", dilations]] as const) {
		if (list.length !== 4 || list.some((v, d) => (d === hd || d === wd ? v < 1 : v !== 1))) {
			fail(node, `attribute "${name}" must have 4 elements, 1 in the batch and channel dimensions and positive in height and width, got [${list.join(",")}]`);
		}
	}
	const padding = attrString(node, "padding");
	const explicit = padding === "EXPLICIT" ? attrInts(node, "explicit_paddings", []) : [0, 0, 0, 0, 0, 0, 0, 0];
	if (explicit.length !== 8) fail(node, `EXPLICIT padding needs 8 explicit_paddings, got ${explicit.length}`);
	return {
		strideH: strides[hd], strideW: strides[wd], dilationH: dilations[hd], dilationW: dilations[wd],
		padTop: leadingPad(node, padding, outH, inH, kernelH, strides[hd], dilations[hd], explicit[2 * hd]),
		padLeft: leadingPad(node, padding, outW, inW, kernelW, strides[wd], dilations[wd], explicit[2 * wd]),
	};
}

/**
 * The gradient of Conv2D with respect to its input, which is the transposed convolution: each result element
 * gathers the out_backprop elements whose forward window covered it. Sums accumulate in double precision.
 */
const conv2dBackpropInput: Kernel = (inputs, node) => {
	arity(node, inputs, 3);
	const [sizes, filter, grad] = inputs;
	requireFloat(node, grad, "out_backprop");
	const [batch, outH, outW, outC] = intVector(node, sizes, "input_sizes", 4);
	if (filter.shape.length !== 4 || grad.shape.length !== 4) {
		fail(node, `the filter and out_backprop must be 4-D, got ${formatShape(filter.shape)} and ${formatShape(grad.shape)}`);
	}
	const [kernelH, kernelW, filterOut, filterIn] = filter.shape;
	const [gradBatch, inH, inW, inC] = grad.shape;
	if (filterOut !== outC || filterIn !== inC || gradBatch !== batch) {
		fail(node, `input_sizes [${[batch, outH, outW, outC].join(",")}], filter ${formatShape(filter.shape)} and out_backprop ${formatShape(grad.shape)} do not agree`);
	}
	const g = transposedGeometry(node, outH, outW, inH, inW, kernelH, kernelW);
	const x = values(node, grad);
	const f = values(node, filter);
	const { tensor, data } = newTensor(grad.dtype, [batch, outH, outW, outC]);
	const acc = new Float64Array(outC);
	for (let b = 0; b < batch; b++) {
		for (let oy = 0; oy < outH; oy++) {
			for (let ox = 0; ox < outW; ox++) {
				acc.fill(0);
				for (let ky = 0; ky < kernelH; ky++) {
					const ty = oy + g.padTop - ky * g.dilationH;
					if (ty < 0 || ty % g.strideH !== 0 || ty / g.strideH >= inH) continue;
					const iy = ty / g.strideH;
					for (let kx = 0; kx < kernelW; kx++) {
						const tx = ox + g.padLeft - kx * g.dilationW;
						if (tx < 0 || tx % g.strideW !== 0 || tx / g.strideW >= inW) continue;
						const inBase = ((b * inH + iy) * inW + tx / g.strideW) * inC;
						const filterBase = (ky * kernelW + kx) * outC * inC;
						for (let o = 0; o < outC; o++) {
							let sum = 0;
							for (let c = 0; c < inC; c++) sum += x[inBase + c] * f[filterBase + o * inC + c];
							acc[o] += sum;
						}
					}
				}
				data.set(acc, ((b * outH + oy) * outW + ox) * outC);
			}
		}
	}
	return [tensor];
};

export const CONV_TRANSPOSE_KERNELS: ReadonlyMap<string, Kernel> = new Map<string, Kernel>([
	["Conv2DBackpropInput", channelsFirst(conv2dBackpropInput, 2, 0)],
]);
