import { shapeSize } from "../../graph/tensor";
import { ACCUMULATION_INTEGER_BITS, int16SoftmaxParams, softmaxParams } from "../../interp/kernels/quantized/softmax";
import type { EmitContext, KernelEmitter } from "../emitKernels";
import type { KernelStep } from "../program";
import { pointers, quantizedCType } from "./cQuant";

// Quantized SOFTMAX in integer C: TFLite's reference integer softmax with gemmlowp's fixed point, as the interpreter
// computes it. TFLite's runtime takes a float table instead, so the result is within one output step of it. int16
// SOFTMAX is reference_ops::SoftmaxInt16 with its two tables built at compile time: exact.

export const Q_FIDELITY: Record<string, "exact" | "within 1 step"> = { QSoftmax: "within 1 step" };

const EXP_BARREL: [number, number][] = [[-2, 1672461947], [-1, 1302514674], [0, 790015084], [1, 290630308], [2, 39332535], [3, 720401], [4, 242]];

/** gemmlowp exp_on_negative_values of the Q5.26 `a` into the Q0.31 `result` (both declared by the caller). */
function expLines(a: string, result: string): string[] {
	return [
		"{",
		`\tconst int quarter = (${a} & 0xffffff) - 0x1000000;`,
		"\tconst int x = quarter * 32 + (1 << 28);",
		"\tconst int x2 = knn_q_srdhm(x, x);",
		"\tconst int x3 = knn_q_srdhm(x2, x);",
		"\tconst int x4 = knn_q_srdhm(x2, x2);",
		"\tconst int poly = knn_q_rdpot(knn_q_srdhm(knn_q_rdpot(x4, 2) + x3, 715827883) + x2, 1);",
		`\tconst int remainder = quarter - ${a};`,
		"",
		`\t${result} = 1895147668 + knn_q_srdhm(1895147668, x + poly);`,
		...EXP_BARREL.map(([exponent, multiplier]) => `\tif (remainder & (1 << ${26 + exponent})) ${result} = knn_q_srdhm(${result}, ${multiplier});`),
		`\tif (${a} == 0) ${result} = 2147483647;`,
		"}",
	];
}

/** gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for a positive exponent: a saturating left shift. */
function saturatingShiftLeft(value: string, exponent: number): string {
	const threshold = 2 ** (31 - exponent) - 1;
	return `(${value} > ${threshold} ? 2147483647 : ${value} < -${threshold} ? (-2147483647 - 1) : ${value} * ${2 ** exponent})`;
}

/** lut_lookup of common.h: the int16 `value` in the 513-entry `lut`, interpolated. */
function lutLookup(value: string, lut: string): string {
	return `(short)(${lut}[256 + (${value} >> 7)] + (((${lut}[257 + (${value} >> 7)] - ${lut}[256 + (${value} >> 7)]) * (${value} & 0x7f) + 64) >> 7))`;
}

/** reference_ops::SoftmaxInt16: exps cached in the output row, then scaled by the table reciprocal of their sum. */
function int16Softmax(step: KernelStep, ctx: EmitContext, rows: number, depth: number): string[] {
	const p = int16SoftmaxParams(step.node);
	const expLut = ctx.table(Int32Array.from(p.expLut));
	const reciprocalLut = ctx.table(Int32Array.from(p.reciprocalLut));
	return [
		...pointers(step, ctx),
		`for (int row = 0; row < ${rows}; ++row) {`,
		`	const short *const in = in0 + row * ${depth};`,
		`	short *const exps = out + row * ${depth};`,
		"	int max = -32768;",
		"	int sum = 0;",
		"	int headroom, shifted, sym, reciprocal;",
		"",
		`	for (int c = 0; c < ${depth}; ++c)`,
		"		max = in[c] > max ? in[c] : max;",
		`	for (int c = 0; c < ${depth}; ++c) {`,
		`		const int sym_diff = knn_q_clamp(knn_q_mul(in[c] - max, ${p.multiplier}, ${p.shift}) + 32767, -32768, 32767);`,
		"",
		`		exps[c] = ${lutLookup("sym_diff", expLut)};`,
		"		sum += exps[c];",
		"	}",
		"	headroom = __builtin_clz((unsigned int)sum);",
		"	shifted = (int)((((long long)sum << (headroom - 1)) + (1 << 13)) >> 14);",
		"	sym = knn_q_clamp(shifted - (1 << 15) - (1 << 16), -32768, 32767);",
		`	reciprocal = ${lutLookup("sym", reciprocalLut)};`,
		`	for (int c = 0; c < ${depth}; ++c) {`,
		"		const int shift = 31 - headroom;",
		"",
		"		exps[c] = (short)knn_q_clamp((int)(((long long)exps[c] * reciprocal + (1LL << (shift - 1))) >> shift), 0, 32767);",
		"	}",
		"}",
	];
}

export const quantizedSoftmaxOp: KernelEmitter = (step, ctx) => {
	const x = step.inputs[0];
	const type = quantizedCType(step, step.outputs[0]);
	if (x.dtype === "int16") {
		const depth = x.shape[x.shape.length - 1] ?? 1;
		return int16Softmax(step, ctx, depth === 0 ? 0 : shapeSize(x.shape) / depth, depth);
	}
	const p = softmaxParams(step.node, x.dtype);
	const depth = x.shape[x.shape.length - 1] ?? 1;
	const rows = depth === 0 ? 0 : shapeSize(x.shape) / depth;
	const scaledDiff = `knn_q_srdhm(diff * ${2 ** p.leftShift}, ${p.multiplier})`;
	return [
		...pointers(step, ctx),
		`for (int row = 0; row < ${rows}; ++row) {`,
		`\tconst ${quantizedCType(step, x)} *const in = in0 + row * ${depth};`,
		"\tint max = in[0];",
		"\tint sum = 0;",
		"\tint headroom, shifted, half, scale, exponent;",
		"",
		`\tfor (int c = 1; c < ${depth}; ++c)`,
		"\t\tmax = in[c] > max ? in[c] : max;",
		`\tfor (int c = 0; c < ${depth}; ++c) {`,
		"\t\tconst int diff = in[c] - max;",
		"\t\tint scaled, e;",
		"",
		`\t\tif (diff < ${p.diffMin})`,
		"\t\t\tcontinue;",
		`\t\tscaled = ${scaledDiff};`,
		...expLines("scaled", "e").map((l) => `\t\t${l}`),
		`\t\tsum += knn_q_rdpot(e, ${ACCUMULATION_INTEGER_BITS});`,
		"\t}",
		"\t/* GetReciprocal: 1 / sum by gemmlowp's Newton-Raphson in Q2.29. */",
		"\theadroom = __builtin_clz((unsigned int)sum);",
		"\tshifted = (int)(((unsigned int)sum << headroom) - 0x80000000u);",
		"\thalf = (int)(((long long)shifted + 2147483648LL) / 2);",
		"\tscale = 1515870810 + knn_q_srdhm(half, -1010580540);",
		"\tfor (int k = 0; k < 3; ++k) {",
		"\t\tconst int step = knn_q_srdhm(scale, (1 << 29) - knn_q_srdhm(half, scale));",
		"",
		`\t\tscale += ${saturatingShiftLeft("step", 2)};`,
		"\t}",
		`\tscale = ${saturatingShiftLeft("scale", 1)};`,
		`\texponent = ${ACCUMULATION_INTEGER_BITS} - headroom + 31 - ${p.outputBits};`,
		`\tfor (int c = 0; c < ${depth}; ++c) {`,
		"\t\tconst int diff = in[c] - max;",
		"\t\tint scaled, e;",
		"",
		`\t\tif (diff < ${p.diffMin}) {`,
		`\t\t\tout[row * ${depth} + c] = (${type})${p.outputMin};`,
		"\t\t\tcontinue;",
		"\t\t}",
		`\t\tscaled = ${scaledDiff};`,
		...expLines("scaled", "e").map((l) => `\t\t${l}`),
		`\t\tout[row * ${depth} + c] = (${type})knn_q_clamp(knn_q_rdpot(knn_q_srdhm(scale, e), exponent) + ${p.outputMin}, ${p.outputMin}, ${p.outputMax});`,
		"\t}",
		"}",
	];
};
