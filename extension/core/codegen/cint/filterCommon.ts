// C pieces the integer filter and window emitters (group A) share: the output rescaling of one channel (literals
// when every channel has the same multiplier, static tables otherwise; XNNPACK's fp32 form where the runtime runs
// XNNPACK) and the optional bias.
import { CompileError } from "../compileError";
import { type EmitContext, cType } from "../emitKernels";
import type { Buffer, KernelStep } from "../program";
import type { Tensor } from "../../graph/tensor";
import type { OutputScaling } from "../../interp/kernels/quantized/window";

/** A buffer as the interpreter's plan functions read it: its constant value, or its type and shape only. */
export function asTensor(buffer: Buffer): Tensor {
	return buffer.value ?? { dtype: buffer.dtype, shape: buffer.shape, data: [] };
}

export function qType(step: KernelStep, buffer: Buffer): string {
	return cType(buffer.dtype, `node "${step.node.name}"`);
}

/** The C expression of an output value from accumulator `acc` of channel `channel`, clamped to the activation. */
export function requantizeExpression(s: OutputScaling, acc: string, channel: string, ctx: EmitContext): string {
	if (s.fp32) {
		const { parts } = s.fp32;
		const uniform = parts.every((p) => p.mantissa === parts[0].mantissa && p.exponent === parts[0].exponent);
		const mantissa = uniform ? `${parts[0].mantissa}` : `${ctx.table(Int32Array.from(parts, (p) => p.mantissa))}[${channel}]`;
		const shift = uniform ? `${-parts[0].exponent}` : `${ctx.table(Int32Array.from(parts, (p) => -p.exponent))}[${channel}]`;
		return `knn_q_clamp(knn_q_fp32(${acc}, ${mantissa}, ${shift}) + ${s.q.outZeroPoint}, ${s.min}, ${s.max})`;
	}
	const uniform = s.multipliers.every((m, c) => m === s.multipliers[0] && s.shifts[c] === s.shifts[0]);
	const multiplier = uniform ? `${s.multipliers[0]}` : `${ctx.table(Int32Array.from(s.multipliers))}[${channel}]`;
	const shift = uniform ? `${s.shifts[0]}` : `${ctx.table(Int32Array.from(s.shifts))}[${channel}]`;
	const scaled = s.wide ? `knn_q_mul64(${acc}, ${multiplier}, ${shift})` : `knn_q_mul(${acc}, ${multiplier}, ${shift})`;
	return `knn_q_clamp(${scaled} + ${s.q.outZeroPoint}, ${s.min}, ${s.max})`;
}

/**
 * The statement adding the bias of channel `channel` to `acc`, or none. An int64 bias (16x8) must be a constant:
 * it is written as int tables (one, or high and low words when a value needs more than 32 bits).
 */
export function biasStatement(step: KernelStep, bias: Buffer | undefined, acc: string, channel: string, ctx: EmitContext): string[] {
	if (!bias) return [];
	if (bias.dtype === "int32") return [`${acc} += ${ctx.addr(bias)}[${channel}];`];
	if (bias.dtype !== "int64" || !bias.value) {
		throw new CompileError(`node "${step.node.name}" (${step.node.op}): the bias must be a constant int32 or int64 tensor, got a ${bias.kind} ${bias.dtype} tensor`);
	}
	const values = Array.from(bias.value.data as ArrayLike<number>);
	if (values.every((v) => v >= -2147483648 && v <= 2147483647)) return [`${acc} += ${ctx.table(Int32Array.from(values))}[${channel}];`];
	const high = Int32Array.from(values, (v) => Math.floor(v / 4294967296));
	const low = Int32Array.from(values, (v) => v - Math.floor(v / 4294967296) * 4294967296);
	return [`${acc} += (long long)${ctx.table(high)}[${channel}] * 4294967296LL + (long long)(unsigned int)${ctx.table(low)}[${channel}];`];
}

/** The lines finishing one output value (indented two levels): add channel `channel`'s bias to `acc`, requantize, clamp, store at `target`. */
export function finishOutput(step: KernelStep, s: OutputScaling, bias: Buffer | undefined, channel: string, target: string, ctx: EmitContext): string[] {
	const store = `${target} = (${qType(step, step.outputs[0])})${requantizeExpression(s, "acc", channel, ctx)};`;
	return [...biasStatement(step, bias, "acc", channel, ctx), store].map((line) => `\t\t${line}`);
}

/** A product term with its offset folded in, omitted when the offset is zero. */
export function offsetTerm(value: string, offset: number): string {
	return offset === 0 ? value : `(${value} + ${offset})`;
}
