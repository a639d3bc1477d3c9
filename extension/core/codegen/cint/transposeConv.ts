// QTransposeConv in integer C: each output element gathers the products TFLite's reference TransposeConv scatters
// into it (the same integers, no scratch buffer). Per output row and column, a table gives the first tap and the
// number of taps landing on whole input coordinates.
import { transposeConvPlan } from "../../interp/kernels/quantized/transposeConv";
import type { EmitContext } from "../emitKernels";
import type { KernelStep } from "../program";
import { asTensor, finishOutput, offsetTerm, qType } from "./filterCommon";

export function qTransposeConv(step: KernelStep, ctx: EmitContext): string[] {
	const [x, w, bias] = step.inputs;
	const out = step.outputs[0];
	const p = transposeConvPlan(step.node, asTensor(x), asTensor(w));
	const { rows, cols, scaling: s } = p;
	const [, H, W, C] = x.shape;
	const O = p.outChannels;
	const rowTaps = ctx.table(p.rowTaps);
	const colTaps = ctx.table(p.colTaps);
	return [
		`const ${qType(step, x)} *const x = ${ctx.addr(x)};`,
		`const ${qType(step, w)} *const w = ${ctx.addr(w)};`,
		`${qType(step, out)} *const out = ${ctx.addr(out, true)};`,
		`for (int b = 0; b < ${p.batch}; ++b) for (int oy = 0; oy < ${rows.size}; ++oy) for (int ox = 0; ox < ${cols.size}; ++ox) {`,
		`\t${qType(step, out)} *const o = out + ((b * ${rows.size} + oy) * ${cols.size} + ox) * ${O};`,
		`\tfor (int oc = 0; oc < ${O}; ++oc) {`,
		`\t\t${s.wide ? "long long" : "int"} acc = 0;`,
		`\t\tfor (int t = 0; t < ${rowTaps}[2 * oy + 1]; ++t) {`,
		`\t\t\tconst int ky = ${rowTaps}[2 * oy] + t * ${rows.stride};`,
		`\t\t\tconst int iy = (oy + ${rows.before} - ky) / ${rows.stride};`,
		`\t\t\tfor (int u = 0; u < ${colTaps}[2 * ox + 1]; ++u) {`,
		`\t\t\t\tconst int kx = ${colTaps}[2 * ox] + u * ${cols.stride};`,
		`\t\t\t\tconst ${qType(step, x)} *const pixel = x + ((b * ${H} + iy) * ${W} + (ox + ${cols.before} - kx) / ${cols.stride}) * ${C};`,
		`\t\t\t\tconst ${qType(step, w)} *const taps = w + ((oc * ${rows.kernel} + ky) * ${cols.kernel} + kx) * ${C};`,
		`\t\t\t\tfor (int c = 0; c < ${C}; ++c) acc += ${offsetTerm("taps[c]", s.filterOffset)} * ${offsetTerm("pixel[c]", s.inputOffset)};`,
		"\t\t\t}",
		"\t\t}",
		...finishOutput(step, s, bias, "oc", "o[oc]", ctx),
		"\t}",
		"}",
	];
}
