import { type AddParams, type MulParams, addParams, mulParams } from "../../interp/kernels/quantized/elementwise";
import type { EmitContext, KernelEmitter } from "../emitKernels";
import type { KernelStep } from "../program";
import { broadcastIndex, intLiteral, pointers, quantizedCType } from "./cQuant";

// Quantized ADD, SUB and MUL in integer C: the interpreter's parameters as literals, the same element function per
// output element: XNNPACK's (int8/uint8 within its scale limits, as the runtime's delegate) or TFLite's Prepare and
// reference kernels (int16, other scales). Measured equal to TFLite's runtime on every element of full sweeps.

export const Q_FIDELITY: Record<string, "exact" | "within 1 step"> = { QAdd: "exact", QSub: "exact", QMul: "exact" };

function operands(step: KernelStep, ctx: EmitContext): [string, string] {
	const out = step.outputs[0];
	return [`(int)in0[${broadcastIndex(step.inputs[0], out, ctx)}]`, `(int)in1[${broadcastIndex(step.inputs[1], out, ctx)}]`];
}

function addBody(p: AddParams, a: string, b: string): string[] {
	if (p.xnnpack) {
		const x = p.xnnpack;
		// int32 arithmetic wrapping as XNNPACK's does, written unsigned so that C does not call it undefined.
		const sum = `(unsigned int)${intLiteral(x.bias)} + (unsigned int)(${a} * ${intLiteral(x.aMultiplier)}) + (unsigned int)(${b} * ${intLiteral(x.bMultiplier)})`;
		return [`const int v = ((int)(${sum}) >> ${x.shift}) + ${intLiteral(p.outputOffset)};`];
	}
	const [m1, m2] = p.inputMultipliers;
	const shift = `(1 << ${p.leftShift})`;
	return [
		`const int a = (${a} + ${intLiteral(p.inputOffsets[0])}) * ${shift};`,
		`const int b = (${b} + ${intLiteral(p.inputOffsets[1])}) * ${shift};`,
		`const int sum = knn_q_mul(a, ${intLiteral(m1.multiplier)}, ${m1.shift}) + knn_q_mul(b, ${intLiteral(m2.multiplier)}, ${m2.shift});`,
		`const int v = knn_q_mul(sum, ${intLiteral(p.output.multiplier)}, ${p.output.shift}) + ${intLiteral(p.outputOffset)};`,
	];
}

function mulBody(p: MulParams, a: string, b: string): string[] {
	const product = `const int product = (${a} + ${intLiteral(p.inputOffsets[0])}) * (${b} + ${intLiteral(p.inputOffsets[1])});`;
	if (p.xnnpack) {
		const { mantissa, exponent } = p.xnnpack.parts;
		return [product, `const int v = knn_q_fp32(product, ${mantissa}, ${-exponent}) + ${intLiteral(p.outputOffset)};`];
	}
	return [
		product,
		`const int v = knn_q_mul(product, ${intLiteral(p.output.multiplier)}, ${p.output.shift}) + ${intLiteral(p.outputOffset)};`,
	];
}

export const quantizedBinaryOp: KernelEmitter = (step, ctx) => {
	const [a, b] = operands(step, ctx);
	const out = step.outputs[0];
	const type = quantizedCType(step, out);
	const p = step.op === "QMul" ? mulParams(step.node) : addParams(step.node, step.op === "QSub");
	const body = step.op === "QMul" ? mulBody(p as MulParams, a, b) : addBody(p as AddParams, a, b);
	return [
		...pointers(step, ctx), `for (int i = 0; i < ${out.size}; ++i) {`, ...body.map((l) => `\t${l}`),
		`\tout[i] = (${type})knn_q_clamp(v, ${p.min}, ${p.max});`, "}",
	];
};
