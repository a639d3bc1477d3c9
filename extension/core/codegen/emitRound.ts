import { type EmitContext, cType } from "./emitKernels";
import type { KernelStep } from "./program";

/**
 * Round to nearest, ties to even, as TensorFlow's and ONNX's Round do (C's roundf rounds ties away from zero).
 * knn_floorf leaves values beyond 2^23, infinities and NaN alone, and those are already whole.
 */
export function roundOp(step: KernelStep, ctx: EmitContext): string[] {
	const [x] = step.inputs;
	const out = step.outputs[0];
	const type = cType(x.dtype, `node "${step.node.name}" (Round)`);
	const lines = [`const ${type} *const x = ${ctx.addr(x)};`, `${type} *const out = ${ctx.addr(out, true)};`];
	if (type !== "float") return [...lines, `for (int i = 0; i < ${out.size}; ++i) out[i] = x[i];`];
	return [...lines,
		`for (int i = 0; i < ${out.size}; ++i) {`,
		"\tconst float whole = knn_floorf(x[i]);",
		"\tconst float fraction = x[i] - whole;",
		"\tconst int odd = knn_floorf(whole * 0.5f) * 2.0f != whole;",
		"\tout[i] = fraction > 0.5f || (fraction == 0.5f && odd) ? whole + 1.0f : whole;",
		"}"];
}
