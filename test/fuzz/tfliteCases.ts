// TFLite models assembled valid by the test builder, broken at the table level (tensors, buffers, operators,
// quantization, options) and written with the front end's own flatbuffer writer.
import { BuiltinOperator as Op, TensorType, type TfliteModel } from "../../extension/core/frontends/tflite/types";
import { TfliteBuilder } from "../support/tfliteBuilder";
import { float32Bytes, poisonFloats } from "./bytes";
import type { SeedIo } from "./configInputs";
import { EXTREME_DIMS, EXTREME_FLOATS, EXTREME_INTS, HUGE_COUNTS, type Rng } from "./random";

const F = TensorType.FLOAT32;

function weights(rng: Rng, count: number, scale = 1): number[] {
	return Array.from({ length: count }, () => Math.fround((rng.float() * 2 - 1) * scale));
}

function fc(rng: Rng): TfliteBuilder {
	const b = new TfliteBuilder();
	const x = b.input("x", F, [1, 4]);
	const hidden = b.tensor("hidden", F, [1, 3]);
	b.op(Op.FULLY_CONNECTED, [x, b.constant("w", F, [3, 4], weights(rng, 12)), b.constant("bias", F, [3], weights(rng, 3))], [hidden], { options: { fusedActivationFunction: 1 } });
	const y = b.tensor("probs", F, [1, 3]);
	b.op(Op.SOFTMAX, [hidden], [y], { options: { beta: 1 } });
	return b.output(y);
}

/** FILL, TILE, RANGE and RESHAPE, each sized by a constant buffer the mutators can make huge. */
function shapes(): TfliteBuilder {
	const b = new TfliteBuilder();
	const I = TensorType.INT32;
	const x = b.input("x", F, [2, 3]);
	const fill = b.tensor("fill", F, [2, 3]);
	b.op(Op.FILL, [b.constant("fill_dims", I, [2], [2, 3]), b.constant("fill_value", F, [], [0.5])], [fill]);
	const sum = b.tensor("sum", F, [2, 3]);
	b.op(Op.ADD, [x, fill], [sum]);
	const tiled = b.tensor("tiled", F, [4, 3]);
	b.op(Op.TILE, [sum, b.constant("multiples", I, [2], [2, 1])], [tiled]);
	const range = b.tensor("range", F, [12]);
	b.op(Op.RANGE, [b.constant("start", F, [], [0]), b.constant("limit", F, [], [12]), b.constant("delta", F, [], [1])], [range]);
	const grid = b.tensor("grid", F, [4, 3]);
	b.op(Op.RESHAPE, [range, b.constant("grid_shape", I, [2], [4, 3])], [grid], { options: { newShape: [4, 3] } });
	const y = b.tensor("y", F, [4, 3]);
	b.op(Op.MUL, [tiled, grid], [y]);
	return b.output(y);
}

function int8(rng: Rng): TfliteBuilder {
	const b = new TfliteBuilder();
	const I8 = TensorType.INT8;
	const x = b.input("x", I8, [1, 4], { scale: 0.05, zeroPoint: 0 });
	const w = b.constant("w", I8, [3, 4], weights(rng, 12, 127).map(Math.round), { scale: 0.02, zeroPoint: 0 });
	const bias = b.constant("bias", TensorType.INT32, [3], weights(rng, 3, 100).map(Math.round), { scale: 0.001, zeroPoint: 0 });
	const y = b.tensor("y", I8, [1, 3], { scale: 0.1, zeroPoint: -3 });
	b.op(Op.FULLY_CONNECTED, [x, w, bias], [y], { options: {} });
	return b.output(y);
}

function chain(length: number): TfliteBuilder {
	const b = new TfliteBuilder();
	let last = b.input("x", F, [1, 8]);
	const ops = [Op.RELU, Op.TANH, Op.LOGISTIC];
	for (let i = 0; i < length; i++) {
		const next = b.tensor(`t${i}`, F, [1, 8]);
		b.op(ops[i % 3], [last], [next]);
		last = next;
	}
	return b.output(last);
}

export function tfliteSeed(rng: Rng, maxChain: number): { name: string; model: TfliteModel; io: SeedIo } {
	const choice = rng.int(5);
	const length = rng.pick([3, 50, 1000, maxChain].filter((n) => n <= maxChain));
	const [name, builder] = choice === 0 ? ["fc", fc(rng)] : choice <= 2 ? ["shapes", shapes()] : choice === 3 ? ["int8", int8(rng)] : [`chain${length}`, chain(length)];
	const model = (builder as TfliteBuilder).toModel();
	const graph = model.subgraphs[0];
	const io: SeedIo = {
		feeds: graph.inputs.map((i) => ({ name: graph.tensors[i].name, shape: [...graph.tensors[i].shape], dtype: graph.tensors[i].type === TensorType.INT8 ? "int8" : "float32" })),
		fetches: graph.outputs.map((i) => graph.tensors[i].name),
	};
	return { name: name as string, model, io };
}

const BAD_TYPES = [99, 127, -1, TensorType.STRING, TensorType.COMPLEX64, TensorType.FLOAT16, TensorType.INT64, TensorType.BOOL];

/** One structural mutation of a TfliteModel in place; returns what it did. */
export function mutateTflite(model: TfliteModel, rng: Rng): string {
	const graph = model.subgraphs[0];
	if (!graph || graph.tensors.length === 0 || graph.operators.length === 0) return "nothing left to change";
	const tensorIndex = rng.int(graph.tensors.length);
	const tensor = graph.tensors[tensorIndex];
	const op = rng.pick(graph.operators);
	switch (rng.int(13)) {
		case 0: {
			const size = rng.pick(EXTREME_DIMS);
			if (tensor.shape.length === 0 || rng.chance(0.2)) tensor.shape.push(size);
			else tensor.shape[rng.int(tensor.shape.length)] = size;
			return `tensor ${tensor.name}: shape [${tensor.shape.join(",")}]`;
		}
		case 1: {
			const type = rng.pick(BAD_TYPES);
			tensor.type = type;
			return `tensor ${tensor.name}: type ${type}`;
		}
		case 2: {
			const buffer = rng.pick([-1, 999, model.buffers.length, 2147483647]);
			tensor.buffer = buffer;
			return `tensor ${tensor.name}: buffer ${buffer}`;
		}
		case 3: {
			const index = 1 + rng.int(Math.max(1, model.buffers.length - 1));
			const data = model.buffers[index];
			if (!data) return "no buffer to change";
			if (rng.chance(0.5)) {
				model.buffers[index] = data.subarray(0, rng.int(data.length));
				return `buffer ${index} truncated to ${model.buffers[index]!.length} bytes`;
			}
			const value = rng.pick(EXTREME_FLOATS);
			model.buffers[index] = poisonFloats(data, value, rng);
			return `buffer ${index} poisoned with ${value}`;
		}
		case 4: {
			// Shape-carrying constants (dims, multiples, limits) asked for huge element counts.
			const index = 1 + rng.int(Math.max(1, model.buffers.length - 1));
			const data = model.buffers[index];
			const count = rng.pick([...HUGE_COUNTS, ...EXTREME_INTS, 0]);
			const owner = graph.tensors.find((t) => t.buffer === index);
			if (!data || !owner) return "no constant to change";
			if (owner.type === F) model.buffers[index] = float32Bytes(Array.from({ length: Math.max(1, data.length / 4) }, () => rng.pick([count, NaN, Infinity])));
			else if (data.length >= 4) {
				const out = Uint8Array.from(data);
				new DataView(out.buffer).setInt32(4 * rng.int(out.length / 4), count | 0, true);
				model.buffers[index] = out;
			}
			return `constant ${owner.name}: a value = ${count}`;
		}
		case 5: {
			const code = rng.pick([999, -1, 2147483647, 127, Op.CUSTOM, Op.CALL, Op.LSTM, Op.GATHER, Op.CONCATENATION]);
			model.operatorCodes[rng.int(model.operatorCodes.length)].builtinCode = code;
			return `operator code ${code}`;
		}
		case 6: {
			const index = rng.pick([-1, 999, model.operatorCodes.length]);
			op.opcodeIndex = index;
			return `operator opcodeIndex ${index}`;
		}
		case 7: {
			const index = rng.pick([-1, -2, 999, graph.tensors.length, 2147483647]);
			if (rng.chance(0.5) && op.inputs.length > 0) op.inputs[rng.int(op.inputs.length)] = index;
			else op.outputs[0] = index;
			return `operator input or output ${index}`;
		}
		case 8: {
			// A cycle, or two writers of one tensor.
			const first = graph.operators[0];
			const last = graph.operators[graph.operators.length - 1];
			if (rng.chance(0.5)) first.inputs[0] = last.outputs[0];
			else op.outputs[0] = rng.pick(graph.operators).outputs[0];
			return "operators in a cycle or writing the same tensor";
		}
		case 9: {
			const scale = rng.pick([0, -1, NaN, Infinity, 1e-45, 1e38]);
			const zeroPoint = rng.pick([0, -129, 256, 2147483647]);
			tensor.quantization = { scale: rng.chance(0.3) ? [] : [scale], zeroPoint: [zeroPoint], quantizedDimension: rng.pick([0, 5, -1]) };
			return `tensor ${tensor.name}: scale ${scale}, zero point ${zeroPoint}`;
		}
		case 10: {
			const key = rng.pick(["fusedActivationFunction", "beta", "newShape", "strideW", "keepNumDims", "weightsFormat", "axis"]);
			op.builtinOptions[key] = key === "newShape" ? [rng.pick(EXTREME_DIMS), -1] : rng.pick([...EXTREME_INTS, 99]);
			if (rng.chance(0.3)) op.builtinOptionsType = rng.pick([0, 1, 99, 127]);
			return `options ${key} = ${JSON.stringify(op.builtinOptions[key])}`;
		}
		case 11: {
			const which = rng.int(4);
			if (which === 0) graph.inputs = [rng.pick([-1, 999, tensorIndex])];
			else if (which === 1) graph.outputs = rng.chance(0.5) ? [] : [tensorIndex, tensorIndex];
			else if (which === 2) model.subgraphs = [];
			else model.subgraphs.push({ tensors: [], inputs: [0], outputs: [0], operators: [] });
			return `subgraph inputs/outputs or count changed (${which})`;
		}
		default: {
			const name = rng.pick(["\u001b[2J\u001b[31mevil", "a\rb", "rtl\u202eexe", "z".repeat(5000), "", "t:0", "../x", graph.tensors[0].name]);
			tensor.name = name;
			return `tensor ${tensorIndex}: hostile name ${JSON.stringify(name.slice(0, 40))}`;
		}
	}
}
