import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { suite, suiteSetup, test } from "mocha";
import * as vscode from "vscode";
import { configRef, parseConfig } from "../../../extension/core/frontends/tf/tf2xlaConfig";
import { refKey } from "../../../extension/core/graph/graph";
import { shapeFromProto } from "../../../extension/core/graph/tensor";
import { extensionApi, sampleFiles, workspaceRoot } from "../support";

const FEEDS = [
	{ name: "global/Placeholder", shape: [1, 1, 9] },
	{ name: "global/Placeholder_1", shape: [1, 32] },
	{ name: "global/Placeholder_2", shape: [1, 32] },
];
const FETCHES = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];

/** The 1-based line of a problem, whether the command returns ConfigProblems or vscode.Diagnostics. */
function problemLine(problem: unknown): number | undefined {
	const p = problem as { position?: { line?: number }; line?: number; range?: { start?: { line?: number } } };
	if (typeof p.position?.line === "number") return p.position.line;
	if (typeof p.line === "number") return p.line;
	if (typeof p.range?.start?.line === "number") return p.range.start.line + 1;
	return undefined;
}

function problemText(problem: unknown): string {
	const p = problem as { message?: string };
	return typeof p.message === "string" ? p.message : JSON.stringify(problem);
}

function isError(problem: unknown): boolean {
	const p = problem as { severity?: unknown };
	return p.severity === undefined || p.severity === "error" || p.severity === vscode.DiagnosticSeverity.Error;
}

suite("graph.config.pbtxt commands run headless", () => {
	const dir = () => path.join(workspaceRoot(), "generated");
	const model = () => path.join(dir(), "model.pb");

	suiteSetup(async () => {
		await extensionApi();
		fs.mkdirSync(dir(), { recursive: true });
		fs.copyFileSync(sampleFiles().model, model());
	});

	test("Select Target with { target } sets kernelNN.target without asking", async () => {
		await vscode.commands.executeCommand("kernelNN.selectTarget", { target: "sandbox" });
		assert.equal(vscode.workspace.getConfiguration("kernelNN").get("target"), "sandbox");
	});

	test("Generate graph.config.pbtxt with { model, feeds, fetches } writes a config with the feeds and fetches in order", async () => {
		const written = await vscode.commands.executeCommand<vscode.Uri>("kernelNN.generateConfig", { model: model(), feeds: FEEDS, fetches: FETCHES });
		assert.ok(written instanceof vscode.Uri || typeof (written as { fsPath?: unknown })?.fsPath === "string", `generateConfig returned ${JSON.stringify(written)}, not a Uri`);
		const file = vscode.Uri.from(written).fsPath;
		assert.ok(fs.existsSync(file), `${file} was not written`);
		const { config } = parseConfig(fs.readFileSync(file, "utf8"), file);
		assert.deepEqual(config.feed.map((f) => [refKey(configRef(f)), shapeFromProto(f.shape)]), FEEDS.map((f) => [f.name, f.shape]));
		assert.deepEqual(config.fetch.map((f) => refKey(configRef(f))), FETCHES);
	});

	test("Validate graph.config.pbtxt finds no problem in the sample's config", async () => {
		const { model: sampleModel, config } = sampleFiles();
		const problems = await vscode.commands.executeCommand<unknown[]>("kernelNN.validateConfig", { config, model: sampleModel });
		assert.ok(Array.isArray(problems), `validateConfig returned ${JSON.stringify(problems)}, not a list of problems`);
		assert.deepEqual(problems.filter(isError).map(problemText), []);
	});

	test("Validate graph.config.pbtxt reports a fetch of a missing node on its line", async () => {
		const broken = path.join(dir(), "broken.config.pbtxt");
		const text = fs.readFileSync(sampleFiles().config, "utf8").replace('node_name: "global/Softmax"', 'node_name: "global/NoSuchSoftmax"');
		fs.writeFileSync(broken, text);
		const line = text.split("\n").findIndex((l) => l.includes("global/NoSuchSoftmax")) + 1;
		const problems = await vscode.commands.executeCommand<unknown[]>("kernelNN.validateConfig", { config: broken, model: sampleFiles().model });
		assert.ok(Array.isArray(problems), `validateConfig returned ${JSON.stringify(problems)}, not a list of problems`);
		const found = problems.filter(isError).find((p) => problemText(p).includes("global/NoSuchSoftmax"));
		assert.ok(found, `no error names global/NoSuchSoftmax: ${JSON.stringify(problems.map(problemText))}`);
		assert.equal(problemLine(found), line, `the problem should point at line ${line}: ${JSON.stringify(found)}`);
	});

	test("kernelNN.maxWork bounds the validation: 1k operations refuse the sample's check naming the budget, and clearing it passes again", async () => {
		const { model: sampleModel, config } = sampleFiles();
		const settings = vscode.workspace.getConfiguration("kernelNN");
		const validate = async (): Promise<string> => {
			try {
				const problems = await vscode.commands.executeCommand<unknown[]>("kernelNN.validateConfig", { config, model: sampleModel });
				return problems.filter(isError).map(problemText).join("\n");
			} catch (error) {
				return error instanceof Error ? error.message : String(error);
			}
		};
		await settings.update("maxWork", "1k", vscode.ConfigurationTarget.Global);
		try {
			assert.match(await validate(), /work budget of 1,000 operations/);
		} finally {
			await settings.update("maxWork", undefined, vscode.ConfigurationTarget.Global);
		}
		assert.equal(await validate(), "");
	});
});
