// Layout ops on quantized tensors copy integers. Where TFLite refuses different input and output parameters (PACK,
// UNPACK, REDUCE_MAX, REDUCE_MIN), a requantize (QQuantize integer to integer) gives the copy the output's meaning.
import { irAttr } from "../../../graph/irAttr";
import { setQuantAttrs } from "../../../quant/params";
import type { TfliteTensor } from "../types";
import type { OpContext } from "./context";
import { isQuantizedDtype, tensorQuant } from "./context";

/** A tensor's per-tensor scale and zero point, or undefined when it is not quantized. */
export function perTensorQuant(ctx: OpContext, tensor: TfliteTensor): { scale: number; zeroPoint: number } | undefined {
	const dtype = ctx.dtypeOf(tensor);
	if (!isQuantizedDtype(dtype) || dtype === "int32" || dtype === "int64") return undefined;
	const q = tensorQuant(tensor);
	if (!q) return undefined;
	if (q.scale.length !== 1) ctx.fail(`its tensor "${tensor.name}" is quantized per channel (${q.scale.length} scales); layout ops read per-tensor quantization`);
	return { scale: Math.fround(q.scale[0]), zeroPoint: q.zeroPoint[0] };
}

/** Whether two tensors carry the same quantization (both float, or equal float32 scale and zero point). */
export function sameQuantization(ctx: OpContext, a: TfliteTensor, b: TfliteTensor): boolean {
	const qa = perTensorQuant(ctx, a);
	const qb = perTensorQuant(ctx, b);
	if (!qa || !qb) return !qa && !qb;
	return qa.scale === qb.scale && qa.zeroPoint === qb.zeroPoint;
}

/**
 * `x` (integers quantized as `from`) requantized to the quantization of `to`, as TFLite's QUANTIZE does between
 * integer types; `x` itself when both are the same.
 */
export function requantizeTo(ctx: OpContext, x: string, from: TfliteTensor, to: TfliteTensor, suffix: string): string {
	if (sameQuantization(ctx, from, to)) return x;
	const source = perTensorQuant(ctx, from);
	const target = perTensorQuant(ctx, to);
	if (!source || !target) return ctx.fail(`tensors "${from.name}" and "${to.name}" are not both quantized; a layout op keeps its input's type`);
	const attr = setQuantAttrs({}, {
		inScale: [source.scale], inZeroPoint: [source.zeroPoint], filterScale: [], filterZeroPoint: [],
		outScale: target.scale, outZeroPoint: target.zeroPoint, outType: ctx.dtypeOf(to), activation: "NONE",
	});
	// No runtime path to match here: TFLite's Requantize (31-bit multiplier) rather than XNNPACK's 8-bit one.
	attr.reference_requantize = irAttr.b(true);
	return ctx.add("QQuantize", suffix, [x], attr);
}
