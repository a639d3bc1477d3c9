import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { formatProblem } from "../../extension/core/frontends/tf/tf2xlaConfig";

// package.json's contributions checked against the source that registers them, as VS Code would read them.
const ROOT = path.join(__dirname, "..", "..");
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
const contributes = manifest.contributes;

interface Command { command: string; title: string; category?: string; enablement?: string }
interface MenuItem { command: string; when?: string }

function sourceFiles(dir: string): string[] {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const full = path.join(dir, entry.name);
		return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith(".ts") ? [full] : [];
	});
}

const registered = new Set(sourceFiles(path.join(ROOT, "extension")).flatMap((file) =>
	[...fs.readFileSync(file, "utf8").matchAll(/(?:registerCommand|register(?:<[^>]*>)?)\(\s*"(kernelNN\.[A-Za-z.]+)"/g)].map((m) => m[1])));
const commands: Command[] = contributes.commands;
const palette: MenuItem[] = contributes.menus.commandPalette;
const NEEDS_TRUST = ["kernelNN.deploy", "kernelNN.buildModule", "kernelNN.tailKernelLog", "kernelNN.startSandbox", "kernelNN.stopSandbox"];

describe("package.json contributions", () => {
	it("registers every contributed command and contributes every registered one", () => {
		assert.deepEqual(commands.map((c) => c.command).filter((id) => !registered.has(id)), [], "contributed but never registered");
		assert.deepEqual([...registered].filter((id) => !commands.some((c) => c.command === id)), [], "registered but not contributed");
	});

	it("gives every command the category Kernel NN and a Title Case title", () => {
		const small = new Set(["to", "of", "in", "for", "and", "a", "the"]);
		for (const command of commands) {
			assert.equal(command.category, "Kernel NN", command.command);
			for (const word of command.title.replace(/\(.*?\)/g, "").split(/\s+/).filter((w) => w && !/\.\w+$/.test(w))) {
				assert.ok(small.has(word) || /^[A-Z]/.test(word), `${command.command}: "${word}" in "${command.title}" is not capitalised`);
			}
		}
	});

	it("shows trust-needing commands in the palette only in trusted workspaces, and hides view-only commands", () => {
		for (const id of NEEDS_TRUST) {
			assert.match(palette.find((m) => m.command === id)?.when ?? "", /isWorkspaceTrusted/, id);
			assert.match(commands.find((c) => c.command === id)?.enablement ?? "", /isWorkspaceTrusted/, id);
		}
		for (const id of ["kernelNN.graphInspector.revealNode", "kernelNN.compare.export"]) assert.equal(palette.find((m) => m.command === id)?.when, "false", id);
	});

	it("refers in menus only to contributed commands", () => {
		for (const [menu, items] of Object.entries(contributes.menus as Record<string, MenuItem[]>)) {
			for (const item of items) assert.ok(commands.some((c) => c.command === item.command), `${menu}: ${item.command}`);
		}
	});

	it("restricts every setting that can cause execution in untrusted workspaces, and scopes machine paths", () => {
		const properties = contributes.configuration.properties as Record<string, { scope?: string; markdownDescription?: string }>;
		const restricted: string[] = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
		assert.equal(manifest.capabilities.untrustedWorkspaces.supported, "limited");
		for (const key of restricted) assert.ok(properties[key], `restricted ${key} is not a setting`);
		for (const key of ["kernelNN.target", "kernelNN.ssh.identityFile", "kernelNN.kernelHeadersDir", "kernelNN.buildOn", "kernelNN.sandbox.dir"]) assert.ok(restricted.includes(key), key);
		for (const key of ["kernelNN.ssh.identityFile", "kernelNN.kernelHeadersDir", "kernelNN.sandbox.dir"]) assert.equal(properties[key].scope, "machine-overridable", key);
		for (const [key, value] of Object.entries(properties)) assert.ok(value.markdownDescription, `${key} has no markdownDescription`);
	});

	it("ships the files it points at: grammar, snippets, walkthrough media", () => {
		for (const grammar of contributes.grammars) JSON.parse(fs.readFileSync(path.join(ROOT, grammar.path), "utf8"));
		for (const snippet of contributes.snippets) assert.ok(fs.existsSync(path.join(ROOT, snippet.path)), snippet.path);
		const steps = contributes.walkthroughs.flatMap((w: { steps: { media: { markdown: string } }[] }) => w.steps);
		assert.ok(steps.length >= 4 && steps.length <= 5, `${steps.length} walkthrough steps`);
		for (const step of steps) assert.ok(fs.existsSync(path.join(ROOT, step.media.markdown)), step.media.markdown);
	});

	it("contributes the graph inspector as an optional editor for .pb, .pbtxt, .meta, .onnx and .tflite", () => {
		const editor = contributes.customEditors.find((e: { viewType: string }) => e.viewType === "kernelNN.graphInspector");
		assert.equal(editor.priority, "option");
		assert.deepEqual(editor.selector.map((s: { filenamePattern: string }) => s.filenamePattern), ["*.pb", "*.pbtxt", "*.meta", "*.onnx", "*.tflite", "**/saved_model.pb"]);
	});
});

describe("the $gcc problem matcher of the kernelnn tasks", () => {
	const matcher = contributes.problemMatchers.find((m: { name: string }) => m.name === "gcc");
	const pattern = new RegExp(matcher.pattern.regexp);

	it("is contributed, so $gcc resolves without the C/C++ extension", () => {
		assert.equal(contributes.taskDefinitions[0].type, "kernelnn");
		assert.deepEqual(matcher.fileLocation, ["autoDetect", "${workspaceFolder}"]);
	});

	it("matches what gcc itself prints for an error and a warning, with file, line, column and severity", (t) => {
		if (spawnSync("gcc", ["--version"]).status !== 0) return t.skip("gcc is not installed");
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "knn-gcc-"));
		try {
			const file = path.join(dir, "broken_model.c");
			fs.writeFileSync(file, "int f(void)\n{\n    int unused;\n    return undeclared_x;\n}\n");
			const run = spawnSync("gcc", ["-Wall", "-fdiagnostics-color=never", "-c", file, "-o", path.join(dir, "broken.o")], { encoding: "utf8" });
			const problems = run.stderr.split("\n").map((line) => pattern.exec(line)).filter((m) => m !== null);
			const error = problems.find((m) => m[4] === "error");
			assert.ok(error, run.stderr);
			assert.deepEqual([error[1], error[2], error[3]], [file, "4", "12"]);
			assert.ok(problems.some((m) => m[4] === "warning" && m[2] === "3"), run.stderr);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	it("matches config problems as the build task prints them", () => {
		const line = formatProblem({ file: "/ws/lstm/graph.config.pbtxt", message: "fetch \"x\": the graph has no node of that name", position: { line: 7, column: 17, endLine: 7, endColumn: 20 }, severity: "error" });
		assert.deepEqual(pattern.exec(line)?.slice(1, 5), ["/ws/lstm/graph.config.pbtxt", "7", "17", "error"]);
	});
});
