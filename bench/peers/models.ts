// The benchmark models, each written once as ONNX from one set of weight arrays, so every engine runs the same
// weights: Kernel NN reads the ONNX through its own front end, onnx2c and onnxruntime read the same file.
import * as fs from "node:fs";
import * as path from "node:path";
import { type Graph, attrTensor } from "../../extension/core/graph/graph";
import { type Tensor, numbers } from "../../extension/core/graph/tensor";
import { loadFrozen } from "../../extension/core/model/prepare";
import { type OnnxNodeSpec, buildOnnxModel, f32, i64 } from "../../test/support/onnxBuilder";
import { mulberry32 } from "../../test/support/random";
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
	return { name: "MLP 64-128-128-10", prefix: "mlp", onnx: buildOnnxModel({ inputs, outputs, nodes, initializers, opset: 13 }), inputs, outputs };
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
	return { name: "CNN 28x28 c8-p-c16-p-d10", prefix: "cnn", onnx: buildOnnxModel({ inputs, outputs, nodes, initializers, opset: 13 }), inputs, outputs };
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
