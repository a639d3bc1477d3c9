// knn quantize on models of each front end, checked against independent implementations: onnxruntime (or the TFLite
// runtime on a float .tflite) gives the float result, the TFLite runtime runs the produced int8 file, and Kernel NN's
// interpreter on that file must equal the runtime to within one output step.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { loadModelBytes } from "../../extension/core/frontends";
import { BuiltinOperator, TensorType } from "../../extension/core/frontends/tflite/types";
import { parseInputName } from "../../extension/core/graph/graph";
import { type Tensor, makeTensor } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { knn, tempDir } from "../support/cli";
import { buildOnnxModel, f32, i64 } from "../support/onnxBuilder";
import { runOrt } from "../support/ortOracle";
import { mulberry32 } from "../support/random";
import { TfliteBuilder, tensorBytes } from "../support/tfliteBuilder";
import { runTflite, tfliteRuntimeMissing } from "../support/tfliteOracle";

interface Report {
	samples: number;
	inputs: { name: string; shape: number[]; channelsFirst?: number[] }[];
	outputs: { name: string; meanAbsError: number; maxAbsError: number; step: number }[];
}

const random = mulberry32(20240611);
const uniform = (count: number, scale: number) => Array.from({ length: count }, () => Math.fround((random() * 2 - 1) * scale));
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Writes `model`, its config (from the model's own inputs and outputs) and an inputs.json of `samples`; runs knn quantize. */
function quantize(dir: string, name: string, model: Uint8Array, feed: string, samples: number[][], extra: string[] = []): { file: string; report: Report } {
	const modelPath = path.join(dir, name);
	fs.writeFileSync(modelPath, model);
	const config = path.join(dir, `${name}.config.pbtxt`);
	const configured = knn("config", modelPath, "--out", config);
	assert.equal(configured.status, 0, configured.stderr);
	const calibration = path.join(dir, `${name}.inputs.json`);
	fs.writeFileSync(calibration, JSON.stringify({ feedsPerStep: samples.map((x) => ({ [feed]: x })) }));
	const file = path.join(dir, `${name}_int8.tflite`);
	const result = knn("quantize", modelPath, "--config", config, "--calibration", calibration, "--out", file, "--json", ...extra);
	assert.equal(result.status, 0, result.stderr);
	return { file, report: JSON.parse(result.stdout) as Report };
}

/** Kernel NN's interpreter on a .tflite file: its one input fed, its outputs in order. */
function interpret(bytes: Uint8Array, input: number[]): number[][] {
	const model = loadModelBytes(bytes, "produced.tflite");
	const [feed] = model.graphInputs!;
	const feeds = new Map<string, Tensor>([[parseInputName(feed.tensor).ref.node, makeTensor("float32", feed.shape!, input)]]);
	return runGraph(model.graph, feeds, model.graphOutputs!.map((o) => parseInputName(o.tensor).ref)).map((t) => Array.from(t.data as ArrayLike<number>));
}

/**
 * The produced file on held-out inputs: the TFLite runtime within `steps` output steps of the float result, and
 * Kernel NN's interpreter within one step of the runtime. Returns the largest error in steps, for the log.
 */
async function checkHeldOut(bytes: Uint8Array, step: number, heldOut: { input: number[]; float: number[] }[], steps: number): Promise<number> {
	let worst = 0;
	let exact = 0;
	let count = 0;
	for (const [k, { input, float }] of heldOut.entries()) {
		const runtime = (await runTflite(bytes, [input]))[0].data;
		const ours = interpret(bytes, input)[0];
		float.forEach((want, i) => {
			const error = Math.abs(runtime[i] - want) / step;
			worst = Math.max(worst, error);
			assert.ok(error <= steps, `input ${k}, output ${i}: the runtime gives ${runtime[i]}, the float model ${want} (${error.toFixed(2)} steps of ${step})`);
			const disagreement = Math.abs(ours[i] - runtime[i]) / step;
			assert.ok(disagreement <= 1 + 1e-3, `input ${k}, output ${i}: Kernel NN's interpreter gives ${ours[i]}, the runtime ${runtime[i]}`);
			if (disagreement < 0.5) exact++;
			count++;
		});
	}
	console.log(`  the interpreter equals the runtime on ${exact} of ${count} outputs, the rest within 1 step; runtime vs float: at most ${worst.toFixed(2)} steps`);
	return worst;
}

/** NCHW [1,c,h,w] values in NHWC order, as the produced channels-last model takes them. */
function channelsLast(values: number[], [, c, h, w]: number[]): number[] {
	const out = new Array<number>(values.length);
	for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(y * w + x) * c + ch] = values[(ch * h + y) * w + x];
	return out;
}

describe("knn quantize of ONNX and TFLite models, checked with onnxruntime and the TFLite runtime", { skip: tfliteRuntimeMissing() ?? false }, () => {
	let dir: string;
	before(() => {
		dir = tempDir("quantize-ops");
	});

	it("an ONNX MLP 8-16-16-4 (Gemm, Relu, Softmax): the runtime on the int8 file is within 3 steps of onnxruntime's float result on held-out inputs", async () => {
		const mlp = buildOnnxModel({
			inputs: [{ name: "x", shape: [1, 8] }], outputs: [{ name: "probs", shape: [1, 4] }],
			initializers: [
				{ name: "w1", value: f32([16, 8], uniform(128, 0.6)) }, { name: "b1", value: f32([16], uniform(16, 0.2)) },
				{ name: "w2", value: f32([16, 16], uniform(256, 0.5)) }, { name: "b2", value: f32([16], uniform(16, 0.2)) },
				{ name: "w3", value: f32([4, 16], uniform(64, 0.8)) }, { name: "b3", value: f32([4], uniform(4, 0.2)) },
			],
			nodes: [
				{ op: "Gemm", inputs: ["x", "w1", "b1"], outputs: ["h1"], attrs: { transB: 1 } },
				{ op: "Relu", inputs: ["h1"], outputs: ["a1"] },
				{ op: "Gemm", inputs: ["a1", "w2", "b2"], outputs: ["h2"], attrs: { transB: 1 } },
				{ op: "Relu", inputs: ["h2"], outputs: ["a2"] },
				{ op: "Gemm", inputs: ["a2", "w3", "b3"], outputs: ["logits"], attrs: { transB: 1 } },
				{ op: "Softmax", inputs: ["logits"], outputs: ["probs"], attrs: { axis: -1 } },
			],
		});
		const samples = Array.from({ length: 64 }, () => uniform(8, 2));
		const { file, report } = quantize(dir, "mlp.onnx", mlp, "x", samples);
		assert.equal(report.samples, 64);
		assert.equal(report.outputs[0].step, 1 / 256);
		const heldOut = await Promise.all(Array.from({ length: 16 }, async () => {
			const input = uniform(8, 2);
			return { input, float: Array.from((await runOrt(mlp, { x: f32([1, 8], input) })).probs.data as Float32Array) };
		}));
		await checkHeldOut(fs.readFileSync(file), report.outputs[0].step, heldOut, 3);
	});

	it("an ONNX CNN (Conv+Relu, MaxPool, Conv+Relu, Reshape, Gemm): the channels-last int8 file is within 3 steps of onnxruntime's float result on held-out inputs", async () => {
		const u = (shape: number[], scale: number) => f32(shape, uniform(size(shape), scale));
		const cnn = buildOnnxModel({
			inputs: [{ name: "image", shape: [1, 2, 8, 8] }], outputs: [{ name: "scores", shape: [1, 5] }],
			initializers: [
				{ name: "c1.w", value: u([4, 2, 3, 3], 0.5) }, { name: "c1.b", value: u([4], 0.1) },
				{ name: "c2.w", value: u([6, 4, 3, 3], 0.4) }, { name: "c2.b", value: u([6], 0.1) },
				{ name: "flat", value: i64([2], [1, 24]) },
				{ name: "fc.w", value: u([5, 24], 0.4) }, { name: "fc.b", value: u([5], 0.1) },
			],
			nodes: [
				{ op: "Conv", inputs: ["image", "c1.w", "c1.b"], outputs: ["c1"], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
				{ op: "Relu", inputs: ["c1"], outputs: ["r1"] },
				{ op: "MaxPool", inputs: ["r1"], outputs: ["p1"], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
				{ op: "Conv", inputs: ["p1", "c2.w", "c2.b"], outputs: ["c2"], attrs: { kernel_shape: [3, 3] } },
				{ op: "Relu", inputs: ["c2"], outputs: ["r2"] },
				{ op: "Reshape", inputs: ["r2", "flat"], outputs: ["features"] },
				{ op: "Gemm", inputs: ["features", "fc.w", "fc.b"], outputs: ["scores"], attrs: { transB: 1 } },
			],
		});
		const shape = [1, 2, 8, 8];
		const samples = Array.from({ length: 48 }, () => uniform(128, 1));
		const { file, report } = quantize(dir, "cnn.onnx", cnn, "image", samples, ["--per-channel"]);
		assert.deepEqual(report.inputs.map((i) => [i.shape, i.channelsFirst]), [[[1, 8, 8, 2], shape]]);
		const heldOut = await Promise.all(Array.from({ length: 12 }, async () => {
			const input = uniform(128, 1);
			const float = Array.from((await runOrt(cnn, { image: f32(shape, input) })).scores.data as Float32Array);
			return { input: channelsLast(input, shape), float };
		}));
		await checkHeldOut(fs.readFileSync(file), report.outputs[0].step, heldOut, 3);
	});

	it("a float .tflite (FULLY_CONNECTED+RELU, FULLY_CONNECTED, TANH): the int8 file is within 3 steps of the runtime running the float file", async () => {
		const b = new TfliteBuilder();
		const x = b.input("x", TensorType.FLOAT32, [1, 6]);
		const w1 = b.constant("w1", TensorType.FLOAT32, [10, 6], uniform(60, 0.7));
		const b1 = b.constant("b1", TensorType.FLOAT32, [10], uniform(10, 0.2));
		const h = b.tensor("h", TensorType.FLOAT32, [1, 10]);
		const w2 = b.tensor("w2", TensorType.FLOAT32, [3, 10], undefined, tensorBytes(TensorType.FLOAT32, uniform(30, 0.6)));
		const b2 = b.constant("b2", TensorType.FLOAT32, [3], uniform(3, 0.2));
		const z = b.tensor("z", TensorType.FLOAT32, [1, 3]);
		const y = b.tensor("y", TensorType.FLOAT32, [1, 3]);
		b.op(BuiltinOperator.FULLY_CONNECTED, [x, w1, b1], [h], { options: { fusedActivationFunction: 1 } });
		b.op(BuiltinOperator.FULLY_CONNECTED, [h, w2, b2], [z]);
		b.op(BuiltinOperator.TANH, [z], [y]);
		b.output(y);
		const float = b.build();
		const samples = Array.from({ length: 50 }, () => uniform(6, 1.5));
		const { file, report } = quantize(dir, "mlp.tflite", float, "x", samples);
		assert.equal(report.outputs[0].step, 1 / 128);
		const heldOut = await Promise.all(Array.from({ length: 16 }, async () => {
			const input = uniform(6, 1.5);
			return { input, float: (await runTflite(float, [input]))[0].data };
		}));
		await checkHeldOut(fs.readFileSync(file), report.outputs[0].step, heldOut, 3);
	});

	it("calibrates from an inputs.json whose feedsPerStep entries leave a feed to \"feeds\", one sample per entry", () => {
		const model = buildOnnxModel({
			inputs: [{ name: "a", shape: [1, 3] }, { name: "b", shape: [1, 3] }], outputs: [{ name: "y", shape: [1, 3] }],
			nodes: [{ op: "Add", inputs: ["a", "b"], outputs: ["s"] }, { op: "Tanh", inputs: ["s"], outputs: ["y"] }],
		});
		const modelPath = path.join(dir, "add.onnx");
		fs.writeFileSync(modelPath, model);
		const config = path.join(dir, "add.config.pbtxt");
		assert.equal(knn("config", modelPath, "--out", config).status, 0);
		const calibration = path.join(dir, "add.inputs.json");
		fs.writeFileSync(calibration, JSON.stringify({ feeds: { b: [[0.5, -0.5, 0.25]] }, feedsPerStep: [{ a: [[1, 2, 3]] }, { a: [[-1, 0, 1]] }, { a: [[0, 0, 0]], b: [[-3, 3, 0]] }] }));
		const result = knn("quantize", modelPath, "--config", config, "--calibration", calibration, "--out", path.join(dir, "add_int8.tflite"), "--json");
		assert.equal(result.status, 0, result.stderr);
		const report = JSON.parse(result.stdout) as Report & { tensors: { name: string; observed: [number, number] }[] };
		assert.equal(report.samples, 3);
		const observed = (pattern: RegExp) => report.tensors.find((t) => pattern.test(t.name))?.observed;
		assert.deepEqual(observed(/^a_int8$/), [-1, 3]);
		// b is 0.5, -0.5, 0.25 from "feeds" in the first two samples and -3, 3, 0 in the third
		assert.deepEqual(observed(/^b_int8$/), [-3, 3]);
		// a + b over the three samples: [1.5, 1.5, 3.25], [-0.5, -0.5, 1.25], [-3, 3, 0]
		assert.deepEqual(observed(/add/i), [-3, 3.25]);
	});

	it("refuses an op with no int8 TFLite form, naming the node and its op", () => {
		const model = buildOnnxModel({
			inputs: [{ name: "x", shape: [1, 4] }], outputs: [{ name: "y", shape: [1, 4] }],
			nodes: [{ op: "Exp", name: "growth", inputs: ["x"], outputs: ["y"] }],
		});
		const modelPath = path.join(dir, "exp.onnx");
		fs.writeFileSync(modelPath, model);
		const config = path.join(dir, "exp.config.pbtxt");
		assert.equal(knn("config", modelPath, "--out", config).status, 0);
		const calibration = path.join(dir, "exp.inputs.json");
		fs.writeFileSync(calibration, JSON.stringify({ feedsPerStep: [{ x: [[0, 1, 2, 3]] }] }));
		const result = knn("quantize", modelPath, "--config", config, "--calibration", calibration, "--out", path.join(dir, "exp_int8.tflite"));
		assert.notEqual(result.status, 0);
		assert.match(result.stderr, /node "[^"]+" \(Exp\): no int8 TFLite op for it/);
		assert.ok(!fs.existsSync(path.join(dir, "exp_int8.tflite")));
	});
});
