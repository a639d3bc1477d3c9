// ONNX shape and layout ops as TensorFlow layout ops. Index arguments (axes, starts, pads, perm...) must be
// constant, as the compiler copies by tables computed at compile time; the leading (batch) dimension is written as
// -1 where the semantics allow, so a config feeding another batch size still reshapes correctly.

import { type Tensor, checkTensorSize, makeTensor, numbers, scalar, shapeSize } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import type { OnnxTranslator, TranslateContext, TranslatorFamily } from "../translator";
import { axisOf, constInts, intConst } from "./indexArgs";
import { padTranslator } from "./pad";

/** Axes from the attribute before `inputSince` and from input 1 from then on (Squeeze, Unsqueeze, Reduce*). */
function axesOf(ctx: TranslateContext, inputSince: number): number[] | undefined {
	if (ctx.opset < inputSince) return ctx.hasAttr("axes") ? ctx.attrInts("axes") : undefined;
	return ctx.has(1) ? constInts(ctx, 1, "axes") : undefined;
}

function identity(ctx: TranslateContext): void {
	ctx.output(0, ctx.add("Identity", "identity", [ctx.input(0)]));
}

function reshapeTo(ctx: TranslateContext, suffix: string, input: string, dims: number[]): string {
	return ctx.add("Reshape", suffix, [input, intConst(ctx, `${suffix}/shape`, dims)]);
}

/** Writes -1 for the leading dimension when it equals the input's and nothing else is inferred. */
function batchRobust(inputShape: readonly number[], dims: number[]): number[] {
	const rest = shapeSize(dims.slice(1));
	if (dims.length === 0 || inputShape.length === 0 || dims.includes(-1) || rest === 0) return dims;
	return dims[0] === inputShape[0] ? [-1, ...dims.slice(1)] : dims;
}

const reshape: OnnxTranslator = (ctx) => {
	const inputShape = ctx.shape(0);
	const target = ctx.constant(1);
	if (!target) {
		// A shape computed at run time (Shape -> Concat chains) folds at compile time; 0 means 0 there.
		ctx.output(0, ctx.add("Reshape", "reshape", [ctx.input(0), ctx.input(1)]));
		return;
	}
	const allowZero = ctx.opset >= 14 && ctx.attrInt("allowzero", 0) !== 0;
	const dims = Array.from(numbers(target)).map((d, i) => {
		if (d !== 0 || allowZero) return d;
		if (i >= inputShape.length) ctx.fail(`shape entry ${i} is 0 (copy the input's dimension), but the input ${JSON.stringify(inputShape)} has only ${inputShape.length} dimensions`);
		return inputShape[i];
	});
	ctx.output(0, reshapeTo(ctx, "reshape", ctx.input(0), batchRobust(inputShape, dims)));
};

const flatten: OnnxTranslator = (ctx) => {
	const shape = ctx.shape(0);
	const axis = ctx.attrInt("axis", 1);
	const at = axis < 0 ? axis + shape.length : axis;
	if (at < 0 || at > shape.length) ctx.fail(`axis ${axis} is out of range for a tensor of rank ${shape.length} (expected ${-shape.length} to ${shape.length})`);
	const inner = shapeSize(shape.slice(at));
	const dims = at === 0 ? [1, -1] : inner === 0 ? [shapeSize(shape.slice(0, at)), 0] : [-1, inner];
	ctx.output(0, reshapeTo(ctx, "flatten", ctx.input(0), dims));
};

const transpose: OnnxTranslator = (ctx) => {
	const rank = ctx.shape(0).length;
	const reversed = Array.from({ length: rank }, (_, i) => rank - 1 - i);
	const perm = ctx.attrInts("perm", reversed).map((p) => axisOf(ctx, p, rank, "perm entry"));
	ctx.output(0, ctx.add("Transpose", "transpose", [ctx.input(0), intConst(ctx, "perm", perm)]));
};

const squeeze: OnnxTranslator = (ctx) => {
	const shape = ctx.shape(0);
	const given = axesOf(ctx, 13);
	// Without axes every size-1 dimension goes, judged on the declared shapes so a later batch does not change the rank.
	const axes = given ? given.map((a) => axisOf(ctx, a, shape.length)) : shape.flatMap((d, i) => (d === 1 ? [i] : []));
	for (const a of axes) if (shape[a] !== 1) ctx.fail(`cannot squeeze axis ${a} of shape ${JSON.stringify(shape)}: its size is ${shape[a]}, not 1`);
	if (axes.length === 0) return identity(ctx);
	ctx.output(0, ctx.add("Squeeze", "squeeze", [ctx.input(0)], { squeeze_dims: irAttr.ints(axes) }));
};

const unsqueeze: OnnxTranslator = (ctx) => {
	const given = axesOf(ctx, 13);
	if (!given) return ctx.fail("it has no axes; give the axes to insert");
	const rank = ctx.shape(0).length + given.length;
	const axes = given.map((a) => axisOf(ctx, a, rank)).sort((a, b) => a - b);
	if (new Set(axes).size !== axes.length) ctx.fail(`axes [${given.join(",")}] name an output axis twice`);
	// Inserting in increasing output position leaves every earlier insertion where it belongs.
	let tensor = ctx.input(0);
	for (const axis of axes) tensor = ctx.add("ExpandDims", "unsqueeze", [tensor, intConst(ctx, "unsqueeze/axis", [axis], [])]);
	ctx.output(0, tensor);
};

const concat: OnnxTranslator = (ctx) => {
	const present = Array.from({ length: ctx.inputCount }, (_, i) => i).filter((i) => ctx.has(i));
	const rank = ctx.shape(present[0]).length;
	const axis = axisOf(ctx, ctx.attrInt("axis"), rank);
	const inputs = present.map((i) => ctx.input(i));
	ctx.output(0, ctx.add("ConcatV2", "concat", [...inputs, intConst(ctx, "axis", [axis], [])], { N: irAttr.i(inputs.length) }));
};

/** Piece sizes: the split attribute (opset < 13) or input (13+), else num_outputs (18+) or the output count. */
function splitSizes(ctx: TranslateContext, dim: number): number[] {
	if (ctx.opset < 13 && ctx.hasAttr("split")) return ctx.attrInts("split");
	if (ctx.opset >= 13 && ctx.has(1)) return constInts(ctx, 1, "split");
	const count = ctx.opset >= 18 && ctx.hasAttr("num_outputs") ? ctx.attrInt("num_outputs") : ctx.node.outputs.length;
	if (ctx.opset >= 18 && ctx.hasAttr("num_outputs")) {
		// Opset 18: ceil(dim / n) each, the last piece smaller when dim does not divide.
		const piece = Math.ceil(dim / count);
		return Array.from({ length: count }, (_, i) => Math.max(0, Math.min(piece, dim - i * piece)));
	}
	if (dim % count !== 0) ctx.fail(`the split axis has size ${dim}, which does not divide into ${count} equal outputs; give the split sizes`);
	return new Array<number>(count).fill(dim / count);
}

const split: OnnxTranslator = (ctx) => {
	const shape = ctx.shape(0);
	const axis = axisOf(ctx, ctx.attrInt("axis", 0), shape.length);
	const sizes = splitSizes(ctx, shape[axis]);
	if (sizes.reduce((a, b) => a + b, 0) !== shape[axis]) ctx.fail(`split sizes [${sizes.join(",")}] do not add up to ${shape[axis]}, the size of axis ${axis}`);
	const node = ctx.add("SplitV", "split", [ctx.input(0), intConst(ctx, "sizes", sizes), intConst(ctx, "axis", [axis], [])], {
		num_split: irAttr.i(sizes.length),
	});
	sizes.forEach((_, i) => ctx.output(i, i === 0 ? node : `${node}:${i}`));
};

/**
 * ONNX Slice clamps and wraps starts and ends exactly as StridedSlice does (negative counts from the end, the
 * far bound of a negative step may be "before 0"), so values go over unchanged; unlisted axes are masked whole.
 */
const slice: OnnxTranslator = (ctx) => {
	const rank = ctx.shape(0).length;
	const legacy = ctx.opset < 10;
	const starts = legacy ? ctx.attrInts("starts") : constInts(ctx, 1, "starts");
	const ends = legacy ? ctx.attrInts("ends") : constInts(ctx, 2, "ends");
	const axes = legacy ? ctx.attrInts("axes", starts.map((_, i) => i)) : ctx.has(3) ? constInts(ctx, 3, "axes") : starts.map((_, i) => i);
	const steps = !legacy && ctx.has(4) ? constInts(ctx, 4, "steps") : starts.map(() => 1);
	if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
		ctx.fail(`starts, ends, axes and steps must have the same length, got ${starts.length}, ${ends.length}, ${axes.length} and ${steps.length}`);
	}
	const begin = new Array<number>(rank).fill(0);
	const end = new Array<number>(rank).fill(0);
	const strides = new Array<number>(rank).fill(1);
	let mask = (1 << rank) - 1;
	axes.forEach((a, i) => {
		const axis = axisOf(ctx, a, rank);
		if (!(mask & (1 << axis))) ctx.fail(`axis ${axis} is sliced twice`);
		if (steps[i] === 0) ctx.fail(`step ${i} is 0`);
		mask &= ~(1 << axis);
		[begin[axis], end[axis], strides[axis]] = [starts[i], ends[i], steps[i]];
	});
	const inputs = [ctx.input(0), intConst(ctx, "begin", begin), intConst(ctx, "end", end), intConst(ctx, "strides", strides)];
	ctx.output(0, ctx.add("StridedSlice", "slice", inputs, { begin_mask: irAttr.i(mask), end_mask: irAttr.i(mask) }));
};

/** Gather: constant indices are wrapped here; indices fed at run time are cast to int32 and wrapped by the graph. */
const gather: OnnxTranslator = (ctx) => {
	const shape = ctx.shape(0);
	const axis = axisOf(ctx, ctx.attrInt("axis", 0), shape.length);
	const dim = shape[axis];
	const known = ctx.constant(1);
	let indices: string;
	if (known) {
		const wrapped = Array.from(numbers(known)).map((i) => (i < 0 ? i + dim : i));
		const bad = wrapped.findIndex((i) => i < 0 || i >= dim);
		if (bad >= 0) ctx.fail(`index ${numbers(known)[bad]} is out of range for axis ${axis} of size ${dim}`);
		indices = intConst(ctx, "indices", wrapped, [...known.shape]);
	} else {
		indices = ctx.input(1);
		if (ctx.dtype(1) !== "int32") indices = ctx.add("Cast", "indices/int32", [indices], { DstT: irAttr.type("int32") });
		const zero = intConst(ctx, "indices/zero", [0], []);
		const negative = ctx.add("Less", "indices/negative", [indices, zero]);
		const shifted = ctx.add("AddV2", "indices/wrapped", [indices, intConst(ctx, "indices/size", [dim], [])]);
		indices = ctx.add("SelectV2", "indices/select", [negative, shifted, indices]);
	}
	ctx.output(0, ctx.add("GatherV2", "gather", [ctx.input(0), indices, intConst(ctx, "axis", [axis], [])]));
};

/** Expand broadcasts both ways: the output takes the larger of each pair of dimensions. */
const expand: OnnxTranslator = (ctx) => {
	const shape = ctx.shape(0);
	const target = constInts(ctx, 1, "shape");
	const rank = Math.max(shape.length, target.length);
	const a = [...new Array<number>(rank - shape.length).fill(1), ...shape];
	const b = [...new Array<number>(rank - target.length).fill(1), ...target];
	const out = a.map((d, i) => {
		if (d !== b[i] && d !== 1 && b[i] !== 1) ctx.fail(`cannot broadcast shape ${JSON.stringify(shape)} with [${target.join(",")}] (axis ${i}: ${d} against ${b[i]})`);
		return d === 1 ? b[i] : d;
	});
	ctx.output(0, ctx.add("BroadcastTo", "expand", [ctx.input(0), intConst(ctx, "shape", out)]));
};

const tile: OnnxTranslator = (ctx) => {
	const repeats = ctx.constant(1) ? intConst(ctx, "repeats", constInts(ctx, 1, "repeats")) : ctx.input(1);
	ctx.output(0, ctx.add("Tile", "tile", [ctx.input(0), repeats]));
};

const shapeOp: OnnxTranslator = (ctx) => {
	const rank = ctx.shape(0).length;
	const shape = ctx.add("Shape", "shape", [ctx.input(0)], { out_type: irAttr.type("int64") });
	const start = ctx.opset >= 15 ? ctx.attrInt("start", 0) : 0;
	const hasEnd = ctx.opset >= 15 && ctx.hasAttr("end");
	if (start === 0 && !hasEnd) return ctx.output(0, shape);
	const inputs = [shape, intConst(ctx, "begin", [start]), intConst(ctx, "end", [hasEnd ? ctx.attrInt("end") : rank]), intConst(ctx, "strides", [1])];
	ctx.output(0, ctx.add("StridedSlice", "slice", inputs, { end_mask: irAttr.i(hasEnd ? 0 : 1) }));
};

const constantOfShape: OnnxTranslator = (ctx) => {
	const value: Tensor = ctx.hasAttr("value") ? ctx.attrTensor("value") : scalar("float32", 0);
	if (shapeSize(value.shape) !== 1) ctx.fail(`its value must hold one element, got shape ${JSON.stringify(value.shape)}`);
	const fill = ctx.addConst("value", makeTensor(value.dtype, [], [numbers(value)[0]]));
	ctx.output(0, ctx.add("Fill", "fill", [ctx.input(0), fill]));
};

/** Range with ONNX's length, max(ceil((limit - start) / delta), 0), and elements start + i * delta. */
const range: OnnxTranslator = (ctx) => {
	const [start, limit, delta] = [0, 1, 2].map((i) => ctx.constant(i));
	if (!start || !limit || !delta) {
		ctx.output(0, ctx.add("Range", "range", [ctx.input(0), ctx.input(1), ctx.input(2)], { Tidx: irAttr.type(ctx.dtype(0)) }));
		return;
	}
	const [s, l, d] = [start, limit, delta].map((t) => numbers(t)[0]);
	if (d === 0) ctx.fail("delta is 0");
	if (![s, l, d].every(Number.isFinite)) ctx.fail(`start ${s}, limit ${l} and delta ${d} must all be finite`);
	const count = Math.max(Math.ceil((l - s) / d), 0);
	checkTensorSize(start.dtype, [count], `node "${ctx.node.name}" (Range)`);
	ctx.output(0, ctx.addConst("range", makeTensor(start.dtype, [count], Array.from({ length: count }, (_, i) => s + i * d))));
};

export const LAYOUT_TRANSLATORS: TranslatorFamily = new Map<string, OnnxTranslator>([
	["Reshape", reshape],
	["Flatten", flatten],
	["Transpose", transpose],
	["Squeeze", squeeze],
	["Unsqueeze", unsqueeze],
	["Concat", concat],
	["Split", split],
	["Slice", slice],
	["Gather", gather],
	["Expand", expand],
	["Tile", tile],
	["Shape", shapeOp],
	["ConstantOfShape", constantOfShape],
	["Range", range],
	["Pad", padTranslator],
]);
