// Shared by the integration suites, which run inside VS Code's extension host (bundled one file per suite).
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import type { KernelNNApi } from "../../extension/vscode/api";

export const EXTENSION_ID = "kernel-nn.kernel-nn";
/** Webviews in code-server share one origin and can be slow to register their service worker: a bounded wait. */
export const WEBVIEW_TIMEOUT_MS = 30_000;
/** How long a webview gets to fetch what it requests after its first render before it is closed. */
const WEBVIEW_SETTLE_MS = 1500;

export function workspaceRoot(): string {
	const folder = vscode.workspace.workspaceFolders?.[0];
	if (!folder) throw new Error("the integration tests need a workspace folder; scripts/run-vscode-tests.ts opens one");
	return folder.uri.fsPath;
}

/** The Indigo-shaped LSTM the runner generated into the workspace (scripts/makeSampleModel.ts). */
export function sampleFiles(): { model: string; config: string; inputs: string } {
	const dir = path.join(workspaceRoot(), "lstm");
	return { model: path.join(dir, "model.pb"), config: path.join(dir, "graph.config.pbtxt"), inputs: path.join(dir, "inputs.json") };
}

/** Indigo's files when the runner could copy them from ../shared/models/indigo, else why not. */
export function indigoModel(): { meta: string } | { missing: string } {
	const meta = path.join(workspaceRoot(), "indigo", "model.meta");
	return fs.existsSync(meta) ? { meta } : { missing: `the Indigo model is absent: ${meta} (copied from ../shared/models/indigo when present)` };
}

/** Aurora's text SavedModel when the runner could copy it from ../shared/models/aurora, else why not. */
export function auroraModel(): { savedModel: string } | { missing: string } {
	const savedModel = path.join(workspaceRoot(), "aurora", "saved_model.pbtxt");
	return fs.existsSync(savedModel) ? { savedModel } : { missing: `the Aurora model is absent: ${savedModel} (copied from ../shared/models/aurora when present)` };
}

/** Why the runner could not start the sandbox VM on this machine, if it could not. */
export function sandboxUnavailable(): string | undefined {
	return process.env.KNN_IT_SANDBOX_UNAVAILABLE || undefined;
}

/** The sandbox state dir the runner started and wrote into the workspace settings. */
export function sandboxDir(): string {
	const dir = vscode.workspace.getConfiguration("kernelNN").get<string>("sandbox.dir");
	if (!dir) throw new Error("the workspace settings name no kernelNN.sandbox.dir; scripts/run-vscode-tests.ts writes it");
	return dir;
}

export async function extensionApi(): Promise<KernelNNApi> {
	const extension = vscode.extensions.getExtension<KernelNNApi>(EXTENSION_ID);
	if (!extension) throw new Error(`extension ${EXTENSION_ID} is not installed in this VS Code`);
	return extension.activate();
}

/** Rejects with `what` when `promise` takes longer than `ms`. */
export async function withTimeout<T>(promise: Thenable<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
	});
	try {
		return await Promise.race([Promise.resolve(promise), timeout]);
	} finally {
		clearTimeout(timer);
	}
}

/** Polls until `check` returns a value other than undefined, or fails naming `what` and the last value seen. */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, ms: number, what: string, describeLast?: () => string): Promise<T> {
	const deadline = Date.now() + ms;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s${describeLast ? `; last seen: ${describeLast()}` : ""}`);
		await new Promise((r) => setTimeout(r, 250));
	}
}

/**
 * Closes every editor, so the next webview opens alone (code-server's service-worker race, see the notes). It first
 * lets open webviews finish loading: a webview closed while it still fetches a resource (its codicon font, requested
 * after the first render) leaves that fetch pending in code-server's webview service worker until its 30 s timeout,
 * and no new webview loads before that (measured: the next inspector appeared after 31 s).
 */
export async function closeAllEditors(): Promise<void> {
	await new Promise((r) => setTimeout(r, WEBVIEW_SETTLE_MS));
	await vscode.commands.executeCommand("workbench.action.closeAllEditors");
}

/** The open tab showing `uri` in the graph inspector, if any. */
export function inspectorTab(uri: vscode.Uri): vscode.Tab | undefined {
	return vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((tab) =>
		tab.input instanceof vscode.TabInputCustom && tab.input.viewType === "kernelNN.graphInspector" && tab.input.uri.fsPath === uri.fsPath);
}

/**
 * Skips the current test with a reason the runner prints; mocha itself records no reason for a skip.
 * `context` is the test's `this`.
 */
export function skipBecause(context: Mocha.Context, reason: string): never {
	const title = context.test?.fullTitle() ?? "?";
	const reasons = ((globalThis as { knnSkipReasons?: Record<string, string> }).knnSkipReasons ??= {});
	reasons[title] = reason;
	console.log(`    skipped: ${reason}`);
	context.skip();
}
