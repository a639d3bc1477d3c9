// ONNX reductions and ArgMax/ArgMin as TensorFlow's Sum/Mean/Max/Min/Prod and ArgMax/ArgMin, with the derived
// reductions (L1, L2, sum of squares, log-sum, log-sum-exp) composed from them.

import { numbers, shapeSize } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import type { OnnxTranslator, TranslateContext, TranslatorFamily } from "../translator";
import { castTo, intsConst } from "./elementwise";

type IrReduction = "Sum" | "Mean" | "Max" | "Min" | "Prod";

/** Axes known only at run time (a graph input): the interpreter reduces over them, the compiler refuses them. */
interface RuntimeAxes {
	runtime: string;
}

/**
 * The reduced axes, sorted and non-negative, or undefined for "no reduction". Axes are an attribute until they
 * became an input (opset 13 for ReduceSum, 18 for the others); empty axes reduce everything unless
 * noop_with_empty_axes is set.
 */
function reducedAxes(ctx: TranslateContext, axesInputSince: number): number[] | RuntimeAxes | undefined {
	const rank = ctx.shape(0).length;
	let axes: number[] = [];
	if (ctx.opset < axesInputSince) {
		axes = ctx.attrInts("axes", []);
	} else if (ctx.has(1) && shapeSize(ctx.shape(1)) > 0) {
		const value = ctx.constant(1);
		if (!value) return { runtime: castTo(ctx, 1, "int32", "axes") };
		axes = Array.from(numbers(value));
	}
	if (axes.length === 0) return ctx.attrInt("noop_with_empty_axes", 0) === 1 ? undefined : [...Array(rank).keys()];
	for (const axis of axes) if (axis < -rank || axis >= Math.max(rank, 1)) ctx.fail(`reduction axis ${axis} is out of range for an input of rank ${rank}`);
	return [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
}

/** One IR reduction of `x` over `axes`. */
function reduceOver(ctx: TranslateContext, op: IrReduction, x: string, axes: number[] | RuntimeAxes, keepDims: boolean, suffix: string): string {
	const axesTensor = Array.isArray(axes) ? intsConst(ctx, `${suffix}/axes`, axes) : axes.runtime;
	return ctx.add(op, suffix, [x, axesTensor], { keep_dims: irAttr.b(keepDims), Tidx: irAttr.type("int32") });
}

/**
 * A reduction `before` -> IR reduction -> `after`: e.g. ReduceL2 is Square, Sum, Sqrt. With no axes to reduce
 * (noop_with_empty_axes) the element functions still apply, as ONNX's reference does.
 */
function reduction(op: IrReduction, before?: string, after?: string, axesInputSince = 18): OnnxTranslator {
	return (ctx) => {
		const axes = reducedAxes(ctx, axesInputSince);
		const keepDims = ctx.attrInt("keepdims", 1) === 1;
		let y = ctx.input(0);
		if (before) y = ctx.add(before, before.toLowerCase(), [y]);
		y = axes ? reduceOver(ctx, op, y, axes, keepDims, op.toLowerCase()) : ctx.add("Identity", "no_reduction", [y]);
		if (after) y = ctx.add(after, after.toLowerCase(), [y]);
		ctx.output(0, y);
	};
}

/** log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m the maximum, so exp cannot overflow. */
const reduceLogSumExp: OnnxTranslator = (ctx) => {
	const found = reducedAxes(ctx, 18);
	const keepDims = ctx.attrInt("keepdims", 1) === 1;
	const x = ctx.input(0);
	if (!found) return ctx.output(0, ctx.add("Identity", "no_reduction", [x]));
	const axes = Array.isArray(found) ? found : ctx.fail("its axes input is computed at run time; Kernel NN needs constant axes for ReduceLogSumExp");
	const max = reduceOver(ctx, "Max", x, axes, true, "max");
	const shifted = ctx.add("Exp", "exp", [ctx.add("Sub", "shifted", [x, max])]);
	const logSum = ctx.add("Log", "log", [reduceOver(ctx, "Sum", shifted, axes, true, "sum")]);
	let y = ctx.add("AddV2", "log_sum_exp", [logSum, max]);
	if (!keepDims) y = ctx.add("Reshape", "squeezed", [y, intsConst(ctx, "shape", ctx.shape(0).filter((_, d) => !axes.includes(d)))]);
	ctx.output(0, y);
};

/**
 * ArgMax/ArgMin. ONNX returns int64 indices; the IR returns int32 (the compiler computes in float32, int32 and
 * bool), which holds any index of a tensor that fits in memory. select_last_index searches the reversed axis.
 */
function argReduction(op: "ArgMax" | "ArgMin"): OnnxTranslator {
	return (ctx) => {
		const shape = ctx.shape(0);
		const rank = shape.length;
		let axis = ctx.attrInt("axis", 0);
		if (axis < -rank || axis >= rank) ctx.fail(`axis ${axis} is out of range for an input of rank ${rank}`);
		if (axis < 0) axis += rank;
		const last = ctx.attrInt("select_last_index", 0) === 1;
		const axisConst = intsConst(ctx, "axis", [axis]);
		let x = ctx.input(0);
		if (last) x = ctx.add("ReverseV2", "reversed", [x, axisConst]);
		const scalarAxis = ctx.addConst("axis_scalar", { dtype: "int32", shape: [], data: new Int32Array([axis]) });
		let y = ctx.add(op, op.toLowerCase(), [x, scalarAxis], { output_type: irAttr.type("int32"), Tidx: irAttr.type("int32") });
		if (last) y = ctx.add("Sub", "from_end", [ctx.addConst("last_index", { dtype: "int32", shape: [], data: new Int32Array([shape[axis] - 1]) }), y]);
		if (ctx.attrInt("keepdims", 1) === 1) y = ctx.add("Reshape", "kept", [y, intsConst(ctx, "kept_shape", shape.map((d, i) => (i === axis ? 1 : d)))]);
		ctx.output(0, y);
	};
}

/** Translators of ONNX reductions and arg reductions. */
export const REDUCE_TRANSLATORS: TranslatorFamily = new Map<string, OnnxTranslator>([
	["ReduceSum", reduction("Sum", undefined, undefined, 13)],
	["ReduceMean", reduction("Mean")],
	["ReduceMax", reduction("Max")],
	["ReduceMin", reduction("Min")],
	["ReduceProd", reduction("Prod")],
	["ReduceL1", reduction("Sum", "Abs")],
	["ReduceL2", reduction("Sum", "Square", "Sqrt")],
	["ReduceSumSquare", reduction("Sum", "Square")],
	["ReduceLogSum", reduction("Sum", undefined, "Log")],
	["ReduceLogSumExp", reduceLogSumExp],
	["ArgMax", argReduction("ArgMax")],
	["ArgMin", argReduction("ArgMin")],
]);
