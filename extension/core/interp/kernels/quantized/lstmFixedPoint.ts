// gemmlowp's 16-bit fixed-point logistic and tanh (fixedpoint.h, int16 raw values), as TFLite's integer LSTM applies
// them to its gates (ApplySigmoid on Q3.12, ApplyTanh with 3 or 15 + log2(cell scale) integer bits). Every step
// follows gemmlowp's int16 specialisations, wrapping and saturating where they do, so results are bit exact.
// codegen/cint/lstm.ts writes the same steps in C; keep the two in step.
import { roundingDivideByPOT } from "../../../quant/arith";

/** static_cast<int16_t>: the low 16 bits, signed. */
export function wrap16(x: number): number {
	return (x << 16) >> 16;
}

/** gemmlowp's int16 SaturatingRoundingDoublingHighMul: the product of two Q0.15 values, rounded. */
export function srdhm16(a: number, b: number): number {
	if (a === -32768 && b === -32768) return 32767;
	const ab = a * b;
	return wrap16(Math.trunc((ab + (ab >= 0 ? 16384 : -16383)) / 32768));
}

/** RoundingDivideByPOT on an int16 value. */
export function rdpot16(x: number, exponent: number): number {
	if (exponent === 0) return x;
	const mask = (1 << exponent) - 1;
	return (x >> exponent) + ((x & mask) > (mask >> 1) + (x < 0 ? 1 : 0) ? 1 : 0);
}

/** SaturatingRoundingMultiplyByPOT<exponent> on an int16 value: a saturating left shift, or a rounding right one. */
export function saturatingPOT16(x: number, exponent: number): number {
	if (exponent <= 0) return rdpot16(x, -exponent);
	const threshold = (1 << (15 - exponent)) - 1;
	if (x > threshold) return 32767;
	if (x < -threshold) return -32768;
	return wrap16(x << exponent);
}

/** GEMMLOWP_CHECKED_FIXEDPOINT_CONSTANT for int16: the int32 constant rounded down to 16 bits. */
export function constant16(int32Value: number): number {
	return roundingDivideByPOT(int32Value, 16);
}

/** The int32 constants of the barrel shifter in exp_on_negative_values: exp(-2^k) for k = -2 .. 4. */
export const EXP_BARREL: readonly (readonly [number, number])[] = [
	[-2, 1672461947], [-1, 1302514674], [0, 790015084], [1, 290630308], [2, 39332535], [3, 720401], [4, 242],
];

/** exp_on_interval_between_negative_one_quarter_and_0_excl (a in Q0.15). */
export function expOnInterval(a: number): number {
	const constantTerm = constant16(1895147668);
	const oneThird = constant16(715827883);
	const x = wrap16(a + (1 << 12));
	const x2 = srdhm16(x, x);
	const x3 = srdhm16(x2, x);
	const x4 = srdhm16(x2, x2);
	const x4Over4 = saturatingPOT16(x4, -2);
	const polynomial = saturatingPOT16(wrap16(srdhm16(wrap16(x4Over4 + x3), oneThird) + x2), -1);
	const sum = constantTerm + srdhm16(constantTerm, wrap16(x + polynomial));
	return Math.min(32767, Math.max(-32768, sum));
}

/** exp_on_negative_values: a is a Q(integerBits).(15 - integerBits) value <= 0; the result is Q0.15. */
export function expOnNegativeValues(a: number, integerBits: number): number {
	const fractionalBits = 15 - integerBits;
	const oneQuarter = 1 << (fractionalBits - 2);
	const mask = wrap16(oneQuarter - 1);
	const modQuarterMinusQuarter = wrap16((a & mask) - oneQuarter);
	let result = expOnInterval(saturatingPOT16(modQuarterMinusQuarter, integerBits));
	const remainder = wrap16(modQuarterMinusQuarter - a);
	for (const [exponent, multiplier] of EXP_BARREL) {
		if (integerBits > exponent && (remainder & wrap16(1 << (fractionalBits + exponent))) !== 0) {
			result = srdhm16(result, constant16(multiplier));
		}
	}
	if (integerBits > 5 && a < constant16(-(2 ** (36 - integerBits)))) result = 0;
	return a === 0 ? 32767 : result;
}

/** The Newton-Raphson reciprocal of one_over_one_plus_x_for_x_in_0_1 and its tanh sibling, as Q2.13. */
function newtonRaphson(a: number): number {
	const halfSum = a + 32767;
	const halfDenominator = wrap16(Math.trunc((halfSum + (halfSum >= 0 ? 1 : -1)) / 2));
	let x = wrap16(constant16(1515870810) + srdhm16(halfDenominator, constant16(-1010580540)));
	for (let i = 0; i < 3; i++) {
		const oneMinus = wrap16(8192 - srdhm16(halfDenominator, x));
		x = wrap16(x + saturatingPOT16(srdhm16(x, oneMinus), 2));
	}
	return x;
}

export function oneOverOnePlusX(a: number): number {
	return saturatingPOT16(newtonRaphson(a), 1);
}

export function oneMinusXOverOnePlusX(a: number): number {
	return saturatingPOT16(wrap16(newtonRaphson(a) - 8192), 2);
}

/** gemmlowp::logistic on a Q(integerBits) int16 value; the result is Q0.15. */
export function logistic16(a: number, integerBits: number): number {
	if (a === 0) return constant16(1 << 30);
	const magnitude = a > 0 ? a : wrap16(-a);
	const positive = oneOverOnePlusX(expOnNegativeValues(wrap16(-magnitude), integerBits));
	return a > 0 ? positive : wrap16(32767 - positive);
}

/** gemmlowp::tanh on a Q(integerBits) int16 value; the result is Q0.15. */
export function tanh16(a: number, integerBits: number): number {
	if (a === 0) return 0;
	const negative = a < 0 ? a : wrap16(-a);
	const t = oneMinusXOverOnePlusX(expOnNegativeValues(negative, integerBits + 1));
	return a < 0 ? wrap16(-t) : t;
}
