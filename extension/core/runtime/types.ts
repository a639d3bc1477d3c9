// What knn_core reports, as the target-side tool knn-channel prints it (one JSON object per line) and as
// `knn runtime status --json` passes it on. The tool's JSON mirrors kmod/runtime/core/knn_channel.h.

export type GuardReason = "none" | "nan" | "range" | "latency" | "error";
export type EventKind = "register" | "unregister" | "activate" | "rollback" | "guard";
export type ElementType = "float32" | "int8" | "uint8" | "int16" | "int32";

export interface SlotStatus {
	index: number;
	modelId: number;
	/** The model's name (its prefix). */
	name: string;
	/** The kernel module that registered it. */
	module: string;
	active: boolean;
	/** Why the guard took it out; "none" while healthy. */
	failed: GuardReason;
	inferences: number;
	errors: number;
	skipped: number;
	rollbacks: number;
	latencyP50Ns: number;
	latencyP99Ns: number;
	latencyMaxNs: number;
	usesFpu: boolean;
	/** Unix time in ms when it registered. */
	registeredMs: number;
}

export interface AppStatus {
	app: string;
	owner: string;
	inputType: ElementType;
	outputType: ElementType;
	inputBytes: number;
	outputBytes: number;
	stateBytes: number;
	/** 0 when no model is active. */
	activeId: number;
	slots: SlotStatus[];
	recordsSent: number;
	recordsDropped: number;
	/** What knn_core says about the application, e.g. why it sends no records. */
	message?: string;
	/** badOutputs: bad outputs within a window that roll back at once (knn_core's KNN_A_GUARD_BAD_OUTPUTS). */
	guard: { window: number; latencyNs: number; min?: number; max?: number; badOutputs?: number };
}

/** One line of `knn-channel stream`: a record or an event. */
export type ChannelLine =
	| {
		kind: "record";
		app: string;
		seq: number;
		timeNs: number;
		modelId: number;
		latencyNs: number;
		input: number[];
		output: number[];
	}
	| {
		kind: "event";
		app: string;
		event: EventKind;
		reason: GuardReason;
		fromId: number;
		toId: number;
		modelId: number;
		message: string;
		timeMs: number;
	}
	| {
		/** Records the kernel lost (a full batch buffer) since the previous batch: a gap in seq. */
		kind: "dropped";
		app: string;
		count: number;
	};
