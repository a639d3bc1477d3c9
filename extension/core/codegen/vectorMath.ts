// exp, sigmoid and tanh on a whole knn_vf (8 lanes with AVX, 4 without; see vectorLibrary.ts) at once, for the
// vectorised kernels; knn_vsigmoid(knn_splat(x))[0] serves scalar code. The scalar library (mathLibrary.ts)
// computes in double with branches and is correctly rounded but slow; these stay in float, take no
// data-dependent branch (both sides of a choice are computed and a mask picks one per lane) and are a few ulps
// off instead. The bounds below are measured, not derived: test/unit/vectorMath.test.ts sweeps each function
// against glibc for each build and fails if a stated bound is not met.
//
// The C goes after VECTOR_PRELUDE and obeys its rules: float arithmetic, integer operations on the bits and
// comparisons only (no conversion, no __builtin_*, nothing GCC could lower to a libm or libgcc call), no static
// state, declarations before statements. No lane's result depends on the values in other lanes, on the lane or
// on the width.

import { groupDigits } from "./mathLibrary";

export type VectorMathFunction = "exp" | "sigmoid" | "tanh";

/** Library order, which is also a valid definition order: sigmoid and tanh call knn_vexp. */
const VECTOR_MATH_FUNCTIONS: readonly VectorMathFunction[] = ["exp", "sigmoid", "tanh"];

const DEPENDENCIES: Record<VectorMathFunction, readonly VectorMathFunction[]> = { exp: [], sigmoid: ["exp"], tanh: ["exp"] };

/** A C float literal that reads back as exactly `value`, which must be a float: the shortest decimal form that does. */
function flit(value: number): string {
	if (Math.fround(value) !== value) throw new Error(`${value} is not a float; round it with Math.fround first.`);
	for (let digits = 1; digits <= 9; digits++) {
		const text = value.toPrecision(digits);
		if (Math.fround(Number(text)) === value) return `${/[.e]/.test(text) ? text : `${text}.0`}f`;
	}
	throw new Error(`no 9-digit decimal reads back as ${value}`);
}

/** `+ c` or `- |c|`, to add the float `c` to an expression. */
function plus(c: number): string {
	return c < 0 ? `- ${flit(-c)}` : `+ ${flit(c)}`;
}

/** Horner's scheme as one statement per coefficient; `coeffs` starts with the constant term. */
function horner(acc: string, variable: string, coeffs: readonly number[]): string {
	const lines = [`\t${acc} = knn_splat(${flit(coeffs[coeffs.length - 1])});`];
	for (let i = coeffs.length - 2; i >= 0; i--) lines.push(`\t${acc} = ${acc} * ${variable} ${plus(coeffs[i])};`);
	return lines.join("\n");
}

// Minimax fits (Remez exchange at 50 digits, coefficients then rounded to float), of relative error before rounding:
/** (exp(r) - 1 - r) / r^2 for |r| <= 0.3467, a little over ln2/2 since x / ln2 is rounded in float: 2^-28.3. */
const EXP_COEFFS = [0.4999999403953552, 0.1666652113199234, 0.04166838899254799, 0.008368735201656818, 0.0013814560370519757];
/** (tanh(a) - a) / a^3 in s = a^2 for a <= 0.75: 2^-29.1. */
const TANH_COEFFS = [-0.33333316445350647, 0.1333269476890564, -0.053892724215984344, 0.021452033892273903, -0.007657255511730909, 0.0017369359266012907];
/** Where tanh leaves the polynomial for 1 - 2 / (exp(2a) + 1), whose subtraction then loses little (tanh > 0.5). */
const TANH_SPLIT = 0.75;

// ln 2 in two parts: n * LN2_HI is exact for |n| < 2^15 (LN2_HI has 9 significant bits), and so is x - n * LN2_HI.
// LN2_HI is a little above ln 2, by LN2_EXCESS.
const LN2_HI = 0.693359375;
const LN2_EXCESS = Math.fround(LN2_HI - Math.LN2);

const SOURCES: Record<VectorMathFunction, string> = {
	exp: `/*
 * exp(x) = 2^n exp(r) with n = round(x / ln2) and |r| <= ln2/2. Adding 1.5 * 2^23 rounds x / ln2 to an integer and
 * leaves it in the low bits; 2^n is built in the exponent bits as two factors, so that results below FLT_MIN
 * round once into the denormals and results above FLT_MAX become +inf. Past the clamp the result is +0 or +inf
 * anyway; NaN is clamped too, so that the integer part sees no garbage, and comes back at the end.
 */
KNN_INLINE knn_vf knn_vexp(knn_vf x)
{
	const knn_vf shifter = knn_splat(12582912.0f);
	knn_vf a, t, n, r, p;
	knn_vi k, half;

	a = knn_vmin(knn_vmax(x, knn_splat(-104.0f)), knn_splat(89.0f));
	t = a * 1.44269504f + shifter;
	n = t - shifter;
	k = (knn_vi)t - (knn_vi)shifter;
	r = a - n * ${flit(LN2_HI)};
	r = r + n * ${flit(LN2_EXCESS)};
${horner("p", "r", EXP_COEFFS)}
	p = (r * r) * p + r;
	p = p + 1.0f;
	half = k >> 1;
	p = p * (knn_vf)((half + 127) << 23);
	p = p * (knn_vf)((k - half + 127) << 23);
	return knn_vselect(x == x, p, x + x);
}`,
	sigmoid: `/*
 * With q = e / (1 + e) and e = exp(-|x|) in (0, 1]: q for x < 0 and 1 - q for x >= 0. exp never overflows, the
 * negative tail keeps its relative accuracy down to the denormals, and 1 - q rounds once near 1. What rounding
 * 1 + e to d loses, lo = (1 - d) + e exactly, is put back: e / (d + lo) = q (1 - lo / d), and 1 / d = 1 - q.
 */
KNN_INLINE knn_vf knn_vsigmoid(knn_vf x)
{
	const knn_vi sign = (knn_vi)knn_splat(-0.0f);
	knn_vf e, d, lo, q;

	e = knn_vexp((knn_vf)((knn_vi)x | sign));
	d = e + 1.0f;
	lo = (1.0f - d) + e;
	q = e / d;
	q = q - (q * lo) * (1.0f - q);
	return knn_vselect(x < knn_splat(0.0f), q, 1.0f - q);
}`,
	tanh: `/*
 * tanh(|x|) with the sign of x put back: below ${TANH_SPLIT} an odd polynomial, accurate relative to the result
 * down to the denormals; above, 1 - 2 / (exp(2|x|) + 1), which reaches exactly 1 by itself for large |x|.
 */
KNN_INLINE knn_vf knn_vtanh(knn_vf x)
{
	const knn_vi sign = (knn_vi)knn_splat(-0.0f);
	knn_vf a, s, p, large;

	a = (knn_vf)((knn_vi)x & ~sign);
	s = a * a;
${horner("p", "s", TANH_COEFFS)}
	p = (a * s) * p + a;
	large = 1.0f - 2.0f / (knn_vexp(a + a) + 1.0f);
	p = knn_vselect(a < knn_splat(${flit(TANH_SPLIT)}), p, large);
	return (knn_vf)((knn_vi)p | ((knn_vi)x & sign));
}`,
};

/** C source of `KNN_INLINE knn_vf knn_v<name>(knn_vf x)` for the requested functions and what they call, in definition order; it goes after VECTOR_PRELUDE. */
export function vectorMathSource(needed: Iterable<VectorMathFunction>): string {
	const wanted = new Set<VectorMathFunction>();
	const visit = (fn: VectorMathFunction): void => {
		if (wanted.has(fn)) return;
		wanted.add(fn);
		for (const dep of DEPENDENCIES[fn]) visit(dep);
	};
	for (const fn of needed) {
		if (!VECTOR_MATH_FUNCTIONS.includes(fn)) throw new Error(`Unknown vector math function "${String(fn)}"; the vector math library has ${VECTOR_MATH_FUNCTIONS.join(", ")}.`);
		visit(fn);
	}
	return VECTOR_MATH_FUNCTIONS.filter((fn) => wanted.has(fn)).map((fn) => `${SOURCES[fn]}\n`).join("\n");
}

/**
 * Worst error of each function in ulps against glibc's double-precision function, measured over every float in
 * `domain` for three builds (-msse2; -mavx2 -mfma with and without FMA contraction) and rounded up; `points` is
 * how many floats that is. sigmoid's ulp bound is stated where its result is a normal float; `abs` bounds its
 * absolute error over every finite float. Special values (NaN, infinities, zeros, denormals, the clamp ends) are
 * checked on top. Measured worst: exp 0.982 ulp (1.010 with FMA contraction) at -81.39 and -59.92; sigmoid
 * 1.967 ulp at -6.238 (the same over every finite float, denormal results included) and 7.09e-8 absolute at
 * 0.678; tanh 1.067 ulp at +-0.7626.
 */
export const VECTOR_MATH_ERROR_BOUNDS: Record<VectorMathFunction, { ulp: number; abs?: number; domain: string; points: number; reference: string }> = {
	exp: { ulp: 1.1, domain: "[-104, 89]", points: 2239889409, reference: "glibc exp (double)" },
	sigmoid: { ulp: 2.0, abs: 7.2e-8, domain: "[-87.3, 40]", points: 2228132251, reference: "1 / (1 + glibc exp(-x)) in double" },
	tanh: { ulp: 1.1, domain: "[-10, 10]", points: 2185232385, reference: "glibc tanh (double)" },
};

/** Lines for the generated header's comment, one per function in `used` (library order, no duplicates). */
export function vectorMathErrorSummary(used: Iterable<VectorMathFunction>): string[] {
	const set = new Set(used);
	return VECTOR_MATH_FUNCTIONS.filter((fn) => set.has(fn)).map((fn) => {
		const b = VECTOR_MATH_ERROR_BOUNDS[fn];
		const abs = b.abs === undefined ? "" : `, and <= ${b.abs} absolute over every float`;
		return `knn_v${fn}: <= ${b.ulp} ulp vs ${b.reference} over ${groupDigits(b.points)} points in ${b.domain}${abs}`;
	});
}
