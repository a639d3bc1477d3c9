import {
	type HardSwishParams, activationTable, hardSwishParams, int16SigmoidParams, leakyReluParams, reluParams,
} from "../../interp/kernels/quantized/activations";
import { SIGMOID_TABLE_UINT16 } from "../../interp/kernels/quantized/int16Lut";
import type { KernelEmitter } from "../emitKernels";
import { intLiteral, pointers, quantizedCType } from "./cQuant";

// Quantized activations in integer C. LOGISTIC and TANH index the 256-entry table TFLite's Prepare builds (computed
// here at compile time, in float32 steps as TFLite does); int16 ones interpolate TFLite's sigmoid table, or run
// gemmlowp's 16-bit fixed point for power-of-two input scales (cint/gemmlowp16.ts), as TFLite does; the others
// use the multipliers of TFLite's Prepare, except int8 LEAKY_RELU, which follows XNNPACK where the runtime uses it.

export const Q_FIDELITY: Record<string, "exact" | "within 1 step"> = {
	QLogistic: "exact", QTanh: "exact", QRelu: "exact", QRelu6: "exact", QLeakyRelu: "exact", QHardSwish: "exact",
};

function loop(size: number, body: string[]): string[] {
	return [`for (int i = 0; i < ${size}; ++i) {`, ...body.map((l) => `\t${l}`), "}"];
}

/** reference_integer_ops::Logistic/Tanh for int16, `table` naming sigmoid_table_uint16. */
function int16SigmoidBody(tanh: boolean, multiplier: number, shift: number, table: string): string[] {
	const round = shift > 0 ? 1 << (shift - 1) : 0;
	const bits = tanh ? 8 : 9;
	return [
		`const int input = ((int)in0[i] * ${multiplier} + ${round}) >> ${shift};`,
		"const unsigned int abs_input = (unsigned int)(input < 0 ? -input : input);",
		`const unsigned int uh = abs_input >> ${bits};`,
		`${tanh ? "int" : "unsigned int"} result = ${tanh ? "0xFFFF << 8" : "0x7FFFu << 10"};`,
		"",
		"if (uh < 255) {",
		`	const unsigned int ua = (unsigned int)${table}[uh];`,
		"",
		`	result = ${tanh ? "(int)" : ""}((ua << ${bits}) + (abs_input & ${(1 << bits) - 1}u) * ((unsigned int)${table}[uh + 1] - ua));`,
		"}",
		tanh
			? "result = input >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;"
			: "result = input >= 0 ? result + (1u << 9) : (1u << 25) - result + (1u << 9) - 1;",
		`out[i] = (short)(result >> ${tanh ? 8 : 10});`,
	];
}

export const quantizedTableOp: KernelEmitter = (step, ctx) => {
	const x = step.inputs[0];
	const type = quantizedCType(step, step.outputs[0]);
	if (x.dtype === "int16") {
		const p = int16SigmoidParams(step.node);
		if (p.multiplier === 0) {
			const call = step.op === "QTanh" ? `knn_q16_tanh(in0[i], ${p.shift})` : "knn_q16_logistic(in0[i])";
			return [...pointers(step, ctx), ...loop(x.size, [`out[i] = ${call};`])];
		}
		const table = ctx.table(Int32Array.from(SIGMOID_TABLE_UINT16));
		return [...pointers(step, ctx), ...loop(x.size, int16SigmoidBody(step.op === "QTanh", p.multiplier, p.shift, table))];
	}
	const table = ctx.table(Int32Array.from(activationTable(step.node, x.dtype)));
	return [...pointers(step, ctx), ...loop(x.size, [`out[i] = (${type})${table}[(unsigned char)in0[i]];`])];
};

export const quantizedReluOp: KernelEmitter = (step, ctx) => {
	const x = step.inputs[0];
	const type = quantizedCType(step, step.outputs[0]);
	const p = reluParams(step.node, x.dtype);
	const v = `${p.outputZeroPoint} + knn_q_mul((int)in0[i] - ${p.inputZeroPoint}, ${intLiteral(p.multiplier.multiplier)}, ${p.multiplier.shift})`;
	return [...pointers(step, ctx), ...loop(x.size, [`out[i] = (${type})knn_q_clamp(${v}, ${p.min}, ${p.max});`])];
};

export const quantizedLeakyReluOp: KernelEmitter = (step, ctx) => {
	const x = step.inputs[0];
	const type = quantizedCType(step, step.outputs[0]);
	const p = leakyReluParams(step.node, x.dtype);
	if (p.xnnpack) {
		const { bias, positive, negative } = p.xnnpack;
		return [...pointers(step, ctx), ...loop(x.size, [
			`const int v = (int)in0[i] - ${p.inputZeroPoint};`,
			`out[i] = (${type})knn_q_clamp((${bias} + v * (v >= 0 ? ${positive} : ${negative})) >> 8, ${p.min}, ${p.max});`,
		])];
	}
	return [...pointers(step, ctx), ...loop(x.size, [
		`const int v = (int)in0[i] - ${p.inputZeroPoint};`,
		`const int scaled = v >= 0 ? knn_q_mul(v, ${intLiteral(p.identity.multiplier)}, ${p.identity.shift}) : knn_q_mul(v, ${intLiteral(p.alpha.multiplier)}, ${p.alpha.shift});`,
		`out[i] = (${type})knn_q_clamp(${p.outputZeroPoint} + scaled, ${p.min}, ${p.max});`,
	])];
};

/** gemmlowp's int16 SaturatingRoundingDoublingHighMul of `a` by a non-negative constant. */
function srdhm16(a: string, b: number): string {
	return `(short)(((int)(${a}) * ${b} + ((int)(${a}) * ${b} >= 0 ? (1 << 14) : 1 - (1 << 14))) / (1 << 15))`;
}

function saturatingShiftLeft16(variable: string, amount: number): string {
	return `${variable} = (short)knn_q_clamp((int)${variable} * ${2 ** amount}, -32768, 32767);`;
}

/** reference_ops::HardSwish (quantized): int16 fixed point, the steps chosen here by the exponents' signs. */
function hardSwishBody(p: HardSwishParams, type: string): string[] {
	const lines = [
		`const short hires = (short)((short)((int)in0[i] - ${p.inputZeroPoint}) * 128);`,
		`const short preshift_output = ${srdhm16("hires", p.outputMultiplier)};`,
		"short reluish = hires;",
		"short preshift;",
	];
	if (p.reluishExponent > 0) lines.push(saturatingShiftLeft16("reluish", p.reluishExponent - 1));
	lines.push(`reluish = ${srdhm16("reluish", p.reluishMultiplier)};`);
	if (p.reluishExponent > 0) lines.push(saturatingShiftLeft16("reluish", 1));
	if (p.reluishExponent < 0) lines.push(`reluish = (short)knn_q_rdpot(reluish, ${-p.reluishExponent});`);
	lines.push(
		"reluish = (short)((reluish + (1 << 15)) >> 1);",
		"preshift = (short)((int)reluish * (int)preshift_output / (1 << 15));",
		`out[i] = (${type})knn_q_clamp((short)(knn_q_rdpot(preshift, ${-p.outputExponent}) + ${p.outputZeroPoint}), ${p.min}, ${p.max});`,
	);
	return lines;
}

export const quantizedHardSwishOp: KernelEmitter = (step, ctx) => {
	const x = step.inputs[0];
	const type = quantizedCType(step, step.outputs[0]);
	return [...pointers(step, ctx), ...loop(x.size, hardSwishBody(hardSwishParams(step.node, x.dtype), type))];
};
