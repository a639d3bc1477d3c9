import * as vscode from "vscode";
import { runtimeStatus, streamChannel } from "../../core/runtime/client";
import type { DatapathWebviewToHost, HostToDatapathWebview } from "../../../webview/datapath/protocol";
import { DATAPATH_STRINGS } from "../../../webview/datapath/strings";
import { type ComponentLog, errorMessage } from "../log";
import type { TargetHandle, TargetService } from "../targets";
import { webviewHtml, webviewOptions } from "../webviewHtml";
import { runDatapathAction } from "./datapathActions";
import { PanelModel } from "./panelModel";

export const DATAPATH_VIEW_TYPE = "kernelNN.datapathPanel";
const STATUS_INTERVAL_MS = 2000;
const POST_INTERVAL_MS = 1000;
const STREAM_RETRY_MS = 5000;
const QUERY_TIMEOUT_MS = 30_000;

function localizedStrings(): Record<string, string> {
	return Object.fromEntries(Object.entries(DATAPATH_STRINGS).map(([key, text]) => [key, vscode.l10n.t(text)]));
}

/**
 * One application's live panel: its own connection, a status read every 2 s and the record stream. Everything
 * stops (stream aborted, connection closed) when the panel closes.
 */
export class DatapathPanel implements vscode.Disposable {
	private readonly panel: vscode.WebviewPanel;
	private readonly model: PanelModel;
	private readonly abort = new AbortController();
	private readonly timers: NodeJS.Timeout[] = [];
	private handle: Promise<TargetHandle> | undefined;
	private ready = false;
	private nextRequestId = 1;
	private readonly pending = new Map<number, (value: unknown, error?: Error) => void>();
	private readonly disposed = new vscode.EventEmitter<void>();
	readonly onDidDispose = this.disposed.event;

	constructor(
		extensionUri: vscode.Uri,
		private readonly targets: TargetService,
		private readonly log: ComponentLog,
		readonly target: string,
		readonly app: string,
		/** Called after an Activate or Rollback from the panel, so the tree shows it. */
		private readonly afterAction: () => void,
	) {
		this.model = new PanelModel(target, app);
		const title = vscode.l10n.t("Datapath: {0} / {1}", target, app);
		this.panel = vscode.window.createWebviewPanel(DATAPATH_VIEW_TYPE, title, vscode.ViewColumn.Active, { ...webviewOptions(extensionUri), retainContextWhenHidden: false });
		this.panel.webview.onDidReceiveMessage((message: DatapathWebviewToHost) => this.onMessage(message));
		this.panel.onDidChangeViewState(() => {
			// A hidden webview is torn down; its rebuilt page posts `ready` again.
			if (!this.panel.visible) this.ready = false;
		});
		this.panel.onDidDispose(() => this.stop());
		this.panel.webview.html = webviewHtml(this.panel.webview, extensionUri, "datapath", title);
		this.timers.push(setInterval(() => void this.readStatus(), STATUS_INTERVAL_MS), setInterval(() => this.post(), POST_INTERVAL_MS));
		void this.readStatus();
		void this.runStream();
	}

	reveal(): void {
		this.panel.reveal();
	}

	dispose(): void {
		this.panel.dispose();
	}

	/** Asks the webview what it rendered (slots, events, output histograms, title). */
	summary(): Promise<unknown> {
		if (!this.panel.visible) this.panel.reveal(undefined, true);
		const requestId = this.nextRequestId++;
		const answer = new Promise<unknown>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.pending.delete(requestId);
				reject(new Error(`The Datapath webview of ${this.app} on ${this.target} did not answer within ${QUERY_TIMEOUT_MS / 1000} s.`));
			}, QUERY_TIMEOUT_MS);
			this.pending.set(requestId, (value, error) => {
				clearTimeout(timer);
				if (error) reject(error);
				else resolve(value);
			});
		});
		void this.panel.webview.postMessage({ type: "query", requestId, what: "summary" } satisfies HostToDatapathWebview);
		return answer;
	}

	private connection(): Promise<TargetHandle> {
		if (!this.handle) {
			const opening = this.targets.open(this.target, this.abort.signal);
			this.handle = opening;
			opening.catch(() => { if (this.handle === opening) this.handle = undefined; });
		}
		return this.handle;
	}

	private async readStatus(): Promise<void> {
		if (this.abort.signal.aborted) return;
		try {
			const { target } = await this.connection();
			const apps = await runtimeStatus(target, { app: this.app, signal: this.abort.signal });
			this.model.onStatus(apps.find((a) => a.app === this.app), Date.now());
		} catch (error) {
			if (this.abort.signal.aborted) return;
			this.model.onStatusError(errorMessage(error));
		}
	}

	/** Follows the stream until the panel closes, starting it again 5 s after it ends or fails. */
	private async runStream(): Promise<void> {
		const signal = this.abort.signal;
		while (!signal.aborted) {
			this.model.onStreamState("connecting");
			try {
				const { target } = await this.connection();
				this.model.onStreamState("streaming");
				this.post();
				await streamChannel(target, { app: this.app, signal, onLine: (line) => this.model.onLine(line, Date.now()) });
				this.model.onStreamState("stopped");
			} catch (error) {
				if (signal.aborted) break;
				this.log.warn(`the stream of ${this.app} on ${this.target} failed: ${errorMessage(error)}`);
				this.model.onStreamState("failed", errorMessage(error));
			}
			this.post();
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, STREAM_RETRY_MS);
				signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
			});
		}
	}

	private post(): void {
		if (!this.ready || !this.panel.visible || this.abort.signal.aborted) return;
		const message: HostToDatapathWebview = { type: "state", state: this.model.state(Date.now()), strings: localizedStrings() };
		void this.panel.webview.postMessage(message);
	}

	private async act(action: { kind: "activate"; modelId?: number } | { kind: "rollback" }): Promise<void> {
		if (this.model.busy) return;
		this.model.busy = true;
		this.post();
		try {
			const { target } = await this.connection();
			await runDatapathAction(target, this.target, this.app, action, this.log, this.abort.signal);
			await this.readStatus();
			this.afterAction();
		} catch (error) {
			void vscode.window.showErrorMessage(`Kernel NN: could not reach ${this.target} for ${this.app}: ${errorMessage(error)}`);
		} finally {
			this.model.busy = false;
			this.post();
		}
	}

	private onMessage(message: DatapathWebviewToHost): void {
		switch (message.type) {
			case "ready":
				this.ready = true;
				this.post();
				break;
			case "activate":
				void this.act({ kind: "activate", modelId: message.modelId });
				break;
			case "rollback":
				void this.act({ kind: "rollback" });
				break;
			case "answer":
				this.pending.get(message.requestId)?.(message.value);
				this.pending.delete(message.requestId);
				break;
			case "error":
				this.log.error(`Datapath webview of ${this.app} on ${this.target}: ${message.message}`);
				break;
		}
	}

	private stop(): void {
		this.abort.abort();
		for (const timer of this.timers) clearInterval(timer);
		for (const settle of this.pending.values()) settle(undefined, new Error(`The Datapath panel of ${this.app} on ${this.target} was closed before its webview answered.`));
		this.pending.clear();
		const handle = this.handle;
		this.handle = undefined;
		void handle?.then((h) => h.release(), () => undefined);
		this.disposed.fire();
		this.disposed.dispose();
	}
}
