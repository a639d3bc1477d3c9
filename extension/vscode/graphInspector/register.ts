import * as vscode from "vscode";
import { isModelFileName } from "../configModelRef";
import type { KernelNNServices } from "../services";
import { GRAPH_INSPECTOR_VIEW_TYPE, GraphInspectorProvider } from "./graphInspectorEditor";
import type { ConfigPicks, NodeDetails } from "../../../webview/shared/protocol";
import type { PickedFeed } from "./pickedConfig";

export { GRAPH_INSPECTOR_VIEW_TYPE };

let current: GraphInspectorProvider | undefined;

/**
 * The graph inspector: the read-only custom editor for model files, Kernel NN: Open Graph Inspector and the
 * view-only kernelNN.graphInspector.revealNode (node name, optional model URI).
 */
export function registerGraphInspector(services: KernelNNServices): vscode.Disposable {
	const provider = new GraphInspectorProvider(services);
	current = provider;
	return vscode.Disposable.from(
		vscode.window.registerCustomEditorProvider(GRAPH_INSPECTOR_VIEW_TYPE, provider, {
			// Laying out a large graph again each time its tab comes back would cost seconds.
			webviewOptions: { retainContextWhenHidden: true },
			supportsMultipleEditorsPerDocument: true,
		}),
		vscode.commands.registerCommand("kernelNN.openGraphInspector", (uri?: vscode.Uri) => openGraphInspector(uri)),
		vscode.commands.registerCommand("kernelNN.graphInspector.revealNode", (name?: unknown, uri?: unknown) =>
			revealNode(provider, typeof name === "string" ? name : undefined, uri instanceof vscode.Uri ? uri : undefined)),
		{ dispose: () => { if (current === provider) current = undefined; } },
	);
}

/** For KernelNNApi.graphInspector: the number of nodes the webview of the inspector open on `uri` actually drew. */
export function webviewRenderedNodeCount(uri: vscode.Uri): Promise<number> {
	if (!current) return Promise.reject(new Error("The graph inspector is not registered: the extension is not active."));
	return current.renderedNodeCount(uri);
}

/** For KernelNNApi.graphInspector: presses a signature's button in the inspector's webview and returns its picks. */
export function pressSignature(uri: vscode.Uri, key: string): Promise<ConfigPicks | null> {
	if (!current) return Promise.reject(new Error("The graph inspector is not registered: the extension is not active."));
	return current.pressSignature(uri, key);
}

/** For KernelNNApi.graphInspector: the nodes the inspector's webview drew on `uri`, with their ops. */
export function renderedNodes(uri: vscode.Uri): Promise<{ name: string; op: string }[]> {
	if (!current) return Promise.reject(new Error("The graph inspector is not registered: the extension is not active."));
	return current.renderedNodes(uri);
}

/** For KernelNNApi.graphInspector: the details the inspector on `uri` shows for node `name` when it is clicked. */
export function nodeDetails(uri: vscode.Uri, name: string): NodeDetails {
	if (!current) throw new Error("The graph inspector is not registered: the extension is not active.");
	return current.nodeDetails(uri, name);
}

/** For KernelNNApi.graphInspector: writes graph.config.pbtxt beside the model, as the webview's button does, and opens it. */
export function writeConfig(uri: vscode.Uri, feeds: { name: string; shape?: number[] }[], fetches: string[]): Promise<vscode.Uri> {
	if (!current) return Promise.reject(new Error("The graph inspector is not registered: the extension is not active."));
	return current.writeConfig(uri, feeds as PickedFeed[], fetches);
}


async function openGraphInspector(uri?: vscode.Uri): Promise<void> {
	const target = (uri instanceof vscode.Uri ? await modelInside(uri) : undefined) ?? activeModel() ?? (await pickModel());
	if (!target) return;
	await vscode.commands.executeCommand("vscode.openWith", target, GRAPH_INSPECTOR_VIEW_TYPE);
}

/** A SavedModel folder opens as its saved_model.pb (or .pbtxt). */
async function modelInside(uri: vscode.Uri): Promise<vscode.Uri | undefined> {
	try {
		if ((await vscode.workspace.fs.stat(uri)).type & vscode.FileType.Directory) {
			for (const name of ["saved_model.pb", "saved_model.pbtxt"]) {
				const file = vscode.Uri.joinPath(uri, name);
				try {
					await vscode.workspace.fs.stat(file);
					return file;
				} catch {
					// try the next name
				}
			}
			void vscode.window.showErrorMessage(vscode.l10n.t("{0} is a folder but not a SavedModel: it holds no saved_model.pb.", vscode.workspace.asRelativePath(uri)));
			return undefined;
		}
	} catch {
		// A file that cannot be stat'ed is opened all the same; the editor reports what is wrong with it.
	}
	return uri;
}

/** The model file of the active editor tab, text or custom. */
function activeModel(): vscode.Uri | undefined {
	const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
	const uri = input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : undefined;
	return uri && isModelFileName(uri.path.split("/").pop() ?? "") ? uri : undefined;
}

async function pickModel(): Promise<vscode.Uri | undefined> {
	const picked = await vscode.window.showOpenDialog({
		canSelectMany: false,
		filters: { [vscode.l10n.t("Models")]: ["pb", "pbtxt", "meta", "onnx", "tflite"] },
		openLabel: vscode.l10n.t("Inspect"),
		title: vscode.l10n.t("Model to open in the graph inspector (GraphDef, MetaGraph, SavedModel, ONNX or TFLite)"),
		defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
	});
	return picked?.[0];
}

async function revealNode(provider: GraphInspectorProvider, name?: string, uri?: vscode.Uri): Promise<boolean> {
	const panel = uri ? undefined : provider.activePanel();
	let node = name;
	if (node === undefined) {
		if (!panel) return false;
		node = await vscode.window.showQuickPick(panel.document.built.view.nodes.map((n) => n.name), { title: vscode.l10n.t("Reveal Node"), matchOnDescription: true });
		if (node === undefined) return false;
	}
	const revealed = await provider.revealNode(node, uri);
	if (!revealed) void vscode.window.showWarningMessage(vscode.l10n.t("No open graph inspector shows a node named \"{0}\".", node));
	return revealed;
}
