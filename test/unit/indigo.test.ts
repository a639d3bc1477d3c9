import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { parseConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { loadModel } from "../../extension/core/frontends";
import { type Tensor, makeTensor, numbers, toNested } from "../../extension/core/graph/tensor";
import { runSteps } from "../../extension/core/model/steps";
import { knn, tempDir } from "../support/cli";
import { INDIGO_DIR, indigoMissing, publishedIndigoInput, publishedIndigoOutputs, truncateTo5 } from "../support/shared";
import { runTfjs } from "../support/tfjsOracle";
import { mulberry32 } from "../support/random";

const FEEDS = ["global/Placeholder", "global/Placeholder_1", "global/Placeholder_2"];
const FETCHES = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];
const FEEDBACK = { "global/Placeholder_1": "global/rnn/while/Exit_2", "global/Placeholder_2": "global/rnn/while/Exit_3" };



describe("Indigo LSTM (real TF1 checkpoint)", { skip: indigoMissing }, () => {
	let dir: string;
	let frozen: string;
	let config: string;

	before(() => {
		dir = tempDir("indigo");
		frozen = path.join(dir, "frozen.pb");
		config = path.join(dir, "graph.config.pbtxt");
	});

	it("knn freeze turns model.meta + checkpoint into a frozen graph with no variables", () => {
		const result = knn("freeze", path.join(INDIGO_DIR, "model.meta"), "--checkpoint", path.join(INDIGO_DIR, "model"), "--fetch", FETCHES.join(","), "--out", frozen);
		assert.equal(result.status, 0, result.stderr);
		const model = loadModel(frozen);
		assert.equal(model.format, "GraphDef");
		const ops = new Set(model.graph.nodes.map((n) => n.op));
		for (const op of ["VariableV2", "Assign", "RestoreV2", "SaveV2", "QueueDequeueV2", "ApplyAdam"]) assert.ok(!ops.has(op), `${op} survived freezing`);
		for (const fetch of FETCHES) assert.ok(model.graph.has(fetch), `${fetch} was pruned`);
		assert.ok(model.graph.nodes.length < 300, `pruned graph has ${model.graph.nodes.length} nodes`);
	});

	it("knn config writes a config for the three feeds and fetches that knn config --check accepts", () => {
		const result = knn("config", frozen, "--feed", `${FEEDS[0]}=1x1x9`, "--feed", `${FEEDS[1]}=1x32`, "--feed", `${FEEDS[2]}=1x32`,
			...FETCHES.flatMap((f) => ["--fetch", f]), "--out", config);
		assert.equal(result.status, 0, result.stderr);
		const parsed = parseConfig(fs.readFileSync(config, "utf8"), config);
		assert.deepEqual(parsed.config.feed.map((f) => f.id?.node_name), FEEDS);
		assert.deepEqual(parsed.config.feed.map((f) => f.shape?.dim?.map((d) => d.size)), [[1, 1, 9], [1, 32], [1, 32]]);
		assert.deepEqual(parsed.config.fetch.map((f) => f.id?.node_name), FETCHES);
		const check = knn("config", frozen, "--check", config);
		assert.equal(check.status, 0, check.stdout + check.stderr);
	});

	it("knn run reproduces all 50 published in-kernel outputs to 5 decimals over 10 fed-back steps", () => {
		const inputs = path.join(dir, "inputs.json");
		fs.writeFileSync(inputs, JSON.stringify({ feeds: { [FEEDS[0]]: publishedIndigoInput() }, steps: 10, feedback: FEEDBACK }));
		for (const model of [[frozen], [path.join(INDIGO_DIR, "model.meta"), "--checkpoint", path.join(INDIGO_DIR, "model")]]) {
			const result = knn("run", ...model, "--config", config, "--inputs", inputs, "--json");
			assert.equal(result.status, 0, result.stderr);
			const steps = (JSON.parse(result.stdout) as { steps: Record<string, number[][]>[] }).steps;
			const published = publishedIndigoOutputs();
			assert.equal(steps.length, 10);
			steps.forEach((step, i) => {
				assert.deepEqual(step["global/Softmax"][0].map(truncateTo5), published[i], `step ${i} of ${model[0]}: ${step["global/Softmax"][0].join(" ")}`);
				assert.deepEqual([step["global/rnn/while/Exit_2"].length, step["global/rnn/while/Exit_2"][0].length], [1, 32]);
			});
		}
	});

	it("matches tfjs within 1e-5 on 20 random inputs and states", async () => {
		const graph = loadModel(frozen).graph;
		const parsed = parseConfig(fs.readFileSync(config, "utf8"), config);
		const random = mulberry32(2024);
		const uniform = (n: number, scale: number) => Array.from({ length: n }, () => (random() * 2 - 1) * scale);
		let worst = 0;
		for (let trial = 0; trial < 20; trial++) {
			const feeds: Record<string, Tensor> = {
				[FEEDS[0]]: makeTensor("float32", [1, 1, 9], uniform(9, 1)),
				[FEEDS[1]]: makeTensor("float32", [1, 32], uniform(32, 2)),
				[FEEDS[2]]: makeTensor("float32", [1, 32], uniform(32, 1)),
			};
			const ours = runSteps(graph, parsed.config, {
				feeds: Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toNested(t)])),
			})[0];
			const theirs = await runTfjs(graph.toGraphDef(), feeds, FETCHES);
			ours.forEach((tensor, k) => {
				assert.deepEqual(tensor.shape, theirs[k].shape, FETCHES[k]);
				const a = numbers(tensor);
				const b = numbers(theirs[k]);
				for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
			});
		}
		console.log(`Indigo vs tfjs, 20 random inputs: largest difference ${worst.toExponential(2)}`);
		assert.ok(worst <= 1e-5, `largest difference from tfjs: ${worst}`);
	});

	it("knn inspect reads the 2.8 MB model.meta and lists placeholders, outputs and ops", () => {
		const result = knn("inspect", path.join(INDIGO_DIR, "model.meta"), "--json");
		assert.equal(result.status, 0, result.stderr);
		const report = JSON.parse(result.stdout) as { format: string; nodeCount: number; placeholders: { name: string }[]; candidateOutputs: string[] };
		assert.equal(report.format, "MetaGraphDef");
		assert.ok(report.nodeCount > 20000);
		for (const feed of FEEDS) assert.ok(report.placeholders.some((p) => p.name === feed), feed);
		for (const state of ["global/rnn/while/Exit_2", "global/rnn/while/Exit_3"]) assert.ok(report.candidateOutputs.includes(state), report.candidateOutputs.join(", "));
		console.log(`knn inspect model.meta: ${result.ms.toFixed(0)} ms wall, process start included`);
	});
});
