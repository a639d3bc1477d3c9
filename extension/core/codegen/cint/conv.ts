// QConv2D and QDepthwiseConv2D in integer C: TFLite's reference ConvPerChannel / DepthwiseConvPerChannel. The
// taps inside the input are looked up per output row and column, so the inner loops carry no bounds checks.
import { convPlan } from "../../interp/kernels/quantized/conv";
import type { EmitContext } from "../emitKernels";
import type { KernelStep } from "../program";
import { asTensor, finishOutput, offsetTerm, qType } from "./filterCommon";

function convolution(step: KernelStep, ctx: EmitContext, depthwise: boolean): string[] {
	const [x, w, bias] = step.inputs;
	const out = step.outputs[0];
	const p = convPlan(step.node, asTensor(x), asTensor(w), depthwise);
	const { rows, cols, scaling: s } = p;
	const C = p.channels;
	const O = p.outChannels;
	const rowTaps = ctx.table(p.rowTaps);
	const colTaps = ctx.table(p.colTaps);
	const tap = depthwise
		? [`\t\t\t\tacc += ${offsetTerm(`w[(ky * ${cols.kernel} + kx) * ${O} + oc]`, s.filterOffset)} * ${offsetTerm(`pixel[oc / ${p.multiplier}]`, s.inputOffset)};`]
		: [`\t\t\t\tconst ${qType(step, w)} *const taps = w + ((oc * ${rows.kernel} + ky) * ${cols.kernel} + kx) * ${C};`,
			`\t\t\t\tfor (int c = 0; c < ${C}; ++c) acc += ${offsetTerm("taps[c]", s.filterOffset)} * ${offsetTerm("pixel[c]", s.inputOffset)};`];
	return [
		`const ${qType(step, x)} *const x = ${ctx.addr(x)};`,
		`const ${qType(step, w)} *const w = ${ctx.addr(w)};`,
		`${qType(step, out)} *const out = ${ctx.addr(out, true)};`,
		`for (int b = 0; b < ${p.batch}; ++b) for (int oy = 0; oy < ${rows.out}; ++oy) for (int ox = 0; ox < ${cols.out}; ++ox) {`,
		`\tconst int y0 = oy * ${rows.stride} - ${rows.before};`,
		`\tconst int x0 = ox * ${cols.stride} - ${cols.before};`,
		`\t${qType(step, out)} *const o = out + ((b * ${rows.out} + oy) * ${cols.out} + ox) * ${O};`,
		`\tfor (int oc = 0; oc < ${O}; ++oc) {`,
		`\t\t${s.wide ? "long long" : "int"} acc = 0;`,
		`\t\tfor (int ky = ${rowTaps}[2 * oy]; ky < ${rowTaps}[2 * oy + 1]; ++ky) {`,
		`\t\t\tfor (int kx = ${colTaps}[2 * ox]; kx < ${colTaps}[2 * ox + 1]; ++kx) {`,
		`\t\t\t\tconst ${qType(step, x)} *const pixel = x + ((b * ${rows.size} + y0 + ky * ${rows.dilation}) * ${cols.size} + x0 + kx * ${cols.dilation}) * ${C};`,
		...tap,
		"\t\t\t}",
		"\t\t}",
		...finishOutput(step, s, bias, "oc", "o[oc]", ctx),
		"\t}",
		"}",
	];
}

export function qConv2D(step: KernelStep, ctx: EmitContext): string[] {
	return convolution(step, ctx, false);
}

export function qDepthwiseConv2D(step: KernelStep, ctx: EmitContext): string[] {
	return convolution(step, ctx, true);
}
