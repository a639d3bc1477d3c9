import type { EmitContext } from "./emitKernels";
import type { KernelStep } from "./program";

/** Softsign(x) = x / (1 + |x|). */
export function softsignOp(step: KernelStep, ctx: EmitContext): string[] {
	const out = step.outputs[0];
	return [`const float *const x = ${ctx.addr(step.inputs[0])};`, `float *const out = ${ctx.addr(out, true)};`,
		`for (int i = 0; i < ${out.size}; ++i) out[i] = x[i] / (1.0f + (x[i] < 0.0f ? -x[i] : x[i]));`];
}
