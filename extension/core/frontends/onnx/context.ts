// The TranslateContext translators see (translator.ts): one per ONNX node, over the driver's graph under construction.
import type { AttrValue } from "../../graph/attr";
import { type GraphNode, parseInputName } from "../../graph/graph";
import type { DType, Tensor } from "../../graph/tensor";
import { constNode } from "../../graph/graph";
import { ModelLoadError } from "../model";
import { type NameAllocator, irNodeName } from "./names";
import type { OnnxAttribute, OnnxNode, TranslateContext } from "./translator";
import { type TensorValues, UnknownTensorError } from "./values";

/** What a context needs of the driver. */
export interface GraphUnderConstruction {
	file: string;
	names: NameAllocator;
	values: TensorValues;
	/** Appends an IR node (already run). */
	append(node: GraphNode): void;
	/** The IR tensor an ONNX tensor name is bound to; throws naming the producer when it is unbound. */
	resolve(onnxTensor: string, reader: OnnxNode): string;
	bind(onnxTensor: string, irTensor: string): void;
}

export class NodeContext implements TranslateContext {
	readonly inputCount: number;

	constructor(readonly node: OnnxNode, readonly opset: number, private readonly graph: GraphUnderConstruction) {
		this.inputCount = node.inputs.length;
	}

	fail(detail: string): never {
		throw new ModelLoadError(`${this.graph.file}: node "${this.node.name}" (${this.node.opType}, opset ${this.opset}): ${detail}`);
	}

	has(index: number): boolean {
		return index < this.node.inputs.length && this.node.inputs[index] !== "";
	}

	input(index: number): string {
		if (!this.has(index)) this.fail(`input ${index} is required but not given; the model is not valid ONNX`);
		return this.graph.resolve(this.node.inputs[index], this.node);
	}

	shape(index: number): number[] {
		return [...this.graph.values.get(this.input(index)).shape];
	}

	dtype(index: number): DType {
		return this.graph.values.get(this.input(index)).dtype;
	}

	constant(index: number): Tensor | undefined {
		const known = this.graph.values.get(this.input(index));
		return known.constant ? known.value : undefined;
	}

	private attr(name: string): OnnxAttribute | undefined {
		return this.node.attributes.get(name);
	}

	private missing(name: string, kind: string): never {
		return this.fail(`attribute "${name}" is missing or not ${kind}`);
	}

	hasAttr(name: string): boolean {
		return this.node.attributes.has(name);
	}

	attrInt(name: string, fallback?: number): number {
		const a = this.attr(name);
		if (a?.i !== undefined) return a.i;
		if (a === undefined && fallback !== undefined) return fallback;
		return this.missing(name, "an integer");
	}

	attrFloat(name: string, fallback?: number): number {
		const a = this.attr(name);
		if (a?.f !== undefined) return a.f;
		if (a?.i !== undefined) return a.i;
		if (a === undefined && fallback !== undefined) return fallback;
		return this.missing(name, "a float");
	}

	attrInts(name: string, fallback?: number[]): number[] {
		const a = this.attr(name);
		if (a?.ints !== undefined) return [...a.ints];
		if (a === undefined && fallback !== undefined) return [...fallback];
		return this.missing(name, "a list of integers");
	}

	attrFloats(name: string, fallback?: number[]): number[] {
		const a = this.attr(name);
		if (a?.floats !== undefined) return [...a.floats];
		if (a?.ints !== undefined) return [...a.ints];
		if (a === undefined && fallback !== undefined) return [...fallback];
		return this.missing(name, "a list of floats");
	}

	attrString(name: string, fallback?: string): string {
		const a = this.attr(name);
		if (a?.s !== undefined) return a.s;
		if (a === undefined && fallback !== undefined) return fallback;
		return this.missing(name, "a string");
	}

	attrTensor(name: string): Tensor {
		const a = this.attr(name);
		if (a?.t !== undefined) return a.t;
		return this.missing(name, "a tensor");
	}

	add(op: string, suffix: string, inputs: string[], attr: Record<string, AttrValue> = {}): string {
		const name = this.graph.names.take(irNodeName(`${this.node.name}/${suffix}`));
		const node: GraphNode = { name, op, inputs: inputs.map((text) => parseInputName(text).ref), controlInputs: [], device: "", attr };
		this.run(node);
		return name;
	}

	addConst(suffix: string, value: Tensor): string {
		const name = this.graph.names.take(irNodeName(`${this.node.name}/${suffix}`));
		this.run(constNode(name, value));
		return name;
	}

	private run(node: GraphNode): void {
		try {
			this.graph.values.run(node);
		} catch (error) {
			if (error instanceof ModelLoadError || error instanceof UnknownTensorError) throw error;
			const detail = error instanceof Error ? error.message : String(error);
			this.fail(`its IR node "${node.name}" (${node.op}) cannot run on the inputs' shapes: ${detail}`);
		}
		this.graph.append(node);
	}

	shapeOf(tensor: string): number[] {
		return [...this.graph.values.get(tensor).shape];
	}

	dtypeOf(tensor: string): DType {
		return this.graph.values.get(tensor).dtype;
	}

	output(index: number, tensor: string): void {
		if (index >= this.node.outputs.length) this.fail(`the translator binds output ${index}, but the node has ${this.node.outputs.length}`);
		if (this.node.outputs[index] !== "") this.graph.bind(this.node.outputs[index], tensor);
	}
}
