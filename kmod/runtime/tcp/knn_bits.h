/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Integer-only helpers for the Kernel NN module mains. Those units are built with
 * the kernel's no-FPU flags, so float32 values are parsed, compared, built and
 * printed here as bit patterns without a single floating-point instruction.
 * This file includes nothing, so the same code is checked in user space against
 * glibc (test/unit/kmod.test.ts).
 */
#ifndef KNN_BITS_H
#define KNN_BITS_H

/* Longest text of knn_format_float_bits() plus its NUL: "-1.2345678e-38". */
#define KNN_FLOAT_TEXT_MAX 16

#define KNN_FLOAT_ONE_BITS 0x3f800000u

static inline int knn_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Parses "3f800000,bf000000,..." (exactly 8 hex digits per item) into words.
 * Returns the number of words, or -(1 + i) when item i is malformed or would be
 * word number max_words + 1. The empty string is zero words.
 */
static inline int knn_parse_hex_words(const char *text, unsigned int *words, int max_words)
{
	int count = 0;

	if (!*text)
		return 0;
	for (;;) {
		unsigned int word = 0;
		int i;

		for (i = 0; i < 8; i++) {
			int digit = knn_hex_digit(text[i]);

			if (digit < 0)
				return -(1 + count);
			word = word << 4 | (unsigned int)digit;
		}
		text += 8;
		if ((*text != ',' && *text != '\0') || count >= max_words)
			return -(1 + count);
		words[count++] = word;
		if (!*text)
			return count;
		text++;
	}
}

/* Parses a decimal index of at most 6 digits; returns it or -1, and advances *text. */
static inline int knn_parse_index(const char **text)
{
	const char *p = *text;
	int value = 0;
	int digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 7) {
		value = value * 10 + (*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || digits > 6)
		return -1;
	*text = p;
	return value;
}

/*
 * Parses "A:R,A:R" (argument index : result index) into the two arrays. Returns
 * the number of pairs, or -(1 + i) when pair i is malformed or beyond max_pairs.
 */
static inline int knn_parse_feedback(const char *text, int *arguments, int *results, int max_pairs)
{
	int count = 0;

	if (!*text)
		return 0;
	for (;;) {
		int argument = knn_parse_index(&text);
		int result;

		if (argument < 0 || *text != ':')
			return -(1 + count);
		text++;
		result = knn_parse_index(&text);
		if (result < 0 || (*text != ',' && *text != '\0') || count >= max_pairs)
			return -(1 + count);
		arguments[count] = argument;
		results[count] = result;
		count++;
		if (!*text)
			return count;
		text++;
	}
}

static inline int knn_float_bits_is_nan(unsigned int bits)
{
	return (bits & 0x7fffffffu) > 0x7f800000u;
}

/* Maps float bits to keys whose unsigned order is the floats' order (NaN excluded). */
static inline unsigned int knn_float_order_key(unsigned int bits)
{
	return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

static inline int knn_bit_length(unsigned long long x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

/*
 * Float32 bits nearest to num / den (round to nearest, ties to even) for
 * den < 2^39. Results below 2^-126 flush to zero and overflow gives infinity;
 * model inputs are normalised to about [0, 10], far from both.
 */
static inline unsigned int knn_float_bits_from_ratio(unsigned long long num, unsigned long long den)
{
	int shift, extra, exponent;
	unsigned long long quotient, remainder, mantissa, rest, half;

	if (!num || !den || knn_bit_length(den) > 39)
		return 0;
	/* scale so that the quotient has 25 or 26 bits: 24 kept plus rounding bits */
	shift = 25 - (knn_bit_length(num) - knn_bit_length(den));
	if (shift >= 0)
		num <<= shift;
	else
		den <<= -shift;
	quotient = num / den;
	remainder = num % den;
	extra = quotient >> 25 ? 2 : 1;
	mantissa = quotient >> extra;
	rest = quotient & ((1ull << extra) - 1);
	half = 1ull << (extra - 1);
	if (rest > half || (rest == half && (remainder || (mantissa & 1))))
		mantissa++;
	exponent = extra - shift + 23;
	if (mantissa >> 24) {
		mantissa >>= 1;
		exponent++;
	}
	if (exponent + 127 >= 255)
		return 0x7f800000u;
	if (exponent + 127 <= 0)
		return 0;
	return (unsigned int)(exponent + 127) << 23 | (unsigned int)(mantissa & 0x7fffff);
}

#define KNN_LIMB_BASE 1000000000u
/* 2^24 * 5^149 (the smallest denormal's expansion) has 112 digits: 13 limbs of 9 */
#define KNN_LIMBS 14

/* limbs (little-endian, base 10^9) *= factor, for factor <= 5^13 */
static inline int knn_limbs_multiply(unsigned int *limbs, int count, unsigned long long factor)
{
	unsigned long long carry = 0;
	int i;

	for (i = 0; i < count; i++) {
		unsigned long long t = limbs[i] * factor + carry;

		limbs[i] = (unsigned int)(t % KNN_LIMB_BASE);
		carry = t / KNN_LIMB_BASE;
	}
	while (carry && count < KNN_LIMBS) {
		limbs[count++] = (unsigned int)(carry % KNN_LIMB_BASE);
		carry /= KNN_LIMB_BASE;
	}
	return count;
}

/*
 * Writes the float32 with these bits the way printf("%.7e") does: 8 significant
 * digits rounded half to even, "inf", "nan", signs kept. The value is expanded
 * exactly (as a base-10^9 integer times a power of ten) before rounding, so
 * denormals come out right too. out needs KNN_FLOAT_TEXT_MAX bytes; returns the length.
 */
static inline int knn_format_float_bits(unsigned int bits, char *out)
{
	unsigned int limbs[KNN_LIMBS];
	char digits[9 * KNN_LIMBS + 1];
	int exponent_bits = (int)(bits >> 23 & 0xff);
	unsigned int mantissa = bits & 0x7fffff;
	int binary_exponent, decimal_exponent, count, length, i, up, sticky;
	char *p = out;

	if (bits >> 31)
		*p++ = '-';
	if (exponent_bits == 0xff) {
		const char *word = mantissa ? "nan" : "inf";

		while (*word)
			*p++ = *word++;
		*p = '\0';
		return (int)(p - out);
	}
	if (!exponent_bits && !mantissa) {
		const char *zero = "0.0000000e+00";

		while (*zero)
			*p++ = *zero++;
		*p = '\0';
		return (int)(p - out);
	}
	if (exponent_bits) {
		mantissa |= 0x800000;
		binary_exponent = exponent_bits - 150;
	} else {
		binary_exponent = -149;
	}

	limbs[0] = mantissa;
	count = 1;
	decimal_exponent = 0;
	if (binary_exponent > 0) {
		for (i = binary_exponent; i > 0; i -= 29)
			count = knn_limbs_multiply(limbs, count, 1ull << (i < 29 ? i : 29));
	} else if (binary_exponent < 0) {
		/* m * 2^-k = m * 5^k * 10^-k */
		decimal_exponent = binary_exponent;
		for (i = -binary_exponent; i > 0; i -= 13) {
			unsigned long long factor = 1;
			int j;

			for (j = 0; j < (i < 13 ? i : 13); j++)
				factor *= 5;
			count = knn_limbs_multiply(limbs, count, factor);
		}
	}

	/* decimal digits, most significant first, without leading zeros */
	length = 0;
	for (i = count - 1; i >= 0; i--) {
		unsigned int limb = limbs[i];
		char group[9];
		int j, n = 0;

		for (j = 8; j >= 0; j--) {
			group[j] = (char)('0' + limb % 10);
			limb /= 10;
		}
		j = 0;
		if (length == 0) {
			while (j < 8 && group[j] == '0')
				j++;
		}
		for (; j < 9; j++, n++)
			digits[length + n] = group[j];
		length += n;
	}
	decimal_exponent += length - 1;

	if (length > 8) {
		sticky = 0;
		for (i = 9; i < length; i++)
			sticky |= digits[i] != '0';
		up = digits[8] > '5' || (digits[8] == '5' && (sticky || ((digits[7] - '0') & 1)));
		if (up) {
			for (i = 7; i >= 0 && digits[i] == '9'; i--)
				digits[i] = '0';
			if (i >= 0) {
				digits[i]++;
			} else {
				digits[0] = '1';
				decimal_exponent++;
			}
		}
	} else {
		for (i = length; i < 8; i++)
			digits[i] = '0';
	}

	*p++ = digits[0];
	*p++ = '.';
	for (i = 1; i < 8; i++)
		*p++ = digits[i];
	*p++ = 'e';
	*p++ = decimal_exponent < 0 ? '-' : '+';
	if (decimal_exponent < 0)
		decimal_exponent = -decimal_exponent;
	*p++ = (char)('0' + decimal_exponent / 10);
	*p++ = (char)('0' + decimal_exponent % 10);
	*p = '\0';
	return (int)(p - out);
}

#endif /* KNN_BITS_H */
