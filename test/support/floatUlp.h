/* Float ordering and ulp distance for the math harnesses (mathHarness.c, vectorMathHarness.c). */
#ifndef FLOAT_ULP_H
#define FLOAT_ULP_H

#include <math.h>
#include <string.h>

static inline unsigned int bits_of(float x)
{
	unsigned int u;
	memcpy(&u, &x, sizeof u);
	return u;
}

static inline float float_of(unsigned int u)
{
	float x;
	memcpy(&x, &u, sizeof x);
	return x;
}

/* Floats in order as integers: adjacent floats are adjacent integers, and +0 and -0 are both 0. */
static inline long long order_of(float x)
{
	unsigned int u = bits_of(x);
	return (u & 0x80000000u) ? -(long long)(u & 0x7fffffffu) : (long long)u;
}

static inline float float_at(long long o)
{
	return o < 0 ? float_of(0x80000000u | (unsigned int)-o) : float_of((unsigned int)o);
}

static inline double ulp_error(float got, double exact)
{
	float rounded = (float)exact;
	double ulp;
	int e;

	if (isnan(exact) || isnan(got))
		return isnan(exact) && isnan(got) ? 0.0 : INFINITY;
	if (isinf(rounded) || isinf(got)) {
		long long d = order_of(got) - order_of(rounded);
		return got == rounded ? 0.0 : (double)(d < 0 ? -d : d);
	}
	frexp(exact, &e);
	ulp = exact == 0.0 ? 0x1p-149 : ldexp(1.0, e - 24 < -149 ? -149 : e - 24);
	return fabs((double)got - exact) / ulp;
}

#endif /* FLOAT_ULP_H */
