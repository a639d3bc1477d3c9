// What an op translator sees of one TFLite operator: its input and output tensors (declared dtypes, shapes and
// quantization, constant buffers decoded), its options, and a way to add IR nodes. TFLite declares every tensor's
// shape, so nothing runs at load time: translators read shapes from the file.
import type { AttrValue } from "../../../graph/attr";
import { type GraphNode, constNode, parseInputName } from "../../../graph/graph";
import type { DType, Tensor } from "../../../graph/tensor";
import { makeTensor } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import { type TensorQuantization, setTensorQuantization } from "../../../quant/params";
import { ModelLoadError } from "../../model";
import type { OptionValue, TfliteOperator, TfliteTensor } from "../types";

/** What a context needs of the driver. */
export interface SubgraphUnderConstruction {
	file: string;
	tensors: readonly TfliteTensor[];
	/** The IR tensor holding TFLite tensor `index`, making a Const of its buffer on first read when it has one. */
	irTensor(index: number, reader: string): string;
	/** The constant value of TFLite tensor `index` (its buffer), or undefined when it is computed or fed. */
	constantValue(index: number): Tensor | undefined;
	/** The IR node name reserved for TFLite tensor `index` (its name, made a valid IR name and unique). */
	reservedName(index: number): string;
	/** A fresh IR node name based on `wanted`. */
	freshName(wanted: string): string;
	append(node: GraphNode): void;
	bind(index: number, irTensor: string): void;
}

/** One TFLite tensor's own quantization, when it has scales. */
export function tensorQuant(tensor: TfliteTensor): TensorQuantization | undefined {
	const q = tensor.quantization;
	if (!q || q.scale.length === 0) return undefined;
	return { scale: [...q.scale], zeroPoint: q.zeroPoint.length > 0 ? [...q.zeroPoint] : q.scale.map(() => 0), axis: q.quantizedDimension };
}

export class OpContext {
	private readonly pending: GraphNode[] = [];

	constructor(
		readonly graph: SubgraphUnderConstruction,
		readonly op: TfliteOperator,
		/** The operator's position in the subgraph, as errors name it. */
		readonly index: number,
		/** BuiltinOperator name, e.g. FULLY_CONNECTED. */
		readonly opName: string,
		readonly dtypeOf: (tensor: TfliteTensor) => DType,
	) {}

	fail(detail: string): never {
		throw new ModelLoadError(`${this.graph.file}: operator ${this.index} (${this.opName}${this.outputCount > 0 ? `, output "${this.outTensor(0).name}"` : ""}): ${detail}`);
	}

	get inputCount(): number {
		return this.op.inputs.length;
	}

	get outputCount(): number {
		return this.op.outputs.length;
	}

	has(i: number): boolean {
		return i < this.op.inputs.length && this.op.inputs[i] >= 0;
	}

	private inIndex(i: number): number {
		if (!this.has(i)) this.fail(`input ${i} is required but absent; the file is not a valid TFLite model`);
		return this.op.inputs[i];
	}

	/** TFLite input tensor i. */
	tensor(i: number): TfliteTensor {
		return this.graph.tensors[this.inIndex(i)];
	}

	outTensor(i: number): TfliteTensor {
		return this.graph.tensors[this.op.outputs[i]];
	}

	shape(i: number): number[] {
		return [...this.tensor(i).shape];
	}

	outShape(i = 0): number[] {
		return [...this.outTensor(i).shape];
	}

	dtype(i: number): DType {
		return this.dtypeOf(this.tensor(i));
	}

	outDtype(i = 0): DType {
		return this.dtypeOf(this.outTensor(i));
	}

	/** The IR tensor of input i. */
	input(i: number): string {
		return this.graph.irTensor(this.inIndex(i), `operator ${this.index} (${this.opName})`);
	}

	constant(i: number): Tensor | undefined {
		return this.has(i) ? this.graph.constantValue(this.op.inputs[i]) : undefined;
	}

	/** Input i's constant value; fails naming what it is when the input is computed. */
	requireConstant(i: number, what: string): Tensor {
		const value = this.constant(i);
		if (!value) this.fail(`its ${what} (input ${i}, "${this.tensor(i).name}") is computed at run time; Kernel NN needs it constant`);
		return value;
	}

	option(name: string, fallback: OptionValue): OptionValue {
		const value = this.op.builtinOptions[name];
		return value === undefined ? fallback : value;
	}

	num(name: string, fallback: number): number {
		return Number(this.option(name, fallback));
	}

	bool(name: string): boolean {
		return Boolean(this.option(name, false));
	}

	ints(name: string): number[] {
		const value = this.option(name, []);
		return Array.isArray(value) ? value.map(Number) : [];
	}

	/** Adds an IR node named `<output 0's name>/<suffix>` (made unique); returns its name. */
	add(op: string, suffix: string, inputs: string[], attr: Record<string, AttrValue> = {}): string {
		const base = this.outputCount > 0 ? this.graph.reservedName(this.op.outputs[0]) : this.opName;
		const name = this.graph.freshName(`${base}/${suffix}`);
		this.pending.push({ name, op, inputs: inputs.map((text) => parseInputName(text).ref), controlInputs: [], device: "", attr });
		return name;
	}

	addConst(suffix: string, value: Tensor, quant?: TensorQuantization): string {
		const base = this.outputCount > 0 ? this.graph.reservedName(this.op.outputs[0]) : this.opName;
		const node = constNode(this.graph.freshName(`${base}/${suffix}`), value);
		if (quant) setTensorQuantization(node.attr, quant);
		this.pending.push(node);
		return node.name;
	}

	ints32(suffix: string, values: readonly number[], shape: number[] = [values.length]): string {
		return this.addConst(suffix, makeTensor("int32", shape, values));
	}

	/**
	 * Binds output i to an IR tensor. When it is output 0 of a node this operator added, that node takes the output
	 * tensor's name (so configs and the inspector name nodes as the file names tensors); else an Identity does.
	 * The node producing a quantized tensor carries its `_quant_*` attributes.
	 */
	output(i: number, irTensor: string): void {
		const index = this.op.outputs[i];
		if (index === undefined || index < 0) return;
		const wanted = this.graph.reservedName(index);
		const ref = parseInputName(irTensor).ref;
		let node = ref.index === 0 ? this.pending.find((n) => n.name === ref.node) : undefined;
		if (node) {
			this.rename(node.name, wanted);
		} else {
			const dtype = this.outDtype(i);
			node = { name: wanted, op: "Identity", inputs: [ref], controlInputs: [], device: "", attr: { T: irAttr.type(dtype) } };
			this.pending.push(node);
		}
		const quant = tensorQuant(this.outTensor(i));
		if (quant && isQuantizedDtype(this.outDtype(i))) setTensorQuantization(node.attr, quant);
		this.graph.bind(index, wanted);
	}

	private rename(from: string, to: string): void {
		for (const node of this.pending) {
			if (node.name === from) node.name = to;
			for (const ref of node.inputs) if (ref.node === from) ref.node = to;
		}
	}

	/** Appends what the operator added, in order. */
	commit(): void {
		for (const node of this.pending) this.graph.append(node);
		this.pending.length = 0;
	}
}

export function isQuantizedDtype(dtype: DType): boolean {
	return dtype === "int8" || dtype === "uint8" || dtype === "int16" || dtype === "int32" || dtype === "int64";
}
