import { describe, it } from "node:test";
import { type Tensor, makeTensor, shapeSize } from "../../extension/core/graph/tensor";
import { type OnnxNodeSpec, f32, i64 } from "../support/onnxBuilder";
import { checkOnnxSuite as checkSuite, onnxNode as node, uniform } from "../support/onnxSuite";
import { mulberry32 } from "../support/random";

// ONNX elementwise, activation, comparison, softmax and reduction ops with random inputs, run by onnxruntime (the
// oracle), Kernel NN's interpreter and the generated C built for the host. Each suite is one model holding many ops
// on the same inputs, so one gcc build covers them all. Index outputs are int64 in onnxruntime and int32 in Kernel NN.

/** Values on a grid of halves, so rounding ties and equal elements occur. */
function halves(random: () => number, shape: number[], range = 3): Tensor {
	return f32(shape, Array.from({ length: shapeSize(shape) }, () => Math.round((random() * 2 - 1) * range * 2) / 2));
}

const scalar = (value: number): Tensor => f32([], [value]);

describe("ONNX activations and unary ops match onnxruntime in the interpreter and the generated C", () => {
	it("Sqrt, Reciprocal, Exp, Log, Erf, Neg, Abs, Relu, Sigmoid, Tanh, Softplus, Softsign, Sign, Floor, Ceil and Round (ties to even)", async () => {
		const random = mulberry32(31);
		const unary = ["Exp", "Erf", "Neg", "Abs", "Relu", "Sigmoid", "Tanh", "Softplus", "Softsign", "Sign", "Floor", "Ceil"];
		await checkSuite({
			name: "unary",
			inputs: { X: uniform(random, [2, 3, 4], -3, 3), P: uniform(random, [2, 3, 4], 0.1, 4), H: halves(random, [2, 3, 4]) },
			nodes: [
				...unary.map((op) => node(op, ["X"], op.toLowerCase())),
				node("Sqrt", ["P"], "sqrt"), node("Reciprocal", ["P"], "reciprocal"), node("Log", ["P"], "log"),
				node("Round", ["H"], "round"), node("Round", ["X"], "round_random"), node("Sign", ["H"], "sign_zero"),
			],
		});
	});

	it("LeakyRelu, PRelu, Elu, Celu, Selu, ThresholdedRelu, HardSigmoid, HardSwish and Mish with default and given attributes", async () => {
		const random = mulberry32(32);
		await checkSuite({
			name: "activations",
			opset: 18,
			inputs: { X: uniform(random, [2, 3, 4], -4, 4) },
			initializers: { slope: uniform(random, [4], 0, 0.5), slope_channel: uniform(random, [3, 1], 0, 0.5) },
			nodes: [
				node("LeakyRelu", ["X"], "leaky_default"), node("LeakyRelu", ["X"], "leaky", { alpha: 0.3 }),
				node("PRelu", ["X", "slope"], "prelu"), node("PRelu", ["X", "slope_channel"], "prelu_channel"),
				node("Elu", ["X"], "elu_default"), node("Elu", ["X"], "elu", { alpha: 0.5 }),
				node("Celu", ["X"], "celu", { alpha: { f: 2 } }),
				node("Selu", ["X"], "selu_default"), node("Selu", ["X"], "selu", { alpha: { f: 2 }, gamma: { f: 3 } }),
				node("ThresholdedRelu", ["X"], "thresholded", { alpha: 0.5 }),
				node("HardSigmoid", ["X"], "hard_sigmoid_default"), node("HardSigmoid", ["X"], "hard_sigmoid", { alpha: 0.3, beta: 0.4 }),
				node("HardSwish", ["X"], "hard_swish"), node("Mish", ["X"], "mish"),
			],
		});
	});

	it("Clip with bounds as inputs (opset 11+), one bound only, min above max, and as attributes before opset 11", async () => {
		const random = mulberry32(33);
		await checkSuite({
			name: "clip",
			inputs: { X: uniform(random, [2, 3, 4], -2, 2) },
			initializers: { lo: scalar(-0.5), hi: scalar(0.7) },
			nodes: [
				node("Clip", ["X", "lo", "hi"], "both"), node("Clip", ["X", "", "hi"], "max_only"), node("Clip", ["X", "lo"], "min_only"),
				node("Clip", ["X", "hi", "lo"], "min_above_max"), node("Clip", ["X"], "no_bounds"),
			],
		});
		await checkSuite({
			name: "clip_opset6_attrs",
			opset: 10,
			inputs: { X: uniform(random, [2, 3, 4], -2, 2) },
			nodes: [node("Clip", ["X"], "both", { min: -0.25, max: 0.5 }), node("Clip", ["X"], "max_only", { max: 0.1 })],
		});
	});

	it("Gelu (opset 20, exact and tanh) and PyTorch's GELU, SiLU and LayerNorm exports as primitives", async () => {
		const random = mulberry32(34);
		await checkSuite({
			name: "gelu20",
			opset: 20,
			inputs: { X: uniform(random, [2, 8], -4, 4) },
			nodes: [node("Gelu", ["X"], "exact"), node("Gelu", ["X"], "tanh", { approximate: "tanh" })],
		});
		// The node sequences torch.onnx.export writes at opset 13 for nn.GELU(), nn.SiLU() and nn.LayerNorm(8).
		await checkSuite({
			name: "torch_primitives",
			opset: 13,
			inputs: { X: uniform(random, [2, 3, 8], -3, 3) },
			initializers: {
				sqrt2: scalar(Math.SQRT2), one: scalar(1), half: scalar(0.5), two: scalar(2), eps: scalar(1e-5),
				gamma: uniform(random, [8], 0.5, 1.5), beta: uniform(random, [8], -0.5, 0.5),
			},
			nodes: [
				node("Div", ["X", "sqrt2"], "g_div"), node("Erf", ["g_div"], "g_erf"), node("Add", ["g_erf", "one"], "g_add"),
				node("Mul", ["X", "g_add"], "g_mul"), node("Mul", ["g_mul", "half"], "gelu"),
				node("Sigmoid", ["X"], "s_sigmoid"), node("Mul", ["X", "s_sigmoid"], "silu"),
				node("ReduceMean", ["X"], "ln_mean", { axes: [-1] }), node("Sub", ["X", "ln_mean"], "ln_centered"),
				node("Pow", ["ln_centered", "two"], "ln_square"), node("ReduceMean", ["ln_square"], "ln_variance", { axes: [-1] }),
				node("Add", ["ln_variance", "eps"], "ln_shifted"), node("Sqrt", ["ln_shifted"], "ln_std"),
				node("Div", ["ln_centered", "ln_std"], "ln_normalized"), node("Mul", ["ln_normalized", "gamma"], "ln_scaled"),
				node("Add", ["ln_scaled", "beta"], "layer_norm"),
			],
			outputs: ["gelu", "silu", "layer_norm"],
		});
	});
});

describe("ONNX binary, variadic and comparison ops match onnxruntime in the interpreter and the generated C", () => {
	it("Add, Sub, Mul, Div and Pow broadcast like NumPy; Pow by constant 2, 0.5 and 3", async () => {
		const random = mulberry32(41);
		await checkSuite({
			name: "binary",
			inputs: { A: uniform(random, [2, 3, 4], 0.2, 2), B: uniform(random, [3, 1], 0.5, 2), C: uniform(random, [4], -2, 2) },
			initializers: { two: scalar(2), root: scalar(0.5), three: scalar(3) },
			nodes: [
				node("Add", ["A", "B"], "add"), node("Sub", ["C", "A"], "sub"), node("Mul", ["A", "C"], "mul"), node("Div", ["C", "B"], "div"),
				node("Pow", ["A", "C"], "pow"), node("Pow", ["C", "two"], "square"), node("Pow", ["A", "root"], "square_root"), node("Pow", ["C", "three"], "cube"),
			],
		});
	});

	it("variadic Max, Min, Sum and Mean over three broadcast inputs", async () => {
		const random = mulberry32(42);
		await checkSuite({
			name: "variadic",
			inputs: { A: uniform(random, [2, 3, 4]), B: uniform(random, [3, 1]), C: uniform(random, [4]) },
			nodes: ["Max", "Min", "Sum", "Mean"].map((op) => node(op, ["A", "B", "C"], op.toLowerCase())).concat(node("Max", ["A"], "max_single")),
		});
	});

	it("Equal, Less, Greater, LessOrEqual, GreaterOrEqual, Not, And, Or, Xor give bools and Where selects by them", async () => {
		const random = mulberry32(43);
		await checkSuite({
			name: "compare",
			inputs: { A: halves(random, [2, 3, 4], 1), B: halves(random, [3, 4], 1) },
			nodes: [
				node("Equal", ["A", "B"], "equal"), node("Less", ["A", "B"], "less"), node("Greater", ["A", "B"], "greater"),
				node("LessOrEqual", ["A", "B"], "less_equal"), node("GreaterOrEqual", ["A", "B"], "greater_equal"),
				node("Not", ["less"], "not"), node("And", ["less_equal", "greater_equal"], "and"), node("Or", ["less", "equal"], "or"),
				node("Xor", ["less", "greater"], "xor"), node("Where", ["greater", "A", "B"], "where"),
			],
			outputTypes: Object.fromEntries(["equal", "less", "greater", "less_equal", "greater_equal", "not", "and", "or", "xor"].map((name) => [name, "bool"])),
		});
	});
});

describe("ONNX Softmax, LogSoftmax, Cast, Identity and Dropout match onnxruntime in the interpreter and the generated C", () => {
	it("before opset 13 Softmax flattens to 2-D at axis (default 1); from 13 it normalises along axis (default -1)", async () => {
		const random = mulberry32(51);
		const nodes = [
			node("Softmax", ["X"], "softmax_default"), node("LogSoftmax", ["X"], "log_softmax_default"),
			node("Softmax", ["X"], "softmax_axis1", { axis: 1 }), node("Softmax", ["X"], "softmax_axis0", { axis: 0 }),
			node("LogSoftmax", ["X"], "log_softmax_last", { axis: -1 }),
		];
		await checkSuite({ name: "softmax11", opset: 11, inputs: { X: uniform(random, [2, 3, 4], -3, 3) }, nodes });
		await checkSuite({ name: "softmax13", opset: 13, inputs: { X: uniform(random, [2, 3, 4], -3, 3) }, nodes });
	});

	it("Cast truncates floats to integers and tests bools; int64 becomes int32; Identity and inference Dropout pass values on with an all-true mask", async () => {
		const random = mulberry32(52);
		await checkSuite({
			name: "cast",
			opset: 13,
			inputs: { X: halves(random, [2, 4], 3), N: makeTensor("int32", [2, 4], [3, -2, 0, 7, 1, -9, 4, 2]) },
			nodes: [
				node("Cast", ["X"], "to_int32", { to: 6 }), node("Cast", ["X"], "to_int64", { to: 7 }), node("Cast", ["X"], "to_bool", { to: 9 }),
				node("Cast", ["N"], "int_to_float", { to: 1 }), node("Identity", ["X"], "identity"),
				{ op: "Dropout", inputs: ["X"], outputs: ["dropout", "mask"], name: "dropout" },
			],
			outputTypes: { to_int32: "int32", to_int64: "int64", to_bool: "bool", mask: "bool" },
		});
	});
});

describe("ONNX reductions and ArgMax/ArgMin match onnxruntime in the interpreter and the generated C", () => {
	const reductions = (axesAsInput: (op: string) => boolean): OnnxNodeSpec[] => {
		const ops: [string, string, number[], number][] = [
			["ReduceMean", "mean_axis1", [1], 0], ["ReduceSum", "sum_axes02", [0, 2], 1], ["ReduceMax", "max_last", [-1], 1],
			["ReduceMin", "min_all", [], 0], ["ReduceProd", "prod_axis0", [0], 1], ["ReduceL2", "l2_axis2", [2], 0],
			["ReduceL1", "l1_axis1", [1], 1], ["ReduceSumSquare", "sum_square", [-2], 0], ["ReduceLogSumExp", "log_sum_exp", [2], 0],
			["ReduceLogSum", "log_sum", [1, 2], 1],
		];
		return ops.map(([op, out, axes, keepdims]) => (axesAsInput(op) && axes.length > 0
			? node(op, ["X", `axes_${out}`], out, { keepdims })
			: node(op, ["X"], out, axes.length > 0 ? { axes, keepdims } : { keepdims })));
	};
	const axesInitializers = (): Record<string, Tensor> => Object.fromEntries(reductions(() => false)
		.filter((n) => n.attrs?.axes).map((n) => [`axes_${n.outputs[0]}`, i64([(n.attrs!.axes as number[]).length], n.attrs!.axes as number[])]));

	it("axes as attributes (opset 13, ReduceSum's as an input) and as inputs (opset 18), keepdims 0 and 1, empty axes reduce all", async () => {
		const random = mulberry32(61);
		await checkSuite({
			name: "reduce13",
			opset: 13,
			inputs: { X: uniform(random, [2, 3, 4], 0.2, 1.5) },
			initializers: axesInitializers(),
			nodes: reductions((op) => op === "ReduceSum"),
		});
		await checkSuite({
			name: "reduce18",
			opset: 18,
			inputs: { X: uniform(random, [2, 3, 4], 0.2, 1.5) },
			initializers: axesInitializers(),
			nodes: reductions(() => true),
		});
	});

	it("noop_with_empty_axes keeps the input", async () => {
		const random = mulberry32(62);
		await checkSuite({
			name: "reduce_noop",
			opset: 18,
			inputs: { X: uniform(random, [2, 3]) },
			nodes: [node("ReduceSum", ["X"], "noop", { noop_with_empty_axes: 1 }), node("ReduceMax", ["X"], "all", { noop_with_empty_axes: 0 })],
		});
	});

	it("ArgMax and ArgMin along an axis, keepdims 0 and 1, first or last index of ties", async () => {
		const random = mulberry32(63);
		await checkSuite({
			name: "argmax",
			opset: 13,
			inputs: { X: halves(random, [3, 4, 5], 1) },
			nodes: [
				node("ArgMax", ["X"], "argmax_default"), node("ArgMax", ["X"], "argmax_axis1", { axis: 1, keepdims: 0 }),
				node("ArgMin", ["X"], "argmin_last_axis", { axis: -1 }),
				node("ArgMax", ["X"], "argmax_last_tie", { axis: 2, select_last_index: 1 }),
				node("ArgMin", ["X"], "argmin_last_tie", { axis: 1, keepdims: 0, select_last_index: 1 }),
			],
			outputTypes: Object.fromEntries(["argmax_default", "argmax_axis1", "argmin_last_axis", "argmax_last_tie", "argmin_last_tie"].map((name) => [name, "int64"])),
		});
	});
});
