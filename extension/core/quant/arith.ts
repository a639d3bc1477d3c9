// TFLite's integer arithmetic (tensorflow/lite/kernels/internal/common.h and gemmlowp's fixedpoint.h, default
// build: double rounding), bit for bit. The interpreter's quantized kernels use these; codegen/cint/primitives.ts
// is the same arithmetic in C, so the generated code and the interpreter agree exactly.

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export interface QuantizedMultiplier {
	/** Q0.31 fixed-point mantissa in [2^30, 2^31), or 0. */
	multiplier: number;
	/** Power of two: positive is a left shift, negative a right shift. */
	shift: number;
}

/** TfLiteRound: round half away from zero. */
export function roundHalfAway(x: number): number {
	return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** QuantizeMultiplier(): a real multiplier as a Q0.31 mantissa and a power of two (frexp, then rounded). */
export function quantizeMultiplier(real: number): QuantizedMultiplier {
	if (real === 0) return { multiplier: 0, shift: 0 };
	if (!Number.isFinite(real)) throw new RangeError(`cannot represent the multiplier ${real} in fixed point`);
	let shift = Math.floor(Math.log2(Math.abs(real))) + 1;
	let q = real / 2 ** shift;
	// log2 can be off by one near powers of two; frexp's mantissa is in [0.5, 1).
	if (Math.abs(q) >= 1) { q /= 2; shift++; }
	if (Math.abs(q) < 0.5) { q *= 2; shift--; }
	let fixed = roundHalfAway(q * 2 ** 31);
	if (fixed === 2 ** 31) { fixed /= 2; shift++; }
	if (shift < -31) return { multiplier: 0, shift: 0 };
	return { multiplier: fixed, shift };
}

/** QuantizeMultiplierSmallerThanOneExp(): as quantizeMultiplier, for 0 < real < 1 (shift <= 0). */
export function quantizeMultiplierSmallerThanOne(real: number): QuantizedMultiplier {
	if (!(real > 0 && real < 1)) throw new RangeError(`the multiplier ${real} must be in (0, 1)`);
	return quantizeMultiplier(real);
}

/** gemmlowp SaturatingRoundingDoublingHighMul: (a * b * 2 + 2^31) >> 32 with TFLite's rounding of negatives. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
	if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
	const ab = BigInt(a) * BigInt(b);
	const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
	// BigInt division truncates toward zero, as C++'s does.
	return Number((ab + nudge) / (1n << 31n));
}

/** gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero. */
export function roundingDivideByPOT(x: number, exponent: number): number {
	if (exponent === 0) return x;
	const mask = 2 ** exponent - 1;
	const remainder = x & mask;
	const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
	return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** MultiplyByQuantizedMultiplier(int32 x, ...): x * multiplier * 2^shift, double rounding. */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
	const leftShift = shift > 0 ? shift : 0;
	const rightShift = shift > 0 ? 0 : -shift;
	// x * (1 << left_shift) is an int32 product in C++ (wrapping in practice).
	return roundingDivideByPOT(saturatingRoundingDoublingHighMul(Math.imul(x, 2 ** leftShift | 0), multiplier), rightShift);
}

/**
 * MultiplyByQuantizedMultiplier(int64 x, ...) of the 16x8 kernels: the multiplier reduced to 16 bits, one rounding.
 * x is in [-2^47, 2^47); the multiplier is not negative.
 */
export function multiplyByQuantizedMultiplierInt64(x: bigint, multiplier: number, shift: number): number {
	const reduced = multiplier < 0x7fff0000 ? (multiplier + (1 << 15)) >> 16 : 0x7fff;
	const totalShift = BigInt(15 - shift);
	const round = 1n << (totalShift - 1n);
	return Number((x * BigInt(reduced) + round) >> totalShift);
}

/** MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0 only. */
export function multiplyByQuantizedMultiplierSmallerThanOne(x: number, multiplier: number, shift: number): number {
	return roundingDivideByPOT(saturatingRoundingDoublingHighMul(x, multiplier), -shift);
}

/** MultiplyByQuantizedMultiplierGreaterThanOne: shift >= 0 only. */
export function multiplyByQuantizedMultiplierGreaterThanOne(x: number, multiplier: number, shift: number): number {
	return saturatingRoundingDoublingHighMul(Math.imul(x, 2 ** shift | 0), multiplier);
}

export type QuantizedType = "int8" | "uint8" | "int16" | "int32";

export function quantizedRange(type: QuantizedType): { min: number; max: number } {
	switch (type) {
		case "int8": return { min: -128, max: 127 };
		case "uint8": return { min: 0, max: 255 };
		case "int16": return { min: -32768, max: 32767 };
		case "int32": return { min: INT32_MIN, max: INT32_MAX };
	}
}

export type FusedActivation = "NONE" | "RELU" | "RELU_N1_TO_1" | "RELU6";

/** CalculateActivationRangeQuantized(): the clamp of a fused activation in the output's quantized domain. */
export function activationRange(activation: string, outScale: number, outZeroPoint: number, type: QuantizedType): { min: number; max: number } {
	const { min: qmin, max: qmax } = quantizedRange(type);
	// zero_point + static_cast<int32_t>(TfLiteRound(f / scale)), the division in float.
	const quantize = (f: number) => outZeroPoint + roundHalfAway(Math.fround(f / outScale));
	switch (activation) {
		case "NONE": case "": return { min: qmin, max: qmax };
		case "RELU": return { min: Math.max(qmin, quantize(0)), max: qmax };
		case "RELU6": return { min: Math.max(qmin, quantize(0)), max: Math.min(qmax, quantize(6)) };
		case "RELU_N1_TO_1": return { min: Math.max(qmin, quantize(-1)), max: Math.min(qmax, quantize(1)) };
		default: throw new RangeError(`the fused activation ${activation} has no quantized form (NONE, RELU, RELU_N1_TO_1, RELU6 do)`);
	}
}

export function clamp(x: number, min: number, max: number): number {
	return x < min ? min : x > max ? max : x;
}

/**
 * LUTPopulate(): the 256-entry table TFLite's runtime builds at prepare time for int8/uint8 elementwise functions
 * (LOGISTIC, TANH, ...), computed with float32 steps as TFLite does. `transform` works on float32 values and
 * returns a float32 value. Entry k is for the input whose uint8 bit pattern is k.
 */
export function lookupTable(
	inScale: number, inZeroPoint: number, outScale: number, outZeroPoint: number,
	type: "int8" | "uint8", transform: (x: number) => number,
): number[] {
	const f = Math.fround;
	const inverseScale = f(1 / outScale);
	const { min, max } = quantizedRange(type);
	const table = new Array<number>(256).fill(0);
	for (let value = min; value <= max; value++) {
		const dequantized = f(f(inScale) * (value - inZeroPoint));
		const transformed = f(transform(dequantized));
		const rescaled = roundHalfAway(f(transformed * inverseScale));
		const quantized = Math.trunc(f(rescaled + outZeroPoint));
		table[value & 0xff] = clamp(quantized, min, max);
	}
	return table;
}
