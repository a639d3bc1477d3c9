// QAveragePool2D and QMaxPool2D in integer C: TFLite's reference integer pools, taps inside the input from
// per-row and per-column tables.
import { poolPlan } from "../../interp/kernels/quantized/pool";
import type { EmitContext } from "../emitKernels";
import type { KernelStep } from "../program";
import { asTensor, qType } from "./filterCommon";

function pool(step: KernelStep, ctx: EmitContext, average: boolean): string[] {
	const x = step.inputs[0];
	const out = step.outputs[0];
	const p = poolPlan(step.node, asTensor(x));
	const { rows, cols } = p;
	const C = p.channels;
	const rowTaps = ctx.table(p.rowTaps);
	const colTaps = ctx.table(p.colTaps);
	const type = qType(step, x);
	const result = average
		? ["\t\tconst int count = (ky1 - ky0) * (kx1 - kx0);", "\t\tacc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;"]
		: [];
	return [
		`const ${type} *const x = ${ctx.addr(x)};`,
		`${type} *const out = ${ctx.addr(out, true)};`,
		`for (int b = 0; b < ${p.batch}; ++b) for (int oy = 0; oy < ${rows.out}; ++oy) for (int ox = 0; ox < ${cols.out}; ++ox) {`,
		`\tconst int ky0 = ${rowTaps}[2 * oy], ky1 = ${rowTaps}[2 * oy + 1];`,
		`\tconst int kx0 = ${colTaps}[2 * ox], kx1 = ${colTaps}[2 * ox + 1];`,
		`\tconst ${type} *const corner = x + ((b * ${rows.size} + oy * ${rows.stride} - ${rows.before}) * ${cols.size} + ox * ${cols.stride} - ${cols.before}) * ${C};`,
		`\t${type} *const o = out + ((b * ${rows.out} + oy) * ${cols.out} + ox) * ${C};`,
		`\tfor (int c = 0; c < ${C}; ++c) {`,
		`\t\tint acc = ${average ? 0 : p.lowest};`,
		"\t\tfor (int ky = ky0; ky < ky1; ++ky) for (int kx = kx0; kx < kx1; ++kx) {",
		`\t\t\tconst int v = corner[(ky * ${cols.size} + kx) * ${C} + c];`,
		average ? "\t\t\tacc += v;" : "\t\t\tif (v > acc) acc = v;",
		"\t\t}",
		...result,
		`\t\to[c] = (${type})knn_q_clamp(acc, ${p.min}, ${p.max});`,
		"\t}",
		"}",
	];
}

export function qAveragePool2D(step: KernelStep, ctx: EmitContext): string[] {
	return pool(step, ctx, true);
}

export function qMaxPool2D(step: KernelStep, ctx: EmitContext): string[] {
	return pool(step, ctx, false);
}
