import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExecutionError, runGraph } from "../../extension/core/interp/executor";
import { Graph, parseInputName } from "../../extension/core/graph/graph";
import { type Tensor, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { GraphBuilder, attr, out } from "../support/graphBuilder";
import { constantEnter, whileLoop } from "../support/loops";
import { runTfjs } from "../support/tfjsOracle";
import { mulberry32 } from "../support/random";


const T = attr.type("float32");
const I = attr.type("int32");

async function compareWithTfjs(g: GraphBuilder, feeds: Record<string, Tensor>, fetches: string[]): Promise<Tensor[]> {
	const def = g.def();
	const ours = runGraph(Graph.fromGraphDef(def), new Map(Object.entries(feeds)), fetches.map((f) => parseInputName(f).ref));
	const theirs = await runTfjs(def, feeds, fetches);
	ours.forEach((tensor, k) => {
		assert.deepEqual(tensor.shape, theirs[k].shape, `${fetches[k]} shape`);
		const a = numbers(tensor);
		const b = numbers(theirs[k]);
		for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * Math.max(1, Math.abs(b[i])), `${fetches[k]}[${i}]: ${a[i]} vs tfjs ${b[i]}`);
	});
	return ours;
}

describe("executor: TF1 control flow against tfjs", () => {
	it("runs a dynamic_rnn-shaped loop over TensorArrays (scatter, read, write, gather, size) like tfjs", async () => {
		const random = mulberry32(7);
		for (const steps of [1, 3, 6]) {
			const g = new GraphBuilder();
			const x = g.placeholder("x", "float32", [steps, 1, 3]);
			const h0 = g.placeholder("h0", "float32", [1, 4]);
			const w = g.const("W", makeTensor("float32", [3, 4], Array.from({ length: 12 }, () => random() - 0.5)));
			const u = g.const("U", makeTensor("float32", [4, 4], Array.from({ length: 16 }, () => random() - 0.5)));
			const size = g.constOf("T", "int32", [steps], []);
			const taAttrs = (name: string, shape: number[]) => ({ dtype: T, element_shape: attr.shape(shape), dynamic_size: attr.b(false), clear_after_read: attr.b(true), identical_element_shapes: attr.b(true), tensor_array_name: attr.s(name) });
			const input = g.op("TensorArrayV3", "input_ta", [size], taAttrs("input", [1, 3]));
			const output = g.op("TensorArrayV3", "output_ta", [size], taAttrs("output", [1, 4]));
			const range = g.op("Range", "range", [g.constOf("zero", "int32", [0], []), size, g.constOf("one", "int32", [1], [])], { Tidx: I });
			const scattered = g.op("TensorArrayScatterV3", "scatter", [input, range, x, out(input, 1)], { T });
			const [, hFinal, flowFinal] = whileLoop(g, "rnn", [
				{ init: g.constOf("i0", "int32", [0], []), dtype: "int32" },
				{ init: h0, dtype: "float32" },
				{ init: out(output, 1), dtype: "float32" },
			], ([i]) => g.op("Less", "rnn/Less", [i, constantEnter(g, "rnn", "limit", size, "int32")], { T: I }), ([i, h, flow], pivot) => {
				const xi = g.op("TensorArrayReadV3", "rnn/read", [constantEnter(g, "rnn", "in_handle", input, "resource"), i, constantEnter(g, "rnn", "in_flow", scattered, "float32")], { dtype: T });
				const wx = g.op("MatMul", "rnn/wx", [xi, constantEnter(g, "rnn", "W", w, "float32")], { T, transpose_a: attr.b(false), transpose_b: attr.b(false) });
				const uh = g.op("MatMul", "rnn/uh", [h, constantEnter(g, "rnn", "U", u, "float32")], { T, transpose_a: attr.b(false), transpose_b: attr.b(false) });
				const hNext = g.op("Tanh", "rnn/tanh", [g.op("AddV2", "rnn/add", [wx, uh], { T })], { T });
				const written = g.op("TensorArrayWriteV3", "rnn/write", [constantEnter(g, "rnn", "out_handle", output, "resource"), i, hNext, flow], { T });
				const step = g.op("Const", "rnn/step", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [1])) }, [pivot]);
				return [g.op("AddV2", "rnn/i_next", [i, step], { T: I }), hNext, written];
			});
			const count = g.op("TensorArraySizeV3", "size", [output, flowFinal]);
			const gathered = g.op("TensorArrayGatherV3", "gather", [output, g.op("Range", "range2", [g.constOf("zero2", "int32", [0], []), count, g.constOf("one2", "int32", [1], [])], { Tidx: I }), flowFinal], { dtype: T, element_shape: attr.shape([1, 4]) });
			await compareWithTfjs(g, {
				x: makeTensor("float32", [steps, 1, 3], Array.from({ length: steps * 3 }, () => random() * 2 - 1)),
				h0: makeTensor("float32", [1, 4], Array.from({ length: 4 }, () => random() * 2 - 1)),
			}, [gathered, hFinal, count]);
		}
	});

	it("runs nested loops, each inner loop entered once per outer iteration, like tfjs", async () => {
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [2]);
		const [, total] = whileLoop(g, "outer", [
			{ init: g.constOf("i0", "int32", [0], []), dtype: "int32" },
			{ init: x, dtype: "float32" },
		], ([i]) => g.op("Less", "outer/Less", [i, g.op("Const", "outer/limit", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [3])) }, ["outer/Merge_0"])], { T: I }), ([i, acc], pivot) => {
			const [, inner] = whileLoop(g, "inner", [
				{ init: g.op("Const", "outer/j0", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [0])) }, [pivot]), dtype: "int32" },
				{ init: acc, dtype: "float32" },
			], ([j]) => g.op("Less", "inner/Less", [j, constantEnter(g, "inner", "limit", g.op("AddV2", "outer/inner_limit", [i, g.op("Const", "outer/two", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [2])) }, [pivot])], { T: I }), "int32")], { T: I }), ([j, a], innerPivot) => {
				const half = g.op("Const", "inner/half", [], { dtype: T, value: attr.tensor(makeTensor("float32", [], [0.5])) }, [innerPivot]);
				const jf = g.op("Cast", "inner/jf", [j], { SrcT: I, DstT: T, Truncate: attr.b(false) });
				return [
					g.op("AddV2", "inner/j_next", [j, g.op("Const", "inner/one", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [1])) }, [innerPivot])], { T: I }),
					g.op("AddV2", "inner/a_next", [g.op("Mul", "inner/scaled", [a, half], { T }), jf], { T }),
				];
			});
			return [g.op("AddV2", "outer/i_next", [i, g.op("Const", "outer/one", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [1])) }, [pivot])], { T: I }), inner];
		});
		await compareWithTfjs(g, { x: makeTensor("float32", [2], [3.5, -1.25]) }, [total]);
	});

	it("takes one side of a cond (Switch/Merge) and kills the other, like tfjs", async () => {
		for (const flag of [0, 1]) {
			const g = new GraphBuilder();
			const x = g.placeholder("x", "float32", [3]);
			const pred = g.placeholder("pred", "bool", []);
			const sw = g.op("Switch", "cond/Switch", [x, pred], { T });
			const onFalse = g.op("AddV2", "cond/false", [sw, g.constOf("one", "float32", [1], [])], { T });
			const onTrue = g.op("Mul", "cond/true", [out(sw, 1), g.constOf("two", "float32", [2], [])], { T });
			const merged = g.op("Merge", "cond/Merge", [onFalse, onTrue], { T, N: attr.i(2) });
			const feeds = { x: makeTensor("float32", [3], [1, -2, 0.5]), pred: makeTensor("bool", [], [flag]) };
			await compareWithTfjs(g, feeds, [merged]);
			// tfjs's Merge has no second output; the branch index is checked against the predicate instead.
			const [valueIndex] = runGraph(Graph.fromGraphDef(g.def()), new Map(Object.entries(feeds)), [{ node: merged, index: 1 }]);
			assert.equal(numbers(valueIndex)[0], flag, "Merge's value_index names the branch taken");
		}
	});
});

describe("executor errors", () => {
	it("names the placeholder the fetches need but nobody fed", () => {
		const g = new GraphBuilder();
		const x = g.placeholder("input", "float32", [1]);
		g.op("Neg", "y", [x], { T });
		assert.throws(() => runGraph(Graph.fromGraphDef(g.def()), new Map(), [{ node: "y", index: 0 }]), (e: Error) => e instanceof ExecutionError && /placeholder "input"/.test(e.message));
	});

	it("names an unfrozen variable and says to freeze it", () => {
		const g = new GraphBuilder();
		g.op("VariableV2", "w", [], { dtype: T, shape: attr.shape([2]) });
		g.op("Identity", "read", ["w"], { T });
		assert.throws(() => runGraph(Graph.fromGraphDef(g.def()), new Map(), [{ node: "read", index: 0 }]), /variable.*knn freeze/);
	});

	it("names every unsupported op at once", () => {
		const g = new GraphBuilder();
		g.op("FancyOp", "a", [], {});
		g.op("OtherOp", "b", ["a"], {});
		assert.throws(() => runGraph(Graph.fromGraphDef(g.def()), new Map(), [{ node: "b", index: 0 }]), (e: Error) => /FancyOp/.test(e.message) && /OtherOp/.test(e.message));
	});

	it("reports a cycle outside while loops as a cycle, naming its nodes in data-flow order", () => {
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [2]);
		g.op("AddV2", "a", [x, "b"], { T });
		g.op("Relu", "b", ["a"], { T });
		assert.throws(() => runGraph(Graph.fromGraphDef(g.def()), new Map([["x", makeTensor("float32", [2], [1, 2])]]), [{ node: "b", index: 0 }]),
			(e: Error) => e instanceof ExecutionError && /cycle that is not a while loop: "b" -> "a" -> "b"/.test(e.message));
	});

	it("stops a loop whose condition never turns false", () => {
		const g = new GraphBuilder();
		const [done] = whileLoop(g, "forever", [{ init: g.constOf("i0", "int32", [0], []), dtype: "int32" }],
			([i]) => g.op("GreaterEqual", "forever/ge", [i, g.op("Const", "forever/zero", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [0])) }, ["forever/Merge_0"])], { T: I }),
			([i], pivot) => [g.op("AddV2", "forever/next", [i, g.op("Const", "forever/one", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [1])) }, [pivot])], { T: I })]);
		assert.throws(() => runGraph(Graph.fromGraphDef(g.def()), new Map(), [{ node: done, index: 0 }], { maxIterations: 1000 }), /loop "forever" ran more than 1000 iterations/);
	});
});
