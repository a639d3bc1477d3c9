// SUM, REDUCE_PROD, REDUCE_MAX, REDUCE_MIN, ARG_MAX, ARG_MIN, and the ops that make values from shapes: SHAPE,
// FILL, ZEROS_LIKE, RANGE. Max and min preserve order, so on quantized tensors they compare the integers; TFLite
// refuses different input and output parameters for them, where a requantize gives the result the output's meaning.
import { makeTensor } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import { BuiltinOperator } from "../types";
import { type OpTranslator, T, isQuantizedOp } from "./common";
import { inputQuant } from "./indexing";
import { int32Input } from "./layout";
import { requantizeTo } from "./requantize";

const INT32 = irAttr.type("int32");

function reducer(tfOp: "Sum" | "Prod" | "Max" | "Min"): OpTranslator {
	return (ctx) => {
		const orderOnly = tfOp === "Max" || tfOp === "Min";
		if (isQuantizedOp(ctx) && !orderOnly) {
			ctx.fail(`it rescales quantized ${ctx.dtype(0)} values; Kernel NN reads ${ctx.opName} on float32 and int32 tensors only (MEAN, REDUCE_MAX and REDUCE_MIN are read quantized)`);
		}
		const attr = { ...T(ctx), Tidx: INT32, keep_dims: irAttr.b(ctx.bool("keepDims")), ...inputQuant(ctx, 0) };
		const y = ctx.add(tfOp, tfOp, [ctx.input(0), int32Input(ctx, 1, "axes")], attr);
		ctx.output(0, isQuantizedOp(ctx) ? requantizeTo(ctx, y, ctx.tensor(0), ctx.outTensor(0), "requantize") : y);
	};
}

/** Ties give the first index, in TFLite as in TensorFlow. */
function argReduction(tfOp: "ArgMax" | "ArgMin"): OpTranslator {
	return (ctx) => {
		const outType = ctx.outDtype();
		if (outType !== "int32" && outType !== "int64") ctx.fail(`its output is ${outType}; ${ctx.opName} gives int32 or int64 indices`);
		ctx.output(0, ctx.add(tfOp, tfOp, [ctx.input(0), int32Input(ctx, 1, "axis")], { ...T(ctx), Tidx: INT32, output_type: irAttr.type(outType) }));
	};
}

/** The file declares the input's shape, so SHAPE is a constant. */
const shape: OpTranslator = (ctx) => {
	const dims = ctx.shape(0);
	ctx.output(0, ctx.addConst("Shape", makeTensor(ctx.outDtype(), [dims.length], dims)));
};

/** The value broadcast to the declared output shape, so a computed value still compiles. */
const fill: OpTranslator = (ctx) => {
	const out = ctx.outShape();
	ctx.output(0, ctx.add("BroadcastTo", "Fill", [ctx.input(1), ctx.ints32("shape", out)], { T: irAttr.type(ctx.dtype(1)), Tidx: INT32 }));
};

const zerosLike: OpTranslator = (ctx) => {
	ctx.output(0, ctx.add("ZerosLike", "ZerosLike", [ctx.input(0)], T(ctx)));
};

/** Folded to a constant when start, limit and delta are constants (as in converted models). */
const range: OpTranslator = (ctx) => {
	ctx.output(0, ctx.add("Range", "Range", [ctx.input(0), ctx.input(1), ctx.input(2)], { Tidx: irAttr.type(ctx.outDtype()) }));
};

export const REDUCE_TRANSLATORS: ReadonlyMap<number, OpTranslator> = new Map([
	[BuiltinOperator.SUM, reducer("Sum")],
	[BuiltinOperator.REDUCE_PROD, reducer("Prod")],
	[BuiltinOperator.REDUCE_MAX, reducer("Max")],
	[BuiltinOperator.REDUCE_MIN, reducer("Min")],
	[BuiltinOperator.ARG_MAX, argReduction("ArgMax")],
	[BuiltinOperator.ARG_MIN, argReduction("ArgMin")],
	[BuiltinOperator.SHAPE, shape],
	[BuiltinOperator.FILL, fill],
	[BuiltinOperator.ZEROS_LIKE, zerosLike],
	[BuiltinOperator.RANGE, range],
]);
