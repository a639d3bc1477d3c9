import { CompileError } from "./compileError";
import type { EmitContext } from "./emitKernels";
import type { MathFunction } from "./mathLibrary";
import type { KernelStep } from "./program";

/** The math library function behind each trigonometric and hyperbolic op; each is computed in double and rounded once. */
const TRIG_FUNCTIONS: Readonly<Record<string, MathFunction>> = {
	Tan: "tan", Atan: "atan", Asin: "asin", Acos: "acos", Sinh: "sinh", Cosh: "cosh", Asinh: "asinh", Acosh: "acosh", Atanh: "atanh",
};

/** Tan, Atan, Asin, Acos, Sinh, Cosh, Asinh, Acosh and Atanh on float32 tensors, elementwise. */
export function trigOp(step: KernelStep, ctx: EmitContext): string[] {
	const { node } = step;
	const [x] = step.inputs;
	const out = step.outputs[0];
	const fn = TRIG_FUNCTIONS[node.op];
	if (!fn) throw new CompileError(`node "${node.name}" (${node.op}): not a trigonometric op; the trigonometric emitter has ${Object.keys(TRIG_FUNCTIONS).join(", ")}.`);
	if (x.dtype !== "float32") throw new CompileError(`node "${node.name}" (${node.op}): the compiler computes ${node.op} on float32 only, and this input is ${x.dtype}; cast it to float32 first.`);
	return [`const float *const x = ${ctx.addr(x)};`, `float *const out = ${ctx.addr(out, true)};`,
		`for (int i = 0; i < ${out.size}; ++i) out[i] = ${ctx.math(fn)}(x[i]);`];
}
