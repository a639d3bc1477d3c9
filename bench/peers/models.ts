// The benchmark models, each written once as ONNX from one set of weight arrays, so every engine runs the same
// weights: Kernel NN reads the ONNX through its own front end, onnx2c and onnxruntime read the same file.
import * as fs from "node:fs";
import * as path from "node:path";
import { type Graph, attrTensor } from "../../extension/core/graph/graph";
import { type Tensor, numbers } from "../../extension/core/graph/tensor";
import { loadFrozen } from "../../extension/core/model/prepare";
import { type OnnxNodeSpec, buildOnnxModel, f32, i64 } from "../../test/support/onnxBuilder";
import { mulberry32 } from "../../test/support/random";
import { TfliteBuilder } from "../../test/support/tfliteBuilder";
import { BuiltinOperator as Op, TensorType } from "../../extension/core/frontends/tflite/types";
import { INDIGO_DIR } from "../../test/support/shared";

export interface BenchValue { name: string; shape: number[] }

export interface BenchModel {
	name: string;
	/** The C identifier prefix Kernel NN compiles this model under. */
	prefix: string;
	onnx: Uint8Array;
	/** Graph inputs in graph order, with the values every engine is fed. */
	inputs: (BenchValue & { values: Float32Array })[];
	outputs: BenchValue[];
	/** The same network as the frozen TensorFlow graph a user starts from, when there is one (Indigo); feeds in input order. */
	tf?: { graph: Graph; feeds: string[]; fetches: string[] };
	/** The same network and weights as a float TFLite flatbuffer (NHWC), inputs and outputs in the same order and memory layout. */
	tflite?: Uint8Array;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Uniform weights in [-scale, scale), seeded so every run times the same numbers. */
function uniform(random: () => number, shape: number[], scale: number): Tensor {
	return f32(shape, Array.from({ length: size(shape) }, () => (random() * 2 - 1) * scale));
}

function input(random: () => number, name: string, shape: number[]): BenchModel["inputs"][number] {
	return { name, shape, values: Float32Array.from({ length: size(shape) }, () => random() - 0.5) };
}

/** MLP 64-128-128-10: MatMul + bias + Relu twice, then MatMul + bias and softmax. */
export function mlpModel(): BenchModel {
	const random = mulberry32(5);
	const nodes: OnnxNodeSpec[] = [];
	const initializers: { name: string; value: Tensor }[] = [];
	let h = "x";
	[[64, 128], [128, 128], [128, 10]].forEach(([i, o], k) => {
		initializers.push({ name: `W${k}`, value: uniform(random, [i, o], 1 / Math.sqrt(i)) }, { name: `b${k}`, value: uniform(random, [o], 0.1) });
		nodes.push({ op: "MatMul", inputs: [h, `W${k}`], outputs: [`mm${k}`] }, { op: "Add", inputs: [`mm${k}`, `b${k}`], outputs: [`z${k}`] });
		h = `z${k}`;
		if (k < 2) {
			nodes.push({ op: "Relu", inputs: [h], outputs: [`relu${k}`] });
			h = `relu${k}`;
		}
	});
	nodes.push({ op: "Softmax", inputs: [h], outputs: ["probs"], attrs: { axis: -1 } });
	const inputs = [input(random, "x", [1, 64])];
	const outputs = [{ name: "probs", shape: [1, 10] }];
	// TFLite: FULLY_CONNECTED with [out, in] weights and the Relu fused, then SOFTMAX.
	const b = new TfliteBuilder();
	let t = b.input("x", F32, [1, 64]);
	[[64, 128], [128, 128], [128, 10]].forEach(([i, o], k) => {
		const weights = numbers(initializers[2 * k].value);
		const w = b.constant(`W${k}`, F32, [o, i], transposed(weights, i, o));
		const bias = b.constant(`b${k}`, F32, [o], numbers(initializers[2 * k + 1].value));
		const y = b.tensor(`z${k}`, F32, [1, o]);
		b.op(Op.FULLY_CONNECTED, [t, w, bias], [y], { options: { fusedActivationFunction: k < 2 ? RELU : 0 } });
		t = y;
	});
	const probs = b.tensor("probs", F32, [1, 10]);
	b.op(Op.SOFTMAX, [t], [probs], { options: { beta: 1 } }).output(probs);
	return { name: "MLP 64-128-128-10", prefix: "mlp", onnx: buildOnnxModel({ inputs, outputs, nodes, initializers, opset: 13 }), inputs, outputs, tflite: b.build() };
}

const F32 = TensorType.FLOAT32;
const RELU = 1;
const VALID = 1;

/** A row-major [rows, cols] matrix as [cols, rows]. */
function transposed(values: ArrayLike<number>, rows: number, cols: number): number[] {
	return Array.from({ length: rows * cols }, (_, i) => values[(i % rows) * cols + Math.floor(i / rows)]);
}

/** ONNX's [OC, IC, KH, KW] filter as TFLite's [OC, KH, KW, IC]. */
function ohwi(values: ArrayLike<number>, [oc, ic, kh, kw]: number[]): number[] {
	const out: number[] = [];
	for (let o = 0; o < oc; o++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let c = 0; c < ic; c++) out.push(values[((o * ic + c) * kh + y) * kw + x]);
	return out;
}

/** CNN on 28x28x1: conv 3x3x8 + relu, maxpool 2, conv 3x3x16 + relu, maxpool 2, dense 10 (valid padding). */
export function cnnModel(): BenchModel {
	const random = mulberry32(7);
	const initializers = [
		{ name: "W1", value: uniform(random, [8, 1, 3, 3], 1 / 3) },
		{ name: "B1", value: uniform(random, [8], 0.1) },
		{ name: "W2", value: uniform(random, [16, 8, 3, 3], 1 / Math.sqrt(72)) },
		{ name: "B2", value: uniform(random, [16], 0.1) },
		{ name: "Wd", value: uniform(random, [400, 10], 1 / 20) },
		{ name: "bd", value: uniform(random, [10], 0.1) },
	];
	const pool = { kernel_shape: [2, 2], strides: [2, 2] };
	const nodes: OnnxNodeSpec[] = [
		{ op: "Conv", inputs: ["x", "W1", "B1"], outputs: ["c1"], attrs: { kernel_shape: [3, 3] } },
		{ op: "Relu", inputs: ["c1"], outputs: ["r1"] },
		{ op: "MaxPool", inputs: ["r1"], outputs: ["p1"], attrs: pool },
		{ op: "Conv", inputs: ["p1", "W2", "B2"], outputs: ["c2"], attrs: { kernel_shape: [3, 3] } },
		{ op: "Relu", inputs: ["c2"], outputs: ["r2"] },
		{ op: "MaxPool", inputs: ["r2"], outputs: ["p2"], attrs: pool },
		{ op: "Flatten", inputs: ["p2"], outputs: ["flat"], attrs: { axis: 1 } },
		{ op: "MatMul", inputs: ["flat", "Wd"], outputs: ["dense"] },
		{ op: "Add", inputs: ["dense", "bd"], outputs: ["logits"] },
	];
	const inputs = [input(random, "x", [1, 1, 28, 28])];
	const outputs = [{ name: "logits", shape: [1, 10] }];
	// TFLite in NHWC: with one input channel [1, 28, 28, 1] holds the same floats as ONNX's [1, 1, 28, 28]. The
	// dense layer reads the last pool flattened as (h, w, c) where ONNX's Flatten gives (c, h, w).
	const b = new TfliteBuilder();
	const x = b.input("x", F32, [1, 28, 28, 1]);
	const conv = (from: number, k: number, [oc, ic]: number[], size: number) => {
		const filter = b.constant(`W${k}`, F32, [oc, 3, 3, ic], ohwi(numbers(initializers[2 * (k - 1)].value), [oc, ic, 3, 3]));
		const bias = b.constant(`B${k}`, F32, [oc], numbers(initializers[2 * (k - 1) + 1].value));
		const y = b.tensor(`c${k}`, F32, [1, size - 2, size - 2, oc]);
		b.op(Op.CONV_2D, [from, filter, bias], [y], { options: { padding: VALID, strideW: 1, strideH: 1, fusedActivationFunction: RELU } });
		const pooled = b.tensor(`p${k}`, F32, [1, (size - 2) >> 1, (size - 2) >> 1, oc]);
		b.op(Op.MAX_POOL_2D, [y], [pooled], { options: { padding: VALID, strideW: 2, strideH: 2, filterWidth: 2, filterHeight: 2 } });
		return pooled;
	};
	const p2 = conv(conv(x, 1, [8, 1], 28), 2, [16, 8], 13);
	const flat = b.tensor("flat", F32, [1, 400]);
	b.op(Op.RESHAPE, [p2], [flat], { options: { newShape: [1, 400] } });
	const wd = numbers(initializers[4].value);
	const dense = Array.from({ length: 4000 }, (_, i) => {
		const [o, j] = [Math.floor(i / 400), i % 400];
		const [h, w, c] = [Math.floor(j / 80), Math.floor(j / 16) % 5, j % 16];
		return wd[(c * 25 + h * 5 + w) * 10 + o];
	});
	const logits = b.tensor("logits", F32, [1, 10]);
	b.op(Op.FULLY_CONNECTED, [flat, b.constant("Wd", F32, [10, 400], dense), b.constant("bd", F32, [10], numbers(initializers[5].value))], [logits]).output(logits);
	return { name: "CNN 28x28 c8-p-c16-p-d10", prefix: "cnn", onnx: buildOnnxModel({ inputs, outputs, nodes, initializers, opset: 13 }), inputs, outputs, tflite: b.build() };
}

const INDIGO_CELL = "global/rnn/multi_rnn_cell/cell_0/basic_lstm_cell";
const INDIGO_FETCHES = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];

/** A frozen constant's value, by the variable's name (freezing keeps the name). */
function frozenWeight(graph: Graph, name: string): Tensor {
	const node = graph.get(name);
	if (node?.op !== "Const") throw new Error(`${INDIGO_DIR}/model.meta: expected the frozen graph to hold "${name}" as a Const, found ${node ? node.op : "no such node"}`);
	const value = attrTensor(node, "value");
	return f32(value.shape, numbers(value));
}

/**
 * Indigo's LSTM step (BasicLSTMCell, 32 units, forget bias 1.0, then dense 32->5 and softmax) written as the
 * MatMul-form cell TensorFlow runs: [x, h] @ kernel + bias split into i, j, f, o. The reason instead when the
 * model is absent.
 */
export function indigoModel(): BenchModel | string {
	const meta = path.join(INDIGO_DIR, "model.meta");
	if (!fs.existsSync(meta)) return `the Indigo model is absent (expected ${meta})`;
	const { graph } = loadFrozen(meta, INDIGO_FETCHES, path.join(INDIGO_DIR, "model"));
	const initializers = [
		{ name: "kernel", value: frozenWeight(graph, `${INDIGO_CELL}/kernel`) },
		{ name: "bias", value: frozenWeight(graph, `${INDIGO_CELL}/bias`) },
		{ name: "fc_w", value: frozenWeight(graph, "global/fully_connected/weights") },
		{ name: "fc_b", value: frozenWeight(graph, "global/fully_connected/biases") },
		{ name: "row", value: i64([2], [1, 9]) },
		{ name: "quarters", value: i64([4], [32, 32, 32, 32]) },
		{ name: "forget_bias", value: f32([1], [1]) },
	];
	const nodes: OnnxNodeSpec[] = [
		{ op: "Reshape", inputs: ["x", "row"], outputs: ["x2"] },
		{ op: "Concat", inputs: ["x2", "h"], outputs: ["xh"], attrs: { axis: 1 } },
		{ op: "MatMul", inputs: ["xh", "kernel"], outputs: ["gm"] },
		{ op: "Add", inputs: ["gm", "bias"], outputs: ["gates"] },
		{ op: "Split", inputs: ["gates", "quarters"], outputs: ["i", "j", "f", "o"], attrs: { axis: 1 } },
		{ op: "Sigmoid", inputs: ["i"], outputs: ["si"] },
		{ op: "Tanh", inputs: ["j"], outputs: ["tj"] },
		{ op: "Add", inputs: ["f", "forget_bias"], outputs: ["fb"] },
		{ op: "Sigmoid", inputs: ["fb"], outputs: ["sf"] },
		{ op: "Sigmoid", inputs: ["o"], outputs: ["so"] },
		{ op: "Mul", inputs: ["c", "sf"], outputs: ["kept"] },
		{ op: "Mul", inputs: ["si", "tj"], outputs: ["added"] },
		{ op: "Add", inputs: ["kept", "added"], outputs: ["c_out"] },
		{ op: "Tanh", inputs: ["c_out"], outputs: ["tc"] },
		{ op: "Mul", inputs: ["tc", "so"], outputs: ["h_out"] },
		{ op: "MatMul", inputs: ["h_out", "fc_w"], outputs: ["fm"] },
		{ op: "Add", inputs: ["fm", "fc_b"], outputs: ["logits"] },
		{ op: "Softmax", inputs: ["logits"], outputs: ["probs"], attrs: { axis: -1 } },
	];
	const random = mulberry32(9);
	const inputs = [input(random, "x", [1, 1, 9]), input(random, "c", [1, 32]), input(random, "h", [1, 32])];
	const outputs = [{ name: "probs", shape: [1, 5] }, { name: "c_out", shape: [1, 32] }, { name: "h_out", shape: [1, 32] }];
	const onnx = buildOnnxModel({ inputs, outputs, nodes, initializers, opset: 13 });
	return { name: "Indigo LSTM (1 step)", prefix: "indigo_nn", onnx, inputs, outputs, tf: { graph, feeds: ["global/Placeholder", "global/Placeholder_1", "global/Placeholder_2"], fetches: INDIGO_FETCHES } };
}
