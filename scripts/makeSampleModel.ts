// Writes the sample workspace's model: an LSTM policy shaped like Indigo (input [1,1,9], state c and h [1,32], a TF1
// dynamic_rnn while loop over TensorArrays, softmax over 5 actions) with deterministic weights, as a binary GraphDef,
// plus its graph.config.pbtxt and inputs.json. The node names follow Indigo's, so the same commands work on both.
// usage: node --import tsx scripts/makeSampleModel.ts OUT_DIR
import * as fs from "node:fs";
import * as path from "node:path";
import { buildConfig, formatConfig } from "../extension/core/frontends/tf/tf2xlaConfig";
import { Graph } from "../extension/core/graph/graph";
import { type DType, dtypeToEnum, makeTensor, shapeToProto, tensorToProto } from "../extension/core/graph/tensor";
import { encodeMessage, types } from "../extension/core/frontends/tf/proto/registry";
import type { AttrValue, GraphDef, NodeDef } from "../extension/core/frontends/tf/proto/types";

export const SAMPLE_INPUT = "global/Placeholder";
export const SAMPLE_STATE_C = "global/Placeholder_1";
export const SAMPLE_STATE_H = "global/Placeholder_2";
export const SAMPLE_FETCHES = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];
const UNITS = 32;
const FEATURES = 9;
const ACTIONS = 5;
const FRAME = "global/rnn/while";

export interface SampleFiles {
	model: string;
	config: string;
	inputs: string;
}

const encoder = new TextEncoder();
const a = {
	type: (dtype: DType): AttrValue => ({ type: dtypeToEnum(dtype) }),
	i: (i: number): AttrValue => ({ i }),
	b: (b: boolean): AttrValue => ({ b }),
	s: (s: string): AttrValue => ({ s: encoder.encode(s) }),
	shape: (shape: number[]): AttrValue => ({ shape: shapeToProto(shape) }),
};
const F = a.type("float32");
const I = a.type("int32");

/** Adds nodes to a GraphDef in the decoder's plain-object form; each call returns the node's name. */
class SampleGraph {
	readonly nodes: NodeDef[] = [];

	op(op: string, name: string, inputs: string[], attr: Record<string, AttrValue> = {}, control: string[] = []): string {
		this.nodes.push({ name, op, input: [...inputs, ...control.map((c) => `^${c}`)], attr });
		return name;
	}

	const(name: string, dtype: DType, shape: number[], values: ArrayLike<number>, control: string[] = []): string {
		return this.op("Const", name, [], { dtype: a.type(dtype), value: { tensor: tensorToProto(makeTensor(dtype, shape, values)) } }, control);
	}

	/** A constant inside the loop frame hangs off the pivot, as TensorFlow places it. */
	loopConst(name: string, dtype: DType, shape: number[], values: ArrayLike<number>, pivot: string): string {
		return this.const(name, dtype, shape, values, [pivot]);
	}

	/** A loop-invariant value entering the frame. */
	enterConst(name: string, input: string, dtype: DType): string {
		return this.op("Enter", name, [input], { T: a.type(dtype), frame_name: a.s(FRAME), is_constant: a.b(true), parallel_iterations: a.i(32) });
	}
}

/** Deterministic uniform weights in [-scale, scale) (mulberry32), so every run writes the same model. */
function weights(seed: number, count: number, scale: number): Float32Array {
	let state = seed >>> 0;
	const values = new Float32Array(count);
	for (let k = 0; k < count; k++) {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		values[k] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
	}
	return values;
}

function timeMajor(g: SampleGraph, name: string, input: string): string {
	return g.op("Transpose", name, [input, g.const(`${name}/perm`, "int32", [3], [1, 0, 2])], { T: F, Tperm: I });
}

function firstDim(g: SampleGraph, name: string, shapeOf: string): string {
	const shape = g.op("Shape", `${name}/Shape`, [shapeOf], { T: F, out_type: I });
	return g.op("StridedSlice", name, [shape, g.const(`${name}/stack`, "int32", [1], [0]), g.const(`${name}/stack_1`, "int32", [1], [1]), g.const(`${name}/stack_2`, "int32", [1], [1])], {
		T: I, Index: I, begin_mask: a.i(0), end_mask: a.i(0), ellipsis_mask: a.i(0), new_axis_mask: a.i(0), shrink_axis_mask: a.i(1),
	});
}

function range(g: SampleGraph, name: string, limit: string): string {
	return g.op("Range", name, [g.const(`${name}/start`, "int32", [], [0]), limit, g.const(`${name}/delta`, "int32", [], [1])], { Tidx: I });
}

function tensorArray(g: SampleGraph, name: string, size: string, elementShape: number[]): string {
	return g.op("TensorArrayV3", name, [size], {
		dtype: F, element_shape: a.shape(elementShape), dynamic_size: a.b(false), clear_after_read: a.b(true),
		identical_element_shapes: a.b(true), tensor_array_name: a.s(""),
	});
}

/** One BasicLSTMCell step (forget bias 1.0), named as TensorFlow names it inside the loop. */
function lstmCell(g: SampleGraph, x: string, c: string, h: string, kernel: string, bias: string, pivot: string): { c: string; h: string } {
	const p = `${FRAME}/rnn/multi_rnn_cell/cell_0/cell_0/basic_lstm_cell`;
	const xh = g.op("ConcatV2", `${p}/basic_lstm_cell/concat`, [x, h, g.loopConst(`${p}/basic_lstm_cell/concat/axis`, "int32", [], [1], pivot)], { T: F, N: a.i(2), Tidx: I });
	const mm = g.op("MatMul", `${p}/basic_lstm_cell/MatMul`, [xh, g.enterConst(`${p}/basic_lstm_cell/MatMul/Enter`, kernel, "float32")], { T: F, transpose_a: a.b(false), transpose_b: a.b(false) });
	const gates = g.op("BiasAdd", `${p}/basic_lstm_cell/BiasAdd`, [mm, g.enterConst(`${p}/basic_lstm_cell/BiasAdd/Enter`, bias, "float32")], { T: F, data_format: a.s("NHWC") });
	const split = g.op("Split", `${p}/split`, [g.loopConst(`${p}/split/split_dim`, "int32", [], [1], pivot), gates], { T: F, num_split: a.i(4) });
	const forget = g.op("Sigmoid", `${p}/Sigmoid`, [g.op("Add", `${p}/add`, [`${split}:2`, g.loopConst(`${p}/add/y`, "float32", [], [1], pivot)], { T: F })], { T: F });
	const kept = g.op("Mul", `${p}/mul`, [c, forget], { T: F });
	const written = g.op("Mul", `${p}/mul_1`, [g.op("Sigmoid", `${p}/Sigmoid_1`, [split], { T: F }), g.op("Tanh", `${p}/Tanh`, [`${split}:1`], { T: F })], { T: F });
	const cNext = g.op("Add", `${p}/add_1`, [kept, written], { T: F });
	const hNext = g.op("Mul", `${p}/mul_2`, [g.op("Tanh", `${p}/Tanh_1`, [cNext], { T: F }), g.op("Sigmoid", `${p}/Sigmoid_2`, [`${split}:3`], { T: F })], { T: F });
	return { c: cNext, h: hNext };
}

/** The sample LSTM policy as a GraphDef. */
export function sampleGraphDef(): GraphDef {
	const g = new SampleGraph();
	const x = g.op("Placeholder", SAMPLE_INPUT, [], { dtype: F, shape: a.shape([-1, -1, FEATURES]) });
	const c0 = g.op("Placeholder", SAMPLE_STATE_C, [], { dtype: F, shape: a.shape([-1, UNITS]) });
	const h0 = g.op("Placeholder", SAMPLE_STATE_H, [], { dtype: F, shape: a.shape([-1, UNITS]) });
	const kernel = g.op("Identity", "global/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel/read",
		[g.const("global/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel", "float32", [FEATURES + UNITS, 4 * UNITS], weights(1, (FEATURES + UNITS) * 4 * UNITS, 0.3))], { T: F });
	const bias = g.op("Identity", "global/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias/read",
		[g.const("global/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias", "float32", [4 * UNITS], weights(2, 4 * UNITS, 0.1))], { T: F });

	// dynamic_rnn: time-major input unstacked into a TensorArray, one loop iteration per time step.
	const xt = timeMajor(g, "global/transpose", x);
	const steps = firstDim(g, "global/rnn/strided_slice_1", xt);
	const outputTa = tensorArray(g, "global/rnn/TensorArray", steps, [1, UNITS]);
	const inputTa = tensorArray(g, "global/rnn/TensorArray_1", steps, [1, FEATURES]);
	const scattered = g.op("TensorArrayScatterV3", "global/rnn/TensorArrayUnstack/TensorArrayScatter/TensorArrayScatterV3",
		[inputTa, range(g, "global/rnn/TensorArrayUnstack/range", steps), xt, `${inputTa}:1`], { T: F });

	const vars: { init: string; dtype: DType }[] = [
		{ init: g.const("global/rnn/time", "int32", [], [0]), dtype: "int32" },
		{ init: `${outputTa}:1`, dtype: "float32" },
		{ init: c0, dtype: "float32" },
		{ init: h0, dtype: "float32" },
	];
	const suffix = (k: number) => (k === 0 ? "" : `_${k}`);
	const loopAttrs = (dtype: DType) => ({ T: a.type(dtype), frame_name: a.s(FRAME), is_constant: a.b(false), parallel_iterations: a.i(32) });
	const enters = vars.map((v, k) => g.op("Enter", `${FRAME}/Enter${suffix(k)}`, [v.init], loopAttrs(v.dtype)));
	const merges = vars.map((v, k) => g.op("Merge", `${FRAME}/Merge${suffix(k)}`, [enters[k], `${FRAME}/NextIteration${suffix(k)}`], { T: a.type(v.dtype), N: a.i(2) }));
	const less = g.op("Less", `${FRAME}/Less`, [merges[0], g.enterConst(`${FRAME}/Less/Enter`, steps, "int32")], { T: I });
	const loopCond = g.op("LoopCond", `${FRAME}/LoopCond`, [less]);
	const switches = vars.map((v, k) => g.op("Switch", `${FRAME}/Switch${suffix(k)}`, [merges[k], loopCond], { T: a.type(v.dtype) }));
	const [time, flow, c, h] = vars.map((v, k) => g.op("Identity", `${FRAME}/Identity${suffix(k)}`, [`${switches[k]}:1`], { T: a.type(v.dtype) }));

	const read = g.op("TensorArrayReadV3", `${FRAME}/TensorArrayReadV3`,
		[g.enterConst(`${FRAME}/TensorArrayReadV3/Enter`, inputTa, "resource"), time, g.enterConst(`${FRAME}/TensorArrayReadV3/Enter_1`, scattered, "float32")], { dtype: F });
	const cell = lstmCell(g, read, c, h, kernel, bias, time);
	const write = g.op("TensorArrayWriteV3", `${FRAME}/TensorArrayWrite/TensorArrayWriteV3`,
		[g.enterConst(`${FRAME}/TensorArrayWrite/TensorArrayWriteV3/Enter`, outputTa, "resource"), time, cell.h, flow], { T: F });
	const next = [g.op("Add", `${FRAME}/add`, [time, g.loopConst(`${FRAME}/add/y`, "int32", [], [1], time)], { T: I }), write, cell.c, cell.h];
	next.forEach((value, k) => g.op("NextIteration", `${FRAME}/NextIteration${suffix(k)}`, [value], { T: a.type(vars[k].dtype) }));
	const exits = vars.map((v, k) => g.op("Exit", `${FRAME}/Exit${suffix(k)}`, [switches[k]], { T: a.type(v.dtype) }));

	// Outputs stacked back to batch-major, then the 32 -> 5 layer and the softmax over the actions.
	const size = g.op("TensorArraySizeV3", "global/rnn/TensorArrayStack/TensorArraySizeV3", [outputTa, exits[1]]);
	const stacked = g.op("TensorArrayGatherV3", "global/rnn/TensorArrayStack/TensorArrayGatherV3",
		[outputTa, range(g, "global/rnn/TensorArrayStack/range", size), exits[1]], { dtype: F, element_shape: a.shape([1, UNITS]) });
	const outputs = timeMajor(g, "global/rnn/transpose", stacked);
	const flat = g.op("Reshape", "global/fully_connected/Reshape", [outputs, g.const("global/fully_connected/Reshape/shape", "int32", [2], [-1, UNITS])], { T: F, Tshape: I });
	const fcWeights = g.op("Identity", "global/fully_connected/weights/read", [g.const("global/fully_connected/weights", "float32", [UNITS, ACTIONS], weights(3, UNITS * ACTIONS, 1.5))], { T: F });
	const fcBiases = g.op("Identity", "global/fully_connected/biases/read", [g.const("global/fully_connected/biases", "float32", [ACTIONS], weights(4, ACTIONS, 0.1))], { T: F });
	const logits = g.op("BiasAdd", "global/fully_connected/BiasAdd",
		[g.op("MatMul", "global/fully_connected/MatMul", [flat, fcWeights], { T: F, transpose_a: a.b(false), transpose_b: a.b(false) }), fcBiases], { T: F, data_format: a.s("NHWC") });
	g.op("Softmax", "global/Softmax", [logits], { T: F });
	return { node: g.nodes, versions: { producer: 26 } };
}

/** The published Indigo run's input and feedback, reused for the sample: x[i] = 0.1 * i, 10 steps. */
export function sampleInputs(): object {
	return {
		feeds: { [SAMPLE_INPUT]: [[Array.from({ length: FEATURES }, (_, i) => Number((0.1 * i).toFixed(1)))]] },
		steps: 10,
		feedback: { [SAMPLE_STATE_C]: SAMPLE_FETCHES[1], [SAMPLE_STATE_H]: SAMPLE_FETCHES[2] },
	};
}

/** Writes model.pb, graph.config.pbtxt and inputs.json into `dir`. */
export function writeSampleModel(dir: string): SampleFiles {
	fs.mkdirSync(dir, { recursive: true });
	const def = sampleGraphDef();
	const files: SampleFiles = { model: path.join(dir, "model.pb"), config: path.join(dir, "graph.config.pbtxt"), inputs: path.join(dir, "inputs.json") };
	fs.writeFileSync(files.model, encodeMessage(types.GraphDef, def));
	const feeds = [[SAMPLE_INPUT, [1, 1, FEATURES]], [SAMPLE_STATE_C, [1, UNITS]], [SAMPLE_STATE_H, [1, UNITS]]] as const;
	const { config, inference } = buildConfig(Graph.fromGraphDef(def),
		feeds.map(([node, shape]) => ({ ref: { node, index: 0 }, shape: [...shape] })), SAMPLE_FETCHES.map((node) => ({ ref: { node, index: 0 } })));
	fs.writeFileSync(files.config, formatConfig(config, inference));
	fs.writeFileSync(files.inputs, `${JSON.stringify(sampleInputs(), null, 2)}\n`);
	return files;
}

if (require.main === module) {
	const dir = process.argv[2];
	if (!dir) {
		console.error("usage: node --import tsx scripts/makeSampleModel.ts OUT_DIR");
		process.exit(2);
	}
	const files = writeSampleModel(path.resolve(dir));
	console.log(`wrote ${files.model}, ${files.config}, ${files.inputs}`);
}
