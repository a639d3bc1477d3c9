/*
 * Measures the generated math functions (extension/core/codegen/mathLibrary.ts) against glibc. The test writes
 * the generated source as knn_math.c and builds this file with it on the include path and -lm.
 *
 *   mathHarness sweep NAME...       one tab-separated line per function: name, points, worst error in ulps, the
 *                                   argument(s) where it happens, how many results differ from the correctly
 *                                   rounded reference, worst distance in ulps from glibc's float function (-1
 *                                   where glibc has none) and the domain
 *   mathHarness exhaustive NAME...  the same over every float in the domain (pow keeps its grid); slow
 *   mathHarness special             one line per special argument: name, x, y, our result and the correctly
 *                                   rounded reference as hex bits, the error in ulps, and 1 if the exact result is a
 *                                   float, infinite or NaN
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

#include "knn_math.c"

#define TARGET_POINTS (1LL << 24)

#include "floatUlp.h"

/* Distance in representable floats; NaNs are equal to each other and far from everything else. */
static long long float_distance(float a, float b)
{
	long long d;

	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b) ? 0 : 1LL << 40;
	d = order_of(a) - order_of(b);
	return d < 0 ? -d : d;
}

static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double ref_rsqrt(double x) { return 1.0 / sqrt(x); }
/* Written so that exp cannot overflow: softplus(x) = x + log1p(exp(-x)) for x > 0. */
static double ref_softplus(double x) { return x > 0.0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

struct unary {
	const char *name;
	float (*ours)(float);
	double (*exact)(double);
	float (*glibc_float)(float);
	float lo, hi;
	const char *domain;
};

static const struct unary UNARY[] = {
	{ "exp", knn_expf, exp, expf, -104.0f, 89.0f, "[-104, 89]" },
	{ "expm1", knn_expm1f, expm1, expm1f, -104.0f, 89.0f, "[-104, 89]" },
	{ "log", knn_logf, log, logf, 0x1p-149f, FLT_MAX, "(0, FLT_MAX]" },
	{ "log1p", knn_log1pf, log1p, log1pf, -0x1.fffffep-1f, FLT_MAX, "(-1, FLT_MAX]" },
	{ "tanh", knn_tanhf, tanh, tanhf, -10.0f, 10.0f, "[-10, 10]" },
	{ "sigmoid", knn_sigmoidf, ref_sigmoid, NULL, -110.0f, 40.0f, "[-110, 40]" },
	{ "sqrt", knn_sqrtf, sqrt, sqrtf, 0.0f, FLT_MAX, "[0, FLT_MAX]" },
	{ "rsqrt", knn_rsqrtf, ref_rsqrt, NULL, 0x1p-149f, FLT_MAX, "(0, FLT_MAX]" },
	{ "softplus", knn_softplusf, ref_softplus, NULL, -110.0f, 40.0f, "[-110, 40]" },
	{ "erf", knn_erff, erf, erff, -4.0f, 4.0f, "[-4, 4]" },
	{ "sin", knn_sinf, sin, sinf, -FLT_MAX, FLT_MAX, "[-FLT_MAX, FLT_MAX]" },
	{ "cos", knn_cosf, cos, cosf, -FLT_MAX, FLT_MAX, "[-FLT_MAX, FLT_MAX]" },
	{ "tan", knn_tanf, tan, tanf, -FLT_MAX, FLT_MAX, "[-FLT_MAX, FLT_MAX]" },
	{ "atan", knn_atanf, atan, atanf, -FLT_MAX, FLT_MAX, "[-FLT_MAX, FLT_MAX]" },
	{ "asin", knn_asinf, asin, asinf, -1.0f, 1.0f, "[-1, 1]" },
	{ "acos", knn_acosf, acos, acosf, -1.0f, 1.0f, "[-1, 1]" },
	{ "sinh", knn_sinhf, sinh, sinhf, -90.0f, 90.0f, "[-90, 90]" },
	{ "cosh", knn_coshf, cosh, coshf, -90.0f, 90.0f, "[-90, 90]" },
	{ "asinh", knn_asinhf, asinh, asinhf, -FLT_MAX, FLT_MAX, "[-FLT_MAX, FLT_MAX]" },
	{ "acosh", knn_acoshf, acosh, acoshf, 1.0f, FLT_MAX, "[1, FLT_MAX]" },
	{ "atanh", knn_atanhf, atanh, atanhf, -1.0f, 1.0f, "[-1, 1]" },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct tally {
	long long points, misrounded, glibc_distance;
	double worst;
	float worst_x, worst_y;
};

static void record(struct tally *t, float x, float y, float got, double exact, float glibc)
{
	double err = ulp_error(got, exact);
	t->points++;
	if (float_distance(got, (float)exact) != 0)
		t->misrounded++;
	if (t->glibc_distance >= 0) {
		long long d = float_distance(got, glibc);
		if (d > t->glibc_distance)
			t->glibc_distance = d;
	}
	if (err > t->worst || t->points == 1) {
		t->worst = err;
		t->worst_x = x;
		t->worst_y = y;
	}
}

static void report(const char *name, const struct tally *t, int binary, const char *domain)
{
	printf("%s\t%lld\t%.9f\t%a (%.9g)", name, t->points, t->worst, (double)t->worst_x, (double)t->worst_x);
	if (binary)
		printf(", %a (%.9g)", (double)t->worst_y, (double)t->worst_y);
	printf("\t%lld\t%lld\t%s\n", t->misrounded, t->glibc_distance, domain);
	fflush(stdout);
}

static void sweep_unary(const struct unary *f, int exhaustive)
{
	struct tally t = { 0, 0, f->glibc_float ? 0 : -1, 0.0, 0.0f, 0.0f };
	long long lo = order_of(f->lo), hi = order_of(f->hi);
	long long stride = exhaustive ? 1 : (hi - lo + 1) / TARGET_POINTS;
	long long o;

	if (stride < 1)
		stride = 1;
	for (o = lo; o <= hi; o += stride) {
		float x = float_at(o);
		record(&t, x, 0.0f, f->ours(x), f->exact((double)x), f->glibc_float ? f->glibc_float(x) : 0.0f);
	}
	report(f->name, &t, 0, f->domain);
}

/* 4096 x > 0 evenly spaced in order by 4096 y evenly spaced in [-8, 8], then 1024 x < 0 by integer y in [-16, 16]. */
static void sweep_pow(void)
{
	struct tally t = { 0, 0, 0, 0.0, 0.0f, 0.0f };
	long long lo = order_of(0x1p-149f), span = order_of(FLT_MAX) - lo;
	int i, j;

	for (i = 0; i < 4096; i++) {
		float x = float_at(lo + span * i / 4095);
		for (j = 0; j < 4096; j++) {
			float y = (float)(-8.0 + 16.0 * j / 4095);
			record(&t, x, y, knn_powf(x, y), pow((double)x, (double)y), powf(x, y));
		}
	}
	for (i = 0; i < 1024; i++) {
		float x = -float_at(lo + span * i / 1023);
		for (j = -16; j <= 16; j++)
			record(&t, x, (float)j, knn_powf(x, (float)j), pow((double)x, (double)j), powf(x, (float)j));
	}
	report("pow", &t, 1, "(0, FLT_MAX] x [-8, 8], and x < 0 with integer y in [-16, 16]");
}

static const unsigned int SPECIAL_BITS[] = {
	0x00000000u, 0x00000001u, 0x00000002u, 0x007fffffu, 0x00800000u, 0x00800001u, 0x33800000u, 0x34000000u,
	0x39800000u, 0x3e800000u, 0x3f000000u, 0x3f7fffffu, 0x3f800000u, 0x3f800001u, 0x40000000u, 0x40490fdbu,
	0x3fc90fdbu, 0x40800000u, 0x41100000u, 0x4111999au, 0x41200000u, 0x41880000u, 0x42200000u, 0x42b17217u,
	0x42b17218u, 0x42c80000u, 0x42dc0000u, 0x42aeac4fu, 0x42aeac50u, 0x42cff1b4u, 0x42cff1b5u, 0x42d00000u,
	0x4b7fffffu, 0x4b800000u, 0x4bffffffu, 0x4c000000u, 0x4c000001u, 0x47c35000u, 0x501502f9u, 0x5a07e5b9u,
	0x7f7fffffu, 0x7f800000u, 0x7fc00000u,
};

/* The last two columns: the error in ulps and whether the exact result is a float (or infinite, or NaN). */
static void special_line(const char *name, float x, float y, float got, double exact)
{
	printf("%s\t%08x\t%08x\t%08x\t%08x\t%.9f\t%d\n", name, bits_of(x), bits_of(y), bits_of(got), bits_of((float)exact),
	       ulp_error(got, exact), isnan(exact) || (double)(float)exact == exact);
}

static void specials(void)
{
	static const float POW_VALUES[] = { 0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 0.25f, 16777216.0f, 16777215.0f, 0x1p-149f, FLT_MAX, INFINITY, NAN };
	size_t i, j, k;
	int sx, sy;

	for (i = 0; i < COUNT(UNARY); i++) {
		for (j = 0; j < COUNT(SPECIAL_BITS); j++) {
			for (sx = 0; sx < 2; sx++) {
				float x = float_of(SPECIAL_BITS[j] | (sx ? 0x80000000u : 0u));
				special_line(UNARY[i].name, x, 0.0f, UNARY[i].ours(x), UNARY[i].exact((double)x));
			}
		}
	}
	for (j = 0; j < COUNT(POW_VALUES); j++) {
		for (k = 0; k < COUNT(POW_VALUES); k++) {
			for (sx = 0; sx < 2; sx++) {
				for (sy = 0; sy < 2; sy++) {
					float x = sx ? -POW_VALUES[j] : POW_VALUES[j], y = sy ? -POW_VALUES[k] : POW_VALUES[k];
					special_line("pow", x, y, knn_powf(x, y), pow((double)x, (double)y));
				}
			}
		}
	}
}

int main(int argc, char **argv)
{
	int exhaustive, a;
	size_t i;

	if (argc >= 2 && strcmp(argv[1], "special") == 0) {
		specials();
		return 0;
	}
	if (argc < 3 || (strcmp(argv[1], "sweep") != 0 && strcmp(argv[1], "exhaustive") != 0)) {
		fprintf(stderr, "usage: %s sweep|exhaustive NAME... | special\n", argv[0]);
		return 2;
	}
	exhaustive = strcmp(argv[1], "exhaustive") == 0;
	for (a = 2; a < argc; a++) {
		int found = strcmp(argv[a], "pow") == 0;
		if (found)
			sweep_pow();
		for (i = 0; i < COUNT(UNARY) && !found; i++) {
			if (strcmp(argv[a], UNARY[i].name) == 0) {
				sweep_unary(&UNARY[i], exhaustive);
				found = 1;
			}
		}
		if (!found) {
			fprintf(stderr, "unknown function %s\n", argv[a]);
			return 2;
		}
	}
	return 0;
}
