import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { CompileError } from "../../extension/core/codegen/lower";
import { buildConfig, parseConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph, parseInputName } from "../../extension/core/graph/graph";
import { type Tensor, makeTensor, numbers, toNested } from "../../extension/core/graph/tensor";
import { runSteps } from "../../extension/core/model/steps";
import { loadFrozen } from "../../extension/core/model/prepare";
import { knn, tempDir } from "../support/cli";
import { GraphBuilder, attr, out } from "../support/graphBuilder";
import { AVX2_CFLAGS, MODEL_CFLAGS, avx2Missing, buildHost, runHost } from "../support/hostBuild";
import { constantEnter, whileLoop } from "../support/loops";
import { mulberry32 } from "../support/random";
import { INDIGO_DIR, indigoMissing, publishedIndigoInput, publishedIndigoOutputs, truncateTo5 } from "../support/shared";

const T = attr.type("float32");
const I = attr.type("int32");
const NO_TRANSPOSE = { T, transpose_a: attr.b(false), transpose_b: attr.b(false) };

function randomTensor(random: () => number, shape: number[], scale = 1): Tensor {
	const size = shape.reduce((a, b) => a * b, 1);
	return makeTensor("float32", shape, Array.from({ length: size }, () => (random() * 2 - 1) * scale));
}

/** Compiles `graph` for the given feeds and fetches, runs it in user space and in the interpreter, and compares. */
function compareCompiled(name: string, def: ReturnType<GraphBuilder["def"]>, feeds: Record<string, Tensor>, fetches: string[], steps = 1, feedback: Record<string, string> = {}): number {
	const graph = Graph.fromGraphDef(def);
	const { config } = buildConfig(graph, Object.entries(feeds).map(([k, t]) => ({ ref: parseInputName(k).ref, shape: t.shape })), fetches.map((f) => ({ ref: parseInputName(f).ref })));
	const model = compileModel(graph, config, name, "test graph");
	const binary = buildHost(model, tempDir(name));
	const inputs = Object.values(feeds);
	const feedNames = Object.keys(feeds);
	const pairs = Object.entries(feedback).map(([feed, fetch]) => [feedNames.indexOf(feed), fetches.indexOf(fetch)] as [number, number]);
	const compiled = runHost(binary, model, inputs, steps, pairs);
	const reference = runSteps(graph, config, { feeds: Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toNested(t)])), steps, feedback });
	let worst = 0;
	reference.forEach((outputs, s) => outputs.forEach((expected, r) => {
		const got = numbers(compiled[s][r]);
		const want = numbers(expected);
		assert.equal(got.length, want.length, `${name} step ${s} result ${r} size`);
		for (let i = 0; i < want.length; i++) {
			const error = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
			worst = Math.max(worst, error);
			assert.ok(error <= 1e-6, `${name} step ${s} ${fetches[r]}[${i}]: compiled ${got[i]}, interpreter ${want[i]}`);
		}
	}));
	return worst;
}

describe("compiler: the generated C, built with gcc in user space", () => {
	it("Indigo: 10 fed-back steps reproduce the 50 published figures, and 20 random inputs match the interpreter within 1e-6", { skip: indigoMissing }, () => {
		const dir = tempDir("indigo-c");
		const fetches = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];
		const configPath = path.join(dir, "graph.config.pbtxt");
		const made = knn("config", path.join(INDIGO_DIR, "model.meta"), "--checkpoint", path.join(INDIGO_DIR, "model"), "--feed", "global/Placeholder=1x1x9",
			"--feed", "global/Placeholder_1=1x32", "--feed", "global/Placeholder_2=1x32", ...fetches.flatMap((f) => ["--fetch", f]), "--out", configPath);
		assert.equal(made.status, 0, made.stderr);
		const { config } = parseConfig(fs.readFileSync(configPath, "utf8"), configPath);
		const { graph } = loadFrozen(path.join(INDIGO_DIR, "model.meta"), fetches, path.join(INDIGO_DIR, "model"));
		const start = performance.now();
		const model = compileModel(graph, config, "indigo_nn", "Indigo");
		console.log(`compile Indigo: ${(performance.now() - start).toFixed(0)} ms; arena ${model.report.arenaBytes} bytes (temporaries ${model.report.tempBytes}, ${model.report.tempBytesUnshared} without reuse), weights ${model.report.weightBytes} bytes`);
		const binary = buildHost(model, dir);
		const zeros = (n: number) => makeTensor("float32", [1, n], new Array(n).fill(0));
		const publishedRun = (built: string) => runHost(built, model, [makeTensor("float32", [1, 1, 9], publishedIndigoInput().flat(2)), zeros(32), zeros(32)], 10, [[1, 1], [2, 2]]);
		const published = publishedRun(binary);
		publishedIndigoOutputs().forEach((row, step) => assert.deepEqual(Array.from(numbers(published[step][0])).map(truncateTo5), row, `step ${step}`));
		// The module's other object: 8-lane vectors and FMA contraction, as the kernel builds it.
		if (!avx2Missing) {
			const avx2Dir = tempDir("indigo-c-avx2");
			const avx2 = publishedRun(buildHost(model, avx2Dir, AVX2_CFLAGS));
			publishedIndigoOutputs().forEach((row, step) => assert.deepEqual(Array.from(numbers(avx2[step][0])).map(truncateTo5), row, `AVX2+FMA step ${step}: ${Array.from(numbers(avx2[step][0])).join(" ")}`));
		}

		const random = mulberry32(99);
		let worst = 0;
		for (let trial = 0; trial < 20; trial++) {
			const inputs = [randomTensor(random, [1, 1, 9]), randomTensor(random, [1, 32], 2), randomTensor(random, [1, 32])];
			const compiled = runHost(binary, model, inputs, 1)[0];
			const reference = runSteps(graph, config, { feeds: Object.fromEntries(inputs.map((t, i) => [config.feed[i].id!.node_name!, toNested(t)])) })[0];
			reference.forEach((expected, r) => {
				const got = numbers(compiled[r]);
				numbers(expected).forEach((want, i) => (worst = Math.max(worst, Math.abs(got[i] - want))));
			});
		}
		console.log(`Indigo compiled vs interpreter, 20 random inputs: largest difference ${worst.toExponential(2)}`);
		assert.ok(worst <= 1e-6, `largest difference ${worst}`);
	});

	it("an MLP with fused MatMul+BiasAdd+activation and a softmax matches the interpreter", () => {
		const random = mulberry32(1);
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [4, 10]);
		let h = x;
		[[10, 16, "Relu"], [16, 8, "Tanh"], [8, 8, "Sigmoid"], [8, 3, ""]].forEach(([inSize, outSize, act], k) => {
			const mm = g.op("MatMul", `dense${k}/MatMul`, [h, g.const(`dense${k}/W`, randomTensor(random, [inSize as number, outSize as number]))], NO_TRANSPOSE);
			h = g.op("BiasAdd", `dense${k}/BiasAdd`, [mm, g.const(`dense${k}/b`, randomTensor(random, [outSize as number]))], { T });
			if (act) h = g.op(act as string, `dense${k}/${act}`, [h], { T });
		});
		g.op("Softmax", "probs", [h], { T });
		g.op("LogSoftmax", "logp", [h], { T });
		compareCompiled("mlp", g.def(), { x: randomTensor(random, [4, 10], 3) }, ["probs", "logp"]);
	});

	it("a CNN (Conv2D SAME/VALID with strides, depthwise, batch norm, pooling, reshape, dense) matches the interpreter", () => {
		const random = mulberry32(2);
		const g = new GraphBuilder();
		const x = g.placeholder("image", "float32", [1, 9, 9, 3]);
		const conv = g.op("Conv2D", "conv1", [x, g.const("conv1/k", randomTensor(random, [3, 3, 3, 4]))], { T, strides: attr.ints([1, 2, 2, 1]), padding: attr.s("SAME"), data_format: attr.s("NHWC"), dilations: attr.ints([1, 1, 1, 1]) });
		const relu = g.op("Relu", "conv1/relu", [g.op("BiasAdd", "conv1/bias", [conv, g.const("conv1/b", randomTensor(random, [4]))], { T })], { T });
		const dw = g.op("DepthwiseConv2dNative", "dw", [relu, g.const("dw/k", randomTensor(random, [2, 2, 4, 2]))], { T, strides: attr.ints([1, 1, 1, 1]), padding: attr.s("VALID"), data_format: attr.s("NHWC"), dilations: attr.ints([1, 1, 1, 1]) });
		const bn = g.op("FusedBatchNormV3", "bn", [dw, g.const("bn/scale", randomTensor(random, [8])), g.const("bn/offset", randomTensor(random, [8])),
			g.const("bn/mean", randomTensor(random, [8])), g.const("bn/var", makeTensor("float32", [8], Array.from({ length: 8 }, () => 0.5 + random())))],
			{ T, U: T, epsilon: attr.f(0.001), is_training: attr.b(false), data_format: attr.s("NHWC") });
		const pooled = g.op("MaxPool", "pool", [bn], { T, ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 1, 1, 1]), padding: attr.s("SAME"), data_format: attr.s("NHWC") });
		const avg = g.op("AvgPool", "avg", [pooled], { T, ksize: attr.ints([1, 3, 3, 1]), strides: attr.ints([1, 2, 2, 1]), padding: attr.s("SAME"), data_format: attr.s("NHWC") });
		const flat = g.op("Reshape", "flat", [avg, g.constOf("flat/shape", "int32", [1, -1])], { T, Tshape: I });
		const logits = g.op("MatMul", "logits", [flat, g.const("fc/W", randomTensor(random, [32, 5]))], NO_TRANSPOSE);
		g.op("Softmax", "probs", [logits], { T });
		g.op("Mean", "mean", [pooled, g.constOf("axes", "int32", [1, 2])], { T, Tidx: I, keep_dims: attr.b(false) });
		compareCompiled("cnn", g.def(), { image: randomTensor(random, [1, 9, 9, 3], 2) }, ["probs", "mean"]);
	});

	it("a GRU run by a TF1 while loop over TensorArrays becomes a C loop and matches the interpreter over fed-back steps", () => {
		const random = mulberry32(3);
		const steps = 4;
		const H = 5;
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [steps, 1, 3]);
		const h0 = g.placeholder("h0", "float32", [1, H]);
		const size = g.constOf("T", "int32", [steps], []);
		const taAttrs = (shape: number[]) => ({ dtype: T, element_shape: attr.shape(shape), dynamic_size: attr.b(false), clear_after_read: attr.b(true), identical_element_shapes: attr.b(true), tensor_array_name: attr.s("") });
		const input = g.op("TensorArrayV3", "input_ta", [size], taAttrs([1, 3]));
		const output = g.op("TensorArrayV3", "output_ta", [size], taAttrs([1, H]));
		const scattered = g.op("TensorArrayScatterV3", "scatter", [input, g.op("Range", "range", [g.constOf("z", "int32", [0], []), size, g.constOf("o", "int32", [1], [])], { Tidx: I }), x, out(input, 1)], { T });
		const gates = g.const("gates/W", randomTensor(random, [3 + H, 2 * H]));
		const gatesBias = g.const("gates/b", randomTensor(random, [2 * H]));
		const cand = g.const("cand/W", randomTensor(random, [3 + H, H]));
		const candBias = g.const("cand/b", randomTensor(random, [H]));
		const [, hFinal, flow] = whileLoop(g, "gru", [
			{ init: g.constOf("i0", "int32", [0], []), dtype: "int32" }, { init: h0, dtype: "float32" }, { init: out(output, 1), dtype: "float32" },
		], ([i]) => g.op("Less", "gru/Less", [i, constantEnter(g, "gru", "limit", size, "int32")], { T: I }), ([i, h, f], pivot) => {
			const xt = g.op("TensorArrayReadV3", "gru/read", [constantEnter(g, "gru", "in", input, "resource"), i, constantEnter(g, "gru", "in_flow", scattered, "float32")], { dtype: T });
			const axis = g.op("Const", "gru/axis", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [1])) }, [pivot]);
			const xh = g.op("ConcatV2", "gru/xh", [xt, h, axis], { T, N: attr.i(2), Tidx: I });
			const rz = g.op("Sigmoid", "gru/rz", [g.op("BiasAdd", "gru/rz_b", [g.op("MatMul", "gru/rz_mm", [xh, constantEnter(g, "gru", "gates_W", gates, "float32")], NO_TRANSPOSE), constantEnter(g, "gru", "gates_b", gatesBias, "float32")], { T })], { T });
			const split = g.op("Split", "gru/split", [axis, rz], { T, num_split: attr.i(2) });
			const rh = g.op("Mul", "gru/rh", [split, h], { T });
			const xrh = g.op("ConcatV2", "gru/xrh", [xt, rh, axis], { T, N: attr.i(2), Tidx: I });
			const c = g.op("Tanh", "gru/c", [g.op("BiasAdd", "gru/c_b", [g.op("MatMul", "gru/c_mm", [xrh, constantEnter(g, "gru", "cand_W", cand, "float32")], NO_TRANSPOSE), constantEnter(g, "gru", "cand_b", candBias, "float32")], { T })], { T });
			const one = g.op("Const", "gru/one", [], { dtype: T, value: attr.tensor(makeTensor("float32", [], [1])) }, [pivot]);
			const z = out(split, 1);
			const hNext = g.op("AddV2", "gru/h_next", [g.op("Mul", "gru/zh", [z, h], { T }), g.op("Mul", "gru/zc", [g.op("Sub", "gru/1mz", [one, z], { T }), c], { T })], { T });
			const written = g.op("TensorArrayWriteV3", "gru/write", [constantEnter(g, "gru", "out", output, "resource"), i, hNext, f], { T });
			const step = g.op("Const", "gru/step", [], { dtype: I, value: attr.tensor(makeTensor("int32", [], [1])) }, [pivot]);
			return [g.op("AddV2", "gru/i_next", [i, step], { T: I }), hNext, written];
		});
		const all = g.op("TensorArrayGatherV3", "gather", [output, g.op("Range", "range2", [g.constOf("z2", "int32", [0], []), size, g.constOf("o2", "int32", [1], [])], { Tidx: I }), flow], { dtype: T, element_shape: attr.shape([1, H]) });
		const worst = compareCompiled("gru", g.def(), { x: randomTensor(random, [steps, 1, 3]), h0: randomTensor(random, [1, H]) }, [all, hFinal], 3, { h0: hFinal });
		console.log(`GRU compiled vs interpreter, 3 fed-back steps: largest relative difference ${worst.toExponential(2)}`);
	});

	it("layout ops and broadcasting (Transpose, ConcatV2, StridedSlice, Pad, Tile, Pack, Split, Gather, reductions) match the interpreter", () => {
		const random = mulberry32(4);
		const g = new GraphBuilder();
		const a = g.placeholder("a", "float32", [2, 3, 4]);
		const b = g.placeholder("b", "float32", [3, 1]);
		const tr = g.op("Transpose", "tr", [a, g.constOf("perm", "int32", [2, 0, 1])], { T, Tperm: I });
		const cat = g.op("ConcatV2", "cat", [tr, tr, g.constOf("ax", "int32", [1], [])], { T, N: attr.i(2), Tidx: I });
		const sl = g.op("StridedSlice", "sl", [cat, g.constOf("begin", "int32", [3, 0, 1]), g.constOf("end", "int32", [0, 4, 3]), g.constOf("strides", "int32", [-1, 2, 1])],
			{ T, Index: I, begin_mask: attr.i(0), end_mask: attr.i(0), ellipsis_mask: attr.i(0), new_axis_mask: attr.i(0), shrink_axis_mask: attr.i(0) });
		const padded = g.op("Pad", "pad", [sl, g.constOf("pads", "int32", [0, 1, 1, 0, 2, 2], [3, 2])], { T, Tpaddings: I });
		const tiled = g.op("Tile", "tile", [b, g.constOf("mult", "int32", [2, 4])], { T, Tmultiples: I });
		const packed = g.op("Pack", "pack", [b, b], { T, N: attr.i(2), axis: attr.i(0) });
		const split = g.op("Split", "split", [g.constOf("sax", "int32", [2], []), a], { T, num_split: attr.i(2) });
		const gathered = g.op("GatherV2", "gather", [a, g.constOf("idx", "int32", [2, 0, 2]), g.constOf("gax", "int32", [1], [])], { Tparams: T, Tindices: I, Taxis: I, batch_dims: attr.i(0) });
		const bcast = g.op("Mul", "bcast", [tiled, g.op("Sum", "sum", [a, g.constOf("rax", "int32", [0, 1])], { T, Tidx: I, keep_dims: attr.b(false) })], { T });
		const max = g.op("Max", "max", [a, g.constOf("max_ax", "int32", [1])], { T, Tidx: I, keep_dims: attr.b(true) });
		compareCompiled("layout", g.def(), { a: randomTensor(random, [2, 3, 4]), b: randomTensor(random, [3, 1]) },
			[padded, packed, out(split, 1), gathered, max, bcast]);
	});

	it("names the node and op it cannot compile, and refuses a prefix that is not a C identifier", () => {
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [2]);
		g.op("Cumsum", "running/total", [x, g.constOf("axis", "int32", [0], [])], { T, Tidx: I, exclusive: attr.b(false), reverse: attr.b(false) });
		const graph = Graph.fromGraphDef(g.def());
		const config = { feed: [{ id: { node_name: "x" }, shape: { dim: [{ size: 2 }] } }], fetch: [{ id: { node_name: "running/total" } }], variable: [] };
		assert.throws(() => compileModel(graph, config, "m", "test"), (e: Error) => e instanceof Error && /running\/total/.test(e.message) && /Cumsum/.test(e.message));
		assert.throws(() => compileModel(graph, config, "bad-name;rm", "test"), (e: Error) => e instanceof CompileError && /C identifier/.test(e.message));
	});

	it("the model unit is freestanding: gcc -ffreestanding -Wall -Wextra -Werror builds it and it needs no symbol at all", { skip: indigoMissing }, () => {
		const dir = tempDir("freestanding");
		const fetches = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];
		const { graph } = loadFrozen(path.join(INDIGO_DIR, "model.meta"), fetches, path.join(INDIGO_DIR, "model"));
		const { config } = buildConfig(graph, [["global/Placeholder", [1, 1, 9]], ["global/Placeholder_1", [1, 32]], ["global/Placeholder_2", [1, 32]]].map(([node, shape]) => ({ ref: { node: node as string, index: 0 }, shape: shape as number[] })), fetches.map((node) => ({ ref: { node, index: 0 } })));
		const model = compileModel(graph, config, "indigo_nn", "Indigo");
		for (const file of model.files) fs.writeFileSync(path.join(dir, file.name), file.text);
		const object = path.join(dir, "indigo_nn_model.o");
		execFileSync("gcc", [...MODEL_CFLAGS, "-nostdlib", "-mno-red-zone", "-c", path.join(dir, "indigo_nn_model.c"), "-o", object]);
		const undefinedSymbols = execFileSync("nm", ["-u", object], { encoding: "utf8" }).trim();
		assert.equal(undefinedSymbols, "", `undefined symbols: ${undefinedSymbols}`);
		const defined = execFileSync("nm", ["-g", "--defined-only", object], { encoding: "utf8" }).trim().split("\n").map((l) => l.split(" ").pop());
		assert.deepEqual(defined, ["indigo_nn_run"]);
	});
});
