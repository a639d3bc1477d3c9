import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { buildSync } from "esbuild";
import { compileModel } from "../../extension/core/codegen/compile";
import { CompileError } from "../../extension/core/codegen/lower";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { parseConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import type { AttrValue } from "../../extension/core/frontends/tf/proto/types";
import { Graph } from "../../extension/core/graph/graph";
import { allocate, makeTensor, scalar, tensorFromProto } from "../../extension/core/graph/tensor";
import { KernelError } from "../../extension/core/interp/kernel";
import { KERNELS } from "../../extension/core/interp/kernels";
import { writeCompiledModule } from "../../extension/core/kmod/moduleProject";
import { MAX_STEPS, StepInputError, parseStepInputs } from "../../extension/core/model/steps";
import { BudgetError, DEFAULT_MEMORY_LIMIT, TensorSizeError, parseMemorySize, withMemoryLimit } from "../../extension/core/util/budget";
import { hasCode } from "../../extension/core/util/errors";
import { ConfigCheckWorker } from "../../extension/vscode/configCheckClient";
import { cliPath, tempDir } from "../support/cli";
import { GraphBuilder, attr } from "../support/graphBuilder";

const F = attr.type("float32");
const I32 = attr.type("int32");
const ONE_GIB_KIB = 1024 * 1024;

// A config feeding x as a [1] vector and fetching `out`, written out as a user would (buildConfig would run the graph).
const CONFIG = `feed { id { node_name: "x" } shape { dim { size: 1 } } }\nfetch { id { node_name: "out" } }\n`;

/** A 1e9-element Fill added to the feed: the 238-byte file of the report. */
function fillGraph(elements: number): GraphBuilder {
	const g = new GraphBuilder();
	const x = g.placeholder("x", "float32", [1]);
	const fill = g.op("Fill", "huge_fill", [g.constOf("dims", "int32", [elements]), g.constOf("value", "float32", [1], [])], { T: F, index_type: I32 });
	g.op("AddV2", "out", [x, fill], { T: F });
	return g;
}

/** The feed tiled 2e9 times. */
function tileGraph(): GraphBuilder {
	const g = new GraphBuilder();
	const x = g.placeholder("x", "float32", [1]);
	g.op("Tile", "out", [x, g.constOf("multiples", "int32", [2e9])], { T: F, Tmultiples: I32 });
	return g;
}

/** A constant declaring 2^31-1 float elements and giving one value, which TensorFlow repeats. */
function splatGraph(): GraphBuilder {
	const g = new GraphBuilder();
	const x = g.placeholder("x", "float32", [1]);
	const value: AttrValue = { tensor: { dtype: 1, tensor_shape: { dim: [{ size: 2 ** 31 - 1 }] }, float_val: [1] } };
	g.op("Const", "splat", [], { dtype: F, value });
	g.op("AddV2", "out", [x, "splat"], { T: F });
	return g;
}

function writeModel(g: GraphBuilder, name: string): { dir: string; model: string; config: string; inputs: string } {
	const dir = tempDir(`budget-${name}`);
	const model = path.join(dir, `${name}.pb`);
	fs.writeFileSync(model, encodeMessage(types.GraphDef, Graph.fromGraphDef(g.def()).toGraphDef()));
	const config = path.join(dir, "graph.config.pbtxt");
	fs.writeFileSync(config, CONFIG);
	const inputs = path.join(dir, "inputs.json");
	fs.writeFileSync(inputs, JSON.stringify({ feeds: { x: [2] } }));
	return { dir, model, config, inputs };
}

interface Measured {
	status: number | null;
	output: string;
	ms: number;
	peakKiB: number;
}

/** Runs the bundled CLI as a user would, killed after 20 s, with the child's own peak RSS reported on exit. */
function knnMeasured(...args: string[]): Measured {
	const start = performance.now();
	const result = spawnSync(process.execPath, [cliPath(), ...args], {
		encoding: "utf8", timeout: 20_000, maxBuffer: 16 << 20, env: { ...process.env, KNN_REPORT_PEAK_RSS: "1" },
	});
	const ms = performance.now() - start;
	const peak = /knn: peak RSS (\d+) KiB/.exec(result.stderr ?? "");
	return { status: result.status, output: `${result.stdout}\n${result.stderr}`, ms, peakKiB: peak ? Number(peak[1]) : Infinity };
}

const HOSTILE = [
	{ name: "fill", build: () => fillGraph(1e9), node: "huge_fill", shape: "[1000000000]" },
	{ name: "tile", build: tileGraph, node: "out", shape: "[2000000000]" },
	{ name: "splat", build: splatGraph, node: "splat", shape: "[2147483647]" },
];

describe("one memory budget for every tensor the tools materialise", () => {
	it("the Fill model is a few hundred bytes, as in the report", () => {
		const bytes = encodeMessage(types.GraphDef, Graph.fromGraphDef(fillGraph(1e9).def()).toGraphDef()).length;
		assert.ok(bytes < 400, `${bytes} bytes`);
	});

	for (const hostile of HOSTILE) {
		for (const command of ["run", "config --check", "compile"]) {
			it(`knn ${command} on the ${hostile.name} model fails within 10 s and 1 GiB, naming node "${hostile.node}", its shape and the limit`, () => {
				const files = writeModel(hostile.build(), hostile.name);
				const args = command === "run" ? ["run", files.model, "--config", files.config, "--inputs", files.inputs]
					: command === "compile" ? ["compile", files.model, "--config", files.config, "--prefix", "hostile", "--out", path.join(files.dir, "out")]
						: ["config", files.model, "--check", files.config];
				const result = knnMeasured(...args);
				assert.equal(result.status, 1, result.output);
				assert.ok(result.ms < 10_000, `${result.ms.toFixed(0)} ms`);
				assert.ok(result.peakKiB < ONE_GIB_KIB, `peak RSS ${result.peakKiB} KiB`);
				assert.match(result.output, new RegExp(`node "${hostile.node}"`));
				assert.ok(result.output.includes(hostile.shape), result.output);
				assert.match(result.output, /more than the memory budget of 512\.0 MiB; .*raise the budget with --max-memory/);
				assert.doesNotMatch(result.output, /Invalid typed array length|Invalid array length|heap out of memory|at .*\.js:\d+/);
				if (command === "compile") assert.ok(!fs.existsSync(path.join(files.dir, "out")), "compile wrote files before failing");
			});
		}
	}

	it("--max-memory sets the budget: 20,000,000 float32 elements fail under 64M; the Fill and the sum alive together (152.6 MiB) pass under 160M", () => {
		const files = writeModel(fillGraph(20_000_000), "fill-20m");
		const low = knnMeasured("config", files.model, "--check", files.config, "--max-memory", "64M");
		assert.equal(low.status, 1, low.output);
		assert.match(low.output, /node "huge_fill" \(Fill\): a float32 tensor of shape \[20000000\] needs 76\.3 MiB \(20,000,000 elements\), more than the memory budget of 64\.0 MiB/);
		const high = knnMeasured("config", files.model, "--check", files.config, "--max-memory=160M");
		assert.equal(high.status, 0, high.output);
		assert.match(high.output, /valid \(1 feeds, 1 fetches\)/);
	});

	it("a malformed --max-memory is a usage error naming the flag", () => {
		assert.throws(() => parseMemorySize("lots"), (e: unknown) => hasCode(e, "usage") && /--max-memory must be a size/.test((e as Error).message));
		assert.equal(parseMemorySize("1.5G"), 1.5 * 2 ** 30);
		assert.equal(parseMemorySize("800MB"), 800 * 2 ** 20);
		assert.equal(DEFAULT_MEMORY_LIMIT, 512 * 2 ** 20);
	});

	it("a constant declaring 2^31-1 repeats is refused before it is expanded", () => {
		const start = performance.now();
		const proto = { dtype: 1, tensor_shape: { dim: [{ size: 2 ** 31 - 1 }] }, float_val: [1] };
		assert.throws(() => tensorFromProto(proto, `node "splat" attribute "value"`), (e: unknown) =>
			e instanceof BudgetError && hasCode(e, "budget") && /^node "splat" attribute "value": a float32 tensor of shape \[2147483647\] needs 8\.0 GiB/.test(e.message));
		assert.ok(performance.now() - start < 1000);
	});

	it("sizes that are not counts are typed errors, never V8's \"Invalid typed array length\"", () => {
		for (const size of [Infinity, NaN, -1, 2.5]) {
			assert.throws(() => allocate("float32", size), (e: unknown) => e instanceof TensorSizeError || e instanceof BudgetError, `size ${size}`);
		}
		assert.throws(() => makeTensor("int32", [3, NaN]), (e: unknown) => e instanceof TensorSizeError && /dimension 1 is NaN/.test((e as Error).message));
		assert.throws(() => makeTensor("float32", [2 ** 40, 2 ** 40]), BudgetError);
	});

	it("withMemoryLimit scopes a budget and restores the previous one", () => {
		assert.throws(() => withMemoryLimit(1024, () => allocate("float64", 200)), /more than the memory budget of 1\.0 KiB/);
		assert.equal((allocate("float64", 200) as Float64Array).length, 200);
	});
});

describe("bounded steps and clear kernel errors", () => {
	it(`"steps": 1e9 is refused, stating the bound of ${MAX_STEPS} steps`, () => {
		const inputs = JSON.parse(`{"feeds": {"x": [1]}, "steps": 1e9}`) as unknown;
		assert.throws(() => parseStepInputs(inputs, "inputs.json"), (e: unknown) =>
			e instanceof StepInputError && /^inputs\.json: "steps" asks for 1000000000 steps, more than the 1,000,000 steps one run may take/.test(e.message));
	});

	it("Range with a NaN or infinite limit is a KernelError naming the node and the value", () => {
		const g = new GraphBuilder();
		g.op("Range", "range", [], { Tidx: F });
		const node = g.node("range");
		const range = KERNELS.get("Range")!;
		for (const [limit, text] of [[NaN, "NaN"], [Infinity, "Infinity"], [-Infinity, "-Infinity"]] as const) {
			assert.throws(() => range([scalar("float32", 0), scalar("float32", limit), scalar("float32", 1)], node), (e: unknown) =>
				e instanceof KernelError && (e as Error).message === `node "range" (Range): limit is ${text}; a range needs finite start, limit and delta`);
		}
	});

	it("Tile to 2e9 elements is a BudgetError naming the node, not a KernelError about the inputs", () => {
		const g = tileGraph();
		assert.throws(() => KERNELS.get("Tile")!([makeTensor("float32", [1], [1]), makeTensor("int32", [1], [2e9])], g.node("out")), (e: unknown) =>
			e instanceof BudgetError && /^node "out" \(Tile\): a float32 tensor of shape \[2000000000\]/.test((e as Error).message));
	});
});

describe("a zero-size result", () => {
	function emptySlice(): GraphBuilder {
		const g = new GraphBuilder();
		const x = g.placeholder("x", "float32", [1]);
		g.op("Slice", "out", [x, g.constOf("begin", "int32", [0]), g.constOf("size", "int32", [0])], { T: F, Index: I32 });
		return g;
	}

	it("writing its kernel module is refused with a CompileError naming the fetch and its shape, before any file exists", () => {
		const graph = Graph.fromGraphDef(emptySlice().def());
		const compiled = compileModel(graph, parseConfig(CONFIG, "graph.config.pbtxt").config, "empty", "test");
		const out = path.join(tempDir("budget-empty-module"), "module");
		assert.throws(() => writeCompiledModule(out, compiled, "selftest"), (e: unknown) =>
			e instanceof CompileError && /^fetch "out" \(node "out"\) has shape \[0\], which holds no elements/.test((e as Error).message));
		assert.ok(!fs.existsSync(out));
	});

	it("knn compile fails with it before writing any file", () => {
		const files = writeModel(emptySlice(), "empty");
		const out = path.join(files.dir, "out");
		const result = knnMeasured("compile", files.model, "--config", files.config, "--prefix", "empty", "--out", out);
		assert.equal(result.status, 1, result.output);
		assert.match(result.output, /fetch "out" .* holds no elements/);
		assert.ok(!fs.existsSync(out) || fs.readdirSync(out).length === 0, "compile wrote files before failing");
	});
});

describe("the editor's config check runs in a worker thread", () => {
	// The worker as esbuild.mjs ships it: one CommonJS bundle loaded by file name.
	let bundled: string | undefined;
	const workerScript = (): string => {
		if (!bundled) {
			const dir = tempDir("budget-worker");
			bundled = path.join(dir, "configCheckWorker.js");
			buildSync({
				entryPoints: [path.resolve(__dirname, "../../extension/vscode/configCheckWorker.ts")], outfile: bundled,
				bundle: true, platform: "node", format: "cjs", target: "node20", logLevel: "warning",
			});
		}
		return bundled;
	};

	it("reports the hostile Fill as an error of the config, without running it on the caller's thread", async () => {
		const files = writeModel(fillGraph(1e9), "worker-fill");
		const worker = new ConfigCheckWorker(workerScript(), 30_000);
		try {
			await assert.rejects(worker.check(files.model, files.config, CONFIG), (e: unknown) =>
				hasCode(e, "budget") && /node "huge_fill" \(Fill\)/.test((e as Error).message));
			const valid = writeModel(fillGraph(4), "worker-small");
			assert.deepEqual(await worker.check(valid.model, valid.config, CONFIG), []);
		} finally {
			worker.dispose();
		}
	});

	it("a check over its time is stopped with a timeout error instead of blocking", async () => {
		const files = writeModel(fillGraph(4), "worker-timeout");
		const hasty = new ConfigCheckWorker(workerScript(), 1);
		try {
			await assert.rejects(hasty.check(files.model, files.config, CONFIG), (e: unknown) => hasCode(e, "timeout") && /took longer than 0\.001 s and was stopped/.test((e as Error).message));
		} finally {
			hasty.dispose();
		}
	});
});
