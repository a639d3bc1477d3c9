import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { ConfigError, parseConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph } from "../../extension/core/graph/graph";
import { type LoadedModel, loadModel } from "../../extension/core/frontends";
import { makeTensor } from "../../extension/core/graph/tensor";
import { DEFAULT_MAX_NODES, buildGraphView } from "../../extension/vscode/graphInspector/graphView";
import { WEIGHTS_UNAVAILABLE, nodeDetails } from "../../extension/vscode/graphInspector/nodeDetails";
import { pickedConfigText } from "../../extension/vscode/graphInspector/pickedConfig";
import { knn, tempDir } from "../support/cli";
import { GraphBuilder, attr, out } from "../support/graphBuilder";
import { whileLoop } from "../support/loops";
import { AURORA_DIR, INDIGO_DIR, auroraMissing, indigoMissing } from "../support/shared";

function model(g: GraphBuilder, file = "test.pb"): LoadedModel {
	return { file, format: "GraphDef", graph: Graph.fromGraphDef(g.def()) };
}

const f32 = { T: attr.type("float32") };

/** x[1,4] -> MatMul(w[4,2]) -> BiasAdd(b[2]) -> Relu, with a scalar shared by two Muls. */
function denseLayer(xShape: number[] = [1, 4], hints = false): GraphBuilder {
	const g = new GraphBuilder();
	g.placeholder("x", "float32", xShape);
	g.constOf("w", "float32", [1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
	g.op("MatMul", "dense/MatMul", ["x", "w"], { ...f32, ...(hints ? { _output_shapes: { list: { shape: [{ dim: [{ size: -1 }, { size: 2 }] }] } } } : {}) });
	g.constOf("b", "float32", [0.5, -0.5]);
	g.op("BiasAdd", "dense/BiasAdd", ["dense/MatMul", "b"], f32);
	g.op("Relu", "dense/Relu", ["dense/BiasAdd"], f32);
	g.constOf("two", "float32", [2], []);
	g.op("Mul", "left", ["dense/Relu", "two"], f32);
	g.op("Mul", "right", ["dense/Relu", "two"], f32);
	g.op("AddV2", "sum", ["left", "right"], f32);
	return g;
}

describe("graph inspector: the GraphView sent to the webview", () => {
	it("folds a constant read by one node into that node and keeps a constant two nodes share", () => {
		const { view, foldedInto } = buildGraphView(model(denseLayer()));
		const names = view.nodes.map((n) => n.name);
		assert.ok(!names.includes("w") && !names.includes("b"), `single-reader constants are drawn: ${names.join(", ")}`);
		assert.ok(names.includes("two"), "a constant read by two nodes is folded away");
		assert.equal(view.nodeCount, 10);
		assert.equal(view.nodes.length, 8);
		assert.deepEqual(view.nodes.find((n) => n.name === "dense/MatMul")!.inputs, ["x", "w"], "the folded constant stays named among the inputs (the badge)");
		assert.equal(foldedInto.get("w"), "dense/MatMul");
		assert.equal(foldedInto.get("b"), "dense/BiasAdd");
	});

	it("folds Identity chains into their source and rewires their readers to it, output index included", () => {
		const g = new GraphBuilder();
		g.placeholder("x", "float32", [2]);
		g.op("Unpack", "split", ["x"], { ...f32, num: attr.i(2), axis: attr.i(0) });
		g.op("Identity", "read", [out("split", 1)], f32);
		g.op("Identity", "read_again", ["read"], f32);
		g.op("Neg", "neg", ["read_again"], f32);
		g.op("Identity", "guarded", ["x"], f32, ["neg"]);
		g.op("Identity", "result", ["neg"], f32);
		const { view, foldedInto } = buildGraphView(model(g));
		const byName = new Map(view.nodes.map((n) => [n.name, n]));
		assert.deepEqual(byName.get("neg")!.inputs, ["split:1"]);
		assert.equal(foldedInto.get("read"), "split");
		assert.equal(foldedInto.get("read_again"), "split");
		assert.ok(byName.has("guarded"), "an Identity carrying a control dependency is folded");
		assert.ok(byName.has("result"), "an Identity that is an output of the graph is folded");
	});

	it("colours ops by compiler support and counts shape arithmetic the compiler folds as supported", () => {
		const g = new GraphBuilder();
		g.placeholder("x", "float32", [-1, 3]);
		g.op("Shape", "shape", ["x"], { T: attr.type("float32"), out_type: attr.type("int32") });
		g.constOf("zero", "int32", [0], []);
		g.constOf("one", "int32", [1], []);
		g.op("Range", "range", ["zero", "shape", "one"], { Tidx: attr.type("int32") });
		g.op("Sum", "sum", ["x", "range"], { ...f32, Tidx: attr.type("int32"), keep_dims: attr.b(false) });
		g.op("Erfinv", "odd", ["sum"], f32);
		g.op("Range", "dynamic_range", ["zero", "sum", "one"], { Tidx: attr.type("float32") });
		const { view } = buildGraphView(model(g));
		const supported = Object.fromEntries(view.nodes.map((n) => [n.name, n.supported]));
		assert.equal(supported.sum, true);
		assert.equal(supported.odd, false, "an op the compiler lacks is marked unsupported");
		assert.equal(supported.range, true, "Range over a Shape is folded to a constant by the compiler");
		assert.equal(supported.dynamic_range, false, "Range over computed values is not foldable");
	});

	it("infers shapes and dtypes when every placeholder has a static shape", () => {
		const { view } = buildGraphView(model(denseLayer([1, 4])));
		const byName = new Map(view.nodes.map((n) => [n.name, n]));
		assert.deepEqual(byName.get("dense/MatMul")!.shapes, ["[1,2]"]);
		assert.equal(byName.get("sum")!.dtype, "float32");
		assert.deepEqual(byName.get("x")!.shapes, ["[1,4]"]);
	});

	it("falls back to _output_shapes hints when a placeholder's shape is not static", () => {
		const { view } = buildGraphView(model(denseLayer([-1, 4], true)));
		const byName = new Map(view.nodes.map((n) => [n.name, n]));
		assert.deepEqual(byName.get("dense/MatMul")!.shapes, ["[?,2]"]);
		assert.deepEqual(byName.get("x")!.shapes, ["[?,4]"]);
		assert.deepEqual(byName.get("dense/Relu")!.shapes, [], "no hint, no inference: the shape is unknown");
	});

	it("puts the nodes of a TF1 while loop in its frame and the Exit back outside", () => {
		const g = new GraphBuilder();
		g.constOf("start", "int32", [0], []);
		g.constOf("limit", "int32", [5], []);
		const [exit] = whileLoop(g, "loop", [{ init: "start", dtype: "int32" }],
			([i]) => g.op("Less", "loop/Less", [i, g.op("Enter", "loop/limit", ["limit"], { T: attr.type("int32"), frame_name: attr.s("loop"), is_constant: attr.b(true) })], { T: attr.type("int32") }),
			([i], pivot) => [g.op("AddV2", "loop/add", [i, g.const("loop/one", makeTensor("int32", [], [1]))], { T: attr.type("int32") }, [pivot])]);
		g.op("Identity", "done", [exit], { T: attr.type("int32") });
		const { view } = buildGraphView(model(g));
		const frame = Object.fromEntries(view.nodes.map((n) => [n.name, n.frame]));
		assert.equal(frame["loop/Merge_0"], "loop");
		assert.equal(frame["loop/add"], "loop");
		assert.equal(frame["loop/Switch_0"], "loop");
		assert.equal(frame["loop/Exit_0"], "");
		assert.equal(frame.done, "");
	});

	it("cuts a graph over the limit to its inference subgraph and says so", () => {
		const g = denseLayer();
		for (let i = 0; i < 30; i++) g.op("QueueSizeV2", `gradients/queue_${i}`, []);
		g.op("Mul", "gradients/sum_grad", ["sum", "two"], f32);
		const { view } = buildGraphView(model(g), { maxNodes: 20 });
		assert.equal(view.nodeCount, 41);
		assert.ok(view.truncated, "a graph over the limit is not marked truncated");
		assert.equal(view.truncated.shown, 10);
		assert.match(view.truncated.reason, /inference subgraph/);
		assert.ok(!view.nodes.some((n) => n.name.startsWith("gradients/")), "training nodes are shown");
		assert.deepEqual(view.candidateOutputs, ["sum"]);
		assert.deepEqual(view.placeholders, ["x"]);
	});

	it("keeps the nodes nearest the outputs when even the inference subgraph is over the limit", () => {
		const g = new GraphBuilder();
		g.placeholder("x", "float32", [1]);
		let last = "x";
		for (let i = 0; i < 50; i++) last = g.op("Neg", `neg_${i}`, [last], f32);
		const { view } = buildGraphView(model(g), { maxNodes: 10 });
		assert.equal(view.nodes.length, 10);
		assert.equal(view.truncated?.shown, 10);
		assert.ok(view.nodes.some((n) => n.name === "neg_49"), "the output is not among the nodes kept");
		assert.match(view.truncated!.reason, /nearest to the 1 candidate outputs/);
	});
});

describe("graph inspector: node details", () => {
	it("renders attributes as text and summarises tensors", () => {
		const g = denseLayer();
		const details = nodeDetails(model(g), "w", { weights: false });
		const attrs = Object.fromEntries(details.attrs.map((a) => [a.name, a.value]));
		assert.equal(attrs.dtype, "DT_FLOAT");
		assert.equal(attrs.value, "DT_FLOAT [4,2] = [1, 2, 3, 4, 5, 6, 7, 8]");
		assert.equal(details.weights, undefined, "weights were sent without being asked for");
		const big = new GraphBuilder();
		big.constOf("table", "float32", Array.from({ length: 64 }, (_, i) => i), [8, 8]);
		assert.equal(nodeDetails(model(big), "table", { weights: false }).attrs.find((a) => a.name === "value")!.value, "DT_FLOAT [8,8], 64 values");
	});

	it("gives weight statistics of a constant when asked", () => {
		const details = nodeDetails(model(denseLayer()), "w", { weights: true });
		// Values 1..8: mean 4.5, population variance (8^2 - 1) / 12 = 5.25.
		assert.deepEqual(details.weights, { shape: "[4,2]", count: 8, min: 1, max: 8, mean: 4.5, std: Math.sqrt(5.25) });
	});

	it("says why a variable has no statistics when no checkpoint sits beside the model", () => {
		const g = new GraphBuilder();
		g.op("VariableV2", "v", [], { dtype: attr.type("float32"), shape: attr.shape([2]) });
		const details = nodeDetails(model(g, "/nowhere/model.meta"), "v", { weights: true });
		assert.equal(details.weights, undefined);
		assert.match(details.attrs.find((a) => a.name === WEIGHTS_UNAVAILABLE)!.value, /no checkpoint sits beside \/nowhere\/model\.meta/);
	});
});

describe("graph inspector: feeds and fetches to graph.config.pbtxt", () => {
	it("writes the picks in order with the model named on the first line", () => {
		const text = pickedConfigText(model(denseLayer([-1, 4])), [{ name: "x", shape: [1, 4] }], ["sum", "dense/Relu"], "dense.pb");
		assert.equal(text.split("\n")[0], "# model: dense.pb");
		const parsed = parseConfig(text, "graph.config.pbtxt");
		assert.deepEqual(parsed.config.feed.map((f) => f.id?.node_name), ["x"]);
		assert.deepEqual(parsed.config.feed[0].shape?.dim?.map((d) => d.size), [1, 4]);
		assert.deepEqual(parsed.config.fetch.map((f) => f.id?.node_name), ["sum", "dense/Relu"]);
	});

	it("refuses a feed without a static shape, naming the node", () => {
		assert.throws(() => pickedConfigText(model(denseLayer([-1, 4])), [{ name: "x" }], ["sum"], "dense.pb"),
			(error: Error) => error instanceof ConfigError && /feed "x" has no static shape \[\?,4\]/.test(error.message));
	});

	it("refuses picks without a fetch, and names that are not in the graph", () => {
		assert.throws(() => pickedConfigText(model(denseLayer()), [{ name: "x" }], [], "dense.pb"), /at least one fetch/);
		assert.throws(() => pickedConfigText(model(denseLayer()), [], ["nope"], "dense.pb"), /"nope" names no node of test\.pb/);
		assert.throws(() => pickedConfigText(model(denseLayer()), [{ name: "x", shape: [1.5] }], ["sum"], "dense.pb"), /whole numbers/);
	});

	it("asks for the checkpoint when the fetches read variables", () => {
		const g = new GraphBuilder();
		g.placeholder("x", "float32", [1, 2]);
		g.op("VariableV2", "v", [], { dtype: attr.type("float32"), shape: attr.shape([2, 2]) });
		g.op("Identity", "v/read", ["v"], f32);
		g.op("MatMul", "y", ["x", "v/read"], f32);
		assert.throws(() => pickedConfigText(model(g, "/nowhere/model.meta"), [{ name: "x" }], ["y"], "model.meta"),
			/the fetches read variable "v", and no checkpoint sits beside \/nowhere\/model\.meta/);
	});
});

describe("graph inspector on Aurora's text SavedModel (a whole PPO training graph with a serving_default signature)", { skip: auroraMissing }, () => {
	it("opens on what serving_default's output needs: the policy network, not the optimizer, saver or value network", () => {
		const { view } = buildGraphView(loadModel(AURORA_DIR));
		const names = view.nodes.map((n) => n.name);
		assert.match(view.truncated?.reason ?? "", /what the signatures' outputs need: \d+ of the graph's 1,175 nodes/);
		for (const name of ["input/Ob", "model/pi_fc0/MatMul", "model/Tanh", "model/pi/add"]) assert.ok(names.includes(name), `${name} is drawn`);
		assert.deepEqual(names.filter((n) => /Adam|save|loss|model\/vf|oldpi/.test(n)), [], "no training, saving or value-network node is drawn");
		assert.ok(view.nodes.every((n) => n.supported), "every drawn node compiles");
	});
});

describe("graph inspector on Indigo's model.meta (22,507 nodes, mostly training queues)", { skip: indigoMissing }, () => {
	let indigo: LoadedModel;
	let built: ReturnType<typeof buildGraphView>;

	before(() => {
		indigo = loadModel(path.join(INDIGO_DIR, "model.meta"));
		built = buildGraphView(indigo);
	});

	it("sends the inference subgraph, states what it shows, and keeps the real node count", () => {
		const { view } = built;
		assert.equal(view.nodeCount, 22507);
		assert.ok(view.truncated, "the 22,507-node graph was sent whole");
		assert.ok(view.truncated.shown <= DEFAULT_MAX_NODES && view.truncated.shown < 1000, `shows ${view.truncated.shown} nodes`);
		assert.match(view.truncated.reason, /of 22,507 in the graph/);
		const names = new Set(view.nodes.map((n) => n.name));
		for (const name of ["global/Placeholder", "global/Placeholder_1", "global/Placeholder_2", "global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"]) {
			assert.ok(names.has(name), `${name} is not drawn`);
		}
		assert.ok(!view.nodes.some((n) => /^Queue|^Apply|^Save|^Restore/.test(n.op)), "training, queue or saving nodes are drawn");
		assert.ok(view.nodes.length < view.truncated.shown, "nothing was folded");
	});

	it("draws no constant that only one node reads, and every node it draws compiles", () => {
		const { view } = built;
		const readers = new Map<string, number>();
		for (const node of view.nodes) for (const input of new Set([...node.inputs.map((i) => i.replace(/:\d+$/, "")), ...node.controlInputs])) readers.set(input, (readers.get(input) ?? 0) + 1);
		const lonely = view.nodes.filter((n) => n.op === "Const" && readers.get(n.name) === 1);
		assert.deepEqual(lonely.map((n) => n.name), []);
		// Indigo compiles to a kernel module (see the compile tests), so nothing it needs may be marked unsupported.
		assert.deepEqual(view.nodes.filter((n) => !n.supported).map((n) => `${n.op} ${n.name}`), []);
	});

	it("knows the LSTM's shapes from the graph's hints and puts its loop body in the while frame", () => {
		const byName = new Map(built.view.nodes.map((n) => [n.name, n]));
		assert.deepEqual(byName.get("global/Placeholder")!.shapes, ["[?,?,9]"]);
		assert.deepEqual(byName.get("global/rnn/while/Exit_2")!.shapes, ["[?,32]"]);
		const matmul = built.view.nodes.find((n) => n.op === "MatMul" && n.name.startsWith("global/rnn/while/"))!;
		assert.notEqual(matmul.frame, "");
		assert.equal(byName.get("global/Softmax")!.frame, "");
	});

	it("reads a variable's weight statistics from the checkpoint beside model.meta", () => {
		const details = nodeDetails(indigo, "global/fully_connected/weights", { weights: true });
		// The README documents the layer as 32 -> 5.
		assert.equal(details.weights?.shape, "[32,5]");
		assert.equal(details.weights?.count, 160);
		assert.ok(details.weights!.min < details.weights!.mean && details.weights!.mean < details.weights!.max);
	});

	it("writes a config for the published feeds and fetches that knn config --check accepts", () => {
		const text = pickedConfigText(indigo,
			[{ name: "global/Placeholder", shape: [1, 1, 9] }, { name: "global/Placeholder_1", shape: [1, 32] }, { name: "global/Placeholder_2", shape: [1, 32] }],
			["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"], "model.meta");
		const file = path.join(tempDir("graph-view"), "graph.config.pbtxt");
		fs.writeFileSync(file, text);
		const check = knn("config", path.join(INDIGO_DIR, "model.meta"), "--check", file);
		assert.equal(check.status, 0, check.stdout + check.stderr);
		assert.match(text, /# fetch global\/Softmax: DT_FLOAT \[1,5\]/);
	});

	it("refuses Indigo's input without a shape, naming it and its declared shape", () => {
		assert.throws(() => pickedConfigText(indigo, [{ name: "global/Placeholder" }], ["global/Softmax"], "model.meta"),
			/feed "global\/Placeholder" has no static shape \[\?,\?,9\]/);
	});
});
