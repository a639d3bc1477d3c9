import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { buildConfig, formatConfig, parseFeedArgument } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { Graph } from "../../extension/core/graph/graph";
import { PrefixError, prefixFromModelName, validatePrefix } from "../../extension/core/kmod/modulePrefix";
import { writeModuleProject } from "../../extension/core/kmod/moduleProject";
import { KnnError } from "../../extension/core/util/errors";
import { terminalJson, terminalName, terminalText } from "../../extension/core/util/terminalText";
import { moduleBuildDir } from "../../extension/vscode/moduleBuild";
import { cliPath, knn, tempDir } from "../support/cli";
import { GraphBuilder, attr } from "../support/graphBuilder";

const ROOT = path.resolve(__dirname, "../..");

// Each one reproduces a prefix from issue 11 that passed validation or escaped its folder, plus the plain misfits.
const BAD_PREFIXES: [string, RegExp][] = [
	["../../x", /not usable for a kernel module: use a C identifier/],
	["knn_bits", /clashes with the module template's own name/],
	["knn_tensors", /clashes with the module template's own name/],
	["knn_fpu", /clashes with the module template's own name/],
	["knn", /clashes with the module template's own name knn_/],
	["int", /is a C keyword/],
	["_Bool", /is a C keyword|reserves/],
	["current", /kernel headers already define/],
	["THIS_MODULE", /kernel headers already define/],
	["KERN_INFO", /kernel headers already define/],
	["module", /kernel headers already define/],
	["__init", /reserves for the compiler and the kernel/],
	["", /not usable for a kernel module/],
	["a".repeat(200), /of 1 to 41 characters/],
	["módulo", /ASCII letters/],
	["a b", /not usable for a kernel module/],
];

const TINY_TENSORS = { arguments: [{ name: "x", bytes: 8 }], results: [{ name: "y", bytes: 8 }] };

/** Every file and folder below dir, as relative paths: the before/after picture of "nothing was created". */
function listing(dir: string): string[] {
	return (fs.readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
}

/** A tiny Placeholder -> Neg model and its config, in dir; node names can be given to test how they are printed. */
function tinyModel(dir: string, input = "x", output = "y"): { model: string; config: string; inputs: string } {
	const g = new GraphBuilder();
	const x = g.placeholder(input, "float32", [1, 2]);
	g.op("Neg", output, [x], { T: attr.type("float32") });
	const graph = Graph.fromGraphDef(g.def());
	const model = path.join(dir, "tiny.pb");
	fs.writeFileSync(model, encodeMessage(types.GraphDef, graph.toGraphDef()));
	const built = buildConfig(graph, [{ ...parseFeedArgument("x=1x2"), ref: { node: input, index: 0 } }], [{ ref: { node: output, index: 0 } }]);
	const config = path.join(dir, "tiny.config.pbtxt");
	fs.writeFileSync(config, formatConfig(built.config, built.inference));
	const inputs = path.join(dir, "inputs.json");
	fs.writeFileSync(inputs, JSON.stringify({ feeds: { [input]: [[1, 2]] } }));
	return { model, config, inputs };
}

describe("module prefixes", () => {
	it("refuses each bad prefix with a typed PrefixError (code \"name\") that says which rule it breaks", () => {
		for (const [prefix, why] of BAD_PREFIXES) {
			assert.throws(() => validatePrefix(prefix), (e: unknown) => e instanceof PrefixError && e instanceof KnnError && e.code === "name" && why.test(e.message), JSON.stringify(prefix));
		}
	});

	it("accepts ordinary model names, including knn_-prefixed ones the templates do not use", () => {
		for (const prefix of ["indigo", "mnist_v2", "knn_mnist", "m_3layer", "Model", "a".repeat(41)]) assert.equal(validatePrefix(prefix), prefix);
	});

	it("reserves every knn_* name the module templates use, so NAME_run and struct NAME cannot meet them", () => {
		const names = new Set<string>();
		for (const file of fs.readdirSync(path.join(ROOT, "kmod", "templates"), { recursive: true, encoding: "utf8" })) {
			if (!fs.statSync(path.join(ROOT, "kmod", "templates", file)).isFile()) continue;
			for (const match of fs.readFileSync(path.join(ROOT, "kmod", "templates", file), "utf8").matchAll(/\bknn_[A-Za-z0-9_]+/g)) names.add(match[0]);
		}
		assert.ok(names.size > 20, `only ${names.size} knn_* names found in kmod/templates/`);
		for (const name of names) assert.throws(() => validatePrefix(name), PrefixError, name);
	});

	it("writes no module project file for a bad prefix: the folder is never created", () => {
		const parent = tempDir("prefix-project");
		for (const [prefix] of BAD_PREFIXES) {
			const dir = path.join(parent, "project");
			assert.throws(() => writeModuleProject(dir, { prefix, template: "selftest", modelFiles: ["model.c"], ...TINY_TENSORS }), PrefixError, JSON.stringify(prefix));
			assert.deepEqual(listing(parent), [], JSON.stringify(prefix));
		}
	});

	it("derives a usable prefix from any model file name, as knn deploy and the tasks do", () => {
		assert.equal(prefixFromModelName("model.pb"), "model");
		assert.equal(prefixFromModelName("my-lstm.v2.meta"), "my_lstm");
		assert.equal(prefixFromModelName("3layer.pb"), "m_3layer");
		for (const [file, prefix] of [["int.pb", "m_int"], ["current.onnx", "m_current"], ["knn_bits.tflite", "m_knn_bits"], ["__x.pb", "x"], [".pb", "model"]]) {
			assert.equal(prefixFromModelName(file), prefix, file);
		}
		for (const file of ["ünïcode.pb", `${"z".repeat(300)}.pb`, "-.pb", "do.pb"]) assert.equal(validatePrefix(prefixFromModelName(file)), prefixFromModelName(file), file);
	});
});

describe("knn compile and knn deploy with a bad prefix", () => {
	it("knn compile refuses each bad prefix with exit status 2 and creates no --out folder", () => {
		const dir = tempDir("prefix-compile");
		const { model, config } = tinyModel(dir);
		const before = listing(dir);
		for (const [prefix, why] of BAD_PREFIXES.filter(([p]) => ["../../x", "knn_bits", "knn_tensors", "int", "current", "", "módulo"].includes(p) || p.length === 200)) {
			const result = knn("compile", model, "--config", config, "--prefix", prefix, "--out", path.join(dir, "out", "deeper"));
			assert.equal(result.status, 2, `${JSON.stringify(prefix)}: ${result.stderr}`);
			assert.ok(prefix === "" ? /missing --prefix|not usable/.test(result.stderr) : why.test(result.stderr), result.stderr);
			assert.doesNotMatch(result.stderr, /: internal error:/);
			assert.deepEqual(listing(dir), before, JSON.stringify(prefix));
		}
	});

	it("knn deploy --prefix '../../x' fails with exit status 2 before making any folder, in TMPDIR or above it", () => {
		const dir = tempDir("prefix-deploy");
		const { model, config, inputs } = tinyModel(dir);
		// A private TMPDIR inside a private parent: anything deploy made, inside or outside TMPDIR, would show here.
		const parent = tempDir("prefix-deploy-tmp");
		const tmp = path.join(parent, "tmp");
		fs.mkdirSync(tmp);
		for (const prefix of ["../../x", "../../../x", "../x", "knn_tensors", "int", "current"]) {
			const result = spawnSync(process.execPath, [cliPath(), "deploy", model, "--config", config, "--inputs", inputs, "--target", "local", "--prefix", prefix],
				{ encoding: "utf8", env: { ...process.env, TMPDIR: tmp }, timeout: 60_000 });
			assert.equal(result.status, 2, `${prefix}: ${result.stderr}`);
			assert.match(result.stderr, /prefix/);
			assert.deepEqual(listing(parent), ["tmp"], prefix);
		}
	});
});

describe("task output folders", () => {
	it("a kernelnn task whose prefix is ../../../somewhere is refused before anything is written", () => {
		const workspace = path.join(tempDir("task-prefix"), "a", "b", "ws");
		fs.mkdirSync(workspace, { recursive: true });
		const above = path.dirname(path.dirname(path.dirname(workspace)));
		const before = listing(above);
		for (const prefix of ["../../../somewhere", "../build2", "/etc", "knn_bits", "int"]) {
			assert.throws(() => moduleBuildDir(workspace, prefix), (e: unknown) => e instanceof KnnError && e.code === "name", prefix);
		}
		assert.deepEqual(listing(above), before);
		assert.equal(moduleBuildDir(workspace, "indigo"), path.join(workspace, ".kernelnn", "build", "indigo"));
	});

	it("refuses a build folder that a link would lead out of .kernelnn/build", () => {
		const workspace = tempDir("task-link");
		const elsewhere = tempDir("task-link-elsewhere");
		fs.mkdirSync(path.join(workspace, ".kernelnn", "build"), { recursive: true });
		fs.symlinkSync(elsewhere, path.join(workspace, ".kernelnn", "build", "evil"));
		assert.throws(() => moduleBuildDir(workspace, "evil"), (e: unknown) => e instanceof KnnError && e.code === "path" && /outside/.test(e.message));
	});
});

describe("terminal output of model-derived strings", () => {
	it("shows ESC, CR, BS, DEL, C1 controls and bidi overrides escaped, keeping newlines and tabs", () => {
		assert.equal(terminalText("a\x1b[2Jb"), "a\\x1b[2Jb");
		assert.equal(terminalText("over\rwrite\bx\x7f\x9b1m"), "over\\x0dwrite\\x08x\\x7f\\x9b1m");
		assert.equal(terminalText("abc\u202edef\u2066g\u2069\u200f"), "abc\\u202edef\\u2066g\\u2069\\u200f");
		assert.equal(terminalText("line 1\n\tline 2"), "line 1\n\tline 2");
		assert.equal(terminalName("one\nname\t"), "one\\x0aname\\x09");
		assert.equal(terminalText("plain ASCII, ünïcode, 日本"), "plain ASCII, ünïcode, 日本");
	});

	it("keeps JSON valid and its values unchanged while escaping what a terminal would act on", () => {
		const value = { name: "evil\x1b[2J\r\u202e\x9b\x7f", nested: ["\u2067ok"] };
		const printed = terminalJson(JSON.stringify(value, null, 2));
		assert.doesNotMatch(printed, /[\x1b\r\u202e\x9b\x7f\u2067]/);
		assert.deepEqual(JSON.parse(printed), value);
	});

	it("knn inspect prints node names holding ESC[2J, a carriage return and U+202E escaped, as text and as JSON", () => {
		const dir = tempDir("inspect-names");
		const input = "in\x1b[2Jput";
		const output = "out\rput\u202eevil";
		const { model } = tinyModel(dir, input, output);
		const text = knn("inspect", model);
		assert.equal(text.status, 0, text.stderr);
		assert.doesNotMatch(text.stdout + text.stderr, /[\x1b\r\u202e]/);
		assert.ok(text.stdout.includes("in\\x1b[2Jput"), text.stdout);
		assert.ok(text.stdout.includes("out\\x0dput\\u202eevil"), text.stdout);
		const json = knn("inspect", model, "--json");
		assert.equal(json.status, 0, json.stderr);
		assert.doesNotMatch(json.stdout, /[\x1b\r\u202e]/);
		assert.ok(json.stdout.includes(JSON.stringify(input).slice(1, -1)), "the JSON still names the node exactly");
		assert.ok(json.stdout.includes("out\\rput\\u202eevil"), json.stdout);
	});

	it("an error naming a feed from the inputs file prints it escaped", () => {
		const dir = tempDir("error-names");
		const { model, config, inputs } = tinyModel(dir);
		fs.writeFileSync(inputs, JSON.stringify({ feeds: { "x": [[1, 2]], "no\x1b]0;pwned\x07de\u202e": [[1]] } }));
		const result = knn("run", model, "--config", config, "--inputs", inputs);
		assert.equal(result.status, 1, result.stderr);
		assert.doesNotMatch(result.stderr, /[\x1b\x07\u202e]/);
		assert.match(result.stderr, /no\\x1b\]0;pwned\\x07de\\u202e/);
	});
});
