import type * as vscode from "vscode";
import type { ConfigPicks, NodeDetails } from "../../webview/shared/protocol";
import type { DeployReport } from "../core/deploy/deploy";

/**
 * What activate() returns: live objects for integration tests and other extensions, read through
 * vscode.extensions.getExtension("kernel-nn.kernel-nn").exports. (Command results are copied; these are not.)
 */
export interface KernelNNApi {
	lastDeployReport(): DeployReport | undefined;
	graphInspector: {
		/** Asks the webview of the inspector open on `uri` how many nodes it drew. */
		webviewRenderedNodeCount(uri: vscode.Uri): Promise<number>;
		/** The nodes the webview of the inspector open on `uri` drew, with their ops. */
		renderedNodes(uri: vscode.Uri): Promise<{ name: string; op: string }[]>;
		/** What the inspector open on `uri` sends its details pane when node `name` is clicked (op, attribute rows). */
		nodeDetails(uri: vscode.Uri, name: string): NodeDetails;
		/** Presses the button of signature `key` in the inspector's webview, as a person would; the picks it made, or null. */
		pressSignature(uri: vscode.Uri, key: string): Promise<ConfigPicks | null>;
		/** Writes graph.config.pbtxt beside the model, as the webview's button does. */
		writeConfig(uri: vscode.Uri, feeds: { name: string; shape?: number[] }[], fetches: string[]): Promise<vscode.Uri>;
	};
	comparePanel: {
		webviewSummary(): Promise<{ rows: number; failing: number; allWithinTolerance: boolean }>;
	};
	datapath: {
		/** The Datapath view's items under a target (applications, their slots and counters), freshly read. */
		items(target: string): Promise<{ kind: string; label: string; app?: string; modelId?: number; children?: unknown[] }[]>;
		/** What the open Datapath panel of `app` on `target` rendered: { app, slots, events, outputs, recordsRate, stream }. */
		panelSummary(target: string, app: string): Promise<unknown>;
	};
	kernelLog: {
		/** Lines written to the Kernel Log terminal of a target (default: the selected one), without colours. */
		terminalLines(target?: string): string[];
	};
}
