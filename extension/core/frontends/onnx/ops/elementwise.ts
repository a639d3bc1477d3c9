// ONNX elementwise arithmetic, activations, comparisons, Cast, Identity, Dropout and Softmax, as TensorFlow ops.
// ONNX broadcasts like NumPy from opset 7 on, as TensorFlow's binary ops do, so binary ops map one to one.

import { type DType, makeTensor, numbers, scalar, shapeSize } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import { dtypeFromOnnx } from "../tensor";
import type { OnnxTranslator, TranslateContext, TranslatorFamily } from "../translator";

/** The largest finite float32, which ONNX uses for an absent Clip bound (C cannot spell infinity as a literal). */
const FLOAT32_MAX = 3.4028234663852886e38;

/** A scalar constant of `dtype`, for the literals of composed activations. */
export function scalarConst(ctx: TranslateContext, suffix: string, dtype: DType, value: number): string {
	return ctx.addConst(suffix, scalar(dtype, value));
}

/** An int32 vector constant (axes, shapes, permutations). */
export function intsConst(ctx: TranslateContext, suffix: string, values: readonly number[]): string {
	return ctx.addConst(suffix, makeTensor("int32", [values.length], values));
}

/** The IR tensor of input `index` as `dtype`, through a Cast when it differs. */
export function castTo(ctx: TranslateContext, index: number, dtype: DType, suffix: string): string {
	if (ctx.dtype(index) === dtype) return ctx.input(index);
	return ctx.add("Cast", suffix, [ctx.input(index)], { SrcT: irAttr.type(ctx.dtype(index)), DstT: irAttr.type(dtype), Truncate: irAttr.b(false) });
}

/**
 * The type inputs `indices` are brought to before a binary or variadic op. ONNX gives them one type, but int64
 * tensors computed at run time are int32 in the IR, so an int64 constant meeting one is cast down with it.
 */
function commonDType(ctx: TranslateContext, indices: readonly number[]): DType {
	const dtypes = indices.map((i) => ctx.dtype(i));
	if (dtypes.every((d) => d === dtypes[0])) return dtypes[0];
	if (dtypes.includes("int32") && dtypes.every((d) => d === "int32" || d === "int64")) return "int32";
	const runtime = indices.filter((i) => !ctx.constant(i)).map((i) => ctx.dtype(i));
	if (runtime.length > 0 && runtime.every((d) => d === runtime[0])) return runtime[0];
	return ctx.fail(`its inputs have different element types (${dtypes.join(", ")}); ONNX requires one type here, so re-export the model`);
}

function operands(ctx: TranslateContext, indices: readonly number[]): string[] {
	const dtype = commonDType(ctx, indices);
	return indices.map((i) => castTo(ctx, i, dtype, `cast${i}`));
}

/** The value of a constant input when all its elements are one number, else undefined. */
function uniformConstant(ctx: TranslateContext, index: number): number | undefined {
	const value = ctx.constant(index);
	if (!value || !ArrayBuffer.isView(value.data) || shapeSize(value.shape) === 0) return undefined;
	const data = numbers(value);
	return data.every((v) => v === data[0]) ? data[0] : undefined;
}

function binary(op: string): OnnxTranslator {
	return (ctx) => ctx.output(0, ctx.add(op, op.toLowerCase(), operands(ctx, [0, 1])));
}

function unary(op: string): OnnxTranslator {
	return (ctx) => ctx.output(0, ctx.add(op, op.toLowerCase(), [ctx.input(0)]));
}

// TensorFlow's Div divides floats and truncates integers, as onnxruntime does.
const div: OnnxTranslator = (ctx) => {
	const [a, b] = operands(ctx, [0, 1]);
	ctx.output(0, ctx.add(ctx.dtypeOf(a).startsWith("float") ? "RealDiv" : "Div", "div", [a, b]));
};

/** Pow: the exponent may have its own type (opset 12+); constant 2 and 0.5 become Square and Sqrt, as PyTorch's variance and norm exports use them. */
const pow: OnnxTranslator = (ctx) => {
	const base = ctx.input(0);
	const exponent = uniformConstant(ctx, 1);
	const keepsShape = shapeSize(ctx.shape(1)) === 1 && ctx.shape(1).length <= ctx.shape(0).length;
	if (keepsShape && exponent === 2) return ctx.output(0, ctx.add("Square", "square", [base]));
	if (keepsShape && exponent === 0.5 && ctx.dtype(0).startsWith("float")) return ctx.output(0, ctx.add("Sqrt", "sqrt", [base]));
	if (keepsShape && exponent === 1) return ctx.output(0, ctx.add("Identity", "identity", [base]));
	ctx.output(0, ctx.add("Pow", "pow", [base, castTo(ctx, 1, ctx.dtype(0), "exponent")]));
};

/** x > 0 ? x : alpha * (exp(x) - 1), TensorFlow's Elu when alpha is 1. */
function eluOf(ctx: TranslateContext, x: string, alpha: number, suffix: string): string {
	const dtype = ctx.dtypeOf(x);
	const positive = ctx.add("Greater", `${suffix}/positive`, [x, scalarConst(ctx, `${suffix}/zero`, dtype, 0)]);
	const scaled = ctx.add("Mul", `${suffix}/scaled`, [ctx.add("Expm1", `${suffix}/expm1`, [x]), scalarConst(ctx, `${suffix}/alpha`, dtype, alpha)]);
	return ctx.add("SelectV2", suffix, [positive, x, scaled]);
}

const elu: OnnxTranslator = (ctx) => {
	const alpha = ctx.attrFloat("alpha", 1);
	ctx.output(0, alpha === 1 ? ctx.add("Elu", "elu", [ctx.input(0)]) : eluOf(ctx, ctx.input(0), alpha, "elu"));
};

/** Celu(x) = max(0, x) + min(0, alpha * (exp(x / alpha) - 1)), which is Elu of x / alpha scaled back. */
const celu: OnnxTranslator = (ctx) => {
	const alpha = ctx.attrFloat("alpha", 1);
	const x = ctx.input(0);
	const dtype = ctx.dtype(0);
	const positive = ctx.add("Greater", "positive", [x, scalarConst(ctx, "zero", dtype, 0)]);
	const scaledInput = ctx.add("RealDiv", "scaled_input", [x, scalarConst(ctx, "alpha", dtype, alpha)]);
	const negative = ctx.add("Mul", "negative", [ctx.add("Expm1", "expm1", [scaledInput]), scalarConst(ctx, "alpha_out", dtype, alpha)]);
	ctx.output(0, ctx.add("SelectV2", "celu", [positive, x, negative]));
};

// ONNX's Selu defaults are TensorFlow's constants rounded to float32; other values are composed.
const SELU_ALPHA = Math.fround(1.6732632423543772);
const SELU_GAMMA = Math.fround(1.0507009873554805);

const selu: OnnxTranslator = (ctx) => {
	const alpha = ctx.attrFloat("alpha", SELU_ALPHA);
	const gamma = ctx.attrFloat("gamma", SELU_GAMMA);
	if (Math.fround(alpha) === SELU_ALPHA && Math.fround(gamma) === SELU_GAMMA) return ctx.output(0, ctx.add("Selu", "selu", [ctx.input(0)]));
	const inner = eluOf(ctx, ctx.input(0), alpha, "elu");
	ctx.output(0, ctx.add("Mul", "selu", [inner, scalarConst(ctx, "gamma", ctx.dtype(0), gamma)]));
};

const leakyRelu: OnnxTranslator = (ctx) => {
	ctx.output(0, ctx.add("LeakyRelu", "leaky_relu", [ctx.input(0)], { alpha: irAttr.f(ctx.attrFloat("alpha", 0.01)) }));
};

/** PRelu: x < 0 ? slope * x : x, the slope broadcast to x. */
const prelu: OnnxTranslator = (ctx) => {
	const [x, slope] = operands(ctx, [0, 1]);
	const negative = ctx.add("Less", "negative", [x, scalarConst(ctx, "zero", ctx.dtypeOf(x), 0)]);
	ctx.output(0, ctx.add("SelectV2", "prelu", [negative, ctx.add("Mul", "sloped", [x, slope]), x]));
};

const thresholdedRelu: OnnxTranslator = (ctx) => {
	const x = ctx.input(0);
	const dtype = ctx.dtype(0);
	const above = ctx.add("Greater", "above", [x, scalarConst(ctx, "alpha", dtype, ctx.attrFloat("alpha", 1))]);
	ctx.output(0, ctx.add("SelectV2", "thresholded_relu", [above, x, scalarConst(ctx, "zero", dtype, 0)]));
};

/** max(0, min(1, alpha * x + beta)). */
function hardSigmoidOf(ctx: TranslateContext, alpha: number, beta: number): string {
	const x = ctx.input(0);
	const dtype = ctx.dtype(0);
	const linear = ctx.add("AddV2", "linear", [
		ctx.add("Mul", "scaled", [x, scalarConst(ctx, "alpha", dtype, alpha)]), scalarConst(ctx, "beta", dtype, beta)]);
	const low = ctx.add("Maximum", "at_least_0", [linear, scalarConst(ctx, "zero", dtype, 0)]);
	return ctx.add("Minimum", "hard_sigmoid", [low, scalarConst(ctx, "one", dtype, 1)]);
}

const hardSigmoid: OnnxTranslator = (ctx) => ctx.output(0, hardSigmoidOf(ctx, ctx.attrFloat("alpha", 0.2), ctx.attrFloat("beta", 0.5)));

const hardSwish: OnnxTranslator = (ctx) => ctx.output(0, ctx.add("Mul", "hard_swish", [ctx.input(0), hardSigmoidOf(ctx, 1 / 6, 0.5)]));

/** Mish(x) = x * tanh(softplus(x)). */
const mish: OnnxTranslator = (ctx) => {
	const x = ctx.input(0);
	ctx.output(0, ctx.add("Mul", "mish", [x, ctx.add("Tanh", "tanh", [ctx.add("Softplus", "softplus", [x])])]));
};

/** Gelu (opset 20): exact 0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation. */
const gelu: OnnxTranslator = (ctx) => {
	const x = ctx.input(0);
	const dtype = ctx.dtype(0);
	const c = (suffix: string, value: number) => scalarConst(ctx, suffix, dtype, value);
	let inner: string;
	if (ctx.attrString("approximate", "none") === "tanh") {
		const cube = ctx.add("Mul", "cube", [ctx.add("Square", "square", [x]), x]);
		const poly = ctx.add("AddV2", "poly", [x, ctx.add("Mul", "cubic_term", [cube, c("k", 0.044715)])]);
		inner = ctx.add("Tanh", "tanh", [ctx.add("Mul", "tanh_arg", [poly, c("sqrt_2_over_pi", Math.sqrt(2 / Math.PI))])]);
	} else {
		inner = ctx.add("Erf", "erf", [ctx.add("Mul", "erf_arg", [x, c("rsqrt2", Math.SQRT1_2)])]);
	}
	const half = ctx.add("Mul", "half_x", [x, c("half", 0.5)]);
	ctx.output(0, ctx.add("Mul", "gelu", [half, ctx.add("AddV2", "one_plus", [inner, c("one", 1)])]));
};

/** Clip: bounds are attributes before opset 11 and optional inputs after; an absent bound does not clip. */
const clip: OnnxTranslator = (ctx) => {
	const dtype = ctx.dtype(0);
	let low: string | undefined;
	let high: string | undefined;
	if (ctx.opset < 11) {
		if (ctx.hasAttr("min")) low = scalarConst(ctx, "min", dtype, ctx.attrFloat("min", -FLOAT32_MAX));
		if (ctx.hasAttr("max")) high = scalarConst(ctx, "max", dtype, ctx.attrFloat("max", FLOAT32_MAX));
	} else {
		if (ctx.has(1)) low = castTo(ctx, 1, dtype, "min");
		if (ctx.has(2)) high = castTo(ctx, 2, dtype, "max");
	}
	// max then min, as NumPy's clip: where min > max every element becomes max.
	let y = ctx.input(0);
	if (low) y = ctx.add("Maximum", "at_least_min", [y, low]);
	if (high) y = ctx.add("Minimum", "at_most_max", [y, high]);
	if (!low && !high) y = ctx.add("Identity", "clip", [y]);
	ctx.output(0, y);
};

/**
 * Softmax and LogSoftmax. Before opset 13 the input is coerced to 2-D at `axis` (default 1) and normalised over
 * everything from `axis` on; from 13 they normalise along `axis` alone (default -1). The IR normalises the last axis.
 */
function softmax(op: "Softmax" | "LogSoftmax"): OnnxTranslator {
	return (ctx) => {
		const shape = ctx.shape(0);
		const rank = shape.length;
		const legacy = ctx.opset < 13;
		let axis = ctx.attrInt("axis", legacy ? 1 : -1);
		if (axis < -rank || axis >= Math.max(rank, 1)) ctx.fail(`axis ${axis} is out of range for an input of rank ${rank}`);
		if (axis < 0) axis += rank;
		const x = ctx.input(0);
		const name = op.toLowerCase();
		if (rank === 0 || axis === rank - 1) return ctx.output(0, ctx.add(op, name, [x]));
		if (legacy) {
			const flat = ctx.add("Reshape", "flat", [x, intsConst(ctx, "flat_shape", [shapeSize(shape.slice(0, axis)), shapeSize(shape.slice(axis))])]);
			return ctx.output(0, ctx.add("Reshape", name, [ctx.add(op, `${name}_2d`, [flat]), intsConst(ctx, "shape", shape)]));
		}
		const perm = [...Array(rank).keys()].filter((d) => d !== axis).concat(axis);
		const inverse = perm.map((_, d) => perm.indexOf(d));
		const moved = ctx.add("Transpose", "axis_last", [x, intsConst(ctx, "perm", perm)]);
		ctx.output(0, ctx.add("Transpose", name, [ctx.add(op, `${name}_last`, [moved]), intsConst(ctx, "inverse_perm", inverse)]));
	};
}

// The 64-bit types a run-time tensor is computed in instead, as at the graph boundary (see load.ts).
const RUNTIME_NARROWING: Partial<Record<DType, DType>> = { int64: "int32", uint64: "uint32", float64: "float32" };

/**
 * Cast. Tensors computed at run time in a 64-bit type become their 32-bit kin in the IR, as at the graph boundary,
 * since the compiler computes in 32 bits and narrower; a constant keeps its type and folds away.
 */
function castNode(ctx: TranslateContext, to: DType): void {
	if (to === "string") ctx.fail("casting to strings is not supported");
	const target = !ctx.constant(0) ? RUNTIME_NARROWING[to] ?? to : to;
	ctx.output(0, ctx.dtype(0) === target ? ctx.add("Identity", "cast", [ctx.input(0)]) : castTo(ctx, 0, target, "cast"));
}

// Half precision is computed as float32 (as the driver reads it), so a cast to it keeps float32 values.
const cast: OnnxTranslator = (ctx) => castNode(ctx, dtypeFromOnnx(ctx.attrInt("to"), `node "${ctx.node.name}" (Cast), attribute "to"`));

const castLike: OnnxTranslator = (ctx) => castNode(ctx, ctx.dtype(1));

/** Dropout at inference is the identity, and in training with ratio 0; its optional mask output is all true. */
const dropout: OnnxTranslator = (ctx) => {
	if (ctx.opset >= 12 && ctx.has(2)) {
		const training = ctx.constant(2);
		const ratio = ctx.has(1) ? ctx.constant(1) : undefined;
		const dropsNothing = ratio !== undefined && numbers(ratio)[0] === 0;
		if (!training || (numbers(training)[0] !== 0 && !dropsNothing)) {
			ctx.fail("training_mode is true or not a constant; Kernel NN runs Dropout for inference only, so export the model in eval mode");
		}
	}
	ctx.output(0, ctx.add("Identity", "dropout", [ctx.input(0)]));
	if (ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== "") {
		const shape = ctx.shape(0);
		ctx.output(1, ctx.addConst("mask", makeTensor("bool", shape, new Uint8Array(shapeSize(shape)).fill(1))));
	}
};

const where: OnnxTranslator = (ctx) => {
	const [x, y] = operands(ctx, [1, 2]);
	ctx.output(0, ctx.add("SelectV2", "where", [castTo(ctx, 0, "bool", "condition"), x, y]));
};

/** Max, Min, Sum and Mean take any number of inputs and broadcast them all together. */
function variadic(op: "Maximum" | "Minimum" | "AddV2", mean = false): OnnxTranslator {
	return (ctx) => {
		const inputs = operands(ctx, [...Array(ctx.inputCount).keys()].filter((i) => ctx.has(i)));
		if (inputs.length === 0) ctx.fail("it has no inputs; it needs at least one");
		let y = inputs.length === 1 ? ctx.add("Identity", "identity", [inputs[0]]) : inputs[0];
		for (let k = 1; k < inputs.length; k++) y = ctx.add(op, `${op.toLowerCase()}${k}`, [y, inputs[k]]);
		if (mean) y = ctx.add("RealDiv", "mean", [y, scalarConst(ctx, "count", ctx.dtypeOf(y), inputs.length)]);
		ctx.output(0, y);
	};
}

/** Mod: integer remainder takes the divisor's sign (Python's %), fmod=1 the dividend's (C's fmod). */
const mod: OnnxTranslator = (ctx) => {
	ctx.output(0, ctx.add(ctx.attrInt("fmod", 0) === 1 ? "Mod" : "FloorMod", "mod", operands(ctx, [0, 1])));
};

/** IsNaN: NaN is the one value unequal to itself. */
const isNaN: OnnxTranslator = (ctx) => ctx.output(0, ctx.add("NotEqual", "is_nan", [ctx.input(0), ctx.input(0)]));

const UNARY = [
	"Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Neg", "Abs", "Relu", "Sigmoid", "Tanh", "Softplus", "Softsign", "Sign", "Floor",
	"Ceil", "Round", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Identity",
];

/** Translators of ONNX elementwise, activation, comparison and softmax ops. */
export const ELEMENTWISE_TRANSLATORS: TranslatorFamily = new Map<string, OnnxTranslator>([
	...UNARY.map((op): [string, OnnxTranslator] => [op, unary(op)]),
	["Not", unary("LogicalNot")],
	["Add", binary("AddV2")], ["Sub", binary("Sub")], ["Mul", binary("Mul")], ["Div", div], ["Pow", pow], ["Mod", mod],
	["Equal", binary("Equal")], ["Less", binary("Less")], ["Greater", binary("Greater")],
	["LessOrEqual", binary("LessEqual")], ["GreaterOrEqual", binary("GreaterEqual")],
	["And", binary("LogicalAnd")], ["Or", binary("LogicalOr")], ["Xor", binary("NotEqual")],
	["Max", variadic("Maximum")], ["Min", variadic("Minimum")], ["Sum", variadic("AddV2")], ["Mean", variadic("AddV2", true)],
	["LeakyRelu", leakyRelu], ["PRelu", prelu], ["Elu", elu], ["Celu", celu], ["Selu", selu], ["ThresholdedRelu", thresholdedRelu],
	["HardSigmoid", hardSigmoid], ["HardSwish", hardSwish], ["Mish", mish], ["Gelu", gelu], ["Clip", clip],
	["Softmax", softmax("Softmax")], ["LogSoftmax", softmax("LogSoftmax")],
	["Cast", cast], ["CastLike", castLike], ["Dropout", dropout], ["Where", where], ["IsNaN", isNaN],
]);
