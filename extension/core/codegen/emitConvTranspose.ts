import { attrString } from "../graph/graph";
import { transposedGeometry } from "../interp/kernels/convTranspose";
import type { EmitContext } from "./emitKernels";
import type { KernelStep } from "./program";

/**
 * Conv2DBackpropInput (a transposed convolution, as ONNX's ConvTranspose lowers to) written as a gather: each output
 * element sums the input elements whose forward window covered it, so there is no scatter and no zeroing pass.
 */
export function convTranspose(step: KernelStep, ctx: EmitContext): string[] {
	const [, w, x] = step.inputs;
	const out = step.outputs[0];
	const nchw = attrString(step.node, "data_format", "NHWC") === "NCHW";
	const [B, OH, OW, OC] = nchw ? [out.shape[0], out.shape[2], out.shape[3], out.shape[1]] : out.shape;
	const [H, W, C] = nchw ? [x.shape[2], x.shape[3], x.shape[1]] : x.shape.slice(1);
	const [KH, KW] = w.shape;
	const at = (channels: number, height: number, width: number, c: string, y: string, xx: string) => nchw
		? `((b * ${channels} + ${c}) * ${height} + ${y}) * ${width} + ${xx}`
		: `((b * ${height} + ${y}) * ${width} + ${xx}) * ${channels} + ${c}`;
	const g = transposedGeometry(step.node, OH, OW, H, W, KH, KW);
	// With stride 1 every tap lands on an input row; the divisibility test is only written where it can fail.
	const tap = (t: string, stride: number, size: number, name: string) => stride === 1
		? [`\t\tif (${t} < 0 || ${t} >= ${size}) continue;`, `\t\tconst int ${name} = ${t};`]
		: [`\t\tif (${t} < 0 || ${t} % ${stride} != 0 || ${t} / ${stride} >= ${size}) continue;`, `\t\tconst int ${name} = ${t} / ${stride};`];
	return [
		`const float *const x = ${ctx.addr(x)};`, `const float *const w = ${ctx.addr(w)};`, `float *const out = ${ctx.addr(out, true)};`,
		`for (int b = 0; b < ${B}; ++b) for (int oy = 0; oy < ${OH}; ++oy) for (int ox = 0; ox < ${OW}; ++ox) for (int oc = 0; oc < ${OC}; ++oc) {`,
		"\tfloat acc = 0.0f;",
		`\tfor (int ky = 0; ky < ${KH}; ++ky) {`,
		`\t\tconst int ty = oy + ${g.padTop} - ky * ${g.dilationH};`,
		...tap("ty", g.strideH, H, "iy"),
		`\t\tfor (int kx = 0; kx < ${KW}; ++kx) {`,
		`\t\t\tconst int tx = ox + ${g.padLeft} - kx * ${g.dilationW};`,
		...tap("tx", g.strideW, W, "ix").map((line) => `\t${line}`),
		`\t\t\tfor (int ic = 0; ic < ${C}; ++ic) acc += (double)x[${at(C, H, W, "ic", "iy", "ix")}] * (double)w[((ky * ${KW} + kx) * ${OC} + oc) * ${C} + ic];`,
		"\t\t}", "\t}",
		`\tout[${at(OC, OH, OW, "oc", "oy", "ox")}] = (float)acc;`, "}",
	];
}
