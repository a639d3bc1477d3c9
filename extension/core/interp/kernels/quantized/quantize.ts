import { type GraphNode, attrBool } from "../../../graph/graph";
import type { DType, Tensor } from "../../../graph/tensor";
import { type QuantizedMultiplier, clamp, multiplyByQuantizedMultiplier, quantizeMultiplier, quantizedRange, roundHalfAway } from "../../../quant/arith";
import { quantAttrs } from "../../../quant/params";
import type { Kernel } from "../../kernel";
import { arity, fail, newTensor, values } from "../util";
import { quantizedOutType, quantizedOutput, quantizedValues } from "./qtensor";
import { xnnConvertBias, xnnConvertElement, xnnConvertMultiplier } from "./xnnpack";

// QUANTIZE and DEQUANTIZE as TFLite's quantize.cc and dequantize.cc: float to integer by AffineQuantize (the
// quotient by the scale in double, rounded half away from zero), integer to integer by Requantize with a fixed-point
// multiplier, integer to float as (q - zero_point) * scale rounded once to float32. TFLite's runtime hands int8 to
// int8 and uint8 to uint8 requantizations in XNNPACK's range to XNNPACK's convert, so those take its arithmetic;
// requantizes the front end adds itself (reference_requantize) keep TFLite's Requantize.

/** Requantize's multiplier (input_scale / output_scale in double) and zero points, or XNNPACK's convert's. */
export interface RequantizeParams {
	multiplier: QuantizedMultiplier;
	inputZeroPoint: number;
	outputZeroPoint: number;
	min: number;
	max: number;
	/** XNNPACK's 8.8 fixed-point multiplier and bias, when the runtime's delegate takes this requantization. */
	xnnpack?: { multiplier: number; bias: number };
}

export function requantizeParams(node: GraphNode, inType: DType): RequantizeParams {
	const q = quantAttrs(node);
	const outType = quantizedOutType(node, q.outType);
	const { min, max } = quantizedRange(outType);
	if (!(q.inScale[0] > 0)) fail(node, `the input scale ${q.inScale[0]} must be positive to requantize`);
	const sameType = inType === outType && (outType === "int8" || outType === "uint8");
	const xnnMultiplier = attrBool(node, "reference_requantize", false) ? undefined : xnnConvertMultiplier(q.inScale[0], q.outScale, sameType);
	const xnnpack = xnnMultiplier === undefined ? undefined : { multiplier: xnnMultiplier, bias: xnnConvertBias(xnnMultiplier, q.inZeroPoint[0], q.outZeroPoint) };
	return { multiplier: quantizeMultiplier(q.inScale[0] / q.outScale), inputZeroPoint: q.inZeroPoint[0], outputZeroPoint: q.outZeroPoint, min, max, xnnpack };
}

export function requantizeElement(p: RequantizeParams, x: number): number {
	if (p.xnnpack) return clamp(xnnConvertElement(p.xnnpack.multiplier, p.xnnpack.bias, x), p.min, p.max);
	return clamp(multiplyByQuantizedMultiplier(x - p.inputZeroPoint, p.multiplier.multiplier, p.multiplier.shift) + p.outputZeroPoint, p.min, p.max);
}

/** AffineQuantize of one float32 value; NaN goes to the type's minimum, as the C's clamped conversion does. */
export function affineQuantize(x: number, scale: number, zeroPoint: number, min: number, max: number): number {
	const quotient = x / scale;
	const bounded = quotient > -1e9 ? Math.min(quotient, 1e9) : -1e9;
	return clamp(roundHalfAway(bounded) + zeroPoint, min, max);
}

const quantizeKernel: Kernel = (inputs: Tensor[], node: GraphNode) => {
	arity(node, inputs, 1);
	const [x] = inputs;
	const q = quantAttrs(node);
	const { tensor, data } = quantizedOutput(node, q.outType, x.shape);
	if (x.dtype === "float32") {
		const xv = values(node, x);
		const { min, max } = quantizedRange(quantizedOutType(node, q.outType));
		for (let i = 0; i < data.length; i++) data[i] = affineQuantize(xv[i], q.outScale, q.outZeroPoint, min, max);
	} else {
		const xv = quantizedValues(node, x);
		const p = requantizeParams(node, x.dtype);
		for (let i = 0; i < data.length; i++) data[i] = requantizeElement(p, xv[i]);
	}
	return [tensor];
};

const dequantizeKernel: Kernel = (inputs: Tensor[], node: GraphNode) => {
	arity(node, inputs, 1);
	const [x] = inputs;
	const xv = quantizedValues(node, x);
	const q = quantAttrs(node);
	const scale = Math.fround(q.inScale[0]);
	const zeroPoint = q.inZeroPoint[0];
	const { tensor, data } = newTensor("float32", x.shape);
	for (let i = 0; i < data.length; i++) data[i] = Math.fround(scale * (xv[i] - zeroPoint));
	return [tensor];
};

export const QUANTIZE_KERNELS: ReadonlyMap<string, Kernel> = new Map([["QQuantize", quantizeKernel], ["QDequantize", dequantizeKernel]]);
