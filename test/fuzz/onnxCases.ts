// ONNX models built valid by the test builder, decoded to their ModelProto and broken field by field.
import { type OnnxGraphProto, type OnnxModelProto, type OnnxTensorProto, decodeModelProto, encodeOnnx, onnxTypes } from "../../extension/core/frontends/onnx/proto";
import { buildOnnxModel, f32, i64, type OnnxModelSpec } from "../support/onnxBuilder";
import { float32Bytes, poisonFloats } from "./bytes";
import type { SeedIo } from "./configInputs";
import { EXTREME_DIMS, EXTREME_FLOATS, EXTREME_INTS, HUGE_COUNTS, type Rng } from "./random";

function weights(rng: Rng, shape: number[]): ReturnType<typeof f32> {
	const count = shape.reduce((a, b) => a * b, 1);
	return f32(shape, Array.from({ length: count }, () => Math.fround(rng.float() * 2 - 1)));
}

function mlp(rng: Rng): OnnxModelSpec {
	return {
		inputs: [{ name: "x", shape: [1, 4] }], outputs: [{ name: "probs", shape: [1, 3] }],
		initializers: [{ name: "w", value: weights(rng, [4, 3]) }, { name: "b", value: weights(rng, [3]) }],
		nodes: [
			{ op: "MatMul", inputs: ["x", "w"], outputs: ["mm"] }, { op: "Add", inputs: ["mm", "b"], outputs: ["biased"] },
			{ op: "Relu", inputs: ["biased"], outputs: ["relu"] }, { op: "Softmax", inputs: ["relu"], outputs: ["probs"], attrs: { axis: -1 } },
		],
	};
}

/** ConstantOfShape, Tile, Range, Reshape and Expand, each sized by an initializer the mutators can make huge. */
function shapes(): OnnxModelSpec {
	return {
		inputs: [{ name: "x", shape: [2, 3] }], outputs: [{ name: "y", shape: [4, 3] }],
		initializers: [
			{ name: "fill_shape", value: i64([2], [2, 3]) }, { name: "repeats", value: i64([2], [2, 1]) },
			{ name: "start", value: f32([], [0]) }, { name: "limit", value: f32([], [12]) }, { name: "delta", value: f32([], [1]) },
			{ name: "grid_shape", value: i64([2], [4, 3]) }, { name: "expand_shape", value: i64([2], [4, 3]) },
		],
		nodes: [
			{ op: "ConstantOfShape", inputs: ["fill_shape"], outputs: ["fill"], attrs: { value: f32([1], [0.5]) } },
			{ op: "Add", inputs: ["x", "fill"], outputs: ["sum"] }, { op: "Tile", inputs: ["sum", "repeats"], outputs: ["tiled"] },
			{ op: "Range", inputs: ["start", "limit", "delta"], outputs: ["range"] }, { op: "Reshape", inputs: ["range", "grid_shape"], outputs: ["grid"] },
			{ op: "Mul", inputs: ["tiled", "grid"], outputs: ["product"] }, { op: "Expand", inputs: ["product", "expand_shape"], outputs: ["y"] },
		],
	};
}

function conv(rng: Rng): OnnxModelSpec {
	return {
		inputs: [{ name: "image", shape: [1, 2, 5, 5] }], outputs: [{ name: "flat", shape: [1, 16] }],
		initializers: [{ name: "filter", value: weights(rng, [4, 2, 3, 3]) }, { name: "bias", value: weights(rng, [4]) }],
		nodes: [
			{ op: "Conv", inputs: ["image", "filter", "bias"], outputs: ["conv"], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3], strides: [1, 1] } },
			{ op: "MaxPool", inputs: ["conv"], outputs: ["pool"], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
			{ op: "Flatten", inputs: ["pool"], outputs: ["flat"], attrs: { axis: 1 } },
		],
	};
}

function chain(length: number): OnnxModelSpec {
	const ops = ["Relu", "Identity", "Tanh"];
	const nodes = Array.from({ length }, (_, i) => ({ op: ops[i % 3], inputs: [i === 0 ? "x" : `t${i - 1}`], outputs: [i === length - 1 ? "y" : `t${i}`] }));
	return { inputs: [{ name: "x", shape: [1, 8] }], outputs: [{ name: "y", shape: [1, 8] }], nodes };
}

export function onnxSeed(rng: Rng, maxChain: number): { name: string; model: OnnxModelProto; io: SeedIo } {
	const choice = rng.int(5);
	const length = rng.pick([3, 50, 1000, maxChain].filter((n) => n <= maxChain));
	const [name, spec] = choice === 0 ? ["mlp", mlp(rng)] : choice <= 2 ? ["shapes", shapes()] : choice === 3 ? ["conv", conv(rng)] : [`chain${length}`, chain(length)];
	const built = spec as OnnxModelSpec;
	const io: SeedIo = {
		feeds: built.inputs.map((input) => ({ name: input.name, shape: (input.shape ?? []).map(Number), dtype: "float32" })),
		fetches: built.outputs.map((output) => output.name),
	};
	return { name: name as string, model: decodeModelProto(buildOnnxModel(built)), io };
}

const BAD_ELEM_TYPES = [0, 8, 14, 16, 17, 23, 99, -1, 2147483647];
const OP_TYPES = ["NoSuchOp", "Loop", "If", "Scan", "Identity", "Constant", "Split", "Concat", "Gather", "Resize"];

/** A graph nested `depth` levels deep through If's then_branch. */
function nestedGraph(depth: number): OnnxGraphProto {
	let inner: OnnxGraphProto = { name: "leaf", node: [], output: [{ name: "x" }] };
	for (let i = 0; i < depth; i++) {
		inner = {
			name: `level${i}`, output: [{ name: `o${i}` }],
			node: [{ op_type: "If", input: ["cond"], output: [`o${i}`], attribute: [{ name: "then_branch", type: 5, g: inner }, { name: "else_branch", type: 5, g: { name: "empty" } }] }],
		};
	}
	return inner;
}

function poisonTensor(t: OnnxTensorProto, rng: Rng): string {
	switch (rng.int(5)) {
		case 0: {
			const dims = [...(t.dims ?? [])];
			const size = rng.pick(EXTREME_DIMS);
			if (dims.length === 0) dims.push(size);
			else dims[rng.int(dims.length)] = size;
			t.dims = dims;
			return `dims [${dims.join(",")}]`;
		}
		case 1:
			if (t.raw_data) t.raw_data = t.raw_data.subarray(0, rng.int(t.raw_data.length));
			return `raw_data truncated to ${t.raw_data?.length ?? 0} bytes`;
		case 2: {
			const value = rng.pick(EXTREME_FLOATS);
			if (t.raw_data && t.data_type === 1) t.raw_data = poisonFloats(t.raw_data, value, rng);
			return `weights poisoned with ${value}`;
		}
		case 3: {
			const type = rng.pick(BAD_ELEM_TYPES);
			t.data_type = type;
			return `data_type ${type}`;
		}
		default: {
			// Shape-carrying initializers (int64) take element counts a small file should not be able to ask for.
			const count = rng.pick([...HUGE_COUNTS, ...EXTREME_INTS, 0]);
			if (t.data_type === 7 && t.raw_data && t.raw_data.length >= 8) {
				const out = Uint8Array.from(t.raw_data);
				new DataView(out.buffer).setBigInt64(8 * rng.int(out.length / 8), BigInt(Math.trunc(Math.min(count, 2 ** 62))), true);
				t.raw_data = out;
			} else if (t.data_type === 1) {
				t.raw_data = float32Bytes([rng.pick([NaN, Infinity, count])]);
			}
			return `a value = ${count}`;
		}
	}
}

/** One structural mutation of a ModelProto in place; returns what it did. */
export function mutateOnnx(model: OnnxModelProto, rng: Rng): string {
	const graph = model.graph!;
	const nodes = graph.node ?? [];
	const node = rng.pick(nodes);
	switch (rng.int(12)) {
		case 0: case 1: {
			const init = rng.pick(graph.initializer ?? []);
			if (!init) return "no initializer to change";
			return `initializer ${init.name}: ${poisonTensor(init, rng)}`;
		}
		case 2: {
			const input = rng.pick(graph.input ?? []);
			const shape = input?.type?.tensor_type?.shape;
			const dim = [...(shape?.dim ?? [])];
			if (shape) shape.dim = dim;
			const value = rng.pick<number | string>([...EXTREME_DIMS, "batch", ""]);
			if (dim.length > 0) dim[rng.int(dim.length)] = typeof value === "string" ? { dim_param: value } : { dim_value: value };
			if (rng.chance(0.2) && input?.type?.tensor_type) input.type.tensor_type.elem_type = rng.pick(BAD_ELEM_TYPES);
			return `input ${input?.name}: dimension ${String(value)}`;
		}
		case 3: {
			const op = rng.pick(OP_TYPES);
			node.op_type = op;
			if (rng.chance(0.3)) node.domain = rng.pick(["com.microsoft", "ai.onnx.ml", "evil"]);
			return `${node.name}: op_type ${op}`;
		}
		case 4: {
			// Decoded messages share one frozen empty array for absent repeated fields: mutate copies.
			const attrs = [...(node.attribute ?? [])];
			if (attrs.length > 0 && rng.chance(0.5)) {
				const dropped = attrs.splice(rng.int(attrs.length), 1)[0];
				node.attribute = attrs;
				return `${node.name}: attribute ${dropped.name} dropped`;
			}
			const name = rng.pick(["axis", "perm", "pads", "kernel_shape", "strides", "value", "to", "alpha"]);
			attrs.push(rng.pick([
				{ name, type: 2, i: rng.pick(EXTREME_INTS) }, { name, type: 7, ints: [rng.pick(EXTREME_INTS), -1] }, { name, type: 1, f: rng.pick(EXTREME_FLOATS) },
				{ name, type: 3, s: new TextEncoder().encode("\u001b[31m") }, { name, type: 4 }, { name, type: 99 }, { name, type: 2, floats: [1.5] },
			]));
			node.attribute = attrs;
			return `${node.name}: attribute ${name} of an odd type`;
		}
		case 5: {
			const other = rng.pick(nodes);
			node.output = [...(other.output ?? [])];
			return `${node.name}: writes ${other.name}'s outputs too`;
		}
		case 6: {
			const input = rng.pick(["ghost", "", "x:0", "probs"]);
			node.input = [...(node.input ?? []), input];
			if (rng.chance(0.5)) node.input[0] = input;
			return `${node.name}: input "${input}"`;
		}
		case 7: {
			const at = rng.int(nodes.length);
			const later = nodes[at + rng.int(nodes.length - at)];
			const early = nodes[rng.int(at + 1)];
			if ((early.input ?? []).length > 0 && (later.output ?? []).length > 0) early.input = [later.output![0], ...early.input!.slice(1)];
			return `cycle: ${early.name} reads ${later.name}`;
		}
		case 8: {
			const version = rng.pick([0, 1, 6, 999, -1, 2 ** 40]);
			model.opset_import = [{ domain: "", version }];
			if (rng.chance(0.3)) model.ir_version = rng.pick([0, 99, -1]);
			return `opset ${version}`;
		}
		case 9: {
			// protobufjs stops at 100 levels (its recursion limit): one case on each side of it.
			const depth = rng.pick([10, 60, 99, 150]);
			graph.node = nodes;
			nodes.push({ op_type: "If", name: "deep", input: [graph.input?.[0]?.name ?? "x"], output: ["deep_out"], attribute: [{ name: "then_branch", type: 5, g: nestedGraph(depth) }, { name: "else_branch", type: 5, g: { name: "empty" } }] });
			if (rng.chance(0.5)) graph.output = [...(graph.output ?? []), { name: "deep_out" }];
			return `an If nested ${depth} deep`;
		}
		case 10: {
			const name = rng.pick(["\u001b[2J\u001b[31mevil", "a\rb", "rtl\u202eexe", "y".repeat(5000), "", "n:0", "../x"]);
			if (rng.chance(0.5) && node.output?.length) {
				const old = node.output[0];
				node.output[0] = name;
				for (const n of nodes) n.input = (n.input ?? []).map((i) => (i === old ? name : i));
				for (const o of graph.output ?? []) if (o.name === old) o.name = name;
			} else {
				node.name = name;
			}
			return `hostile name ${JSON.stringify(name.slice(0, 40))}`;
		}
		default: {
			const initializers = [...(graph.initializer ?? [])];
			const dropped = initializers.shift();
			graph.initializer = initializers;
			if (rng.chance(0.5)) graph.output = [];
			return dropped ? `initializer ${dropped.name} removed` : "graph outputs removed";
		}
	}
}

export function encodeOnnxModel(model: OnnxModelProto): Uint8Array {
	return encodeOnnx(onnxTypes.ModelProto, model);
}
