import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { loadModel } from "../../extension/core/frontends";
import { ConfigError, parseConfig, validateConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { signatureRequests } from "../../extension/core/frontends/tf/signatures";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { dtypeToEnum, makeTensor, shapeToProto } from "../../extension/core/graph/tensor";
import type { InspectReport } from "../../extension/core/model/inspect";
import { buildGraphView } from "../../extension/vscode/graphInspector/graphView";
import { pickedConfigText } from "../../extension/vscode/graphInspector/pickedConfig";
import { defaultShapeText, describeSignature, matchingSignature, signaturePicks } from "../../webview/graph/pickModel";
import { knn, tempDir } from "../support/cli";
import { GraphBuilder, attr } from "../support/graphBuilder";

const T = attr.type("float32");
const W = [[0.5, -1.25], [2, 0.75], [-0.3, 0.1]];
const B = [0.2, -0.4];

/**
 * A SavedModel as TF1's builder writes it: one `serve` meta graph, y = tanh(x W + b) * scale with x [?,3], and
 * signatures whose keys sort differently from their node names, one of unknown rank and one that names no node.
 */
function writeSavedModel(dir: string): void {
	const g = new GraphBuilder();
	const x = g.placeholder("input/x", "float32", [-1, 3]);
	const scale = g.placeholder("scale", "float32", [1]);
	const aux = g.placeholder("aux", "float32");
	const w = g.const("dense/W", makeTensor("float32", [3, 2], W.flat()));
	const b = g.const("dense/b", makeTensor("float32", [2], B));
	const matmul = g.op("MatMul", "dense/MatMul", [x, w], { T, transpose_a: attr.b(false), transpose_b: attr.b(false) });
	const logits = g.op("Add", "dense/add", [matmul, b], { T });
	const tanh = g.op("Tanh", "dense/Tanh", [logits], { T });
	g.op("Mul", "out/mul", [tanh, scale], { T });
	g.op("Neg", "aux_out", [aux], { T });
	const info = (name: string, shape: number[] | undefined) => ({ name, dtype: dtypeToEnum("float32"), tensor_shape: shapeToProto(shape) });
	const saved = {
		saved_model_schema_version: 1,
		meta_graphs: [{
			meta_info_def: { tags: ["serve"] },
			graph_def: g.def(),
			signature_def: {
				serving_default: {
					inputs: { x: info("input/x:0", [-1, 3]), a_scale: info("scale:0", [1]) },
					outputs: { y: info("out/mul:0", [-1, 2]), logits: info("dense/add:0", [-1, 2]) },
					method_name: "tensorflow/serving/predict",
				},
				aux: { inputs: { v: info("aux:0", undefined) }, outputs: { neg: info("aux_out:0", undefined) }, method_name: "tensorflow/serving/predict" },
				broken: { inputs: {}, outputs: { z: info("renamed/out:0", [1]) } },
			},
		}],
	};
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(path.join(dir, "saved_model.pb"), encodeMessage(types.SavedModel, saved));
}

/** y = tanh(x W + b) * scale and the logits x W + b, in float64 from the weights above. */
function expected(rows: number[][], scale: number): { logits: number[][]; y: number[][] } {
	const logits = rows.map((row) => B.map((bias, j) => row.reduce((sum, v, k) => sum + v * W[k][j], bias)));
	return { logits, y: logits.map((row) => row.map((v) => Math.tanh(v) * scale)) };
}

function maxAbsDiff(a: number[][], b: number[][]): number {
	return Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i][j]))));
}

describe("SavedModel signatures", () => {
	let dir: string;
	let modelDir: string;

	before(() => {
		dir = tempDir("signatures");
		modelDir = path.join(dir, "model");
		writeSavedModel(modelDir);
	});

	it("knn inspect lists every signature with its method, and each input and output with tensor, dtype and shape", () => {
		const text = knn("inspect", modelDir);
		assert.equal(text.status, 0, text.stderr);
		const lines = text.stdout.split("\n").map((l) => l.trimEnd());
		const at = lines.indexOf("  signatures    3");
		assert.ok(at > 0, text.stdout);
		assert.deepEqual(lines.slice(at + 1, at + 11).map((l) => l.replace(/\s+/g, " ").trim()), [
			"aux (tensorflow/serving/predict)",
			"input v aux:0 float32 <unknown rank>",
			"output neg aux_out:0 float32 <unknown rank>",
			"broken",
			"output z renamed/out:0 float32 [1]",
			"serving_default (tensorflow/serving/predict)",
			"input a_scale scale:0 float32 [1]",
			"input x input/x:0 float32 [?,3]",
			"output logits dense/add:0 float32 [?,2]",
			"output y out/mul:0 float32 [?,2]",
		]);
		// A placeholder without a shape is spelled out, not "[?]", which reads as a vector.
		assert.ok(lines.includes("    aux  float32 <unknown rank>"), text.stdout);

		const json = knn("inspect", modelDir, "--json");
		assert.equal(json.status, 0, json.stderr);
		const report = JSON.parse(json.stdout) as InspectReport;
		assert.deepEqual(report.signatures.map((s) => s.key), ["aux", "broken", "serving_default"]);
		assert.deepEqual(report.signatures[2], {
			key: "serving_default", methodName: "tensorflow/serving/predict",
			inputs: [{ key: "a_scale", tensor: "scale:0", dtype: "float32", shape: "[1]" }, { key: "x", tensor: "input/x:0", dtype: "float32", shape: "[?,3]" }],
			outputs: [{ key: "logits", tensor: "dense/add:0", dtype: "float32", shape: "[?,2]" }, { key: "y", tensor: "out/mul:0", dtype: "float32", shape: "[?,2]" }],
		});
	});

	it("knn config --signature writes feeds and fetches in key order, named by key, unknown dimensions as --batch; knn run agrees with float64", () => {
		const config = path.join(dir, "serving.config.pbtxt");
		const written = knn("config", modelDir, "--signature", "serving_default", "--batch", "2", "--out", config);
		assert.equal(written.status, 0, written.stderr);
		assert.match(written.stderr, /signature "serving_default": 2 feeds \(a_scale = scale \[1\], x = input\/x \[2,3\]\), 2 fetches \(logits = dense\/add, y = out\/mul\)/);
		const parsed = parseConfig(fs.readFileSync(config, "utf8"), config).config;
		assert.deepEqual(parsed.feed.map((f) => [f.name, f.id?.node_name, f.shape?.dim?.map((d) => Number(d.size))]), [["a_scale", "scale", [1]], ["x", "input/x", [2, 3]]]);
		assert.deepEqual(parsed.fetch.map((f) => [f.name, f.id?.node_name]), [["logits", "dense/add"], ["y", "out/mul"]]);
		assert.equal(knn("config", modelDir, "--check", config).status, 0);

		const rows = [[0.1, -0.7, 1.3], [2.5, 0.25, -1]];
		const inputs = path.join(dir, "inputs.json");
		fs.writeFileSync(inputs, JSON.stringify({ feeds: { scale: [0.75], "input/x": rows } }));
		const run = knn("run", modelDir, "--config", config, "--inputs", inputs, "--json");
		assert.equal(run.status, 0, run.stderr);
		const step = (JSON.parse(run.stdout) as { steps: Record<string, number[][]>[] }).steps[0];
		const want = expected(rows, 0.75);
		assert.ok(maxAbsDiff(step["dense/add"], want.logits) < 1e-6, JSON.stringify(step));
		assert.ok(maxAbsDiff(step["out/mul"], want.y) < 1e-6, JSON.stringify(step));
	});

	it("knn config without feeds, fetches or --signature uses serving_default, unknown dimensions as 1", () => {
		const config = path.join(dir, "default.config.pbtxt");
		const result = knn("config", modelDir, "--out", config);
		assert.equal(result.status, 0, result.stderr);
		assert.match(result.stderr, /signature "serving_default": 2 feeds \(a_scale = scale \[1\], x = input\/x \[1,3\]\)/);
		const { feeds } = signatureRequests(loadModel(modelDir), "serving_default");
		assert.deepEqual(feeds.map((f) => f.shape), [[1], [1, 3]]);
	});

	it("refuses an unknown signature, listing the ones the model has", () => {
		const result = knn("config", modelDir, "--signature", "serve", "--out", path.join(dir, "x.pbtxt"));
		assert.notEqual(result.status, 0);
		assert.match(result.stderr, /no signature "serve"; it has "aux", "broken", "serving_default"/);
		assert.throws(() => signatureRequests({ ...loadModel(modelDir), signatures: [] }, "serving_default"), (e: Error) => e instanceof ConfigError && /has no signatures.*--feed and --fetch/.test(e.message));
	});

	it("says so when a signature input has unknown rank in the signature and the graph, and when a tensor names no node", () => {
		const model = loadModel(modelDir);
		assert.throws(() => signatureRequests(model, "aux"), /signature "aux" input "v" \(aux\) has unknown rank, and so has the graph: give the feeds yourself, e\.g\. --feed aux=/);
		assert.throws(() => signatureRequests(model, "broken"), /signature "broken" output "z" is tensor "renamed\/out:0", which names no node/);
	});

	it("refuses --batch without --signature, a --batch that is not a count, and --signature mixed with --feed", () => {
		const out = path.join(dir, "y.pbtxt");
		assert.match(knn("config", modelDir, "--feed", "input/x=1x3", "--fetch", "dense/add", "--batch", "4", "--out", out).stderr, /--batch sets the unknown dimensions of a --signature's inputs/);
		const zero = knn("config", modelDir, "--signature", "serving_default", "--batch", "0", "--out", out);
		assert.equal(zero.status, 2);
		assert.match(zero.stderr, /--batch must be a whole number of at least 1, not "0"/);
		assert.match(knn("config", modelDir, "--signature", "serving_default", "--feed", "scale", "--out", out).stderr, /drop --feed and --fetch, or drop --signature/);
		assert.ok(!fs.existsSync(out));
	});

	it("the graph inspector offers each usable signature as picks, and the picks write a config that validates", () => {
		const model = loadModel(modelDir);
		const { view } = buildGraphView(model);
		// "broken" names a node the graph lacks, so it is not offered.
		assert.deepEqual(view.signatures?.map((s) => s.key), ["aux", "serving_default"]);
		const serving = view.signatures!.find((s) => s.key === "serving_default")!;
		assert.deepEqual(serving.feeds, [{ key: "a_scale", name: "scale", shape: "[1]", dtype: "float32" }, { key: "x", name: "input/x", shape: "[?,3]", dtype: "float32" }]);
		assert.deepEqual(serving.fetches.map((f) => f.name), ["dense/add", "out/mul"]);

		// What the webview's button does with it: unknown dimensions become 1, the order is the signature's.
		const picks = signaturePicks(serving);
		assert.deepEqual(picks, { feeds: [{ name: "scale", shapeText: "1" }, { name: "input/x", shapeText: "1x3" }], fetches: ["dense/add", "out/mul"] });
		assert.equal(matchingSignature(picks, view.signatures!), "serving_default");
		assert.equal(matchingSignature({ ...picks, fetches: ["out/mul"] }, view.signatures!), undefined);
		assert.equal(describeSignature(serving), "a_scale = scale [1], x = input/x [?,3] -> logits = dense/add [?,2], y = out/mul [?,2]");

		const feeds = picks.feeds.map((f) => ({ name: f.name, shape: f.shapeText.split("x").map(Number) }));
		const text = pickedConfigText(model, feeds, picks.fetches, "model");
		const parsed = parseConfig(text, "graph.config.pbtxt");
		assert.deepEqual(validateConfig(model.graph, parsed), []);
		assert.deepEqual(parsed.config.feed.map((f) => f.id?.node_name), ["scale", "input/x"]);
	});

	it("an unknown rank offers no default shape in the inspector rather than a wrong one", () => {
		assert.equal(defaultShapeText("<unknown rank>"), "");
		assert.equal(defaultShapeText("[?,30]"), "1x30");
		const aux = buildGraphView(loadModel(modelDir)).view.signatures!.find((s) => s.key === "aux")!;
		assert.deepEqual(signaturePicks(aux).feeds, [{ name: "aux", shapeText: "" }]);
	});
});
