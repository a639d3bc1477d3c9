// The quantization attributes every quantized IR op (the Q* ops) carries: the parameters of its inputs, its filter
// (per tensor or per channel) and its output, and its fused activation. Front ends write them; the interpreter's
// quantized kernels and the integer back end read them, so neither needs the producing node of an input.
import type { AttrValue } from "../graph/attr";
import { type GraphNode, attrFloat, attrFloats, attrInt, attrInts, attrString, attrType, hasAttr } from "../graph/graph";
import { irAttr } from "../graph/irAttr";
import type { DType } from "../graph/tensor";

export interface QuantAttrs {
	/** One entry per input position (filter and bias positions: ignored by kernels). */
	inScale: number[];
	inZeroPoint: number[];
	/** Per tensor (length 1) or per output channel. Empty for ops without a filter. */
	filterScale: number[];
	filterZeroPoint: number[];
	outScale: number;
	outZeroPoint: number;
	outType: DType;
	/** NONE, RELU, RELU_N1_TO_1 or RELU6. */
	activation: string;
}

/** A tensor's own quantization, for display and for the quantizer: `_quant_*` attributes of its producer. */
export interface TensorQuantization {
	scale: number[];
	zeroPoint: number[];
	axis: number;
}

export function quantAttrs(node: GraphNode): QuantAttrs {
	return {
		inScale: attrFloats(node, "in_scale", []),
		inZeroPoint: attrInts(node, "in_zero_point", []),
		filterScale: attrFloats(node, "filter_scale", []),
		filterZeroPoint: attrInts(node, "filter_zero_point", []),
		outScale: attrFloat(node, "out_scale", 0),
		outZeroPoint: attrInt(node, "out_zero_point", 0),
		outType: attrType(node, "out_type", "float32"),
		activation: attrString(node, "activation", "NONE"),
	};
}

/** Writes `q` into an attribute map; float values are stored as float32, as TFLite stores scales. */
export function setQuantAttrs(attrs: Record<string, AttrValue>, q: Partial<QuantAttrs>): Record<string, AttrValue> {
	if (q.inScale) attrs.in_scale = irAttr.floats(q.inScale.map(Math.fround));
	if (q.inZeroPoint) attrs.in_zero_point = irAttr.ints(q.inZeroPoint);
	if (q.filterScale) attrs.filter_scale = irAttr.floats(q.filterScale.map(Math.fround));
	if (q.filterZeroPoint) attrs.filter_zero_point = irAttr.ints(q.filterZeroPoint);
	if (q.outScale !== undefined) attrs.out_scale = irAttr.f(Math.fround(q.outScale));
	if (q.outZeroPoint !== undefined) attrs.out_zero_point = irAttr.i(q.outZeroPoint);
	if (q.outType !== undefined) attrs.out_type = irAttr.type(q.outType);
	if (q.activation !== undefined) attrs.activation = irAttr.s(q.activation);
	return attrs;
}

export function tensorQuantization(node: GraphNode): TensorQuantization | undefined {
	if (!hasAttr(node, "_quant_scale")) return undefined;
	return { scale: attrFloats(node, "_quant_scale"), zeroPoint: attrInts(node, "_quant_zero_point", []), axis: attrInt(node, "_quant_axis", 0) };
}

export function setTensorQuantization(attrs: Record<string, AttrValue>, q: TensorQuantization): Record<string, AttrValue> {
	attrs._quant_scale = irAttr.floats(q.scale.map(Math.fround));
	attrs._quant_zero_point = irAttr.ints(q.zeroPoint);
	attrs._quant_axis = irAttr.i(q.axis);
	return attrs;
}
