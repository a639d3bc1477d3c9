// QMean as TFLite's runtime computes it (reduce.cc EvalMean with the optimized kernels): int8 over H and W of a
// 4-D tensor with keep_dims goes to optimized_integer_ops::Mean, uint8 there to the uint8 Mean (fixed-point
// multiplier), int16 there to reference_integer_ops::Mean; every other case sums in int32 and then either divides
// (equal input and output quantization: truncating) or rescales in float (QuantizedMeanOrSum). The float steps are
// replaced by one fixed-point product here, so those results are within one step of the runtime's.
import { type GraphNode, attrBool } from "../../../graph/graph";
import { type Tensor, formatShape } from "../../../graph/tensor";
import { type QuantizedType, clamp, multiplyByQuantizedMultiplier, quantizeMultiplier, quantizedRange } from "../../../quant/arith";
import { quantAttrs } from "../../../quant/params";
import type { Kernel } from "../../kernel";
import { arity, fail, ints, newTensor, strides, values } from "../util";
import { quantizedType } from "./window";

/**
 * How a sum becomes an output value:
 * - round: round(sum / count) (int8, H and W of 4-D, equal quantization);
 * - truncate: sum / count toward zero (other axes, equal quantization);
 * - rescale16: reference_integer_ops::Mean: multiplier on the zero-point-free sum, then a rounding division;
 * - rescaleUint8: reference_ops::Mean for uint8: multiplier folding in 1/count, then an integer bias;
 * - rescale: round(sum * scale / count - zero_point * scale + 0.5) + zero point, scale in fixed point.
 */
export type MeanRounding = "round" | "truncate" | "rescale16" | "rescaleUint8" | "rescale";

export interface MeanPlan {
	type: QuantizedType;
	outShape: number[];
	count: number;
	/** Input offset of each output element's first summand, and of each summand relative to it. */
	bases: Int32Array;
	offsets: Int32Array;
	rounding: MeanRounding;
	inZeroPoint: number;
	outZeroPoint: number;
	multiplier: number;
	shift: number;
	/** rescaleUint8: the integer bias added after the multiplier. */
	bias: number;
	min: number;
	max: number;
}

export function meanPlan(node: GraphNode, input: Tensor, axesTensor: Tensor): MeanPlan {
	const type = quantizedType(node, input.dtype, "input");
	const q = quantAttrs(node);
	const rank = input.shape.length;
	const axes = [...new Set(ints(node, axesTensor, "axes").map((a) => {
		if (a < -rank || a >= rank) fail(node, `axis ${a} is out of range for the rank-${rank} input ${formatShape(input.shape)}`);
		return a < 0 ? a + rank : a;
	}))];
	const keepDims = attrBool(node, "keep_dims", false);
	const reduced = input.shape.map((_, d) => axes.includes(d));
	const outShape = keepDims ? input.shape.map((n, d) => (reduced[d] ? 1 : n)) : input.shape.filter((_, d) => !reduced[d]);
	const inStrides = strides(input.shape);
	const keptDims = input.shape.map((_, d) => d).filter((d) => !reduced[d]);
	const sumDims = input.shape.map((_, d) => d).filter((d) => reduced[d]);
	const offsetsOver = (dims: number[]): Int32Array => {
		let list = [0];
		for (const d of dims) list = list.flatMap((base) => Array.from({ length: input.shape[d] }, (_, i) => base + i * inStrides[d]));
		return Int32Array.from(list);
	};
	const bases = offsetsOver(keptDims);
	const offsets = offsetsOver(sumDims);
	const count = offsets.length;
	const hw = keepDims && rank === 4 && axes.length === 2 && axes.includes(1) && axes.includes(2);
	const ordinary = q.inScale[0] === q.outScale && q.inZeroPoint[0] === q.outZeroPoint;
	const f = Math.fround;
	let rounding: MeanRounding;
	let real: number;
	let bias = 0;
	if (hw && type === "uint8") {
		rounding = "rescaleUint8";
		bias = q.outZeroPoint - Math.trunc(f(f(q.inZeroPoint[0] * q.inScale[0]) / q.outScale));
		real = f(q.inScale[0] / f(count * q.outScale));
	} else if (hw && type === "int16") {
		rounding = "rescale16";
		real = q.inScale[0] / q.outScale;
	} else if (ordinary) {
		rounding = hw ? "round" : "truncate";
		real = 0;
	} else {
		rounding = "rescale";
		real = f(q.inScale[0] / q.outScale) / count;
	}
	const { multiplier, shift } = quantizeMultiplier(real);
	if (rounding === "rescale" && (shift > 29 || shift < -30)) fail(node, `the rescaling ${real} of the mean is outside what the integer kernel represents`);
	const { min, max } = quantizedRange(type);
	return { type, outShape, count, bases, offsets, rounding, inZeroPoint: q.inZeroPoint[0] ?? 0, outZeroPoint: q.outZeroPoint, multiplier, shift, bias, min, max };
}

/** Division rounding half away from zero, as TFLite's integer kernels write it. */
function roundingDivide(acc: number, count: number): number {
	const half = Math.trunc(count / 2);
	return Math.trunc(acc > 0 ? (acc + half) / count : (acc - half) / count);
}

/** One output element from the sum of its `count` quantized inputs. */
export function meanOf(p: MeanPlan, sum: number): number {
	switch (p.rounding) {
		case "round": return roundingDivide(sum, p.count);
		case "truncate": return Math.trunc(sum / p.count);
		case "rescale16": {
			const scaled = multiplyByQuantizedMultiplier(sum - p.count * p.inZeroPoint, p.multiplier, p.shift);
			return clamp(roundingDivide(scaled, p.count) + p.outZeroPoint, p.min, p.max);
		}
		case "rescaleUint8": return clamp(multiplyByQuantizedMultiplier(sum, p.multiplier, p.shift) + p.bias, p.min, p.max);
		case "rescale": {
			const bits = BigInt(31 - p.shift);
			const half = 1n << (bits - 1n);
			const x = BigInt(sum - p.count * p.inZeroPoint) * BigInt(p.multiplier) + half;
			const rounded = x >= 0n ? (x + half) >> bits : -((-x + half) >> bits);
			return clamp(Number(rounded) + p.outZeroPoint, p.min, p.max);
		}
	}
}

function mean(inputs: Tensor[], node: GraphNode): Tensor[] {
	arity(node, inputs, 2);
	const p = meanPlan(node, inputs[0], inputs[1]);
	const x = values(node, inputs[0]);
	const { tensor, data } = newTensor(p.type, p.outShape);
	for (let o = 0; o < p.bases.length; o++) {
		let sum = 0;
		for (let k = 0; k < p.count; k++) sum += x[p.bases[o] + p.offsets[k]];
		data[o] = meanOf(p, sum);
	}
	return [tensor];
}

export const Q_MEAN_KERNELS = new Map<string, Kernel>([["QMean", mean]]);
