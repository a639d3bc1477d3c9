/*
 * Measures the vector math functions (extension/core/codegen/vectorMath.ts) against glibc. The test compiles the
 * generated C, with VECTOR_PRELUDE and a wrapper per function, into an object with the model's flags, and links
 * this file (built with -lm) to it:
 *
 *   void knn_check_NAME(const float *in, float *out, int n);   n a multiple of 8
 *
 *   vectorMathHarness sweep       one tab-separated line per measurement: name, points, worst error in ulps and
 *                                 its argument, worst absolute error and its argument, and the ends of the domain
 *                                 as hex bits; at least 2^24 points evenly spaced in float order
 *   vectorMathHarness exhaustive [NAME...]  the same over every float of each domain (or of the named
 *                                 measurements: exp, sigmoid, sigmoid_abs, tanh); minutes each
 *   vectorMathHarness special     one line per special argument: name, x, result and the correctly rounded
 *                                 reference as hex bits, and the error in ulps and absolute
 *   vectorMathHarness lanes       one line per function: how many results change with the lane an argument sits
 *                                 in or with what the other lanes hold, then the first such argument in hex
 *
 * The error of a result is |result - exact| / ulp(exact), with glibc's double-precision function standing in for
 * the exact value and ulp(v) the spacing of floats at |v| (2^-149 for denormals).
 */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_POINTS (1LL << 24)
#define BLOCK 4096

void knn_check_exp(const float *in, float *out, int n);
void knn_check_sigmoid(const float *in, float *out, int n);
void knn_check_tanh(const float *in, float *out, int n);

static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

struct function {
	const char *name;
	void (*ours)(const float *, float *, int);
	double (*exact)(double);
};

static const struct function FUNCTIONS[] = {
	{ "exp", knn_check_exp, exp },
	{ "sigmoid", knn_check_sigmoid, ref_sigmoid },
	{ "tanh", knn_check_tanh, tanh },
};

/* What is measured: sigmoid twice, in ulps where its result is normal and absolutely over every float. */
struct measurement {
	const char *name;
	int function;
	float lo, hi;
};

static const struct measurement MEASUREMENTS[] = {
	{ "exp", 0, -104.0f, 89.0f },
	{ "sigmoid", 1, -87.3f, 40.0f },
	{ "sigmoid_abs", 1, -FLT_MAX, FLT_MAX },
	{ "tanh", 2, -10.0f, 10.0f },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#include "floatUlp.h"

static double abs_error(float got, double exact)
{
	if (isnan(exact) || isnan(got))
		return isnan(exact) && isnan(got) ? 0.0 : INFINITY;
	if (isinf(got) || isinf((float)exact))
		return got == (float)exact ? 0.0 : INFINITY;
	return fabs((double)got - exact);
}

struct tally {
	long long points;
	double worst_ulp, worst_abs;
	float ulp_x, abs_x;
};

static void record(struct tally *t, float x, float got, double exact)
{
	double ulp = ulp_error(got, exact), abs = abs_error(got, exact);

	if (t->points == 0 || ulp > t->worst_ulp) {
		t->worst_ulp = ulp;
		t->ulp_x = x;
	}
	if (t->points == 0 || abs > t->worst_abs) {
		t->worst_abs = abs;
		t->abs_x = x;
	}
	t->points++;
}

static void measure(const struct measurement *m, int exhaustive)
{
	const struct function *f = &FUNCTIONS[m->function];
	static float in[BLOCK], out[BLOCK];
	struct tally t = { 0, 0.0, 0.0, 0.0f, 0.0f };
	long long lo = order_of(m->lo), hi = order_of(m->hi);
	long long stride = exhaustive ? 1 : (hi - lo + 1) / TARGET_POINTS;
	long long o = lo;
	int filled, i;

	if (stride < 1)
		stride = 1;
	while (o <= hi) {
		for (filled = 0; filled < BLOCK && o <= hi; filled++, o += stride)
			in[filled] = float_at(o);
		for (i = filled; i % 8 != 0; i++)
			in[i] = in[0];
		f->ours(in, out, i);
		for (i = 0; i < filled; i++)
			record(&t, in[i], out[i], f->exact((double)in[i]));
	}
	printf("%s\t%lld\t%.9f\t%.9g\t%.9g\t%.9g\t%08x\t%08x\n", m->name, t.points, t.worst_ulp, (double)t.ulp_x, t.worst_abs, (double)t.abs_x, bits_of(m->lo), bits_of(m->hi));
	fflush(stdout);
}

static const unsigned int SPECIAL_BITS[] = {
	0x00000000u, 0x00000001u, 0x00000002u, 0x007fffffu, 0x00800000u, 0x00800001u, 0x33800000u, 0x34000000u,
	0x39800000u, 0x3a000000u, 0x3e800000u, 0x3f000000u, 0x3f0fffffu, 0x3f100000u, 0x3f100001u, 0x3f317218u,
	0x3f7fffffu, 0x3f800000u, 0x3f800001u, 0x40000000u, 0x40800000u, 0x41100000u, 0x41200000u, 0x41880000u,
	0x42200000u, 0x42aeac4fu, 0x42aeac50u, 0x42b17217u, 0x42b17218u, 0x42b20000u, 0x42c80000u, 0x42cff1b4u,
	0x42cff1b5u, 0x42d00000u, 0x42d00001u, 0x42dc0000u, 0x4b400000u, 0x4b800000u, 0x501502f9u, 0x7f7fffffu,
	0x7f800000u, 0x7fc00000u, 0x7f800001u, 0x7fffffffu,
};

static void special(void)
{
	float in[8], out[8];
	size_t f, s;
	int sign, j;

	for (f = 0; f < COUNT(FUNCTIONS); f++) {
		for (s = 0; s < COUNT(SPECIAL_BITS); s++) {
			for (sign = 0; sign < 2; sign++) {
				float x = float_of(SPECIAL_BITS[s] | (sign ? 0x80000000u : 0u));
				double exact = FUNCTIONS[f].exact((double)x);
				for (j = 0; j < 8; j++)
					in[j] = x;
				FUNCTIONS[f].ours(in, out, 8);
				printf("%s\t%08x\t%08x\t%08x\t%.9f\t%.9g\n", FUNCTIONS[f].name, bits_of(x), bits_of(out[0]), bits_of((float)exact), ulp_error(out[0], exact), abs_error(out[0], exact));
			}
		}
	}
}

/* Every special argument and 2^18 arguments of random bits, each in every lane among three sets of neighbours. */
static void lanes(void)
{
	static const unsigned int NEIGHBOURS[3] = { 0x7fc00000u, 0xff800000u, 0x42c80000u };
	unsigned long long state = 0x9e3779b97f4a7c15ULL;
	float in[8], out[8], alone[8];
	long long count = (long long)COUNT(SPECIAL_BITS) * 2 + (1LL << 18);
	size_t f;
	long long a;
	int lane, k, j;

	for (f = 0; f < COUNT(FUNCTIONS); f++) {
		long long changed = 0;
		unsigned int first = 0;
		for (a = 0; a < count; a++) {
			unsigned int bits;
			if (a < (long long)COUNT(SPECIAL_BITS) * 2) {
				bits = SPECIAL_BITS[a / 2] | (a % 2 ? 0x80000000u : 0u);
			} else {
				state = state * 6364136223846793005ULL + 1442695040888963407ULL;
				bits = (unsigned int)(state >> 32);
			}
			for (j = 0; j < 8; j++)
				in[j] = float_of(bits);
			FUNCTIONS[f].ours(in, alone, 8);
			for (lane = 0; lane < 8; lane++) {
				for (k = 0; k < 3; k++) {
					for (j = 0; j < 8; j++)
						in[j] = float_of(j == lane ? bits : NEIGHBOURS[k] ^ (unsigned int)j);
					FUNCTIONS[f].ours(in, out, 8);
					if (bits_of(out[lane]) != bits_of(alone[0]) || bits_of(alone[lane]) != bits_of(alone[0])) {
						if (changed == 0)
							first = bits;
						changed++;
					}
				}
			}
		}
		printf("%s\t%lld\t%08x\n", FUNCTIONS[f].name, changed, first);
	}
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc == 2 && strcmp(argv[1], "sweep") == 0) {
		for (i = 0; i < COUNT(MEASUREMENTS); i++)
			measure(&MEASUREMENTS[i], 0);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "exhaustive") == 0) {
		for (i = 0; i < COUNT(MEASUREMENTS); i++) {
			int j, chosen = argc == 2;
			for (j = 2; j < argc; j++)
				chosen |= strcmp(argv[j], MEASUREMENTS[i].name) == 0;
			if (chosen)
				measure(&MEASUREMENTS[i], 1);
		}
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "special") == 0) {
		special();
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "lanes") == 0) {
		lanes();
		return 0;
	}
	fprintf(stderr, "usage: %s sweep | exhaustive [NAME...] | special | lanes\n", argv[0]);
	return 2;
}
