import type { Checkpoint } from "./checkpoint/bundle";
import { FUNCTIONAL_OPS, INLINE_ERROR_ATTR } from "./functions";
import type { MetaGraphDef } from "./proto/types";
import { savedVariableKeys } from "./savedObjects";
import type { AttrValue } from "../../graph/attr";
import { Graph, type GraphNode, type TensorRef, attrShape, attrString, attrType, constNode } from "../../graph/graph";
import { type Tensor, dtypeToEnum, formatShape } from "../../graph/tensor";
import { isVariable } from "../../ops/variables";
import { codedError } from "../../util/errors";

/** Raised when a graph cannot be frozen; names the variable or fetch and what to do. */
export class FreezeError extends codedError("freeze", "FreezeError") {}

const DT_RESOURCE = 20;
// Ops that hand a resource handle on unchanged; once the variable is a constant they hand its value on.
const HANDLE_PASS_THROUGH = new Set(["Identity", "IdentityN", "Enter", "Exit", "Switch", "Merge", "NextIteration", "RefIdentity", "Snapshot"]);

export interface FreezeResult {
	graph: Graph;
	/** Variables that became constants, with the checkpoint key each was read from. */
	frozen: { node: string; key: string; shape: number[] }[];
}

export interface FreezeOptions {
	/** The MetaGraphDef the graph came from: a TF2 SavedModel's object graph says which checkpoint key each variable has. */
	metaGraph?: MetaGraphDef;
}

/**
 * TensorFlow's convert_variables_to_constants: keeps only what the fetches need, turns every variable into a
 * Const holding the checkpoint's value, every ReadVariableOp into an Identity and every ResourceGather into a
 * GatherV2 on that constant, so initialisers and savers fall away and no resource handle is left.
 */
export function freezeGraph(graph: Graph, checkpoint: Checkpoint, fetches: readonly string[], options: FreezeOptions = {}): FreezeResult {
	if (fetches.length === 0) throw new FreezeError("name at least one fetch node: freezing keeps only what the fetches need");
	for (const fetch of fetches) {
		if (!graph.has(fetch)) throw new FreezeError(`fetch "${fetch}" names no node of the graph`);
	}
	const keep = graph.ancestors(fetches);
	assertSelfContained(graph, keep);
	const objectKeys = checkpoint.objectGraphKeys();
	const savedKeys = savedVariableKeys(options.metaGraph, checkpoint);
	const frozen: FreezeResult["frozen"] = [];
	const values = new Map<string, Tensor>();
	for (const name of keep) {
		const node = graph.node(name);
		if (!isVariable(node.op)) continue;
		const { key, value } = readVariable(node, checkpoint, savedKeys.get(name), objectKeys);
		frozen.push({ node: name, key, shape: value.shape });
		values.set(name, value);
	}
	const handles = new HandleTracer(graph);
	const nodes: GraphNode[] = [];
	for (const node of graph.nodes) {
		if (!keep.has(node.name)) continue;
		const value = values.get(node.name);
		if (value) {
			nodes.push(constNode(node.name, value));
			continue;
		}
		nodes.push(...freezeNode(node, handles, values));
	}
	return { graph: new Graph(nodes, graph.producer), frozen };
}

/** A graph whose fetches need a call the loader could not inline cannot become a plain GraphDef: FreezeError. */
export function assertSelfContained(graph: Graph, keep: ReadonlySet<string>): void {
	const problems: string[] = [];
	for (const name of keep) {
		const node = graph.node(name);
		const reason = node.attr[INLINE_ERROR_ATTR];
		if (reason?.s) problems.push(new TextDecoder().decode(reason.s));
		else if (FUNCTIONAL_OPS.has(node.op)) problems.push(`node "${name}" (${node.op}) runs a function that was not inlined; re-export the model with its function library`);
	}
	if (problems.length > 0) throw new FreezeError(`the graph cannot be made self-contained:\n${problems.slice(0, 10).join("\n")}${problems.length > 10 ? `\n... and ${problems.length - 10} more` : ""}`);
}

function freezeNode(node: GraphNode, handles: HandleTracer, values: ReadonlyMap<string, Tensor>): GraphNode[] {
	const variableOf = (ref: TensorRef | undefined): string | undefined => (ref ? handles.variable(ref) : undefined);
	const dtypeOf = (variable: string | undefined) => (variable ? values.get(variable)?.dtype : undefined);
	switch (node.op) {
		case "ReadVariableOp":
			return [{ ...node, op: "Identity", attr: { T: node.attr.dtype } }];
		case "ResourceGather": {
			if (!variableOf(node.inputs[0])) break;
			const axis = constNode(`${node.name}/axis`, { dtype: "int32", shape: [], data: new Int32Array([0]) });
			const attr: Record<string, AttrValue> = { Tparams: node.attr.dtype, Tindices: node.attr.Tindices, Taxis: { type: dtypeToEnum("int32") } };
			if (node.attr.batch_dims) attr.batch_dims = node.attr.batch_dims;
			return [axis, { ...node, op: "GatherV2", inputs: [node.inputs[0], node.inputs[1], { node: axis.name, index: 0 }], attr }];
		}
		case "VarIsInitializedOp":
			// A variable restored from a checkpoint is initialised.
			return [{ ...constNode(node.name, { dtype: "bool", shape: [], data: new Uint8Array([1]) }), controlInputs: [] }];
	}
	if (HANDLE_PASS_THROUGH.has(node.op)) {
		const retyped = retypeHandles(node, (index) => dtypeOf(variableOf(node.op === "IdentityN" ? node.inputs[index] : node.inputs[0])));
		if (retyped) return [retyped];
	}
	const variable = node.inputs.map(variableOf).find((v) => v !== undefined);
	if (variable) {
		throw new FreezeError(`node "${node.name}" (${node.op}) uses variable "${variable}" in a way a frozen graph cannot (only reads and gathers become constants); fetch tensors that do not depend on it`);
	}
	return [node];
}

/** The node with each resource-typed T replaced by the type of the variable it carries, or undefined if T has none. */
function retypeHandles(node: GraphNode, dtypeAt: (index: number) => Tensor["dtype"] | undefined): GraphNode | undefined {
	const t = node.attr.T;
	if (!t) return undefined;
	// Handles of other resources (TensorArrays) stay as they are.
	const replace = (type: number, index: number): number => {
		const dtype = type === DT_RESOURCE ? dtypeAt(index) : undefined;
		return dtype ? dtypeToEnum(dtype) : type;
	};
	if (t.list?.type && t.list.type.some((type) => Number(type) === DT_RESOURCE)) {
		return { ...node, attr: { ...node.attr, T: { list: { type: t.list.type.map((type, i) => replace(Number(type), i)) } } } };
	}
	if (t.type !== undefined && Number(t.type) === DT_RESOURCE) return { ...node, attr: { ...node.attr, T: { type: replace(DT_RESOURCE, 0) } } };
	return undefined;
}

/** Follows resource handles back through Identity, loop and branch plumbing to the VarHandleOp they came from. */
class HandleTracer {
	private readonly memo = new Map<string, string | undefined>();

	constructor(private readonly graph: Graph) {}

	variable(start: TensorRef): string | undefined {
		// An explicit stack instead of recursion: a handle can pass through a chain deeper than the call stack.
		const keyOf = (ref: TensorRef) => `${ref.node}:${ref.index}`;
		const visiting = new Set<string>();
		const stack: { key: string; sources: (TensorRef | undefined)[]; next: number }[] = [];
		// Settles `ref` at once when it can (known, a variable, not a handle, on a cycle), else opens it on the stack.
		const open = (ref: TensorRef): { found: string | undefined } | undefined => {
			const key = keyOf(ref);
			if (this.memo.has(key)) return { found: this.memo.get(key) };
			if (visiting.has(key)) return { found: undefined };
			visiting.add(key);
			const node = this.graph.get(ref.node);
			if (node?.op === "VarHandleOp") {
				this.memo.set(key, node.name);
				return { found: node.name };
			}
			if (!node || !HANDLE_PASS_THROUGH.has(node.op) || !isHandle(node)) {
				this.memo.set(key, undefined);
				return { found: undefined };
			}
			// A Merge's inputs are the loop entry and the next iteration: any one that reaches a variable names it.
			const sources = node.op === "IdentityN" ? [node.inputs[ref.index]] : node.op === "Merge" ? node.inputs : [node.inputs[0]];
			stack.push({ key, sources, next: 0 });
			return undefined;
		};
		let settled = open(start);
		while (stack.length > 0) {
			const top = stack[stack.length - 1];
			if (settled?.found !== undefined || top.next === top.sources.length) {
				const found = settled?.found;
				this.memo.set(top.key, found);
				stack.pop();
				settled = { found };
				continue;
			}
			const source = top.sources[top.next++];
			settled = source ? open(source) : { found: undefined };
		}
		return settled?.found;
	}
}

function isHandle(node: GraphNode): boolean {
	const t = node.attr.T;
	return (t?.type !== undefined && Number(t.type) === DT_RESOURCE) || (t?.list?.type ?? []).some((type) => Number(type) === DT_RESOURCE);
}

function readVariable(node: GraphNode, checkpoint: Checkpoint, savedKey: string | undefined, objectKeys: Map<string, string> | undefined): { key: string; value: Tensor } {
	const sharedName = attrString(node, "shared_name", "");
	const candidates = [node.name, sharedName].filter((c) => c !== "");
	const key = savedKey ?? candidates.map((c) => objectKeys?.get(c) ?? c).find((c) => checkpoint.entry(c) !== undefined);
	if (key === undefined || checkpoint.entry(key) === undefined) {
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
