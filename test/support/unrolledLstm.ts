import type { GraphDef } from "../../extension/core/frontends/tf/proto/types";
import { type Tensor, makeTensor } from "../../extension/core/graph/tensor";
import { GraphBuilder, attr, out } from "./graphBuilder";
import { mulberry32 } from "./random";

// A frozen TF1 `tf.nn.static_rnn(BasicLSTMCell)` graph: one cell per time step, named as TensorFlow names them
// (rnn/basic_lstm_cell, rnn/basic_lstm_cell_1, ...), followed by a dense layer on the last output.

export interface UnrolledLstmOptions {
	steps: number;
	inputSize: number;
	hidden: number;
	classes: number;
	seed: number;
	/**
	 * "shared": one kernel Const read by every cell through an Identity, as freeze_graph writes it;
	 * "copied": a separate but identical Const per cell, as duplicated or re-frozen graphs carry.
	 */
	weights: "shared" | "copied";
}

export interface UnrolledLstm {
	def: GraphDef;
	/** Feed "inputs" [1, steps, inputSize]; fetches "logits" [1, classes] and the last cell's h [1, hidden]. */
	feed: string;
	fetches: string[];
	/** Bytes of the distinct Const tensors: what the C should hold once each. */
	distinctWeightBytes: number;
	weights: { kernel: Tensor; bias: Tensor; denseKernel: Tensor; denseBias: Tensor; forgetBias: number };
}

const T = attr.type("float32");
const I = attr.type("int32");

function uniform(random: () => number, shape: number[], scale: number): Tensor {
	const size = shape.reduce((a, b) => a * b, 1);
	return makeTensor("float32", shape, Array.from({ length: size }, () => Math.fround((random() * 2 - 1) * scale)));
}

export function unrolledLstm(options: UnrolledLstmOptions): UnrolledLstm {
	const { steps, inputSize, hidden, classes } = options;
	const random = mulberry32(options.seed);
	// Glorot-like scales keep the gates away from saturation, so the comparison exercises the whole cell.
	const kernel = uniform(random, [inputSize + hidden, 4 * hidden], Math.sqrt(6 / (inputSize + 5 * hidden)));
	const bias = uniform(random, [4 * hidden], 0.1);
	const denseKernel = uniform(random, [hidden, classes], Math.sqrt(6 / (hidden + classes)));
	const denseBias = uniform(random, [classes], 0.1);
	const forgetBias = 1;

	const g = new GraphBuilder();
	const inputs = g.placeholder("inputs", "float32", [1, steps, inputSize]);
	const unstack = g.op("Unpack", "rnn/unstack", [inputs], { T, num: attr.i(steps), axis: attr.i(1) });
	const zeros = makeTensor("float32", [1, hidden], new Array<number>(hidden).fill(0));
	let c = g.const("rnn/BasicLSTMCellZeroState/zeros", zeros);
	let h = g.const("rnn/BasicLSTMCellZeroState/zeros_1", zeros);
	let sharedKernel = "";
	let sharedBias = "";
	if (options.weights === "shared") {
		sharedKernel = g.op("Identity", "rnn/basic_lstm_cell/kernel/read", [g.const("rnn/basic_lstm_cell/kernel", kernel)], { T });
		sharedBias = g.op("Identity", "rnn/basic_lstm_cell/bias/read", [g.const("rnn/basic_lstm_cell/bias", bias)], { T });
	}
	for (let t = 0; t < steps; t++) {
		const scope = t === 0 ? "rnn/basic_lstm_cell" : `rnn/basic_lstm_cell_${t}`;
		const w = options.weights === "shared" ? sharedKernel : g.const(`${scope}/kernel`, kernel);
		const b = options.weights === "shared" ? sharedBias : g.const(`${scope}/bias`, bias);
		const axis = g.constOf(`${scope}/concat/axis`, "int32", [1], []);
		const xh = g.op("ConcatV2", `${scope}/concat`, [out(unstack, t), h, axis], { T, N: attr.i(2), Tidx: I });
		const mm = g.op("MatMul", `${scope}/MatMul`, [xh, w], { T, transpose_a: attr.b(false), transpose_b: attr.b(false) });
		const gates = g.op("BiasAdd", `${scope}/BiasAdd`, [mm, b], { T, data_format: attr.s("NHWC") });
		const split = g.op("Split", `${scope}/split`, [g.constOf(`${scope}/split/split_dim`, "int32", [1], []), gates], { T, num_split: attr.i(4) });
		const [i, j, f, o] = [0, 1, 2, 3].map((k) => out(split, k));
		const fb = g.op("Add", `${scope}/add`, [f, g.constOf(`${scope}/add/y`, "float32", [forgetBias], [])], { T });
		const keep = g.op("Mul", `${scope}/mul`, [c, g.op("Sigmoid", `${scope}/Sigmoid`, [fb], { T })], { T });
		const write = g.op("Mul", `${scope}/mul_1`, [g.op("Sigmoid", `${scope}/Sigmoid_1`, [i], { T }), g.op("Tanh", `${scope}/Tanh`, [j], { T })], { T });
		c = g.op("AddV2", `${scope}/add_1`, [keep, write], { T });
		h = g.op("Mul", `${scope}/mul_2`, [g.op("Tanh", `${scope}/Tanh_1`, [c], { T }), g.op("Sigmoid", `${scope}/Sigmoid_2`, [o], { T })], { T });
	}
	const logits = g.op("BiasAdd", "dense/BiasAdd", [
		g.op("MatMul", "dense/MatMul", [h, g.const("dense/kernel", denseKernel)], { T, transpose_a: attr.b(false), transpose_b: attr.b(false) }),
		g.const("dense/bias", denseBias),
	], { T, data_format: attr.s("NHWC") });
	g.op("Identity", "logits", [logits], { T });
	// Distinct by value: the kernel, the bias, the dense layer, the forget bias, and one zero state for c and h.
	const distinctWeightBytes = 4 * (kernel.data.length + bias.data.length + denseKernel.data.length + denseBias.data.length + 1 + hidden);
	return { def: g.def(), feed: inputs, fetches: ["logits", h], distinctWeightBytes, weights: { kernel, bias, denseKernel, denseBias, forgetBias } };
}
