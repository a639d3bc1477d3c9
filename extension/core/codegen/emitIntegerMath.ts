import type { DType } from "../graph/tensor";

/** Whether the compiler's C type for `dtype` is signed (int8, int16, int32). */
function signed(dtype: DType): boolean {
	return dtype === "int8" || dtype === "int16" || dtype === "int32";
}

// Integer arithmetic wraps like the interpreter's typed arrays; C's signed overflow is undefined, so go through unsigned.
const WRAPPING: Record<string, string> = { Add: "+", AddV2: "+", Sub: "-", Mul: "*" };

/** A wrapping Add/Sub/Mul of two integer operands of C type `type`, or undefined for other ops. */
export function wrappingExpression(op: string, type: string, a: string, b: string): string | undefined {
	const operator = WRAPPING[op];
	return operator ? `(${type})((unsigned)${a} ${operator} (unsigned)${b})` : undefined;
}

/**
 * Statements computing `out[i]` from integer operands `a` and `b` for the division family and Pow, matching the
 * interpreter's kernels (interp/kernels/binary.ts), or undefined for ops this does not cover. The interpreter fails a
 * step on a zero divisor; generated C cannot fail a step, and a kernel module must never trap, so a zero divisor gives 0.
 */
export function integerStatements(op: string, dtype: DType, type: string, a: string, b: string): string[] | undefined {
	const isSigned = signed(dtype);
	const head = [`const ${type} x = ${a};`, `const ${type} y = ${b};`];
	// INT_MIN / -1 and INT_MIN % -1 overflow in C; the quotient wraps (negation through unsigned), the remainder is 0.
	const negated = `(${type})(0u - (unsigned)x)`;
	switch (op) {
		case "Div": case "TruncateDiv":
			return [...head, `out[i] = y == 0 ? 0 : ${isSigned ? `y == -1 ? ${negated} : ` : ""}(${type})(x / y);`];
		case "Mod": case "TruncateMod":
			return [...head, `out[i] = y == 0${isSigned ? " || y == -1" : ""} ? 0 : (${type})(x % y);`];
		case "FloorDiv":
			if (!isSigned) return [...head, `out[i] = y == 0 ? 0 : (${type})(x / y);`];
			return [...head, `out[i] = y == 0 ? 0 : y == -1 ? ${negated} : (${type})(x / y - (x % y != 0 && (x < 0) != (y < 0)));`];
		case "FloorMod":
			if (!isSigned) return [...head, `out[i] = y == 0 ? 0 : (${type})(x % y);`];
			return [...head, "if (y == 0 || y == -1) {", "\tout[i] = 0;", "} else {", `\tconst ${type} m = (${type})(x % y);`,
				`\tout[i] = m != 0 && (m < 0) != (y < 0) ? (${type})(m + y) : m;`, "}"];
		case "Pow":
			return [...head, ...integerPower(type, isSigned)];
		default:
			return undefined;
	}
}

/**
 * Exponentiation by squaring in unsigned arithmetic, which wraps as the interpreter's Math.imul does. The interpreter
 * refuses negative exponents; C cannot refuse, so it gives the truncated real power: 1 for base 1, +-1 for base -1, else 0.
 */
function integerPower(type: string, isSigned: boolean): string[] {
	const loop = ["\tunsigned r = 1u, base = (unsigned)x;", `\tfor (${type} e = y; e > 0; e = (${type})(e / 2)) {`,
		"\t\tif (e % 2 != 0) r *= base;", "\t\tbase *= base;", "\t}", `\tout[i] = (${type})r;`];
	if (!isSigned) return ["{", ...loop, "}"];
	return ["if (y < 0) {", "\tout[i] = x == 1 ? 1 : x == -1 ? (y % 2 != 0 ? -1 : 1) : 0;", "} else {", ...loop, "}"];
}

/**
 * Statements computing float `out[i]` for Mod (C's fmod: the dividend's sign) and FloorMod (the divisor's sign). No libm
 * in the kernel: the remainder is found by subtracting the divisor scaled by powers of two, each subtraction exact
 * (Sterbenz), so the result is the exact remainder fmod gives. A zero or NaN divisor, or an infinite dividend, gives NaN.
 */
export function floatModuloStatements(op: string, a: string, b: string): string[] | undefined {
	if (op !== "Mod" && op !== "FloorMod") return undefined;
	return [
		`const float x = ${a};`, `const float y = ${b};`,
		"const union { unsigned int u; float f; } nan_bits = { 0x7fc00000u };",
		"float r = x < 0.0f ? -x : x;",
		"const float d = y < 0.0f ? -y : y;",
		"if (!(d > 0.0f) || !(r <= 3.40282347e38f)) {",
		"\tout[i] = nan_bits.f;",
		"} else {",
		"\twhile (d <= 3.40282347e38f && r >= d) {",
		"\t\tfloat t = d;",
		"\t\twhile (t <= 1.70141173e38f && t + t <= r) t = t + t;",
		"\t\tr = r - t;",
		"\t}",
		"\tr = x < 0.0f ? -r : r;",
		...(op === "FloorMod" ? ["\tif (r != 0.0f && (y < 0.0f) != (r < 0.0f)) r = r + y;"] : []),
		"\tout[i] = r;",
		"}",
	];
}
