// What one Datapath panel knows about one application: the last status, the stream's window and events. It turns
// them into the webview's state. No `vscode` here.
import type { AppStatus, ChannelLine } from "../../core/runtime/types";
import type { DatapathEventView, DatapathState } from "../../../webview/datapath/protocol";
import { activeSlot } from "./datapathItems";
import { CounterRate, RecordWindow, appInferences } from "./recordWindow";

/** Events kept for the list, newest first. */
const MAX_EVENTS = 200;

export class PanelModel {
	private status: AppStatus | undefined;
	private statusError: string | undefined;
	private inferencesPerSecond: number | undefined;
	private readonly inferenceRate = new CounterRate();
	private readonly window: RecordWindow;
	private readonly events: DatapathEventView[] = [];
	private stream: DatapathState["stream"] = { state: "connecting" };
	busy = false;

	constructor(
		readonly target: string,
		readonly app: string,
		windowSeconds = 10,
	) {
		this.window = new RecordWindow(windowSeconds);
	}

	/** A status read of this app (undefined: the app is not registered any more). */
	onStatus(app: AppStatus | undefined, atMs: number): void {
		if (!app) {
			this.status = undefined;
			this.statusError = `${this.app} is not registered on ${this.target} (any more): load its module or deploy with --app ${this.app}.`;
			this.inferencesPerSecond = undefined;
			return;
		}
		this.status = app;
		this.statusError = undefined;
		const rate = this.inferenceRate.update(appInferences(app), atMs);
		// After a reset the last rate would be stale; no rate until the next read.
		this.inferencesPerSecond = rate;
	}

	onStatusError(message: string): void {
		this.statusError = message;
	}

	onStreamState(state: DatapathState["stream"]["state"], error?: string): void {
		this.stream = error === undefined ? { state } : { state, error };
	}

	/** A line of the stream; lines of other applications are ignored. */
	onLine(line: ChannelLine, atMs: number): void {
		if (line.app !== this.app) return;
		if (line.kind === "event") {
			this.events.unshift({
				timeMs: line.timeMs, event: line.event, reason: line.reason, fromId: line.fromId, toId: line.toId,
				modelId: line.modelId, message: line.message,
			});
			if (this.events.length > MAX_EVENTS) this.events.length = MAX_EVENTS;
			return;
		}
		this.window.add(line, atMs);
	}

	get lastStatus(): AppStatus | undefined {
		return this.status;
	}

	state(nowMs: number): DatapathState {
		const snapshot = this.window.snapshot(nowMs);
		const active = this.status ? activeSlot(this.status) : undefined;
		return {
			target: this.target,
			app: this.app,
			...(this.status ? {
				slots: [...this.status.slots].sort((a, b) => a.index - b.index).map((slot) => ({
					index: slot.index, modelId: slot.modelId, name: slot.name, module: slot.module, active: slot.active, failed: slot.failed,
					inferences: slot.inferences, errors: slot.errors, rollbacks: slot.rollbacks,
					latencyP50Ns: slot.latencyP50Ns, latencyP99Ns: slot.latencyP99Ns,
				})),
				activeId: this.status.activeId,
			} : {}),
			...(this.statusError !== undefined ? { statusError: this.statusError } : {}),
			stream: this.stream,
			...(this.inferencesPerSecond !== undefined ? { inferencesPerSecond: this.inferencesPerSecond } : {}),
			recordsPerSecond: snapshot.recordsPerSecond,
			windowSeconds: snapshot.windowSeconds,
			recordsInWindow: snapshot.records,
			droppedInWindow: snapshot.dropped,
			...(active ? { statusLatency: { p50Ns: active.latencyP50Ns, p99Ns: active.latencyP99Ns } } : {}),
			recordLatency: snapshot.latency,
			outputs: snapshot.outputs,
			outputCount: snapshot.outputCount,
			events: [...this.events],
			busy: this.busy,
		};
	}
}
