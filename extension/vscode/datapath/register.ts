import * as vscode from "vscode";
import { runtimeCacheDir } from "../../core/runtime/cacheDir";
import { installRuntime } from "../../core/runtime/install";
import { abortSignalFor } from "../cancellation";
import { type ComponentLog, errorMessage } from "../log";
import { readSettings } from "../settings";
import type { TargetHandle, TargetService } from "../targets";
import { requireTrust } from "../trust";
import { DatapathConnections } from "./connections";
import { runDatapathAction } from "./datapathActions";
import type { DatapathItem } from "./datapathItems";
import { DatapathPanel } from "./datapathPanel";
import { DatapathTree } from "./datapathTree";

/** What the commands take: a tree item (menus), or { target, app, modelId } from other code and tests. */
type ItemArg = Partial<Pick<DatapathItem, "target" | "app" | "modelId">> | undefined;

const panels = new Map<string, DatapathPanel>();
let liveTree: DatapathTree | undefined;

/**
 * The Datapath view (applications of knn_core per target), its Activate/Rollback actions and the live panel of
 * an application, and Install Datapath Runtime.
 */
export function registerDatapath(context: vscode.ExtensionContext, targets: TargetService, log: ComponentLog, channel: vscode.LogOutputChannel): vscode.Disposable {
	const connections = new DatapathConnections(targets);
	const tree = new DatapathTree(targets, connections, log);
	liveTree = tree;

	const fail = (error: unknown) => {
		log.error(errorMessage(error));
		if ((error as { code?: string }).code === "cancelled") return;
		void vscode.window.showErrorMessage(`Kernel NN: ${errorMessage(error)}`, "Show Log").then((choice) => { if (choice === "Show Log") channel.show(); });
	};
	const need = (arg: ItemArg, what: string): { target: string; app: string } => {
		if (!arg?.target || !arg.app) throw new Error(`${what} needs an application: use the inline action on an application in the Datapath view.`);
		return { target: arg.target, app: arg.app };
	};

	const act = async (arg: ItemArg, kind: "activate" | "rollback") => {
		requireTrust(kind === "activate" ? "Activating a model" : "Rolling back a model");
		const { target, app } = need(arg, kind === "activate" ? "Activate" : "Rollback");
		const action = kind === "activate" ? { kind, modelId: arg?.modelId } : { kind };
		const done = await vscode.window.withProgress(
			{ location: { viewId: "kernelNN.datapath" }, title: `${kind === "activate" ? "Activating" : "Rolling back"} ${app} on ${target}` },
			() => connections.use(target, (t) => runDatapathAction(t, target, app, action, log)),
		);
		await tree.refreshTarget(target);
		return done;
	};

	const openPanel = (arg: ItemArg): DatapathPanel => {
		requireTrust("The Datapath panel");
		const { target, app } = need(arg, "Open Datapath Panel");
		const key = `${target}\n${app}`;
		const existing = panels.get(key);
		if (existing) {
			existing.reveal();
			return existing;
		}
		const panel = new DatapathPanel(context.extensionUri, targets, log, target, app, () => void tree.refreshTarget(target));
		panels.set(key, panel);
		panel.onDidDispose(() => { if (panels.get(key) === panel) panels.delete(key); });
		return panel;
	};

	return vscode.Disposable.from(
		tree, connections,
		vscode.commands.registerCommand("kernelNN.datapath.refresh", () => tree.refresh(true).catch(fail)),
		vscode.commands.registerCommand("kernelNN.datapath.activate", (arg: ItemArg) => act(arg, "activate").catch(fail)),
		vscode.commands.registerCommand("kernelNN.datapath.rollback", (arg: ItemArg) => act(arg, "rollback").catch(fail)),
		vscode.commands.registerCommand("kernelNN.datapath.openPanel", (arg: ItemArg) => {
			try {
				openPanel(arg);
			} catch (error) {
				fail(error);
			}
		}),
		vscode.commands.registerCommand("kernelNN.datapath.showLog", () => channel.show()),
		vscode.commands.registerCommand("kernelNN.runtimeInstall", (arg?: { target?: string }) => installRuntimeCommand(targets, log, arg?.target ?? targets.current, tree).catch(fail)),
		{ dispose: () => { for (const panel of [...panels.values()]) panel.dispose(); } },
	);
}

/**
 * Builds knn_core, knn_tcp and knn_nf against the target's kernel headers, loads them and copies the channel tool
 * there, with a cancellable notification; the build output goes to the log.
 */
async function installRuntimeCommand(targets: TargetService, log: ComponentLog, spec: string, tree: DatapathTree): Promise<void> {
	requireTrust("Installing the datapath runtime");
	const report = await vscode.window.withProgress(
		{ location: vscode.ProgressLocation.Notification, title: `Kernel NN: installing the datapath runtime on ${spec}`, cancellable: true },
		async (progress, token) => {
			const abort = abortSignalFor(token);
			let handle: TargetHandle | undefined;
			try {
				handle = await targets.open(spec, abort.signal);
				return await installRuntime(handle.target, {
					kdir: readSettings().kernelHeadersDir, cacheDir: runtimeCacheDir(), signal: abort.signal,
					onLine: (line) => {
						log.info(line);
						progress.report({ message: line.slice(0, 80) });
					},
				});
			} finally {
				await handle?.release();
				abort.dispose();
			}
		},
	);
	const message = `Kernel NN: the datapath runtime runs on ${spec} (Linux ${report.kernelRelease}): ${report.modules.map((m) => m.name).join(", ")} loaded.`;
	log.info(message);
	void vscode.window.showInformationMessage(message);
	await tree.refreshTarget(spec);
}

/** For tests: what the open panel of `app` on `target` rendered. */
export function datapathPanelSummary(target: string, app: string): Promise<unknown> {
	const panel = panels.get(`${target}\n${app}`);
	if (!panel) return Promise.reject(new Error(`No Datapath panel is open for ${app} on ${target}: open it from the Datapath view first.`));
	return panel.summary();
}

/** For tests: the Datapath view's items under `target` (applications with their slots), read as the view reads them. */
export async function datapathItems(target: string): Promise<DatapathItem[]> {
	if (!liveTree) throw new Error("The Datapath view is not registered: the extension did not activate.");
	await liveTree.refreshTarget(target);
	const root = (await liveTree.getChildren()).find((item) => item.target === target);
	if (!root) throw new Error(`The Datapath view lists no target ${target}.`);
	return liveTree.getChildren(root);
}
