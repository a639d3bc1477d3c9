import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { type CompiledModel, compileModel } from "../../extension/core/codegen/compile";
import { CompileError } from "../../extension/core/codegen/lower";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import type { AttrValue } from "../../extension/core/frontends/tf/proto/types";
import { Graph, parseInputName } from "../../extension/core/graph/graph";
import { type Tensor, makeTensor, numbers, tensorFromBytes, tensorToBytes, toNested } from "../../extension/core/graph/tensor";
import { EXECUTOR_OPS } from "../../extension/core/interp/executor";
import { KERNELS } from "../../extension/core/interp/kernels";
import { RANDOM_KERNELS } from "../../extension/core/interp/kernels/random";
import { TENSOR_ARRAY_OPS } from "../../extension/core/interp/tensorArray";
import { inspectModel } from "../../extension/core/model/inspect";
import { runSteps } from "../../extension/core/model/steps";
import { OP_TABLE, compilerOps, compilerSupport, interpreterOps } from "../../extension/core/ops";
import { buildGraphView } from "../../extension/vscode/graphInspector/graphView";
import { tempDir } from "../support/cli";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { MODEL_CFLAGS } from "../support/hostBuild";
import { mulberry32 } from "../support/random";
import { runTfjs } from "../support/tfjsOracle";

const T = attr.type("float32");
const I = attr.type("int32");

function compile(name: string, g: GraphBuilder, feeds: Record<string, Tensor>, fetches: string[]): { graph: Graph; model: CompiledModel; config: ReturnType<typeof buildConfig>["config"] } {
	const graph = Graph.fromGraphDef(g.def());
	const { config } = buildConfig(graph, Object.entries(feeds).map(([k, t]) => ({ ref: parseInputName(k).ref, shape: t.shape })), fetches.map((f) => ({ ref: parseInputName(f).ref })));
	return { graph, model: compileModel(graph, config, name, "test graph"), config };
}

// A user-space driver with two instances of the model struct, to show state is per instance. Its script runs
// them: "a"/"b" run instance a/b once and print its status and results, "A"/"B" reconstruct it with the inputs.
function driverSource(prefix: string): string {
	return `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "${prefix}.h"
static struct ${prefix} a, b;
static unsigned char saved[${prefix}_ARENA_BYTES];
static void load(struct ${prefix} *m) { ${prefix}_constructor(m); memcpy(m->arena, saved, sizeof saved); }
int main(int argc, char **argv)
{
	${prefix}_constructor(&a);
	for (int i = 0; i < ${prefix}_NUM_ARGUMENTS; ++i) {
		unsigned char *p = (unsigned char *)${prefix}_get_address_for_argument(&a, i);
		for (int k = 0; k < ${prefix}_get_argument_size_bytes(i); ++k) {
			unsigned v;
			if (scanf("%x", &v) != 1) return 1;
			p[k] = (unsigned char)v;
		}
	}
	memcpy(saved, a.arena, sizeof saved);
	load(&b);
	for (const char *c = argc > 1 ? argv[1] : "a"; *c; ++c) {
		struct ${prefix} *m = (*c == 'a' || *c == 'A') ? &a : &b;
		if (*c == 'A' || *c == 'B') { load(m); continue; }
		${prefix}_run(m);
		printf("status %d", ${prefix}_clamped_indices(m));
		for (int i = 0; i < ${prefix}_NUM_RESULTS; ++i) {
			const unsigned char *p = (const unsigned char *)${prefix}_get_address_for_result(m, i);
			printf(" |");
			for (int k = 0; k < ${prefix}_get_result_size_bytes(i); ++k) printf(" %02x", p[k]);
		}
		printf("\\n");
	}
	return 0;
}
`;
}

interface Run {
	status: number;
	results: Tensor[];
}

/** Builds the model unit with the kernel's warning flags and the two-instance driver; runs the script. */
function runC(model: CompiledModel, inputs: Tensor[], script = "a"): Run[] {
	const dir = tempDir(model.prefix);
	for (const file of model.files) fs.writeFileSync(path.join(dir, file.name), file.text);
	fs.writeFileSync(path.join(dir, "driver.c"), driverSource(model.prefix));
	const object = path.join(dir, "model.o");
	execFileSync("gcc", [...MODEL_CFLAGS, "-c", path.join(dir, `${model.prefix}_model.c`), "-o", object], { stdio: "pipe" });
	const binary = path.join(dir, "driver");
	execFileSync("gcc", ["-std=c99", "-O2", "-Wall", "-Werror", path.join(dir, "driver.c"), object, "-o", binary], { stdio: "pipe" });
	const words = inputs.flatMap((t) => Array.from(tensorToBytes(t), (byte) => byte.toString(16)));
	const stdout = execFileSync(binary, [script], { input: words.join(" "), encoding: "utf8" });
	return stdout.trim().split("\n").map((line) => {
		const [head, ...parts] = line.split(" |");
		return {
			status: Number(head.split(" ")[1]),
			results: parts.map((hex, i) => {
				const buffer = model.program.results[i];
				const bytes = Uint8Array.from(hex.trim().split(" "), (h) => parseInt(h, 16));
				return tensorFromBytes(buffer.dtype, buffer.shape, bytes, `result ${i}`);
			}),
		};
	});
}

function interpret(graph: Graph, config: ReturnType<typeof buildConfig>["config"], feeds: Record<string, Tensor>, steps = 1): Tensor[][] {
	return runSteps(graph, config, { feeds: Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toNested(t)])), steps });
}

function assertNear(got: Tensor, want: Tensor, tolerance: number, label: string): void {
	const a = numbers(got);
	const b = numbers(want);
	assert.equal(a.length, b.length, `${label}: ${a.length} values, expected ${b.length}`);
	for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tolerance * Math.max(1, Math.abs(b[i])), `${label}[${i}]: ${a[i]}, expected ${b[i]}`);
}

function randomTensor(random: () => number, shape: number[], scale = 1): Tensor {
	return makeTensor("float32", shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (random() * 2 - 1) * scale));
}

describe("one op table for the interpreter, knn inspect, the graph inspector and the compiler", () => {
	it("lists every op the interpreter runs once, and every op the compiler lowers is one the interpreter runs", () => {
		const interpreted = new Set([...KERNELS.keys(), ...TENSOR_ARRAY_OPS.keys(), ...RANDOM_KERNELS.keys(), ...EXECUTOR_OPS]);
		assert.deepEqual([...interpreted].filter((op) => !OP_TABLE.has(op)), [], "interpreter ops missing from the table");
		assert.deepEqual([...interpreterOps()].filter((op) => !interpreted.has(op)), [], "table ops the interpreter cannot run");
		assert.deepEqual([...compilerOps()].filter((op) => !interpreterOps().has(op)), [], "compiled ops the interpreter cannot run");
		for (const entry of OP_TABLE.values()) {
			if (entry.compiler.kind === "layout") assert.ok(entry.kernel, `layout op ${entry.op} needs a kernel for its copy table`);
			if (entry.interpreter === "kernel") assert.equal(entry.kernel, KERNELS.get(entry.op) ?? TENSOR_ARRAY_OPS.get(entry.op), entry.op);
		}
	});

	// One graph per kind of verdict: compiled wherever it stands, folded from shapes, folded from constants,
	// folded-only on a feed (refused), unknown (refused).
	const cases: { label: string; build: (g: GraphBuilder) => string; refused?: string }[] = [
		{ label: "ZerosLike of a feed folds away (the Keras RNN initial state)", build: (g) => {
			const zeros = g.op("ZerosLike", "zeros", ["x"], { T });
			const sum = g.op("Sum", "sum", [zeros, g.constOf("axes", "int32", [1])], { T, Tidx: I, keep_dims: attr.b(false) });
			const expanded = g.op("ExpandDims", "expand", [sum, g.constOf("dim", "int32", [-1], [])], { T, Tdim: I });
			return g.op("Tile", "state", [expanded, g.constOf("multiples", "int32", [1, 4])], { T, Tmultiples: I });
		} },
		{ label: "Range over a Shape folds away", build: (g) => {
			const shape = g.op("Shape", "shape", ["x"], { T, out_type: I });
			const limit = g.op("StridedSlice", "limit", [shape, g.constOf("b", "int32", [1]), g.constOf("e", "int32", [2]), g.constOf("s", "int32", [1])], { T: I, Index: I, shrink_axis_mask: attr.i(1) });
			const range = g.op("Range", "range", [g.constOf("start", "int32", [0], []), limit, g.constOf("delta", "int32", [1], [])], { Tidx: I });
			return g.op("Cast", "range_f", [range], { SrcT: I, DstT: T });
		} },
		{ label: "ArgMax of a feed compiles", build: (g) => g.op("ArgMax", "argmax", ["x", g.constOf("axis", "int32", [1], [])], { T, Tidx: I, output_type: I }) },
		{ label: "OneHot of a feed has no C and is refused", refused: "OneHot", build: (g) => {
			const ids = g.op("Cast", "ids", ["x"], { SrcT: T, DstT: I });
			return g.op("OneHot", "onehot", [ids, g.constOf("depth", "int32", [4], []), g.constOf("on", "float32", [1], []), g.constOf("off", "float32", [0], [])], { T, TI: I, axis: attr.i(-1) });
		} },
		{ label: "an op nobody knows is refused", refused: "Cumsum", build: (g) => g.op("Cumsum", "cumsum", ["x", g.constOf("axis", "int32", [1], [])], { T, Tidx: I }) },
		{ label: "RandomUniform compiles", build: (g) => {
			const shape = g.op("Shape", "shape", ["x"], { T, out_type: I });
			return g.op("RandomUniform", "noise", [shape], { dtype: T, T: I, seed: attr.i(1), seed2: attr.i(2) });
		} },
	];
	for (const { label, build, refused } of cases) {
		it(`${label}: inspect, the inspector's colouring and knn compile agree`, () => {
			const g = new GraphBuilder();
			g.placeholder("x", "float32", [2, 3]);
			const fetch = build(g);
			const graph = Graph.fromGraphDef(g.def());
			const model = { file: "case.pb", format: "GraphDef" as const, graph };
			const listed = inspectModel(model).unsupportedOps.map((o) => o.op);
			const coloured = buildGraphView(model).view.nodes.filter((n) => !n.supported).map((n) => n.op);
			assert.deepEqual(listed, refused ? [refused] : [], "knn inspect's unsupported list");
			assert.deepEqual([...new Set(coloured)], refused ? [refused] : [], "the graph inspector's unsupported colouring");
			assert.deepEqual([...compilerSupport(graph.nodes)].filter(([, ok]) => !ok).map(([name]) => graph.node(name).op), refused ? [refused] : []);
			// Configured by hand: knn config would already refuse the op the interpreter does not know.
			const config = { feed: [{ id: { node_name: "x" }, shape: { dim: [{ size: 2 }, { size: 3 }] } }], fetch: [{ id: { node_name: fetch } }], variable: [] };
			const attempt = () => compileModel(graph, config, "agree", "test graph");
			if (refused) assert.throws(attempt, (e: Error) => e instanceof CompileError && e.message.includes(refused));
			else assert.doesNotThrow(attempt);
		});
	}
});

describe("random ops in the interpreter and in C", () => {
	function randomGraph(op: string, size: number): GraphBuilder {
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [1]);
		g.op("RandomUniform", "twin", [g.constOf("twin_shape", "int32", [3])], { dtype: T, T: I, seed: attr.i(9), seed2: attr.i(9) });
		g.op(op, "draw", [g.constOf("shape", "int32", [size])], { dtype: T, T: I, seed: attr.i(87654), seed2: attr.i(321) });
		g.op("Identity", "x_out", [x], { T });
		return g;
	}
	const feeds = { x: makeTensor("float32", [1], [0.5]) };

	it("RandomUniform: C and interpreter draw the same bits, run after run; values in [0,1) with mean 1/2 and variance 1/12", () => {
		const { graph, model, config } = compile("uniform", randomGraph("RandomUniform", 4000), feeds, ["draw", "x_out", "twin"]);
		const runs = runC(model, [feeds.x], "aaa");
		const reference = interpret(graph, config, feeds, 3);
		runs.forEach((run, step) => [0, 2].forEach((r) => assert.deepEqual(Array.from(numbers(run.results[r])), Array.from(numbers(reference[step][r])), `run ${step} result ${r}`)));
		assert.notDeepEqual(Array.from(numbers(runs[0].results[0])), Array.from(numbers(runs[1].results[0])), "successive runs draw fresh numbers");
		const values = Array.from(numbers(runs[0].results[0]));
		assert.ok(values.every((v) => v >= 0 && v < 1));
		const mean = values.reduce((a, b) => a + b, 0) / values.length;
		const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
		// Standard errors for n = 4000: 0.0046 for the mean, 0.0012 for the variance; allow four of them.
		assert.ok(Math.abs(mean - 0.5) < 0.019, `mean ${mean}`);
		assert.ok(Math.abs(variance - 1 / 12) < 0.005, `variance ${variance}`);
	});

	it("two instances of one model draw independently, and the constructor restarts the sequence", () => {
		const { model } = compile("pair", randomGraph("RandomUniform", 8), feeds, ["draw", "twin", "x_out"]);
		const [a1, a2, b1, a1again] = runC(model, [feeds.x], "aabAa").map((r) => Array.from(numbers(r.results[0])));
		assert.deepEqual(b1, a1, "instance b starts where a started, untouched by a's runs");
		assert.notDeepEqual(a2, a1);
		assert.deepEqual(a1again, a1, "a reconstructed instance starts over");
		assert.match(model.files[0].text, /Random ops \(2\): each keeps its generator state/);
	});

	it("RandomStandardNormal and TruncatedNormal: C matches the interpreter within 1e-5, with the moments of N(0,1) and of N(0,1) cut at 2", () => {
		for (const [op, variance] of [["RandomStandardNormal", 1], ["TruncatedNormal", 0.773741]] as const) {
			const { graph, model, config } = compile(op.toLowerCase(), randomGraph(op, 4000), feeds, ["draw", "x_out"]);
			const runs = runC(model, [feeds.x], "aa");
			const reference = interpret(graph, config, feeds, 2);
			runs.forEach((run, step) => assertNear(run.results[0], reference[step][0], 1e-5, `${op} run ${step}`));
			const values = Array.from(numbers(runs[0].results[0]));
			const mean = values.reduce((a, b) => a + b, 0) / values.length;
			const measured = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
			assert.ok(Math.abs(mean) < 0.07, `${op} mean ${mean}`);
			assert.ok(Math.abs(measured - variance) < 0.1, `${op} variance ${measured}, expected ${variance}`);
			if (op === "TruncatedNormal") assert.ok(values.every((v) => v > -2 && v < 2));
		}
	});

	it("a TF1 dropout graph with keep_prob fed 1 gives exactly the no-dropout result, in the interpreter, in C and in tfjs", async () => {
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [3, 4]);
		const keep = g.placeholder("keep_prob", "float32", []);
		const shape = g.op("Shape", "dropout/Shape", [x], { T, out_type: I });
		const noise = g.op("RandomUniform", "dropout/random_uniform", [shape], { dtype: T, T: I, seed: attr.i(0), seed2: attr.i(0) });
		const kept = g.op("Floor", "dropout/Floor", [g.op("AddV2", "dropout/add", [keep, noise], { T })], { T });
		g.op("Mul", "dropout/mul", [g.op("RealDiv", "dropout/div", [x, keep], { T }), kept], { T });
		const input = randomTensor(mulberry32(5), [3, 4], 3);
		const feeds = { x: input, keep_prob: makeTensor("float32", [], [1]) };
		const { graph, model, config } = compile("dropout", g, feeds, ["dropout/mul"]);
		const expected = Array.from(numbers(input));
		for (const run of runC(model, [input, feeds.keep_prob], "aaa")) assert.deepEqual(Array.from(numbers(run.results[0])), expected, "C");
		for (const step of interpret(graph, config, feeds, 3)) assert.deepEqual(Array.from(numbers(step[0])), expected, "interpreter");
		const [tfjs] = await runTfjs(g.def(), feeds, ["dropout/mul"]);
		assert.deepEqual(Array.from(numbers(tfjs)), expected, "tfjs");
		// keep_prob 1/2: every element is 0 or 2x, and C agrees with the interpreter bit for bit.
		const half = { x: input, keep_prob: makeTensor("float32", [], [0.5]) };
		const c = runC(model, [input, half.keep_prob])[0].results[0];
		assert.deepEqual(Array.from(numbers(c)), Array.from(numbers(interpret(graph, config, half)[0][0])));
		numbers(c).forEach((v, i) => assert.ok(v === 0 || v === 2 * expected[i]));
	});
});

describe("Gather with runtime indices in C (embedding lookups)", () => {
	const table = randomTensor(mulberry32(11), [10, 4], 2);

	function embedding(op: "GatherV2" | "Gather" | "ResourceGather"): GraphBuilder {
		const g = new GraphBuilder();
		const ids = g.placeholder("ids", "int32", [2, 3]);
		const weights = g.const("embedding/table", table);
		const inputs = op === "GatherV2" ? [weights, ids, g.constOf("axis", "int32", [0], [])] : [weights, ids];
		const attrs: Record<string, AttrValue> = op === "ResourceGather" ? { dtype: T, Tindices: I } : { Tparams: T, Tindices: I, ...(op === "GatherV2" ? { Taxis: I, batch_dims: attr.i(0) } : {}) };
		const looked = g.op(op, "embedding/lookup", inputs, attrs);
		g.op("Sum", "pooled", [looked, g.constOf("seq_axis", "int32", [1])], { T, Tidx: I, keep_dims: attr.b(false) });
		return g;
	}

	it("GatherV2 and Gather of fed int32 token ids match tfjs, with a zero status", async () => {
		const ids = makeTensor("int32", [2, 3], [3, 0, 9, 9, 5, 1]);
		for (const op of ["GatherV2", "Gather"] as const) {
			const g = embedding(op);
			const { model } = compile(`embed_${op.toLowerCase()}`, g, { ids }, ["embedding/lookup", "pooled"]);
			const [run] = runC(model, [ids]);
			const expected = await runTfjs(g.def(), { ids }, ["embedding/lookup", "pooled"]);
			assert.deepEqual(Array.from(numbers(run.results[0])), Array.from(numbers(expected[0])), `${op} rows`);
			assertNear(run.results[1], expected[1], 1e-6, `${op} pooled`);
			assert.equal(run.status, 0);
		}
	});

	it("an out-of-range id gives the clamped row and a count the caller reads; in-range runs reset it", () => {
		const g = embedding("ResourceGather");
		const ids = makeTensor("int32", [2, 3], [-1, 4, 10, 2, 2147483647, 9]);
		const { model } = compile("embed_clamp", g, { ids }, ["embedding/lookup"]);
		const [run] = runC(model, [ids]);
		// Float64 reference straight from the table: ids clamped into [0, 9].
		const rows = [0, 4, 9, 2, 9, 9];
		const values = numbers(table);
		const expected = rows.flatMap((r) => Array.from(values.slice(r * 4, r * 4 + 4)));
		assert.deepEqual(Array.from(numbers(run.results[0])), expected);
		assert.equal(run.status, 3, "three ids were out of range");
		assert.match(model.files[0].text, /embed_clamp_clamped_indices\(const struct embed_clamp \*self\)/);
		const inRange = makeTensor("int32", [2, 3], [0, 1, 2, 3, 4, 5]);
		assert.equal(runC(model, [inRange], "aa")[1].status, 0);
	});

	it("GatherV2 on axis 1 with runtime indices matches tfjs", async () => {
		const g = new GraphBuilder();
		const ids = g.placeholder("ids", "int32", [5]);
		g.op("GatherV2", "columns", [g.const("params", table), ids, g.constOf("axis", "int32", [1], [])], { Tparams: T, Tindices: I, Taxis: I, batch_dims: attr.i(0) });
		const feeds = { ids: makeTensor("int32", [5], [3, 3, 0, 1, 2]) };
		const { model } = compile("gather_axis1", g, feeds, ["columns"]);
		const [expected] = await runTfjs(g.def(), feeds, ["columns"]);
		assert.deepEqual(Array.from(numbers(runC(model, [feeds.ids])[0].results[0])), Array.from(numbers(expected)));
	});
});

describe("tf.cond (Switch/Merge outside loops) in C", () => {
	/** What tf.cond(p, lambda: tanh(x @ W) * 2, lambda: x @ W - 1) writes in TF1: pivots, per-input Switches, one Merge. */
	function condGraph(): GraphBuilder {
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [2, 3]);
		const p = g.placeholder("p", "bool", []);
		const xw = g.op("MatMul", "xw", [x, g.const("W", randomTensor(mulberry32(3), [3, 4]))], { T, transpose_a: attr.b(false), transpose_b: attr.b(false) });
		g.op("Switch", "cond/Switch", [p, p], { T: attr.type("bool") });
		g.op("Identity", "cond/switch_t", ["cond/Switch:1"], { T: attr.type("bool") });
		g.op("Identity", "cond/switch_f", ["cond/Switch"], { T: attr.type("bool") });
		g.op("Identity", "cond/pred_id", [p], { T: attr.type("bool") });
		g.op("Switch", "cond/Tanh/Switch", [xw, "cond/pred_id"], { T });
		const tanh = g.op("Tanh", "cond/Tanh", ["cond/Tanh/Switch:1"], { T });
		const two = g.op("Const", "cond/mul/y", [], { dtype: T, value: attr.tensor(makeTensor("float32", [], [2])) }, ["cond/switch_t"]);
		const mul = g.op("Mul", "cond/mul", [tanh, two], { T });
		g.op("Switch", "cond/sub/Switch", [xw, "cond/pred_id"], { T });
		const one = g.op("Const", "cond/sub/y", [], { dtype: T, value: attr.tensor(makeTensor("float32", [], [1])) }, ["cond/switch_f"]);
		const sub = g.op("Sub", "cond/sub", ["cond/sub/Switch", one], { T });
		g.op("Merge", "cond/Merge", [sub, mul], { T, N: attr.i(2) });
		g.op("Relu", "out", ["cond/Merge"], { T });
		return g;
	}

	it("gives tfjs's result for both predicate values, from one compiled model", async () => {
		const g = condGraph();
		const x = randomTensor(mulberry32(4), [2, 3], 2);
		const { model } = compile("cond", g, { x, p: makeTensor("bool", [], [0]) }, ["out", "cond/Merge"]);
		for (const value of [1, 0]) {
			const p = makeTensor("bool", [], [value]);
			const expected = await runTfjs(g.def(), { x, p }, ["out", "cond/Merge"]);
			const [run] = runC(model, [x, p]);
			expected.forEach((want, i) => assertNear(run.results[i], want, 1e-6, `p=${value} result ${i}`));
		}
	});

	it("refuses a Merge whose live input it cannot tell, naming the node", () => {
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [2]);
		g.op("Merge", "merge", [g.op("Neg", "a", [x], { T }), g.op("Abs", "b", [x], { T })], { T, N: attr.i(2) });
		assert.throws(() => compile("bad_merge", g, { x: makeTensor("float32", [2], [1, -1]) }, ["merge"]), (e: Error) => e instanceof CompileError && /"merge"/.test(e.message) && /which of its inputs/.test(e.message));
	});
});
