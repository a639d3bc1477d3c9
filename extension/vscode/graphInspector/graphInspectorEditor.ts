import * as vscode from "vscode";
import { type Checkpoint, openCheckpoint } from "../../core/frontends/tf/checkpoint/bundle";
import { type LoadedModel, loadModelBytes } from "../../core/frontends";
import type { ConfigPicks, GraphQuery, GraphWebviewToHost, HostToGraphWebview, NodeDetails } from "../../../webview/shared/protocol";
import { GRAPH_STRINGS } from "../../../webview/graph/strings";
import type { KernelNNServices } from "../services";
import { webviewHtml, webviewOptions } from "../webviewHtml";
import { type BuiltGraphView, buildGraphView } from "./graphView";
import { nodeDetails } from "./nodeDetails";
import { type PickedFeed, pickedConfigText } from "./pickedConfig";

export const GRAPH_INSPECTOR_VIEW_TYPE = "kernelNN.graphInspector";
const QUERY_TIMEOUT_MS = 30_000;
// In code-server a webview opened soon after another one closed can take about 30 s to load its scripts.
const START_TIMEOUT_MS = 60_000;
const CONFIG_NAME = "graph.config.pbtxt";

function localizedStrings(): Record<string, string> {
	return Object.fromEntries(Object.entries(GRAPH_STRINGS).map(([key, text]) => [key, vscode.l10n.t(text)]));
}

/** The path `loadModelBytes` is told: a local path lets it find the checkpoint beside the model. */
function modelPath(uri: vscode.Uri): string {
	return uri.scheme === "file" ? uri.fsPath : uri.path;
}

/** A model file opened in the inspector: parsed once on the host, shared by every editor showing it. */
export class GraphDocument implements vscode.CustomDocument {
	private checkpointCache: { value?: Checkpoint } | undefined;
	private readonly changed = new vscode.EventEmitter<void>();
	/** Fires after the file changed on disk and was read again. */
	readonly onDidReload = this.changed.event;

	private constructor(readonly uri: vscode.Uri, public model: LoadedModel, public built: BuiltGraphView) {}

	static async open(uri: vscode.Uri): Promise<GraphDocument> {
		const { model, built } = await GraphDocument.read(uri);
		return new GraphDocument(uri, model, built);
	}

	private static async read(uri: vscode.Uri): Promise<{ model: LoadedModel; built: BuiltGraphView }> {
		const model = loadModelBytes(await vscode.workspace.fs.readFile(uri), modelPath(uri));
		return { model, built: buildGraphView(model, { displayName: vscode.workspace.asRelativePath(uri) }) };
	}

	async reload(): Promise<void> {
		const { model, built } = await GraphDocument.read(this.uri);
		this.model = model;
		this.built = built;
		this.checkpointCache = undefined;
		this.changed.fire();
	}

	/** The checkpoint beside the model, opened once. */
	checkpoint(): Checkpoint | undefined {
		if (!this.checkpointCache) {
			this.checkpointCache = { value: this.model.checkpointPrefix ? openCheckpoint(this.model.checkpointPrefix) : undefined };
		}
		return this.checkpointCache.value;
	}

	details(name: string, weights: boolean): NodeDetails {
		const viewNode = this.built.view.nodes.find((n) => n.name === name);
		return nodeDetails(this.model, name, { weights, viewNode, checkpoint: () => this.checkpoint() });
	}

	/** The drawn node that shows `name`: itself, or the node it was folded into. */
	drawnNodeFor(name: string): string | undefined {
		if (this.built.view.nodes.some((n) => n.name === name)) return name;
		return this.built.foldedInto.get(name);
	}

	dispose(): void {
		this.changed.dispose();
	}
}

/** One webview showing a GraphDocument; answers its messages and asks it questions. */
class InspectorPanel {
	private markReady: (() => void) | undefined;
	private readonly ready: Promise<void>;
	private nextRequestId = 1;
	private readonly pending = new Map<number, (value: unknown, error?: Error) => void>();

	constructor(readonly document: GraphDocument, readonly panel: vscode.WebviewPanel, private readonly provider: GraphInspectorProvider) {
		this.ready = new Promise((resolve) => {
			this.markReady = () => {
				this.markReady = undefined;
				resolve();
			};
		});
	}

	/** Posts once the webview has its graph; messages posted before its `ready` would be lost. */
	async post(message: HostToGraphWebview): Promise<void> {
		await this.ready;
		await this.panel.webview.postMessage(message);
	}

	sendGraph(): void {
		void this.panel.webview.postMessage({ type: "graph", graph: this.document.built.view, strings: localizedStrings() } satisfies HostToGraphWebview);
	}

	/** Asks the webview a question; it answers once its current layout is on screen. */
	async query(what: GraphQuery): Promise<unknown> {
		if (this.markReady) {
			let timer: ReturnType<typeof setTimeout> | undefined;
			const started = await Promise.race([this.ready.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), START_TIMEOUT_MS)))]);
			clearTimeout(timer);
			if (!started) throw new Error(`The graph inspector of ${this.document.uri.toString(true)} did not start within ${START_TIMEOUT_MS / 1000} s: its webview never posted "ready".`);
		}
		const requestId = this.nextRequestId++;
		const answer = new Promise<unknown>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.pending.delete(requestId);
				reject(new Error(`The graph inspector of ${this.document.uri.toString(true)} did not answer within ${QUERY_TIMEOUT_MS / 1000} s.`));
			}, QUERY_TIMEOUT_MS);
			this.pending.set(requestId, (value, error) => {
				clearTimeout(timer);
				if (error) reject(error);
				else resolve(value);
			});
		});
		this.post({ type: "query", requestId, what }).catch((error: unknown) => this.settle(requestId, undefined, error instanceof Error ? error : new Error(String(error))));
		return answer;
	}

	private settle(requestId: number, value: unknown, error?: Error): void {
		this.pending.get(requestId)?.(value, error);
		this.pending.delete(requestId);
	}

	closed(): void {
		for (const settle of this.pending.values()) settle(undefined, new Error(`The graph inspector of ${this.document.uri.toString(true)} was closed before its webview answered.`));
		this.pending.clear();
	}

	onMessage(message: GraphWebviewToHost): void {
		switch (message.type) {
			case "ready":
				this.sendGraph();
				this.markReady?.();
				break;
			case "answer":
				this.settle(message.requestId, message.value);
				break;
			case "requestDetails":
				this.answerDetails(message.requestId, message.name, message.weights);
				break;
			case "writeConfig":
				void this.provider.writeConfigFromWebview(this.document, message.feeds, message.fetches);
				break;
			case "error":
				this.provider.log.error(`Graph inspector webview (${this.document.uri.toString(true)}): ${message.message}`);
				break;
		}
	}

	private answerDetails(requestId: number, name: string, weights: boolean): void {
		let details: NodeDetails;
		try {
			details = this.document.details(name, weights);
		} catch (error) {
			const reason = error instanceof Error ? error.message : String(error);
			this.provider.log.error(`Graph inspector: details of "${name}": ${reason}`);
			details = { name, op: "", attrs: [{ name: "(error)", value: reason }], shapes: [] };
		}
		void this.panel.webview.postMessage({ type: "details", requestId, details } satisfies HostToGraphWebview);
	}
}

/** The read-only custom editor for GraphDef, MetaGraphDef and SavedModel files. */
export class GraphInspectorProvider implements vscode.CustomReadonlyEditorProvider<GraphDocument> {
	private readonly panels = new Set<InspectorPanel>();
	readonly log: vscode.LogOutputChannel;

	constructor(private readonly services: KernelNNServices) {
		this.log = services.log;
	}

	async openCustomDocument(uri: vscode.Uri): Promise<GraphDocument> {
		try {
			const document = await GraphDocument.open(uri);
			const { view } = document.built;
			this.log.info(`Graph inspector: ${uri.toString(true)}: ${view.format}, ${view.nodeCount} nodes, ${view.nodes.length} drawn` +
				(view.truncated ? ` (${view.truncated.reason})` : ""));
			return document;
		} catch (error) {
			// VS Code shows this message in place of the editor; it names the file and what it looked like.
			this.log.error(`Graph inspector: ${error instanceof Error ? error.message : String(error)}`);
			throw error;
		}
	}

	resolveCustomEditor(document: GraphDocument, panel: vscode.WebviewPanel): void {
		const { extensionUri } = this.services.context;
		panel.webview.options = webviewOptions(extensionUri);
		const inspector = new InspectorPanel(document, panel, this);
		this.panels.add(inspector);
		const watcher = document.uri.scheme === "file"
			? vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.joinPath(document.uri, ".."), document.uri.path.split("/").pop()!))
			: undefined;
		const subscriptions: vscode.Disposable[] = [
			panel.webview.onDidReceiveMessage((message: GraphWebviewToHost) => inspector.onMessage(message)),
			panel.onDidChangeViewState(() => this.updateContext()),
			document.onDidReload(() => inspector.sendGraph()),
		];
		if (watcher) {
			subscriptions.push(watcher, watcher.onDidChange(() => this.reload(document)));
		}
		panel.onDidDispose(() => {
			inspector.closed();
			this.panels.delete(inspector);
			for (const s of subscriptions) s.dispose();
			this.updateContext();
		});
		panel.webview.html = webviewHtml(panel.webview, extensionUri, "graph", vscode.l10n.t("Graph Inspector"));
		this.updateContext();
	}

	private reloading = new WeakSet<GraphDocument>();

	private async reload(document: GraphDocument): Promise<void> {
		if (this.reloading.has(document)) return;
		this.reloading.add(document);
		try {
			await document.reload();
		} catch (error) {
			this.log.error(`Graph inspector: ${document.uri.toString(true)} changed and could not be read again: ${error instanceof Error ? error.message : String(error)}`);
		} finally {
			this.reloading.delete(document);
		}
	}

	private updateContext(): void {
		const active = [...this.panels].some((p) => p.panel.active);
		void vscode.commands.executeCommand("setContext", "kernelNN:graphInspectorActive", active);
	}

	private panelsFor(uri: vscode.Uri): InspectorPanel[] {
		return [...this.panels].filter((p) => p.document.uri.toString() === uri.toString());
	}

	/** The inspector the user looks at (the active one, else the one visible most recently opened). */
	activePanel(): InspectorPanel | undefined {
		const all = [...this.panels];
		return all.find((p) => p.panel.active) ?? all.reverse().find((p) => p.panel.visible);
	}

	/** How many nodes the webview of the inspector open on `uri` has drawn. */
	async renderedNodeCount(uri: vscode.Uri): Promise<number> {
		const panel = this.panelsFor(uri)[0];
		if (!panel) throw new Error(`No graph inspector is open on ${uri.toString(true)}: open it with Kernel NN: Open Graph Inspector first.`);
		const value = await panel.query("renderedNodeCount");
		if (typeof value !== "number") throw new Error(`The graph inspector of ${uri.toString(true)} answered ${JSON.stringify(value)} instead of a node count.`);
		return value;
	}

	/** Presses the signature button `key` in the webview of the inspector open on `uri`; the picks it made, or null. */
	async pressSignature(uri: vscode.Uri, key: string): Promise<ConfigPicks | null> {
		const panel = this.panelsFor(uri)[0];
		if (!panel) throw new Error(`No graph inspector is open on ${uri.toString(true)}: open it with Kernel NN: Open Graph Inspector first.`);
		return (await panel.query({ pressSignature: key })) as ConfigPicks | null;
	}

	/** The drawn nodes of the webview of the inspector open on `uri`, with their ops. */
	async renderedNodes(uri: vscode.Uri): Promise<{ name: string; op: string }[]> {
		const panel = this.panelsFor(uri)[0];
		if (!panel) throw new Error(`No graph inspector is open on ${uri.toString(true)}: open it with Kernel NN: Open Graph Inspector first.`);
		const value = await panel.query("renderedNodes");
		if (!Array.isArray(value)) throw new Error(`The graph inspector of ${uri.toString(true)} answered ${JSON.stringify(value)} instead of its drawn nodes.`);
		return value as { name: string; op: string }[];
	}

	/** The details the inspector open on `uri` sends its pane when node `name` is clicked. */
	nodeDetails(uri: vscode.Uri, name: string): NodeDetails {
		const panel = this.panelsFor(uri)[0];
		if (!panel) throw new Error(`No graph inspector is open on ${uri.toString(true)}: open it with Kernel NN: Open Graph Inspector first.`);
		return panel.document.details(name, false);
	}

	/** Selects and centres a node (or the node it was folded into) in the inspector of `uri`, or the active one. */
	async revealNode(name: string, uri?: vscode.Uri): Promise<boolean> {
		const panel = uri ? this.panelsFor(uri)[0] : this.activePanel();
		if (!panel) return false;
		const drawn = panel.document.drawnNodeFor(name);
		if (!drawn) return false;
		panel.panel.reveal(undefined, false);
		await panel.post({ type: "reveal", name: drawn });
		return true;
	}

	/** Writes graph.config.pbtxt beside the model for these picks (in order) and opens it. */
	async writeConfig(uri: vscode.Uri, feeds: readonly PickedFeed[], fetches: readonly string[]): Promise<vscode.Uri> {
		const open = this.panelsFor(uri)[0]?.document;
		const document = open ?? (await GraphDocument.open(uri));
		try {
			return await this.writeConfigFor(document, feeds, fetches);
		} finally {
			if (!open) document.dispose();
		}
	}

	private async writeConfigFor(document: GraphDocument, feeds: readonly PickedFeed[], fetches: readonly string[]): Promise<vscode.Uri> {
		const name = document.uri.path.split("/").pop()!;
		const text = pickedConfigText(document.model, feeds, fetches, name, () => document.checkpoint());
		const target = configUri(document.uri);
		await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
		this.log.info(`Graph inspector: wrote ${target.toString(true)} (${feeds.length} feeds, ${fetches.length} fetches)`);
		await vscode.window.showTextDocument(target, { preview: false, viewColumn: vscode.ViewColumn.Beside });
		return target;
	}

	/** The webview's "Write graph.config.pbtxt": asks before replacing a config, shows errors as messages. */
	async writeConfigFromWebview(document: GraphDocument, feeds: readonly PickedFeed[], fetches: readonly string[]): Promise<void> {
		const target = configUri(document.uri);
		if (await exists(target)) {
			const replace = vscode.l10n.t("Replace");
			const answer = await vscode.window.showWarningMessage(
				vscode.l10n.t("{0} already exists beside the model. Replace it with the picked feeds and fetches?", CONFIG_NAME),
				{ modal: true }, replace);
			if (answer !== replace) return;
		}
		try {
			await this.writeConfigFor(document, feeds, fetches);
		} catch (error) {
			const reason = error instanceof Error ? error.message : String(error);
			this.log.error(`Graph inspector: ${CONFIG_NAME} for ${document.uri.toString(true)}: ${reason}`);
			void vscode.window.showErrorMessage(vscode.l10n.t("Could not write {0}: {1}", CONFIG_NAME, reason));
		}
	}
}

function configUri(model: vscode.Uri): vscode.Uri {
	return vscode.Uri.joinPath(model, "..", CONFIG_NAME);
}

async function exists(uri: vscode.Uri): Promise<boolean> {
	try {
		await vscode.workspace.fs.stat(uri);
		return true;
	} catch {
		return false;
	}
}
