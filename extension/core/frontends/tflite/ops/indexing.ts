// TRANSPOSE, SLICE, PACK, UNPACK, SPLIT, SPLIT_V, GATHER, EXPAND_DIMS, TILE and BROADCAST_TO: copies, so float and
// quantized tensors take the same TensorFlow op. TFLite copies quantized integers as they are, except PACK and
// UNPACK, which it refuses with different parameters: there a requantize keeps the values' meaning.
import type { AttrValue } from "../../../graph/attr";
import { makeTensor, numbers } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import { setTensorQuantization } from "../../../quant/params";
import { BuiltinOperator } from "../types";
import type { OpContext } from "./context";
import { tensorQuant } from "./context";
import { type OpTranslator, T } from "./common";
import { int32Input } from "./layout";
import { requantizeTo } from "./requantize";

const INT32 = irAttr.type("int32");

/** Binds outputs 0..count-1 of multi-output `node`, each through `finish`; output 0 may rename the node itself. */
export function bindOutputs(ctx: OpContext, node: string, count: number, finish: (i: number, ref: string) => string = (_, ref) => ref): void {
	const first = finish(0, node);
	ctx.output(0, first);
	const name = first === node ? ctx.graph.reservedName(ctx.op.outputs[0]) : node;
	for (let i = 1; i < count; i++) ctx.output(i, finish(i, `${name}:${i}`));
}

/** The `_quant_*` attributes of input i, for an intermediate node that holds its integers. */
export function inputQuant(ctx: OpContext, i: number): Record<string, AttrValue> {
	const quant = tensorQuant(ctx.tensor(i));
	return quant && ctx.dtype(i) !== "float32" ? setTensorQuantization({}, quant) : {};
}

export function axisIn(ctx: OpContext, axis: number, rank: number): number {
	const resolved = axis < 0 ? axis + rank : axis;
	if (resolved < 0 || resolved >= rank) ctx.fail(`its axis ${axis} is out of range for rank ${rank}`);
	return resolved;
}

const transpose: OpTranslator = (ctx) => {
	ctx.output(0, ctx.add("Transpose", "Transpose", [ctx.input(0), int32Input(ctx, 1, "perm")], { ...T(ctx), Tperm: INT32 }));
};

/** A size of -1 reads to the end of the dimension, in TFLite as in TensorFlow. */
const slice: OpTranslator = (ctx) => {
	ctx.output(0, ctx.add("Slice", "Slice", [ctx.input(0), int32Input(ctx, 1, "begin"), int32Input(ctx, 2, "size")], { ...T(ctx), Index: INT32 }));
};

const pack: OpTranslator = (ctx) => {
	const axis = axisIn(ctx, ctx.num("axis", 0), ctx.shape(0).length + 1);
	const out = ctx.outTensor(0);
	const values = ctx.op.inputs.map((_, i) => requantizeTo(ctx, ctx.input(i), ctx.tensor(i), out, `requantize${i}`));
	ctx.output(0, ctx.add("Pack", "Pack", values, { ...T(ctx), N: irAttr.i(values.length), axis: irAttr.i(axis) }));
};

const unpack: OpTranslator = (ctx) => {
	const axis = axisIn(ctx, ctx.num("axis", 0), ctx.shape(0).length);
	const num = ctx.shape(0)[axis];
	if (ctx.outputCount !== num) ctx.fail(`it unpacks dimension ${axis} of size ${num} into ${ctx.outputCount} outputs`);
	const node = ctx.add("Unpack", "Unpack", [ctx.input(0)], { ...T(ctx), num: irAttr.i(num), axis: irAttr.i(axis), ...inputQuant(ctx, 0) });
	bindOutputs(ctx, node, num, (i, ref) => requantizeTo(ctx, ref, ctx.tensor(0), ctx.outTensor(i), `requantize${i}`));
};

/** Inputs: axis, value. */
const split: OpTranslator = (ctx) => {
	const parts = ctx.num("numSplits", ctx.outputCount);
	if (parts !== ctx.outputCount) ctx.fail(`its num_splits is ${parts} but it has ${ctx.outputCount} outputs`);
	bindOutputs(ctx, ctx.add("Split", "Split", [int32Input(ctx, 0, "axis"), ctx.input(1)], { T: irAttr.type(ctx.dtype(1)), num_split: irAttr.i(parts) }), parts);
};

/** Inputs: value, size_splits, axis. */
const splitV: OpTranslator = (ctx) => {
	const parts = ctx.outputCount;
	const node = ctx.add("SplitV", "SplitV", [ctx.input(0), int32Input(ctx, 1, "size splits"), int32Input(ctx, 2, "axis")], {
		...T(ctx), num_split: irAttr.i(parts), Tlen: INT32,
	});
	bindOutputs(ctx, node, parts);
};

/** Constant indices become int32 (the compiled gather reads int32); computed ones stay as they are. */
const gather: OpTranslator = (ctx) => {
	const rank = ctx.shape(0).length;
	const axis = axisIn(ctx, ctx.num("axis", 0), rank);
	const batchDims = ctx.num("batchDims", 0);
	const indicesValue = ctx.constant(1);
	const indices = indicesValue && indicesValue.dtype !== "int32"
		? ctx.addConst("indices", makeTensor("int32", indicesValue.shape, numbers(indicesValue)))
		: ctx.input(1);
	const indexType = indicesValue ? "int32" : ctx.dtype(1);
	ctx.output(0, ctx.add("GatherV2", "GatherV2", [ctx.input(0), indices, ctx.ints32("axis", [axis], [])], {
		Tparams: irAttr.type(ctx.dtype(0)), Tindices: irAttr.type(indexType), Taxis: INT32, batch_dims: irAttr.i(batchDims),
	}));
};

/** The output shape is declared, so a computed axis still gives a plain reshape. */
const expandDims: OpTranslator = (ctx) => {
	const axis = ctx.constant(1);
	if (axis) {
		ctx.output(0, ctx.add("ExpandDims", "ExpandDims", [ctx.input(0), ctx.ints32("axis", Array.from(numbers(axis)), [])], { ...T(ctx), Tdim: INT32 }));
		return;
	}
	ctx.output(0, ctx.add("Reshape", "Reshape", [ctx.input(0), ctx.ints32("shape", ctx.outShape())], { ...T(ctx), Tshape: INT32 }));
};

const tile: OpTranslator = (ctx) => {
	ctx.output(0, ctx.add("Tile", "Tile", [ctx.input(0), int32Input(ctx, 1, "multiples")], { ...T(ctx), Tmultiples: INT32 }));
};

const broadcastTo: OpTranslator = (ctx) => {
	ctx.output(0, ctx.add("BroadcastTo", "BroadcastTo", [ctx.input(0), int32Input(ctx, 1, "shape")], { ...T(ctx), Tidx: INT32 }));
};

export const INDEXING_TRANSLATORS: ReadonlyMap<number, OpTranslator> = new Map([
	[BuiltinOperator.TRANSPOSE, transpose],
	[BuiltinOperator.SLICE, slice],
	[BuiltinOperator.PACK, pack],
	[BuiltinOperator.UNPACK, unpack],
	[BuiltinOperator.SPLIT, split],
	[BuiltinOperator.SPLIT_V, splitV],
	[BuiltinOperator.GATHER, gather],
	[BuiltinOperator.EXPAND_DIMS, expandDims],
	[BuiltinOperator.TILE, tile],
	[BuiltinOperator.BROADCAST_TO, broadcastTo],
]);
