// The TFLite front end's driver: subgraph 0 of a flatbuffer -> IR graph. Subgraph inputs become Placeholders,
// buffers Consts (on first read), every operator goes through its translator (ops/index.ts) in file order. IR nodes
// are named by the TFLite tensors they produce (see onnx/names.ts for the one spelling change), so configs name
// tensors as the file does; float ops translate to TensorFlow's vocabulary, quantized ones to the Q ops.
import type { AttrValue } from "../../graph/attr";
import { Graph, GraphError, type GraphNode, constNode } from "../../graph/graph";
import { type DType, type Tensor, checkTensorSize, makeTensor, tensorFromBytes } from "../../graph/tensor";
import { BudgetError } from "../../util/budget";
import { irAttr } from "../../graph/irAttr";
import { setTensorQuantization } from "../../quant/params";
import { type LoadedModel, ModelLoadError, type SignatureTensor } from "../model";
import { NameAllocator, irNodeName } from "../onnx/names";
import { OpContext, type SubgraphUnderConstruction, isQuantizedDtype, tensorQuant } from "./ops/context";
import { TRANSLATORS, opName } from "./ops";
import { readTflite } from "./schema";
import { type TfliteModel, type TfliteSubgraph, type TfliteTensor, TensorType } from "./types";

const DTYPES: Partial<Record<TensorType, DType>> = {
	[TensorType.FLOAT32]: "float32", [TensorType.FLOAT16]: "float16", [TensorType.FLOAT64]: "float64", [TensorType.INT32]: "int32",
	[TensorType.UINT8]: "uint8", [TensorType.INT64]: "int64", [TensorType.BOOL]: "bool", [TensorType.INT16]: "int16",
	[TensorType.INT8]: "int8", [TensorType.UINT64]: "uint64", [TensorType.UINT32]: "uint32", [TensorType.UINT16]: "uint16",
};

/** The op the IR gives a TFLite operator no translator handles: the op table does not know it, so run and compile refuse it. */
export function opaqueTfliteOp(name: string): string {
	return `TFLite.${name}`;
}

/** Reads a `.tflite` file's bytes; `file` names it in errors. */
export function loadTfliteBytes(bytes: Uint8Array, file: string): LoadedModel {
	let model: TfliteModel;
	try {
		model = readTflite(bytes, file);
	} catch (error) {
		if (!(error instanceof ModelLoadError)) throw error;
		const detail = error.message.startsWith(`${file}: `) ? error.message.slice(file.length + 2) : error.message;
		throw new ModelLoadError(`${file}: looks like a TensorFlow Lite flatbuffer (identifier TFL3) but could not be read: ${detail}`);
	}
	return translateTfliteModel(model, file);
}

/** Translates a parsed TFLite model (its subgraph 0) into the IR. */
export function translateTfliteModel(model: TfliteModel, file: string): LoadedModel {
	const subgraph = model.subgraphs[0];
	if (!subgraph) throw new ModelLoadError(`${file}: the TFLite model has no subgraph`);
	try {
		return new Driver(file, model, subgraph).translate();
	} catch (error) {
		if (error instanceof GraphError) throw new ModelLoadError(`${file}: ${error.message}`);
		throw error;
	}
}

class Driver implements SubgraphUnderConstruction {
	readonly tensors: readonly TfliteTensor[];
	private readonly names = new NameAllocator();
	private readonly reserved: string[];
	private readonly nodes: GraphNode[] = [];
	private readonly bindings = new Map<number, string>();
	private readonly constants = new Map<number, Tensor | undefined>();

	constructor(readonly file: string, private readonly model: TfliteModel, private readonly subgraph: TfliteSubgraph) {
		this.tensors = subgraph.tensors;
		// Every tensor's name is taken first, so the nodes producing tensors get exactly them.
		this.reserved = subgraph.tensors.map((t, i) => this.names.take(irNodeName(t.name || `tensor_${i}`)));
	}

	reservedName(index: number): string {
		return this.reserved[index];
	}

	freshName(wanted: string): string {
		return this.names.take(wanted);
	}

	append(node: GraphNode): void {
		this.nodes.push(node);
	}

	bind(index: number, irTensor: string): void {
		this.bindings.set(index, irTensor);
	}

	dtypeOf(tensor: TfliteTensor): DType {
		const dtype = DTYPES[tensor.type];
		if (!dtype) throw new ModelLoadError(`${this.file}: tensor "${tensor.name}" is of type ${TensorType[tensor.type] ?? tensor.type}, which Kernel NN does not compute with (it reads float32, float16 weights, int8, uint8, int16, int32, int64 and bool tensors)`);
		return dtype;
	}

	constantValue(index: number): Tensor | undefined {
		if (this.constants.has(index)) return this.constants.get(index);
		const tensor = this.tensors[index];
		const data = tensor.buffer > 0 ? this.model.buffers[tensor.buffer] : undefined;
		let value: Tensor | undefined;
		if (data && data.length > 0) {
			const where = `${this.file}: tensor "${tensor.name}" (buffer ${tensor.buffer})`;
			const dtype = this.dtypeOf(tensor);
			try {
				value = tensorFromBytes(dtype, [...tensor.shape], data, where);
			} catch (error) {
				if (error instanceof BudgetError) throw error;
				throw new ModelLoadError(error instanceof Error ? error.message : String(error));
			}
			// float16 weights (a converter's float16 quantization) are widened, as the TF front end widens half tensors.
			if (dtype === "float16") value = { ...value, dtype: "float32", data: Float32Array.from(value.data as ArrayLike<number>) };
		} else if (tensor.isVariable) {
			// A variable tensor (an LSTM's state) starts at its buffer, or at zeros (the zero point when quantized).
			const dtype = this.dtypeOf(tensor);
			const zero = isQuantizedDtype(dtype) ? (tensor.quantization?.zeroPoint[0] ?? 0) : 0;
			const size = checkTensorSize(dtype, tensor.shape, `${this.file}: variable tensor "${tensor.name}"`);
			value = makeTensor(dtype, tensor.shape, new Array<number>(size).fill(zero));
		}
		this.constants.set(index, value);
		return value;
	}

	irTensor(index: number, reader: string): string {
		const bound = this.bindings.get(index);
		if (bound !== undefined) return bound;
		const tensor = this.tensors[index];
		if (!tensor) throw new ModelLoadError(`${this.file}: ${reader} reads tensor ${index}, but subgraph 0 has ${this.tensors.length} tensors`);
		const value = this.constantValue(index);
		if (!value) {
			throw new ModelLoadError(`${this.file}: ${reader} reads tensor "${tensor.name}", which no operator, buffer or subgraph input defines (operators must be in execution order)`);
		}
		const node = constNode(this.reservedName(index), value);
		const quant = tensorQuant(tensor);
		if (quant && isQuantizedDtype(value.dtype)) setTensorQuantization(node.attr, quant);
		this.nodes.push(node);
		this.bind(index, node.name);
		return node.name;
	}

	translate(): LoadedModel {
		if (this.model.subgraphs.length > 1) this.checkNoCalls();
		const inputs = this.subgraph.inputs.map((index) => this.addInput(index));
		const histogram = new Map<string, number>();
		this.subgraph.operators.forEach((op, index) => {
			const code = this.model.operatorCodes[op.opcodeIndex];
			if (!code) throw new ModelLoadError(`${this.file}: operator ${index} uses operator code ${op.opcodeIndex}, but the model lists ${this.model.operatorCodes.length}`);
			const name = opName(code.builtinCode, code.customCode);
			histogram.set(name, (histogram.get(name) ?? 0) + 1);
			const ctx = new OpContext(this, op, index, name, (t) => this.dtypeOf(t));
			const translate = TRANSLATORS.get(code.builtinCode);
			if (translate) translate(ctx);
			else this.addOpaque(ctx);
			ctx.commit();
			op.outputs.forEach((output) => {
				if (output >= 0 && !this.bindings.has(output)) ctx.fail(`its translation does not produce output "${this.tensors[output].name}"`);
			});
		});
		const outputs = this.subgraph.outputs.map((index) => this.describe(index, this.irTensor(index, "the subgraph's outputs")));
		return {
			file: this.file,
			format: "TFLite",
			graph: new Graph(this.nodes),
			graphInputs: inputs,
			graphOutputs: outputs,
			sourceOps: [...histogram].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op)),
		};
	}

	/** Other subgraphs are bodies of control flow (WHILE, IF, CALL_ONCE); subgraph 0 alone is the model only without them. */
	private checkNoCalls(): void {
		this.subgraph.operators.forEach((op, index) => {
			const code = this.model.operatorCodes[op.opcodeIndex];
			const name = code ? opName(code.builtinCode, code.customCode) : "?";
			if (/^(WHILE|IF|CALL|CALL_ONCE)$/.test(name)) {
				throw new ModelLoadError(`${this.file}: operator ${index} (${name}) runs another subgraph; Kernel NN reads TFLite models without control flow (convert with the loop unrolled, e.g. a fixed sequence length)`);
			}
		});
	}

	private describe(index: number, irTensor: string): SignatureTensor {
		const tensor = this.tensors[index];
		return { key: tensor.name, tensor: irTensor, dtype: DTYPES[tensor.type], shape: [...tensor.shape] };
	}

	private addInput(index: number): SignatureTensor {
		const tensor = this.tensors[index];
		const dtype = this.dtypeOf(tensor);
		const attr: Record<string, AttrValue> = { dtype: irAttr.type(dtype), shape: irAttr.shape(tensor.shape) };
		const quant = tensorQuant(tensor);
		if (quant && isQuantizedDtype(dtype)) setTensorQuantization(attr, quant);
		const name = this.reservedName(index);
		this.nodes.push({ name, op: "Placeholder", inputs: [], controlInputs: [], device: "", attr });
		this.bind(index, name);
		return this.describe(index, name);
	}

	/** An IR node the op table does not know, so `knn inspect` and the inspector list it and run/compile refuse it. */
	private addOpaque(ctx: OpContext): void {
		const inputs = ctx.op.inputs.map((_, i) => i).filter((i) => ctx.has(i)).map((i) => ctx.input(i));
		const attr: Record<string, AttrValue> = {};
		for (const [key, value] of Object.entries(ctx.op.builtinOptions)) {
			if (typeof value === "number") attr[key] = Number.isInteger(value) ? irAttr.i(value) : irAttr.f(value);
			else if (typeof value === "boolean") attr[key] = irAttr.b(value);
			else if (typeof value === "string") attr[key] = irAttr.s(value);
			else attr[key] = irAttr.ints(value);
		}
		let node = ctx.add(opaqueTfliteOp(ctx.opName), "opaque", inputs, attr);
		if (ctx.outputCount === 0) return;
		ctx.output(0, node);
		node = this.reservedName(ctx.op.outputs[0]);
		for (let i = 1; i < ctx.outputCount; i++) ctx.output(i, `${node}:${i}`);
	}
}
