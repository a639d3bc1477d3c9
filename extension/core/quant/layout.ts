// TFLite is channels-last; ONNX models are channels-first (NCHW). The quantized model keeps an NCHW tensor's values
// in NHWC order (as onnx2tf's conversions do): these helpers map shapes, axes, values and window attributes across.
import { type GraphNode, attrInts, attrString } from "../graph/graph";

/** Where NCHW axis a lives in NHWC order. */
export const NHWC_AXIS_OF_NCHW = [0, 3, 1, 2];

export function channelsLastShape([n, c, h, w]: readonly number[]): number[] {
	return [n, h, w, c];
}

/** NCHW values (float shape [n,c,h,w]) in NHWC order. */
export function toChannelsLast(values: ArrayLike<number>, [n, c, h, w]: readonly number[]): Float64Array {
	const out = new Float64Array(values.length);
	for (let b = 0; b < n; b++) {
		for (let ch = 0; ch < c; ch++) {
			for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = values[((b * c + ch) * h + y) * w + x];
		}
	}
	return out;
}

export interface Window {
	/** [h, w] each. */
	strides: number[];
	dilations: number[];
	ksize: number[];
	/** TFLite's Padding enum: SAME 0, VALID 1. */
	padding: number;
}

/**
 * Strides, dilations, window size and padding of a Conv2D/DepthwiseConv2dNative/MaxPool/AvgPool in either layout,
 * `input` the NHWC input shape and `kernel` [h, w] for convolutions. Explicit padding maps onto TFLite only when it is
 * none (VALID) or what SAME pads; otherwise the result names the padding it cannot map.
 */
export function windowOf(node: GraphNode, input: readonly number[], kernel?: number[]): Window | string {
	const first = attrString(node, "data_format", "NHWC") === "NCHW";
	const pick = <T>(list: T[]): T[] => (first ? [list[2], list[3]] : [list[1], list[2]]);
	const strides = pick(attrInts(node, "strides"));
	const dilations = pick(attrInts(node, "dilations", [1, 1, 1, 1]));
	const ksize = kernel ?? pick(attrInts(node, "ksize"));
	const padding = attrString(node, "padding");
	if (padding === "SAME" || padding === "VALID") return { strides, dilations, ksize, padding: padding === "SAME" ? 0 : 1 };
	if (padding !== "EXPLICIT") return `padding ${padding}`;
	const explicit = pick(chunk(attrInts(node, "explicit_paddings")));
	if (explicit.every(([before, after]) => before === 0 && after === 0)) return { strides, dilations, ksize, padding: 1 };
	const same = [0, 1].map((d) => {
		const size = input[d + 1];
		const out = Math.ceil(size / strides[d]);
		const total = Math.max((out - 1) * strides[d] + (ksize[d] - 1) * dilations[d] + 1 - size, 0);
		return [Math.floor(total / 2), total - Math.floor(total / 2)];
	});
	if (explicit.every(([before, after], d) => before === same[d][0] && after === same[d][1]) && node.op !== "AvgPool") return { strides, dilations, ksize, padding: 0 };
	return `explicit padding [${explicit.flat().join(",")}] (neither none nor what SAME pads)`;
}

function chunk(list: number[]): number[][] {
	return Array.from({ length: list.length / 2 }, (_, i) => [list[2 * i], list[2 * i + 1]]);
}
