// Constant index arguments of ONNX nodes (axes, starts, pads, shapes) as the IR's int32 constants.

import { makeTensor, numbers } from "../../../graph/tensor";
import type { TranslateContext } from "../translator";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** The integer values of constant input `index`; fails naming the input when it is computed at run time. */
export function constInts(ctx: TranslateContext, index: number, what: string): number[] {
	const value = ctx.constant(index);
	if (!value) ctx.fail(`its ${what} (input ${index}) must be a constant (an initializer, a Constant node or computed from them)`);
	return Array.from(numbers(value));
}

/** An int32 Const; int64 bounds such as INT64_MAX clamp into int32, which means the same for any real dimension. */
export function intConst(ctx: TranslateContext, suffix: string, values: readonly number[], shape: number[] = [values.length]): string {
	const clamped = values.map((v) => Math.min(INT32_MAX, Math.max(INT32_MIN, v)));
	return ctx.addConst(suffix, makeTensor("int32", shape, clamped));
}

/** A possibly negative axis resolved against `rank`; fails naming the attribute when out of range. */
export function axisOf(ctx: TranslateContext, axis: number, rank: number, what = "axis"): number {
	if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
		ctx.fail(`${what} ${axis} is out of range for a tensor of rank ${rank} (expected ${-rank} to ${rank - 1})`);
	}
	return axis < 0 ? axis + rank : axis;
}
