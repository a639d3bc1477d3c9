import type { Checkpoint } from "./checkpoint/bundle";
import { Graph, type GraphNode, attrShape, attrString, attrType, constNode } from "../../graph/graph";
import { type Tensor, formatShape } from "../../graph/tensor";

/** Raised when a graph cannot be frozen; names the variable or fetch and what to do. */
export class FreezeError extends Error {}

const VARIABLES = new Set(["VariableV2", "Variable", "VarHandleOp"]);

export interface FreezeResult {
	graph: Graph;
	/** Variables that became constants, with the checkpoint key each was read from. */
	frozen: { node: string; key: string; shape: number[] }[];
}

/**
 * TensorFlow's convert_variables_to_constants: keeps only what the fetches need, turns every variable into a
 * Const holding the checkpoint's value and every ReadVariableOp into an Identity, so initialisers and savers fall away.
 */
export function freezeGraph(graph: Graph, checkpoint: Checkpoint, fetches: readonly string[]): FreezeResult {
	if (fetches.length === 0) throw new FreezeError("name at least one fetch node: freezing keeps only what the fetches need");
	for (const fetch of fetches) {
		if (!graph.has(fetch)) throw new FreezeError(`fetch "${fetch}" names no node of the graph`);
	}
	const keep = graph.ancestors(fetches);
	const objectKeys = checkpoint.objectGraphKeys();
	const frozen: FreezeResult["frozen"] = [];
	const nodes = graph.nodes.filter((n) => keep.has(n.name)).map((node): GraphNode => {
		if (VARIABLES.has(node.op)) {
			const { key, value } = readVariable(node, checkpoint, objectKeys);
			frozen.push({ node: node.name, key, shape: value.shape });
			return constNode(node.name, value);
		}
		if (node.op === "ReadVariableOp") {
			return { ...node, op: "Identity", attr: { T: node.attr.dtype } };
		}
		return node;
	});
	return { graph: new Graph(nodes, graph.producer), frozen };
}

function readVariable(node: GraphNode, checkpoint: Checkpoint, objectKeys: Map<string, string> | undefined): { key: string; value: Tensor } {
	const sharedName = attrString(node, "shared_name", "");
	const candidates = [node.name, sharedName].filter((c) => c !== "");
	const key = candidates.map((c) => objectKeys?.get(c) ?? c).find((c) => checkpoint.entry(c) !== undefined);
	if (key === undefined) {
		throw new FreezeError(`variable "${node.name}" is not in checkpoint ${checkpoint.prefix} (it holds ${checkpoint.keys().length} tensors); is it the checkpoint this graph was trained with?`);
	}
	const value = checkpoint.read(key);
	const dtype = attrType(node, "dtype");
	if (value.dtype !== dtype) {
		throw new FreezeError(`variable "${node.name}" is ${dtype} in the graph but ${value.dtype} in checkpoint ${checkpoint.prefix}`);
	}
	const declared = attrShape(node, "shape");
	if (declared && (declared.length !== value.shape.length || declared.some((d, i) => d >= 0 && d !== value.shape[i]))) {
		throw new FreezeError(`variable "${node.name}" has shape ${formatShape(declared)} in the graph but ${formatShape(value.shape)} in checkpoint ${checkpoint.prefix}`);
	}
	return { key, value };
}
