import * as vscode from "vscode";
import { runtimeStatus } from "../../core/runtime/client";
import { type ComponentLog, errorMessage } from "../log";
import type { TargetService } from "../targets";
import { normalizeTarget } from "../targetChoices";
import type { DatapathConnections } from "./connections";
import { showFailure } from "./datapathActions";
import { type DatapathItem, appItems, failureAdvice, messageItem, targetItem } from "./datapathItems";

export const DATAPATH_VIEW_ID = "kernelNN.datapath";
const REFRESH_INTERVAL_MS = 5000;

/**
 * The Datapath tree: per configured target (the selected one, then recent SSH targets) its applications, their
 * slots and counters. Reads only targets that are expanded, and polls only while the view is visible.
 */
export class DatapathTree implements vscode.TreeDataProvider<DatapathItem>, vscode.Disposable {
	private readonly changed = new vscode.EventEmitter<DatapathItem | undefined>();
	readonly onDidChangeTreeData = this.changed.event;
	private readonly view: vscode.TreeView<DatapathItem>;
	/** The last answer per target: its application items, or a message item saying what failed. */
	private readonly results = new Map<string, DatapathItem[]>();
	private readonly loading = new Map<string, Promise<void>>();
	/** Targets whose children the tree asked for and did not collapse since. */
	private readonly expanded = new Set<string>();
	/** The failure last shown per target, so a timer refresh does not repeat the same notification. */
	private readonly failures = new Map<string, string>();
	/** Targets read at least once: their first failure shows in the tree only, later ones notify too. */
	private readonly wasRead = new Set<string>();
	private timer: NodeJS.Timeout | undefined;
	private readonly subscriptions: vscode.Disposable[] = [];

	constructor(
		private readonly targets: TargetService,
		private readonly connections: DatapathConnections,
		private readonly log: ComponentLog,
	) {
		this.view = vscode.window.createTreeView(DATAPATH_VIEW_ID, { treeDataProvider: this, showCollapseAll: true });
		this.subscriptions.push(
			this.view,
			this.view.onDidChangeVisibility(() => this.onVisibility()),
			this.view.onDidCollapseElement(({ element }) => { if (element.kind === "target") this.expanded.delete(element.target); }),
			this.view.onDidExpandElement(({ element }) => { if (element.kind === "target") this.expanded.add(element.target); }),
			targets.onDidChange(() => this.changed.fire(undefined)),
		);
		this.onVisibility();
	}

	/** The selected target first, then recent SSH targets, each once. */
	private targetSpecs(): string[] {
		return [...new Set([this.targets.current, ...this.targets.recent()].map(normalizeTarget))];
	}

	getTreeItem(item: DatapathItem): vscode.TreeItem {
		const state = item.collapsible === "none" ? vscode.TreeItemCollapsibleState.None
			: item.collapsible === "expanded" ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
		const treeItem = new vscode.TreeItem(item.label, state);
		treeItem.id = item.id;
		treeItem.description = item.description;
		treeItem.tooltip = item.tooltip;
		treeItem.contextValue = item.contextValue;
		if (item.icon) treeItem.iconPath = new vscode.ThemeIcon(item.icon.id, item.icon.color ? new vscode.ThemeColor(item.icon.color) : undefined);
		if (item.action) treeItem.command = { title: item.action.title, command: item.action.command, arguments: item.action.arguments };
		return treeItem;
	}

	async getChildren(item?: DatapathItem): Promise<DatapathItem[]> {
		if (!item) {
			const current = normalizeTarget(this.targets.current);
			return this.targetSpecs().map((spec) => targetItem(spec, spec === current, spec === current));
		}
		if (item.kind !== "target") return item.children ?? [];
		if (!vscode.workspace.isTrusted) {
			return [messageItem(item.target, "untrusted", "Reading the datapath needs a trusted workspace", "info", { title: "Manage Workspace Trust", command: "workbench.trust.manage" })];
		}
		this.expanded.add(item.target);
		if (!this.results.has(item.target)) await this.load(item.target, false);
		return this.results.get(item.target) ?? [];
	}

	/** Reads every expanded target again; `interactive` shows a failure even when it was shown before. */
	async refresh(interactive: boolean): Promise<void> {
		if (!vscode.workspace.isTrusted) return;
		const specs = [...this.expanded].filter((spec) => this.targetSpecs().includes(spec));
		await Promise.all(specs.map((spec) => this.load(spec, interactive)));
		this.changed.fire(undefined);
	}

	/** Reads one target again (after an Activate or Rollback) and redraws the tree. */
	async refreshTarget(spec: string): Promise<void> {
		await this.load(spec, false);
		this.changed.fire(undefined);
	}

	/** The application item of `app` on `spec` from the last read, if it was read. */
	appItem(spec: string, app: string): DatapathItem | undefined {
		return this.results.get(spec)?.find((item) => item.kind === "app" && item.app === app);
	}

	private load(spec: string, interactive: boolean): Promise<void> {
		const running = this.loading.get(spec);
		if (running) return running;
		const work = (async () => {
			try {
				const apps = await this.connections.use(spec, (target) => runtimeStatus(target));
				this.results.set(spec, appItems(spec, apps));
				this.failures.delete(spec);
			} catch (error) {
				const reason = errorMessage(error);
				const advice = failureAdvice(spec, reason, (error as { code?: string }).code);
				const label = advice.notInstalled ? "Runtime not installed: click to install" : reason.split("\n")[0];
				const action = advice.action ? { title: advice.action.title, command: advice.action.command, arguments: [{ target: spec }] } : undefined;
				this.results.set(spec, [messageItem(spec, advice.notInstalled ? "not-installed" : "failed", label, advice.notInstalled ? "info" : "error", action, advice.message)]);
				const shownBefore = this.failures.get(spec) === advice.message;
				this.failures.set(spec, advice.message);
				this.log.warn(advice.message);
				// The first read shows the failure in the tree only: opening the view must not pop up errors.
				if (interactive || (!shownBefore && this.wasRead.has(spec))) void showFailure(advice.message, advice.action);
			} finally {
				this.wasRead.add(spec);
				this.loading.delete(spec);
			}
		})();
		this.loading.set(spec, work);
		return work;
	}

	private onVisibility(): void {
		if (this.view.visible && !this.timer) {
			this.timer = setInterval(() => void this.refresh(false), REFRESH_INTERVAL_MS);
		} else if (!this.view.visible && this.timer) {
			clearInterval(this.timer);
			this.timer = undefined;
			// Hidden for a while: no connection stays open for a view nobody looks at.
			this.connections.releaseAll();
		}
	}

	dispose(): void {
		if (this.timer) clearInterval(this.timer);
		for (const subscription of this.subscriptions) subscription.dispose();
		this.changed.dispose();
	}
}
