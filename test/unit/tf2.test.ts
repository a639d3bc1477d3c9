import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadModel, loadModelBytes } from "../../extension/core/frontends";
import { FreezeError } from "../../extension/core/frontends/tf/freeze";
import { decodeGraphDef, encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import type { GraphDef, NodeDef } from "../../extension/core/frontends/tf/proto/types";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import type { Graph } from "../../extension/core/graph/graph";
import { type Tensor, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { inspectModel } from "../../extension/core/model/inspect";
import { loadFrozen } from "../../extension/core/model/prepare";
import { writeCheckpoint } from "../support/checkpointWriter";
import { knn, tempDir } from "../support/cli";
import { GraphBuilder, attr, out } from "../support/graphBuilder";
import { buildHost, runHost } from "../support/hostBuild";
import { constantEnter, whileLoop } from "../support/loops";
import { mulberry32 } from "../support/random";
import { runTfjs } from "../support/tfjsOracle";
import { type DenseLayer, fnode, functionDef, weights, writeKerasDenseSavedModel } from "../support/tf2SavedModel";

const F = attr.type("float32");
const I = attr.type("int32");
const RESOURCE = 20;
const RESOURCE_OPS = /^(VarHandleOp|ReadVariableOp|ResourceGather|AssignVariableOp|StatefulPartitionedCall|PartitionedCall|While|StatelessWhile|If|StatelessIf)$/;

function mlpLayers(seed: number): DenseLayer[] {
	const random = mulberry32(seed);
	return [
		{ kernel: weights(random, [3, 5]), bias: weights(random, [5]), activation: "tanh" },
		{ kernel: weights(random, [5, 2]), bias: weights(random, [2]), activation: "linear" },
	];
}

/** y = tanh(x W0 + b0) W1 + b1 in float64, from the weights. */
function mlpReference(layers: DenseLayer[], x: number[][]): number[][] {
	return x.map((row) => layers.reduce((v, layer) => {
		const [rows, cols] = layer.kernel.shape;
		const k = numbers(layer.kernel);
		const b = numbers(layer.bias);
		const y = Array.from({ length: cols }, (_, j) => {
			let sum = b[j];
			for (let i = 0; i < rows; i++) sum += v[i] * k[i * cols + j];
			return layer.activation === "tanh" ? Math.tanh(sum) : sum;
		});
		return y;
	}, row));
}

function assertClose(actual: Tensor, expected: number[], tolerance: number, what: string): number {
	const got = numbers(actual);
	assert.equal(got.length, expected.length, `${what}: size`);
	let worst = 0;
	expected.forEach((want, i) => {
		worst = Math.max(worst, Math.abs(got[i] - want));
		assert.ok(Math.abs(got[i] - want) <= tolerance, `${what}[${i}]: got ${got[i]}, expected ${want}`);
	});
	return worst;
}

const BATCH = [[0.5, -1.25, 2], [-0.3, 0.8, 0.1], [1.5, 0, -2.2], [0, 0, 0]];

describe("TF2 SavedModels: function calls inlined, resource variables frozen from the object-graph checkpoint", () => {
	it("a Keras Dense(tanh)-Dense SavedModel loads as its real ops: no StatefulPartitionedCall is left and nothing is unsupported but the saver's restore", () => {
		const saved = writeKerasDenseSavedModel(tempDir("tf2-mlp"), 3, mlpLayers(1));
		const report = inspectModel(loadModel(saved.dir));
		const ops = new Map(report.ops.map((o) => [o.op, o.count]));
		assert.equal(ops.get("StatefulPartitionedCall"), undefined);
		assert.equal(ops.get("MatMul"), 2);
		assert.equal(ops.get("Tanh"), 1);
		// Only the restore function's ops, which no inference fetch reaches, may be beyond the interpreter.
		assert.deepEqual(report.unsupportedOps.filter((o) => !/^(RestoreV2|AssignVariableOp)$/.test(o.op)), []);
	});

	it("freezes serving_default's output to a plain graph and runs it within 1e-6 of the float64 closed form", (t) => {
		const layers = mlpLayers(2);
		const saved = writeKerasDenseSavedModel(tempDir("tf2-mlp"), 3, layers);
		const start = performance.now();
		const { graph, freeze } = loadFrozen(saved.dir, [saved.output]);
		const ms = performance.now() - start;
		t.diagnostic(`load + inline + freeze of the Dense SavedModel: ${ms.toFixed(1)} ms, ${graph.nodes.length} nodes`);
		assert.deepEqual(freeze?.frozen.map((f) => f.key).sort(), [
			"layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE", "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
			"layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE", "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE",
		]);
		assert.deepEqual(graph.nodes.filter((n) => RESOURCE_OPS.test(n.op)).map((n) => n.name), []);
		assert.equal(graph.toGraphDef().library, undefined);
		const x = makeTensor("float32", [BATCH.length, 3], BATCH.flat());
		const [y] = runGraph(graph, new Map([[saved.input, x]]), [{ node: saved.output, index: 0 }]);
		assertClose(y, mlpReference(layers, BATCH).flat(), 1e-6, "interpreter");
	});

	it("finds each variable's checkpoint key through the SavedObjectGraph's bound_inputs when handle names say nothing", () => {
		const layers = mlpLayers(3);
		const saved = writeKerasDenseSavedModel(tempDir("tf2-opaque"), 3, layers, { opaqueVariableNames: true });
		const { graph, freeze } = loadFrozen(saved.dir, [saved.output]);
		assert.deepEqual(freeze?.frozen.map((f) => `${f.node}=${f.key}`).sort(), [
			"Variable_0=layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", "Variable_1=layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE",
			"Variable_2=layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE", "Variable_3=layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE",
		]);
		const x = makeTensor("float32", [BATCH.length, 3], BATCH.flat());
		const [y] = runGraph(graph, new Map([[saved.input, x]]), [{ node: saved.output, index: 0 }]);
		assertClose(y, mlpReference(layers, BATCH).flat(), 1e-6, "interpreter");
	});

	it("the compiled C of the frozen SavedModel, built with gcc, is within 1e-6 of the float64 closed form", () => {
		const layers = mlpLayers(4);
		const dir = tempDir("tf2-mlp-c");
		const saved = writeKerasDenseSavedModel(path.join(dir, "model"), 3, layers);
		const { graph } = loadFrozen(saved.dir, [saved.output]);
		const { config } = buildConfig(graph, [{ ref: { node: saved.input, index: 0 }, shape: [BATCH.length, 3] }], [{ ref: { node: saved.output, index: 0 } }]);
		const model = compileModel(graph, config, "tf2_mlp", "TF2 SavedModel");
		const binary = buildHost(model, dir);
		const [[y]] = runHost(binary, model, [makeTensor("float32", [BATCH.length, 3], BATCH.flat())], 1);
		assertClose(y, mlpReference(layers, BATCH).flat(), 1e-6, "compiled");
	});

	it("knn freeze writes a plain frozen GraphDef: no library, no calls, no resource ops", () => {
		const dir = tempDir("tf2-cli");
		const saved = writeKerasDenseSavedModel(path.join(dir, "model"), 3, mlpLayers(5));
		const frozenFile = path.join(dir, "frozen.pb");
		const result = knn("freeze", saved.dir, "--checkpoint", path.join(saved.dir, "variables", "variables"), "--fetch", saved.output, "--out", frozenFile);
		assert.equal(result.status, 0, result.stderr);
		const def = decodeGraphDef(fs.readFileSync(frozenFile));
		assert.equal(def.library?.function?.length ?? 0, 0);
		assert.deepEqual(def.node.filter((n) => RESOURCE_OPS.test(n.op)).map((n) => n.name), []);
	});

	it("a library missing a called function: freezing throws FreezeError naming the function and the call, and knn freeze exits non-zero", () => {
		const dir = tempDir("tf2-missing");
		const saved = writeKerasDenseSavedModel(path.join(dir, "model"), 3, mlpLayers(6), { dropFunction: "wrapped_model" });
		// The model still loads and inspects: the call stays, named as what cannot run.
		assert.ok(inspectModel(loadModel(saved.dir)).unsupportedOps.some((o) => o.op === "StatefulPartitionedCall"));
		assert.throws(() => loadFrozen(saved.dir, [saved.output]), (e: Error) =>
			e instanceof FreezeError && e.message.includes(`"${saved.wrappedModel}"`) && e.message.includes('"StatefulPartitionedCall/StatefulPartitionedCall"'));
		const frozenFile = path.join(dir, "frozen.pb");
		const result = knn("freeze", saved.dir, "--checkpoint", path.join(saved.dir, "variables", "variables"), "--fetch", saved.output, "--out", frozenFile);
		assert.notEqual(result.status, 0);
		assert.match(result.stderr, new RegExp(saved.wrappedModel));
		assert.equal(fs.existsSync(frozenFile), false);
	});
});

// A small RNN: h <- tanh(x[t] W + h U + b) for t < T, with W a resource variable read inside the loop body.
const STEPS = 5;
const N_IN = 3;
const N_H = 4;

function rnnWeights(): { x: Tensor; w: Tensor; u: Tensor; b: Tensor } {
	const random = mulberry32(11);
	return { x: weights(random, [STEPS, 1, N_IN]), w: weights(random, [N_IN, N_H]), u: weights(random, [N_H, N_H], 0.5), b: weights(random, [N_H], 0.2) };
}

/** The same loop as tf.while_loop in TF2 writes it: StatelessWhile over cond and body functions. */
function functionalRnn(u: Tensor, b: Tensor): GraphDef {
	const types = ["int32", "float32", "float32", "resource", "float32", "float32"] as const;
	const args = ["i", "h", "x", "w", "u", "b"].map((name, k) => [name, types[k]] as [string, typeof types[number]]);
	const cond = functionDef("while_cond_42", args, [["identity", "bool"]], [
		fnode("Less/y", "Const", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [STEPS])) }),
		fnode("Less", "Less", ["i", "Less/y:output:0"], { T: I }),
		fnode("Identity", "Identity", ["Less:z:0"], { T: attr.type("bool") }),
	], { identity: "Identity:output:0" });
	const body = functionDef("while_body_43", args, args.map(([, type], k) => [k === 0 ? "identity" : `identity_${k}`, type]), [
		fnode("add/y", "Const", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [1])) }),
		fnode("add", "AddV2", ["i", "add/y:output:0"], { T: I }),
		fnode("GatherV2/axis", "Const", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [0])) }),
		fnode("GatherV2", "GatherV2", ["x", "i", "GatherV2/axis:output:0"], { Tparams: F, Tindices: I, Taxis: I, batch_dims: attr.i(0) }),
		fnode("MatMul/ReadVariableOp", "ReadVariableOp", ["w"], { dtype: F }),
		fnode("MatMul", "MatMul", ["GatherV2:output:0", "MatMul/ReadVariableOp:value:0"], { T: F, transpose_a: attr.b(false), transpose_b: attr.b(false) }),
		fnode("MatMul_1", "MatMul", ["h", "u"], { T: F, transpose_a: attr.b(false), transpose_b: attr.b(false) }),
		fnode("add_1", "AddV2", ["MatMul:product:0", "MatMul_1:product:0"], { T: F }),
		fnode("BiasAdd", "BiasAdd", ["add_1:z:0", "b"], { T: F }),
		fnode("Tanh", "Tanh", ["BiasAdd:output:0"], { T: F }),
		fnode("Identity", "Identity", ["add:z:0"], { T: I }),
		fnode("Identity_1", "Identity", ["Tanh:y:0"], { T: F }),
		fnode("Identity_2", "Identity", ["x"], { T: F }),
		fnode("Identity_3", "Identity", ["w"], { T: { type: RESOURCE } }),
		fnode("Identity_4", "Identity", ["u"], { T: F }),
		fnode("Identity_5", "Identity", ["b"], { T: F }),
	], Object.fromEntries(args.map((_, k) => [k === 0 ? "identity" : `identity_${k}`, `${k === 0 ? "Identity" : `Identity_${k}`}:output:0`])));
	const g = new GraphBuilder();
	g.placeholder("x", "float32", [STEPS, 1, N_IN]);
	g.op("VarHandleOp", "rnn/w", [], { dtype: F, shape: attr.shape([N_IN, N_H]), shared_name: attr.s("rnn/w"), container: attr.s("") });
	g.constOf("i0", "int32", [0], []);
	g.constOf("h0", "float32", new Array(N_H).fill(0), [1, N_H]);
	g.const("u", u);
	g.const("b", b);
	const whileNode: NodeDef = {
		name: "rnn/while", op: "StatelessWhile", input: ["i0", "h0", "x", "rnn/w", "u", "b"],
		attr: {
			T: { list: { type: [3, 1, 1, RESOURCE, 1, 1] } }, cond: { func: { name: "while_cond_42" } }, body: { func: { name: "while_body_43" } },
			parallel_iterations: attr.i(10), _num_original_outputs: attr.i(6),
		},
	};
	const def = g.def();
	def.node.push(whileNode, { name: "h", op: "Identity", input: ["rnn/while:1"], attr: { T: F } });
	return { ...def, library: { function: [cond, body] } };
}

function rnnReference({ x, w, u, b }: ReturnType<typeof rnnWeights>): number[] {
	const [xs, ws, us, bs] = [numbers(x), numbers(w), numbers(u), numbers(b)];
	let h = new Array<number>(N_H).fill(0);
	for (let t = 0; t < STEPS; t++) {
		h = h.map((_, j) => {
			let sum = bs[j];
			for (let i = 0; i < N_IN; i++) sum += xs[t * N_IN + i] * ws[i * N_H + j];
			for (let k = 0; k < N_H; k++) sum += h[k] * us[k * N_H + j];
			return Math.tanh(sum);
		});
	}
	return h;
}

/** The same RNN as TF1's tf.while_loop writes it, for tfjs, which has no PartitionedCall. */
function tf1Rnn({ w, u, b }: ReturnType<typeof rnnWeights>): GraphDef {
	const g = new GraphBuilder();
	g.placeholder("x", "float32", [STEPS, 1, N_IN]);
	g.const("w", w);
	g.const("u", u);
	g.const("b", b);
	g.constOf("i0", "int32", [0], []);
	g.constOf("h0", "float32", new Array(N_H).fill(0), [1, N_H]);
	const xs = constantEnter(g, "rnn", "x_enter", "x", "float32");
	const ws = constantEnter(g, "rnn", "w_enter", "w", "float32");
	const us = constantEnter(g, "rnn", "u_enter", "u", "float32");
	const bs = constantEnter(g, "rnn", "b_enter", "b", "float32");
	const NT = { T: F, transpose_a: attr.b(false), transpose_b: attr.b(false) };
	const [, h] = whileLoop(g, "rnn", [{ init: "i0", dtype: "int32" }, { init: "h0", dtype: "float32" }], (current) => {
		const limit = g.op("Const", "rnn/limit", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [STEPS])) }, [current[0]]);
		return g.op("Less", "rnn/Less", [current[0], limit], { T: I });
	}, ([i, hPrev], pivot) => {
		const one = g.op("Const", "rnn/one", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [1])) }, [pivot]);
		const axis = g.op("Const", "rnn/axis", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [0])) }, [pivot]);
		const xt = g.op("GatherV2", "rnn/xt", [xs, i, axis], { Tparams: F, Tindices: I, Taxis: I, batch_dims: attr.i(0) });
		const sum = g.op("AddV2", "rnn/sum", [g.op("MatMul", "rnn/xw", [xt, ws], NT), g.op("MatMul", "rnn/hu", [hPrev, us], NT)], { T: F });
		const next = g.op("Tanh", "rnn/tanh", [g.op("BiasAdd", "rnn/bias", [sum, bs], { T: F })], { T: F });
		return [g.op("AddV2", "rnn/next_i", [i, one], { T: I }), next];
	});
	g.op("Identity", "h", [h], { T: F });
	return g.def();
}

function loadDef(def: GraphDef, file: string): Graph {
	return loadModelBytes(encodeMessage(types.GraphDef, def), file).graph;
}

describe("TF2 functional control flow lowered to TF1 dataflow", () => {
	it("a StatelessWhile RNN over cond/body functions, with a resource variable read in the body, matches tfjs on the TF1 loop and the float64 recurrence, interpreted and compiled", async (t) => {
		const values = rnnWeights();
		const dir = tempDir("tf2-while");
		const file = path.join(dir, "rnn.pb");
		fs.writeFileSync(file, encodeMessage(types.GraphDef, functionalRnn(values.u, values.b)));
		writeCheckpoint(path.join(dir, "rnn"), [{ key: "rnn/w", value: values.w }], { compression: "snappy" });
		const loaded = loadModel(file);
		assert.deepEqual(loaded.graph.nodes.filter((n) => /While|^while_/.test(n.op)).map((n) => n.name), []);
		assert.ok(loaded.graph.nodes.some((n) => n.op === "LoopCond"));
		const start = performance.now();
		const { graph } = loadFrozen(file, ["h", "rnn/while"], path.join(dir, "rnn"));
		t.diagnostic(`load + inline + lower + freeze of the While RNN: ${(performance.now() - start).toFixed(1)} ms, ${graph.nodes.length} nodes`);
		const feeds = new Map([["x", values.x]]);
		const [h, viaCaller] = runGraph(graph, feeds, [{ node: "h", index: 0 }, { node: "rnn/while", index: 1 }]);
		const [tfjs] = await runTfjs(tf1Rnn(values), { x: values.x }, ["h"]);
		assertClose(h, Array.from(numbers(tfjs)), 1e-6, "interpreter vs tfjs");
		assertClose(h, rnnReference(values), 1e-6, "interpreter vs float64");
		assert.deepEqual(numbers(viaCaller), numbers(h), "rnn/while:1 still names the loop's second output");
		const { config } = buildConfig(graph, [{ ref: { node: "x", index: 0 }, shape: [STEPS, 1, N_IN] }], [{ ref: { node: "h", index: 0 } }]);
		const model = compileModel(graph, config, "tf2_rnn", "TF2 While");
		const [[compiled]] = runHost(buildHost(model, dir), model, [values.x], 1);
		assertClose(compiled, rnnReference(values), 1e-6, "compiled vs float64");
	});

	it("a StatelessIf takes the then branch when its predicate holds and the else branch otherwise, as tfjs runs the TF1 Switch/Merge form, interpreted and compiled", async () => {
		const build = (functional: boolean): GraphDef => {
			const g = new GraphBuilder();
			g.placeholder("x", "float32", [3]);
			g.constOf("axis", "int32", [0]);
			g.constOf("zero", "float32", [0], []);
			g.op("Sum", "sum", ["x", "axis"], { T: F, Tidx: I, keep_dims: attr.b(false) });
			g.op("Greater", "pred", ["sum", "zero"], { T: F });
			if (functional) {
				g.op("StatelessIf", "cond", ["pred", "x"], {
					Tcond: attr.type("bool"), Tin: attr.types(["float32"]), Tout: attr.types(["float32"]),
					then_branch: { func: { name: "cond_true_7" } }, else_branch: { func: { name: "cond_false_8" } },
				});
				g.op("Identity", "y", ["cond"], { T: F });
				const thenFn = functionDef("cond_true_7", [["x", "float32"]], [["identity", "float32"]], [
					fnode("c", "Const", [], { dtype: F, value: attr.tensor(makeTensor("float32", [], [2])) }),
					fnode("mul", "Mul", ["x", "c:output:0"], { T: F }),
					fnode("Identity", "Identity", ["mul:z:0"], { T: F }),
				], { identity: "Identity:output:0" });
				const elseFn = functionDef("cond_false_8", [["x", "float32"]], [["identity", "float32"]], [
					fnode("c", "Const", [], { dtype: F, value: attr.tensor(makeTensor("float32", [], [3])) }),
					fnode("sub", "Sub", ["x", "c:output:0"], { T: F }),
					fnode("neg", "Neg", ["sub:z:0"], { T: F }),
					fnode("Identity", "Identity", ["neg:y:0"], { T: F }),
				], { identity: "Identity:output:0" });
				return { ...g.def(), library: { function: [thenFn, elseFn] } };
			}
			g.op("Switch", "pred_switch", ["pred", "pred"], { T: attr.type("bool") });
			g.op("Identity", "pivot_t", [out("pred_switch", 1)], { T: attr.type("bool") });
			g.op("Identity", "pivot_f", ["pred_switch"], { T: attr.type("bool") });
			g.op("Switch", "x_switch", ["x", "pred"], { T: F });
			const two = g.op("Const", "two", [], { dtype: F, value: attr.tensor(makeTensor("float32", [], [2])) }, ["pivot_t"]);
			const three = g.op("Const", "three", [], { dtype: F, value: attr.tensor(makeTensor("float32", [], [3])) }, ["pivot_f"]);
			const yes = g.op("Mul", "then", [out("x_switch", 1), two], { T: F });
			const no = g.op("Neg", "else", [g.op("Sub", "sub", ["x_switch", three], { T: F })], { T: F });
			g.op("Merge", "merge", [yes, no], { T: F, N: attr.i(2) });
			g.op("Identity", "y", ["merge"], { T: F });
			return g.def();
		};
		const graph = loadDef(build(true), "if.pb");
		const { config } = buildConfig(graph, [{ ref: { node: "x", index: 0 } }], [{ ref: { node: "y", index: 0 } }]);
		const model = compileModel(graph, config, "tf2_if", "TF2 If");
		const host = buildHost(model, tempDir("tf2-if"));
		for (const x of [[1, 2, -0.5], [-1, 0.25, -3]]) {
			const input = makeTensor("float32", [3], x);
			const [y] = runGraph(graph, new Map([["x", input]]), [{ node: "y", index: 0 }]);
			const [tfjs] = await runTfjs(build(false), { x: input }, ["y"]);
			const expected = x.reduce((a, v) => a + v, 0) > 0 ? x.map((v) => 2 * v) : x.map((v) => -(v - 3));
			assertClose(y, expected, 1e-6, `x=${x}`);
			assertClose(tfjs, expected, 1e-6, `tfjs x=${x}`);
			const [[compiled]] = runHost(host, model, [input], 1);
			assertClose(compiled, expected, 1e-6, `compiled x=${x}`);
		}
	});
});
