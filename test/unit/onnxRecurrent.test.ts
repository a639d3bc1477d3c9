import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadOnnxBytes } from "../../extension/core/frontends/onnx/load";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { parseInputName } from "../../extension/core/graph/graph";
import { type Tensor, makeTensor } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { tempDir } from "../support/cli";
import { buildHost, runHost } from "../support/hostBuild";
import { type OnnxAttrSpec, type OnnxModelSpec, buildOnnxModel } from "../support/onnxBuilder";
import { runOrt } from "../support/ortOracle";
import { mulberry32 } from "../support/random";

// Random-weight LSTM, GRU and RNN models (every gate different, so a gate-order or bias-order bug shows) run by
// onnxruntime, Kernel NN's interpreter and the generated C built for the host.

type Op = "LSTM" | "GRU" | "RNN";
const GATES: Record<Op, number> = { LSTM: 4, GRU: 3, RNN: 1 };

interface Case {
	title: string;
	op: Op;
	direction?: "forward" | "reverse" | "bidirectional";
	layout?: 0 | 1;
	seq: number;
	batch: number;
	inputSize: number;
	hidden: number;
	/** Where W, R, B (and P) come from: initializers (as exports write them) or graph inputs (as ONNX's node tests). */
	weights?: "initializers" | "inputs";
	bias?: boolean;
	/** Initial states: left out, initializers, or graph inputs. */
	initial?: "none" | "initializers" | "inputs";
	sequenceLens?: { lengths: number[]; as: "initializer" | "input" };
	peepholes?: boolean;
	attrs?: Record<string, OnnxAttrSpec>;
	seed: number;
}

function uniform(random: () => number, shape: number[], scale: number): Tensor {
	const size = shape.reduce((a, b) => a * b, 1);
	return makeTensor("float32", shape, Array.from({ length: size }, () => Math.fround((random() * 2 - 1) * scale)));
}

interface Built {
	bytes: Uint8Array;
	feeds: Record<string, Tensor>;
	outputs: string[];
}

/** Permutes a tensor's axes (out axis k = in axis perm[k]). */
function transpose(value: Tensor, perm: number[]): Tensor {
	const shape = perm.map((axis) => value.shape[axis]);
	const strides = value.shape.map((_, d) => value.shape.slice(d + 1).reduce((a, b) => a * b, 1));
	const source = value.data as ArrayLike<number>;
	const out = makeTensor(value.dtype, shape);
	const target = out.data as Float32Array;
	const index = new Array<number>(shape.length).fill(0);
	for (let i = 0; i < target.length; i++) {
		target[i] = source[index.reduce((at, v, k) => at + v * strides[perm[k]], 0)];
		for (let k = shape.length - 1; k >= 0 && ++index[k] === shape[k]; k--) index[k] = 0;
	}
	return out;
}

/**
 * The case's model, and the same model in layout 0: onnxruntime's CPU kernels refuse layout 1, so a layout-1 model is
 * checked against its layout-0 twin with X and the states transposed as the spec defines.
 */
function buildCase(c: Case): { model: Built; twin: Built } {
	const random = mulberry32(c.seed);
	const dirs = c.direction === "bidirectional" ? 2 : 1;
	const gates = GATES[c.op];
	const { seq, batch, inputSize, hidden } = c;
	const scale = 1 / Math.sqrt(hidden);
	const x = uniform(random, [seq, batch, inputSize], 1.5);
	const weights: Record<string, Tensor> = {
		W: uniform(random, [dirs, gates * hidden, inputSize], scale), R: uniform(random, [dirs, gates * hidden, hidden], scale),
	};
	if (c.bias ?? true) weights.B = uniform(random, [dirs, 2 * gates * hidden], 0.5);
	const initial = c.initial ?? "none";
	const states = c.op === "LSTM" ? ["h0", "c0"] : ["h0"];
	const initialStates = Object.fromEntries(states.map((state) => [state, uniform(random, [dirs, batch, hidden], 0.8)]));
	if (c.peepholes) weights.P = uniform(random, [dirs, 3 * hidden], 0.5);
	const outputs = c.op === "LSTM" ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"];

	const make = (layout: 0 | 1): Built => {
		const feeds: Record<string, Tensor> = { X: layout === 0 ? x : transpose(x, [1, 0, 2]) };
		const inputs: OnnxModelSpec["inputs"] = [{ name: "X", shape: feeds.X.shape }];
		const initializers: { name: string; value: Tensor }[] = [];
		const place = (name: string, value: Tensor, asInput: boolean): string => {
			if (asInput) {
				feeds[name] = value;
				inputs.push({ name, dtype: value.dtype, shape: value.shape });
			} else {
				initializers.push({ name, value });
			}
			return name;
		};
		const weightsAsInputs = c.weights === "inputs";
		const nodeInputs = ["X", place("W", weights.W, weightsAsInputs), place("R", weights.R, weightsAsInputs), weights.B ? place("B", weights.B, weightsAsInputs) : ""];
		nodeInputs.push(c.sequenceLens ? place("seq_lens", makeTensor("int32", [batch], c.sequenceLens.lengths), c.sequenceLens.as === "input") : "");
		for (const state of states) {
			const value = layout === 0 ? initialStates[state] : transpose(initialStates[state], [1, 0, 2]);
			nodeInputs.push(initial === "none" ? "" : place(state, value, initial === "inputs"));
		}
		if (weights.P) nodeInputs.push(place("P", weights.P, weightsAsInputs));
		while (nodeInputs[nodeInputs.length - 1] === "") nodeInputs.pop();
		const stateShape = layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden];
		const yShape = layout === 0 ? [seq, dirs, batch, hidden] : [batch, seq, dirs, hidden];
		const bytes = buildOnnxModel({
			opset: 14,
			inputs,
			outputs: outputs.map((name) => ({ name, shape: name === "Y" ? yShape : stateShape })),
			initializers,
			nodes: [{
				op: c.op, name: c.op.toLowerCase(), inputs: nodeInputs, outputs,
				attrs: { hidden_size: hidden, direction: c.direction ?? "forward", ...(layout === 1 ? { layout: 1 } : {}), ...c.attrs },
			}],
		});
		return { bytes, feeds, outputs };
	};
	const model = make(c.layout ?? 0);
	return { model, twin: c.layout === 1 ? make(0) : model };
}

/** onnxruntime's outputs for the case, in the case's layout. */
async function expectedOutputs(c: Case, twin: Built): Promise<Record<string, Tensor>> {
	const results = await runOrt(twin.bytes, twin.feeds);
	if (c.layout !== 1) return results;
	return Object.fromEntries(Object.entries(results).map(([name, value]) => [name, transpose(value, name === "Y" ? [2, 0, 1, 3] : [1, 0, 2])]));
}

/** Largest |actual - expected| over max(|expected|, 1): relative error, absolute below magnitude 1. */
function maxError(actual: Tensor, expected: Tensor): number {
	assert.deepEqual(actual.shape, expected.shape);
	const a = actual.data as ArrayLike<number>;
	const e = expected.data as ArrayLike<number>;
	let worst = 0;
	for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]) / Math.max(Math.abs(e[i]), 1));
	return worst;
}

const TOLERANCE = 1e-5;

const CASES: Case[] = [
	{ title: "LSTM forward, initial h and c fed", op: "LSTM", seq: 5, batch: 2, inputSize: 3, hidden: 4, initial: "inputs", seed: 1 },
	{ title: "LSTM reverse without bias or initial state", op: "LSTM", direction: "reverse", seq: 4, batch: 3, inputSize: 5, hidden: 6, bias: false, seed: 2 },
	{ title: "LSTM bidirectional, layout 1, peepholes, initial states as initializers", op: "LSTM", direction: "bidirectional", layout: 1,
		seq: 4, batch: 2, inputSize: 3, hidden: 5, initial: "initializers", peepholes: true, seed: 3 },
	{ title: "LSTM bidirectional with constant sequence_lens (rows stop early, reverse starts at each row's end)", op: "LSTM",
		direction: "bidirectional", seq: 5, batch: 3, inputSize: 2, hidden: 4, initial: "inputs", sequenceLens: { lengths: [5, 2, 3], as: "initializer" }, seed: 4 },
	{ title: "LSTM with sequence_lens fed at run time", op: "LSTM", seq: 4, batch: 3, inputSize: 3, hidden: 3,
		sequenceLens: { lengths: [1, 4, 2], as: "input" }, seed: 5 },
	{ title: "LSTM with clip and input_forget", op: "LSTM", seq: 4, batch: 1, inputSize: 3, hidden: 4, attrs: { clip: 0.7, input_forget: 1 }, seed: 6 },
	{ title: "LSTM with weights, bias and peepholes as graph inputs (as ONNX's node tests)", op: "LSTM", direction: "bidirectional",
		seq: 3, batch: 2, inputSize: 3, hidden: 3, weights: "inputs", initial: "inputs", peepholes: true, seed: 7 },
	{ title: "LSTM with HardSigmoid, LeakyRelu and Softsign activations, alpha/beta consumed in order", op: "LSTM", seq: 3, batch: 2,
		inputSize: 3, hidden: 4, attrs: { activations: ["HardSigmoid", "LeakyRelu", "Softsign"], activation_alpha: [0.3, 0.05], activation_beta: [0.4] }, seed: 8 },
	{ title: "LSTM seq 1, batch 1 (the policy shape)", op: "LSTM", seq: 1, batch: 1, inputSize: 9, hidden: 32, initial: "inputs", seed: 9 },
	{ title: "GRU forward, linear_before_reset 0, initial h fed", op: "GRU", seq: 5, batch: 2, inputSize: 3, hidden: 4, initial: "inputs", seed: 11 },
	{ title: "GRU bidirectional, layout 1, linear_before_reset 1, constant sequence_lens", op: "GRU", direction: "bidirectional", layout: 1,
		seq: 4, batch: 2, inputSize: 3, hidden: 5, attrs: { linear_before_reset: 1 }, sequenceLens: { lengths: [2, 4], as: "initializer" }, seed: 12 },
	{ title: "GRU reverse, linear_before_reset 1, clip, weights as graph inputs", op: "GRU", direction: "reverse", seq: 3, batch: 2,
		inputSize: 4, hidden: 3, weights: "inputs", initial: "inputs", attrs: { linear_before_reset: 1, clip: 0.6 }, seed: 13 },
	{ title: "GRU with sequence_lens fed at run time", op: "GRU", direction: "bidirectional", seq: 4, batch: 2, inputSize: 2, hidden: 3,
		sequenceLens: { lengths: [3, 1], as: "input" }, seed: 14 },
	{ title: "RNN forward, default Tanh", op: "RNN", seq: 5, batch: 2, inputSize: 3, hidden: 4, initial: "inputs", seed: 21 },
	{ title: "RNN bidirectional, layout 1, Relu and LeakyRelu", op: "RNN", direction: "bidirectional", layout: 1, seq: 3, batch: 2,
		inputSize: 3, hidden: 4, initial: "initializers", attrs: { activations: ["Relu", "LeakyRelu"], activation_alpha: [0.2] }, seed: 22 },
	{ title: "RNN reverse with clip and constant sequence_lens", op: "RNN", direction: "reverse", seq: 4, batch: 2, inputSize: 2, hidden: 3,
		attrs: { clip: 0.5 }, sequenceLens: { lengths: [4, 3], as: "initializer" }, seed: 23 },
];

describe("ONNX LSTM, GRU and RNN with random weights match onnxruntime", () => {
	for (const c of CASES) {
		it(`${c.title}: interpreter and generated C within ${TOLERANCE} of onnxruntime`, async () => {
			const { model: built, twin } = buildCase(c);
			const expected = await expectedOutputs(c, twin);
			const model = loadOnnxBytes(built.bytes, `${c.op.toLowerCase()}-${c.seed}.onnx`);
			const inputs = model.graphInputs ?? [];
			const outputs = model.graphOutputs ?? [];
			const feedMap = new Map(inputs.map((input) => [parseInputName(input.tensor).ref.node, built.feeds[input.key]]));
			const fetches = outputs.map((output) => parseInputName(output.tensor).ref);
			const interpreted = runGraph(model.graph, feedMap, fetches);
			outputs.forEach((output, k) => {
				const error = maxError(interpreted[k], expected[output.key]);
				assert.ok(error <= TOLERANCE, `interpreter ${output.key}: error ${error.toExponential(2)}`);
			});

			const { config } = buildConfig(model.graph, inputs.map((input) => ({ ref: parseInputName(input.tensor).ref, shape: input.shape })),
				fetches.map((ref) => ({ ref })));
			const compiled = compileModel(model.graph, config, "rnn", "onnx test");
			const binary = buildHost(compiled, tempDir("onnx-recurrent"));
			const [results] = runHost(binary, compiled, inputs.map((input) => built.feeds[input.key]), 1);
			outputs.forEach((output, k) => {
				const error = maxError(results[k], expected[output.key]);
				assert.ok(error <= TOLERANCE, `generated C ${output.key}: error ${error.toExponential(2)} (${path.basename(binary)})`);
			});
		});
	}
});
