import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { MAX_INPUTS_TEXT, selftestParameters } from "../../extension/core/deploy/moduleParameters";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { buildConfig, formatConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph } from "../../extension/core/graph/graph";
import { type Tensor, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { type StepInputs, StepInputError, parseStepInputs, runSteps } from "../../extension/core/model/steps";
import { describeInputs } from "../../extension/vscode/deployInputs";
import { knn, tempDir } from "../support/cli";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { buildHost, gccMissing, runHostBlocks } from "../support/hostBuild";

// A recurrent cell y = tanh(x W + b + h U) with h fed back from y: small enough to write its float64 closed form here.
const W = [[0.5, -0.25], [0.75, 0.125]];
const U = [[-0.5, 0.25], [0.375, 0.625]];
const B = [0.1, -0.2];
const T = attr.type("float32");

function cellGraph(): Graph {
	const g = new GraphBuilder();
	const x = g.placeholder("x", "float32", [1, 2]);
	const h = g.placeholder("h", "float32", [1, 2]);
	const mm = { T, transpose_a: attr.b(false), transpose_b: attr.b(false) };
	const xw = g.op("MatMul", "xw", [x, g.constOf("W", "float32", W.flat(), [2, 2])], mm);
	const biased = g.op("BiasAdd", "biased", [xw, g.constOf("b", "float32", B)], { T });
	const hu = g.op("MatMul", "hu", [h, g.constOf("U", "float32", U.flat(), [2, 2])], mm);
	g.op("Tanh", "y", [g.op("AddV2", "pre", [biased, hu], { T })], { T });
	return Graph.fromGraphDef(g.def());
}

function cellConfig(graph: Graph) {
	return buildConfig(graph, [{ ref: { node: "x", index: 0 }, shape: [1, 2] }, { ref: { node: "h", index: 0 }, shape: [1, 2] }], [{ ref: { node: "y", index: 0 } }]).config;
}

function cellClosedForm(x: number[], h: number[]): number[] {
	return [0, 1].map((j) => Math.tanh(x[0] * W[0][j] + x[1] * W[1][j] + B[j] + h[0] * U[0][j] + h[1] * U[1][j]));
}

// Three rows of a data set; row 1 also resets the recurrent state, row 2 takes it fed back.
const ROWS = [[0.5, -1], [1, 2], [-0.3, 0.7]];
const H0 = [0.25, -0.5];
const H1_RESET = [0.1, 0.2];
const DATA_SET: StepInputs = {
	feeds: { h: [H0] },
	feedsPerStep: [{ x: [ROWS[0]] }, { x: [ROWS[1]], h: [H1_RESET] }, { x: [ROWS[2]] }],
	feedback: { h: "y" },
};

/** What each step must compute, by the precedence entry > feedback > feeds > zeros, in float64. */
function expectedSteps(): number[][] {
	const y0 = cellClosedForm(ROWS[0], H0);
	const y1 = cellClosedForm(ROWS[1], H1_RESET);
	const y2 = cellClosedForm(ROWS[2], y1);
	return [y0, y1, y2];
}

function assertClose(actual: ArrayLike<number>, expected: number[], what: string, tolerance = 1e-6): void {
	assert.equal(actual.length, expected.length, `${what}: length`);
	expected.forEach((want, i) => assert.ok(Math.abs(actual[i] - want) <= tolerance, `${what}[${i}]: got ${actual[i]}, expected ${want}`));
}

const floatBits = (value: number) => {
	const view = new DataView(new ArrayBuffer(4));
	view.setFloat32(0, value, true);
	return view.getUint32(0, true).toString(16).padStart(8, "0");
};

describe("inputs files with feedsPerStep: one data set row per step", () => {
	it("parse errors name the file, the entry index and what to give", () => {
		const cases: [unknown, RegExp][] = [
			[{ steps: 2 }, /data\.json: give "feeds" .* or "feedsPerStep"/],
			[{ feedsPerStep: {} }, /data\.json: "feedsPerStep" must be a non-empty array/],
			[{ feedsPerStep: [] }, /data\.json: "feedsPerStep" must be a non-empty array/],
			[{ feedsPerStep: [{ x: [[1, 2]] }, [1, 2]] }, /data\.json: feedsPerStep\[1\] must be an object/],
			[{ feedsPerStep: [{ x: [[1, 2]] }], steps: 2 }, /data\.json: "steps" is 2 but "feedsPerStep" has only 1 entries/],
			[{ feeds: [], feedsPerStep: [{}] }, /data\.json: "feeds" must be an object/],
		];
		for (const [value, pattern] of cases) assert.throws(() => parseStepInputs(value, "data.json"), (error: Error) => error instanceof StepInputError && pattern.test(error.message), JSON.stringify(value));
	});

	it("steps default to the number of entries; fewer steps than entries run the first ones; feeds may be left out", () => {
		assert.equal(parseStepInputs({ feedsPerStep: [{}, {}, {}] }, "f").feedsPerStep?.length, 3);
		const graph = cellGraph();
		const config = cellConfig(graph);
		assert.equal(runSteps(graph, config, parseStepInputs(JSON.parse(JSON.stringify(DATA_SET)), "f")).length, 3);
		assert.equal(runSteps(graph, config, { ...DATA_SET, steps: 2 }).length, 2);
		const noFeeds = parseStepInputs({ feedsPerStep: [{ x: [ROWS[0]], h: [H0] }] }, "f");
		assertClose(numbers(runSteps(graph, config, noFeeds)[0][0]), cellClosedForm(ROWS[0], H0), "no feeds");
	});

	it("errors against the config name the file, the entry index and the feed", () => {
		const graph = cellGraph();
		const config = cellConfig(graph);
		const cases: [StepInputs, RegExp][] = [
			[{ feeds: {}, feedsPerStep: [{ x: [ROWS[0]], h: [H0] }, { x: [ROWS[1]], z: [[1]] }] }, /data\.json: feedsPerStep\[1\] names "z", which is not a feed of the config \(feeds: x, h\)/],
			[{ feeds: { h: [H0] }, feedsPerStep: [{ x: [ROWS[0]] }, { x: [[1, 2, 3]] }] }, /data\.json: feedsPerStep\[1\]\["x"\] has shape \[1,3\] but the config's feed "x" is \[1,2\]/],
			[{ feeds: { h: [H0] }, feedsPerStep: [{ x: [ROWS[0]] }, {}] }, /data\.json: no value for feed "x" \[1,2\] at step 1: give it in feedsPerStep\[1\] or in "feeds"/],
			[{ feeds: {}, feedsPerStep: [{ x: [ROWS[0]] }] }, /data\.json: no value for feed "h" \[1,2\] at step 0/],
			[{ feeds: {}, feedsPerStep: [{ x: [ROWS[0]], h: [["a", 1]] }] }, /data\.json: feedsPerStep\[0\]\["h"\]\[0\]\[0\]: expected a number/],
			[{ ...DATA_SET, feedback: { h: "nope" } }, /data\.json: feedback source "nope" is not a fetch of the config/],
		];
		for (const [inputs, pattern] of cases) assert.throws(() => runSteps(graph, config, inputs, "data.json"), (error: Error) => error instanceof StepInputError && pattern.test(error.message), JSON.stringify(inputs));
	});

	it("the interpreter runs entry i at step i, with precedence entry > feedback > feeds, equal to the float64 closed form and to one run per entry", () => {
		const graph = cellGraph();
		const config = cellConfig(graph);
		const results = runSteps(graph, config, DATA_SET);
		const expected = expectedSteps();
		results.forEach((outputs, step) => assertClose(numbers(outputs[0]), expected[step], `step ${step}`));
		// The same rows run one file per row, each feeding the state the data set's precedence gives that step.
		const states = [H0, H1_RESET, Array.from(numbers(results[1][0]))];
		ROWS.forEach((row, step) => {
			const single = runSteps(graph, config, { feeds: { x: [row], h: [states[step]] } });
			assert.deepEqual(Array.from(numbers(single[0][0])), Array.from(numbers(results[step][0])), `step ${step} alone`);
		});
	});

	it("knn run of a data set prints every step, equal to the float64 closed form", () => {
		const dir = tempDir("feeds-per-step-run");
		const g = cellGraph();
		const model = path.join(dir, "cell.pb");
		fs.writeFileSync(model, encodeMessage(types.GraphDef, g.toGraphDef()));
		const config = path.join(dir, "cell.config.pbtxt");
		fs.writeFileSync(config, formatConfig(cellConfig(g)));
		const inputs = path.join(dir, "data.json");
		fs.writeFileSync(inputs, JSON.stringify(DATA_SET));
		const result = knn("run", model, "--config", config, "--inputs", inputs, "--json");
		assert.equal(result.status, 0, result.stderr);
		const steps = (JSON.parse(result.stdout) as { steps: { y: number[][] }[] }).steps;
		assert.equal(steps.length, 3);
		expectedSteps().forEach((want, step) => assertClose(steps[step].y[0], want, `knn run step ${step}`));
		fs.writeFileSync(inputs, JSON.stringify({ ...DATA_SET, steps: 4 }));
		const tooMany = knn("run", model, "--config", config, "--inputs", inputs);
		assert.equal(tooMany.status, 1);
		assert.match(tooMany.stderr, /data\.json: "steps" is 4 but "feedsPerStep" has only 3 entries/);
	});

	it("the self-test's parameters hold one block of argument words per step, a reset of fed-back state as given=STEP:ARG, and feedback", () => {
		const graph = cellGraph();
		const config = cellConfig(graph);
		const { list } = selftestParameters(graph, config, DATA_SET, "data.json");
		const words = [
			...ROWS[0], ...H0,
			...ROWS[1], ...H1_RESET,
			...ROWS[2], 0, 0, // the fed-back h: placeholders the module does not copy
		].map(floatBits);
		assert.deepEqual(list, [`inputs=${words.join(",")}`, "steps=3", "given=1:1", "feedback=1:0"]);
		// Without feedsPerStep: one block, as before.
		assert.deepEqual(selftestParameters(graph, config, { feeds: { x: [ROWS[0]] }, steps: 5, feedback: { h: "y" } }, "old.json").list,
			[`inputs=${[...ROWS[0], 0, 0].map(floatBits).join(",")}`, "steps=5", "feedback=1:0"]);
	});

	it("a data set too large for one insmod argument is refused, saying how many entries fit", () => {
		const graph = cellGraph();
		const config = cellConfig(graph);
		// 9 characters per word, 4 words per step.
		const fits = Math.floor((MAX_INPUTS_TEXT + 1) / 36);
		const rows = (n: number): StepInputs => ({ feeds: { h: [H0] }, feedsPerStep: Array.from({ length: n }, (_, i) => ({ x: [[i / n, 1]] })) });
		assert.ok(selftestParameters(graph, config, rows(fits), "big.json").list[0].length <= MAX_INPUTS_TEXT + "inputs=".length);
		assert.throws(() => selftestParameters(graph, config, rows(fits + 1), "big.json"), new RegExp(`big\\.json: .*${fits + 1} steps .* deploy at most ${fits} feedsPerStep entries at a time`));
		// Aurora's representative data set, 60 rows of 30 float32 values, fits.
		assert.ok(60 * 30 * 9 <= MAX_INPUTS_TEXT);
	});

	it("the user-space driver, fed the self-test's own parameter words, runs the 3 steps equal to the closed form", { skip: gccMissing }, () => {
		const graph = cellGraph();
		const config = cellConfig(graph);
		const model = compileModel(graph, config, "cell_steps", "feedsPerStep test");
		const binary = buildHost(model, tempDir("feeds-per-step-host"));
		const { list } = selftestParameters(graph, config, DATA_SET, "data.json");
		const words = list[0].slice("inputs=".length).split(",").map((hex) => parseInt(hex, 16));
		const floats = new Float32Array(Uint32Array.from(words).buffer);
		const blocks: Tensor[][] = [0, 1, 2].map((s) => [makeTensor("float32", [1, 2], floats.subarray(4 * s, 4 * s + 2)), makeTensor("float32", [1, 2], floats.subarray(4 * s + 2, 4 * s + 4))]);
		const pairs = (name: string) => list.find((p) => p.startsWith(`${name}=`))!.slice(name.length + 1).split(",").map((p) => p.split(":").map(Number) as [number, number]);
		const results = runHostBlocks(binary, model, blocks, 3, pairs("feedback"), pairs("given"));
		expectedSteps().forEach((want, step) => assertClose(numbers(results[step][0]), want, `host step ${step}`));
		// Steps past the last block keep their arguments: two rows, four steps, no feedback.
		const kept = runHostBlocks(binary, model, blocks.slice(0, 2), 4);
		const h1 = [Math.fround(H1_RESET[0]), Math.fround(H1_RESET[1])];
		for (const step of [1, 2, 3]) assertClose(numbers(kept[step][0]), cellClosedForm(ROWS[1], h1), `kept step ${step}`);
	});

	it("VS Code describes a data set file by its steps and feeds", () => {
		assert.equal(describeInputs(DATA_SET), "3 step(s) from feedsPerStep (3 entries), feeds h, x");
		assert.equal(describeInputs({ feeds: { x: [[1, 2]] }, steps: 2 }), "2 step(s), feeds x");
	});
});
