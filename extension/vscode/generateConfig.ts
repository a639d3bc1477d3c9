import * as path from "node:path";
import * as vscode from "vscode";
import { type FeedRequest, buildConfig, formatConfig } from "../core/frontends/tf/tf2xlaConfig";
import { graphIoRequests } from "../core/frontends/onnx/config";
import { parseInputName, refKey } from "../core/graph/graph";
import { declaredShape } from "../core/interp/infer";
import { formatShape } from "../core/graph/tensor";
import { inspectModel } from "../core/model/inspect";
import type { LoadedModel } from "../core/frontends";
import { UserCancelled } from "./cancellation";
import { formatShapeText, modelCommentLine, parseShapeText } from "./configModelRef";
import type { ComponentLog } from "./log";
import { exists, readGraphFor, readModel } from "./modelFiles";
import { inputStep, pickMany } from "./multiStep";
import { type UriArg, resolveModel, toUri } from "./pickers";

export interface FeedArg {
	name: string;
	shape?: number[];
}

/** kernelNN.generateConfig's optional argument; with it nothing is asked. */
export interface GenerateConfigArgs {
	model?: UriArg;
	/** Default: the inputs an ONNX or TFLite file declares, else every placeholder with its declared shape. */
	feeds?: (string | FeedArg)[];
	/** Default: the outputs an ONNX or TFLite file declares; required for TensorFlow models. */
	fetches?: string[];
	/** Default: graph.config.pbtxt beside the model. */
	out?: UriArg;
}

/**
 * Builds a tf2xla config for the model and writes it (default: graph.config.pbtxt beside the model) with a
 * `# model:` line so validation and deploy find the model again. Feeds and fetches keep their order.
 */
export async function writeConfigFile(model: vscode.Uri, feeds: readonly FeedArg[], fetches: readonly string[], out?: vscode.Uri): Promise<vscode.Uri> {
	const target = out ?? vscode.Uri.joinPath(model, "..", "graph.config.pbtxt");
	const fetchRefs = fetches.map((name) => parseInputName(name).ref);
	const { graph } = await readGraphFor(model, fetchRefs.map((ref) => ref.node));
	const requests: FeedRequest[] = feeds.map((feed) => ({ ref: parseInputName(feed.name).ref, shape: feed.shape }));
	const { config, inference } = buildConfig(graph, requests, fetchRefs.map((ref) => ({ ref })));
	const relative = path.relative(path.dirname(target.path), model.path) || path.basename(model.path);
	const text = `${modelCommentLine(relative)}\n${formatConfig(config, inference)}`;
	await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
	return target;
}

/** kernelNN.generateConfig: headless with `args`, else a multi-step pick of feeds, their shapes and fetches. */
export async function generateConfigCommand(log: ComponentLog, args: GenerateConfigArgs | undefined, interactive: boolean): Promise<vscode.Uri | undefined> {
	if (interactive || args === undefined) return generateConfigInteractively(log, await resolveModel(args?.model, true));
	const model = await resolveModel(args.model, false);
	const loaded = await readModel(model);
	const declared = declaredIo(loaded);
	const feeds = (args.feeds ?? declared?.feeds ?? inspectModel(loaded).placeholders.map((p) => p.name)).map((feed) => (typeof feed === "string" ? { name: feed } : feed));
	const fetches = args.fetches ?? declared?.fetches ?? [];
	if (fetches.length === 0) throw new Error(`generateConfig needs { fetches: [...] }: which outputs of ${path.basename(model.path)} the module computes`);
	return written(log, await writeConfigFile(model, feeds, fetches, args.out ? toUri(args.out) : undefined), feeds, fetches, false);
}

/** The feeds and fetches an ONNX or TFLite file names itself (unknown dimensions as 1), as `knn config` takes them. */
function declaredIo(model: LoadedModel): { feeds: FeedArg[]; fetches: string[] } | undefined {
	if (!model.graphInputs) return undefined;
	const { feeds, fetches } = graphIoRequests(model, [], []);
	return { feeds: feeds.map((feed) => ({ name: refKey(feed.ref), shape: feed.shape })), fetches: fetches.map((fetch) => refKey(fetch.ref)) };
}

/** The interactive steps for a known model (also offered when a deploy or build finds no config). */
export async function generateConfigInteractively(log: ComponentLog, model: vscode.Uri): Promise<vscode.Uri> {
	const { feeds, fetches } = await askFeedsAndFetches(model);
	const out = vscode.Uri.joinPath(model, "..", "graph.config.pbtxt");
	if (await exists(out)) {
		const choice = await vscode.window.showWarningMessage(`${path.basename(out.path)} already exists beside ${path.basename(model.path)}.`, { modal: true }, "Overwrite");
		if (choice !== "Overwrite") throw new UserCancelled();
	}
	return written(log, await writeConfigFile(model, feeds, fetches, out), feeds, fetches, true);
}

async function written(log: ComponentLog, uri: vscode.Uri, feeds: readonly FeedArg[], fetches: readonly string[], interactive: boolean): Promise<vscode.Uri> {
	log.info(`wrote ${uri.fsPath}: feeds ${feeds.map((f) => f.name).join(", ")}; fetches ${fetches.join(", ")}`);
	await vscode.window.showTextDocument(uri, { preview: false, preserveFocus: !interactive });
	return uri;
}

type NodeItem = vscode.QuickPickItem & { name: string };

async function askFeedsAndFetches(model: vscode.Uri): Promise<{ feeds: FeedArg[]; fetches: string[] }> {
	const loaded = await readModel(model);
	const report = inspectModel(loaded);
	const graph = loaded.graph;
	const title = `Kernel NN: Generate graph.config.pbtxt for ${path.basename(model.path)}`;
	const placeholderItems: NodeItem[] = report.placeholders.map((p) => ({ label: p.name, name: p.name, description: `${p.dtype ?? "?"} ${p.shape}`, picked: true }));
	// An ONNX or TFLite file names its outputs: they are the outputs, picked already.
	const declared = loaded.graphOutputs?.map((output) => refKey(parseInputName(output.tensor).ref)).filter((name) => graph.has(parseInputName(name).ref.node));
	const likely = declared?.length ? declared : report.candidateOutputs;
	const candidates = new Set(likely);
	const fetchItems: NodeItem[] = [
		{ label: declared?.length ? "Outputs the file declares" : "Likely outputs", kind: vscode.QuickPickItemKind.Separator, name: "" },
		...likely.map((name) => ({ label: name, name, description: graph.node(parseInputName(name).ref.node).op, picked: declared?.length ? true : likely.length <= 3 })),
		{ label: "Other nodes", kind: vscode.QuickPickItemKind.Separator, name: "" },
		...graph.nodes.filter((n) => !candidates.has(n.name) && n.op !== "Const" && n.op !== "NoOp").map((n) => ({ label: n.name, name: n.name, description: n.op })),
	];

	let chosenFeeds: NodeItem[] = placeholderItems.filter((item) => item.picked);
	const shapes = new Map<string, number[]>();
	let chosenFetches: NodeItem[] = fetchItems.filter((item) => item.picked);
	// Steps: 0 feeds, 1..n one shape per feed, n+1 fetches; Back moves one step back.
	let step = 0;
	for (;;) {
		const total = chosenFeeds.length + 2;
		if (step === 0) {
			if (placeholderItems.length === 0) {
				chosenFeeds = [];
				step = 1;
				continue;
			}
			const picked = await pickMany(placeholderItems, { title, step: 1, totalSteps: total, placeholder: "Feeds: the inputs of the compiled model, in this order", picked: chosenFeeds });
			if (picked === undefined || picked === "back") throw new UserCancelled();
			chosenFeeds = picked;
			step = 1;
		} else if (step <= chosenFeeds.length) {
			const feed = chosenFeeds[step - 1];
			const declared = declaredShape(graph.node(feed.name));
			const known = shapes.get(feed.name) ?? (declared && declared.every((d) => d >= 0) ? declared : declared?.map((d) => (d < 0 ? 1 : d)));
			const value = await inputStep({
				title, step: step + 1, totalSteps: total,
				prompt: `Shape of feed ${feed.name} (the graph declares ${formatShape(declared)}); every dimension must be fixed, e.g. 1x32`,
				value: formatShapeText(known),
				validate: (text) => { const parsed = parseShapeText(text); return "error" in parsed ? parsed.error : undefined; },
			});
			if (value === undefined) throw new UserCancelled();
			if (value === "back") {
				step--;
				continue;
			}
			const parsed = parseShapeText(value);
			if ("shape" in parsed) shapes.set(feed.name, parsed.shape);
			step++;
		} else {
			const picked = await pickMany(fetchItems, { title, step: total, totalSteps: total, placeholder: "Fetches: the outputs of the compiled model (results are numbered in this order)", picked: chosenFetches });
			if (picked === undefined) throw new UserCancelled();
			if (picked === "back") {
				step = chosenFeeds.length;
				continue;
			}
			chosenFetches = picked;
			break;
		}
	}
	return {
		feeds: chosenFeeds.map((feed) => ({ name: feed.name, shape: shapes.get(feed.name) })),
		fetches: chosenFetches.map((fetch) => fetch.name),
	};
}
