// The compact graph the inspector's webview draws, built on the host from a loaded model. No `vscode` here.
import { type GraphNode, type TensorRef, attrString, attrType, hasAttr, outputShapeHints, parseInputName, refKey } from "../../core/graph/graph";
import { type Inference, declaredShape, inferGraph } from "../../core/interp/infer";
import type { LoadedModel } from "../../core/frontends";
import type { SignatureTensor } from "../../core/frontends/model";
import { formatShape, shapeFromProto } from "../../core/graph/tensor";
import { compilerSupport, isVariableOp } from "../../core/ops";
import { candidateOutputs } from "../../core/model/inspect";
import type { GraphNodeView, GraphView, SignatureTensorView, SignatureView } from "../../../webview/shared/protocol";

export interface GraphViewOptions {
	/** The most graph nodes a view may hold; larger graphs are cut to their inference subgraph. */
	maxNodes?: number;
	/** The file name shown to the user (a workspace-relative path); defaults to the model's file. */
	displayName?: string;
}

/** The view plus what the host needs to map a folded node to the drawn node that stands for it. */
export interface BuiltGraphView {
	view: GraphView;
	/** Folded node -> the drawn node that shows it (a Const's consumer, an Identity chain's source). */
	foldedInto: Map<string, string>;
}

export const DEFAULT_MAX_NODES = 5000;
/** Above this many nodes, a model with signatures shows only what they need (the webview lays out 600 at once). */
const SIGNATURE_SCOPE_NODES = 600;

const PLACEHOLDER_OPS = new Set(["Placeholder", "PlaceholderV2", "PlaceholderWithDefault"]);
// Freezing turns variables into constants, so they are not what stops a model from compiling.
const IDENTITY_OPS = new Set(["Identity", "StopGradient", "Snapshot"]);

export function buildGraphView(model: LoadedModel, options: GraphViewOptions = {}): BuiltGraphView {
	const graph = model.graph;
	const maxNodes = options.maxNodes ?? DEFAULT_MAX_NODES;
	const outputs = candidateOutputs(graph);
	const { keep, truncated } = chooseNodes(model, outputs, maxNodes);
	const kept = graph.nodes.filter((n) => keep.has(n.name));

	const { drawn, foldedInto, sourceOf } = fold(kept, new Set(outputs));
	const shapes = knownShapes(model, kept, outputs.filter((o) => keep.has(o)));
	const frames = loopFrames(kept, keep);
	// The compiler's own verdict per node (core/ops/support.ts), the same one `knn inspect` reports.
	const supported = compilerSupport(kept);
	const resolve = (name: string) => sourceOf.get(name) ?? name;

	const nodes: GraphNodeView[] = drawn.map((node) => ({
		name: node.name,
		op: node.op,
		inputs: node.inputs.map((ref) => resolveRef(ref, sourceOf)),
		controlInputs: [...new Set(node.controlInputs.map(resolve))].filter((c) => c !== node.name),
		shapes: shapes.get(node.name)?.shapes ?? [],
		...(shapes.get(node.name)?.dtype ? { dtype: shapes.get(node.name)!.dtype } : {}),
		supported: supported.get(node.name) ?? false,
		frame: frames.get(node.name) ?? "",
	}));
	const drawnNames = new Set(drawn.map((n) => n.name));
	const view: GraphView = {
		file: options.displayName ?? model.file,
		format: model.format,
		nodeCount: graph.nodes.length,
		nodes,
		placeholders: kept.filter((n) => PLACEHOLDER_OPS.has(n.op) && drawnNames.has(n.name)).map((n) => n.name),
		candidateOutputs: outputs.filter((name) => drawnNames.has(name)),
		...(truncated ? { truncated } : {}),
		...(model.signatures?.length ? { signatures: signatureViews(model) } : {}),
	};
	return { view, foldedInto };
}

/** Signatures whose tensors all name nodes of the graph, as picks; an input of unknown rank shows the placeholder's shape. */
export function signatureViews(model: LoadedModel): SignatureView[] {
	const pick = (tensor: SignatureTensor, input: boolean): SignatureTensorView | undefined => {
		const { ref, control } = parseInputName(tensor.tensor);
		const node = model.graph.get(ref.node);
		if (tensor.tensor === "" || control || !node) return undefined;
		const shape = tensor.shape ?? (input ? declaredShape(node) : undefined);
		return { key: tensor.key, name: ref.index === 0 ? ref.node : refKey(ref), shape: formatShape(shape), ...(tensor.dtype ? { dtype: tensor.dtype } : {}) };
	};
	return (model.signatures ?? []).flatMap((signature) => {
		const feeds = signature.inputs.map((t) => pick(t, true));
		const fetches = signature.outputs.map((t) => pick(t, false));
		const usable = (list: (SignatureTensorView | undefined)[]): list is SignatureTensorView[] => list.every((t) => t !== undefined);
		if (!usable(feeds) || !usable(fetches) || fetches.length === 0) return [];
		return [{ key: signature.key, ...(signature.methodName ? { methodName: signature.methodName } : {}), feeds, fetches }];
	});
}

function resolveRef(ref: TensorRef, sourceOf: Map<string, string>): string {
	const source = sourceOf.get(ref.node);
	if (source === undefined) return refKey(ref);
	// An Identity chain passes its source's tensor through, output index included.
	const [node, index] = splitRef(source);
	return refKey({ node, index });
}

function splitRef(text: string): [string, number] {
	const match = /^(.*):(\d+)$/.exec(text);
	return match ? [match[1], Number(match[2])] : [text, 0];
}

/**
 * The nodes a view holds: what the signatures need when the model has signatures and is large, else the whole graph
 * if small enough, else what inference needs, nearest the outputs first.
 */
function chooseNodes(model: LoadedModel, outputs: string[], maxNodes: number): { keep: Set<string>; truncated?: GraphView["truncated"] } {
	const graph = model.graph;
	const total = graph.nodes.length;
	const count = (n: number) => n.toLocaleString("en-US");
	// A SavedModel says what it serves: a graph too large to lay out whole opens on what its signatures need.
	const served = (model.signatures ?? []).flatMap((s) => s.outputs.map((t) => parseInputName(t.tensor).ref.node)).filter((n) => graph.has(n));
	if (served.length > 0 && total > SIGNATURE_SCOPE_NODES) {
		const keep = nearestAncestors(model, served, maxNodes);
		return {
			keep,
			truncated: {
				shown: keep.size,
				reason: `Showing what the signatures' outputs need: ${count(keep.size)} of the graph's ${count(total)} nodes. ` +
					"Training, saving and summary nodes are hidden; knn config --feed/--fetch reaches any node.",
			},
		};
	}
	if (total <= maxNodes) return { keep: new Set(graph.nodes.map((n) => n.name)) };
	if (outputs.length === 0) {
		const keep = new Set(graph.nodes.slice(0, maxNodes).map((n) => n.name));
		return { keep, truncated: { shown: keep.size, reason: `The graph has ${count(total)} nodes and no inference outputs were found; showing its first ${count(keep.size)} nodes.` } };
	}
	const inference = nearestAncestors(model, outputs, Infinity);
	if (inference.size <= maxNodes) {
		return {
			keep: inference,
			truncated: {
				shown: inference.size,
				reason: `Showing the inference subgraph: the ${count(inference.size)} nodes that the ${outputs.length} candidate outputs depend on, ` +
					`of ${count(total)} in the graph. Training, queue, saving and summary nodes are hidden.`,
			},
		};
	}
	const keep = nearestAncestors(model, outputs, maxNodes);
	return {
		keep,
		truncated: {
			shown: keep.size,
			reason: `The inference subgraph alone has ${count(inference.size)} of the graph's ${count(total)} nodes; ` +
				`showing the ${count(keep.size)} nearest to the ${outputs.length} candidate outputs.`,
		},
	};
}

/** Breadth-first ancestors of the outputs (data and control edges), at most `limit` of them. */
function nearestAncestors(model: LoadedModel, outputs: string[], limit: number): Set<string> {
	const graph = model.graph;
	const seen = new Set<string>();
	let frontier = outputs.filter((o) => graph.has(o));
	while (frontier.length > 0 && seen.size < limit) {
		const next: string[] = [];
		for (const name of frontier) {
			if (seen.has(name) || seen.size >= limit) continue;
			seen.add(name);
			const node = graph.node(name);
			for (const ref of node.inputs) if (graph.has(ref.node)) next.push(ref.node);
			for (const control of node.controlInputs) if (graph.has(control)) next.push(control);
		}
		frontier = next;
	}
	return seen;
}

/**
 * Hides noise: an Identity chain (no control inputs, something reads it, not an output) is folded into its source,
 * and a Const read by exactly one node becomes a badge on that node.
 */
function fold(nodes: GraphNode[], outputs: ReadonlySet<string>): { drawn: GraphNode[]; foldedInto: Map<string, string>; sourceOf: Map<string, string> } {
	const byName = new Map(nodes.map((n) => [n.name, n]));
	const readers = new Map<string, number>();
	for (const node of nodes) {
		for (const source of new Set([...node.inputs.map((r) => r.node), ...node.controlInputs])) readers.set(source, (readers.get(source) ?? 0) + 1);
	}
	const foldable = (node: GraphNode) =>
		IDENTITY_OPS.has(node.op) && node.inputs.length === 1 && node.controlInputs.length === 0 && !outputs.has(node.name) &&
		(readers.get(node.name) ?? 0) > 0 && byName.has(node.inputs[0].node);
	// sourceOf: a folded Identity -> the tensor it passes on ("node" or "node:N"), following the whole chain.
	const sourceOf = new Map<string, string>();
	// Walks up the chain once and settles every Identity on it, so a long chain costs linear time and no stack.
	const sourceFor = (start: GraphNode): string => {
		const chain: GraphNode[] = [];
		const onChain = new Set<string>();
		let node = start;
		let source: string;
		for (;;) {
			chain.push(node);
			onChain.add(node.name);
			const ref = node.inputs[0];
			const upstream = byName.get(ref.node);
			if (!upstream || !foldable(upstream) || onChain.has(upstream.name)) {
				source = refKey(ref);
				break;
			}
			const settled = sourceOf.get(upstream.name);
			if (settled !== undefined) {
				source = settled;
				break;
			}
			node = upstream;
		}
		for (const link of chain) sourceOf.set(link.name, source);
		return source;
	};
	for (const node of nodes) if (foldable(node) && !sourceOf.has(node.name)) sourceFor(node);

	// Count each Const's readers after the chains are folded, so Const -> Identity -> X folds the Const into X.
	const readersOf = new Map<string, Set<string>>();
	for (const node of nodes) {
		if (sourceOf.has(node.name)) continue;
		for (const source of [...node.inputs.map((r) => r.node), ...node.controlInputs]) {
			const resolved = splitRef(sourceOf.get(source) ?? source)[0];
			if (!readersOf.has(resolved)) readersOf.set(resolved, new Set());
			readersOf.get(resolved)!.add(node.name);
		}
	}
	const foldedInto = new Map<string, string>();
	for (const [name, source] of sourceOf) foldedInto.set(name, splitRef(source)[0]);
	for (const node of nodes) {
		const consumers = readersOf.get(node.name);
		if (node.op === "Const" && consumers?.size === 1 && !outputs.has(node.name)) foldedInto.set(node.name, [...consumers][0]);
	}
	// A chain that ends in a folded Const stands for the Const's consumer.
	for (const [name, target] of foldedInto) {
		const further = foldedInto.get(target);
		if (further !== undefined && byName.get(target)?.op === "Const") foldedInto.set(name, further);
	}
	return { drawn: nodes.filter((n) => !foldedInto.has(n.name)), foldedInto, sourceOf };
}

export interface KnownShapes {
	shapes: string[];
	dtype?: string;
}

/** Shapes and dtypes from shape inference when the placeholders are static, else from `_output_shapes` hints. */
function knownShapes(model: LoadedModel, nodes: GraphNode[], outputs: string[]): Map<string, KnownShapes> {
	const known = new Map<string, KnownShapes>();
	const inference = tryInference(model, nodes, outputs);
	for (const node of nodes) {
		const fromInference = inference ? inferredShapes(node, inference) : undefined;
		if (fromInference) {
			known.set(node.name, fromInference);
			continue;
		}
		known.set(node.name, hintedShapes(node));
	}
	return known;
}

/** What the graph itself says about a node's outputs: declared shapes, constant shapes, `_output_shapes` hints. */
export function hintedShapes(node: GraphNode): KnownShapes {
	const dtype = declaredDType(node);
	let shapes: string[];
	if (PLACEHOLDER_OPS.has(node.op)) shapes = [formatShape(declaredShape(node))];
	else if (node.op === "Const" && node.attr.value?.tensor) shapes = [formatShape(shapeFromProto(node.attr.value.tensor.tensor_shape) ?? [])];
	else if (isVariableOp(node.op) && hasAttr(node, "shape")) shapes = [formatShape(declaredShape(node))];
	else shapes = (outputShapeHints(node) ?? []).map(formatShape);
	return { shapes, ...(dtype ? { dtype } : {}) };
}

function tryInference(model: LoadedModel, nodes: GraphNode[], outputs: string[]): Inference | undefined {
	if (outputs.length === 0) return undefined;
	const placeholders = nodes.filter((n) => PLACEHOLDER_OPS.has(n.op));
	const feeds = [];
	for (const node of placeholders) {
		const shape = declaredShape(node);
		if (!shape || shape.some((d) => d < 0)) return undefined;
		feeds.push({ ref: { node: node.name, index: 0 }, shape });
	}
	if (nodes.some((n) => isVariableOp(n.op))) return undefined;
	try {
		return inferGraph(model.graph, feeds, outputs.map((node) => ({ node, index: 0 })));
	} catch {
		// Inference runs the graph; one op the interpreter lacks leaves the hints as the only source of shapes.
		return undefined;
	}
}

function inferredShapes(node: GraphNode, inference: Inference): KnownShapes | undefined {
	const count = inference.outputCounts.get(node.name);
	if (!count) return undefined;
	const shapes: string[] = [];
	let dtype: string | undefined;
	for (let index = 0; index < count; index++) {
		const info = inference.tensors.get(refKey({ node: node.name, index }));
		shapes.push(formatShape(info?.shape));
		if (index === 0 && info) dtype = info.dtype;
	}
	return { shapes, ...(dtype ? { dtype } : {}) };
}

function declaredDType(node: GraphNode): string | undefined {
	for (const name of ["dtype", "T", "out_type"]) {
		if (!hasAttr(node, name)) continue;
		try {
			return attrType(node, name);
		} catch {
			return undefined;
		}
	}
	return undefined;
}

/**
 * The TF1 loop frame each node runs in, from the graph's structure: Enter opens its `frame_name`, Exit leaves it,
 * other nodes run where their inputs run. Nested frames are written "outer > inner".
 */
export function loopFrames(nodes: GraphNode[], inView: ReadonlySet<string>): Map<string, string> {
	const byName = new Map(nodes.map((n) => [n.name, n]));
	const frames = new Map<string, string>();
	const visiting = new Set<string>();
	const frameOf = (start: GraphNode): string => {
		// Iterative depth-first walk: graphs can be far deeper than the call stack.
		const stack: GraphNode[] = [start];
		while (stack.length > 0) {
			const node = stack[stack.length - 1];
			if (frames.has(node.name)) {
				stack.pop();
				continue;
			}
			visiting.add(node.name);
			const sources = [...node.inputs.map((r) => r.node), ...node.controlInputs]
				.filter((s) => inView.has(s) && byName.has(s) && !visiting.has(s));
			// A Merge's NextIteration input closes the loop: resolve its Enter input first.
			const pending = sources.filter((s) => !frames.has(s)).sort((a, b) => Number(byName.get(a)!.op.endsWith("NextIteration")) - Number(byName.get(b)!.op.endsWith("NextIteration")));
			if (pending.length > 0 && (node.op !== "Merge" || sources.every((s) => !frames.has(s)))) {
				// A Merge needs only one resolved input.
				stack.push(byName.get(pending[0])!);
				continue;
			}
			// Inputs from outside any loop (constants) must not pull a loop node out of its frame: take the deepest.
			const parent = sources.map((s) => frames.get(s) ?? "").reduce((deepest, f) => (f.length > deepest.length ? f : deepest), "");
			frames.set(node.name, frameFor(node, parent));
			visiting.delete(node.name);
			stack.pop();
		}
		return frames.get(start.name)!;
	};
	for (const node of nodes) frameOf(node);
	return frames;
}

function frameFor(node: GraphNode, parent: string): string {
	if (node.op === "Enter" || node.op === "RefEnter") {
		let name = "";
		try {
			name = attrString(node, "frame_name");
		} catch {
			name = node.name;
		}
		return parent === "" ? name : `${parent} > ${name}`;
	}
	if (node.op === "Exit" || node.op === "RefExit") {
		const cut = parent.lastIndexOf(" > ");
		return cut < 0 ? "" : parent.slice(0, cut);
	}
	return parent;
}
