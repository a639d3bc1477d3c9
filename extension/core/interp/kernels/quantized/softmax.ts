import { type GraphNode, attrFloat } from "../../../graph/graph";
import { type Tensor, shapeSize } from "../../../graph/tensor";
import { clamp, multiplyByQuantizedMultiplier, quantizeMultiplier, quantizedRange, roundingDivideByPOT, saturatingRoundingDoublingHighMul } from "../../../quant/arith";
import { quantAttrs } from "../../../quant/params";
import type { Kernel } from "../../kernel";
import { arity, fail } from "../util";
import { int16Lut, int16LutLookup } from "./int16Lut";
import { quantizedOutType, quantizedOutput, quantizedValues, requireTypes } from "./qtensor";

// Quantized SOFTMAX as TFLite's integer reference (reference_ops::Softmax for 8-bit inputs, with gemmlowp's fixed
// point). TFLite's runtime computes 8-bit softmax through a float table instead; this integer form stays within one
// output step of it and needs no FPU. int16 SOFTMAX is reference_ops::SoftmaxInt16, with its exp and 1/(1+x) tables.

const srdhm = saturatingRoundingDoublingHighMul;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** kScaledDiffIntegerBits and kAccumulationIntegerBits of reference_ops::Softmax. */
export const SCALED_DIFF_INTEGER_BITS = 5;
export const ACCUMULATION_INTEGER_BITS = 12;

export interface SoftmaxParams {
	/** input_beta_multiplier and its left shift (PreprocessSoftmaxScaling). */
	multiplier: number;
	leftShift: number;
	/** Input differences below this contribute nothing (CalculateInputRadius). */
	diffMin: number;
	outputBits: number;
	outputMin: number;
	outputMax: number;
}

/** PreprocessSoftmaxScaling (double rounding build) and CalculateInputRadius, in double as TFLite. */
export function softmaxParams(node: GraphNode, inputType: string): SoftmaxParams {
	requireTypes(node, inputType as "int8", ["int8", "uint8"], "quantized SOFTMAX");
	const q = quantAttrs(node);
	const outType = quantizedOutType(node, q.outType);
	const beta = attrFloat(node, "beta", 1);
	const real = Math.min(beta * q.inScale[0] * 2 ** (31 - SCALED_DIFF_INTEGER_BITS), 2 ** 31 - 1);
	const { multiplier, shift } = quantizeMultiplier(real);
	if (shift < 0) fail(node, `beta * input scale (${beta} * ${q.inScale[0]}) is too small for TFLite's integer softmax`);
	const radius = Math.floor(((2 ** SCALED_DIFF_INTEGER_BITS - 1) * 2 ** (31 - SCALED_DIFF_INTEGER_BITS)) / 2 ** shift);
	const range = quantizedRange(outType);
	return { multiplier, leftShift: shift, diffMin: -radius, outputBits: outType === "int16" ? 16 : 8, outputMin: range.min, outputMax: range.max };
}

/** gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent: a saturating left shift. */
function saturatingShiftLeft(x: number, exponent: number): number {
	const threshold = 2 ** (31 - exponent) - 1;
	if (x > threshold) return INT32_MAX;
	if (x < -threshold) return INT32_MIN;
	return x * 2 ** exponent;
}

/** gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl, Q0.31 in and out. */
function expOnIntervalNegativeQuarterToZero(a: number): number {
	const constantTerm = 1895147668;
	const oneThird = 715827883;
	const x = (a + (1 << 28)) | 0;
	const x2 = srdhm(x, x);
	const x3 = srdhm(x2, x);
	const x4 = srdhm(x2, x2);
	const x4Over4 = roundingDivideByPOT(x4, 2);
	const poly = roundingDivideByPOT((srdhm((x4Over4 + x3) | 0, oneThird) + x2) | 0, 1);
	return (constantTerm + srdhm(constantTerm, (x + poly) | 0)) | 0;
}

const EXP_BARREL: [number, number][] = [[-2, 1672461947], [-1, 1302514674], [0, 790015084], [1, 290630308], [2, 39332535], [3, 720401], [4, 242]];

/** gemmlowp exp_on_negative_values for a Q5.26 input: exp(a) in Q0.31. */
export function expOnNegativeValues(a: number): number {
	const fractionalBits = 31 - SCALED_DIFF_INTEGER_BITS;
	const oneQuarter = 1 << (fractionalBits - 2);
	const aModQuarterMinusQuarter = ((a & (oneQuarter - 1)) - oneQuarter) | 0;
	let result = expOnIntervalNegativeQuarterToZero(saturatingShiftLeft(aModQuarterMinusQuarter, SCALED_DIFF_INTEGER_BITS));
	const remainder = (aModQuarterMinusQuarter - a) | 0;
	for (const [exponent, multiplier] of EXP_BARREL) {
		if (remainder & (1 << (fractionalBits + exponent))) result = srdhm(result, multiplier);
	}
	return a === 0 ? INT32_MAX : result;
}

/** gemmlowp one_over_one_plus_x_for_x_in_0_1: Newton-Raphson in Q2.29, Q0.31 in and out. */
function oneOverOnePlusX(a: number): number {
	const halfDenominator = Number((BigInt(a) + BigInt(INT32_MAX) + 1n) / 2n);
	let x = (1515870810 + srdhm(halfDenominator, -1010580540)) | 0;
	for (let i = 0; i < 3; i++) {
		const oneMinus = ((1 << 29) - srdhm(halfDenominator, x)) | 0;
		x = (x + saturatingShiftLeft(srdhm(x, oneMinus), 2)) | 0;
	}
	return saturatingShiftLeft(x, 1);
}

function countLeadingZeros(x: number): number {
	return Math.clz32(x);
}

/** GetReciprocal of common.h: 1/x for x with `integerBits` integer bits, and the bits above one. */
export function reciprocal(x: number, integerBits: number): { scale: number; bitsOverUnit: number } {
	const headroomPlusOne = countLeadingZeros(x);
	const shiftedSumMinusOne = ((x << headroomPlusOne) - INT32_MIN) | 0;
	return { scale: oneOverOnePlusX(shiftedSumMinusOne), bitsOverUnit: integerBits - headroomPlusOne };
}

/** The exp of one input difference (Q0.31), or undefined where it is below diff_min. */
function scaledExp(p: SoftmaxParams, diff: number): number | undefined {
	if (diff < p.diffMin) return undefined;
	return expOnNegativeValues(srdhm(diff * 2 ** p.leftShift, p.multiplier));
}

/** One row of reference_ops::Softmax (8-bit input). */
export function softmaxRow(p: SoftmaxParams, input: ArrayLike<number>, output: { [i: number]: number }, offset: number, depth: number): void {
	let max = -Infinity;
	for (let c = 0; c < depth; c++) max = Math.max(max, input[offset + c]);
	let sum = 0;
	for (let c = 0; c < depth; c++) {
		const e = scaledExp(p, input[offset + c] - max);
		if (e !== undefined) sum = (sum + roundingDivideByPOT(e, ACCUMULATION_INTEGER_BITS)) | 0;
	}
	const { scale, bitsOverUnit } = reciprocal(sum, ACCUMULATION_INTEGER_BITS);
	const exponent = bitsOverUnit + 31 - p.outputBits;
	for (let c = 0; c < depth; c++) {
		const e = scaledExp(p, input[offset + c] - max);
		output[offset + c] = e === undefined ? p.outputMin : clamp(roundingDivideByPOT(srdhm(scale, e), exponent) + p.outputMin, p.outputMin, p.outputMax);
	}
}

export interface Int16SoftmaxParams {
	/** input_multiplier/input_left_shift: input differences to steps of 10/65535. */
	multiplier: number;
	shift: number;
	/** exp(x) on [-10, 0] and 1/(1+x) on [0, 1], 513 entries each, Q0.15. */
	expLut: number[];
	reciprocalLut: number[];
}

/** SoftmaxPrepare for int16: the tables in double, and input_scale * beta (float32) / (10 / 65535) in double. */
export function int16SoftmaxParams(node: GraphNode): Int16SoftmaxParams {
	const q = quantAttrs(node);
	if (q.outType !== "int16") fail(node, `int16 SOFTMAX needs an int16 output, got ${q.outType}`);
	if (q.inZeroPoint[0] !== 0 || q.outZeroPoint !== 0) {
		fail(node, `int16 SOFTMAX needs zero points of 0 (TFLite's symmetric 16-bit quantization), got ${q.inZeroPoint[0]} and ${q.outZeroPoint}`);
	}
	const beta = Math.fround(attrFloat(node, "beta", 1));
	const { multiplier, shift } = quantizeMultiplier(Math.fround(q.inScale[0] * beta) / (10 / 65535));
	return {
		multiplier, shift,
		expLut: int16Lut(Math.exp, -10, 0),
		reciprocalLut: int16Lut((x) => 1 / (1 + x), 0, 1),
	};
}

const saturate16 = (x: number): number => clamp(x, -32768, 32767);

/** One row of reference_ops::SoftmaxInt16: exps summed in Q16.15, scaled by a table reciprocal of the sum. */
export function int16SoftmaxRow(p: Int16SoftmaxParams, input: ArrayLike<number>, output: { [i: number]: number }, offset: number, depth: number): void {
	let max = -32768;
	for (let c = 0; c < depth; c++) max = Math.max(max, input[offset + c]);
	const exps: number[] = [];
	let sum = 0;
	for (let c = 0; c < depth; c++) {
		const scaled = multiplyByQuantizedMultiplier(input[offset + c] - max, p.multiplier, p.shift);
		exps.push(int16LutLookup(saturate16(scaled + 32767), p.expLut));
		sum = (sum + exps[c]) | 0;
	}
	const headroomPlusOne = Math.clz32(sum);
	const shiftedSum = Math.floor((sum * 2 ** (headroomPlusOne - 1) + (1 << 13)) / 2 ** 14);
	const reciprocal = int16LutLookup(saturate16(shiftedSum - (1 << 15) - (1 << 16)), p.reciprocalLut);
	const rightShift = 31 - headroomPlusOne;
	for (let c = 0; c < depth; c++) {
		const result = Math.floor((exps[c] * reciprocal + 2 ** (rightShift - 1)) / 2 ** rightShift);
		output[offset + c] = clamp(result, 0, 32767);
	}
}

const softmax: Kernel = (inputs: Tensor[], node: GraphNode) => {
	arity(node, inputs, 1);
	const [x] = inputs;
	const xv = quantizedValues(node, x);
	if (x.shape.length < 1) fail(node, "input must have at least one dimension");
	const { tensor, data } = quantizedOutput(node, quantAttrs(node).outType, x.shape);
	const depth = x.shape[x.shape.length - 1];
	const rows = depth === 0 ? 0 : shapeSize(x.shape) / depth;
	if (x.dtype === "int16") {
		const p = int16SoftmaxParams(node);
		for (let r = 0; r < rows; r++) int16SoftmaxRow(p, xv, data, r * depth, depth);
		return [tensor];
	}
	const p = softmaxParams(node, x.dtype);
	for (let r = 0; r < rows; r++) softmaxRow(p, xv, data, r * depth, depth);
	return [tensor];
};

export const QUANTIZED_SOFTMAX_KERNELS: ReadonlyMap<string, Kernel> = new Map([["QSoftmax", softmax]]);
