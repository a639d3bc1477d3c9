import { shapeSize } from "../../graph/tensor";
import { broadcastOffsets } from "../../interp/kernels/util";
import { CompileError } from "../compileError";
import { type EmitContext, cType } from "../emitKernels";
import type { Buffer, KernelStep } from "../program";

// Small pieces the integer emitters of the quantized elementwise ops, activations, SOFTMAX and CONCATENATION share.

/** The C element type of a quantized buffer (int8, uint8, int16), refusing others with the node's name. */
export function quantizedCType(step: KernelStep, buffer: Buffer): string {
	if (!["int8", "uint8", "int16"].includes(buffer.dtype)) {
		throw new CompileError(`node "${step.node.name}" (${step.op}): the integer back end takes int8, uint8 and int16 tensors here, got ${buffer.dtype}`);
	}
	return cType(buffer.dtype, `node "${step.node.name}"`);
}

/** Declarations of `in0`, `in1`, ... and `out` for a step's buffers. */
export function pointers(step: KernelStep, ctx: EmitContext, outType = quantizedCType(step, step.outputs[0])): string[] {
	return [
		...step.inputs.map((b, k) => `const ${quantizedCType(step, b)} *const in${k} = ${ctx.addr(b)};`),
		`${outType} *const out = ${ctx.addr(step.outputs[0], true)};`,
	];
}

/** How element i of the output reads `input` under numpy broadcasting: a C index expression. */
export function broadcastIndex(input: Buffer, output: Buffer, ctx: EmitContext): string {
	const offsets = broadcastOffsets(input.shape, output.shape);
	if (!offsets) return "i";
	if (shapeSize(input.shape) === 1) return "0";
	return `${ctx.table(offsets)}[i]`;
}

/** A signed int literal that is valid C for every int32 value. */
export function intLiteral(value: number): string {
	return value === -2147483648 ? "(-2147483647 - 1)" : String(value);
}
