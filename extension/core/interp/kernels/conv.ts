import { type GraphNode, attrInts, attrString } from "../../graph/graph";
import { type Tensor, formatShape } from "../../graph/tensor";
import type { Kernel } from "../kernel";
import { channelsFirst } from "./channelsFirst";
import { arity, fail, intVector, newTensor, requireFloat, requireNumeric, sameDType, values } from "./util";

/** Output size and leading padding of one spatial dimension, as TensorFlow's GetWindowedOutputSize computes them. */
interface Extent {
	out: number;
	before: number;
}

interface Geometry {
	batch: number;
	height: number;
	width: number;
	channels: number;
	rows: Extent;
	cols: Extent;
	strideH: number;
	strideW: number;
	dilationH: number;
	dilationW: number;
	kernelH: number;
	kernelW: number;
}

function extent(node: GraphNode, what: string, size: number, kernel: number, stride: number, dilation: number, padding: string, explicit: [number, number]): Extent {
	const effective = (kernel - 1) * dilation + 1;
	let out: number;
	let before = 0;
	if (padding === "VALID") {
		out = Math.floor((size - effective + stride) / stride);
	} else if (padding === "SAME") {
		out = Math.floor((size + stride - 1) / stride);
		const total = Math.max((out - 1) * stride + effective - size, 0);
		before = Math.floor(total / 2);
	} else {
		[before] = explicit;
		out = Math.floor((size + explicit[0] + explicit[1] - effective + stride) / stride);
	}
	if (out < 0) {
		fail(node, `the ${what} window of ${kernel} (dilated to ${effective}) does not fit the input ${what} ${size} with ${padding} padding`);
	}
	return { out, before };
}

function nhwcOnly(node: GraphNode): void {
	const format = attrString(node, "data_format", "NHWC");
	if (format !== "NHWC") fail(node, `data_format "${format}" is not supported; TensorFlow's CPU kernels, and Kernel NN, need NHWC`);
}

function spatial(node: GraphNode, name: string, list: readonly number[]): [number, number] {
	if (list.length !== 4) fail(node, `attribute "${name}" must have 4 elements (N, H, W, C), got ${list.length}`);
	if (list[0] !== 1 || list[3] !== 1) fail(node, `attribute "${name}" must be 1 in the batch and depth dimensions, got [${list.join(",")}]`);
	if (list[1] < 1 || list[2] < 1) fail(node, `attribute "${name}" must be positive, got [${list.join(",")}]`);
	return [list[1], list[2]];
}

function geometry(node: GraphNode, input: Tensor, kernelH: number, kernelW: number, strideList: number[], dilationList: number[]): Geometry {
	nhwcOnly(node);
	if (input.shape.length !== 4) fail(node, `the input must be 4-D (NHWC), got shape ${formatShape(input.shape)}`);
	const [batch, height, width, channels] = input.shape;
	const [strideH, strideW] = spatial(node, "strides", strideList);
	const [dilationH, dilationW] = spatial(node, "dilations", dilationList);
	const padding = attrString(node, "padding");
	let explicit: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
	if (padding === "EXPLICIT") {
		explicit = attrInts(node, "explicit_paddings", []);
		if (explicit.length !== 8) fail(node, `EXPLICIT padding needs 8 explicit_paddings (before and after for N, H, W, C), got ${explicit.length}`);
		if (explicit[0] || explicit[1] || explicit[6] || explicit[7]) fail(node, "explicit_paddings must be 0 in the batch and depth dimensions");
		if (explicit.some((p) => p < 0)) fail(node, `explicit_paddings must not be negative, got [${explicit.join(",")}]`);
	} else if (padding !== "SAME" && padding !== "VALID") {
		fail(node, `padding "${padding}" is not supported (expected SAME, VALID or EXPLICIT)`);
	}
	return {
		batch, height, width, channels, strideH, strideW, dilationH, dilationW, kernelH, kernelW,
		rows: extent(node, "height", height, kernelH, strideH, dilationH, padding, [explicit[2], explicit[3]]),
		cols: extent(node, "width", width, kernelW, strideW, dilationW, padding, [explicit[4], explicit[5]]),
	};
}

/**
 * Convolution and depthwise convolution share the window walk; they differ in which filter taps feed which
 * output channel. Sums accumulate in double precision and round once on store.
 */
function convolve(node: GraphNode, inputs: Tensor[], depthwise: boolean): Tensor[] {
	arity(node, inputs, 2);
	const [input, filter] = inputs;
	sameDType(node, inputs);
	requireNumeric(node, input);
	if (filter.shape.length !== 4) fail(node, `the filter must be 4-D [height, width, in_channels, ${depthwise ? "multiplier" : "out_channels"}], got shape ${formatShape(filter.shape)}`);
	const [kernelH, kernelW, filterIn, filterOut] = filter.shape;
	const g = geometry(node, input, kernelH, kernelW, attrInts(node, "strides"), attrInts(node, "dilations", [1, 1, 1, 1]));
	if (filterIn !== g.channels) {
		fail(node, `the input has ${g.channels} channels but the filter expects ${filterIn} (filter shape ${formatShape(filter.shape)})`);
	}
	const outChannels = depthwise ? g.channels * filterOut : filterOut;
	const x = values(node, input);
	const f = values(node, filter);
	const { tensor, data } = newTensor(input.dtype, [g.batch, g.rows.out, g.cols.out, outChannels]);
	const acc = new Float64Array(outChannels);
	const C = g.channels;
	for (let b = 0; b < g.batch; b++) {
		for (let oy = 0; oy < g.rows.out; oy++) {
			for (let ox = 0; ox < g.cols.out; ox++) {
				acc.fill(0);
				for (let ky = 0; ky < kernelH; ky++) {
					const iy = oy * g.strideH - g.rows.before + ky * g.dilationH;
					if (iy < 0 || iy >= g.height) continue;
					for (let kx = 0; kx < kernelW; kx++) {
						const ix = ox * g.strideW - g.cols.before + kx * g.dilationW;
						if (ix < 0 || ix >= g.width) continue;
						const inBase = ((b * g.height + iy) * g.width + ix) * C;
						const filterBase = (ky * kernelW + kx) * C * filterOut;
						for (let c = 0; c < C; c++) {
							const v = x[inBase + c];
							const fo = filterBase + c * filterOut;
							const ao = depthwise ? c * filterOut : 0;
							for (let o = 0; o < filterOut; o++) acc[ao + o] += v * f[fo + o];
						}
					}
				}
				data.set(acc, ((b * g.rows.out + oy) * g.cols.out + ox) * outChannels);
			}
		}
	}
	return [tensor];
}

function pool(node: GraphNode, input: Tensor, ksize: number[], strideList: number[], max: boolean): Tensor[] {
	if (max) requireNumeric(node, input);
	else requireFloat(node, input);
	const [kernelH, kernelW] = spatial(node, "ksize", ksize);
	// TensorFlow's pools have no dilations; ONNX's MaxPool and AveragePool do, and arrive here with the attribute.
	const g = geometry(node, input, kernelH, kernelW, strideList, attrInts(node, "dilations", [1, 1, 1, 1]));
	const x = values(node, input);
	const C = g.channels;
	const { tensor, data } = newTensor(input.dtype, [g.batch, g.rows.out, g.cols.out, C]);
	const acc = new Float64Array(C);
	for (let b = 0; b < g.batch; b++) {
		for (let oy = 0; oy < g.rows.out; oy++) {
			const top = oy * g.strideH - g.rows.before;
			for (let ox = 0; ox < g.cols.out; ox++) {
				const left = ox * g.strideW - g.cols.before;
				acc.fill(max ? -Infinity : 0);
				// Average pooling divides by the taps inside the input only; padding does not count.
				let count = 0;
				for (let ky = 0; ky < kernelH; ky++) {
					const iy = top + ky * g.dilationH;
					if (iy < 0 || iy >= g.height) continue;
					for (let kx = 0; kx < kernelW; kx++) {
						const ix = left + kx * g.dilationW;
						if (ix < 0 || ix >= g.width) continue;
						count++;
						const base = ((b * g.height + iy) * g.width + ix) * C;
						if (max) {
							for (let c = 0; c < C; c++) if (x[base + c] > acc[c]) acc[c] = x[base + c];
						} else {
							for (let c = 0; c < C; c++) acc[c] += x[base + c];
						}
					}
				}
				const at = ((b * g.rows.out + oy) * g.cols.out + ox) * C;
				for (let c = 0; c < C; c++) data[at + c] = max ? acc[c] : acc[c] / count;
			}
		}
	}
	return [tensor];
}

export const CONV_KERNELS: ReadonlyMap<string, Kernel> = new Map<string, Kernel>([
	["Conv2D", channelsFirst((inputs, node) => convolve(node, inputs, false))],
	["DepthwiseConv2dNative", channelsFirst((inputs, node) => convolve(node, inputs, true))],
	["MaxPool", channelsFirst((inputs, node) => {
		arity(node, inputs, 1);
		return pool(node, inputs[0], attrInts(node, "ksize"), attrInts(node, "strides"), true);
	})],
	["MaxPoolV2", (inputs, node) => {
		arity(node, inputs, 3);
		return pool(node, inputs[0], intVector(node, inputs[1], "ksize", 4), intVector(node, inputs[2], "strides", 4), true);
	}],
	["AvgPool", channelsFirst((inputs, node) => {
		arity(node, inputs, 1);
		return pool(node, inputs[0], attrInts(node, "ksize"), attrInts(node, "strides"), false);
	})],
]);
