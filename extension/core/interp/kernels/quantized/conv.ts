// QConv2D and QDepthwiseConv2D: reference_integer_ops::ConvPerChannel / DepthwiseConvPerChannel (int8, and the
// int16 versions with int64 accumulators) and reference_ops's uint8 versions. Accumulators start from the bias
// after the taps are summed, the input offset folded into each product, as TFLite does.
import { type GraphNode, attrInt } from "../../../graph/graph";
import { type Tensor, formatShape } from "../../../graph/tensor";
import type { Kernel } from "../../kernel";
import { arity, fail, newTensor, values } from "../util";
import { type Axis, type OutputScaling, biasValues, outputScaling, pair, paddingOf, requantize, tapRanges, windowAxis } from "./window";

export interface ConvPlan {
	batch: number;
	channels: number;
	outChannels: number;
	/** Depthwise only: output channels per input channel. */
	multiplier: number;
	rows: Axis;
	cols: Axis;
	rowTaps: Int32Array;
	colTaps: Int32Array;
	scaling: OutputScaling;
}

export function convPlan(node: GraphNode, input: Tensor, filter: Tensor, depthwise: boolean): ConvPlan {
	if (input.shape.length !== 4) fail(node, `the input must be 4-D (NHWC), got shape ${formatShape(input.shape)}`);
	if (filter.shape.length !== 4) fail(node, `the filter must be 4-D (${depthwise ? "[1, H, W, C*M]" : "OHWI"}), got shape ${formatShape(filter.shape)}`);
	const [batch, height, width, channels] = input.shape;
	const [strideH, strideW] = pair(node, "strides");
	const [dilationH, dilationW] = pair(node, "dilations", [1, 1]);
	const padding = paddingOf(node);
	let outChannels: number;
	let multiplier = 1;
	let kernelH: number;
	let kernelW: number;
	if (depthwise) {
		[, kernelH, kernelW, outChannels] = filter.shape;
		multiplier = attrInt(node, "depth_multiplier", outChannels / channels);
		if (outChannels !== channels * multiplier) fail(node, `the filter has ${outChannels} channels, not ${channels} input channels x depth_multiplier ${multiplier}`);
	} else {
		let filterIn: number;
		[outChannels, kernelH, kernelW, filterIn] = filter.shape;
		if (filterIn !== channels) fail(node, `the input has ${channels} channels but the filter (OHWI ${formatShape(filter.shape)}) expects ${filterIn}`);
	}
	const rows = windowAxis(height, kernelH, strideH, dilationH, padding);
	const cols = windowAxis(width, kernelW, strideW, dilationW, padding);
	if (rows.out < 1 || cols.out < 1) fail(node, `the ${kernelH}x${kernelW} filter does not fit the ${height}x${width} input with ${padding} padding`);
	return {
		batch, channels, outChannels, multiplier, rows, cols, rowTaps: tapRanges(rows), colTaps: tapRanges(cols),
		scaling: outputScaling(node, input, outChannels, true),
	};
}

function convolve(inputs: Tensor[], node: GraphNode, depthwise: boolean): Tensor[] {
	arity(node, inputs, 2, 3);
	const [input, filter, bias] = inputs;
	const p = convPlan(node, input, filter, depthwise);
	const { rows, cols, channels: C, outChannels: O, multiplier: M, scaling: s } = p;
	const x = values(node, input);
	const w = values(node, filter, "filter");
	const b = biasValues(node, bias, O);
	const { tensor, data } = newTensor(s.type, [p.batch, rows.out, cols.out, O]);
	for (let n = 0; n < p.batch; n++) {
		for (let oy = 0; oy < rows.out; oy++) {
			const y0 = oy * rows.stride - rows.before;
			for (let ox = 0; ox < cols.out; ox++) {
				const x0 = ox * cols.stride - cols.before;
				const at = ((n * rows.out + oy) * cols.out + ox) * O;
				for (let oc = 0; oc < O; oc++) {
					let acc = 0;
					for (let ky = p.rowTaps[2 * oy]; ky < p.rowTaps[2 * oy + 1]; ky++) {
						for (let kx = p.colTaps[2 * ox]; kx < p.colTaps[2 * ox + 1]; kx++) {
							const pixel = ((n * rows.size + y0 + ky * rows.dilation) * cols.size + x0 + kx * cols.dilation) * C;
							if (depthwise) {
								const ic = Math.floor(oc / M);
								acc += (w[(ky * cols.kernel + kx) * O + oc] + s.filterOffset) * (x[pixel + ic] + s.inputOffset);
							} else {
								const tap = ((oc * rows.kernel + ky) * cols.kernel + kx) * C;
								for (let c = 0; c < C; c++) acc += (w[tap + c] + s.filterOffset) * (x[pixel + c] + s.inputOffset);
							}
						}
					}
					if (b) acc += b[oc];
					data[at + oc] = requantize(s, acc, oc);
				}
			}
		}
	}
	return [tensor];
}

export const Q_CONV_KERNELS = new Map<string, Kernel>([
	["QConv2D", (inputs, node) => convolve(inputs, node, false)],
	["QDepthwiseConv2D", (inputs, node) => convolve(inputs, node, true)],
]);
