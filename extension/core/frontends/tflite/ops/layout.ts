// RESHAPE, SQUEEZE, CONCATENATION, PAD, PADV2, STRIDED_SLICE and MEAN. On quantized tensors the pure layout ops stay
// TensorFlow's (TFLite requires equal input and output quantization for them); CONCATENATION and MEAN rescale, so
// they become Q ops.
import { makeTensor } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import { BuiltinOperator } from "../types";
import type { OpContext } from "./context";
import { tensorQuant } from "./context";
import { type OpTranslator, T, floatActivation, isQuantizedOp } from "./common";
import { constantInts } from "./elementwise";
import { addQuantized } from "./quantized";

/** The declared output shape: TFLite fixes it in the file, whether the new shape comes from options or an input. */
const reshape: OpTranslator = (ctx) => {
	const shape = ctx.outShape();
	ctx.output(0, ctx.add("Reshape", "Reshape", [ctx.input(0), ctx.ints32("shape", shape)], { ...T(ctx), Tshape: irAttr.type("int32") }));
};

const squeeze: OpTranslator = (ctx) => {
	const rank = ctx.shape(0).length;
	let dims = ctx.ints("squeezeDims").map((d) => (d < 0 ? d + rank : d));
	if (dims.length === 0) dims = ctx.shape(0).flatMap((d, i) => (d === 1 ? [i] : []));
	ctx.output(0, ctx.add("Squeeze", "Squeeze", [ctx.input(0)], { ...T(ctx), squeeze_dims: irAttr.ints(dims) }));
};

const concatenation: OpTranslator = (ctx) => {
	const rank = ctx.shape(0).length;
	const rawAxis = ctx.num("axis", 0);
	const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
	const positions = ctx.op.inputs.map((_, i) => i);
	if (isQuantizedOp(ctx)) {
		ctx.output(0, addQuantized(ctx, "QConcatenation", positions, { axis: irAttr.i(axis) }));
		return;
	}
	const y = ctx.add("ConcatV2", "ConcatV2", [...positions.map((i) => ctx.input(i)), ctx.ints32("axis", [axis], [])], {
		...T(ctx), N: irAttr.i(positions.length), Tidx: irAttr.type("int32"),
	});
	ctx.output(0, ctx.outDtype() === "float32" ? floatActivation(ctx, y) : y);
};

/** An int32 constant of a small integer input (paddings, axes), int64 ones narrowed. */
export function int32Input(ctx: OpContext, i: number, what: string): string {
	if (ctx.dtype(i) === "int32") return ctx.input(i);
	const value = ctx.requireConstant(i, what);
	return ctx.ints32(what.replace(/ /g, "_"), constantInts(ctx, i, what), value.shape);
}

/** PAD and PADV2; a quantized PAD pads with the output's zero point, which is what a real 0 quantizes to. */
const pad: OpTranslator = (ctx) => {
	const paddings = int32Input(ctx, 1, "paddings");
	const attr = { ...T(ctx), Tpaddings: irAttr.type("int32") };
	let constant: string | undefined;
	if (ctx.has(2)) {
		constant = ctx.input(2);
	} else if (isQuantizedOp(ctx)) {
		const zeroPoint = tensorQuant(ctx.outTensor(0))?.zeroPoint[0] ?? 0;
		constant = ctx.addConst("zero_point", makeTensor(ctx.outDtype(), [], [zeroPoint]));
	}
	ctx.output(0, constant ? ctx.add("PadV2", "PadV2", [ctx.input(0), paddings, constant], attr) : ctx.add("Pad", "Pad", [ctx.input(0), paddings], attr));
};

const stridedSlice: OpTranslator = (ctx) => {
	const begin = int32Input(ctx, 1, "begin");
	let end = int32Input(ctx, 2, "end");
	const strides = int32Input(ctx, 3, "strides");
	// With `offset`, end is relative to begin.
	if (ctx.bool("offset")) {
		const b = constantInts(ctx, 1, "begin");
		end = ctx.ints32("end_absolute", constantInts(ctx, 2, "end").map((e, k) => e + b[k]));
	}
	ctx.output(0, ctx.add("StridedSlice", "StridedSlice", [ctx.input(0), begin, end, strides], {
		...T(ctx), Index: irAttr.type("int32"), begin_mask: irAttr.i(ctx.num("beginMask", 0)), end_mask: irAttr.i(ctx.num("endMask", 0)),
		ellipsis_mask: irAttr.i(ctx.num("ellipsisMask", 0)), new_axis_mask: irAttr.i(ctx.num("newAxisMask", 0)),
		shrink_axis_mask: irAttr.i(ctx.num("shrinkAxisMask", 0)),
	}));
};

const mean: OpTranslator = (ctx) => {
	const keepDims = irAttr.b(ctx.bool("keepDims"));
	if (isQuantizedOp(ctx)) {
		ctx.requireConstant(1, "axes");
		ctx.output(0, addQuantized(ctx, "QMean", [0, 1], { keep_dims: keepDims }, { activation: "NONE" }));
		return;
	}
	ctx.output(0, ctx.add("Mean", "Mean", [ctx.input(0), int32Input(ctx, 1, "axes")], { ...T(ctx), Tidx: irAttr.type("int32"), keep_dims: keepDims }));
};

export const LAYOUT_TRANSLATORS: ReadonlyMap<number, OpTranslator> = new Map([
	[BuiltinOperator.RESHAPE, reshape],
	[BuiltinOperator.SQUEEZE, squeeze],
	[BuiltinOperator.CONCATENATION, concatenation],
	[BuiltinOperator.PAD, pad],
	[BuiltinOperator.PADV2, pad],
	[BuiltinOperator.STRIDED_SLICE, stridedSlice],
	[BuiltinOperator.MEAN, mean],
]);
