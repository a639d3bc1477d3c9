// Messages between the extension host and Kernel NN's webviews. Imported by both sides: no `vscode`, no DOM.
// Every webview starts empty, posts `ready`, and the host answers with the whole state.

/** A node as the graph inspector draws it: parsed on the host, never protobuf in the webview. */
export interface GraphNodeView {
	name: string;
	op: string;
	inputs: string[];
	controlInputs: string[];
	/** Output shapes where known, e.g. "[1,32]". */
	shapes: string[];
	dtype?: string;
	/** Whether the compiler can lower this op. */
	supported: boolean;
	/** Loop frame the node runs in ("" for none). */
	frame: string;
}

export interface GraphView {
	file: string;
	format: string;
	nodeCount: number;
	nodes: GraphNodeView[];
	placeholders: string[];
	candidateOutputs: string[];
	/** Set when the graph is too large to lay out in full; the webview shows a clear message. */
	truncated?: { shown: number; reason: string };
	/** A SavedModel's signatures, sorted by key, offered as one-click feed and fetch picks. */
	signatures?: SignatureView[];
}

/** A signature as picks: its inputs become the feeds and its outputs the fetches, each in key order. */
export interface SignatureView {
	key: string;
	methodName?: string;
	feeds: SignatureTensorView[];
	fetches: SignatureTensorView[];
}

export interface SignatureTensorView {
	/** The signature's key for the tensor, e.g. "ob". */
	key: string;
	/** The pick: "node", or "node:N" for an output other than the first. */
	name: string;
	/** The declared shape, e.g. "[?,30]"; unknown dimensions become 1 when picked. */
	shape: string;
	dtype?: string;
}

export interface NodeDetails {
	name: string;
	op: string;
	attrs: { name: string; value: string }[];
	shapes: string[];
	dtype?: string;
	/** Weight statistics, sent only when asked for. */
	weights?: { shape: string; count: number; min: number; max: number; mean: number; std: number };
}

/** A comparison of kernel output against the reference, per output tensor and per step. */
export interface ComparisonView {
	module: string;
	target: string;
	ok: boolean;
	tolerance: number;
	maxAbsError: number;
	maxRelError: number;
	stages: { name: string; ms: number; ok: boolean; error?: string }[];
	outputs: { name: string; steps: { kernel: number[]; reference: number[] }[] }[];
}

export type HostToGraphWebview =
	/** The whole graph, answering `ready`. */
	| { type: "graph"; graph: GraphView; strings: Record<string, string> }
	/** Details of one node, answering `requestDetails`. */
	| { type: "details"; requestId: number; details: NodeDetails }
	/** Select and centre a node (the "reveal node" command). */
	| { type: "reveal"; name: string }
	/** A question from the host that the webview answers with `answer` (tests read the rendered state this way). */
	| { type: "query"; requestId: number; what: GraphQuery };

/**
 * What a `query` asks: the number of nodes drawn, the drawn nodes ({ name, op }[]), the selected node, to press the
 * button of signature `key` as a person would and answer with the picks it made (null when no such button is shown).
 */
/** Feeds (with a shape where one was given) and fetches picked in the inspector, in pick order. */
export interface ConfigPicks {
	feeds: { name: string; shape?: number[] }[];
	fetches: string[];
}

export type GraphQuery = "renderedNodeCount" | "renderedNodes" | "selection" | { pressSignature: string };

export type GraphWebviewToHost =
	/** The webview has loaded and listens. */
	| { type: "ready" }
	/** Asks for a node's details; `weights` asks for weight statistics too. */
	| { type: "requestDetails"; requestId: number; name: string; weights: boolean }
	/** The user picked feeds and fetches; the host writes graph.config.pbtxt. */
	| ({ type: "writeConfig" } & ConfigPicks)
	/** Answer to a `query`. */
	| { type: "answer"; requestId: number; value: unknown }
	/** Something went wrong in the webview, for the log. */
	| { type: "error"; message: string };

export type HostToCompareWebview =
	/** The whole comparison, answering `ready` and after each deploy. */
	| { type: "comparison"; comparison: ComparisonView; strings: Record<string, string> }
	| { type: "query"; requestId: number; what: "summary" };

export type CompareWebviewToHost =
	/** The webview has loaded and listens. */
	| { type: "ready" }
	/** Save the comparison as CSV or JSON through the host. */
	| { type: "export"; format: "csv" | "json" }
	/** Answer to a `query`: e.g. { rows, failing, allWithinTolerance }. */
	| { type: "answer"; requestId: number; value: unknown }
	/** Something went wrong in the webview, for the log. */
	| { type: "error"; message: string };
