import { type GraphNode, nodeFromDef } from "../../extension/core/graph/graph";
import { type DType, type Tensor, makeTensor } from "../../extension/core/graph/tensor";
import type { AttrValue, GraphDef, NodeDef } from "../../extension/core/frontends/tf/proto/types";
import { irAttr } from "../../extension/core/graph/irAttr";

/** AttrValue constructors, spelled like the AttrValue oneof fields. */
export const attr = irAttr;

/** `name:index`, TensorFlow's spelling of a node's output other than the first. */
export function out(name: string, index: number): string {
	return index === 0 ? name : `${name}:${index}`;
}

/**
 * Builds GraphDefs for tests in the plain-object form the proto decoder produces. Each method returns the
 * new node's name so it can be passed straight on as an input.
 */
export class GraphBuilder {
	private readonly nodes: NodeDef[] = [];
	private readonly names = new Set<string>();

	placeholder(name: string, dtype: DType, shape?: readonly number[]): string {
		const a: Record<string, AttrValue> = { dtype: attr.type(dtype) };
		if (shape !== undefined) a.shape = attr.shape(shape);
		return this.add({ name, op: "Placeholder", input: [], attr: a });
	}

	const(name: string, value: Tensor): string {
		return this.add({ name, op: "Const", input: [], attr: { dtype: attr.type(value.dtype), value: attr.tensor(value) } });
	}

	/** A constant from plain numbers: a vector unless `shape` says otherwise (`[]` for a scalar). */
	constOf(name: string, dtype: DType, values: readonly number[], shape: readonly number[] = [values.length]): string {
		return this.const(name, makeTensor(dtype, shape, values));
	}

	/** Adds a node; `control` lists nodes this one waits for (TensorFlow's `^name` inputs). */
	op(op: string, name: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, control: readonly string[] = []): string {
		return this.add({ name, op, input: [...inputs, ...control.map((c) => `^${c}`)], attr: { ...attrs } });
	}

	def(): GraphDef {
		return { node: this.nodes.map((n) => ({ ...n, input: [...n.input], attr: { ...n.attr } })), versions: { producer: 27 } };
	}

	nodeDef(name: string): NodeDef {
		const node = this.nodes.find((n) => n.name === name);
		if (!node) throw new Error(`the builder has no node named "${name}"`);
		return node;
	}

	/** The IR node the interpreter's kernels receive. */
	node(name: string): GraphNode {
		return nodeFromDef(this.nodeDef(name));
	}

	private add(def: NodeDef): string {
		if (this.names.has(def.name)) throw new Error(`the builder already has a node named "${def.name}"`);
		this.names.add(def.name);
		this.nodes.push(def);
		return def.name;
	}
}
