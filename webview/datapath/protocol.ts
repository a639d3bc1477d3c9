// Messages between the extension host and the Datapath webview. Imported by both sides: no `vscode`, no DOM.
// The webview starts empty, posts `ready`, and the host answers with the whole state, then sends it again about
// once a second while the stream runs. Names in it come from the kernel: the webview only sets them as text.

export interface HistogramView {
	lo: number;
	hi: number;
	counts: number[];
	nonFinite: number;
	total: number;
}

export interface DatapathSlotView {
	index: number;
	modelId: number;
	name: string;
	module: string;
	active: boolean;
	/** "none" while healthy, else why the guard took it out. */
	failed: string;
	inferences: number;
	errors: number;
	rollbacks: number;
	latencyP50Ns: number;
	latencyP99Ns: number;
}

export interface DatapathEventView {
	timeMs: number;
	/** register, unregister, activate, rollback, guard. */
	event: string;
	/** The guard's reason, "none" for the others. */
	reason: string;
	fromId: number;
	toId: number;
	modelId: number;
	message: string;
}

export interface DatapathState {
	target: string;
	app: string;
	/** From the last status read; absent until the first one answers. */
	slots?: DatapathSlotView[];
	activeId?: number;
	statusError?: string;
	/** The stream of records and events. */
	stream: { state: "connecting" | "streaming" | "stopped" | "failed"; error?: string };
	/** Inferences per second from the counters of two status reads (all of the app's slots); absent until two reads. */
	inferencesPerSecond?: number;
	recordsPerSecond: number;
	windowSeconds: number;
	recordsInWindow: number;
	droppedInWindow: number;
	/** The active model's p50/p99 as knn_core measures them over every inference. */
	statusLatency?: { p50Ns: number; p99Ns: number };
	/** Percentiles and histogram of the records in the window (records are sampled by the kernel). */
	recordLatency: { p50Ns: number; p99Ns: number; maxNs: number; histogram: HistogramView };
	outputs: HistogramView[];
	outputCount: number;
	/** Newest first. */
	events: DatapathEventView[];
	/** An Activate or Rollback in flight from this panel. */
	busy: boolean;
}

export type HostToDatapathWebview =
	/** The whole state, answering `ready` and then periodically. */
	| { type: "state"; state: DatapathState; strings: Record<string, string> }
	/** A question from the host that the webview answers with `answer` (tests read the rendered state this way). */
	| { type: "query"; requestId: number; what: "summary" };

export type DatapathWebviewToHost =
	/** The webview has loaded and listens. */
	| { type: "ready" }
	/** Activate a model of the panel's app: `modelId`, or the standby slot when absent. */
	| { type: "activate"; modelId?: number }
	/** Roll the panel's app back to its previous model. */
	| { type: "rollback" }
	/** Answer to a `query`: { slots, events, outputs, title }. */
	| { type: "answer"; requestId: number; value: unknown }
	/** Something went wrong in the webview, for the log. */
	| { type: "error"; message: string };
