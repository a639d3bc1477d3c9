import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph } from "../../extension/core/graph/graph";
import { MAX_RANK, fromNested, makeTensor, numbers, toNested } from "../../extension/core/graph/tensor";
import { parseInputsJson } from "../../extension/core/model/inputsJson";
import { StepInputError, runSteps } from "../../extension/core/model/steps";
import { type CliResult, cliPath, knn, tempDir } from "../support/cli";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { buildHost, gccMissing, runHost } from "../support/hostBuild";

const X = [1, 2, 3, 4];
// Halves, quarters and whole numbers: every partial sum of the chain is exact in float32, so the float64
// closed form x + adds * step is what any correct evaluation returns, bit for bit.
const STEP = [0.5, 0.25, 1, 2];
const CONFIG = `feed { id { node_name: "x" } shape { dim { size: 4 } } }\nfetch { id { node_name: "out" } }\n`;

function varint(n: number): number[] {
	const bytes: number[] = [];
	while (n > 127) {
		bytes.push((n & 127) | 128);
		n = Math.floor(n / 128);
	}
	bytes.push(n);
	return bytes;
}

function field(tag: number, body: Uint8Array | number[]): number[] {
	return [tag, ...varint(body.length), ...body];
}

const utf8 = (text: string) => new TextEncoder().encode(text);
// attr { key: "T" value { type: DT_FLOAT } }, NodeDef field 5.
const FLOAT_T = field(0x2a, [...field(0x0a, utf8("T")), ...field(0x12, [0x30, 1])]);

/**
 * Writes a binary GraphDef: Placeholder x [4] and Const "step", then `length` nodes each reading the one before,
 * an AddV2 of "step" every `addEvery`-th and an Identity otherwise, the last named "out". The chain is encoded
 * by hand (GraphDef's repeated `node` field concatenates), so writing a million nodes takes a second.
 */
function writeChain(file: string, length: number, addEvery: number): number {
	const head = new GraphBuilder();
	head.placeholder("x", "float32", [4]);
	head.const("step", makeTensor("float32", [4], STEP));
	const chunks: Uint8Array[] = [encodeMessage(types.GraphDef, head.def())];
	let previous = "x";
	let adds = 0;
	let batch: number[] = [];
	for (let i = 1; i <= length; i++) {
		const name = i === length ? "out" : `n${i}`;
		const add = i % addEvery === 0;
		if (add) adds++;
		const inputs = add ? [previous, "step"] : [previous];
		const node = [...field(0x0a, utf8(name)), ...field(0x12, utf8(add ? "AddV2" : "Identity")), ...inputs.flatMap((input) => field(0x1a, utf8(input))), ...FLOAT_T];
		batch.push(...field(0x0a, node));
		if (batch.length > 1 << 20) {
			chunks.push(Uint8Array.from(batch));
			batch = [];
		}
		previous = name;
	}
	chunks.push(Uint8Array.from(batch));
	fs.writeFileSync(file, Buffer.concat(chunks));
	return adds;
}

const expected = (adds: number) => X.map((x, i) => x + adds * STEP[i]);

/**
 * `knn ARGS...` with the child's CPU time (user + system, from bash's `times`): other work on a busy machine
 * stretches wall time but not this, so the growth from 250,000 to 1,000,000 nodes is the code's own.
 */
function timedKnn(...args: string[]): CliResult & { cpu: number } {
	const start = performance.now();
	const result = spawnSync("bash", ["-c", '"$0" "$@"; status=$?; times >&2; exit $status', process.execPath, cliPath(), ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
	const ms = performance.now() - start;
	const lines = result.stderr.trimEnd().split("\n");
	const seconds = (lines.at(-1) ?? "").split(" ").map((t) => /^(\d+)m([\d.]+)s$/.exec(t)).map((m) => (m ? Number(m[1]) * 60 + Number(m[2]) : NaN));
	assert.equal(seconds.length, 2, `bash's times printed ${lines.at(-1)}`);
	return { status: result.status ?? -1, stdout: result.stdout, stderr: lines.slice(0, -2).join("\n"), ms, cpu: (seconds[0] + seconds[1]) * 1000 };
}

interface ChainTimes {
	inspect: number;
	check: number;
	run: number;
	compile: number;
	cBytes: number;
}

/** The chain of `nodes` nodes in total through the four commands a user runs on a model, each timed. */
function throughTheCli(nodes: number, addEvery: number): ChainTimes {
	const dir = tempDir(`chain${nodes}`);
	try {
		const model = path.join(dir, "chain.pb");
		const adds = writeChain(model, nodes - 2, addEvery);
		const config = path.join(dir, "chain.config.pbtxt");
		fs.writeFileSync(config, CONFIG);
		const inputs = path.join(dir, "inputs.json");
		fs.writeFileSync(inputs, JSON.stringify({ feeds: { x: X } }));

		const inspect = timedKnn("inspect", model);
		assert.equal(inspect.status, 0, inspect.stderr);
		assert.match(inspect.stdout, new RegExp(`nodes\\s+${nodes}\\b`));
		const check = timedKnn("config", model, "--check", config);
		assert.equal(check.status, 0, check.stderr);
		assert.match(check.stderr, /valid \(1 feeds, 1 fetches\)/);
		const run = timedKnn("run", model, "--config", config, "--inputs", inputs, "--json");
		assert.equal(run.status, 0, run.stderr);
		assert.deepEqual(JSON.parse(run.stdout).steps[0].out, expected(adds));
		const out = path.join(dir, "module");
		const compile = timedKnn("compile", model, "--config", config, "--prefix", "chain", "--out", out);
		assert.equal(compile.status, 0, compile.stderr);
		const cBytes = fs.statSync(path.join(out, "chain_model.c")).size;
		const times = { inspect: inspect.cpu, check: check.cpu, run: run.cpu, compile: compile.cpu, cBytes };
		const both = (r: { cpu: number; ms: number }) => `${seconds(r.cpu)} CPU (${seconds(r.ms)} wall)`;
		console.log(`${nodes} nodes (${adds} AddV2): inspect ${both(inspect)}, config --check ${both(check)}, run ${both(run)}, compile ${both(compile)}; chain_model.c ${cBytes} bytes`);
		return times;
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

const seconds = (t: number) => `${(t / 1000).toFixed(1)} s`;

describe("graphs far deeper than the call stack", () => {
	it("a 1,000,000-node chain goes through inspect, config --check, run and compile in time linear in its length", () => {
		// An AddV2 every 100th node: 10,000 kernels in the C, the rest Identity aliases that cost no code.
		const quarter = throughTheCli(250_000, 100);
		const full = throughTheCli(1_000_000, 100);
		for (const command of ["inspect", "check", "run", "compile"] as const) {
			// Linear work grows 4x from a quarter of the chain; quadratic work would grow 16x.
			assert.ok(full[command] < 8 * quarter[command] + 2000, `${command}: ${seconds(full[command])} CPU for 1,000,000 nodes against ${seconds(quarter[command])} for 250,000`);
			assert.ok(full[command] < 180_000, `${command} took ${seconds(full[command])} CPU on 1,000,000 nodes`);
		}
		assert.ok(full.cBytes < 8 * quarter.cBytes, `the C grows with the kernels, not faster: ${full.cBytes} against ${quarter.cBytes} bytes`);
	});

	it("a 5,000-node chain of AddV2 with a constant compiles, builds with gcc and computes the closed form", { skip: gccMissing }, () => {
		const b = new GraphBuilder();
		b.placeholder("x", "float32", [4]);
		b.const("step", makeTensor("float32", [4], STEP));
		let previous = "x";
		for (let i = 1; i <= 5000; i++) previous = b.op("AddV2", i === 5000 ? "out" : `n${i}`, [previous, "step"], { T: attr.type("float32") });
		const graph = Graph.fromGraphDef(b.def());
		const { config } = buildConfig(graph, [{ ref: { node: "x", index: 0 }, shape: [4] }], [{ ref: { node: "out", index: 0 } }]);
		const model = compileModel(graph, config, "chain5k", "5,000 AddV2");
		const dir = tempDir("chain5k");
		try {
			const compiled = runHost(buildHost(model, dir), model, [makeTensor("float32", [4], X)], 1)[0][0];
			const interpreted = runSteps(graph, config, { feeds: { x: X } })[0][0];
			assert.deepEqual(Array.from(numbers(compiled)), expected(5000));
			assert.deepEqual(Array.from(numbers(interpreted)), expected(5000));
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	it("a cycle outside any while loop is reported as a cycle naming its nodes, by knn run and knn compile", () => {
		const dir = tempDir("cycle");
		try {
			const b = new GraphBuilder();
			b.placeholder("x", "float32", [4]);
			b.op("AddV2", "sum", ["x", "back"], { T: attr.type("float32") });
			b.op("Identity", "through", ["sum"], { T: attr.type("float32") });
			// A NextIteration that feeds no Merge does not close a while loop.
			b.op("NextIteration", "back", ["through"], { T: attr.type("float32") });
			b.op("Identity", "out", ["sum"], { T: attr.type("float32") });
			const model = path.join(dir, "cycle.pb");
			fs.writeFileSync(model, encodeMessage(types.GraphDef, b.def()));
			fs.writeFileSync(path.join(dir, "cycle.config.pbtxt"), CONFIG);
			fs.writeFileSync(path.join(dir, "inputs.json"), JSON.stringify({ feeds: { x: X } }));
			const config = path.join(dir, "cycle.config.pbtxt");
			for (const result of [
				knn("run", model, "--config", config, "--inputs", path.join(dir, "inputs.json")),
				knn("compile", model, "--config", config, "--prefix", "cycle", "--out", path.join(dir, "module")),
			]) {
				assert.equal(result.status, 1, result.stderr);
				assert.match(result.stderr, /cycle/);
				for (const name of ["sum", "through", "back"]) assert.match(result.stderr, new RegExp(`"${name}"`));
				assert.doesNotMatch(result.stderr, /dead|never finished/);
			}
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});

describe("inputs nested deeper than any tensor", () => {
	it("an inputs.json nested 100,000 deep is a StepInputError naming the file and the depth in knn run", () => {
		const dir = tempDir("deepInputs");
		try {
			const b = new GraphBuilder();
			b.placeholder("x", "float32", [4]);
			b.op("Identity", "out", ["x"], { T: attr.type("float32") });
			const model = path.join(dir, "identity.pb");
			fs.writeFileSync(model, encodeMessage(types.GraphDef, b.def()));
			const config = path.join(dir, "identity.config.pbtxt");
			fs.writeFileSync(config, CONFIG);
			const inputs = path.join(dir, "deep.json");
			fs.writeFileSync(inputs, `{"feeds":{"x":${"[".repeat(100_000)}1${"]".repeat(100_000)}}}`);
			const result = knn("run", model, "--config", config, "--inputs", inputs);
			assert.equal(result.status, 1, result.stderr);
			assert.ok(result.stderr.includes(inputs), result.stderr);
			assert.match(result.stderr, /nested 100002 levels deep, more than the 257/);
			assert.doesNotMatch(result.stderr, /Maximum call stack|RangeError/);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	it("parseInputsJson names the depth of deep JSON and leaves strings' brackets and malformed JSON alone", () => {
		assert.throws(() => parseInputsJson(`${"[".repeat(300)}${"]".repeat(300)}`, "in.json"), (e: Error) => e instanceof StepInputError && /^in\.json: the JSON is nested 300 levels deep/.test(e.message));
		assert.deepEqual(parseInputsJson(`{"feeds": {"x": "${"[".repeat(1000)}"}}`, "in.json"), { feeds: { x: "[".repeat(1000) } });
		assert.throws(() => parseInputsJson("{", "in.json"), SyntaxError);
	});

	it("fromNested refuses nesting deeper than TensorFlow's largest rank, and reads and writes that rank without recursion", () => {
		let deep: unknown = 7;
		for (let i = 0; i < MAX_RANK + 1; i++) deep = [deep];
		assert.throws(() => fromNested(deep, "float32", "in.json: feeds[\"x\"]"), /in\.json: feeds\["x"\]: arrays are nested more than 254 levels deep/);
		let widest: unknown = 7;
		for (let i = 0; i < MAX_RANK; i++) widest = [widest];
		const tensor = fromNested(widest, "float32", "rank 254");
		assert.equal(tensor.shape.length, MAX_RANK);
		assert.deepEqual(toNested(tensor), widest);
	});

	it("fromNested and toNested keep the element order and name the element that is wrong", () => {
		const nested = [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]];
		const tensor = fromNested(nested, "float32", "t");
		assert.deepEqual(tensor.shape, [2, 3, 2]);
		assert.deepEqual(Array.from(numbers(tensor)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
		assert.deepEqual(toNested(tensor), nested);
		assert.deepEqual(toNested(makeTensor("float32", [2, 0], [])), [[], []]);
		assert.deepEqual(toNested(makeTensor("float32", [0, 3], [])), []);
		assert.throws(() => fromNested([[1, 2], [3, "x"]], "float32", "t"), /^TypeError: t\[1\]\[1\]: expected a number, got "x"$/);
		assert.throws(() => fromNested([[1, 2], [3]], "float32", "t"), /t\[1\]: expected an array of 2 elements/);
	});
});
