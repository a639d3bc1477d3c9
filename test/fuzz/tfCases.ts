// TensorFlow GraphDefs built valid, then broken at the NodeDef/AttrValue/TensorProto level before encoding.
import { makeTensor } from "../../extension/core/graph/tensor";
import type { AttrValue, GraphDef, NodeDef, TensorProto } from "../../extension/core/frontends/tf/proto/types";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { formatTextProto } from "../../extension/core/frontends/tf/proto/textFormat";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { poisonFloats } from "./bytes";
import type { SeedIo } from "./configInputs";
import { EXTREME_DIMS, EXTREME_FLOATS, EXTREME_INTS, HUGE_COUNTS, type Rng } from "./random";

export interface TfSeed {
	name: string;
	def: GraphDef;
	io: SeedIo;
}

const F = { T: attr.type("float32") };
const I = attr.type("int32");

function weights(rng: Rng, count: number): number[] {
	return Array.from({ length: count }, () => Math.fround(rng.float() * 2 - 1));
}

function mlp(rng: Rng): TfSeed {
	const g = new GraphBuilder();
	const x = g.placeholder("x", "float32", [1, 4]);
	const w = g.const("w", makeTensor("float32", [4, 3], weights(rng, 12)));
	const b = g.const("b", makeTensor("float32", [3], weights(rng, 3)));
	const mm = g.op("MatMul", "dense/MatMul", [x, w], { ...F, transpose_a: attr.b(false), transpose_b: attr.b(false) });
	const relu = g.op("Relu", "dense/Relu", [g.op("BiasAdd", "dense/BiasAdd", [mm, b], F)], F);
	g.op("Softmax", "probs", [relu], F);
	return { name: "mlp", def: g.def(), io: { feeds: [{ name: "x", shape: [1, 4], dtype: "float32" }], fetches: ["probs"] } };
}

/** Fill, Tile, Range and Reshape, each sized by a Const the mutators can make huge. */
function shapes(): TfSeed {
	const g = new GraphBuilder();
	const x = g.placeholder("x", "float32", [2, 3]);
	const fill = g.op("Fill", "fill", [g.constOf("fill/dims", "int32", [2, 3]), g.constOf("fill/value", "float32", [0.5], [])], { ...F, index_type: I });
	const tiled = g.op("Tile", "tile", [g.op("AddV2", "sum", [x, fill], F), g.constOf("tile/multiples", "int32", [2, 1])], { ...F, Tmultiples: I });
	const range = g.op("Range", "range", [g.constOf("range/start", "float32", [0], []), g.constOf("range/limit", "float32", [12], []), g.constOf("range/delta", "float32", [1], [])], { Tidx: attr.type("float32") });
	const grid = g.op("Reshape", "grid", [range, g.constOf("grid/shape", "int32", [4, 3])], { ...F, Tshape: I });
	g.op("Mul", "out", [tiled, grid], F);
	return { name: "shapes", def: g.def(), io: { feeds: [{ name: "x", shape: [2, 3], dtype: "float32" }], fetches: ["out"] } };
}

function conv(rng: Rng): TfSeed {
	const g = new GraphBuilder();
	const x = g.placeholder("image", "float32", [1, 5, 5, 2]);
	const filter = g.const("filter", makeTensor("float32", [3, 3, 2, 4], weights(rng, 72)));
	const c = g.op("Conv2D", "conv", [x, filter], { ...F, strides: attr.ints([1, 1, 1, 1]), dilations: attr.ints([1, 1, 1, 1]), padding: attr.s("SAME"), data_format: attr.s("NHWC") });
	const pool = g.op("MaxPool", "pool", [c], { ...F, ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 2, 2, 1]), padding: attr.s("VALID"), data_format: attr.s("NHWC") });
	g.op("Reshape", "flat", [pool, g.constOf("flat/shape", "int32", [1, -1])], { ...F, Tshape: I });
	return { name: "conv", def: g.def(), io: { feeds: [{ name: "image", shape: [1, 5, 5, 2], dtype: "float32" }], fetches: ["flat"] } };
}

/** A long chain: graph walks must not recurse once per node. */
export function chain(length: number): TfSeed {
	const g = new GraphBuilder();
	let last = g.placeholder("x", "float32", [1, 8]);
	const one = g.constOf("one", "float32", [1], []);
	const ops = ["Relu", "Identity", "Tanh"];
	for (let i = 0; i < length; i++) {
		last = i % 4 === 3 ? g.op("AddV2", `n${i}`, [last, one], F) : g.op(ops[i % 3], `n${i}`, [last], F);
	}
	return { name: `chain${length}`, def: g.def(), io: { feeds: [{ name: "x", shape: [1, 8], dtype: "float32" }], fetches: [last] } };
}

export function tfSeed(rng: Rng, maxChain: number): TfSeed {
	switch (rng.int(5)) {
		case 0: return mlp(rng);
		case 1: case 2: return shapes();
		case 3: return conv(rng);
		default: return chain(rng.pick([3, 50, 1000, maxChain].filter((n) => n <= maxChain)));
	}
}

const BAD_DTYPES = [0, -1, 7, 20, 21, 23, 24, 99, 101, 2147483647];
const BAD_INPUTS = ["ghost", "x:99", "^ghost", "", ":0", "x:-1", "x:2147483648", "^", "dense/MatMul:1"];
const OP_NAMES = ["NoSuchOp", "Switch", "Merge", "Enter", "NextIteration", "VarHandleOp", "ReadVariableOp", "PartitionedCall", "Placeholder", "Const", "While", "Exit"];

function wrongAttr(rng: Rng): AttrValue {
	return rng.pick<AttrValue>([
		{ s: new TextEncoder().encode("\u001b[31mred\r\u202e") }, { i: rng.pick(EXTREME_INTS) }, { f: rng.pick(EXTREME_FLOATS) }, { b: true },
		{ type: rng.pick(BAD_DTYPES) }, { shape: { unknown_rank: true } }, { shape: { dim: [{ size: rng.pick(EXTREME_DIMS) }] } },
		{ list: {} }, { list: { i: [rng.pick(EXTREME_INTS), 0, -1] } }, { tensor: { dtype: 1 } }, {},
	]);
}

function consts(def: GraphDef): NodeDef[] {
	return def.node.filter((n) => n.op === "Const" && n.attr.value?.tensor);
}

/** Sets one element of a Const to an extreme value of its kind (huge sizes, NaN limits, zero deltas). */
function extremeConstValue(tensor: TensorProto, rng: Rng): string {
	const content = tensor.tensor_content && tensor.tensor_content.length >= 4 ? Uint8Array.from(tensor.tensor_content) : new Uint8Array(4);
	const words = Math.floor(content.length / 4);
	const at = rng.int(words);
	const view = new DataView(content.buffer);
	if (tensor.dtype === 1) {
		const value = rng.pick([...EXTREME_FLOATS, ...HUGE_COUNTS, 0]);
		view.setFloat32(4 * at, value, true);
		tensor.tensor_content = content;
		return `float element ${at} = ${value}`;
	}
	const value = rng.pick([...HUGE_COUNTS, ...EXTREME_INTS, 0]);
	view.setInt32(4 * at, value | 0, true);
	tensor.tensor_content = content;
	return `int element ${at} = ${value | 0}`;
}

/** One structural mutation of a GraphDef in place; returns what it did, for the case's description. */
export function mutateGraphDef(def: GraphDef, rng: Rng): string {
	const nodes = def.node;
	const node = rng.pick(nodes);
	const constants = consts(def);
	// Mutations 0-4 change a constant; a graph an earlier mutation left without one gets another kind.
	let choice = rng.int(14);
	if (constants.length === 0 && choice <= 4) choice += 5;
	switch (choice) {
		case 0: {
			const c = rng.pick(constants);
			const dims = c.attr.value.tensor!.tensor_shape!.dim ?? [];
			const size = rng.pick(EXTREME_DIMS);
			if (dims.length === 0) dims.push({ size });
			else dims[rng.int(dims.length)].size = size;
			c.attr.value.tensor!.tensor_shape = { dim: dims };
			return `Const ${c.name}: a dimension = ${size}`;
		}
		case 1: {
			// A constant that repeats one value over a huge shape: the file stays tiny.
			const c = rng.pick(constants);
			const size = rng.pick(HUGE_COUNTS);
			const t = c.attr.value.tensor!;
			t.tensor_shape = { dim: [{ size }] };
			delete t.tensor_content;
			if (t.dtype === 1) t.float_val = [1.5];
			else t.int_val = [7];
			return `Const ${c.name}: one value repeated ${size} times`;
		}
		case 2: {
			const c = rng.pick(constants);
			return `Const ${c.name}: ${extremeConstValue(c.attr.value.tensor!, rng)}`;
		}
		case 3: {
			const c = rng.pick(constants.filter((n) => n.attr.value.tensor!.dtype === 1).concat(constants).slice(0, 4));
			const t = c.attr.value.tensor!;
			const value = rng.pick(EXTREME_FLOATS);
			if (t.tensor_content) t.tensor_content = poisonFloats(t.tensor_content, value, rng);
			return `Const ${c.name}: weights poisoned with ${value}`;
		}
		case 4: {
			const c = rng.pick(constants);
			const t = c.attr.value.tensor!;
			if (t.tensor_content) t.tensor_content = t.tensor_content.subarray(0, rng.int(t.tensor_content.length));
			return `Const ${c.name}: tensor_content truncated to ${t.tensor_content?.length ?? 0} bytes`;
		}
		case 5: {
			const key = rng.pick(["dtype", "T", "DstT", "Tidx", "Tshape", "index_type"].filter((k) => k in node.attr).concat("dtype"));
			const value = rng.pick(BAD_DTYPES);
			node.attr[key] = { type: value };
			if (node.attr.value?.tensor && rng.chance(0.5)) node.attr.value.tensor.dtype = value;
			return `${node.name}: attr ${key} = DataType ${value}`;
		}
		case 6: {
			const keys = Object.keys(node.attr);
			if (keys.length === 0) return `${node.name}: no attribute to drop`;
			const key = rng.pick(keys);
			delete node.attr[key];
			return `${node.name}: attr ${key} dropped`;
		}
		case 7: {
			const keys = Object.keys(node.attr).concat("strides", "padding", "shape");
			const key = rng.pick(keys);
			node.attr[key] = wrongAttr(rng);
			return `${node.name}: attr ${key} of the wrong kind`;
		}
		case 8: {
			const other = rng.pick(nodes);
			node.name = other.name;
			return `${node.name}: duplicate node name`;
		}
		case 9: {
			const input = rng.pick(BAD_INPUTS);
			if (node.input.length > 0 && rng.chance(0.7)) node.input[rng.int(node.input.length)] = input;
			else node.input.push(input);
			return `${node.name}: dangling input "${input}"`;
		}
		case 10: {
			// A cycle: an early node reads a later one (or itself).
			const at = rng.int(nodes.length);
			const later = nodes[at + rng.int(nodes.length - at)];
			const early = nodes[rng.int(at + 1)];
			if (early.input.length > 0) early.input[rng.int(early.input.length)] = later.name;
			else early.input.push(later.name);
			return `cycle: ${early.name} reads ${later.name}`;
		}
		case 11: {
			const op = rng.pick(OP_NAMES);
			node.op = op;
			return `${node.name}: op becomes ${op}`;
		}
		case 12: {
			const name = rng.pick(["\u001b[2J\u001b[31mevil", "a\rb", "rtl\u202eexe.txt", "x".repeat(10000), "", "with space", "../../etc/passwd", "n:0"]);
			node.name = name;
			return `${JSON.stringify(node.name.slice(0, 40))}: hostile node name`;
		}
		default: {
			const dims = rng.pick([[rng.pick(EXTREME_DIMS)], [-1, -1], [rng.pick(EXTREME_DIMS), 4], []]);
			const placeholder = nodes.find((n) => n.op === "Placeholder") ?? node;
			placeholder.attr.shape = attr.shape(dims);
			return `${placeholder.name}: declared shape [${dims.join(",")}]`;
		}
	}
}

/** The GraphDef's bytes, binary or (sometimes) text format. */
export function encodeGraphDef(def: GraphDef, rng: Rng): { bytes: Uint8Array; ext: string } {
	if (rng.chance(0.15)) {
		try {
			return { bytes: new TextEncoder().encode(formatTextProto(def, types.GraphDef)), ext: "pbtxt" };
		} catch {
			// A mutation the text writer cannot spell: the binary form still carries it.
		}
	}
	return { bytes: encodeMessage(types.GraphDef, def), ext: "pb" };
}
