import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { parseConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph, type TensorRef } from "../../extension/core/graph/graph";
import { type Tensor, makeTensor } from "../../extension/core/graph/tensor";
import { prepareRun, runGraph } from "../../extension/core/interp/executor";
import { kernelWork } from "../../extension/core/interp/work";
import { runSteps } from "../../extension/core/model/steps";
import { inferGraph } from "../../extension/core/interp/infer";
import { planQuantization } from "../../extension/core/quant/plan";
import {
	BudgetError, DEFAULT_WORK_LIMIT, WorkBudgetError, parseWorkSize, withMemoryLimit, withWorkLimit, workLimit,
} from "../../extension/core/util/budget";
import { hasCode } from "../../extension/core/util/errors";
import { compileModel } from "../../extension/core/codegen/compile";
import { CompileError } from "../../extension/core/codegen/lower";
import { cliPath, tempDir } from "../support/cli";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { buildHost, gccMissing, runHost } from "../support/hostBuild";
import { constantEnter, whileLoop } from "../support/loops";
import { mulberry32 } from "../support/random";

const F = attr.type("float32");
const I32 = attr.type("int32");

/** x [1, 8] through `length` nodes of Relu, Identity, Tanh and AddV2. */
function chainGraph(length: number): { graph: Graph; last: string } {
	const g = new GraphBuilder();
	let last = g.placeholder("x", "float32", [1, 8]);
	const one = g.constOf("one", "float32", [1], []);
	const ops = ["Relu", "Identity", "Tanh"];
	for (let i = 0; i < length; i++) last = i % 4 === 3 ? g.op("AddV2", `n${i}`, [last, one], { T: F }) : g.op(ops[i % 3], `n${i}`, [last], { T: F });
	return { graph: Graph.fromGraphDef(g.def()), last };
}

const chainConfig = (last: string) => parseConfig(`feed { id { node_name: "x" } shape { dim { size: 1 } dim { size: 8 } } }\nfetch { id { node_name: "${last}" } }\n`, "graph.config.pbtxt").config;

/** A [n, n] float matrix made by Fill from two tiny constants: a file of a few hundred bytes. */
function filled(g: GraphBuilder, name: string, dims: number[]): string {
	return g.op("Fill", name, [g.constOf(`${name}/dims`, "int32", dims), g.constOf(`${name}/value`, "float32", [1], [])], { T: F, index_type: I32 });
}

function timed<T>(fn: () => T): { value?: T; error?: unknown; ms: number } {
	const start = performance.now();
	try {
		return { value: fn(), ms: performance.now() - start };
	} catch (error) {
		return { error, ms: performance.now() - start };
	}
}

function assertWorkError(error: unknown, pattern: RegExp): void {
	assert.ok(error instanceof WorkBudgetError, `expected a WorkBudgetError, got ${String(error)}`);
	assert.ok(error instanceof BudgetError && hasCode(error, "budget"));
	assert.match(error.message, pattern);
	assert.match(error.message, /work budget of 400,000,000 operations/);
	assert.match(error.message, /raise it with --max-work \(e\.g\. --max-work \d+e\d+\)/);
}

describe("one work budget for every evaluation", () => {
	it("a run whose steps times nodes cannot fit is refused before its first step, naming both and the limit", () => {
		const { graph, last } = chainGraph(10_000);
		const inputs = { feeds: { x: [[0, 1, 2, 3, 4, 5, 6, 7]] }, steps: 100_000 };
		const run = timed(() => runSteps(graph, chainConfig(last), inputs, "inputs.json"));
		assertWorkError(run.error, /^inputs\.json: 100,000 step\(s\) of 10,002 nodes each needs at least 200,040,000,000 operations, more than/);
		assert.ok(run.ms < 5_000, `${run.ms.toFixed(0)} ms`);
	});

	it("--max-work moves the line: 400 steps of a 12-node chain pass under 1M operations, 600 do not", () => {
		const { graph, last } = chainGraph(10);
		const inputs = (steps: number) => ({ feeds: { x: [[1, 2, 3, 4, 5, 6, 7, 8]] }, steps });
		// 12 nodes (x, one and the chain) at 200 each: 2,400 per step before any element is counted.
		withWorkLimit(1_000_000, () => {
			assert.equal(runSteps(graph, chainConfig(last), inputs(400)).length, 400);
			assert.throws(() => runSteps(graph, chainConfig(last), inputs(600)), /600 step\(s\) of 12 nodes each needs at least 1,440,000 operations/);
		});
		assert.equal(workLimit(), DEFAULT_WORK_LIMIT);
	});

	it("a MatMul of two 4096x4096 matrices is refused before it begins, naming the node", () => {
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [1]);
		const a = filled(g, "a", [4096, 4096]);
		const product = g.op("MatMul", "product", [a, a], { T: F });
		g.op("AddV2", "out", [x, g.op("Sum", "total", [product, g.constOf("axes", "int32", [0, 1])], { T: F, Tidx: I32 })], { T: F });
		const graph = Graph.fromGraphDef(g.def());
		const feeds = new Map([["x:0", makeTensor("float32", [1], [1])]]);
		const run = timed(() => runGraph(graph, feeds, [{ node: "out", index: 0 }]));
		// 4096^3 multiply-adds: about five minutes in the interpreter, refused in the time Fill takes.
		assertWorkError(run.error, /^node "product" \(MatMul\): the evaluation passed/);
		assert.ok(run.ms < 5_000, `${run.ms.toFixed(0)} ms`);
	});

	it("a 2048x2048 max-pool window over a 2048x2048 image is refused before it begins", () => {
		const g = new GraphBuilder();
		const image = filled(g, "image", [1, 2048, 2048, 1]);
		g.op("MaxPool", "pool", [image], { T: F, ksize: attr.ints([1, 2048, 2048, 1]), strides: attr.ints([1, 1, 1, 1]), padding: attr.s("SAME"), data_format: attr.s("NHWC") });
		const run = timed(() => runGraph(Graph.fromGraphDef(g.def()), new Map(), [{ node: "pool", index: 0 }]));
		assertWorkError(run.error, /^node "pool" \(MaxPool\)/);
		assert.ok(run.ms < 5_000, `${run.ms.toFixed(0)} ms`);
	});

	it("a while loop that runs a million times ends at the budget, in seconds, naming a node of its body", () => {
		const counter = (limit: number) => {
			const g = new GraphBuilder();
			const bound = constantEnter(g, "spin", "limit", g.constOf("limit", "int32", [limit], []), "int32");
			const one = constantEnter(g, "spin", "one", g.constOf("one", "int32", [1], []), "int32");
			const [count] = whileLoop(g, "spin", [{ init: g.constOf("start", "int32", [0], []), dtype: "int32" }],
				([i]) => g.op("Less", "spin/less", [i, bound], { T: I32 }),
				([i]) => [g.op("AddV2", "spin/next", [i, one], { T: I32 })]);
			return () => runGraph(Graph.fromGraphDef(g.def()), new Map(), [{ node: count, index: 0 }]);
		};
		const run = timed(counter(1_000_000));
		assertWorkError(run.error, /^node "spin\//);
		assert.ok(run.ms < 10_000, `${run.ms.toFixed(0)} ms`);
		// The same loop to 1,000 is well inside the budget and counts to 1,000.
		assert.equal(counter(1_000)()[0].data[0], 1_000);
	});

	it("a check of a wide tensor through a long chain stops at the budget instead of running on", () => {
		const g = new GraphBuilder();
		let last = g.placeholder("x", "float32", [65536, 8]);
		for (let i = 0; i < 2000; i++) last = g.op(i % 2 ? "Relu" : "Tanh", `n${i}`, [last], { T: F });
		const graph = Graph.fromGraphDef(g.def());
		const feeds = new Map([["x:0", makeTensor("float32", [65536, 8])]]);
		const run = timed(() => runGraph(graph, feeds, [{ node: last, index: 0 }]));
		// Each node counts 200 + 524,288 read + 2 x 524,288 written = 1,573,064: 254 of them make 399,558,256, and
		// node 254's reads take the count past 400,000,000 before it starts.
		assertWorkError(run.error, /^node "n254" \(Tanh\)/);
	});

	it("counts the multiply-adds and window taps of the ops whose work outgrows their tensors", () => {
		const tensor = (shape: number[]): Tensor => ({ dtype: "float32", shape, data: new Float32Array(0) });
		const node = (op: string, attrs: Record<string, ReturnType<typeof attr.ints>> = {}) => Graph.fromGraphDef({ node: [{ name: "n", op, input: [], attr: attrs }] }).node("n");
		const elements = (...shapes: number[][]) => shapes.reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
		// (M x K) x (K x N): M*N*K multiply-adds.
		assert.equal(kernelWork(node("MatMul"), [tensor([3, 5]), tensor([5, 7])]), elements([3, 5], [5, 7]) + 3 * 7 * 5);
		// A batch of 4 broadcast against one matrix: 4*M*N*K.
		assert.equal(kernelWork(node("BatchMatMulV2"), [tensor([4, 3, 5]), tensor([5, 7])]), elements([4, 3, 5], [5, 7]) + 4 * 3 * 7 * 5);
		// NHWC conv, stride 2: every output position (N*H/2*W/2) times kh*kw*Cin*Cout.
		const conv = node("Conv2D", { strides: attr.ints([1, 2, 2, 1]) });
		assert.equal(kernelWork(conv, [tensor([1, 8, 8, 3]), tensor([3, 3, 3, 16])]), elements([1, 8, 8, 3], [3, 3, 3, 16]) + (64 / 4) * (3 * 3 * 3 * 16));
		// Depthwise: every output (N*H*W*C*multiplier) times kh*kw.
		const depthwise = node("DepthwiseConv2dNative", { strides: attr.ints([1, 1, 1, 1]) });
		assert.equal(kernelWork(depthwise, [tensor([1, 8, 8, 4]), tensor([3, 3, 4, 2])]), elements([1, 8, 8, 4], [3, 3, 4, 2]) + 8 * 8 * 4 * 2 * 9);
		// A 3x3 pool with stride 3 touches each input element once.
		const pool = node("AvgPool", { ksize: attr.ints([1, 3, 3, 1]), strides: attr.ints([1, 3, 3, 1]) });
		assert.equal(kernelWork(pool, [tensor([1, 9, 9, 2])]), 2 * 162);
		// An elementwise op counts only its input elements (its outputs are counted after it runs).
		assert.equal(kernelWork(node("Tanh"), [tensor([10, 10])]), 100);
	});

	it("parses --max-work counts in decimal units and refuses anything else as a usage error", () => {
		assert.equal(parseWorkSize("400M"), 400e6);
		assert.equal(parseWorkSize("2G"), 2e9);
		assert.equal(parseWorkSize("1.5e9"), 1.5e9);
		assert.equal(parseWorkSize("123456"), 123456);
		assert.throws(() => parseWorkSize("lots"), (e: unknown) => hasCode(e, "usage") && /--max-work must be a count of operations/.test((e as Error).message));
		assert.throws(() => parseWorkSize("0"), (e: unknown) => hasCode(e, "usage"));
	});

	it("knn run refuses a run past the budget with exit status 1 and passes with --max-work raised; knn deploy refuses it before building", () => {
		const dir = tempDir("work-budget");
		const { graph, last } = chainGraph(50);
		const model = path.join(dir, "chain.pb");
		fs.writeFileSync(model, encodeMessage(types.GraphDef, graph.toGraphDef()));
		const config = path.join(dir, "graph.config.pbtxt");
		fs.writeFileSync(config, `feed { id { node_name: "x" } shape { dim { size: 1 } dim { size: 8 } } }\nfetch { id { node_name: "${last}" } }\n`);
		const inputs = path.join(dir, "inputs.json");
		fs.writeFileSync(inputs, JSON.stringify({ feeds: { x: [[1, 2, 3, 4, 5, 6, 7, 8]] }, steps: 100 }));
		const knn = (...extra: string[]) => spawnSync(process.execPath, [cliPath(), "run", model, "--config", config, "--inputs", inputs, "--json", ...extra], { encoding: "utf8", timeout: 60_000 });
		const low = knn("--max-work", "500k");
		assert.equal(low.status, 1, low.stderr);
		assert.match(low.stderr, /100 step\(s\) of 52 nodes each needs at least 1,040,000 operations, more than the work budget of 500,000 operations/);
		const high = knn("--max-work=2M");
		assert.equal(high.status, 0, high.stderr);
		assert.equal(JSON.parse(high.stdout).steps.length, 100);
		const bad = knn("--max-work", "lots");
		assert.equal(bad.status, 2, bad.stderr);
		// knn deploy compares with the same run after the self-test: it refuses before building or loading anything.
		const deploy = spawnSync(process.execPath, [cliPath(), "deploy", model, "--config", config, "--inputs", inputs, "--target", "local", "--prefix", "overwork", "--max-work", "500k", "--json"], { encoding: "utf8", timeout: 60_000 });
		assert.equal(deploy.status, 1, deploy.stderr);
		const report = JSON.parse(deploy.stdout) as { error: string; stages: { name: string }[]; finalState: string };
		assert.match(report.error, /100 step\(s\) of 52 nodes each needs at least 1,040,000 operations/);
		assert.deepEqual(report.stages.map((s) => s.name), ["compile"]);
		assert.equal(report.finalState, "nothing loaded");
	});
});

describe("the straight-line executor", () => {
	it("counts the values a run holds at once against the memory budget's total, each tensor once", () => {
		// Fills of 6,000,000 float32 (22.9 MiB each) summed by AddN: each fits an 80 MiB budget on its own.
		const sumOfFills = (count: number) => {
			const g = new GraphBuilder();
			const fills = Array.from({ length: count }, (_, k) => filled(g, `fill_${k}`, [6_000_000]));
			// An Identity passes its input through: the same tensor, counted once.
			g.op("AddN", "sum", [g.op("Identity", "same", [fills[0]], { T: F }), ...fills.slice(1)], { T: F, N: attr.i(count) });
			return () => runGraph(Graph.fromGraphDef(g.def()), new Map(), [{ node: "sum", index: 0 }]);
		};
		withMemoryLimit(80 * 2 ** 20, () => {
			// Two inputs and the sum: 68.7 MiB.
			assert.equal(sumOfFills(2)()[0].data.length, 6_000_000);
			// Three inputs and the sum: 91.6 MiB.
			assert.throws(sumOfFills(3), (e: unknown) => e instanceof BudgetError
				&& /^node "sum" \(AddN\): the values the run holds alive after it needs 91\.6 MiB in total, more than the memory budget of 80\.0 MiB/.test((e as Error).message));
		});
	});

	it("gives the dataflow executor's values and errors on the same graph", () => {
		const random = mulberry32(11);
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [4, 6]);
		const w = g.constOf("w", "float32", Array.from({ length: 30 }, () => random() - 0.5), [6, 5]);
		const hidden = g.op("Tanh", "hidden", [g.op("MatMul", "mm", [x, w], { T: F })], { T: F });
		const split = g.op("Split", "split", [g.constOf("axis", "int32", [1], []), g.op("ConcatV2", "cat", [hidden, hidden, g.constOf("cat_axis", "int32", [1], [])], { T: F, N: attr.i(2), Tidx: I32 })], { T: F, num_split: attr.i(2) });
		const sum = g.op("AddV2", "sum", [split, `${split}:1`], { T: F });
		g.op("Sigmoid", "out", [sum], { T: F }, [hidden]);
		const graph = Graph.fromGraphDef(g.def());
		const fetches: TensorRef[] = [{ node: "out", index: 0 }, { node: "split", index: 1 }];
		const feeds = new Map([["x:0", makeTensor("float32", [4, 6], Array.from({ length: 24 }, () => random() * 2 - 1))]]);
		const prepared = prepareRun(graph, feeds.keys(), fetches);
		assert.ok(prepared.straight, "a graph without control flow takes the straight path");
		const straight = runGraph(graph, feeds, fetches, { prepared });
		const dataflow = runGraph(graph, feeds, fetches, { prepared: { ...prepared, straight: undefined } });
		assert.deepEqual(straight, dataflow);
		assert.equal(straight[0].shape.join(","), "4,5");
		// Out of range reads are the same error on both paths.
		const bad = Graph.fromGraphDef({ node: [...g.def().node!, { name: "reads", op: "Relu", input: ["hidden:3"], attr: { T: F } }] });
		const badFetch = [{ node: "reads", index: 0 }];
		const badPrepared = prepareRun(bad, feeds.keys(), badFetch);
		const message = /node "reads" reads output 3 of "hidden" \(Tanh\), which has only 1 output\(s\)/;
		assert.throws(() => runGraph(bad, feeds, badFetch, { prepared: badPrepared }), message);
		assert.throws(() => runGraph(bad, feeds, badFetch, { prepared: { ...badPrepared, straight: undefined } }), message);
	});
});

describe("nested while loops in the compiler", () => {
	/** `depth` while loops inside one another, each running once; the innermost adds one to the counter. */
	function nestedLoops(depth: number): Graph {
		const g = new GraphBuilder();
		const x = g.placeholder("x", "int32", []);
		const build = (level: number, init: string, limitOuter: string, oneOuter: string): string => {
			const frame = `loop${level}`;
			const limit = constantEnter(g, frame, "limit", limitOuter, "int32");
			const one = constantEnter(g, frame, "one", oneOuter, "int32");
			const [result] = whileLoop(g, frame, [{ init, dtype: "int32" }],
				([i]) => g.op("Less", `${frame}/less`, [i, limit], { T: I32 }),
				([i]) => [level + 1 < depth ? build(level + 1, i, limit, one) : g.op("AddV2", `${frame}/next`, [i, one], { T: I32 })]);
			return result;
		};
		const start = g.constOf("start", "int32", [0], []);
		g.op("AddV2", "out", [x, build(0, start, g.constOf("limit", "int32", [1], []), g.constOf("one", "int32", [1], []))], { T: I32 });
		return Graph.fromGraphDef(g.def());
	}
	const config = parseConfig(`feed { id { node_name: "x" } }\nfetch { id { node_name: "out" } }\n`, "graph.config.pbtxt").config;

	it("compiles 8 levels and refuses 65 with a CompileError naming the loop and the bound, not a stack overflow", () => {
		// Each outer body returns the inner loop's result as it is: the compiled C counts to x + 1 as the interpreter does.
		const model = compileModel(nestedLoops(8), config, "nested", "test");
		const x = makeTensor("int32", [], [41]);
		const interpreted = runGraph(nestedLoops(8), new Map([["x:0", x]]), [{ node: "out", index: 0 }]);
		assert.equal(interpreted[0].data[0], 42);
		if (!gccMissing) assert.equal(runHost(buildHost(model, tempDir("nested-loops")), model, [x], 1)[0][0].data[0], 42);
		assert.throws(() => compileModel(nestedLoops(65), config, "nested", "test"),
			(e: unknown) => e instanceof CompileError && /^loop "loop64" is nested more than 64 loops deep/.test(e.message));
	});
});

describe("knn quantize's planner on a deep graph", () => {
	it("plans a MatMul+BiasAdd+Relu and 20,000 Tanh after it without recursing once per node", () => {
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [1, 4]);
		const w = g.constOf("w", "float32", Array.from({ length: 12 }, (_, k) => (k % 5) / 5 - 0.4), [4, 3]);
		const biased = g.op("BiasAdd", "bias", [g.op("MatMul", "mm", [x, w], { T: F }), g.constOf("b", "float32", [0.1, -0.2, 0.3])], { T: F });
		let last = g.op("Relu", "relu", [biased], { T: F });
		for (let i = 0; i < 20_000; i++) last = g.op("Tanh", `t${i}`, [last], { T: F });
		const graph = Graph.fromGraphDef(g.def());
		const feeds = [{ ref: { node: "x", index: 0 }, shape: [1, 4], dtype: "float32" as const }];
		const fetches = [{ node: last, index: 0 }];
		const plan = planQuantization(graph, inferGraph(graph, feeds, fetches), [feeds[0].ref], fetches, [last]);
		// QUANTIZE, one FULLY_CONNECTED with the bias and the Relu fused, 20,000 TANH, DEQUANTIZE.
		assert.deepEqual(plan.ops.map((op) => op.code).filter((code, i, all) => all.indexOf(code) === i), ["QUANTIZE", "FULLY_CONNECTED", "TANH", "DEQUANTIZE"]);
		assert.equal(plan.ops.length, 20_003);
		const fc = plan.ops[1];
		assert.deepEqual(fc.nodes.map((n) => n.name), ["mm", "bias", "relu"]);
		assert.equal(fc.activation, "RELU");
	});
});
