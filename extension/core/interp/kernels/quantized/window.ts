// What the quantized window and filter kernels (group A) share: TFLite's padding arithmetic, the per-channel
// output rescaling computed as TFLite's Prepare() computes it, and the valid tap ranges that let the interpreter
// and the generated C skip bounds checks inside their loops.
import { type GraphNode, attrInts, attrString } from "../../../graph/graph";
import type { DType, Tensor } from "../../../graph/tensor";
import {
	type QuantizedType, activationRange, clamp, multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierInt64, quantizeMultiplier,
} from "../../../quant/arith";
import { type QuantAttrs, quantAttrs } from "../../../quant/params";
import { fail, values } from "../util";
import { type Fp32Scale, fp32Requantize, fp32Scale, xnnConvScale } from "./xnnpack";

export type Padding = "SAME" | "VALID";

/** One spatial axis of a window: output size and leading padding, as ComputePaddingHeightWidth computes them. */
export interface Axis {
	size: number;
	kernel: number;
	stride: number;
	dilation: number;
	out: number;
	before: number;
}

export function paddingOf(node: GraphNode): Padding {
	const padding = attrString(node, "padding", "VALID");
	if (padding !== "SAME" && padding !== "VALID") fail(node, `padding "${padding}" is not one TFLite has (SAME or VALID)`);
	return padding;
}

/** A [h, w] attribute; NHWC lists of 4 are accepted for their spatial entries. */
export function pair(node: GraphNode, name: string, fallback?: [number, number]): [number, number] {
	const list = attrInts(node, name, fallback);
	if (list.length === 4) return [list[1], list[2]];
	if (list.length !== 2 || list.some((v) => !(v >= 1))) fail(node, `attribute "${name}" must be two positive integers [h, w], got [${list.join(",")}]`);
	return [list[0], list[1]];
}

export function windowAxis(size: number, kernel: number, stride: number, dilation: number, padding: Padding): Axis {
	const effective = (kernel - 1) * dilation + 1;
	const out = padding === "SAME" ? Math.floor((size + stride - 1) / stride) : Math.floor((size + stride - effective) / stride);
	const total = Math.max((out - 1) * stride + effective - size, 0);
	return { size, kernel, stride, dilation, out, before: Math.floor(total / 2) };
}

/** For each output position, the taps [first, end) whose input coordinate lies inside the input. */
export function tapRanges(axis: Axis): Int32Array {
	const ranges = new Int32Array(2 * axis.out);
	for (let o = 0; o < axis.out; o++) {
		const origin = o * axis.stride - axis.before;
		let first = 0;
		while (first < axis.kernel && origin + first * axis.dilation < 0) first++;
		let end = axis.kernel;
		while (end > first && origin + (end - 1) * axis.dilation >= axis.size) end--;
		ranges[2 * o] = first;
		ranges[2 * o + 1] = end;
	}
	return ranges;
}

export function quantizedType(node: GraphNode, dtype: DType, what: string): Exclude<QuantizedType, "int32"> {
	if (dtype !== "int8" && dtype !== "uint8" && dtype !== "int16") fail(node, `the ${what} must be int8, uint8 or int16, got ${dtype}`);
	return dtype;
}

/** The output side of a filter op: one fixed-point multiplier per output channel and the activation clamp. */
export interface OutputScaling {
	q: QuantAttrs;
	type: QuantizedType;
	multipliers: number[];
	shifts: number[];
	inputOffset: number;
	/** -zero point of the filter (uint8 filters only; int8 filters are symmetric). */
	filterOffset: number;
	min: number;
	max: number;
	/** int16 activations with int8 weights: int64 accumulators and TFLite's int64 rescaling. */
	wide: boolean;
	/** Per channel: XNNPACK's float32 scale, where the runtime's XNNPACK delegate runs the op (see xnnpack.ts). */
	fp32?: { scales: number[]; parts: Fp32Scale[] };
}

/**
 * PopulateConvolutionQuantizationParams(): input_scale * filter_scale / output_scale in double from the float32
 * scales, per channel when the filter is, then QuantizeMultiplier.
 */
export function outputScaling(node: GraphNode, input: Tensor, channels: number, xnnpack = false): OutputScaling {
	const q = quantAttrs(node);
	const type = quantizedType(node, input.dtype, "input");
	if (q.outType !== type) fail(node, `the output type ${q.outType} differs from the input type ${type}; TFLite's kernel needs them equal`);
	if (!(q.outScale > 0)) fail(node, "has no output scale (out_scale); the front end must set the quantization attributes");
	if (q.filterScale.length !== 1 && q.filterScale.length !== channels) {
		fail(node, `has ${q.filterScale.length} filter scales for ${channels} output channels; expected 1 (per tensor) or ${channels} (per channel)`);
	}
	const multipliers: number[] = [];
	const shifts: number[] = [];
	for (let c = 0; c < channels; c++) {
		const filterScale = q.filterScale.length === 1 ? q.filterScale[0] : q.filterScale[c];
		const { multiplier, shift } = quantizeMultiplier((q.inScale[0] * filterScale) / q.outScale);
		multipliers.push(multiplier);
		shifts.push(shift);
	}
	const { min, max } = activationRange(q.activation, q.outScale, q.outZeroPoint, type);
	return {
		q, type, multipliers, shifts, min, max, wide: type === "int16",
		inputOffset: -(q.inZeroPoint[0] ?? 0), filterOffset: type === "uint8" ? -(q.filterZeroPoint[0] ?? 0) : 0,
		...(xnnpack && type !== "int16" ? xnnpackScaling(q, channels) : {}),
	};
}

/** XNNPACK's per-channel scales, when it accepts every one of them (else TFLite runs its own kernel). */
function xnnpackScaling(q: QuantAttrs, channels: number): Pick<OutputScaling, "fp32"> {
	const scales: number[] = [];
	for (let c = 0; c < channels; c++) {
		const scale = xnnConvScale(q.inScale[0], q.filterScale.length === 1 ? q.filterScale[0] : q.filterScale[c], q.outScale);
		if (scale === undefined) return {};
		scales.push(scale);
	}
	return { fp32: { scales, parts: scales.map(fp32Scale) } };
}

/** Accumulator -> output value: TFLite's MultiplyByQuantizedMultiplier (int32, or int64 for 16x8), zero point, clamp. */
export function requantize(s: OutputScaling, acc: number, channel: number): number {
	if (s.fp32) return clamp(fp32Requantize(acc, s.fp32.scales[channel]) + s.q.outZeroPoint, s.min, s.max);
	const m = s.multipliers[channel];
	const shift = s.shifts[channel];
	const scaled = s.wide ? multiplyByQuantizedMultiplierInt64(BigInt(acc), m, shift) : multiplyByQuantizedMultiplier(acc | 0, m, shift);
	return clamp(scaled + s.q.outZeroPoint, s.min, s.max);
}

/** The optional bias (int32, or int64 held as float64 for 16x8) as numbers, one per output channel. */
export function biasValues(node: GraphNode, bias: Tensor | undefined, channels: number): ArrayLike<number> | undefined {
	if (!bias) return undefined;
	if (bias.dtype !== "int32" && bias.dtype !== "int64") fail(node, `the bias must be int32 (or int64 for int16 activations), got ${bias.dtype}`);
	const data = values(node, bias, "bias");
	if (data.length !== channels) fail(node, `the bias has ${data.length} values for ${channels} output channels`);
	return data;
}
