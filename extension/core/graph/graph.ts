import { type AttrValue, type GraphDef, type NodeDef, has } from "./attr";
import { type DType, type Tensor, dtypeFromEnum, dtypeToEnum, shapeFromProto, tensorFromProto, tensorToProto } from "./tensor";
import { codedError } from "../util/errors";

/** One output of a node, written `name` (output 0) or `name:N` in TensorFlow. */
export interface TensorRef {
	node: string;
	index: number;
}

export function refKey(ref: TensorRef): string {
	return ref.index === 0 ? ref.node : `${ref.node}:${ref.index}`;
}

/** Parses `name`, `name:N` (output N) or `^name` (control input) as written in NodeDef.input and configs. */
export function parseInputName(text: string): { ref: TensorRef; control: boolean } {
	const control = text.startsWith("^");
	const body = control ? text.slice(1) : text;
	const match = /^(.*):(\d+)$/.exec(body);
	if (match && !control) return { ref: { node: match[1], index: Number(match[2]) }, control };
	return { ref: { node: body, index: 0 }, control };
}

export class GraphError extends codedError("graph", "GraphError") {}

/** A node of the IR: NodeDef with inputs split into data and control edges. */
export interface GraphNode {
	name: string;
	op: string;
	inputs: TensorRef[];
	controlInputs: string[];
	device: string;
	attr: Record<string, AttrValue>;
}

/** Immutable view of a GraphDef with TensorFlow's naming semantics and typed attribute access. */
export class Graph {
	readonly nodes: GraphNode[];
	private readonly byName = new Map<string, GraphNode>();
	private consumerIndex?: Map<string, GraphNode[]>;

	constructor(nodes: GraphNode[], readonly producer = 0) {
		this.nodes = nodes;
		for (const node of nodes) {
			if (this.byName.has(node.name)) throw new GraphError(`duplicate node name "${node.name}"`);
			this.byName.set(node.name, node);
		}
	}

	static fromGraphDef(def: GraphDef): Graph {
		const nodes = (def.node ?? []).map((n, i) => {
			if (!n.name) throw new GraphError(`node #${i} has no name`);
			if (!n.op) throw new GraphError(`node "${n.name}" has no op`);
			return nodeFromDef(n);
		});
		return new Graph(nodes, def.versions?.producer ?? 0);
	}

	has(name: string): boolean {
		return this.byName.has(name);
	}

	get(name: string): GraphNode | undefined {
		return this.byName.get(name);
	}

	node(name: string): GraphNode {
		const node = this.byName.get(name);
		if (!node) throw new GraphError(`the graph has no node named "${name}"`);
		return node;
	}

	/** Nodes that read any output of `name`, through data or control edges. */
	consumers(name: string): GraphNode[] {
		if (!this.consumerIndex) {
			this.consumerIndex = new Map();
			for (const node of this.nodes) {
				const sources = new Set([...node.inputs.map((r) => r.node), ...node.controlInputs]);
				for (const source of sources) {
					let list = this.consumerIndex.get(source);
					if (!list) this.consumerIndex.set(source, (list = []));
					list.push(node);
				}
			}
		}
		return this.consumerIndex.get(name) ?? [];
	}

	toGraphDef(): GraphDef {
		return {
			node: this.nodes.map((n) => ({
				name: n.name,
				op: n.op,
				input: [...n.inputs.map(refKey), ...n.controlInputs.map((c) => `^${c}`)],
				device: n.device,
				attr: n.attr,
			})),
			versions: { producer: this.producer },
		};
	}

	/** Names of every node the given nodes depend on (data and control), themselves included, not looking past `stopAt`. */
	ancestors(roots: Iterable<string>, stopAt?: ReadonlySet<string>): Set<string> {
		const seen = new Set<string>();
		const stack = [...roots];
		while (stack.length > 0) {
			const name = stack.pop()!;
			if (seen.has(name)) continue;
			const node = this.node(name);
			seen.add(name);
			if (stopAt?.has(name)) continue;
			for (const r of node.inputs) stack.push(r.node);
			for (const c of node.controlInputs) stack.push(c);
		}
		return seen;
	}

	/**
	 * A cycle among the given nodes that is not a TF1 while loop (whose back edges all go NextIteration -> Merge), as
	 * the names along it, first repeated last; undefined when there is none. Fed nodes do not read their inputs.
	 */
	findCycle(names: ReadonlySet<string>, fed: ReadonlySet<string> = new Set()): string[] | undefined {
		const state = new Map<string, "open" | "done">();
		for (const root of names) {
			if (state.has(root)) continue;
			const path: string[] = [];
			const stack: { name: string; next: string[] }[] = [];
			const enter = (name: string) => {
				state.set(name, "open");
				path.push(name);
				const node = this.node(name);
				const sources = fed.has(name) ? [] : [...node.inputs.map((r) => r.node), ...node.controlInputs];
				// Only NextIteration -> Merge closes a loop; a cycle through a NextIteration anywhere else never runs.
				const merge = /^(Ref)?Merge$/.test(node.op);
				stack.push({ name, next: sources.filter((s) => names.has(s) && !(merge && /^(Ref)?NextIteration$/.test(this.node(s).op))) });
			};
			enter(root);
			while (stack.length > 0) {
				const top = stack[stack.length - 1];
				const source = top.next.pop();
				if (source === undefined) {
					state.set(top.name, "done");
					stack.pop();
					path.pop();
				} else if (state.get(source) === "open") {
					return [...path.slice(path.indexOf(source)), source].reverse();
				} else if (!state.has(source)) {
					enter(source);
				}
			}
		}
		return undefined;
	}

	/** The subgraph of the given node names, in the original order. */
	subgraph(keep: Set<string>): Graph {
		return new Graph(this.nodes.filter((n) => keep.has(n.name)), this.producer);
	}
}

export function nodeFromDef(def: NodeDef): GraphNode {
	const inputs: TensorRef[] = [];
	const controlInputs: string[] = [];
	for (const text of def.input ?? []) {
		const { ref, control } = parseInputName(text);
		if (control) controlInputs.push(ref.node);
		else inputs.push(ref);
	}
	return { name: def.name, op: def.op, inputs, controlInputs, device: def.device ?? "", attr: def.attr ?? {} };
}

/** A Const node holding `value`. */
export function constNode(name: string, value: Tensor): GraphNode {
	const attr: Record<string, AttrValue> = {
		dtype: { type: dtypeToEnum(value.dtype) },
		value: { tensor: tensorToProto(value) },
	};
	return { name, op: "Const", inputs: [], controlInputs: [], device: "", attr };
}

// Typed attribute access. Every error names the node and attribute so a user can find it.

function attrOf(node: GraphNode, name: string): AttrValue | undefined {
	return node.attr[name];
}

function missing(node: GraphNode, name: string, kind: string): GraphError {
	return new GraphError(`node "${node.name}" (${node.op}): attribute "${name}" is missing or not ${kind}`);
}

export function hasAttr(node: GraphNode, name: string): boolean {
	return attrOf(node, name) !== undefined;
}

export function attrInt(node: GraphNode, name: string, fallback?: number): number {
	const a = attrOf(node, name);
	if (a && has(a, "i")) return Number(a.i);
	if (fallback !== undefined) return fallback;
	throw missing(node, name, "an integer");
}

export function attrFloat(node: GraphNode, name: string, fallback?: number): number {
	const a = attrOf(node, name);
	if (a && has(a, "f")) return Number(a.f);
	if (fallback !== undefined) return fallback;
	throw missing(node, name, "a float");
}

export function attrBool(node: GraphNode, name: string, fallback?: boolean): boolean {
	const a = attrOf(node, name);
	if (a && has(a, "b")) return Boolean(a.b);
	if (fallback !== undefined) return fallback;
	throw missing(node, name, "a bool");
}

export function attrString(node: GraphNode, name: string, fallback?: string): string {
	const a = attrOf(node, name);
	if (a && has(a, "s")) return new TextDecoder().decode(a.s);
	if (fallback !== undefined) return fallback;
	throw missing(node, name, "a string");
}

export function attrType(node: GraphNode, name: string, fallback?: DType): DType {
	const a = attrOf(node, name);
	if (a && has(a, "type")) return dtypeFromEnum(Number(a.type), `node "${node.name}" attribute "${name}"`);
	if (fallback !== undefined) return fallback;
	throw missing(node, name, "a data type");
}

/** A shape attribute: undefined when absent or of unknown rank, -1 for unknown dimensions. */
export function attrShape(node: GraphNode, name: string): number[] | undefined {
	const a = attrOf(node, name);
	if (!a || !has(a, "shape")) return undefined;
	return shapeFromProto(a.shape);
}

export function attrTensor(node: GraphNode, name: string): Tensor {
	const a = attrOf(node, name);
	if (!a || !has(a, "tensor")) throw missing(node, name, "a tensor");
	return tensorFromProto(a.tensor!, `node "${node.name}" attribute "${name}"`);
}

export function attrInts(node: GraphNode, name: string, fallback?: number[]): number[] {
	const a = attrOf(node, name);
	if (a && has(a, "list")) return (a.list!.i ?? []).map(Number);
	if (fallback !== undefined) return fallback;
	throw missing(node, name, "a list of integers");
}

export function attrFloats(node: GraphNode, name: string, fallback?: number[]): number[] {
	const a = attrOf(node, name);
	if (a && has(a, "list")) return (a.list!.f ?? []).map(Number);
	if (fallback !== undefined) return fallback;
	throw missing(node, name, "a list of floats");
}

export function attrTypes(node: GraphNode, name: string): DType[] {
	const a = attrOf(node, name);
	if (!a || !has(a, "list")) return [];
	return (a.list!.type ?? []).map((t) => dtypeFromEnum(Number(t), `node "${node.name}" attribute "${name}"`));
}

/** The `_output_shapes` hint TF1 writes into graphs (undefined where absent). */
export function outputShapeHints(node: GraphNode): (number[] | undefined)[] | undefined {
	const a = attrOf(node, "_output_shapes");
	if (!a || !has(a, "list")) return undefined;
	return (a.list!.shape ?? []).map(shapeFromProto);
}
