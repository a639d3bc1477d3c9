import * as path from "node:path";
import * as vscode from "vscode";
import { configFeeds, configRef, parseConfig, validateConfig } from "../core/frontends/tf/tf2xlaConfig";
import { refKey } from "../core/graph/graph";
import { inferGraph } from "../core/interp/infer";
import { shapeFromProto } from "../core/graph/tensor";
import { StepInputError, type StepInputs, parseStepInputs } from "../core/model/steps";
import { parseInputsJson } from "../core/model/inputsJson";
import { UserCancelled } from "./cancellation";
import { isConfigFileName, isModelFileName } from "./configModelRef";
import { type TensorSignature, describeFeedback, describeInputs, guessFeedback, zeroInputs } from "./deployInputs";
import { errorMessage } from "./log";
import { findModelForConfig, listFolder, readGraphFor } from "./modelFiles";

// Where the model, the config and the inputs of a deploy or build come from: a command argument (headless),
// the active editor, a file beside it, or a picker.

export type UriArg = string | vscode.Uri | undefined;

/** An absolute path, a path relative to the first workspace folder, or a URI string. */
export function toUri(arg: string | vscode.Uri): vscode.Uri {
	if (typeof arg !== "string") return arg;
	if (/^[a-z][a-z0-9+.-]+:\/\//i.test(arg)) return vscode.Uri.parse(arg);
	if (path.isAbsolute(arg)) return vscode.Uri.file(arg);
	const folder = vscode.workspace.workspaceFolders?.[0];
	if (!folder) throw new Error(`"${arg}" is a relative path, but no folder is open to resolve it against; give an absolute path`);
	return vscode.Uri.joinPath(folder.uri, arg);
}

/** The resource of the active editor: a text document, or a custom editor such as the graph inspector. */
export function activeResource(): { uri: vscode.Uri; languageId?: string } | undefined {
	const editor = vscode.window.activeTextEditor;
	if (editor) return { uri: editor.document.uri, languageId: editor.document.languageId };
	const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
	if (input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText) return { uri: input.uri };
	return undefined;
}

function isConfigResource(resource: { uri: vscode.Uri; languageId?: string }): boolean {
	return resource.languageId === "kernelnn-config" || isConfigFileName(path.basename(resource.uri.path));
}

/** The model: the argument, the active model or the model of the active config, else a file picker. */
export async function resolveModel(arg: UriArg, interactive: boolean): Promise<vscode.Uri> {
	if (arg) return toUri(arg);
	const active = activeResource();
	if (active && isConfigResource(active)) {
		const text = (await vscode.workspace.openTextDocument(active.uri)).getText();
		const found = await findModelForConfig(active.uri, text);
		if (found) return found.uri;
	} else if (active && isModelFileName(path.basename(active.uri.path))) {
		return active.uri;
	}
	if (!interactive) throw new Error("No model given and none is active: pass { model: PATH } or open a model first");
	const picked = await vscode.window.showOpenDialog({
		title: "Kernel NN: choose the model", openLabel: "Use Model", canSelectMany: false,
		defaultUri: active ? vscode.Uri.joinPath(active.uri, "..") : vscode.workspace.workspaceFolders?.[0]?.uri,
		filters: { "TensorFlow models": ["pb", "pbtxt", "meta"], "All files": ["*"] },
	});
	if (!picked?.[0]) throw new UserCancelled();
	return picked[0];
}

/**
 * The config: the argument, the active config, the one beside the model (`NAME.config.pbtxt` first, then
 * graph.config.pbtxt), else the user picks one or generates it.
 */
export async function resolveConfig(model: vscode.Uri, arg: UriArg, interactive: boolean, generate: (model: vscode.Uri) => Promise<vscode.Uri>): Promise<vscode.Uri> {
	if (arg) return toUri(arg);
	const active = activeResource();
	if (active && isConfigResource(active)) return active.uri;
	const folder = vscode.Uri.joinPath(model, "..");
	const stem = path.basename(model.path).replace(/\.[^.]*$/, "");
	const configs = (await listFolder(folder)).map(([name]) => name).filter(isConfigFileName)
		.sort((a, b) => Number(b === `${stem}.config.pbtxt`) - Number(a === `${stem}.config.pbtxt`) || Number(b === "graph.config.pbtxt") - Number(a === "graph.config.pbtxt"));
	if (configs.length === 1 || (configs.length > 1 && !interactive)) return vscode.Uri.joinPath(folder, configs[0]);
	if (!interactive) throw new Error(`No graph.config.pbtxt beside ${path.basename(model.path)}: pass { config: PATH } or generate one with "Kernel NN: Generate graph.config.pbtxt"`);
	type Item = vscode.QuickPickItem & { run: () => Promise<vscode.Uri | undefined> };
	const items: Item[] = configs.map((name) => ({ label: `$(file-code) ${name}`, description: "beside the model", run: async () => vscode.Uri.joinPath(folder, name) }));
	items.push(
		{ label: "$(sparkle) Generate graph.config.pbtxt...", detail: "Pick feeds and fetches of the model", run: () => generate(model) },
		{
			label: "$(folder-opened) Choose a Config File...",
			run: async () => (await vscode.window.showOpenDialog({ title: "Kernel NN: choose graph.config.pbtxt", defaultUri: folder, canSelectMany: false, filters: { "tf2xla config": ["pbtxt"] } }))?.[0],
		},
	);
	const picked = await vscode.window.showQuickPick(items, { title: `Kernel NN: config for ${path.basename(model.path)}`, placeHolder: "Which feeds and fetches to compile" });
	const uri = await picked?.run();
	if (!uri) throw new UserCancelled();
	return uri;
}

/** Model and config together: a config given alone brings its model (its `# model:` line or the nearest model). */
export async function resolveModelAndConfig(args: { model?: UriArg; config?: UriArg } | undefined, interactive: boolean, generate: (model: vscode.Uri) => Promise<vscode.Uri>): Promise<{ model: vscode.Uri; config: vscode.Uri }> {
	if (!args?.model && args?.config) {
		const config = toUri(args.config);
		const found = await findModelForConfig(config, new TextDecoder().decode(await vscode.workspace.fs.readFile(config)));
		if (found) return { model: found.uri, config };
		if (!interactive) throw new Error(`No model found for ${config.fsPath}: add a "# model: path" line to it or pass { model: PATH }`);
		return { model: await resolveModel(undefined, true), config };
	}
	const model = await resolveModel(args?.model, interactive);
	return { model, config: await resolveConfig(model, args?.config, interactive, generate) };
}

/** Feeds (from the config) and fetches (shapes inferred from the graph) of a deploy. */
export async function configSignatures(model: vscode.Uri, config: vscode.Uri): Promise<{ feeds: TensorSignature[]; fetches: TensorSignature[] }> {
	const parsed = parseConfig(new TextDecoder().decode(await vscode.workspace.fs.readFile(config)), config.fsPath);
	const fetchRefs = parsed.config.fetch.map(configRef);
	const { graph } = await readGraphFor(model, fetchRefs.map((ref) => ref.node));
	const errors = validateConfig(graph, parsed).filter((p) => p.severity === "error");
	if (errors.length > 0) {
		throw new Error(`${path.basename(config.fsPath)} does not fit ${path.basename(model.fsPath)}: ${errors.map((p) => `line ${p.position.line}: ${p.message}`).join("; ")} (see the Problems view)`);
	}
	const inference = inferGraph(graph, configFeeds(graph, parsed.config), fetchRefs);
	return {
		feeds: parsed.config.feed.map((feed) => ({ name: refKey(configRef(feed)), shape: shapeFromProto(feed.shape) ?? [] })),
		fetches: fetchRefs.map((ref) => ({ name: refKey(ref), shape: inference.tensors.get(refKey(ref))?.shape ?? [] })),
	};
}

export type InputsArg = string | vscode.Uri | StepInputs | "zeros" | "zeros+feedback" | undefined;

/**
 * The inputs: the argument (a JSON path, an inputs object, "zeros" or "zeros+feedback"), or a quick pick of the
 * inputs files beside the config and zeros with or without guessed recurrent state. Headless without an argument:
 * the first inputs file beside the config, else zeros with guessed feedback.
 */
export async function resolveInputs(model: vscode.Uri, config: vscode.Uri, arg: InputsArg, interactive: boolean): Promise<{ inputs: StepInputs; description: string }> {
	if (typeof arg === "object" && !(arg instanceof vscode.Uri)) return { inputs: parseStepInputs(arg, "the inputs argument"), description: "the inputs given" };
	if (arg !== undefined && arg !== "zeros" && arg !== "zeros+feedback") return readInputsFile(toUri(arg));
	let signatures: ReturnType<typeof configSignatures> | undefined;
	const signaturesOnce = () => (signatures ??= configSignatures(model, config));
	const zeros = async (withFeedback: boolean) => {
		const { feeds, fetches } = await signaturesOnce();
		const feedback = withFeedback ? guessFeedback(feeds, fetches) : {};
		const steps = Object.keys(feedback).length > 0 ? 3 : 1;
		return { inputs: zeroInputs(feeds, feedback, steps), description: `zeros, ${steps} step(s)${Object.keys(feedback).length ? `, feedback ${describeFeedback(feedback)}` : ""}` };
	};
	if (arg === "zeros" || arg === "zeros+feedback") return zeros(arg === "zeros+feedback");
	const files = await inputsFilesBeside(config);
	if (!interactive) return files[0] ?? zeros(true);

	const { feeds, fetches } = await signaturesOnce();
	const feedback = guessFeedback(feeds, fetches);
	type Item = vscode.QuickPickItem & { run: () => Promise<{ inputs: StepInputs; description: string } | undefined> };
	const items: Item[] = files.map((file) => ({ label: `$(json) ${file.name}`, description: file.description, run: async () => file }));
	if (Object.keys(feedback).length > 0) {
		items.push({ label: "$(sync) Zeros with Recurrent State Fed Back", description: "3 steps", detail: `guessed from matching shapes: ${describeFeedback(feedback)}`, run: () => zeros(true) });
	}
	items.push(
		{ label: "$(circle-outline) Zeros", description: "1 step", detail: feeds.map((f) => `${f.name} [${f.shape.join(",")}]`).join(", "), run: () => zeros(false) },
		{
			label: "$(folder-opened) Choose an Inputs File...",
			detail: `{"feeds": {"NODE": [...]}, "feedsPerStep": [{"NODE": [...]}, ...], "steps": N, "feedback": {"FEED": "FETCH"}}`,
			run: async () => {
				const picked = await vscode.window.showOpenDialog({ title: "Kernel NN: inputs JSON", defaultUri: vscode.Uri.joinPath(config, ".."), canSelectMany: false, filters: { JSON: ["json"] } });
				return picked?.[0] ? readInputsFile(picked[0]) : undefined;
			},
		},
	);
	const picked = await vscode.window.showQuickPick(items, { title: "Kernel NN: inputs of the self-test", placeHolder: "What the module computes in the kernel, compared with the reference interpreter" });
	const result = await picked?.run();
	if (!result) throw new UserCancelled();
	return result;
}

async function readInputsFile(uri: vscode.Uri): Promise<{ inputs: StepInputs; description: string; name: string }> {
	const name = path.basename(uri.path);
	let json: unknown;
	try {
		json = parseInputsJson(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)), uri.fsPath);
	} catch (error) {
		if (error instanceof StepInputError) throw error;
		throw new Error(`${uri.fsPath}: not valid JSON (${errorMessage(error)})`);
	}
	const inputs = parseStepInputs(json, uri.fsPath);
	return { inputs, name, description: `${name}: ${describeInputs(inputs)}` };
}

const NOT_INPUTS = /^(package(-lock)?|tsconfig|jsconfig|settings|launch|tasks|extensions)\.json$/;

/** JSON files beside the config that are inputs files (they have "feeds" or "feedsPerStep"). */
async function inputsFilesBeside(config: vscode.Uri): Promise<{ inputs: StepInputs; description: string; name: string }[]> {
	const folder = vscode.Uri.joinPath(config, "..");
	const names = (await listFolder(folder)).filter(([name, type]) => type & vscode.FileType.File && name.endsWith(".json") && !NOT_INPUTS.test(name)).map(([name]) => name).sort();
	const found = [];
	for (const name of names.slice(0, 30)) {
		try {
			const uri = vscode.Uri.joinPath(folder, name);
			if ((await vscode.workspace.fs.stat(uri)).size > 4 << 20) continue;
			found.push(await readInputsFile(uri));
		} catch {
			// Not an inputs file.
		}
	}
	return found;
}
