// Quantized ADD, SUB, MUL, activations, SOFTMAX, CONCATENATION, QUANTIZE and DEQUANTIZE: one-op TFLite models run by
// TFLite's own runtime (the oracle), by Kernel NN's interpreter and by the integer C built for the host.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadTfliteBytes } from "../../extension/core/frontends/tflite/load";
import { BuiltinOperator, TensorType } from "../../extension/core/frontends/tflite/types";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { parseInputName } from "../../extension/core/graph/graph";
import { type DType, type Tensor, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { tempDir } from "../support/cli";
import { buildHost, gccMissing, runHost } from "../support/hostBuild";
import { mulberry32 } from "../support/random";
import { type QuantSpec, TfliteBuilder } from "../support/tfliteBuilder";
import { runTflite, tfliteRuntimeMissing } from "../support/tfliteOracle";

const skip = tfliteRuntimeMissing() ?? gccMissing;
const DTYPE: Record<number, DType> = { [TensorType.INT8]: "int8", [TensorType.UINT8]: "uint8", [TensorType.INT16]: "int16", [TensorType.FLOAT32]: "float32" };
const RANGE: Record<number, [number, number]> = { [TensorType.INT8]: [-128, 127], [TensorType.UINT8]: [0, 255], [TensorType.INT16]: [-32768, 32767] };

interface Operand { type: TensorType; shape: number[]; quant?: QuantSpec }

/** Random inputs over the whole integer range (float inputs in [-4, 4)). */
function randomInput(random: () => number, operand: Operand): Tensor {
	const size = operand.shape.reduce((a, b) => a * b, 1);
	const range = RANGE[operand.type];
	const values = Array.from({ length: size }, () => (range ? range[0] + Math.floor(random() * (range[1] - range[0] + 1)) : Math.fround(random() * 8 - 4)));
	return makeTensor(DTYPE[operand.type], operand.shape, values);
}

interface Case {
	name: string;
	code: number;
	inputs: Operand[];
	output: Operand;
	options?: Record<string, number | boolean>;
	/** Inputs holding every 8-bit value in order: one [256] input, or [256, 1] and [1, 256] so the output holds every pair once. */
	everyPair?: boolean;
}

function everyValue(operand: Operand): Tensor {
	const [low] = RANGE[operand.type];
	return makeTensor(DTYPE[operand.type], operand.shape, Array.from({ length: 256 }, (_, k) => low + k));
}

/** Differing elements: [interpreter vs TFLite, worst |difference| in steps, C vs interpreter]. */
async function runCase(c: Case, seed: number): Promise<{ differ: number; worst: number; cDiffer: number; size: number }> {
	const b = new TfliteBuilder();
	const ins = c.inputs.map((o, k) => b.input(`in${k}`, o.type, o.shape, o.quant));
	const out = b.tensor("out", c.output.type, c.output.shape, c.output.quant);
	b.op(c.code, ins, [out], { options: c.options }).output(out);
	const bytes = b.build();
	const random = mulberry32(seed);
	const feeds = c.inputs.map((o) => (c.everyPair ? everyValue(o) : randomInput(random, o)));
	const [expected] = await runTflite(bytes, feeds.map((t) => numbers(t)));
	const model = loadTfliteBytes(bytes, `${c.name}.tflite`);
	const inputs = model.graphInputs ?? [];
	const fetches = (model.graphOutputs ?? []).map((o) => parseInputName(o.tensor).ref);
	const [interpreted] = runGraph(model.graph, new Map(inputs.map((input, k) => [input.tensor, feeds[k]])), fetches);
	assert.deepEqual(interpreted.shape, expected.shape, `${c.name}: shape`);
	const got = numbers(interpreted);
	let differ = 0;
	let worst = 0;
	for (let i = 0; i < got.length; i++) {
		const d = Math.abs(got[i] - expected.data[i]);
		if (d !== 0) differ++;
		worst = Math.max(worst, d);
	}
	const { config } = buildConfig(model.graph, inputs.map((input, k) => ({ ref: parseInputName(input.tensor).ref, shape: feeds[k].shape })), fetches.map((ref) => ({ ref })));
	const prefix = c.name.replace(/\W/g, "_");
	const compiled = compileModel(model.graph, config, prefix, `${c.name}.tflite`);
	const [[fromC]] = runHost(buildHost(compiled, tempDir(`qb-${prefix}`)), compiled, feeds, 1);
	const cValues = numbers(fromC);
	let cDiffer = 0;
	for (let i = 0; i < got.length; i++) if (!Object.is(cValues[i], got[i])) cDiffer++;
	return { differ, worst, cDiffer, size: got.length };
}

const i8 = (shape: number[], scale: number, zeroPoint: number): Operand => ({ type: TensorType.INT8, shape, quant: { scale, zeroPoint } });
const u8 = (shape: number[], scale: number, zeroPoint: number): Operand => ({ type: TensorType.UINT8, shape, quant: { scale, zeroPoint } });
const i16 = (shape: number[], scale: number): Operand => ({ type: TensorType.INT16, shape, quant: { scale, zeroPoint: 0 } });
const f32 = (shape: number[]): Operand => ({ type: TensorType.FLOAT32, shape });
const RELU = 1;
const RELU6 = 3;

// Measured: these match TFLite's runtime on every element.
const EXACT: Case[] = [
	{ name: "add_int8", code: BuiltinOperator.ADD, inputs: [i8([2, 3, 4], 0.05, 3), i8([2, 3, 4], 0.031, -7)], output: i8([2, 3, 4], 0.07, -2) },
	{ name: "add_uint8", code: BuiltinOperator.ADD, inputs: [u8([5, 6], 0.04, 128), u8([6], 0.03, 100)], output: u8([5, 6], 0.05, 120) },
	{ name: "add_int16", code: BuiltinOperator.ADD, inputs: [i16([4, 8], 0.0003), i16([4, 8], 0.0005)], output: i16([4, 8], 0.0007), options: { potScaleInt16: false } },
	{ name: "sub_int8_relu6", code: BuiltinOperator.SUB, inputs: [i8([3, 7], 0.06, 5), i8([1, 7], 0.04, -3)], output: i8([3, 7], 0.05, -128), options: { fusedActivationFunction: RELU6 } },
	{ name: "mul_int8", code: BuiltinOperator.MUL, inputs: [i8([2, 5, 3], 0.05, 1), i8([2, 5, 3], 0.04, -5)], output: i8([2, 5, 3], 0.08, 4) },
	{ name: "mul_uint8", code: BuiltinOperator.MUL, inputs: [u8([16], 0.02, 128), u8([16], 0.02, 128)], output: u8([16], 0.01, 128) },
	{ name: "mul_int16", code: BuiltinOperator.MUL, inputs: [i16([12], 0.0004), i16([12], 0.0002)], output: i16([12], 0.0001) },
	{ name: "add_int8_broadcast_relu", code: BuiltinOperator.ADD, inputs: [i8([2, 3, 4], 0.02, 0), i8([3, 1], 0.09, 11)], output: i8([2, 3, 4], 0.06, -20), options: { fusedActivationFunction: RELU } },
	{ name: "sub_uint8", code: BuiltinOperator.SUB, inputs: [u8([4, 5], 0.02, 120), u8([4, 5], 0.03, 130)], output: u8([4, 5], 0.04, 128) },
	{ name: "mul_int8_broadcast", code: BuiltinOperator.MUL, inputs: [i8([4, 1, 3], 0.03, 0), i8([5, 1], 0.07, 9)], output: i8([4, 5, 3], 0.02, -1) },
	// Every pair of 8-bit inputs, with scales where the reference kernels' rounding and XNNPACK's differ (the runtime runs XNNPACK's).
	{ name: "add_int8_every_pair", code: BuiltinOperator.ADD, inputs: [i8([256, 1], 0.02, 0), i8([1, 256], 0.09, 11)], output: i8([256, 256], 0.06, -20), everyPair: true },
	{ name: "add_uint8_every_pair_relu", code: BuiltinOperator.ADD, inputs: [u8([256, 1], 0.04, 128), u8([1, 256], 0.03, 100)], output: u8([256, 256], 0.05, 120), options: { fusedActivationFunction: RELU }, everyPair: true },
	{ name: "sub_int8_every_pair", code: BuiltinOperator.SUB, inputs: [i8([256, 1], 0.06, 5), i8([1, 256], 0.04, -3)], output: i8([256, 256], 0.05, -1), everyPair: true },
	{ name: "sub_uint8_every_pair", code: BuiltinOperator.SUB, inputs: [u8([256, 1], 0.02, 120), u8([1, 256], 0.03, 130)], output: u8([256, 256], 0.04, 128), everyPair: true },
	{ name: "mul_int8_every_pair", code: BuiltinOperator.MUL, inputs: [i8([256, 1], 0.03, 0), i8([1, 256], 0.07, 9)], output: i8([256, 256], 0.02, -1), everyPair: true },
	{ name: "mul_uint8_every_pair_relu6", code: BuiltinOperator.MUL, inputs: [u8([256, 1], 0.02, 128), u8([1, 256], 0.02, 110)], output: u8([256, 256], 0.01, 128), options: { fusedActivationFunction: RELU6 }, everyPair: true },
	// Outside XNNPACK's scale limits (an input-to-output ratio of 2^-11), where the runtime runs TFLite's own kernel.
	{ name: "add_int8_small_ratio", code: BuiltinOperator.ADD, inputs: [i8([256, 1], 0.05, 3), i8([1, 256], 0.05 / 2048, -7)], output: i8([256, 256], 0.1, -2), everyPair: true },
	{ name: "logistic_int8", code: BuiltinOperator.LOGISTIC, inputs: [i8([256], 0.06, 4)], output: i8([256], 1 / 256, -128) },
	{ name: "logistic_uint8", code: BuiltinOperator.LOGISTIC, inputs: [u8([256], 0.05, 128)], output: u8([256], 1 / 256, 0) },
	{ name: "tanh_int8", code: BuiltinOperator.TANH, inputs: [i8([256], 0.03, -3)], output: i8([256], 1 / 128, 0) },
	{ name: "tanh_uint8", code: BuiltinOperator.TANH, inputs: [u8([256], 0.02, 128)], output: u8([256], 1 / 128, 128) },
	{ name: "relu_int8", code: BuiltinOperator.RELU, inputs: [i8([64], 0.05, -10)], output: i8([64], 0.03, -128) },
	{ name: "relu_uint8", code: BuiltinOperator.RELU, inputs: [u8([64], 0.05, 120)], output: u8([64], 0.04, 0) },
	{ name: "relu6_int8", code: BuiltinOperator.RELU6, inputs: [i8([64], 0.07, 0)], output: i8([64], 6 / 255, -128) },
	{ name: "leaky_relu_int8", code: BuiltinOperator.LEAKY_RELU, inputs: [i8([256], 0.05, 2)], output: i8([256], 0.04, -30), options: { alpha: 0.2 } },
	{ name: "leaky_relu_int8_small_alpha", code: BuiltinOperator.LEAKY_RELU, inputs: [i8([256], 0.03, -5)], output: i8([256], 0.02, 10), options: { alpha: 0.1 } },
	{ name: "leaky_relu_uint8", code: BuiltinOperator.LEAKY_RELU, inputs: [u8([64], 0.05, 128)], output: u8([64], 0.03, 90), options: { alpha: 0.1 } },
	{ name: "hard_swish_int8", code: BuiltinOperator.HARD_SWISH, inputs: [i8([256], 0.05, 5)], output: i8([256], 0.04, -100) },
	{ name: "hard_swish_uint8", code: BuiltinOperator.HARD_SWISH, inputs: [u8([256], 0.1, 128)], output: u8([256], 0.05, 20) },
	{ name: "concat_int8", code: BuiltinOperator.CONCATENATION, inputs: [i8([2, 3, 2], 0.05, 1), i8([2, 1, 2], 0.05, 1), i8([2, 4, 2], 0.05, 1)], output: i8([2, 8, 2], 0.05, 1), options: { axis: 1 } },
	{ name: "concat_int16", code: BuiltinOperator.CONCATENATION, inputs: [i16([3, 2], 0.001), i16([3, 5], 0.001)], output: i16([3, 7], 0.001), options: { axis: -1 } },
	{ name: "quantize_int8", code: BuiltinOperator.QUANTIZE, inputs: [f32([200])], output: i8([200], 0.03, -5) },
	{ name: "quantize_uint8", code: BuiltinOperator.QUANTIZE, inputs: [f32([200])], output: u8([200], 0.02, 128) },
	{ name: "quantize_int16", code: BuiltinOperator.QUANTIZE, inputs: [f32([200])], output: i16([200], 0.0002) },
	{ name: "requantize_int8", code: BuiltinOperator.QUANTIZE, inputs: [i8([128], 0.05, 3)], output: i8([128], 0.03, -9) },
	{ name: "requantize_uint8_to_int8", code: BuiltinOperator.QUANTIZE, inputs: [u8([128], 0.05, 130)], output: i8([128], 0.07, 2) },
	// Every 8-bit input. The runtime runs int8->int8 and uint8->uint8 in XNNPACK (ratio kept with 8 fractional bits)
	// when the ratio is in [2^-8, 2^7], TFLite's Requantize otherwise; each case is one where the two differ.
	{ name: "requantize_int8_xnnpack_ratio", code: BuiltinOperator.QUANTIZE, inputs: [i8([256], 0.05, 3)], output: i8([256], 0.13, -9), everyPair: true },
	{ name: "requantize_uint8_xnnpack_ratio", code: BuiltinOperator.QUANTIZE, inputs: [u8([256], 0.05, 130)], output: u8([256], 0.13, 100), everyPair: true },
	{ name: "requantize_int8_smallest_xnnpack_ratio", code: BuiltinOperator.QUANTIZE, inputs: [i8([256], 1, 0)], output: i8([256], 256, 0), everyPair: true },
	{ name: "requantize_int8_small_xnnpack_ratio", code: BuiltinOperator.QUANTIZE, inputs: [i8([256], 0.0037, -3)], output: i8([256], 0.5, 1), everyPair: true },
	{ name: "requantize_int8_large_xnnpack_ratio", code: BuiltinOperator.QUANTIZE, inputs: [i8([256], 127.499, 0)], output: i8([256], 1, -128), everyPair: true },
	{ name: "requantize_int8_ratio_below_xnnpack", code: BuiltinOperator.QUANTIZE, inputs: [i8([256], 1, 0)], output: i8([256], 257, 0), everyPair: true },
	{ name: "requantize_int8_ratio_above_xnnpack", code: BuiltinOperator.QUANTIZE, inputs: [i8([256], 128.499, 0)], output: i8([256], 1, -128), everyPair: true },
	{ name: "requantize_uint8_ratio_below_xnnpack", code: BuiltinOperator.QUANTIZE, inputs: [u8([256], 1, 0)], output: u8([256], 300, 5), everyPair: true },
	{ name: "requantize_uint8_ratio_above_xnnpack", code: BuiltinOperator.QUANTIZE, inputs: [u8([256], 200.499, 0)], output: u8([256], 1, 0), everyPair: true },
	{ name: "requantize_int8_to_uint8_every_value", code: BuiltinOperator.QUANTIZE, inputs: [i8([256], 0.05, 3)], output: u8([256], 0.13, 120), everyPair: true },
	{ name: "requantize_uint8_to_int8_every_value", code: BuiltinOperator.QUANTIZE, inputs: [u8([256], 0.05, 130)], output: i8([256], 0.13, -9), everyPair: true },
	{ name: "dequantize_int8", code: BuiltinOperator.DEQUANTIZE, inputs: [i8([256], 0.037, -7)], output: f32([256]) },
	{ name: "dequantize_uint8", code: BuiltinOperator.DEQUANTIZE, inputs: [u8([256], 0.011, 128)], output: f32([256]) },
	{ name: "dequantize_int16", code: BuiltinOperator.DEQUANTIZE, inputs: [i16([256], 0.00031)], output: f32([256]) },
];

// Measured: a few elements one step off TFLite's runtime (the runtime computes SOFTMAX in float), so Q_FIDELITY_B
// says "within 1 step" for it.
const WITHIN_ONE: Case[] = [
	{ name: "softmax_int8", code: BuiltinOperator.SOFTMAX, inputs: [i8([6, 10], 0.1, 3)], output: i8([6, 10], 1 / 256, -128), options: { beta: 1 } },
	{ name: "softmax_int8_beta", code: BuiltinOperator.SOFTMAX, inputs: [i8([4, 33], 0.05, -2)], output: i8([4, 33], 1 / 256, -128), options: { beta: 0.7 } },
	{ name: "softmax_uint8", code: BuiltinOperator.SOFTMAX, inputs: [u8([3, 17], 0.2, 128)], output: u8([3, 17], 1 / 256, 0), options: { beta: 1 } },
];

describe("quantized ADD, SUB, MUL, activations, CONCATENATION, QUANTIZE and DEQUANTIZE", { skip }, () => {
	for (const c of EXACT) {
		it(`${c.name}: the interpreter equals TFLite's runtime on every element and the integer C equals the interpreter`, async () => {
			const { differ, worst, cDiffer } = await runCase(c, 17);
			assert.equal(differ, 0, `${c.name}: ${differ} elements differ from TFLite's runtime (worst ${worst})`);
			assert.equal(cDiffer, 0, `${c.name}: ${cDiffer} elements of the C differ from the interpreter`);
		});
	}
});

describe("quantized SOFTMAX (computed in float by TFLite's runtime)", { skip }, () => {
	for (const c of WITHIN_ONE) {
		it(`${c.name}: within one output step of TFLite's runtime, and the integer C equals the interpreter`, async () => {
			const { differ, worst, cDiffer, size } = await runCase(c, 29);
			assert.ok(worst <= 1, `${c.name}: worst difference ${worst} steps (${differ} of ${size} elements differ)`);
			assert.equal(cDiffer, 0, `${c.name}: ${cDiffer} elements of the C differ from the interpreter`);
		});
	}
});
