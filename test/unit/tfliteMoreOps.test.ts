// TFLite operators beyond the core set: layout (TRANSPOSE, SLICE, PACK, ...), math, comparisons, reductions and
// value makers. Models written with the flatbuffers builder run in TFLite's own runtime (the oracle), in Kernel NN's
// interpreter and as compiled C. Float ops agree within the float tolerance; quantized layout ops copy integers,
// so the interpreter equals the runtime exactly and the C equals the interpreter bit for bit.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { loadTfliteBytes } from "../../extension/core/frontends/tflite/load";
import { BuiltinOperator, type OptionValue, TensorType } from "../../extension/core/frontends/tflite/types";
import { parseInputName } from "../../extension/core/graph/graph";
import { type DType, type Tensor, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { tempDir } from "../support/cli";
import { buildHost, gccMissing, runHost } from "../support/hostBuild";
import { mulberry32 } from "../support/random";
import { TfliteBuilder } from "../support/tfliteBuilder";
import { type TfliteOutput, runTflite, tfliteRuntimeMissing } from "../support/tfliteOracle";
import { checkTfliteFloat } from "../support/tfliteSuite";

const skip = tfliteRuntimeMissing() ?? gccMissing;
const F = TensorType.FLOAT32;
const I32 = TensorType.INT32;

function floats(seed: number, shape: number[], low = -3, high = 3): Tensor {
	const random = mulberry32(seed);
	const count = shape.reduce((a, b) => a * b, 1);
	return makeTensor("float32", shape, Array.from({ length: count }, () => Math.fround(low + (high - low) * random())));
}

/** A model of one op: float (or given-type) inputs fed in order, constants, one or more outputs. */
interface OneOp {
	code: number;
	inputs: { name: string; type?: TensorType; shape: number[]; constant?: number[] }[];
	outputs: { type?: TensorType; shape: number[] }[];
	options?: Record<string, OptionValue>;
}

function oneOp(model: OneOp): Uint8Array {
	const b = new TfliteBuilder();
	const ins = model.inputs.map((t) => (t.constant
		? b.constant(t.name, t.type ?? F, t.shape, t.constant)
		: b.input(t.name, t.type ?? F, t.shape)));
	const outs = model.outputs.map((t, i) => b.tensor(`y${i}`, t.type ?? F, t.shape));
	b.op(model.code, ins, outs, { options: model.options }).output(...outs);
	return b.build();
}

interface FloatCase {
	name: string;
	model: OneOp;
	feeds: Tensor[];
}

const B = BuiltinOperator;
const unaryCase = (name: string, code: number, low = -3, high = 3): FloatCase => ({
	name, model: { code, inputs: [{ name: "x", shape: [2, 3, 5] }], outputs: [{ shape: [2, 3, 5] }] }, feeds: [floats(code, [2, 3, 5], low, high)],
});
const compareCase = (name: string, code: number): FloatCase => {
	const x = floats(code, [2, 4]);
	const y = makeTensor("float32", [4], [numbers(x)[0], numbers(x)[1], 0.5, -0.25]);
	return { name, model: { code, inputs: [{ name: "x", shape: [2, 4] }, { name: "y", shape: [4] }], outputs: [{ type: TensorType.BOOL, shape: [2, 4] }] }, feeds: [x, y] };
};
const bools = (shape: number[], values: number[]) => makeTensor("bool", shape, values);

const FLOAT_CASES: FloatCase[] = [
	{ name: "TRANSPOSE [2,3,4] by [2,0,1]", model: { code: B.TRANSPOSE, inputs: [{ name: "x", shape: [2, 3, 4] }, { name: "perm", type: I32, shape: [3], constant: [2, 0, 1] }], outputs: [{ shape: [4, 2, 3] }] }, feeds: [floats(1, [2, 3, 4])] },
	{ name: "SLICE with a size of -1", model: { code: B.SLICE, inputs: [{ name: "x", shape: [3, 4, 5] }, { name: "begin", type: I32, shape: [3], constant: [1, 0, 2] }, { name: "size", type: I32, shape: [3], constant: [2, -1, 3] }], outputs: [{ shape: [2, 4, 3] }] }, feeds: [floats(2, [3, 4, 5])] },
	{ name: "PACK two [2,3] on axis 1", model: { code: B.PACK, inputs: [{ name: "a", shape: [2, 3] }, { name: "b", shape: [2, 3] }], outputs: [{ shape: [2, 2, 3] }], options: { valuesCount: 2, axis: 1 } }, feeds: [floats(3, [2, 3]), floats(4, [2, 3])] },
	{ name: "UNPACK [3,2,4] on axis 1", model: { code: B.UNPACK, inputs: [{ name: "x", shape: [3, 2, 4] }], outputs: [{ shape: [3, 4] }, { shape: [3, 4] }], options: { num: 2, axis: 1 } }, feeds: [floats(5, [3, 2, 4])] },
	{ name: "SPLIT [2,3,6] into 3 on axis 2", model: { code: B.SPLIT, inputs: [{ name: "axis", type: I32, shape: [], constant: [2] }, { name: "x", shape: [2, 3, 6] }], outputs: [{ shape: [2, 3, 2] }, { shape: [2, 3, 2] }, { shape: [2, 3, 2] }], options: { numSplits: 3 } }, feeds: [floats(6, [2, 3, 6])] },
	{ name: "SPLIT_V [2,7] into 2, -1, 1", model: { code: B.SPLIT_V, inputs: [{ name: "x", shape: [2, 7] }, { name: "sizes", type: I32, shape: [3], constant: [2, -1, 1] }, { name: "axis", type: I32, shape: [], constant: [1] }], outputs: [{ shape: [2, 2] }, { shape: [2, 4] }, { shape: [2, 1] }], options: { numSplits: 3 } }, feeds: [floats(7, [2, 7])] },
	{ name: "GATHER constant indices on axis 1", model: { code: B.GATHER, inputs: [{ name: "params", shape: [3, 5, 2] }, { name: "indices", type: I32, shape: [2, 2], constant: [4, 0, 2, 2] }], outputs: [{ shape: [3, 2, 2, 2] }], options: { axis: 1 } }, feeds: [floats(8, [3, 5, 2])] },
	{ name: "GATHER fed indices on axis 0", model: { code: B.GATHER, inputs: [{ name: "params", shape: [5, 3] }, { name: "indices", type: I32, shape: [4] }], outputs: [{ shape: [4, 3] }], options: { axis: 0 } }, feeds: [floats(9, [5, 3]), makeTensor("int32", [4], [3, 0, 4, 3])] },
	{ name: "EXPAND_DIMS [2,3] at axis 1", model: { code: B.EXPAND_DIMS, inputs: [{ name: "x", shape: [2, 3] }, { name: "axis", type: I32, shape: [], constant: [1] }], outputs: [{ shape: [2, 1, 3] }] }, feeds: [floats(10, [2, 3])] },
	{ name: "TILE [2,3] by [2,2]", model: { code: B.TILE, inputs: [{ name: "x", shape: [2, 3] }, { name: "multiples", type: I32, shape: [2], constant: [2, 2] }], outputs: [{ shape: [4, 6] }] }, feeds: [floats(11, [2, 3])] },
	{ name: "BROADCAST_TO [1,3] to [4,3]", model: { code: B.BROADCAST_TO, inputs: [{ name: "x", shape: [1, 3] }, { name: "shape", type: I32, shape: [2], constant: [4, 3] }], outputs: [{ shape: [4, 3] }] }, feeds: [floats(12, [1, 3])] },
	{ name: "CAST float32 to int32 truncates", model: { code: B.CAST, inputs: [{ name: "x", shape: [8] }], outputs: [{ type: I32, shape: [8] }], options: { inDataType: F, outDataType: I32 } }, feeds: [floats(13, [8], -9, 9)] },
	unaryCase("EXP", B.EXP),
	unaryCase("LOG of positive values", B.LOG, 0.01, 20),
	unaryCase("SQRT of positive values", B.SQRT, 0, 20),
	unaryCase("RSQRT of positive values", B.RSQRT, 0.05, 20),
	unaryCase("SQUARE", B.SQUARE),
	unaryCase("NEG", B.NEG),
	unaryCase("ABS", B.ABS),
	unaryCase("FLOOR", B.FLOOR),
	unaryCase("CEIL", B.CEIL),
	unaryCase("ROUND (half to even)", B.ROUND),
	unaryCase("SIN", B.SIN),
	unaryCase("COS", B.COS),
	unaryCase("ELU", B.ELU),
	{ name: "POW with a broadcast exponent", model: { code: B.POW, inputs: [{ name: "x", shape: [3, 4] }, { name: "y", shape: [4] }], outputs: [{ shape: [3, 4] }] }, feeds: [floats(14, [3, 4], 0.1, 4), floats(15, [4], -2, 2)] },
	{ name: "FLOOR_DIV", model: { code: B.FLOOR_DIV, inputs: [{ name: "x", shape: [3, 4] }, { name: "y", shape: [3, 4] }], outputs: [{ shape: [3, 4] }] }, feeds: [floats(16, [3, 4], -9, 9), floats(17, [3, 4], 0.5, 3)] },
	{ name: "FLOOR_DIV of int32 rounds toward negative infinity", model: { code: B.FLOOR_DIV, inputs: [{ name: "x", type: I32, shape: [6] }, { name: "y", type: I32, shape: [6] }], outputs: [{ type: I32, shape: [6] }] }, feeds: [makeTensor("int32", [6], [7, -7, 7, -7, 0, -9]), makeTensor("int32", [6], [2, 2, -2, -2, 3, 4])] },
	{ name: "FLOOR_MOD", model: { code: B.FLOOR_MOD, inputs: [{ name: "x", shape: [3, 4] }, { name: "y", shape: [3, 4] }], outputs: [{ shape: [3, 4] }] }, feeds: [floats(18, [3, 4], -9, 9), floats(19, [3, 4], 0.5, 3)] },
	compareCase("GREATER", B.GREATER),
	compareCase("GREATER_EQUAL", B.GREATER_EQUAL),
	compareCase("LESS", B.LESS),
	compareCase("LESS_EQUAL", B.LESS_EQUAL),
	compareCase("EQUAL", B.EQUAL),
	compareCase("NOT_EQUAL", B.NOT_EQUAL),
	{ name: "LOGICAL_AND with broadcasting", model: { code: B.LOGICAL_AND, inputs: [{ name: "a", type: TensorType.BOOL, shape: [2, 3] }, { name: "b", type: TensorType.BOOL, shape: [3] }], outputs: [{ type: TensorType.BOOL, shape: [2, 3] }] }, feeds: [bools([2, 3], [1, 0, 1, 1, 1, 0]), bools([3], [1, 1, 0])] },
	{ name: "LOGICAL_OR", model: { code: B.LOGICAL_OR, inputs: [{ name: "a", type: TensorType.BOOL, shape: [4] }, { name: "b", type: TensorType.BOOL, shape: [4] }], outputs: [{ type: TensorType.BOOL, shape: [4] }] }, feeds: [bools([4], [1, 0, 1, 0]), bools([4], [1, 1, 0, 0])] },
	{ name: "LOGICAL_NOT", model: { code: B.LOGICAL_NOT, inputs: [{ name: "a", type: TensorType.BOOL, shape: [4] }], outputs: [{ type: TensorType.BOOL, shape: [4] }] }, feeds: [bools([4], [1, 0, 1, 0])] },
	{ name: "SELECT with a same-shape condition", model: { code: B.SELECT, inputs: [{ name: "c", type: TensorType.BOOL, shape: [2, 3] }, { name: "x", shape: [2, 3] }, { name: "y", shape: [2, 3] }], outputs: [{ shape: [2, 3] }] }, feeds: [bools([2, 3], [1, 0, 0, 1, 1, 0]), floats(20, [2, 3]), floats(21, [2, 3])] },
	{ name: "SELECT_V2 with broadcasting", model: { code: B.SELECT_V2, inputs: [{ name: "c", type: TensorType.BOOL, shape: [2, 1] }, { name: "x", shape: [2, 3] }, { name: "y", shape: [1, 3] }], outputs: [{ shape: [2, 3] }] }, feeds: [bools([2, 1], [0, 1]), floats(22, [2, 3]), floats(23, [1, 3])] },
	{ name: "PRELU with per-channel alpha", model: { code: B.PRELU, inputs: [{ name: "x", shape: [2, 3, 4] }, { name: "alpha", shape: [4], constant: [0.1, -0.5, 2, 0] }], outputs: [{ shape: [2, 3, 4] }] }, feeds: [floats(24, [2, 3, 4])] },
	{ name: "L2_NORMALIZATION over the last axis", model: { code: B.L2_NORMALIZATION, inputs: [{ name: "x", shape: [3, 5] }], outputs: [{ shape: [3, 5] }] }, feeds: [floats(25, [3, 5])] },
	{ name: "BATCH_MATMUL with adj_y", model: { code: B.BATCH_MATMUL, inputs: [{ name: "x", shape: [2, 3, 4] }, { name: "y", shape: [2, 5, 4] }], outputs: [{ shape: [2, 3, 5] }], options: { adjX: false, adjY: true } }, feeds: [floats(26, [2, 3, 4]), floats(27, [2, 5, 4])] },
	{ name: "BATCH_MATMUL with adj_x and a broadcast batch", model: { code: B.BATCH_MATMUL, inputs: [{ name: "x", shape: [2, 4, 3] }, { name: "y", shape: [1, 4, 5] }], outputs: [{ shape: [2, 3, 5] }], options: { adjX: true, adjY: false } }, feeds: [floats(28, [2, 4, 3]), floats(29, [1, 4, 5])] },
	{ name: "SUM over axis 1", model: { code: B.SUM, inputs: [{ name: "x", shape: [2, 3, 4] }, { name: "axes", type: I32, shape: [1], constant: [1] }], outputs: [{ shape: [2, 4] }] }, feeds: [floats(30, [2, 3, 4])] },
	{ name: "REDUCE_PROD over axes 0 and 2, keep_dims", model: { code: B.REDUCE_PROD, inputs: [{ name: "x", shape: [2, 3, 4] }, { name: "axes", type: I32, shape: [2], constant: [0, 2] }], outputs: [{ shape: [1, 3, 1] }], options: { keepDims: true } }, feeds: [floats(31, [2, 3, 4], 0.5, 1.5)] },
	{ name: "REDUCE_MAX over axis -1", model: { code: B.REDUCE_MAX, inputs: [{ name: "x", shape: [2, 3, 4] }, { name: "axes", type: I32, shape: [1], constant: [-1] }], outputs: [{ shape: [2, 3] }] }, feeds: [floats(32, [2, 3, 4])] },
	{ name: "REDUCE_MIN over axis 0", model: { code: B.REDUCE_MIN, inputs: [{ name: "x", shape: [2, 3, 4] }, { name: "axes", type: I32, shape: [1], constant: [0] }], outputs: [{ shape: [3, 4] }] }, feeds: [floats(33, [2, 3, 4])] },
	{ name: "ARG_MAX over axis 1", model: { code: B.ARG_MAX, inputs: [{ name: "x", shape: [3, 5] }, { name: "axis", type: I32, shape: [1], constant: [1] }], outputs: [{ type: I32, shape: [3] }], options: { outputType: I32 } }, feeds: [floats(34, [3, 5])] },
	{ name: "ARG_MIN over axis 0", model: { code: B.ARG_MIN, inputs: [{ name: "x", shape: [3, 5] }, { name: "axis", type: I32, shape: [1], constant: [0] }], outputs: [{ type: I32, shape: [5] }], options: { outputType: I32 } }, feeds: [floats(35, [3, 5])] },
	{ name: "FILL with a fed value", model: { code: B.FILL, inputs: [{ name: "dims", type: I32, shape: [2], constant: [2, 3] }, { name: "value", shape: [] }], outputs: [{ shape: [2, 3] }] }, feeds: [makeTensor("float32", [], [1.25])] },
	{ name: "ZEROS_LIKE", model: { code: B.ZEROS_LIKE, inputs: [{ name: "x", shape: [2, 3] }], outputs: [{ shape: [2, 3] }] }, feeds: [floats(36, [2, 3])] },
];

describe("float TFLite operators beyond the core set match TFLite's runtime in the interpreter and in C", { skip }, () => {
	FLOAT_CASES.forEach((c, n) => {
		it(c.name, async () => {
			await checkTfliteFloat(`more_float_${n}`, oneOp(c.model), c.feeds);
		});
	});

	it("SHAPE is folded to the declared shape and feeds arithmetic", async () => {
		const b = new TfliteBuilder();
		const x = b.input("x", F, [2, 3, 4]);
		const y = b.input("y", I32, [3]);
		const shape = b.tensor("shape", I32, [3]);
		const sum = b.tensor("sum", I32, [3]);
		const negated = b.tensor("negated", F, [2, 3, 4]);
		b.op(B.SHAPE, [x], [shape], { options: { outType: I32 } }).op(B.ADD, [shape, y], [sum]).op(B.NEG, [x], [negated]).output(sum, negated);
		await checkTfliteFloat("more_shape", b.build(), [floats(37, [2, 3, 4]), makeTensor("int32", [3], [10, -1, 7])]);
	});

	it("RANGE of constants is folded and feeds arithmetic", async () => {
		const b = new TfliteBuilder();
		const x = b.input("x", F, [5]);
		const start = b.constant("start", F, [], [1.5]);
		const limit = b.constant("limit", F, [], [4]);
		const delta = b.constant("delta", F, [], [0.5]);
		const range = b.tensor("range", F, [5]);
		const sum = b.tensor("sum", F, [5]);
		b.op(B.RANGE, [start, limit, delta], [range]).op(B.ADD, [x, range], [sum]).output(sum);
		await checkTfliteFloat("more_range", b.build(), [floats(38, [5])]);
	});

	it("a quantized EXP is refused, naming the operator", () => {
		const b = new TfliteBuilder();
		const x = b.input("x", TensorType.INT8, [4], { scale: 0.1, zeroPoint: 0 });
		const y = b.tensor("y", TensorType.INT8, [4], { scale: 0.1, zeroPoint: 0 });
		b.op(B.EXP, [x], [y]).output(y);
		assert.throws(() => loadTfliteBytes(b.build(), "exp.tflite"), /exp\.tflite: operator 0 \(EXP, output "y"\): .*quantized int8/);
	});
});

/** Runs a quantized model in all three; the interpreter must equal `expected` (default: the runtime's outputs) exactly, the C the interpreter. */
async function checkExact(name: string, bytes: Uint8Array, feeds: Tensor[], given?: TfliteOutput[]): Promise<void> {
	const expected = given ?? await runTflite(bytes, feeds.map((t) => numbers(t)));
	const model = loadTfliteBytes(bytes, `${name}.tflite`);
	const graphInputs = model.graphInputs ?? [];
	const fetches = (model.graphOutputs ?? []).map((o) => parseInputName(o.tensor).ref);
	assert.equal(fetches.length, expected.length, `${name}: outputs`);
	const interpreted = runGraph(model.graph, new Map(graphInputs.map((input, i) => [input.tensor, feeds[i]])), fetches);
	interpreted.forEach((got, k) => {
		assert.deepEqual(got.shape, expected[k].shape, `${name} output ${k}: shape`);
		assert.deepEqual(Array.from(numbers(got)), expected[k].data, `${name} output ${k}: the interpreter differs from TFLite's runtime`);
	});
	const { config } = buildConfig(model.graph, graphInputs.map((input, i) => ({ ref: parseInputName(input.tensor).ref, shape: feeds[i].shape })), fetches.map((ref) => ({ ref })));
	const prefix = name.replace(/\W/g, "_");
	const compiled = compileModel(model.graph, config, prefix, `${name}.tflite`);
	const [results] = runHost(buildHost(compiled, tempDir(`tflite-${prefix}`)), compiled, feeds, 1);
	results.forEach((got, k) => assert.deepEqual(Array.from(numbers(got)), Array.from(numbers(interpreted[k])), `${name} output ${k}: the C differs from the interpreter`));
}

const Q8 = TensorType.INT8;
const QIN = { scale: 0.05, zeroPoint: -4 };


function int8s(seed: number, shape: number[], dtype: DType = "int8"): Tensor {
	const random = mulberry32(seed);
	const count = shape.reduce((a, b) => a * b, 1);
	const [low, high] = dtype === "uint8" ? [0, 255] : [-128, 127];
	return makeTensor(dtype, shape, Array.from({ length: count }, () => low + Math.floor(random() * (high - low + 1))));
}

/** One quantized op whose tensors all share QIN unless `outQuant` says otherwise. */
function quantizedOp(code: number, options: Record<string, OptionValue>, inputs: { shape: number[]; constant?: number[]; type?: TensorType }[], outputs: { shape: number[]; type?: TensorType }[], outQuant = QIN, type = Q8): Uint8Array {
	const b = new TfliteBuilder();
	const ins = inputs.map((t, i) => (t.constant
		? b.constant(`c${i}`, t.type ?? I32, t.shape, t.constant)
		: b.input(`x${i}`, t.type ?? type, t.shape, (t.type ?? type) === type ? QIN : undefined)));
	const outs = outputs.map((t, i) => b.tensor(`y${i}`, t.type ?? type, t.shape, (t.type ?? type) === type ? outQuant : undefined));
	b.op(code, ins, outs, { options }).output(...outs);
	return b.build();
}

interface QuantCase {
	name: string;
	bytes: Uint8Array;
	feeds: Tensor[];
}

const QUANT_CASES: QuantCase[] = [
	{ name: "TRANSPOSE", bytes: quantizedOp(B.TRANSPOSE, {}, [{ shape: [2, 3, 4] }, { shape: [3], constant: [1, 2, 0] }], [{ shape: [3, 4, 2] }]), feeds: [int8s(40, [2, 3, 4])] },
	{ name: "TRANSPOSE with different output parameters copies the integers, as TFLite does", bytes: quantizedOp(B.TRANSPOSE, {}, [{ shape: [2, 3] }, { shape: [2], constant: [1, 0] }], [{ shape: [3, 2] }], { scale: 0.2, zeroPoint: 3 }), feeds: [int8s(41, [2, 3])] },
	{ name: "SLICE", bytes: quantizedOp(B.SLICE, {}, [{ shape: [3, 4, 5] }, { shape: [3], constant: [1, 1, 0] }, { shape: [3], constant: [2, 2, -1] }], [{ shape: [2, 2, 5] }]), feeds: [int8s(42, [3, 4, 5])] },
	{ name: "PACK", bytes: quantizedOp(B.PACK, { valuesCount: 3, axis: -1 }, [{ shape: [2, 3] }, { shape: [2, 3] }, { shape: [2, 3] }], [{ shape: [2, 3, 3] }]), feeds: [int8s(43, [2, 3]), int8s(44, [2, 3]), int8s(45, [2, 3])] },
	{ name: "UNPACK", bytes: quantizedOp(B.UNPACK, { num: 3, axis: 0 }, [{ shape: [3, 4] }], [{ shape: [4] }, { shape: [4] }, { shape: [4] }]), feeds: [int8s(46, [3, 4])] },
	{ name: "SPLIT", bytes: quantizedOp(B.SPLIT, { numSplits: 2 }, [{ shape: [], constant: [1] }, { shape: [3, 4] }], [{ shape: [3, 2] }, { shape: [3, 2] }]), feeds: [int8s(47, [3, 4])] },
	{ name: "SPLIT_V", bytes: quantizedOp(B.SPLIT_V, { numSplits: 2 }, [{ shape: [5, 2] }, { shape: [2], constant: [1, 4] }, { shape: [], constant: [0] }], [{ shape: [1, 2] }, { shape: [4, 2] }]), feeds: [int8s(48, [5, 2])] },
	{ name: "GATHER", bytes: quantizedOp(B.GATHER, { axis: 1 }, [{ shape: [2, 6] }, { shape: [3], constant: [5, 0, 5] }], [{ shape: [2, 3] }]), feeds: [int8s(49, [2, 6])] },
	{ name: "EXPAND_DIMS", bytes: quantizedOp(B.EXPAND_DIMS, {}, [{ shape: [2, 3] }, { shape: [], constant: [-1] }], [{ shape: [2, 3, 1] }]), feeds: [int8s(50, [2, 3])] },
	{ name: "TILE", bytes: quantizedOp(B.TILE, {}, [{ shape: [2, 3] }, { shape: [2], constant: [3, 1] }], [{ shape: [6, 3] }]), feeds: [int8s(51, [2, 3])] },
	{ name: "BROADCAST_TO", bytes: quantizedOp(B.BROADCAST_TO, {}, [{ shape: [3, 1] }, { shape: [3], constant: [2, 3, 4] }], [{ shape: [2, 3, 4] }]), feeds: [int8s(52, [3, 1])] },
	{ name: "REDUCE_MAX", bytes: quantizedOp(B.REDUCE_MAX, { keepDims: false }, [{ shape: [2, 3, 4] }, { shape: [2], constant: [0, 2] }], [{ shape: [3] }]), feeds: [int8s(53, [2, 3, 4])] },
	{ name: "REDUCE_MIN", bytes: quantizedOp(B.REDUCE_MIN, { keepDims: true }, [{ shape: [2, 3, 4] }, { shape: [1], constant: [1] }], [{ shape: [2, 1, 4] }]), feeds: [int8s(54, [2, 3, 4])] },
	{ name: "ARG_MAX", bytes: quantizedOp(B.ARG_MAX, { outputType: I32 }, [{ shape: [3, 5] }, { shape: [1], constant: [1] }], [{ shape: [3], type: I32 }]), feeds: [int8s(55, [3, 5])] },
	{ name: "ARG_MIN", bytes: quantizedOp(B.ARG_MIN, { outputType: I32 }, [{ shape: [3, 5] }, { shape: [1], constant: [0] }], [{ shape: [5], type: I32 }]), feeds: [int8s(56, [3, 5])] },
];

describe("quantized layout operators copy integers exactly as TFLite's runtime does, in the interpreter and in C", { skip }, () => {
	QUANT_CASES.forEach((c, n) => {
		it(`int8 ${c.name}`, async () => {
			await checkExact(`more_int8_${n}`, c.bytes, c.feeds);
		});
	});

	it("uint8 TRANSPOSE and REDUCE_MAX copy integers as the runtime does", async () => {
		await checkExact("more_uint8_transpose", quantizedOp(B.TRANSPOSE, {}, [{ shape: [3, 4] }, { shape: [2], constant: [1, 0] }], [{ shape: [4, 3] }], { scale: 0.05, zeroPoint: 120 }, TensorType.UINT8), [int8s(57, [3, 4], "uint8")]);
		await checkExact("more_uint8_reduce_max", quantizedOp(B.REDUCE_MAX, { keepDims: false }, [{ shape: [3, 4] }, { shape: [1], constant: [1] }], [{ shape: [3] }], QIN, TensorType.UINT8), [int8s(58, [3, 4], "uint8")]);
	});
});

/**
 * TFLite's reference Requantize (default build) in float64: the ratio s_in / s_out is a 31-bit mantissa times 2^e;
 * (q - zp_in) times the mantissa is rounded to an integer, then divided by 2^-e and rounded again, half away from
 * zero both times; plus zp_out, saturated. The runtime itself is no oracle here: it runs a lone int8 QUANTIZE through
 * XNNPACK, whose 8-bit multiplier turns 5/13 into 98/256.
 */
const IN = { scale: 0.05, zeroPoint: -4 };
const OUT = { scale: 0.13, zeroPoint: 7 };
const roundAway = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
function requantized(values: number[]): number[] {
	const ratio = Math.fround(IN.scale) / Math.fround(OUT.scale);
	const exponent = Math.floor(Math.log2(ratio)) + 1;
	const mantissa = Math.round((ratio / 2 ** exponent) * 2 ** 31);
	return values.map((q) => {
		const high = roundAway(((q - IN.zeroPoint) * mantissa) / 2 ** 31);
		return Math.min(127, Math.max(-128, roundAway(high / 2 ** -exponent) + OUT.zeroPoint));
	});
}

describe("where TFLite refuses different input and output parameters, a requantize gives the values the output's meaning", { skip }, () => {
	it("REDUCE_MAX to other parameters equals the runtime's REDUCE_MAX requantized", async () => {
		const feeds = [int8s(60, [2, 3, 4])];
		const bytes = quantizedOp(B.REDUCE_MAX, { keepDims: false }, [{ shape: [2, 3, 4] }, { shape: [1], constant: [2] }], [{ shape: [2, 3] }], OUT);
		const same = quantizedOp(B.REDUCE_MAX, { keepDims: false }, [{ shape: [2, 3, 4] }, { shape: [1], constant: [2] }], [{ shape: [2, 3] }]);
		const [max] = await runTflite(same, feeds.map((t) => numbers(t)));
		await checkExact("more_reduce_max_requantized", bytes, feeds, [{ ...max, data: requantized(max.data) }]);
	});

	it("PACK of an input with other parameters equals the runtime's PACK of it requantized", async () => {
		const feeds = [int8s(61, [2, 3]), int8s(62, [2, 3])];
		const b = new TfliteBuilder();
		const x0 = b.input("x0", Q8, [2, 3], IN);
		const x1 = b.input("x1", Q8, [2, 3], OUT);
		const y = b.tensor("y0", Q8, [2, 2, 3], OUT);
		b.op(B.PACK, [x0, x1], [y], { options: { valuesCount: 2, axis: 1 } }).output(y);
		const same = quantizedOp(B.PACK, { valuesCount: 2, axis: 1 }, [{ shape: [2, 3] }, { shape: [2, 3] }], [{ shape: [2, 2, 3] }]);
		const expected = await runTflite(same, [requantized(Array.from(numbers(feeds[0]))), Array.from(numbers(feeds[1]))]);
		await checkExact("more_pack_requantized", b.build(), feeds, expected);
	});

	it("UNPACK to an output with other parameters equals the runtime's UNPACK requantized", async () => {
		const feeds = [int8s(63, [2, 4])];
		const b = new TfliteBuilder();
		const x = b.input("x0", Q8, [2, 4], IN);
		const y0 = b.tensor("y0", Q8, [4], OUT);
		const y1 = b.tensor("y1", Q8, [4], IN);
		b.op(B.UNPACK, [x], [y0, y1], { options: { num: 2, axis: 0 } }).output(y0, y1);
		const same = quantizedOp(B.UNPACK, { num: 2, axis: 0 }, [{ shape: [2, 4] }], [{ shape: [4] }, { shape: [4] }]);
		const [u0, u1] = await runTflite(same, feeds.map((t) => numbers(t)));
		await checkExact("more_unpack_requantized", b.build(), feeds, [{ ...u0, data: requantized(u0.data) }, u1]);
	});
});

/** A one-op int32 reduction over `axes` whose feeds overflow int32, so only wrapping int32 arithmetic matches. */
function int32Reduction(code: number, shape: number[], axes: number[], outShape: number[], keepDims = false): Uint8Array {
	const b = new TfliteBuilder();
	const x = b.input("x", I32, shape);
	const axesTensor = b.constant("axes", I32, [axes.length], axes);
	const y = b.tensor("y", I32, outShape);
	b.op(code, [x, axesTensor], [y], { options: { keepDims } }).output(y);
	return b.build();
}

function bigInt32s(seed: number, shape: number[]): Tensor {
	const random = mulberry32(seed);
	const count = shape.reduce((a, b) => a * b, 1);
	return makeTensor("int32", shape, Array.from({ length: count }, () => Math.floor(random() * 2 ** 32) - 2 ** 31));
}

describe("int32 SUM and REDUCE_PROD wrap in int32 as TFLite's runtime does, in the interpreter and in C", { skip }, () => {
	it("SUM of large int32 values over the last axis wraps", async () => {
		await checkExact("more_sum_int32_wraps", int32Reduction(B.SUM, [3, 5], [1], [3]), [bigInt32s(70, [3, 5])]);
	});

	it("SUM of large int32 values over a leading axis (strided) wraps", async () => {
		await checkExact("more_sum_int32_strided", int32Reduction(B.SUM, [4, 3, 2], [0, 2], [1, 3, 1], true), [bigInt32s(71, [4, 3, 2])]);
	});

	it("REDUCE_PROD of int32 values keeps the low 32 bits of the product", async () => {
		const feeds = [makeTensor("int32", [2, 4], [65537, -3, 1 << 20, 7, -46341, 46341, 99991, -2])];
		await checkExact("more_prod_int32_wraps", int32Reduction(B.REDUCE_PROD, [2, 4], [1], [2]), feeds);
		await checkExact("more_prod_int32_axis0", int32Reduction(B.REDUCE_PROD, [2, 4], [0], [4]), feeds);
	});
});
