// TFLite's integer arithmetic in C (the same functions as quant/arith.ts, bit for bit): int and long long only, so
// the code they are part of needs no FPU. Static inline: an unused one costs nothing and warns nothing.
import { Q_FP32_C } from "./fp32Requantize";
import { Q_GEMMLOWP16_C } from "./gemmlowp16";

export const Q_PRIMITIVES_C = `/* TFLite's fixed-point arithmetic (gemmlowp rounding): integer only. */
static inline int knn_q_srdhm(int a, int b)
{
	long long ab = (long long)a * (long long)b;
	long long nudge = ab >= 0 ? (1LL << 30) : (1LL - (1LL << 30));

	if (a == b && a == (-2147483647 - 1))
		return 2147483647;
	return (int)((ab + nudge) / (1LL << 31));
}

static inline int knn_q_rdpot(int x, int exponent)
{
	int mask = (int)((1LL << exponent) - 1);
	int remainder = x & mask;
	int threshold = (mask >> 1) + (x < 0 ? 1 : 0);

	return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^shift: MultiplyByQuantizedMultiplier(int32) with double rounding. */
static inline int knn_q_mul(int x, int multiplier, int shift)
{
	int left = shift > 0 ? shift : 0;
	int right = shift > 0 ? 0 : -shift;

	return knn_q_rdpot(knn_q_srdhm((int)((unsigned int)x << left), multiplier), right);
}

/* MultiplyByQuantizedMultiplier(int64) of the 16x8 kernels: the multiplier reduced to 16 bits, one rounding. */
static inline int knn_q_mul64(long long x, int multiplier, int shift)
{
	long long reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
	int total = 15 - shift;

	return (int)((x * reduced + (1LL << (total - 1))) >> total);
}

static inline int knn_q_clamp(int x, int lo, int hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

${Q_FP32_C}
${Q_GEMMLOWP16_C}`;
