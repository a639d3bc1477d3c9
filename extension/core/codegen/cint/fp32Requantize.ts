// XNNPACK's fp32 requantization in C, integer only: the same steps as fp32RequantizeInt in
// interp/kernels/quantized/xnnpack.ts (its tests check them against float32 arithmetic).
export const Q_FP32_C = `/* XNNPACK's fp32 requantization (the runtime's int8/uint8 depthwise and transpose convolutions, MUL) in integers:
 * float32(acc) times the scale mantissa * 2^-shift, rounded to 24 bits, then to an integer, ties to even each time. */
static inline unsigned long long knn_q_rne_shift(unsigned long long x, int shift)
{
	unsigned long long quotient = x >> shift;
	unsigned long long remainder = x & ((1ULL << shift) - 1);
	unsigned long long half = 1ULL << (shift - 1);

	return quotient + (remainder > half || (remainder == half && (quotient & 1)) ? 1 : 0);
}

static inline unsigned long long knn_q_round24(unsigned long long x)
{
	int drop = x >> 24 ? 40 - __builtin_clzll(x) : 0;

	return drop > 0 ? knn_q_rne_shift(x, drop) << drop : x;
}

/* Saturated to +-2^30: any value that far out is clamped to the output range anyway. */
static inline int knn_q_fp32(int acc, int mantissa, int shift)
{
	unsigned long long magnitude = acc < 0 ? 0ULL - (unsigned long long)(long long)acc : (unsigned long long)acc;
	unsigned long long product = knn_q_round24(knn_q_round24(magnitude) * (unsigned long long)mantissa);
	unsigned long long value = knn_q_rne_shift(product, shift);
	int bounded = value > (1ULL << 30) ? (1 << 30) : (int)value;

	return acc < 0 ? -bounded : bounded;
}
`;
