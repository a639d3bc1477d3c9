// The float math functions that generated model code calls. Generated C is freestanding (no libc, no libm, no
// includes) because it runs inside the kernel, so every model file carries its own static copy of what it uses.
//
// Each function widens its float argument to double, computes there (SSE2 has double arithmetic, and a double
// result carries 29 bits more than the float needs) and rounds to float once. That keeps every function within
// about half an ulp of the exact result without the delicate float-only tricks of a libm, and the bounds below
// are measured, not derived: test/unit/mathLibrary.test.ts sweeps each function against glibc and fails if a
// bound stated here is not met.
//
// Rules the C obeys so it builds in a kernel module translation unit: no long double (x87 may be disabled), no
// __builtin_* and nothing GCC could lower to a libm or libgcc call, declarations before statements, unsigned
// int and unsigned long long in place of stdint types (nothing is included), helpers named knn_* and no
// mutable static state. Out-of-range float conversions rely on IEEE 754 semantics (overflow to infinity,
// gradual underflow), which SSE provides.

export type MathFunction =
	| "exp" | "expm1" | "log" | "log1p" | "tanh" | "sigmoid" | "sqrt" | "rsqrt" | "softplus" | "pow" | "erf" | "sin" | "cos"
	| "tan" | "atan" | "asin" | "acos" | "sinh" | "cosh" | "asinh" | "acosh" | "atanh";

export const MATH_FUNCTIONS: readonly MathFunction[] = [
	"exp", "expm1", "log", "log1p", "tanh", "sigmoid", "sqrt", "rsqrt", "softplus", "pow", "erf", "sin", "cos",
	"tan", "atan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh",
];

/** C source code of one routine and the routines it calls. */
interface Routine {
	readonly deps: readonly string[];
	readonly code: string;
}

/** A C double literal that reads back as exactly `value` (JavaScript prints the shortest round-trip form). */
function lit(value: number): string {
	const text = value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential() : String(value);
	return /[.e]/.test(text) ? text : `${text}.0`;
}

/** Horner's scheme as one statement per coefficient; `coeffs` starts with the constant term. */
function horner(acc: string, variable: string, coeffs: readonly number[], indent = "\t"): string {
	const lines = [`${indent}${acc} = ${lit(coeffs[coeffs.length - 1])};`];
	for (let i = coeffs.length - 2; i >= 0; i--) lines.push(`${indent}${acc} = ${acc} * ${variable} + ${lit(coeffs[i])};`);
	return lines.join("\n");
}

/** 1/n!, exact in its rounding because n! itself is exact in double for n <= 22. */
function invFactorial(n: number): number {
	let f = 1;
	for (let i = 2; i <= n; i++) f *= i;
	return 1 / f;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

// Taylor series, with enough terms that truncation stays below 2^-55 relative on each reduced interval.
/** exp(r) for |r| <= 0.35: 1/n!, n = 0..13; the first term left out is below 4e-18. */
const EXP_COEFFS = range(0, 13).map(invFactorial);
/** (expm1(x) - x) / x^2 for |x| <= 0.35: 1/(n+2)!, n = 0..11, so expm1 gets terms up to x^13. */
const EXPM1_COEFFS = range(2, 13).map(invFactorial);
/** (2 atanh(f) - 2f) / f^3 in s = f^2 for |f| <= 0.1716 (s <= 0.0295): 2/(2n+1), n = 1..10. */
const ATANH_COEFFS = range(1, 10).map((n) => 2 / (2 * n + 1));
/** (sin(r) - r) / r^3 in r^2 for |r| <= pi/4: (-1)^n/(2n+1)!, n = 1..7. */
const SIN_COEFFS = range(1, 7).map((n) => (n % 2 ? -1 : 1) * invFactorial(2 * n + 1));
/** (cos(r) - 1) / r^2 in r^2 for |r| <= pi/4: (-1)^n/(2n)!, n = 1..8. */
const COS_COEFFS = range(1, 8).map((n) => (n % 2 ? -1 : 1) * invFactorial(2 * n));
/** (atan(t) - t) / t^3 in t^2 for |t| <= tan(pi/8) (t^2 <= 0.1716): (-1)^n/(2n+1), n = 1..21; the first term left out is below 2e-18 relative. */
const ATAN_COEFFS = range(1, 21).map((n) => (n % 2 ? -1 : 1) / (2 * n + 1));

// erf has no short series that converges well past 1, so it uses Chebyshev fits (mpmath.chebyfit at 60 digits,
// coefficients rounded to double) whose worst error, with the rounded coefficients, is below 1.1e-16 absolute.
/** erf(sqrt(t))/sqrt(t) for t in [0, 1]. */
const ERF_SMALL = [1.1283791670955126, -0.37612638903183543, 0.11283791670945006, -0.02686617064323777, 0.0052239776071164225, -0.0008548325975389692, 0.00012055294904839707, -1.492473690741966e-05, 1.6447424703317362e-06, -1.6208483801871705e-07, 1.3720064546777686e-08, -7.795898827002142e-10];
/** erf(1.5 + t) for t in [-0.5, 0.5]. */
const ERF_1_2 = [0.9661051464753108, 0.1189302892236305, -0.17839543383544365, 0.13875200409401656, -0.0445988584589381, -0.014866286140737992, 0.019326172003158046, -0.00474305350937434, -0.0023626777293770385, 0.0017098236835697352, -9.291283851713251e-05, -0.00025447992704244, 7.76790368642019e-05, 1.809324988345811e-05, -1.404495496831779e-05, 2.6994042055468544e-07, 1.4234377446523506e-06];
/** erf(2.5 + t) for t in [-0.5, 0.5]. */
const ERF_2_3 = [0.999593047982555, 0.0021782842303526995, -0.00544571057584453, 0.00835008954969065, -0.008622375081612487, 0.006117348213132544, -0.002798490056513739, 0.0005424100754026442, 0.0002606685866495633, -0.0002502856062323679, 7.881497788046751e-05, 5.138863448428442e-06, -1.4145410161213398e-05, 4.682303918850025e-06, 3.468135218023361e-07, -6.207609062868168e-07];
/** erf(3.5 + t) for t in [-0.5, 0.5]. */
const ERF_3_4 = [0.9999992569016276, 5.3994267772714075e-06, -1.8897993721341988e-05, 4.229550977332881e-05, -6.77178107591103e-05, 8.211628147552697e-05, -7.774424958044693e-05, 5.819276595399663e-05, -3.425911478234364e-05, 1.533060528268128e-05, -4.641608607876342e-06, 4.4567924044165696e-07, 4.4684896316075923e-07, -3.0495000503454603e-07, 8.422393159655474e-08];

// ln 2 split so that k * LN2_HI is exact for |k| < 2^21 (LN2_HI has 32 significant bits), as in fdlibm.
const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;
// pi/2 split in three for Cody-Waite reduction: PIO2_1 and PIO2_2 have 28 significant bits, so k * PIO2_1 and
// k * PIO2_2 are exact for k < 2^25, which covers |x| < 2^25.
const PIO2_1 = 1.570796325802803;
const PIO2_2 = 9.920935739593517e-10;
const PIO2_3 = 5.721188726109832e-18;
// pi/2 and pi/4 split in two: the high parts are the doubles nearest, the low parts what they miss.
const PIO2_HI = 1.5707963267948966;
const PIO2_LO = 6.123233995736766e-17;
const PIO4_HI = 0.7853981633974483;
const PIO4_LO = 3.061616997868383e-17;
/** The first 224 bits of 2/pi, most significant first, for reducing |x| >= 2^25. */
const TWO_OVER_PI_WORDS = ["0xa2f9836eu", "0x4e441529u", "0xfc2757d1u", "0xf534ddc0u", "0xdb629599u", "0x3c439041u", "0xfe5163abu"];

/** The largest finite float, for infinity tests that do not depend on a header. */
const FLT_MAX = "0x1.fffffep127f";

// Declaration order is a valid definition order: every routine comes after the routines it calls.
const ROUTINES: Record<string, Routine> = {
	knn_bits: {
		deps: [],
		code: `union knn_f32 {
	float f;
	unsigned int u;
};

union knn_f64 {
	double d;
	unsigned long long u;
};`,
	},
	knn_nanf: {
		deps: ["knn_bits"],
		code: `static float knn_nanf(void)
{
	union knn_f32 v;

	v.u = 0x7fc00000u;
	return v.f;
}`,
	},
	knn_inff: {
		deps: ["knn_bits"],
		code: `static float knn_inff(void)
{
	union knn_f32 v;

	v.u = 0x7f800000u;
	return v.f;
}`,
	},
	knn_exp_d: {
		deps: ["knn_bits"],
		code: `/* exp(x) to about 2^-52 relative for |x| <= 708: x = k ln2 + r with |r| <= ln2/2, then 2^k * exp(r). */
static double knn_exp_d(double x)
{
	union knn_f64 scale;
	double kd = x * 1.4426950408889634;
	int k = (int)(kd < 0.0 ? kd - 0.5 : kd + 0.5);
	double r, p;

	kd = (double)k;
	r = (x - kd * ${lit(LN2_HI)}) - kd * ${lit(LN2_LO)};
${horner("p", "r", EXP_COEFFS)}
	scale.u = (unsigned long long)(k + 1023) << 52;
	return p * scale.d;
}`,
	},
	knn_expm1_d: {
		deps: ["knn_exp_d"],
		code: `/* exp(x) - 1 for |x| <= 708; near zero a series, since exp(x) - 1 would cancel. */
static double knn_expm1_d(double x)
{
	double p;

	if (x > 0.35 || x < -0.35)
		return knn_exp_d(x) - 1.0;
${horner("p", "x", EXPM1_COEFFS)}
	return x + x * x * p;
}`,
	},
	knn_log_series_d: {
		deps: [],
		code: `/* 2 atanh(f) = log((1 + f) / (1 - f)) for |f| <= 0.1716. */
static double knn_log_series_d(double f)
{
	double s = f * f;
	double p;

${horner("p", "s", ATANH_COEFFS)}
	return f * (2.0 + s * p);
}`,
	},
	knn_log_d: {
		deps: ["knn_bits", "knn_log_series_d"],
		code: `/* log(x) for positive, finite, normal x (every float is a normal double): x = 2^e m with m in [sqrt(1/2), sqrt(2)]. */
static double knn_log_d(double x)
{
	union knn_f64 v;
	int e;
	double m;

	v.d = x;
	e = (int)(v.u >> 52) - 1023;
	v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
	m = v.d;
	if (m > 1.4142135623730951) {
		m *= 0.5;
		e += 1;
	}
	return (double)e * 0.6931471805599453 + knn_log_series_d((m - 1.0) / (m + 1.0));
}`,
	},
	knn_log1p_d: {
		deps: ["knn_log_d", "knn_log_series_d"],
		code: `/* log(1 + x) for finite x > -1. Near zero 1 + x would lose x's low bits, so log1p(x) = 2 atanh(x / (2 + x)). */
static double knn_log1p_d(double x)
{
	if (x > -0.2928932188134524 && x < 0.41421356237309503)
		return knn_log_series_d(x / (2.0 + x));
	return knn_log_d(1.0 + x);
}`,
	},
	knn_sqrt_d: {
		deps: ["knn_bits"],
		code: `/* sqrt(x) to about 2^-52 relative for positive, finite, normal x: halve the exponent bits, then Newton. */
static double knn_sqrt_d(double x)
{
	union knn_f64 v;
	double y;

	v.d = x;
	v.u = (v.u >> 1) + 0x1ff8000000000000ULL;
	y = v.d;
	/* The first guess is within 6.1%; each step squares the error. */
	y = 0.5 * (y + x / y);
	y = 0.5 * (y + x / y);
	y = 0.5 * (y + x / y);
	y = 0.5 * (y + x / y);
	return y;
}`,
	},
	knn_sin_poly_d: {
		deps: [],
		code: `/* sin(r) for |r| <= pi/4. */
static double knn_sin_poly_d(double r)
{
	double s = r * r;
	double p;

${horner("p", "s", SIN_COEFFS)}
	return r + r * s * p;
}`,
	},
	knn_cos_poly_d: {
		deps: [],
		code: `/* cos(r) for |r| <= pi/4. */
static double knn_cos_poly_d(double r)
{
	double s = r * r;
	double p;

${horner("p", "s", COS_COEFFS)}
	return 1.0 + s * p;
}`,
	},
	knn_trig_reduce_d: {
		deps: ["knn_bits"],
		code: `/*
 * Reduces finite |x| to r in about [-pi/4, pi/4] with |x| = r + n pi/2, storing n mod 4 in *quadrant. Below 2^25
 * a three-part pi/2 keeps r accurate to 2^-53 relative. Above, |x| = m 2^e is multiplied exactly by the bits of
 * 2/pi that matter (those that would make m 2^e 2/pi a multiple of 4 are skipped) in fixed point.
 */
static double knn_trig_reduce_d(float x, int *quadrant)
{
	static const unsigned int two_over_pi[7] = {
		${TWO_OVER_PI_WORDS.join(", ")}
	};
	union knn_f32 v;
	unsigned long long m, p, hi, lo, q;
	unsigned int g[3];
	double kd;
	int k, s, w, b, i;

	v.f = x;
	v.u &= 0x7fffffffu;
	if (v.u < 0x4c000000u) {
		k = (int)((double)v.f * 0.6366197723675814 + 0.5);
		kd = (double)k;
		*quadrant = k & 3;
		return (((double)v.f - kd * ${lit(PIO2_1)}) - kd * ${lit(PIO2_2)}) - kd * ${lit(PIO2_3)};
	}
	/* |x| = m 2^e with e >= 2; the fraction of m 2^(e-2) 2/pi, in 96 bits, times 4 is |x| 2/pi mod 4. */
	m = (v.u & 0x7fffffu) | 0x800000u;
	s = (int)(v.u >> 23) - 152;
	w = s >> 5;
	b = s & 31;
	for (i = 0; i < 3; i++)
		g[i] = (unsigned int)((((unsigned long long)two_over_pi[w + i] << 32) | two_over_pi[w + i + 1]) >> (32 - b));
	p = m * g[2];
	lo = p & 0xffffffffULL;
	p = m * g[1] + (p >> 32);
	hi = p & 0xffffffffULL;
	p = m * g[0] + (p >> 32);
	hi |= p << 32;
	/* hi:lo is the fraction in 2^-96 units; its top two bits are the quadrant, rounded to nearest here. */
	q = (hi + (1ULL << 61)) >> 62;
	*quadrant = (int)q;
	return ((double)(long long)(hi - (q << 62)) + (double)(long long)lo * 0x1p-32) * 0x1.921fb54442d18p-62;
}`,
	},
	knn_atan_d: {
		deps: [],
		code: `/*
 * atan(x) for any double x, infinities included: past 1, atan(a) = pi/2 - atan(1/a); past tan(pi/8),
 * atan(a) = pi/4 + atan((a - 1) / (a + 1)); what is left, |t| <= tan(pi/8), takes a series.
 */
static double knn_atan_d(double x)
{
	double a = x < 0.0 ? -x : x;
	double t, s, p, base = 0.0, tail = 0.0, r;
	int invert = a > 1.0;

	if (invert)
		a = 1.0 / a;
	t = a;
	if (a > 0.41421356237309503) {
		t = (a - 1.0) / (a + 1.0);
		base = ${lit(PIO4_HI)};
		tail = ${lit(PIO4_LO)};
	}
	s = t * t;
${horner("p", "s", ATAN_COEFFS)}
	r = base + (tail + (t + t * s * p));
	if (invert)
		r = ${lit(PIO2_HI)} - (r - ${lit(PIO2_LO)});
	return x < 0.0 ? -r : r;
}`,
	},
	knn_tan_d: {
		deps: ["knn_trig_reduce_d", "knn_sin_poly_d", "knn_cos_poly_d"],
		code: `/* tan(|x|) for finite float x: sin(r) / cos(r) in even quadrants, -cos(r) / sin(r) in odd ones. */
static double knn_tan_d(float x)
{
	double r;
	int q;

	r = knn_trig_reduce_d(x, &q);
	if (q & 1)
		return -knn_cos_poly_d(r) / knn_sin_poly_d(r);
	return knn_sin_poly_d(r) / knn_cos_poly_d(r);
}`,
	},
	knn_expf: {
		deps: ["knn_exp_d"],
		code: `static float knn_expf(float x)
{
	if (x != x)
		return x;
	/* Past these, the conversion to float overflows to +inf or underflows to +0 on its own. */
	if (x > 100.0f)
		x = 100.0f;
	if (x < -110.0f)
		x = -110.0f;
	return (float)knn_exp_d((double)x);
}`,
	},
	knn_expm1f: {
		deps: ["knn_expm1_d"],
		code: `static float knn_expm1f(float x)
{
	if (x != x || x == 0.0f)
		return x;
	if (x > 100.0f)
		x = 100.0f;
	if (x < -40.0f)
		return -1.0f;
	return (float)knn_expm1_d((double)x);
}`,
	},
	knn_logf: {
		deps: ["knn_log_d", "knn_nanf", "knn_inff"],
		code: `static float knn_logf(float x)
{
	if (x != x || x > ${FLT_MAX})
		return x;
	if (x == 0.0f)
		return -knn_inff();
	if (x < 0.0f)
		return knn_nanf();
	return (float)knn_log_d((double)x);
}`,
	},
	knn_log1pf: {
		deps: ["knn_log1p_d", "knn_nanf", "knn_inff"],
		code: `static float knn_log1pf(float x)
{
	if (x != x || x > ${FLT_MAX})
		return x;
	if (x == -1.0f)
		return -knn_inff();
	if (x < -1.0f)
		return knn_nanf();
	return (float)knn_log1p_d((double)x);
}`,
	},
	knn_tanhf: {
		deps: ["knn_expm1_d"],
		code: `/* tanh(|x|) = t / (t + 2) with t = expm1(2|x|); beyond 10, 1 - tanh(x) is far below half an ulp of 1. */
static float knn_tanhf(float x)
{
	double a, t, r;

	if (x != x || x == 0.0f)
		return x;
	a = x < 0.0f ? -(double)x : (double)x;
	if (a > 10.0) {
		r = 1.0;
	} else {
		t = knn_expm1_d(2.0 * a);
		r = t / (t + 2.0);
	}
	return (float)(x < 0.0f ? -r : r);
}`,
	},
	knn_sigmoidf: {
		deps: ["knn_exp_d"],
		code: `/* 1 / (1 + exp(-x)); beyond 40 the result rounds to 1, below -110 to +0. */
static float knn_sigmoidf(float x)
{
	if (x != x)
		return x;
	if (x > 40.0f)
		return 1.0f;
	if (x < -110.0f)
		return 0.0f;
	return (float)(1.0 / (1.0 + knn_exp_d(-(double)x)));
}`,
	},
	knn_sqrtf: {
		deps: ["knn_sqrt_d", "knn_nanf"],
		code: `/* Correctly rounded: the double estimate's rounding is checked against the exact squares of the midpoints. */
static float knn_sqrtf(float x)
{
	union knn_f32 v;
	double d, h;
	float r;

	if (x != x || x == 0.0f || x > ${FLT_MAX})
		return x;
	if (x < 0.0f)
		return knn_nanf();
	d = (double)x;
	r = (float)knn_sqrt_d(d);
	/* Midpoints between adjacent floats have 25 significant bits, so their squares are exact in double. */
	v.f = r;
	v.u += 1u;
	h = 0.5 * ((double)r + (double)v.f);
	if (h * h < d)
		return v.f;
	v.f = r;
	v.u -= 1u;
	h = 0.5 * ((double)r + (double)v.f);
	if (h * h > d)
		return v.f;
	return r;
}`,
	},
	knn_rsqrtf: {
		deps: ["knn_sqrt_d", "knn_nanf"],
		code: `static float knn_rsqrtf(float x)
{
	union knn_f32 v;

	if (x != x)
		return x;
	if (x == 0.0f) {
		/* 1 / sqrt(+-0) = +-inf */
		v.f = x;
		v.u |= 0x7f800000u;
		return v.f;
	}
	if (x < 0.0f)
		return knn_nanf();
	if (x > ${FLT_MAX})
		return 0.0f;
	return (float)(1.0 / knn_sqrt_d((double)x));
}`,
	},
	knn_softplusf: {
		deps: ["knn_exp_d", "knn_log1p_d"],
		code: `/* log(1 + exp(x)); beyond 40 it is x to far below half an ulp, below -110 it rounds to +0. */
static float knn_softplusf(float x)
{
	if (x != x || x > 40.0f)
		return x;
	if (x < -110.0f)
		return 0.0f;
	return (float)knn_log1p_d(knn_exp_d((double)x));
}`,
	},
	knn_powf: {
		deps: ["knn_bits", "knn_exp_d", "knn_log_d", "knn_nanf", "knn_inff"],
		code: `/* pow with C99 Annex F special cases, as TensorFlow's Pow (std::pow) has them; otherwise exp(y log|x|) in double. */
static float knn_powf(float x, float y)
{
	union knn_f32 v;
	double ax, z;
	float r;
	int negative, integer = 0, odd = 0;

	if (y == 0.0f || x == 1.0f)
		return 1.0f;
	if (x != x || y != y)
		return x + y;
	v.f = y;
	if ((v.u & 0x7fffffffu) >= 0x4b800000u) {
		integer = 1; /* |y| >= 2^24 (or infinite): an even integer */
	} else if (y == (float)(int)y) {
		integer = 1;
		odd = (int)y & 1;
	}
	v.f = x;
	negative = (int)(v.u >> 31);
	ax = negative ? -(double)x : (double)x;
	if (y > ${FLT_MAX} || y < -${FLT_MAX}) {
		if (ax == 1.0)
			return 1.0f;
		return (ax < 1.0) == (y < 0.0f) ? knn_inff() : 0.0f;
	}
	if (ax == 0.0 || ax > 0x1.fffffep127) {
		r = (ax == 0.0) == (y < 0.0f) ? knn_inff() : 0.0f;
		return negative && odd ? -r : r;
	}
	if (negative && !integer)
		return knn_nanf();
	z = (double)y * knn_log_d(ax);
	/* Past +-200 the float result has long since overflowed or underflowed. */
	if (z > 200.0)
		z = 200.0;
	if (z < -200.0)
		z = -200.0;
	r = (float)knn_exp_d(z);
	return negative && odd ? -r : r;
}`,
	},
	knn_erff: {
		deps: [],
		code: `/* Fitted polynomials on [0, 1), [1, 2), [2, 3), [3, 4); from 4 on erf(x) rounds to 1. */
static float knn_erff(float x)
{
	double a, t, p;

	if (x != x || x == 0.0f)
		return x;
	a = x < 0.0f ? -(double)x : (double)x;
	if (a < 1.0) {
		t = a * a;
${horner("p", "t", ERF_SMALL, "\t\t")}
		p *= a;
	} else if (a < 2.0) {
		t = a - 1.5;
${horner("p", "t", ERF_1_2, "\t\t")}
	} else if (a < 3.0) {
		t = a - 2.5;
${horner("p", "t", ERF_2_3, "\t\t")}
	} else if (a < 4.0) {
		t = a - 3.5;
${horner("p", "t", ERF_3_4, "\t\t")}
	} else {
		p = 1.0;
	}
	return (float)(x < 0.0f ? -p : p);
}`,
	},
	knn_sinf: {
		deps: ["knn_trig_reduce_d", "knn_sin_poly_d", "knn_cos_poly_d", "knn_nanf"],
		code: `static float knn_sinf(float x)
{
	double r, s;
	int q;

	if (x != x || x == 0.0f)
		return x;
	if (x > ${FLT_MAX} || x < -${FLT_MAX})
		return knn_nanf();
	r = knn_trig_reduce_d(x, &q);
	s = (q & 1) ? knn_cos_poly_d(r) : knn_sin_poly_d(r);
	if (q & 2)
		s = -s;
	return (float)(x < 0.0f ? -s : s);
}`,
	},
	knn_cosf: {
		deps: ["knn_trig_reduce_d", "knn_sin_poly_d", "knn_cos_poly_d", "knn_nanf"],
		code: `static float knn_cosf(float x)
{
	double r, c;
	int q;

	if (x != x)
		return x;
	if (x > ${FLT_MAX} || x < -${FLT_MAX})
		return knn_nanf();
	r = knn_trig_reduce_d(x, &q);
	c = (q & 1) ? knn_sin_poly_d(r) : knn_cos_poly_d(r);
	/* cos, -sin, -cos, sin for quadrants 0 to 3 */
	if ((q + 1) & 2)
		c = -c;
	return (float)c;
}`,
	},
	knn_tanf: {
		deps: ["knn_tan_d", "knn_nanf"],
		code: `static float knn_tanf(float x)
{
	double t;

	if (x != x || x == 0.0f)
		return x;
	if (x > ${FLT_MAX} || x < -${FLT_MAX})
		return knn_nanf();
	t = knn_tan_d(x);
	return (float)(x < 0.0f ? -t : t);
}`,
	},
	knn_atanf: {
		deps: ["knn_atan_d"],
		code: `static float knn_atanf(float x)
{
	if (x != x || x == 0.0f)
		return x;
	return (float)knn_atan_d((double)x);
}`,
	},
	knn_asinf: {
		deps: ["knn_atan_d", "knn_sqrt_d", "knn_nanf"],
		code: `/* asin(x) = atan(x / sqrt((1 - x)(1 + x))); both factors and their product are exact in double for a float x. */
static float knn_asinf(float x)
{
	double d = (double)x;

	if (x != x || x == 0.0f)
		return x;
	if (x > 1.0f || x < -1.0f)
		return knn_nanf();
	if (x == 1.0f || x == -1.0f)
		return (float)(d * ${lit(PIO2_HI)});
	return (float)knn_atan_d(d / knn_sqrt_d((1.0 - d) * (1.0 + d)));
}`,
	},
	knn_acosf: {
		deps: ["knn_atan_d", "knn_sqrt_d", "knn_nanf"],
		code: `/* acos(x) = 2 atan(sqrt((1 - x) / (1 + x))), with 1 - x and 1 + x exact; at -1 the quotient is +inf and atan gives pi/2. */
static float knn_acosf(float x)
{
	double d = (double)x;

	if (x != x)
		return x;
	if (x > 1.0f || x < -1.0f)
		return knn_nanf();
	if (x == 1.0f)
		return 0.0f;
	if (x == -1.0f)
		return (float)(2.0 * ${lit(PIO2_HI)});
	return (float)(2.0 * knn_atan_d(knn_sqrt_d((1.0 - d) / (1.0 + d))));
}`,
	},
	knn_sinhf: {
		deps: ["knn_expm1_d"],
		code: `/* sinh(|x|) = (t + t / (t + 1)) / 2 with t = expm1(|x|), which keeps small arguments accurate; past 100 it overflows anyway. */
static float knn_sinhf(float x)
{
	double a, t, r;

	if (x != x || x == 0.0f)
		return x;
	a = x < 0.0f ? -(double)x : (double)x;
	if (a > 100.0)
		a = 100.0;
	t = knn_expm1_d(a);
	r = 0.5 * (t + t / (t + 1.0));
	return (float)(x < 0.0f ? -r : r);
}`,
	},
	knn_coshf: {
		deps: ["knn_exp_d"],
		code: `/* (exp(|x|) + exp(-|x|)) / 2; the sum stays at least 1, so nothing cancels. Past 100 it overflows anyway. */
static float knn_coshf(float x)
{
	double a, e;

	if (x != x)
		return x;
	a = x < 0.0f ? -(double)x : (double)x;
	if (a > 100.0)
		a = 100.0;
	e = knn_exp_d(a);
	return (float)(0.5 * (e + 1.0 / e));
}`,
	},
	knn_asinhf: {
		deps: ["knn_log1p_d", "knn_sqrt_d"],
		code: `/* asinh(|x|) = log1p(a + a^2 / (1 + sqrt(1 + a^2))): no cancellation, and a^2 of a float never overflows a double. */
static float knn_asinhf(float x)
{
	double a, s, r;

	if (x != x || x == 0.0f || x > ${FLT_MAX} || x < -${FLT_MAX})
		return x;
	a = x < 0.0f ? -(double)x : (double)x;
	s = a * a;
	r = knn_log1p_d(a + s / (1.0 + knn_sqrt_d(1.0 + s)));
	return (float)(x < 0.0f ? -r : r);
}`,
	},
	knn_acoshf: {
		deps: ["knn_log1p_d", "knn_sqrt_d", "knn_nanf"],
		code: `/* acosh(x) = log1p(t + sqrt(2t + t^2)) with t = x - 1, exact in double, so arguments near 1 keep their precision. */
static float knn_acoshf(float x)
{
	double t;

	if (x != x || x > ${FLT_MAX})
		return x;
	if (x < 1.0f)
		return knn_nanf();
	if (x == 1.0f)
		return 0.0f;
	t = (double)x - 1.0;
	return (float)knn_log1p_d(t + knn_sqrt_d(t * (2.0 + t)));
}`,
	},
	knn_atanhf: {
		deps: ["knn_log1p_d", "knn_nanf", "knn_inff"],
		code: `/* atanh(x) = log1p(2x / (1 - x)) / 2, with 1 - x exact in double. */
static float knn_atanhf(float x)
{
	double a, r;

	if (x != x || x == 0.0f)
		return x;
	if (x > 1.0f || x < -1.0f)
		return knn_nanf();
	if (x == 1.0f)
		return knn_inff();
	if (x == -1.0f)
		return -knn_inff();
	a = x < 0.0f ? -(double)x : (double)x;
	r = 0.5 * knn_log1p_d(2.0 * a / (1.0 - a));
	return (float)(x < 0.0f ? -r : r);
}`,
	},
};

/** The C name of each public function. */
export function mathFunctionName(fn: MathFunction): string {
	return `knn_${fn}f`;
}

/** C source of `static float knn_<name>f(float x)` (pow: two args) for the requested functions and their dependencies, in dependency order, no includes. */
export function mathLibrarySource(needed: Iterable<MathFunction>): string {
	const wanted = new Set<string>();
	const visit = (name: string): void => {
		if (wanted.has(name)) return;
		wanted.add(name);
		for (const dep of ROUTINES[name].deps) visit(dep);
	};
	for (const fn of needed) {
		if (!MATH_FUNCTIONS.includes(fn)) throw new Error(`Unknown math function "${String(fn)}"; the math library has ${MATH_FUNCTIONS.join(", ")}.`);
		visit(mathFunctionName(fn));
	}
	return Object.entries(ROUTINES)
		.filter(([name]) => wanted.has(name))
		.map(([, routine]) => `${routine.code}\n`)
		.join("\n");
}

/**
 * Worst error of each function in ulps against glibc over the sweep in the test, as stated in generated headers.
 * The error is |result - exact| / ulp(exact), with glibc's double-precision function (whose own error is a few
 * 2^-53 relative, negligible at float precision) standing in for the exact value. `reference` names that
 * function; `points` is the number of arguments swept. Special values (zeros, infinities, NaN, denormals, the
 * overflow and underflow thresholds) are checked on top, bit for bit where the exact result is a float.
 * Every sweep result is correctly rounded. Over every float of each unary domain (bench/mathUlp.mjs) the worst
 * error is 0.500000002 ulp (softplus), with two results off the correctly rounded one for each of log, log1p
 * and softplus and none for the others. pow can miss by a hair more next to a midpoint: (2^24 - 1)^1.5 lies
 * 2e-8 ulp above one and rounds down. tan, atan, asin, acos, sinh, cosh, asinh, acosh and atanh are correctly
 * rounded at every point of their sweeps; over every float in [-1, 1], asin is off the correctly rounded result
 * nowhere, acos once and atanh twice (worst 0.500000002 ulp).
 */
export const MATH_ERROR_BOUNDS: Record<MathFunction, { ulp: number; domain: string; points: number; reference: string }> = {
	exp: { ulp: 0.501, domain: "[-104, 89]", points: 16841274, reference: "glibc exp (double)" },
	expm1: { ulp: 0.501, domain: "[-104, 89]", points: 16841274, reference: "glibc expm1 (double)" },
	log: { ulp: 0.501, domain: "(0, FLT_MAX]", points: 16843269, reference: "glibc log (double)" },
	log1p: { ulp: 0.501, domain: "(-1, FLT_MAX]", points: 16865518, reference: "glibc log1p (double)" },
	tanh: { ulp: 0.501, domain: "[-10, 10]", points: 16809480, reference: "glibc tanh (double)" },
	sigmoid: { ulp: 0.501, domain: "[-110, 40]", points: 16902331, reference: "1 / (1 + glibc exp(-x)) in double" },
	sqrt: { ulp: 0.5, domain: "[0, FLT_MAX]", points: 16843269, reference: "glibc sqrt (double)" },
	rsqrt: { ulp: 0.501, domain: "(0, FLT_MAX]", points: 16843269, reference: "1 / glibc sqrt(x) in double" },
	softplus: { ulp: 0.501, domain: "[-110, 40]", points: 16902331, reference: "glibc log1p(exp(x)) in double" },
	pow: { ulp: 0.501, domain: "(0, FLT_MAX] x [-8, 8], and x < 0 with integer y in [-16, 16]", points: 16811008, reference: "glibc pow (double)" },
	erf: { ulp: 0.501, domain: "[-4, 4]", points: 16777217, reference: "glibc erf (double)" },
	sin: { ulp: 0.501, domain: "[-FLT_MAX, FLT_MAX]", points: 16843269, reference: "glibc sin (double)" },
	cos: { ulp: 0.501, domain: "[-FLT_MAX, FLT_MAX]", points: 16843269, reference: "glibc cos (double)" },
	tan: { ulp: 0.501, domain: "[-FLT_MAX, FLT_MAX]", points: 16843269, reference: "glibc tan (double)" },
	atan: { ulp: 0.501, domain: "[-FLT_MAX, FLT_MAX]", points: 16843269, reference: "glibc atan (double)" },
	asin: { ulp: 0.501, domain: "[-1, 1]", points: 16777217, reference: "glibc asin (double)" },
	acos: { ulp: 0.501, domain: "[-1, 1]", points: 16777217, reference: "glibc acos (double)" },
	sinh: { ulp: 0.501, domain: "[-90, 90]", points: 16828463, reference: "glibc sinh (double)" },
	cosh: { ulp: 0.501, domain: "[-90, 90]", points: 16828463, reference: "glibc cosh (double)" },
	asinh: { ulp: 0.501, domain: "[-FLT_MAX, FLT_MAX]", points: 16843269, reference: "glibc asinh (double)" },
	acosh: { ulp: 0.501, domain: "[1, FLT_MAX]", points: 16777216, reference: "glibc acosh (double)" },
	atanh: { ulp: 0.501, domain: "[-1, 1]", points: 16777217, reference: "glibc atanh (double)" },
};

/** 16777216 -> "16,777,216" without depending on the runtime's locale data. */
export function groupDigits(n: number): string {
	return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Lines for the generated header's comment, one per function in `used` (library order, no duplicates). */
export function mathErrorSummary(used: Iterable<MathFunction>): string[] {
	const set = new Set(used);
	return MATH_FUNCTIONS.filter((fn) => set.has(fn)).map((fn) => {
		const b = MATH_ERROR_BOUNDS[fn];
		return `${mathFunctionName(fn)}: <= ${b.ulp} ulp vs ${b.reference} over ${groupDigits(b.points)} points in ${b.domain}`;
	});
}
