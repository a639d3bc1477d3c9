import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { suite, suiteSetup, teardown, test } from "mocha";
import * as vscode from "vscode";
import { configRef, parseConfig } from "../../../extension/core/frontends/tf/tf2xlaConfig";
import { refKey } from "../../../extension/core/graph/graph";
import { loadModelBytes } from "../../../extension/core/frontends";
import { shapeFromProto } from "../../../extension/core/graph/tensor";
import { buildGraphView } from "../../../extension/vscode/graphInspector/graphView";
import type { KernelNNApi } from "../../../extension/vscode/api";
import { WEBVIEW_TIMEOUT_MS, auroraModel, closeAllEditors, extensionApi, indigoModel, inspectorTab, sampleFiles, skipBecause, waitFor, withTimeout } from "../support";

/** What the inspector's host side says it draws for a model: its compact view, built from the file on disk. */
function viewOf(file: string): { drawn: number; total: number; truncated?: string } {
	const { view } = buildGraphView(loadModelBytes(fs.readFileSync(file), file));
	return { drawn: view.nodes.length, total: view.nodeCount, truncated: view.truncated?.reason };
}

async function openInInspector(api: KernelNNApi, file: string): Promise<number> {
	const uri = vscode.Uri.file(file);
	await vscode.commands.executeCommand("vscode.openWith", uri, "kernelNN.graphInspector");
	await waitFor(() => inspectorTab(uri), 10_000, `a graph inspector tab for ${file}`);
	return withTimeout(api.graphInspector.webviewRenderedNodeCount(uri), WEBVIEW_TIMEOUT_MS, `the inspector webview's rendered node count for ${file}`);
}

suite("Graph inspector", () => {
	let api: KernelNNApi;
	suiteSetup(async () => {
		api = await extensionApi();
		await closeAllEditors();
	});
	teardown(closeAllEditors);

	test("the sample LSTM opens in the inspector and its webview draws every node the inspector shows", async () => {
		const { model } = sampleFiles();
		const rendered = await openInInspector(api, model);
		const expected = viewOf(model);
		assert.equal(expected.truncated, undefined, "the sample is small enough to be shown whole");
		assert.equal(rendered, expected.drawn, `the webview drew ${rendered} nodes; the inspector's view of ${expected.total} graph nodes holds ${expected.drawn}`);
	});

	test("Indigo's model.meta (a whole training graph) opens in the inspector, which draws what it says it shows", async function () {
		const indigo = indigoModel();
		if ("missing" in indigo) skipBecause(this, indigo.missing);
		this.timeout(120_000);
		const rendered = await openInInspector(api, indigo.meta);
		const expected = viewOf(indigo.meta);
		console.log(`    Indigo: ${expected.total} graph nodes, ${expected.drawn} in the inspector's view, ${rendered} drawn${expected.truncated ? ` (${expected.truncated})` : ""}`);
		assert.ok(rendered > 0, "the webview drew no node");
		assert.equal(rendered, expected.drawn);
		assert.ok(rendered <= expected.total);
	});

	test("a PyTorch-exported ONNX model opens in the inspector, which draws what it says it shows, every node compiling", async function () {
		const file = "/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx";
		if (!fs.existsSync(file)) skipBecause(this, `${file} is absent (apt-get install libonnx-testdata)`);
		const rendered = await openInInspector(api, file);
		const { view } = buildGraphView(loadModelBytes(fs.readFileSync(file), file));
		assert.equal(view.format, "ONNX");
		assert.equal(rendered, view.nodes.length, `the webview drew ${rendered} nodes; the inspector's view holds ${view.nodes.length}`);
		assert.deepEqual(view.nodes.filter((n) => !n.supported).map((n) => n.op), [], "every node of the Conv2d export compiles");
	});

	test("Open Graph Inspector with a model URI opens it in the inspector", async () => {
		const uri = vscode.Uri.file(sampleFiles().model);
		await vscode.commands.executeCommand("kernelNN.openGraphInspector", uri);
		await waitFor(() => inspectorTab(uri), 10_000, "the graph inspector tab opened by kernelNN.openGraphInspector");
		assert.ok(await withTimeout(api.graphInspector.webviewRenderedNodeCount(uri), WEBVIEW_TIMEOUT_MS, "rendered node count") > 0);
	});

	test("Aurora's serving_default button in the inspector picks the signature's feed and fetch, and the config they write validates", async function () {
		const aurora = auroraModel();
		if ("missing" in aurora) skipBecause(this, aurora.missing);
		this.timeout(120_000);
		const uri = vscode.Uri.file(aurora.savedModel);
		await openInInspector(api, aurora.savedModel);
		const picks = await withTimeout(api.graphInspector.pressSignature(uri, "serving_default"), WEBVIEW_TIMEOUT_MS, "the picks of the serving_default button");
		assert.deepEqual(picks, { feeds: [{ name: "input/Ob", shape: [1, 30] }], fetches: ["model/pi/add"] }, "the signature's input ob and output act, unknown batch as 1");
		assert.equal(await withTimeout(api.graphInspector.pressSignature(uri, "no_such_signature"), WEBVIEW_TIMEOUT_MS, "an absent button"), null);
		const written = await api.graphInspector.writeConfig(uri, picks.feeds, picks.fetches);
		const problems = await vscode.commands.executeCommand<{ message: string; severity?: string }[]>("kernelNN.validateConfig", { config: written.fsPath, model: aurora.savedModel });
		assert.deepEqual(problems.filter((p) => p.severity !== "warning").map((p) => p.message), [], `${written.fsPath} should validate against ${aurora.savedModel}`);
	});

	test("nodes picked in the inspector become a graph.config.pbtxt that validates", async function () {
		this.timeout(120_000);
		const indigo = indigoModel();
		const file = "meta" in indigo ? indigo.meta : sampleFiles().model;
		const uri = vscode.Uri.file(file);
		await openInInspector(api, file);
		const feeds = [{ name: "global/Placeholder", shape: [1, 1, 9] }, { name: "global/Placeholder_1", shape: [1, 32] }, { name: "global/Placeholder_2", shape: [1, 32] }];
		const fetches = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];
		const written = await api.graphInspector.writeConfig(uri, feeds, fetches);
		const { config } = parseConfig(fs.readFileSync(written.fsPath, "utf8"), written.fsPath);
		assert.deepEqual(config.feed.map((f) => [refKey(configRef(f)), shapeFromProto(f.shape)]), feeds.map((f) => [f.name, f.shape]));
		assert.deepEqual(config.fetch.map((f) => refKey(configRef(f))), fetches);
		const problems = await vscode.commands.executeCommand<{ message: string; severity?: string }[]>("kernelNN.validateConfig", { config: written.fsPath, model: file });
		assert.deepEqual(problems.filter((p) => p.severity !== "warning").map((p) => p.message), [], `${written.fsPath} should validate against ${file}`);
	});
});
