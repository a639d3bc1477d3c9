// QTransposeConv: reference_integer_ops::TransposeConv (int8 per channel, 16x8 with int64) and reference_ops's
// uint8 version. TFLite scatters each input pixel into an int32 scratch; summing the same products per output
// element (a gather) gives the same integers and needs no scratch buffer.
import { type GraphNode, attrInts } from "../../../graph/graph";
import { type Tensor, formatShape } from "../../../graph/tensor";
import type { Kernel } from "../../kernel";
import { quantAttrs } from "../../../quant/params";
import { arity, fail, newTensor, values } from "../util";
import { type Axis, type OutputScaling, biasValues, outputScaling, pair, paddingOf, requantize, windowAxis } from "./window";

export interface TransposeConvPlan {
	batch: number;
	channels: number;
	outChannels: number;
	outShape: number[];
	/** Axes of the equivalent forward window over the output (its padding is TFLite's). */
	rows: Axis;
	cols: Axis;
	/** Per output coordinate: the first tap whose input coordinate is whole and inside, and the tap count (step = stride). */
	rowTaps: Int32Array;
	colTaps: Int32Array;
	scaling: OutputScaling;
}

/** The taps k (stepping by the stride) with (o + before - k) / stride a whole input coordinate in [0, inSize). */
function gatherTaps(axis: Axis, inSize: number): Int32Array {
	const taps = new Int32Array(2 * axis.size);
	for (let o = 0; o < axis.size; o++) {
		let first = -1;
		let count = 0;
		for (let k = 0; k < axis.kernel; k++) {
			const t = o + axis.before - k;
			if (t < 0 || t % axis.stride !== 0 || t / axis.stride >= inSize) continue;
			if (first < 0) first = k;
			count++;
		}
		taps[2 * o] = Math.max(first, 0);
		taps[2 * o + 1] = count;
	}
	return taps;
}

export function transposeConvPlan(node: GraphNode, input: Tensor, filter: Tensor): TransposeConvPlan {
	if (input.shape.length !== 4) fail(node, `the input must be 4-D (NHWC), got shape ${formatShape(input.shape)}`);
	if (filter.shape.length !== 4) fail(node, `the filter must be 4-D (OHWI), got shape ${formatShape(filter.shape)}`);
	const outShape = attrInts(node, "output_shape");
	if (outShape.length !== 4) fail(node, `attribute "output_shape" must have 4 entries (NHWC), got [${outShape.join(",")}]`);
	const [batch, height, width, channels] = input.shape;
	const [outChannels, kernelH, kernelW, filterIn] = filter.shape;
	if (filterIn !== channels) fail(node, `the input has ${channels} channels but the filter (OHWI ${formatShape(filter.shape)}) expects ${filterIn}`);
	if (outShape[0] !== batch || outShape[3] !== outChannels) {
		fail(node, `output_shape [${outShape.join(",")}] does not match the batch ${batch} and the filter's ${outChannels} output channels`);
	}
	const [strideH, strideW] = pair(node, "strides");
	const padding = paddingOf(node);
	// transpose_conv.cc computes the padding from the output's size, as for a forward window over the output.
	const rows = windowAxis(outShape[1], kernelH, strideH, 1, padding);
	const cols = windowAxis(outShape[2], kernelW, strideW, 1, padding);
	return {
		batch, channels, outChannels, outShape, rows, cols, rowTaps: gatherTaps(rows, height), colTaps: gatherTaps(cols, width),
		scaling: outputScaling(node, input, outChannels, quantAttrs(node).filterScale.length === 1),
	};
}

function transposeConv(inputs: Tensor[], node: GraphNode): Tensor[] {
	arity(node, inputs, 2, 3);
	const [input, filter, bias] = inputs;
	const p = transposeConvPlan(node, input, filter);
	const { rows, cols, channels: C, outChannels: O, scaling: s } = p;
	const [, H, W] = input.shape;
	const x = values(node, input);
	const w = values(node, filter, "filter");
	const b = biasValues(node, bias, O);
	const { tensor, data } = newTensor(s.type, p.outShape);
	for (let n = 0; n < p.batch; n++) {
		for (let oy = 0; oy < rows.size; oy++) {
			for (let ox = 0; ox < cols.size; ox++) {
				for (let oc = 0; oc < O; oc++) {
					let acc = 0;
					for (let t = 0; t < p.rowTaps[2 * oy + 1]; t++) {
						const ky = p.rowTaps[2 * oy] + t * rows.stride;
						const iy = (oy + rows.before - ky) / rows.stride;
						for (let u = 0; u < p.colTaps[2 * ox + 1]; u++) {
							const kx = p.colTaps[2 * ox] + u * cols.stride;
							const ix = (ox + cols.before - kx) / cols.stride;
							const pixel = ((n * H + iy) * W + ix) * C;
							const tap = ((oc * rows.kernel + ky) * cols.kernel + kx) * C;
							for (let c = 0; c < C; c++) acc += (w[tap + c] + s.filterOffset) * (x[pixel + c] + s.inputOffset);
						}
					}
					if (b) acc += b[oc];
					data[((n * rows.size + oy) * cols.size + ox) * O + oc] = requantize(s, acc, oc);
				}
			}
		}
	}
	return [tensor];
}

export const Q_TRANSPOSE_CONV_KERNELS = new Map<string, Kernel>([["QTransposeConv", transposeConv]]);
