// The arithmetic of XNNPACK's int8/uint8 kernels, which TFLite's runtime (XNNPACK delegate on) runs instead of its
// own for FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, ADD, SUB, MUL and integer QUANTIZE when their scales are in XNNPACK's range. Matching it
// makes those ops exact. "fp32" requantization rounds float32(acc) * float32 scale to float32, then to the nearest
// integer, ties to even; fp32Requantize does that with integers only, as the generated C must.

const f32 = Math.fround;

/** A float32 scale as mantissa * 2^exponent, the mantissa a 24-bit integer (normal floats only). */
export interface Fp32Scale {
	mantissa: number;
	exponent: number;
}

export function fp32Scale(scale: number): Fp32Scale {
	const bits = new Uint32Array(new Float32Array([scale]).buffer)[0];
	const biased = (bits >>> 23) & 0xff;
	if (biased === 0 || biased === 0xff || bits >>> 31) throw new RangeError(`the requantization scale ${scale} is not a positive normal float32`);
	return { mantissa: (bits & 0x7fffff) | 0x800000, exponent: biased - 127 - 23 };
}

/** Rounds |x| (an integer below 2^63) to `bits` significant bits, ties to even. */
function roundSignificant(x: bigint, bits: number): bigint {
	const length = x.toString(2).length;
	if (length <= bits) return x;
	const drop = BigInt(length - bits);
	return roundShift(x, drop) << drop;
}

/** |x| / 2^shift rounded to the nearest integer, ties to even. */
function roundShift(x: bigint, shift: bigint): bigint {
	if (shift <= 0n) return x << -shift;
	const quotient = x >> shift;
	const remainder = x - (quotient << shift);
	const half = 1n << (shift - 1n);
	return remainder > half || (remainder === half && (quotient & 1n) === 1n) ? quotient + 1n : quotient;
}

/**
 * XNNPACK's fp32 requantization of an int32 accumulator, in integers: float32(acc), its product with the scale
 * rounded to 24 bits, then to an integer (ties to even). The same steps as knn_q_fp32 in the generated C.
 */
export function fp32RequantizeInt(acc: number, scale: Fp32Scale): number {
	const magnitude = roundSignificant(BigInt(Math.abs(acc)), 24) * BigInt(scale.mantissa);
	const rounded = Number(roundShift(roundSignificant(magnitude, 24), BigInt(-scale.exponent)));
	return acc < 0 && rounded !== 0 ? -rounded : rounded;
}

/** The same value by float32 arithmetic (exact: a double holds the product of two float32 values). */
export function fp32Requantize(acc: number, scale: number): number {
	const product = f32(f32(acc) * scale);
	const nearest = Math.round(product);
	// + 0 turns -0 into 0: the result is an integer.
	return (nearest - product === 0.5 && nearest % 2 !== 0 ? nearest - 1 : nearest) + 0;
}

/** lrintf: nearest integer, ties to even. */
function lrint(x: number): number {
	const nearest = Math.round(x);
	return nearest - x === 0.5 && nearest % 2 !== 0 ? nearest - 1 : nearest;
}

/** XNNPACK's qs8/qu8 ADD (SUB: input 2's multiplier negated): (bias + x*a + y*b) >> shift, bias holding the zero points and rounding. */
export interface XnnAddParams {
	aMultiplier: number;
	bMultiplier: number;
	shift: number;
	bias: number;
}

/** The delegate takes ADD/SUB only when each input-to-output scale ratio (float32) is in [2^-10, 2^8). */
export function xnnAddParams(aScale: number, bScale: number, outScale: number, aZeroPoint: number, bZeroPoint: number, subtract: boolean): XnnAddParams | undefined {
	const aRatio = f32(f32(aScale) / f32(outScale));
	const bRatio = f32(f32(bScale) / f32(outScale));
	if ([aRatio, bRatio].some((r) => !(r >= 2 ** -10 && r < 2 ** 8))) return undefined;
	// xnn_init_qs8_add_minmax_scalar_params: 20 multiplier bits for the larger ratio.
	const largest = fp32Scale(Math.max(aRatio, bRatio));
	const shift = 20 - (largest.exponent + 23);
	const aMultiplier = lrint(f32(aRatio * 2 ** shift));
	const bMultiplier = (subtract ? -1 : 1) * lrint(f32(bRatio * 2 ** shift));
	const bias = (2 ** (shift - 1) - Math.imul(aMultiplier, aZeroPoint) - Math.imul(bMultiplier, bZeroPoint)) | 0;
	return { aMultiplier, bMultiplier, shift, bias };
}

/** One element of XNNPACK's ADD before the zero point and clamp: int32 arithmetic, wrapping as the C does. */
export function xnnAddElement(p: XnnAddParams, x: number, y: number): number {
	return ((p.bias + Math.imul(x, p.aMultiplier) + Math.imul(y, p.bMultiplier)) | 0) >> p.shift;
}

/** The delegate takes MUL when input1_scale * input2_scale / output_scale (float32) is in [2^-16, 2^8). */
export function xnnMulScale(aScale: number, bScale: number, outScale: number): number | undefined {
	const scale = f32(f32(f32(aScale) * f32(bScale)) / f32(outScale));
	return scale >= 2 ** -16 && scale < 2 ** 8 ? scale : undefined;
}

/** XNNPACK's convolution requantization scale: input_scale * filter_scale / output_scale in float32, if it takes it. */
export function xnnConvScale(inScale: number, filterScale: number, outScale: number): number | undefined {
	const scale = f32(f32(f32(inScale) * f32(filterScale)) / f32(outScale));
	return scale >= 2 ** -32 && scale < 2 ** 8 ? scale : undefined;
}

/**
 * XNNPACK's qs8/qu8 convert (an integer-to-integer QUANTIZE) keeps the scale ratio with 8 fractional bits. The
 * delegate takes it only from int8 to int8 or uint8 to uint8 with the float32 ratio in [2^-8, 2^7]; returns
 * lrintf(256 * ratio) then, else undefined (TFLite's own Requantize runs).
 */
export function xnnConvertMultiplier(inScale: number, outScale: number, sameType: boolean): number | undefined {
	const ratio = f32(f32(inScale) / f32(outScale));
	if (!sameType || !(ratio >= 2 ** -8 && ratio <= 2 ** 7)) return undefined;
	return lrint(f32(256 * ratio));
}

/** The convert's bias: the output zero point in 8.8 fixed point, less the input zero point's product, plus one half. */
export function xnnConvertBias(multiplier: number, inZeroPoint: number, outZeroPoint: number): number {
	return outZeroPoint * 256 - multiplier * inZeroPoint + 0x80;
}

/** One element of the convert before the clamp: (bias + x * multiplier) >> 8, an arithmetic shift (floor). */
export function xnnConvertElement(multiplier: number, bias: number, x: number): number {
	return (bias + x * multiplier) >> 8;
}
