import { EXP_BARREL, constant16 as constant } from "../../interp/kernels/quantized/lstmFixedPoint";

// gemmlowp's int16 tanh and logistic in C, step for step as interp/kernels/quantized/lstmFixedPoint.ts: TFLite's int16
// TANH/LOGISTIC for the input scales 2^-12 (TANH also 2^-11). Each step stores to short, wrapping as gemmlowp's
// int16 arithmetic does; the Q0.31 constants are rounded to 16 bits here, as RescaleConstantInitializer does.
const barrel = EXP_BARREL.map(([exponent, multiplier]) =>
	`\tif (integer_bits > ${exponent} && (remainder & (short)(1 << (fractional_bits + ${exponent}))))\n\t\tresult = knn_q16_srdhm(result, ${constant(multiplier)});`);

export const Q_GEMMLOWP16_C = `/* gemmlowp's 16-bit fixed point (TFLite's int16 TANH and LOGISTIC for power-of-two input scales). */
static inline short knn_q16_srdhm(short a, short b)
{
	int ab = (int)a * (int)b;

	if (a == b && a == -32768)
		return 32767;
	return (short)((ab + (ab >= 0 ? (1 << 14) : 1 - (1 << 14))) / (1 << 15));
}

static inline short knn_q16_rdpot(short x, int exponent)
{
	int mask = (1 << exponent) - 1;
	int threshold = (mask >> 1) + (x < 0 ? 1 : 0);

	return (short)((x >> exponent) + ((x & mask) > threshold ? 1 : 0));
}

static inline short knn_q16_shl_sat(short x, int exponent)
{
	int threshold = (1 << (15 - exponent)) - 1;

	return x > threshold ? 32767 : x < -threshold ? -32768 : (short)(x * (1 << exponent));
}

/* exp(a) for a in [-1/4, 0), Q0.15. */
static inline short knn_q16_exp_interval(short a)
{
	short x = (short)(a + (1 << 12));
	short x2 = knn_q16_srdhm(x, x);
	short x3 = knn_q16_srdhm(x2, x);
	short x4 = knn_q16_srdhm(x2, x2);
	short poly = knn_q16_rdpot((short)(knn_q16_srdhm((short)(knn_q16_rdpot(x4, 2) + x3), ${constant(715827883)}) + x2), 1);
	int sum = ${constant(1895147668)} + knn_q16_srdhm(${constant(1895147668)}, (short)(x + poly));

	return (short)(sum > 32767 ? 32767 : sum < -32768 ? -32768 : sum);
}

/* exp(a) for a <= 0 with integer_bits integer bits. */
static inline short knn_q16_exp_negative(short a, int integer_bits)
{
	int fractional_bits = 15 - integer_bits;
	int quarter = 1 << (fractional_bits - 2);
	short mod = (short)((a & (quarter - 1)) - quarter);
	short result = knn_q16_exp_interval(knn_q16_shl_sat(mod, integer_bits));
	short remainder = (short)(mod - a);

${barrel.join("\n")}
	return a == 0 ? 32767 : result;
}

/* Newton-Raphson iterations towards 1 / (1 + a), Q2.13. */
static inline short knn_q16_reciprocal(short a)
{
	int sum = a + 32767;
	short half = (short)((sum + (sum >= 0 ? 1 : -1)) / 2);
	short x = (short)(${constant(1515870810)} + knn_q16_srdhm(half, ${constant(-1010580540)}));

	for (int i = 0; i < 3; ++i) {
		short one_minus = (short)((1 << 13) - knn_q16_srdhm(half, x));

		x = (short)(x + knn_q16_shl_sat(knn_q16_srdhm(x, one_minus), 2));
	}
	return x;
}

/* tanh of a Q3.12 input (doubled with saturation first for the input scale 2^-11), Q0.15. */
static inline short knn_q16_tanh(short input, int left_shift)
{
	short a = left_shift ? knn_q16_shl_sat(input, 1) : input;
	short t;

	if (a == 0)
		return 0;
	t = knn_q16_shl_sat((short)(knn_q16_reciprocal(knn_q16_exp_negative(a < 0 ? a : (short)-a, 4)) - (1 << 13)), 2);
	return a < 0 ? (short)-t : t;
}

/* logistic of a Q3.12 input, Q0.15. */
static inline short knn_q16_logistic(short a)
{
	short positive;

	if (a == 0)
		return ${constant(1 << 30)};
	positive = knn_q16_shl_sat(knn_q16_reciprocal(knn_q16_exp_negative(a > 0 ? (short)-a : a, 3)), 1);
	return a > 0 ? positive : (short)(32767 - positive);
}
`;
