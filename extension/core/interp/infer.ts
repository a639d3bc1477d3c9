import { foldingOf } from "../ops/table";
import { runGraph } from "./executor";
import { Graph, type GraphNode, type TensorRef, attrBool, attrShape, attrType, constNode, refKey } from "../graph/graph";
import { type DType, type Tensor, allocate, dtypeByteSize, shapeSize } from "../graph/tensor";
import { BudgetError, checkTotal, withWorkMeter } from "../util/budget";

/** What is known statically about one tensor of the graph. */
export interface TensorInfo {
	dtype: DType;
	/** -1 where the dimension changes between loop iterations. */
	shape: number[];
	/** Set when the value does not depend on any feed's values (only on their shapes). */
	value?: Tensor;
}

export interface Inference {
	tensors: Map<string, TensorInfo>;
	/** Number of outputs each executed node produced. */
	outputCounts: Map<string, number>;
	/** Root-frame nodes whose values are static, i.e. foldable to constants. */
	staticNodes: Set<string>;
	/** The loop frame each executed node ran in, as a path of frame names ("" for the root). */
	frameOf: Map<string, string>;
	/** For each loop frame path, the distinct numbers of body iterations its instances ran. */
	tripCounts: Map<string, Set<number>>;
}

/** A frame instance key without its iteration numbers: "/outer#3/inner" -> "/outer/inner". */
export function framePath(instanceKey: string): string {
	return instanceKey.replace(/#\d+/g, "");
}

export interface FeedSpec {
	ref: TensorRef;
	shape: number[];
	dtype?: DType;
}


/** The dtype a feed must have: its own declaration, else the placeholder's. */
export function feedDType(graph: Graph, feed: FeedSpec): DType {
	if (feed.dtype) return feed.dtype;
	const node = graph.node(feed.ref.node);
	return node.op.startsWith("Placeholder") || node.attr.dtype ? attrType(node, "dtype", "float32") : "float32";
}

/**
 * Infers every tensor's shape and dtype by running the graph once on zeros of the feed shapes, and records the
 * values of everything static. Running the real kernels keeps inference and execution from ever disagreeing.
 */
export function inferGraph(graph: Graph, feeds: readonly FeedSpec[], fetches: readonly TensorRef[]): Inference {
	// One work budget for every run the inference makes (zeros, ones, both branches).
	return withWorkMeter(() => {
		const tensors = new Map<string, TensorInfo>();
		const outputCounts = new Map<string, number>();
		const frameOf = new Map<string, string>();
		const feedMap = new Map<string, Tensor>();
		for (const feed of feeds) {
			const dtype = feedDType(graph, feed);
			feedMap.set(refKey(feed.ref), { dtype, shape: feed.shape, data: allocate(dtype, shapeSize(feed.shape)) });
		}
		const fedNodes = new Set(feeds.map((f) => f.ref.node));
		const staticNodes = new Set<string>();
		const trips = new Map<string, number>();

		// The op table says what a value depends on: its inputs' values, their shapes only (Shape, ZerosLike), or more.
		const isStatic = (node: GraphNode, frame: string): boolean => {
			if (frame !== "" || fedNodes.has(node.name)) return false;
			if (node.controlInputs.some((c) => !staticNodes.has(c))) return false;
			if (node.op === "TensorArraySizeV3") {
				// A fixed-size TensorArray's size is what it was created with, whatever was written to it.
				const array = graph.node(node.inputs[0].node);
				return array.op === "TensorArrayV3" && !attrBool(array, "dynamic_size", false) && staticNodes.has(array.inputs[0].node);
			}
			const folding = foldingOf(node.op);
			if (folding === "shapes") return true;
			return folding === "inputs" && node.inputs.every((r) => staticNodes.has(r.node));
		};

		const live = new Set<string>();
		// Folded values stay alive for the whole compile, so together they must fit the memory budget.
		const keptData = new Set<unknown>();
		let keptBytes = 0;
		const keep = (node: GraphNode, value: Tensor) => {
			if (keptData.has(value.data)) return;
			keptData.add(value.data);
			keptBytes += value.data.length * Math.max(1, dtypeByteSize(value.dtype));
			checkTotal(keptBytes, `the constant values up to node "${node.name}" (${node.op}), the weights and what folds from them,`);
		};
		const record = (node: GraphNode, outputs: readonly (Tensor | undefined)[], folded: boolean, mergeShapesSeen: boolean) => {
			if (outputs.some((v) => v !== undefined)) live.add(node.name);
			outputs.forEach((value, index) => {
				if (!value || value.dtype === "resource") return;
				const key = refKey({ node: node.name, index });
				const known = tensors.get(key);
				if (!known) {
					if (folded) keep(node, value);
					tensors.set(key, { dtype: value.dtype, shape: [...value.shape], value: folded ? value : undefined });
				} else if (mergeShapesSeen) {
					known.shape = mergeShapes(known.shape, value.shape);
				}
			});
		};

		const firstRun = (feedValues: Map<string, Tensor>) => runGraph(graph, feedValues, fetches, {
			onNodeOutputs(node, outputs, _iteration, frame) {
				frameOf.set(node.name, framePath(frame));
				if (node.op === "LoopCond" && outputs[0]?.data[0]) trips.set(frame.replace(/#\d+$/, ""), (trips.get(frame.replace(/#\d+$/, "")) ?? 0) + 1);
				outputCounts.set(node.name, Math.max(outputCounts.get(node.name) ?? 0, outputs.length));
				const folded = isStatic(node, frame);
				if (folded) staticNodes.add(node.name);
				record(node, outputs, folded, true);
			},
		});
		try {
			firstRun(feedMap);
		} catch (error) {
			// Over the budget is not a value zeros trip: report it instead of spending the time a second time.
			if (error instanceof BudgetError) throw error;
			// Zeros trip kernels that check values (an integer division, Range's delta): ones stand in for the feeds then.
			// Static values never read the feeds; a shape that does (Range over a fed limit) was never static to the compiler.
			for (const map of [tensors, outputCounts, frameOf, trips]) map.clear();
			staticNodes.clear();
			live.clear();
			keptData.clear();
			keptBytes = 0;
			for (const [key, zeros] of feedMap) feedMap.set(key, onesLike(zeros));
			try {
				firstRun(feedMap);
			} catch {
				throw error;
			}
		}
		// The side of a tf.cond the zero feeds did not take still needs shapes for the compiler: run once more with
		// both sides live, adding only what the first run never saw.
		const needed = graph.ancestors(fetches.map((f) => f.node), fedNodes);
		const unseen = [...needed].some((name) => !live.has(name) && !fedNodes.has(name) && graph.node(name).op !== "NoOp");
		if (unseen && graph.nodes.some((n) => n.op === "Switch" && frameOf.get(n.name) === "")) {
			try {
				runGraph(graph, feedMap, fetches, {
					bothBranches: true,
					onNodeOutputs(node, outputs, _iteration, frame) {
						if (live.has(node.name) || frame !== "") return;
						frameOf.set(node.name, "");
						outputCounts.set(node.name, Math.max(outputCounts.get(node.name) ?? 0, outputs.length));
						record(node, outputs, false, false);
					},
				});
			} catch {
				// What the second run could not reach stays unknown; the compiler names it if it needs it.
			}
		}
		const tripCounts = new Map<string, Set<number>>();
		for (const [instance, count] of trips) {
			const path = framePath(instance);
			if (!tripCounts.has(path)) tripCounts.set(path, new Set());
			tripCounts.get(path)!.add(count);
		}
		return { tensors, outputCounts, staticNodes, frameOf, tripCounts };
	});
}

function onesLike(zeros: Tensor): Tensor {
	const data = allocate(zeros.dtype, shapeSize(zeros.shape));
	if (ArrayBuffer.isView(data)) (data as Float32Array).fill(1);
	return { dtype: zeros.dtype, shape: zeros.shape, data };
}

function mergeShapes(a: number[], b: number[]): number[] {
	if (a.length !== b.length) return a.map(() => -1);
	return a.map((d, i) => (d === b[i] ? d : -1));
}

/** The placeholder's declared shape, where the graph declares one. */
export function declaredShape(node: GraphNode): number[] | undefined {
	return attrShape(node, "shape");
}

/**
 * Replaces every static, single-output root-frame node with a Const of its value and drops what no longer
 * feeds the fetches (or is in `keep`: the feeds, which stay in the API even when folding leaves them unread), so shape
 * arithmetic (Shape, StridedSlice, Pack, Range, Fill, ZerosLike, ...) disappears.
 */
export function foldConstants(graph: Graph, inference: Inference, fetches: readonly TensorRef[], keep: readonly string[] = []): Graph {
	const nodes = graph.nodes.map((node) => {
		if (node.op === "Const" || !inference.staticNodes.has(node.name) || inference.outputCounts.get(node.name) !== 1) return node;
		const value = inference.tensors.get(node.name)?.value;
		return value ? constNode(node.name, value) : node;
	});
	const folded = new Graph(nodes, graph.producer);
	return folded.subgraph(folded.ancestors([...fetches.map((f) => f.node), ...keep]));
}
