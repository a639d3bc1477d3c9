import { concatLayout, rescaledInputs } from "../../interp/kernels/quantized/concat";
import { CompileError } from "../compileError";
import type { KernelEmitter } from "../emitKernels";
import { pointers } from "./cQuant";

// Quantized CONCATENATION in C: a copy, since TFLite requires the inputs to share the output's quantization (uint8
// inputs that do not are rescaled in float by TFLite, which the integer back end refuses).

export const Q_FIDELITY: Record<string, "exact" | "within 1 step"> = { QConcatenation: "exact" };

export const quantizedConcatOp: KernelEmitter = (step, ctx) => {
	const rescaled = rescaledInputs(step.node, step.inputs.length);
	if (rescaled.length > 0) {
		throw new CompileError(`node "${step.node.name}" (${step.op}): input ${rescaled[0]} has other quantization parameters than the output, which TFLite rescales in float; requantize it first (a QUANTIZE op) to compile without floating point`);
	}
	const layout = concatLayout(step.node, step.inputs.map((b) => b.shape));
	const total = layout.inner.reduce((a, b) => a + b, 0);
	const lines = [...pointers(step, ctx), `for (int o = 0; o < ${layout.outer}; ++o) {`];
	let at = 0;
	layout.inner.forEach((n, k) => {
		if (n > 0) lines.push(`\tfor (int j = 0; j < ${n}; ++j)`, `\t\tout[o * ${total} + ${at} + j] = in${k}[o * ${n} + j];`);
		at += n;
	});
	lines.push("}");
	return lines;
};
