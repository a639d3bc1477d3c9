import * as path from "node:path";
import * as vscode from "vscode";
import { freezeForFetches } from "../core/model/prepare";
import type { Graph } from "../core/graph/graph";
import { type LoadedModel, ModelLoadError, loadModelBytes } from "../core/frontends";
import { modelComment, rankModelCandidates } from "./configModelRef";

/** A model read through vscode.workspace.fs; a SavedModel folder is read through its saved_model.pb(txt). */
export async function readModel(uri: vscode.Uri): Promise<LoadedModel> {
	let file = uri;
	if ((await vscode.workspace.fs.stat(uri)).type & vscode.FileType.Directory) {
		const inside = [vscode.Uri.joinPath(uri, "saved_model.pb"), vscode.Uri.joinPath(uri, "saved_model.pbtxt")];
		const found = await firstExisting(inside);
		if (!found) throw new ModelLoadError(`${uri.fsPath}: a folder, but not a SavedModel (no saved_model.pb or saved_model.pbtxt inside)`);
		file = found;
	}
	return loadModelBytes(await vscode.workspace.fs.readFile(file), file.fsPath);
}

/**
 * The model's graph, frozen with the checkpoint beside it when what `fetchNodes` need still reads variables (as
 * `knn config` and `knn deploy` do). Checkpoints are read from the local disk.
 */
export async function readGraphFor(uri: vscode.Uri, fetchNodes: readonly string[]): Promise<{ model: LoadedModel; graph: Graph }> {
	const model = await readModel(uri);
	const present = fetchNodes.filter((name) => model.graph.has(name));
	if (present.length === 0) return { model, graph: model.graph };
	return { model, graph: freezeForFetches(model, present).graph };
}

export interface ModelForConfig {
	uri: vscode.Uri;
	/** Said to the user: which rule picked the model. */
	how: string;
}

/** The model a config is for: its `# model: path` line, else the likeliest model file in its folder. */
export async function findModelForConfig(configUri: vscode.Uri, text: string): Promise<ModelForConfig | undefined> {
	const folder = vscode.Uri.joinPath(configUri, "..");
	const comment = modelComment(text);
	if (comment) {
		const uri = path.isAbsolute(comment.path) ? configUri.with({ path: comment.path }) : vscode.Uri.joinPath(folder, comment.path);
		return { uri, how: `the "# model:" line ${comment.line + 1} of ${path.basename(configUri.path)}` };
	}
	const names = await listFolder(folder);
	const best = rankModelCandidates(path.basename(configUri.path), names.filter(([, type]) => type & vscode.FileType.File).map(([name]) => name))[0];
	if (best) return { uri: vscode.Uri.joinPath(folder, best), how: `the nearest model in ${path.basename(folder.path) || folder.path} (no "# model:" line in the config)` };
	for (const [name, type] of names) {
		if (!(type & vscode.FileType.Directory) || name.startsWith(".") || name === "node_modules") continue;
		const inside = await firstExisting([vscode.Uri.joinPath(folder, name, "saved_model.pb")]);
		if (inside) return { uri: inside, how: `the SavedModel in ${name} (no "# model:" line in the config)` };
	}
	return undefined;
}

export async function listFolder(folder: vscode.Uri): Promise<[string, vscode.FileType][]> {
	try {
		return await vscode.workspace.fs.readDirectory(folder);
	} catch {
		return [];
	}
}

export async function exists(uri: vscode.Uri): Promise<boolean> {
	try {
		await vscode.workspace.fs.stat(uri);
		return true;
	} catch {
		return false;
	}
}

async function firstExisting(uris: readonly vscode.Uri[]): Promise<vscode.Uri | undefined> {
	for (const uri of uris) if (await exists(uri)) return uri;
	return undefined;
}

/** Local files are required where a step runs tools on them (compile, make, deploy). */
export function localPath(uri: vscode.Uri, what: string): string {
	if (uri.scheme !== "file") throw new Error(`${what} ${uri.toString()} is not on this machine's disk; building and deploying need local files (open the folder locally or through Remote - SSH).`);
	return uri.fsPath;
}
