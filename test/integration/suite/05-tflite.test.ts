// LiteFlow's int8 Aurora policy (aurora/aurora_int_quan_model.tflite in the workspace) in the real VS Code: the
// inspector draws its quantized ops and shows their scales, Generate Config takes the file's own input and output,
// and with kernelNN.noFpu a deploy to the sandbox runs a data set (feedsPerStep) in an integer-only module, each
// row compared with the real TFLite runtime (WebAssembly) running the same file.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { suite, suiteSetup, suiteTeardown, test } from "mocha";
import * as vscode from "vscode";
import type { DeployReport } from "../../../extension/core/deploy/deploy";
import { configRef, parseConfig } from "../../../extension/core/frontends/tf/tf2xlaConfig";
import { refKey } from "../../../extension/core/graph/graph";
import { shapeFromProto } from "../../../extension/core/graph/tensor";
import { sandboxStatus } from "../../../extension/core/sandbox/sandboxVm";
import type { KernelNNApi } from "../../../extension/vscode/api";
import { readNpyFloat64Matrix, rowsAsDataSet } from "../../support/aurora";
import { runTflite, tfliteRuntimeMissing } from "../../support/tfliteOracle";
import { WEBVIEW_TIMEOUT_MS, closeAllEditors, extensionApi, inspectorTab, sandboxDir, sandboxUnavailable, skipBecause, waitFor, withTimeout, workspaceRoot } from "../support";

const INPUT = "input/Ob";
const OUTPUT = "model/pi/add";
// The README gives one output quantization step as 0.0137 (3 digits): the step itself is below 0.01375.
const OUTPUT_STEP = 0.01375;
// TFLite's int8 quantization spec fixes TANH's output at scale 1/128, zero point 0.
const TANH_SCALE = (1 / 128).toPrecision(3);

function auroraTflite(): { model: string; rows: string } | { missing: string } {
	const model = path.join(workspaceRoot(), "aurora", "aurora_int_quan_model.tflite");
	const rows = path.join(workspaceRoot(), "aurora", "representative_dataset.npy");
	return fs.existsSync(model) && fs.existsSync(rows) ? { model, rows } : { missing: `Aurora's int8 model is absent: ${model} (copied from ../shared/models/aurora when present)` };
}

function describeReport(report: DeployReport | undefined): string {
	if (!report) return "no report";
	const failed = report.stages.find((s) => !s.ok);
	return `ok=${report.ok}${failed ? `, stage "${failed.name}" failed: ${failed.error}` : ""}${report.error ? `, error: ${report.error}` : ""}; ` +
		`stages ${report.stages.map((s) => s.name).join(", ")}; finalState=${report.finalState}`;
}

suite("TFLite: Aurora int8 in the inspector, Generate Config and an integer-only deploy", () => {
	let api: KernelNNApi;
	let files: { model: string; rows: string };
	const configPath = () => path.join(path.dirname(files.model), "aurora_int8.config.pbtxt");

	suiteSetup(async function () {
		const found = auroraTflite();
		if ("missing" in found) skipBecause(this, found.missing);
		files = found;
		api = await extensionApi();
		await closeAllEditors();
	});
	suiteTeardown(closeAllEditors);

	test("the int8 .tflite opens in the inspector, which draws QUANTIZE, 3 FULLY_CONNECTED, 2 TANH and DEQUANTIZE as quantized ops", async function () {
		this.timeout(120_000);
		const uri = vscode.Uri.file(files.model);
		await vscode.commands.executeCommand("kernelNN.openGraphInspector", uri);
		await waitFor(() => inspectorTab(uri), 10_000, `a graph inspector tab for ${files.model}`);
		const drawn = await withTimeout(api.graphInspector.renderedNodes(uri), WEBVIEW_TIMEOUT_MS, "the inspector webview's drawn nodes");
		const count = (op: string) => drawn.filter((n) => n.op === op).length;
		// The op sequence the model's README lists: QUANTIZE -> (FULLY_CONNECTED -> TANH) x2 -> FULLY_CONNECTED -> DEQUANTIZE.
		assert.deepEqual(["QQuantize", "QFullyConnected", "QTanh", "QDequantize"].map(count), [1, 3, 2, 1], drawn.map((n) => `${n.name} ${n.op}`).join(", "));
	});

	test("a quantized node's details in the inspector give its scale and zero point", async function () {
		this.timeout(120_000);
		const uri = vscode.Uri.file(files.model);
		const drawn = await withTimeout(api.graphInspector.renderedNodes(uri), WEBVIEW_TIMEOUT_MS, "the inspector webview's drawn nodes");
		const quantizationOf = async (name: string) => {
			const shown = api.graphInspector.nodeDetails(uri, name);
			return shown.attrs.find((a) => a.name === "quantization")?.value ?? `(no quantization row: ${shown.attrs.map((a) => a.name).join(", ")})`;
		};
		for (const tanh of drawn.filter((n) => n.op === "QTanh")) {
			assert.match(await quantizationOf(tanh.name), new RegExp(`^scale ${TANH_SCALE} zero point 0 \\(int8\\)$`), tanh.name);
		}
		const layers = await Promise.all(drawn.filter((n) => n.op === "QFullyConnected").map((n) => quantizationOf(n.name)));
		assert.ok(layers.some((text) => /^scale 0\.0137 zero point -?\d+ \(int8\)$/.test(text)), `no layer shows the output step 0.0137: ${layers.join("; ")}`);
	});

	test("Generate Config with only the .tflite configures the file's own float input [1,30] and output, and the config validates", async () => {
		const written = await vscode.commands.executeCommand<vscode.Uri>("kernelNN.generateConfig", { model: files.model, out: configPath() });
		const { config } = parseConfig(fs.readFileSync(vscode.Uri.from(written).fsPath, "utf8"), configPath());
		assert.deepEqual(config.feed.map((f) => [refKey(configRef(f)), shapeFromProto(f.shape)]), [[INPUT, [1, 30]]]);
		assert.deepEqual(config.fetch.map((f) => refKey(configRef(f))), [OUTPUT]);
		const problems = await vscode.commands.executeCommand<{ message: string; severity?: string }[]>("kernelNN.validateConfig", { config: configPath(), model: files.model });
		assert.deepEqual(problems.filter((p) => p.severity !== "warning").map((p) => p.message), []);
	});

	suite("with kernelNN.noFpu in the sandbox", () => {
		let startedHere = false;

		suiteSetup(async function () {
			if (sandboxUnavailable()) skipBecause(this, sandboxUnavailable()!);
			this.timeout(300_000);
			startedHere = (await sandboxStatus(sandboxDir())).state !== "running";
			await vscode.commands.executeCommand("kernelNN.startSandbox");
			await vscode.workspace.getConfiguration("kernelNN").update("noFpu", true, vscode.ConfigurationTarget.Workspace);
		});

		suiteTeardown(async function () {
			this.timeout(150_000);
			await vscode.workspace.getConfiguration("kernelNN").update("noFpu", undefined, vscode.ConfigurationTarget.Workspace);
			if (startedHere && process.env.KNN_SANDBOX_KEEP !== "1") await vscode.commands.executeCommand("kernelNN.stopSandbox");
		});

		test("Build Module refuses a float model, naming the node that computes in float", async function () {
			this.timeout(120_000);
			const lstm = path.join(workspaceRoot(), "lstm");
			const result = await vscode.commands.executeCommand<{ ok: boolean; error?: string }>("kernelNN.buildModule", {
				model: path.join(lstm, "model.pb"), config: path.join(lstm, "graph.config.pbtxt"), prefix: "knn_it_float_nofpu", target: "sandbox",
			});
			assert.equal(result?.ok, false, JSON.stringify(result));
			assert.match(result.error ?? "", /--no-fpu .*\n\s+node "[^"]+" \(\w+\) (computes|reads) the float32 tensor/, result.error);
		});

		test("Build Module builds the int8 model as a module whose objects keep the kernel's no-FPU flags and need no kernel_fpu_begin", async function () {
			this.timeout(180_000);
			const result = await vscode.commands.executeCommand<{ ok: boolean; koPath: string; error?: string }>("kernelNN.buildModule", {
				model: files.model, config: configPath(), prefix: "knn_it_aurora_q", target: "sandbox",
			});
			assert.ok(result?.ok, `buildModule returned ${JSON.stringify(result)}`);
			const dir = path.dirname(result.koPath);
			assert.doesNotMatch(fs.readFileSync(path.join(dir, "Kbuild"), "utf8"), /-msse|-mhard-float/, "no object is built with FPU flags");
			const ko = fs.readFileSync(result.koPath).toString("latin1");
			assert.ok(!ko.includes("kernel_fpu_begin"), "the module references kernel_fpu_begin");
		});

		test("Deploy runs the 60 representative rows (feedsPerStep) in one integer-only module, each within one step of the TFLite runtime", async function () {
			const missing = tfliteRuntimeMissing();
			if (missing) skipBecause(this, missing);
			this.timeout(400_000);
			const rows = readNpyFloat64Matrix(files.rows);
			const bytes = fs.readFileSync(files.model);
			const runtime: number[] = [];
			for (const row of rows) runtime.push((await runTflite(bytes, [Float32Array.from(row)]))[0].data[0]);
			const inputs = path.join(path.dirname(files.model), "aurora_rows.json");
			fs.writeFileSync(inputs, JSON.stringify(rowsAsDataSet(INPUT, rows)));

			const report = await vscode.commands.executeCommand<DeployReport>("kernelNN.deploy", { model: files.model, config: configPath(), inputs, target: "sandbox", prefix: "knn_it_aurora_q" });
			assert.ok(report?.ok, `deploy failed: ${describeReport(report)}`);
			assert.ok(report.stages.some((s) => s.name === "check no FPU" && s.ok), describeReport(report));
			assert.equal(report.stages.filter((s) => s.name === "load").length, 1, "one load for the whole data set");
			assert.equal(report.kernel.steps.length, rows.length);
			const steps = report.kernel.steps.map((step, i) => Math.abs((step[OUTPUT] as number[][])[0][0] - runtime[i]) / OUTPUT_STEP);
			const exact = steps.filter((s) => s < 0.01).length;
			console.log(`    Aurora int8 in VS Code, --no-fpu in the sandbox: ${exact} of ${rows.length} rows equal the TFLite runtime, worst ${Math.max(...steps).toFixed(2)} steps`);
			assert.ok(Math.max(...steps) <= 1, `worst row is ${Math.max(...steps)} steps from the runtime`);
			assert.equal(api.lastDeployReport()?.module, "knn_it_aurora_q");
		});
	});
});
