import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import {
	type FeedRequest, type FetchRequest, buildConfig, configRef, formatConfig, formatProblem, parseConfig, parseFeedArgument, validateConfig,
} from "../core/frontends/tf/tf2xlaConfig";
import { graphIoRequests } from "../core/frontends/onnx/config";
import { signatureRequests } from "../core/frontends/tf/signatures";
import { parseInputName, refKey } from "../core/graph/graph";
import { type LoadedModel, loadModel } from "../core/frontends";
import { encodeMessage, types } from "../core/frontends/tf/proto/registry";
import { formatInspectReport, inspectModel } from "../core/model/inspect";
import { freezeForFetches, loadConfigured, loadFrozen } from "../core/model/prepare";
import { runSteps, stepsToJson } from "../core/model/steps";
import { writeFileAtomic } from "../core/util/atomicWrite";
import { compileModel } from "../core/codegen/compile";
import { validatePrefix } from "../core/kmod/modulePrefix";
import { KnnError } from "../core/util/errors";
import { terminalText } from "../core/util/terminalText";
import { hostDriverSource } from "../core/codegen/hostDriver";
import { writeCompiledModule } from "../core/kmod/moduleProject";
import { sandbox } from "./sandboxCommand";
import { quantize } from "./quantizeCommand";
import { TARGET_USAGE, deployCommand, dmesgCommand } from "./targetCommands";
import { RUNTIME_USAGE, runtimeCommand } from "./runtimeCommand";
import { reportPeakMemoryOnExit, takeMemoryOption } from "./memoryOption";
import { UsageError, reportFailure } from "./exitStatus";
import { readInputsFile } from "./inputsFile";
import { printErr, printJson, printOut } from "./output";

const USAGE = `knn: Kernel NN command line

  knn inspect MODEL [--json]
  knn freeze MODEL --fetch NODE[,NODE...] --out FROZEN.pb [--checkpoint PREFIX]
  knn config MODEL --feed NODE[:IDX][=D0xD1x...] ... --fetch NODE[:IDX] ... --out graph.config.pbtxt [--checkpoint PREFIX]
  knn config MODEL --signature NAME [--batch N] --out graph.config.pbtxt [--checkpoint PREFIX]
  knn config MODEL.onnx|MODEL.tflite [--feed NAME=D0xD1x...] [--fetch NAME,...] --out graph.config.pbtxt
  knn config MODEL --check graph.config.pbtxt [--checkpoint PREFIX]
  knn run MODEL --config graph.config.pbtxt --inputs INPUTS.json [--checkpoint PREFIX] [--json]
  knn compile MODEL --config graph.config.pbtxt --prefix NAME --out DIR [--template selftest|tcp|app --app A] [--host-driver]
             [--no-fpu] [--checkpoint PREFIX]

  knn quantize MODEL --config graph.config.pbtxt --calibration DATA.npy|INPUTS.json --out MODEL_int8.tflite
             [--per-channel] [--checkpoint PREFIX] [--json]

${TARGET_USAGE}
${RUNTIME_USAGE}
  knn sandbox start|stop|status|ssh [--dir DIR] [--json]

MODEL is a frozen GraphDef (.pb or .pbtxt), a MetaGraphDef (.meta), a SavedModel directory, an ONNX model (.onnx)
  or a TensorFlow Lite model (.tflite, float or quantized).
An ONNX or TFLite model's config defaults to all its graph inputs and outputs in graph order, dynamic dimensions set
  to 1; node names are the file's tensor names (one ending in ":N" is written "_N").
--feed NODE=1x30 feeds a [1,30] tensor, NODE= a scalar; NODE alone takes the placeholder's declared shape.
--signature NAME takes the feeds and fetches from a SavedModel signature (knn inspect lists them): inputs then
  outputs in key order, each named by its key; unknown dimensions become N (--batch, default 1). Without --feed,
  --fetch and --signature, knn config uses serving_default when the model has it.
--host-driver also writes NAME_host.c, a user-space main() that runs the same C from hex words on stdin.
--no-fpu compiles a quantized model to integer-only C: float inputs and outputs become int32 fixed point (NAME.h
  gives each one's fractional bits), the module uses no FPU, and a node still computing in float is refused.
INPUTS.json: {"feeds": {"NODE[:IDX]": [[...]]}, "steps": N, "feedback": {"FEED": "FETCH"}}; a data set adds
"feedsPerStep": [{"NODE": [[...]]}, ...] (step i takes entry i first, then feedback, then feeds); at most 1,000,000 steps.
--max-memory SIZE (any command): the memory budget for the tensors a command materialises, default 512M; a model
  whose tensors need more fails naming the tensor, until the budget is raised (e.g. --max-memory 2G).
--max-work COUNT (any command): the work budget of one evaluation (a run over all its steps, a check, a compile's
  folding), default 400M operations: a node run counts 200 (600 with while loops or tf.cond), each element a
  kernel reads 1 and writes 2, each multiply-add or window tap 1.
Exit status: 0 done, 1 a failure the message explains, 2 a command-line mistake (bad flag, argument or --prefix),
  70 an internal error of knn (a bug: please report it with the command line and the model).`;

const DEFAULT_SIGNATURE = "serving_default";

function list(values: string[] | undefined): string[] {
	return (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
}

function required(value: string | undefined, flag: string): string {
	if (!value) throw new UsageError(`missing ${flag}\n\n${USAGE}`);
	return value;
}

function inspect(args: string[]): number {
	const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: "boolean" } } });
	const report = inspectModel(loadModel(required(positionals[0], "MODEL")));
	if (values.json) printJson(JSON.stringify(report, null, 2));
	else printOut(formatInspectReport(report));
	return 0;
}

function freeze(args: string[]): number {
	const { values, positionals } = parseArgs({
		args, allowPositionals: true,
		options: { checkpoint: { type: "string" }, fetch: { type: "string", multiple: true }, out: { type: "string" } },
	});
	const fetches = list(values.fetch);
	if (fetches.length === 0) throw new UsageError("missing --fetch NODE[,NODE...]: freezing keeps only what the fetches need");
	const out = required(values.out, "--out FROZEN.pb");
	const { graph, freeze } = loadFrozen(required(positionals[0], "MODEL"), fetches, values.checkpoint);
	writeFileAtomic(out, encodeMessage(types.GraphDef, graph.toGraphDef()));
	printErr(`${out}: ${graph.nodes.length} nodes, ${freeze?.frozen.length ?? 0} variables frozen`);
	return 0;
}

function config(args: string[]): number {
	const { values, positionals } = parseArgs({
		args, allowPositionals: true,
		options: {
			feed: { type: "string", multiple: true }, fetch: { type: "string", multiple: true }, out: { type: "string" },
			check: { type: "string" }, checkpoint: { type: "string" }, signature: { type: "string" }, batch: { type: "string" },
		},
	});
	const modelPath = required(positionals[0], "MODEL");
	if (values.check) {
		const parsed = parseConfig(fs.readFileSync(values.check, "utf8"), values.check);
		const model = loadModel(modelPath);
		// Feeds are frozen along with the fetches so that one no fetch reads is reported as unused, not as missing.
		const named = [...parsed.config.fetch, ...parsed.config.feed].map((f) => configRef(f).node).filter((n) => model.graph.has(n));
		const { graph } = freezeForFetches(model, named, values.checkpoint);
		const problems = validateConfig(graph, parsed);
		for (const problem of problems) printOut(formatProblem(problem));
		const errors = problems.filter((p) => p.severity === "error").length;
		if (errors === 0) printErr(`${values.check}: valid (${parsed.config.feed.length} feeds, ${parsed.config.fetch.length} fetches)`);
		return errors === 0 ? 0 : 1;
	}
	const model = loadModel(modelPath);
	const { feeds, fetches, signature } = configRequests(model, values);
	for (const fetch of fetches) {
		if (!model.graph.has(fetch.ref.node)) throw new KnnError(`${model.file}: the graph has no node named "${fetch.ref.node}"; knn inspect lists the nodes`, "config");
	}
	const named = [...fetches, ...feeds].map((r) => r.ref.node).filter((n) => model.graph.has(n));
	const { graph } = freezeForFetches(model, named, values.checkpoint);
	const { config: built, inference } = buildConfig(graph, feeds, fetches);
	const text = formatConfig(built, inference);
	if (values.out) {
		writeFileAtomic(values.out, text);
		const describe = (r: FeedRequest | FetchRequest) => `${r.name ? `${r.name} = ` : ""}${refKey(r.ref)}${"shape" in r && r.shape ? ` [${r.shape.join(",")}]` : ""}`;
		printErr(`${values.out}: ${signature ? `signature "${signature}": ` : ""}${feeds.length} feeds (${feeds.map(describe).join(", ")}), ` +
			`${fetches.length} fetches (${fetches.map(describe).join(", ")})`);
	} else {
		// A config on a terminal is read, not parsed: escape what could move the cursor; a redirected one stays byte for byte.
		process.stdout.write(process.stdout.isTTY ? terminalText(text) : text);
	}
	return 0;
}

/** Feeds and fetches from --feed/--fetch, or from a signature: --signature, else serving_default when neither is given. */
function configRequests(model: LoadedModel, values: { feed?: string[]; fetch?: string[]; signature?: string; batch?: string }): { feeds: FeedRequest[]; fetches: FetchRequest[]; signature?: string } {
	if (values.signature && (values.feed || values.fetch)) throw new UsageError("--signature gives the feeds and fetches itself: drop --feed and --fetch, or drop --signature");
	const signature = values.signature ?? (!values.feed && !values.fetch && model.signatures?.some((s) => s.key === DEFAULT_SIGNATURE) ? DEFAULT_SIGNATURE : undefined);
	if (values.batch !== undefined && !signature) throw new UsageError("--batch sets the unknown dimensions of a --signature's inputs; with --feed, write the shape itself, e.g. --feed NODE=8x30");
	if (signature) return { ...signatureRequests(model, signature, parseBatch(values.batch)), signature };
	// An ONNX graph names its inputs and outputs: they are the defaults, --feed overrides shapes, --fetch picks outputs.
	if (model.graphInputs) return graphIoRequests(model, values.feed ?? [], list(values.fetch));
	const feeds = (values.feed ?? []).map(parseFeedArgument);
	const fetches = list(values.fetch).map((text) => ({ ref: parseInputName(text).ref }));
	if (feeds.length === 0 || fetches.length === 0) {
		const hint = model.signatures?.length ? ` (or --signature ${model.signatures[0].key}; the model has ${model.signatures.map((sig) => sig.key).join(", ")})` : "";
		throw new UsageError(`give at least one --feed and one --fetch${hint}\n\n${USAGE}`);
	}
	return { feeds, fetches };
}

function parseBatch(text: string | undefined): number {
	if (text === undefined) return 1;
	if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--batch must be a whole number of at least 1, not "${text}"`);
	return Number(text);
}

function run(args: string[]): number {
	const { values, positionals } = parseArgs({
		args, allowPositionals: true,
		options: { config: { type: "string" }, inputs: { type: "string" }, checkpoint: { type: "string" }, json: { type: "boolean" } },
	});
	const configPath = required(values.config, "--config graph.config.pbtxt");
	const inputsPath = required(values.inputs, "--inputs INPUTS.json");
	const { graph, parsed } = loadConfigured(required(positionals[0], "MODEL"), configPath, values.checkpoint);
	const results = runSteps(graph, parsed.config, readInputsFile(inputsPath), inputsPath);
	const output = stepsToJson(parsed.config, results);
	if (values.json) {
		printJson(JSON.stringify(output));
	} else {
		output.steps.forEach((step, i) => {
			for (const [name, value] of Object.entries(step)) printOut(`step ${i} ${name}: ${JSON.stringify(value)}`);
		});
	}
	return 0;
}

/** --out DIR resolved, refused before anything is written when it names a file rather than a folder. */
function outputFolder(dir: string): string {
	const resolved = path.resolve(dir);
	if (fs.existsSync(resolved) && !fs.statSync(resolved).isDirectory()) throw new UsageError(`--out ${dir} is a file; give a folder for the module project`);
	return resolved;
}

function compile(args: string[]): number {
	const { values, positionals } = parseArgs({
		args, allowPositionals: true,
		options: {
			config: { type: "string" }, prefix: { type: "string" }, out: { type: "string" }, checkpoint: { type: "string" },
			template: { type: "string", default: "selftest" }, "host-driver": { type: "boolean" }, "no-fpu": { type: "boolean" }, app: { type: "string" },
		},
	});
	const modelPath = required(positionals[0], "MODEL");
	const configPath = required(values.config, "--config graph.config.pbtxt");
	const prefix = validatePrefix(required(values.prefix, "--prefix NAME"));
	const out = outputFolder(required(values.out, "--out DIR"));
	const template = values.template;
	if (template !== "selftest" && template !== "tcp" && template !== "app") throw new UsageError(`--template must be selftest, tcp or app, not "${template}"`);
	if ((template === "app") !== (values.app !== undefined)) throw new UsageError("--template app and --app A go together: the app template registers the model into knn_core's application A");
	const start = performance.now();
	const { graph, parsed } = loadConfigured(modelPath, configPath, values.checkpoint);
	const noFpu = values["no-fpu"] === true;
	const compiled = compileModel(graph, parsed.config, prefix, `${path.basename(modelPath)} with ${path.basename(configPath)}`, { noFpu });
	const moduleFiles = writeCompiledModule(out, compiled, template, values.app ? { app: values.app } : undefined);
	if (values["host-driver"]) writeFileAtomic(path.join(out, `${prefix}_host.c`), hostDriverSource(prefix));
	const r = compiled.report;
	printErr(`${out}: ${[...compiled.files.map((f) => f.name), ...moduleFiles.map((f) => path.basename(f))].join(", ")}`);
	printErr(`  ${r.kernels} steps, ${r.loops} loop(s); arena ${r.arenaBytes} bytes (temporaries ${r.tempBytes}, ${r.tempBytesUnshared} without reuse); weights ${r.weightBytes} bytes; ${(performance.now() - start).toFixed(0)} ms`);
	return 0;
}

const COMMANDS: Record<string, (args: string[]) => number | Promise<number>> = {
	inspect, freeze, config, run, compile, quantize, deploy: deployCommand, dmesg: dmesgCommand, sandbox, runtime: runtimeCommand,
};

export async function main(argv: string[]): Promise<number> {
	const [command, ...rest] = argv;
	if (!command || command === "--help" || command === "-h" || command === "help") {
		console.log(USAGE);
		return command ? 0 : 2;
	}
	const handler = COMMANDS[command];
	if (!handler) {
		printErr(`knn: unknown command "${command}"\n\n${USAGE}`);
		return 2;
	}
	try {
		return await handler(takeMemoryOption(rest));
	} catch (error) {
		return reportFailure(`knn ${command}`, error, USAGE);
	}
}

if (require.main === module) {
	reportPeakMemoryOnExit();
	void main(process.argv.slice(2)).then((code) => {
		process.exitCode = code;
	});
}
