// Quantized FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, AVERAGE/MAX_POOL_2D and MEAN: models written
// with the flatbuffers builder run in TFLite's own runtime (the oracle), in Kernel NN's interpreter and as compiled
// integer C. The interpreter must be within the step count codegen/cint/fidelityA.ts claims of the runtime, and the
// C must equal the interpreter bit for bit.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Q_FIDELITY_A } from "../../extension/core/codegen/cint/fidelityA";
import { Q_FP32_C } from "../../extension/core/codegen/cint/fp32Requantize";
import { compileModel } from "../../extension/core/codegen/compile";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { loadTfliteBytes } from "../../extension/core/frontends/tflite/load";
import { BuiltinOperator, TensorType } from "../../extension/core/frontends/tflite/types";
import { parseInputName } from "../../extension/core/graph/graph";
import { type DType, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { fp32Requantize, fp32RequantizeInt, fp32Scale } from "../../extension/core/interp/kernels/quantized/xnnpack";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "../support/cli";
import { buildHost, gccMissing, runHost } from "../support/hostBuild";
import { mulberry32 } from "../support/random";
import { TfliteBuilder } from "../support/tfliteBuilder";
import { runTflite, tfliteRuntimeMissing } from "../support/tfliteOracle";

const skip = tfliteRuntimeMissing() ?? gccMissing;

/** int8 per tensor, int8 with per-channel filter scales, uint8 (asymmetric filter), int16 activations with int8 weights. */
type Kind = "int8" | "int8 per-channel" | "uint8" | "16x8";

const ACTIVATION: Record<Kind, { type: TensorType; dtype: DType; min: number; max: number }> = {
	"int8": { type: TensorType.INT8, dtype: "int8", min: -128, max: 127 },
	"int8 per-channel": { type: TensorType.INT8, dtype: "int8", min: -128, max: 127 },
	"uint8": { type: TensorType.UINT8, dtype: "uint8", min: 0, max: 255 },
	"16x8": { type: TensorType.INT16, dtype: "int16", min: -32768, max: 32767 },
};

interface Input {
	dtype: DType;
	shape: number[];
	data: number[];
}

function ints(random: () => number, count: number, min: number, max: number): number[] {
	return Array.from({ length: count }, () => min + Math.floor(random() * (max - min + 1)));
}

function randomInput(random: () => number, kind: Kind, shape: number[]): Input {
	const a = ACTIVATION[kind];
	return { dtype: a.dtype, shape, data: ints(random, shape.reduce((x, y) => x * y, 1), a.min, a.max) };
}

/** Input and output quantization of a kind: int16 is symmetric, the others have zero points. */
function activationQuant(kind: Kind, scale: number, zeroPoint: number): { scale: number; zeroPoint: number } {
	return { scale, zeroPoint: kind === "16x8" ? 0 : kind === "uint8" ? zeroPoint + 128 : zeroPoint };
}

/**
 * Adds a filter of `shape` (channels along `axis`) and its bias to `b`: int8 symmetric weights (per tensor or per
 * channel), or uint8 weights with a zero point; an int32 bias (int64 for 16x8) at scale input x filter.
 */
function filterAndBias(b: TfliteBuilder, random: () => number, kind: Kind, shape: number[], axis: number, inScale: number): [number, number] {
	const channels = shape[axis];
	const count = shape.reduce((x, y) => x * y, 1);
	const scales = kind === "int8 per-channel" ? Array.from({ length: channels }, () => 0.002 + random() * 0.02) : [0.004 + random() * 0.01];
	const filter = kind === "uint8"
		? b.constant("filter", TensorType.UINT8, shape, ints(random, count, 0, 255), { scale: scales[0], zeroPoint: 120 + Math.floor(random() * 16) })
		: b.constant("filter", TensorType.INT8, shape, ints(random, count, -127, 127), { scale: scales, zeroPoint: scales.map(() => 0), axis });
	const biasScales = scales.map((s) => Math.fround(inScale) * Math.fround(s));
	const bias = kind === "16x8"
		? b.constant("bias", TensorType.INT64, [channels], ints(random, channels, -20000, 20000), { scale: biasScales, zeroPoint: biasScales.map(() => 0) })
		: b.constant("bias", TensorType.INT32, [channels], ints(random, channels, -3000, 3000), { scale: biasScales, zeroPoint: biasScales.map(() => 0) });
	return [filter, bias];
}

/** Largest difference in quantization steps between two integer outputs of equal shape. */
function stepsApart(got: ArrayLike<number>, want: ArrayLike<number>): number {
	assert.equal(got.length, want.length);
	return Array.from(got).reduce((worst, g, i) => Math.max(worst, Math.abs(g - want[i])), 0);
}

/**
 * Runs a one-output model in the TFLite runtime, the interpreter and compiled C. Asserts the interpreter within the
 * claimed steps of the runtime and the C equal to the interpreter; returns the steps measured.
 */
async function check(name: string, op: string, bytes: Uint8Array, inputs: Input[]): Promise<number> {
	const [expected] = await runTflite(bytes, inputs.map((input) => input.data));
	const model = loadTfliteBytes(bytes, `${name}.tflite`);
	assert.ok(model.graph.nodes.some((node) => node.op === op), `${name}: the front end made no ${op} node`);
	const graphInputs = model.graphInputs ?? [];
	const tensors = inputs.map((input) => makeTensor(input.dtype, input.shape, input.data));
	const fetches = (model.graphOutputs ?? []).map((output) => parseInputName(output.tensor).ref);
	const feeds = new Map(graphInputs.map((input, i) => [input.tensor, tensors[i]]));
	const [interpreted] = runGraph(model.graph, feeds, fetches);
	assert.deepEqual(interpreted.shape, expected.shape, `${name}: output shape`);
	const steps = stepsApart(numbers(interpreted), expected.data);
	const allowed = Q_FIDELITY_A[op] === "exact" ? 0 : 1;
	assert.ok(steps <= allowed, `${name}: the interpreter is ${steps} steps from TFLite's runtime (claimed: ${Q_FIDELITY_A[op]})`);
	const feedRequests = graphInputs.map((input, i) => ({ ref: parseInputName(input.tensor).ref, shape: inputs[i].shape }));
	const { config } = buildConfig(model.graph, feedRequests, fetches.map((ref) => ({ ref })));
	const compiled = compileModel(model.graph, config, name.replace(/\W/g, "_"), `${name}.tflite`);
	const source = compiled.files.find((f) => f.name.endsWith("_model.c"))?.text ?? "";
	const kernels = source.slice(source.indexOf("TFLite's fixed-point arithmetic")).replace(/\/\*[^]*?\*\//g, "");
	const floatUse = /.{0,80}\b(float|double)\b.{0,40}/.exec(kernels);
	assert.equal(floatUse, null, `${name}: the op's C uses floating point: ${floatUse?.[0]}`);
	const binary = buildHost(compiled, tempDir(`tflite-${name.replace(/\W/g, "_")}`));
	const [results] = runHost(binary, compiled, tensors, 1);
	assert.deepEqual(numbers(results[0]), numbers(interpreted), `${name}: the C differs from the interpreter`);
	return steps;
}

const KINDS: Kind[] = ["int8", "int8 per-channel", "uint8", "16x8"];

describe("quantized FULLY_CONNECTED matches TFLite's runtime exactly, in the interpreter and in integer C", { skip }, () => {
	for (const kind of KINDS) {
		for (const [rows, depth, units, activation] of [[1, 7, 5, 0], [3, 16, 9, 1], [2, 33, 4, 3]]) {
			it(`${kind}, ${rows}x${depth} -> ${units} units, activation ${activation}`, async () => {
				const random = mulberry32(rows * 1000 + depth * 10 + units);
				const a = ACTIVATION[kind];
				const b = new TfliteBuilder();
				const inQ = activationQuant(kind, 0.05, -3);
				const x = b.input("x", a.type, [rows, depth], inQ);
				const [filter, bias] = filterAndBias(b, random, kind, [units, depth], 0, inQ.scale);
				const y = b.tensor("y", a.type, [rows, units], activationQuant(kind, 0.09, 5));
				b.op(BuiltinOperator.FULLY_CONNECTED, [x, filter, bias], [y], { options: { fusedActivationFunction: activation } }).output(y);
				await check(`fc ${kind} ${rows}x${depth}x${units}`, "QFullyConnected", b.build(), [randomInput(random, kind, [rows, depth])]);
			});
		}
	}
});

// TFLite's reference rounding (MultiplyByQuantizedMultiplier) and XNNPACK's fp32 requantization, which the runtime
// uses for these, disagree on a few accumulators in a thousand: 6,144 outputs per case tell them apart.
describe("large int8/uint8 FULLY_CONNECTED and CONV_2D equal the runtime on every one of 6,144 outputs (XNNPACK's rounding)", { skip }, () => {
	for (const kind of ["int8", "int8 per-channel", "uint8"] as Kind[]) {
		for (const op of ["FULLY_CONNECTED", "CONV_2D"] as const) {
			it(`${op} ${kind}`, async () => {
				let differ = 0;
				let total = 0;
				for (let seed = 1; seed <= 6; seed++) {
					const random = mulberry32(seed * 77 + (op === "CONV_2D" ? 1000 : 0));
					const a = ACTIVATION[kind];
					const b = new TfliteBuilder();
					const inQ = activationQuant(kind, 0.03 + random() * 0.05, -3);
					const [units, depth] = [64, 48];
					const fc = op === "FULLY_CONNECTED";
					const xShape = fc ? [16, depth] : [1, 6, 6, depth];
					const x = b.input("x", a.type, xShape, inQ);
					const [filter, bias] = filterAndBias(b, random, kind, fc ? [units, depth] : [units, 3, 3, depth], 0, inQ.scale);
					const y = b.tensor("y", a.type, fc ? [16, units] : [1, 4, 4, units], activationQuant(kind, 0.5 + random(), 5));
					b.op(fc ? BuiltinOperator.FULLY_CONNECTED : BuiltinOperator.CONV_2D, [x, filter, bias], [y], { options: fc ? {} : { padding: 1, strideW: 1, strideH: 1 } }).output(y);
					const bytes = b.build();
					const input = randomInput(random, kind, xShape);
					const [expected] = await runTflite(bytes, [input.data]);
					const model = loadTfliteBytes(bytes, `${op}.tflite`);
					const feeds = new Map([[model.graphInputs![0].tensor, makeTensor(input.dtype, input.shape, input.data)]]);
					const [interpreted] = runGraph(model.graph, feeds, [parseInputName(model.graphOutputs![0].tensor).ref]);
					numbers(interpreted).forEach((v, i) => {
						total++;
						if (v !== expected.data[i]) differ++;
					});
				}
				assert.equal(differ, 0, `${differ} of ${total} outputs differ from TFLite's runtime`);
			});
		}
	}
});

interface ConvCase {
	input: number[];
	kernel: [number, number];
	stride: [number, number];
	dilation: [number, number];
	padding: 0 | 1;
	activation: number;
}

const CONV_CASES: ConvCase[] = [
	{ input: [1, 6, 7, 3], kernel: [3, 3], stride: [1, 1], dilation: [1, 1], padding: 0, activation: 0 },
	{ input: [2, 9, 8, 4], kernel: [3, 2], stride: [2, 2], dilation: [1, 1], padding: 1, activation: 1 },
	{ input: [1, 10, 10, 2], kernel: [3, 3], stride: [1, 2], dilation: [2, 2], padding: 0, activation: 3 },
];

describe("quantized CONV_2D and DEPTHWISE_CONV_2D match TFLite's runtime exactly, in the interpreter and in integer C", { skip }, () => {
	for (const kind of KINDS) {
		CONV_CASES.forEach((c, n) => {
			const geometry = `${c.input.join("x")} kernel ${c.kernel.join("x")} stride ${c.stride.join(",")} dilation ${c.dilation.join(",")} ${c.padding ? "VALID" : "SAME"}`;
			const options = {
				padding: c.padding, strideH: c.stride[0], strideW: c.stride[1], dilationHFactor: c.dilation[0], dilationWFactor: c.dilation[1],
				fusedActivationFunction: c.activation,
			};
			it(`conv ${kind}, ${geometry}`, async () => {
				const random = mulberry32(100 + n);
				const a = ACTIVATION[kind];
				const b = new TfliteBuilder();
				const inQ = activationQuant(kind, 0.03, 7);
				const x = b.input("x", a.type, c.input, inQ);
				const out = 5;
				const [filter, bias] = filterAndBias(b, random, kind, [out, ...c.kernel, c.input[3]], 0, inQ.scale);
				const y = b.tensor("y", a.type, windowOutShape(c, out), activationQuant(kind, 0.11, -4));
				b.op(BuiltinOperator.CONV_2D, [x, filter, bias], [y], { options, version: kind === "int8 per-channel" ? 3 : 1 }).output(y);
				await check(`conv ${kind} ${n}`, "QConv2D", b.build(), [randomInput(random, kind, c.input)]);
			});
			it(`depthwise ${kind}, ${geometry}, multiplier 2`, async () => {
				const random = mulberry32(200 + n);
				const a = ACTIVATION[kind];
				const b = new TfliteBuilder();
				const inQ = activationQuant(kind, 0.03, 7);
				const x = b.input("x", a.type, c.input, inQ);
				const [filter, bias] = filterAndBias(b, random, kind, [1, ...c.kernel, c.input[3] * 2], 3, inQ.scale);
				const y = b.tensor("y", a.type, windowOutShape(c, c.input[3] * 2), activationQuant(kind, 0.07, 2));
				b.op(BuiltinOperator.DEPTHWISE_CONV_2D, [x, filter, bias], [y], { options: { ...options, depthMultiplier: 2 }, version: 3 }).output(y);
				await check(`depthwise ${kind} ${n}`, "QDepthwiseConv2D", b.build(), [randomInput(random, kind, c.input)]);
			});
		});
	}
});

/** NHWC output shape of a window op, by TFLite's ComputeOutSize. */
function windowOutShape(c: ConvCase, channels: number): number[] {
	const [batch, h, w] = c.input;
	const size = (n: number, k: number, s: number, d: number) => (c.padding === 0 ? Math.ceil(n / s) : Math.floor((n - ((k - 1) * d + 1)) / s) + 1);
	return [batch, size(h, c.kernel[0], c.stride[0], c.dilation[0]), size(w, c.kernel[1], c.stride[1], c.dilation[1]), channels];
}

describe("quantized TRANSPOSE_CONV matches TFLite's runtime exactly, in the interpreter and in integer C", { skip }, () => {
	const cases: { input: number[]; output: number[]; kernel: [number, number]; stride: [number, number]; padding: 0 | 1 }[] = [
		{ input: [1, 4, 4, 3], output: [1, 8, 8, 4], kernel: [3, 3], stride: [2, 2], padding: 0 },
		{ input: [1, 3, 5, 2], output: [1, 7, 11, 3], kernel: [3, 3], stride: [2, 2], padding: 1 },
		{ input: [2, 5, 4, 2], output: [2, 5, 4, 3], kernel: [2, 3], stride: [1, 1], padding: 0 },
	];
	for (const kind of KINDS) {
		cases.forEach((c, n) => {
			it(`${kind}, ${c.input.join("x")} -> ${c.output.join("x")} kernel ${c.kernel.join("x")} stride ${c.stride.join(",")} ${c.padding ? "VALID" : "SAME"}`, async () => {
				const random = mulberry32(300 + n);
				const a = ACTIVATION[kind];
				const b = new TfliteBuilder();
				const inQ = activationQuant(kind, 0.04, -9);
				const outputShape = b.constant("output_shape", TensorType.INT32, [4], c.output);
				const x = b.input("x", a.type, c.input, inQ);
				const [filter, bias] = filterAndBias(b, random, kind, [c.output[3], ...c.kernel, c.input[3]], 0, inQ.scale);
				const y = b.tensor("y", a.type, c.output, activationQuant(kind, 0.1, 3));
				const options = { padding: c.padding, strideH: c.stride[0], strideW: c.stride[1] };
				b.op(BuiltinOperator.TRANSPOSE_CONV, [outputShape, filter, x, bias], [y], { options, version: 3 }).output(y);
				await check(`transpose ${kind} ${n}`, "QTransposeConv", b.build(), [randomInput(random, kind, c.input)]);
			});
		});
	}
});

describe("quantized AVERAGE_POOL_2D and MAX_POOL_2D match TFLite's runtime exactly, in the interpreter and in integer C", { skip }, () => {
	const cases: { input: number[]; kernel: [number, number]; stride: [number, number]; padding: 0 | 1; activation: number }[] = [
		{ input: [1, 7, 7, 3], kernel: [3, 3], stride: [2, 2], padding: 0, activation: 0 },
		{ input: [2, 6, 9, 2], kernel: [2, 3], stride: [2, 1], padding: 1, activation: 1 },
		{ input: [1, 5, 5, 4], kernel: [5, 5], stride: [1, 1], padding: 0, activation: 3 },
	];
	for (const kind of ["int8", "uint8", "16x8"] as Kind[]) {
		for (const [code, op] of [[BuiltinOperator.AVERAGE_POOL_2D, "QAveragePool2D"], [BuiltinOperator.MAX_POOL_2D, "QMaxPool2D"]] as const) {
			cases.forEach((c, n) => {
				it(`${op} ${kind === "16x8" ? "int16" : kind}, ${c.input.join("x")} window ${c.kernel.join("x")} stride ${c.stride.join(",")} ${c.padding ? "VALID" : "SAME"}`, async () => {
					const random = mulberry32(400 + n);
					const a = ACTIVATION[kind];
					const b = new TfliteBuilder();
					const q = activationQuant(kind, 0.02, -11);
					const x = b.input("x", a.type, c.input, q);
					const size = (s: number, k: number, st: number) => (c.padding === 0 ? Math.ceil(s / st) : Math.floor((s - k) / st) + 1);
					const y = b.tensor("y", a.type, [c.input[0], size(c.input[1], c.kernel[0], c.stride[0]), size(c.input[2], c.kernel[1], c.stride[1]), c.input[3]], q);
					const options = {
						padding: c.padding, strideH: c.stride[0], strideW: c.stride[1], filterHeight: c.kernel[0], filterWidth: c.kernel[1],
						fusedActivationFunction: c.activation,
					};
					b.op(code, [x], [y], { options, version: kind === "16x8" ? 3 : 2 }).output(y);
					await check(`${op} ${kind} ${n}`, op, b.build(), [randomInput(random, kind, c.input)]);
				});
			});
		}
	}
});

describe("quantized MEAN is within one step of TFLite's runtime, in the interpreter and in integer C", { skip }, () => {
	const cases: { kind: Kind; input: number[]; axes: number[]; keepDims: boolean; same: boolean }[] = [
		{ kind: "int8", input: [1, 5, 6, 4], axes: [1, 2], keepDims: true, same: true },
		{ kind: "int8", input: [2, 5, 6, 4], axes: [1, 2], keepDims: true, same: false },
		{ kind: "int8", input: [3, 10], axes: [1], keepDims: false, same: true },
		{ kind: "int8", input: [3, 4, 10], axes: [0, 2], keepDims: false, same: false },
		{ kind: "uint8", input: [1, 4, 4, 6], axes: [1, 2], keepDims: true, same: false },
		{ kind: "uint8", input: [4, 6], axes: [-1], keepDims: true, same: false },
		{ kind: "16x8", input: [1, 3, 5, 4], axes: [1, 2], keepDims: true, same: false },
	];
	cases.forEach((c, n) => {
		it(`${c.kind === "16x8" ? "int16" : c.kind} ${c.input.join("x")} over axes ${c.axes.join(",")}${c.keepDims ? " keeping dims" : ""}, ${c.same ? "equal" : "different"} quantization`, async () => {
			const random = mulberry32(500 + n);
			const a = ACTIVATION[c.kind];
			const b = new TfliteBuilder();
			const inQ = activationQuant(c.kind, 0.03, 6);
			const x = b.input("x", a.type, c.input, inQ);
			const axes = b.constant("axes", TensorType.INT32, [c.axes.length], c.axes);
			const rank = c.input.length;
			const reduced = c.input.map((_, d) => c.axes.some((axis) => (axis + rank) % rank === d));
			const shape = c.keepDims ? c.input.map((s, d) => (reduced[d] ? 1 : s)) : c.input.filter((_, d) => !reduced[d]);
			const y = b.tensor("y", a.type, shape, c.same ? inQ : activationQuant(c.kind, 0.021, -5));
			b.op(BuiltinOperator.MEAN, [x, axes], [y], { options: { keepDims: c.keepDims }, version: 2 }).output(y);
			await check(`mean ${c.kind} ${n}`, "QMean", b.build(), [randomInput(random, c.kind, c.input)]);
		});
	});
});

/** Scales of every binade XNNPACK accepts for convolutions, powers of two (exact ties) and random mantissas. */
function fp32Cases(): { scales: number[]; accumulators: number[] } {
	const random = mulberry32(77);
	const scales = [2 ** -20, 2 ** -8, 0.5, 0.75, 3 / 1024];
	for (let e = -32; e < 8; e++) scales.push(Math.fround(2 ** e * (1 + random())));
	const accumulators = [0, 1, -1, 2147483647, -2147483648, 2 ** 24 + 1, -(2 ** 24) - 3, 2 ** 25 + 2, 2 ** 25 + 6];
	for (let a = -3000; a <= 3000; a++) accumulators.push(a);
	for (let k = 0; k < 3000; k++) accumulators.push(Math.floor(random() * 2 ** 32) - 2 ** 31, Math.floor((random() - 0.5) * 2 ** 26));
	return { scales, accumulators };
}

describe("XNNPACK's fp32 requantization done with integers equals float32 arithmetic bit for bit", () => {
	const { scales, accumulators } = fp32Cases();
	const ties = (scale: number) => Array.from({ length: 400 }, (_, k) => Math.round((k - 200 + 0.5) / scale));

	it("the TypeScript integer steps equal float32(acc) * scale rounded half to even, ties and accumulators over 2^24 included", () => {
		let compared = 0;
		for (const scale of scales) {
			const parts = fp32Scale(scale);
			for (const acc of [...accumulators, ...ties(scale)]) {
				if (acc < -2147483648 || acc > 2147483647) continue;
				assert.equal(fp32RequantizeInt(acc, parts), fp32Requantize(acc, scale), `acc ${acc}, scale ${scale}`);
				compared++;
			}
		}
		assert.ok(compared > 400000);
	});

	it("the C helper knn_q_fp32 equals the same float32 arithmetic (saturated at 2^30)", { skip: gccMissing }, () => {
		const dir = tempDir("fp32");
		const cases: [number, number, number][] = [];
		for (const scale of scales.filter((s) => s < 2 ** 8)) {
			const parts = fp32Scale(scale);
			for (const acc of [...accumulators.filter((_, k) => k % 7 === 0), ...ties(scale)]) {
				if (acc >= -2147483648 && acc <= 2147483647) cases.push([acc, parts.mantissa, -parts.exponent]);
			}
		}
		const source = `#include <stdio.h>\n${Q_FP32_C}\nint main(void)\n{\n\tint acc, mantissa, shift;\n\n\twhile (scanf("%d %d %d", &acc, &mantissa, &shift) == 3)\n\t\tprintf("%d\\n", knn_q_fp32(acc, mantissa, shift));\n\treturn 0;\n}\n`;
		fs.writeFileSync(path.join(dir, "fp32.c"), source);
		execFileSync("gcc", ["-std=gnu99", "-O2", "-Wall", "-Wextra", "-Werror", path.join(dir, "fp32.c"), "-o", path.join(dir, "fp32")], { stdio: "pipe" });
		const output = execFileSync(path.join(dir, "fp32"), { input: cases.map((c) => c.join(" ")).join("\n"), encoding: "utf8", maxBuffer: 1 << 26 });
		const got = output.trim().split("\n").map(Number);
		assert.equal(got.length, cases.length);
		cases.forEach(([acc, mantissa, shift], k) => {
			const want = Math.max(-(2 ** 30), Math.min(2 ** 30, fp32Requantize(acc, mantissa * 2 ** -shift)));
			assert.equal(got[k], want, `acc ${acc}, mantissa ${mantissa}, shift ${shift}`);
		});
	});
});
