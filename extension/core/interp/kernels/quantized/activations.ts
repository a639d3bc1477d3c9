import { type GraphNode, attrFloat } from "../../../graph/graph";
import type { Tensor } from "../../../graph/tensor";
import {
	type QuantizedMultiplier, clamp, lookupTable, multiplyByQuantizedMultiplier, quantizeMultiplier, quantizedRange, roundHalfAway,
	roundingDivideByPOT,
} from "../../../quant/arith";
import { quantAttrs } from "../../../quant/params";
import type { Kernel } from "../../kernel";
import { arity, fail } from "../util";
import { logistic16, saturatingPOT16, tanh16 } from "./lstmFixedPoint";
import { SIGMOID_TABLE_UINT16 } from "./int16Lut";
import { quantizedOutType, quantizedOutput, quantizedValues, requireTypes } from "./qtensor";

// Quantized LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU and HARD_SWISH as TFLite's activations.cc runs them: the
// 8-bit LOGISTIC/TANH through the 256-entry table its Prepare builds in float32, the others in integers with the
// multipliers Prepare computes (float32 where TFLite divides floats). int16 LOGISTIC/TANH interpolate TFLite's fixed
// sigmoid table, as its reference integer kernels do, or use gemmlowp's fixed point for power-of-two input scales.

const f32 = Math.fround;

/** The float32 functions TFLite tabulates (activations.cc: std::tanh, 1.0f / (1.0f + std::exp(-x))). */
const TRANSFORMS: Record<string, (x: number) => number> = {
	QTanh: (x) => f32(Math.tanh(x)),
	QLogistic: (x) => f32(1 / f32(1 + f32(Math.exp(-x)))),
};

/** The table entry k (input bit pattern k) of an 8-bit LOGISTIC or TANH node. */
export function activationTable(node: GraphNode, inputType: string): number[] {
	requireTypes(node, inputType as "int8", ["int8", "uint8"], node.op === "QTanh" ? "quantized TANH" : "quantized LOGISTIC");
	const q = quantAttrs(node);
	if (q.outType !== inputType) fail(node, `the output type ${q.outType} must equal the input type ${inputType}`);
	return lookupTable(q.inScale[0], q.inZeroPoint[0], q.outScale, q.outZeroPoint, inputType as "int8" | "uint8", TRANSFORMS[node.op]);
}

/** CheckedLog2 of TFLite (in float32): the rounded log2 of a scale, and whether the scale is a power of two. */
function checkedLog2(scale: number): { log2: number; exact: boolean } {
	const log2 = f32(f32(Math.log(scale)) * f32(1 / f32(Math.log(2))));
	const rounded = roundHalfAway(log2);
	return { log2: rounded, exact: Math.abs(f32(log2 - rounded)) < 1e-3 };
}

/**
 * The input rescale of the int16 LOGISTIC/TANH kernels: x * multiplier, rounded right by `shift`; a multiplier of 0
 * (power-of-two input scales) means gemmlowp's kernel with `shift` as its input left shift.
 */
export interface Int16SigmoidParams {
	multiplier: number;
	shift: number;
}

/**
 * TanhPrepare/SigmoidPrepare for int16: a 15-bit multiplier to 1/(3 * 4096) per step, found in double, except for
 * the input scales 2^-12 (TANH also 2^-11), which TFLite computes with gemmlowp (lstmFixedPoint.ts).
 */
export function int16SigmoidParams(node: GraphNode): Int16SigmoidParams {
	const q = quantAttrs(node);
	const what = node.op === "QTanh" ? "int16 TANH" : "int16 LOGISTIC";
	if (q.outType !== "int16") fail(node, `${what} needs an int16 output, got ${q.outType}`);
	if (q.inZeroPoint[0] !== 0 || q.outZeroPoint !== 0) {
		fail(node, `${what} needs zero points of 0 (TFLite's symmetric 16-bit quantization), got ${q.inZeroPoint[0]} and ${q.outZeroPoint}`);
	}
	const out = checkedLog2(q.outScale);
	if (!out.exact || out.log2 !== -15) fail(node, `${what} needs the output scale 1/32768, got ${q.outScale}`);
	const input = checkedLog2(q.inScale[0]);
	const potShift = 12 + input.log2;
	// As TFLite's Prepare: input_multiplier 0 selects the optimized kernel, gemmlowp's Q3.12 fixed point.
	if (input.exact && (potShift === 0 || (node.op === "QTanh" && potShift === 1))) return { multiplier: 0, shift: potShift };
	let multiplier = f32(q.inScale[0]) * 4096 * 3;
	let shift = 0;
	while (multiplier <= 32767 / 2 && shift <= 30) {
		shift++;
		multiplier *= 2;
	}
	if (multiplier > 32767) fail(node, `the input scale ${q.inScale[0]} is too large for TFLite's ${what} (at most about 2.7e-4)`);
	return { multiplier: Math.trunc(multiplier), shift };
}

function rescaleInt16Input(p: Int16SigmoidParams, x: number): number {
	const round = p.shift > 0 ? 1 << (p.shift - 1) : 0;
	return (x * p.multiplier + round) >> p.shift;
}

/** reference_integer_ops::Logistic for int16: the sigmoid table interpolated in steps of 1/512. */
export function int16LogisticElement(p: Int16SigmoidParams, x: number): number {
	const input = rescaleInt16Input(p, x);
	const abs = Math.abs(input);
	const uh = abs >>> 9;
	let result: number;
	if (uh >= 255) result = 0x7fff << 10;
	else {
		const ua = SIGMOID_TABLE_UINT16[uh];
		result = ua * 512 + (abs & 0x1ff) * (SIGMOID_TABLE_UINT16[uh + 1] - ua);
	}
	result = input >= 0 ? result + (1 << 9) : (1 << 25) - result + (1 << 9) - 1;
	return ((result >>> 10) << 16) >> 16;
}

/** reference_integer_ops::Tanh for int16: tanh(x) = 2 sigmoid(2x) - 1 on the same table, in steps of 1/256. */
export function int16TanhElement(p: Int16SigmoidParams, x: number): number {
	const input = rescaleInt16Input(p, x);
	const abs = Math.abs(input);
	const uh = abs >>> 8;
	let result: number;
	if (uh >= 255) result = 0xffff << 8;
	else {
		const ua = SIGMOID_TABLE_UINT16[uh];
		result = ua * 256 + (abs & 0xff) * (SIGMOID_TABLE_UINT16[uh + 1] - ua);
	}
	result = input >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;
	return ((result >> 8) << 16) >> 16;
}

/** ReluParams of QuantizedReluX: a rescale from the input's to the output's scale, clamped at the activation. */
export interface ReluParams {
	inputZeroPoint: number;
	outputZeroPoint: number;
	multiplier: QuantizedMultiplier;
	min: number;
	max: number;
}

/** ReluPrepare (input_scale / output_scale in float32) and QuantizedReluX's clamp, roundf of float32 quotients. */
export function reluParams(node: GraphNode, inputType: string): ReluParams {
	requireTypes(node, inputType as "int8", ["int8", "uint8"], node.op === "QRelu6" ? "quantized RELU6" : "quantized RELU");
	const q = quantAttrs(node);
	const type = quantizedOutType(node, q.outType);
	const range = quantizedRange(type);
	const bound = (value: number) => q.outZeroPoint + roundHalfAway(f32(value / q.outScale));
	return {
		inputZeroPoint: q.inZeroPoint[0], outputZeroPoint: q.outZeroPoint, multiplier: quantizeMultiplier(f32(q.inScale[0] / q.outScale)),
		min: Math.max(range.min, bound(0)), max: node.op === "QRelu6" ? Math.min(range.max, bound(6)) : range.max,
	};
}

export function reluElement(p: ReluParams, x: number): number {
	return clamp(p.outputZeroPoint + multiplyByQuantizedMultiplier(x - p.inputZeroPoint, p.multiplier.multiplier, p.multiplier.shift), p.min, p.max);
}

export interface LeakyReluParams {
	inputZeroPoint: number;
	outputZeroPoint: number;
	identity: QuantizedMultiplier;
	alpha: QuantizedMultiplier;
	min: number;
	max: number;
	/** Set where TFLite's runtime computes the op in XNNPACK (int8). */
	xnnpack?: XnnpackLeakyRelu;
}

/** XNNPACK's qs8 LEAKY_RELU: multipliers with 8 fractional bits (lrintf of 256 * scale) and a rounding bias. */
export interface XnnpackLeakyRelu {
	positive: number;
	negative: number;
	bias: number;
}

/** lrintf: round half to even. */
function roundHalfEven(x: number): number {
	const r = Math.round(x);
	return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * TFLite's runtime hands int8 LEAKY_RELU to XNNPACK when xnn_create_leaky_relu_nc_qs8 accepts the scales (both
 * rescales within [2^-8, 2^7]); it then computes in Q8, not with TFLite's reference multipliers.
 */
function xnnpackLeakyRelu(inScale: number, outScale: number, alpha: number, outZeroPoint: number): XnnpackLeakyRelu | undefined {
	const positive = f32(f32(inScale) / f32(outScale));
	const negative = f32(positive * alpha);
	const inRange = (scale: number) => Math.abs(scale) >= 2 ** -8 && Math.abs(scale) <= 2 ** 7;
	if (!inRange(positive) || !inRange(negative)) return undefined;
	return { positive: roundHalfEven(f32(256 * positive)), negative: roundHalfEven(f32(256 * negative)), bias: outZeroPoint * 256 + 0x80 };
}

/** LeakyReluPrepare: input_scale * alpha / output_scale and input_scale / output_scale, both in float32. */
export function leakyReluParams(node: GraphNode, inputType: string): LeakyReluParams {
	requireTypes(node, inputType as "int8", ["int8", "uint8"], "quantized LEAKY_RELU");
	const q = quantAttrs(node);
	const alpha = f32(attrFloat(node, "alpha", 0.2));
	const { min, max } = quantizedRange(quantizedOutType(node, q.outType));
	return {
		inputZeroPoint: q.inZeroPoint[0], outputZeroPoint: q.outZeroPoint, min, max,
		identity: quantizeMultiplier(f32(q.inScale[0] / q.outScale)), alpha: quantizeMultiplier(f32(f32(q.inScale[0] * alpha) / q.outScale)),
		xnnpack: inputType === "int8" ? xnnpackLeakyRelu(q.inScale[0], q.outScale, alpha, q.outZeroPoint) : undefined,
	};
}

/** XNNPACK's qs8-vlrelu scalar kernel, or else reference_ops::QuantizeLeakyRelu. */
export function leakyReluElement(p: LeakyReluParams, x: number): number {
	const v = x - p.inputZeroPoint;
	if (p.xnnpack) return clamp((p.xnnpack.bias + v * (v >= 0 ? p.xnnpack.positive : p.xnnpack.negative)) >> 8, p.min, p.max);
	const m = v >= 0 ? p.identity : p.alpha;
	return clamp(p.outputZeroPoint + multiplyByQuantizedMultiplier(v, m.multiplier, m.shift), p.min, p.max);
}

/** HardSwishParams: 16-bit fixed-point multipliers and their exponents. */
export interface HardSwishParams {
	inputZeroPoint: number;
	outputZeroPoint: number;
	outputMultiplier: number;
	outputExponent: number;
	reluishMultiplier: number;
	reluishExponent: number;
	min: number;
	max: number;
}

/** DownScaleInt32ToInt16Multiplier of activations.cc. */
function toInt16Multiplier(multiplier: number): number {
	const rounding = 1 << 15;
	return multiplier >= 2147483647 - rounding ? 32767 : (multiplier + rounding) >> 16;
}

/** HardSwishPrepare, in float32 as TFLite computes it. */
export function hardSwishParams(node: GraphNode, inputType: string): HardSwishParams {
	requireTypes(node, inputType as "int8", ["int8", "uint8"], "quantized HARD_SWISH");
	const q = quantAttrs(node);
	const hiresInputScale = f32(f32(1 / 128) * q.inScale[0]);
	const output = quantizeMultiplier(f32(hiresInputScale / q.outScale));
	if (output.shift > 0) fail(node, `the output scale ${q.outScale} is too small for the input scale ${q.inScale[0]} (TFLite's HARD_SWISH needs a right shift)`);
	const reluish = quantizeMultiplier(f32(hiresInputScale / f32(3 / 32768)));
	const { min, max } = quantizedRange(quantizedOutType(node, q.outType));
	return {
		inputZeroPoint: q.inZeroPoint[0], outputZeroPoint: q.outZeroPoint, min, max,
		outputMultiplier: toInt16Multiplier(output.multiplier), outputExponent: output.shift,
		reluishMultiplier: toInt16Multiplier(reluish.multiplier), reluishExponent: reluish.shift,
	};
}

const int16 = (x: number): number => (x << 16) >> 16;

/** gemmlowp's int16 SaturatingRoundingDoublingHighMul. */
function srdhm16(a: number, b: number): number {
	if (a === -32768 && b === -32768) return 32767;
	const ab = a * b;
	const nudge = ab >= 0 ? 1 << 14 : 1 - (1 << 14);
	return int16(Math.trunc((ab + nudge) / 32768));
}

/** SaturatingDoublingHighMul of hard_swish.h: rounds toward zero. */
function sdhm16(a: number, b: number): number {
	if (a === -32768 && b === -32768) return 32767;
	return int16(Math.trunc((a * b) / 32768));
}

function saturatingLeftShift16(value: number, amount: number): number {
	return clamp(value * 2 ** amount, -32768, 32767);
}

/** reference_ops::HardSwish (quantized), int16 intermediate values as there. */
export function hardSwishElement(p: HardSwishParams, x: number): number {
	const inputValue = int16(x - p.inputZeroPoint);
	const hires = int16(inputValue * 128);
	const preshiftOutput = srdhm16(hires, p.outputMultiplier);
	let reluish = hires;
	if (p.reluishExponent > 0) reluish = saturatingLeftShift16(reluish, p.reluishExponent - 1);
	reluish = srdhm16(reluish, p.reluishMultiplier);
	if (p.reluishExponent > 0) reluish = saturatingLeftShift16(reluish, 1);
	if (p.reluishExponent < 0) reluish = roundingDivideByPOT(reluish, -p.reluishExponent);
	reluish = int16((reluish + (1 << 15)) >> 1);
	const preshift = sdhm16(reluish, preshiftOutput);
	const output = int16(roundingDivideByPOT(preshift, -p.outputExponent) + p.outputZeroPoint);
	return clamp(output, p.min, p.max);
}

function unaryKernel(element: (node: GraphNode, inputType: string) => (x: number) => number): Kernel {
	return (inputs: Tensor[], node: GraphNode) => {
		arity(node, inputs, 1);
		const [x] = inputs;
		const xv = quantizedValues(node, x);
		const f = element(node, x.dtype);
		const { tensor, data } = quantizedOutput(node, quantAttrs(node).outType, x.shape);
		for (let i = 0; i < data.length; i++) data[i] = f(xv[i]);
		return [tensor];
	};
}

function tableKernel(node: GraphNode, inputType: string): (x: number) => number {
	if (inputType === "int16") {
		const p = int16SigmoidParams(node);
		// optimized_ops::Tanh/Logistic (int16): gemmlowp on Q3.12, TANH's input doubled with saturation for 2^-11.
		if (p.multiplier === 0) return node.op === "QTanh" ? (x) => tanh16(saturatingPOT16(x, p.shift), 3) : (x) => logistic16(x, 3);
		return node.op === "QTanh" ? (x) => int16TanhElement(p, x) : (x) => int16LogisticElement(p, x);
	}
	const table = activationTable(node, inputType);
	return (x) => table[x & 0xff];
}

export const QUANTIZED_ACTIVATION_KERNELS: ReadonlyMap<string, Kernel> = new Map([
	["QLogistic", unaryKernel(tableKernel)],
	["QTanh", unaryKernel(tableKernel)],
	["QRelu", unaryKernel((node, type) => { const p = reluParams(node, type); return (x) => reluElement(p, x); })],
	["QRelu6", unaryKernel((node, type) => { const p = reluParams(node, type); return (x) => reluElement(p, x); })],
	["QLeakyRelu", unaryKernel((node, type) => { const p = leakyReluParams(node, type); return (x) => leakyReluElement(p, x); })],
	["QHardSwish", unaryKernel((node, type) => { const p = hardSwishParams(node, type); return (x) => hardSwishElement(p, x); })],
]);
