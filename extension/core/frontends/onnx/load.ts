// The ONNX front end's driver: ModelProto -> IR graph. Graph inputs become Placeholders, initializers and Constant
// nodes Consts, every other node goes through its translator (ops/index.ts) in file order, and each graph output
// becomes an Identity named by the ONNX output's name, so configs name ONNX tensors (see names.ts for the spelling).
import * as path from "node:path";
import type { AttrValue } from "../../graph/attr";
import { Graph, GraphError, type GraphNode, constNode, parseInputName, refKey } from "../../graph/graph";
import { type DType, type Tensor, dtypeToEnum, shapeToProto } from "../../graph/tensor";
import { type LoadedModel, ModelLoadError, type SignatureTensor } from "../model";
import { irAttr } from "../../graph/irAttr";
import { NodeContext, type GraphUnderConstruction } from "./context";
import { decodeAttribute } from "./attributes";
import { NameAllocator, irNodeName } from "./names";
import { TRANSLATORS } from "./ops";
import { type OnnxGraphProto, type OnnxModelProto, type OnnxNodeProto, type OnnxTypeProto, type OnnxValueInfoProto, decodeModelProto } from "./proto";
import { sparseToDense } from "./sparse";
import { type ExternalDataBase, dtypeFromOnnx, tensorFromOnnx } from "./tensor";
import type { OnnxAttribute, OnnxNode } from "./translator";
import { TensorValues, UnknownTensorError } from "./values";

/** The opsets of the default domain Kernel NN reads: the ops' semantics are those of these versions. */
export const MIN_OPSET = 7;
export const MAX_OPSET = 21;
/**
 * Opset 6 (PyTorch's exports until 2018, e.g. ONNX's pytorch-converted tests) is read as opset 7: the ops kept their
 * meaning except the legacy broadcast of binary ops, which is checked per node to agree with NumPy's.
 */
export const LEGACY_OPSET = 6;

/**
 * What crosses the graph boundary at run time is in the compiler's types: int64 and uint64 inputs and outputs are
 * int32 and uint32 (indices and counts fit), float64 ones float32, as PyTorch's double or long tensors run in the kernel.
 */
const BOUNDARY_DTYPE: Partial<Record<DType, DType>> = { int64: "int32", uint64: "uint32", float64: "float32" };

/** The op the IR gives an ONNX node no translator handles: the op table does not know it, so run and compile refuse it. */
export function opaqueOp(opType: string, domain: string): string {
	return domain === "" ? `Onnx.${opType}` : `Onnx.${domain}.${opType}`;
}

/** Reads a `.onnx` file's bytes; `file` names it in errors and locates external data files beside it. */
export function loadOnnxBytes(bytes: Uint8Array, file: string): LoadedModel {
	let model: OnnxModelProto;
	try {
		model = decodeModelProto(bytes);
	} catch (error) {
		const detail = error instanceof Error ? error.message : String(error);
		throw new ModelLoadError(`${file}: looks like an ONNX model but could not be read (${detail}); the file may be truncated`);
	}
	return translateOnnxModel(model, file, { modelDir: path.dirname(path.resolve(file)) });
}

const defaultDomain = (domain: string | undefined): string => (domain === "ai.onnx" || !domain ? "" : domain);

function opsetsOf(model: OnnxModelProto, file: string): Map<string, number> {
	const opsets = new Map<string, number>();
	for (const entry of model.opset_import ?? []) opsets.set(defaultDomain(entry.domain), Number(entry.version ?? 0));
	const version = opsets.get("");
	if (version === undefined) throw new ModelLoadError(`${file}: the model imports no opset of the default ONNX domain; export it with an opset from ${MIN_OPSET} to ${MAX_OPSET}`);
	if (version === LEGACY_OPSET) {
		opsets.set("", MIN_OPSET);
		return opsets;
	}
	if (version < MIN_OPSET || version > MAX_OPSET) {
		throw new ModelLoadError(`${file}: opset ${version} is not supported; Kernel NN reads opsets ${MIN_OPSET} to ${MAX_OPSET} (re-export with e.g. torch.onnx.export(..., opset_version=17))`);
	}
	return opsets;
}

/** A tensor type's IR dtype and shape (-1 for dynamic dimensions); undefined shape for unknown rank. */
function tensorType(type: OnnxTypeProto | null | undefined, where: string): { dtype: DType; shape?: number[] } | undefined {
	const tensor = type?.tensor_type;
	if (!tensor) return undefined;
	const dtype = dtypeFromOnnx(tensor.elem_type ?? 0, where);
	if (!tensor.shape) return { dtype };
	const shape = (tensor.shape.dim ?? []).map((dim) => ((dim as { value?: string }).value === "dim_value" ? Number(dim.dim_value) : -1));
	return { dtype, shape };
}

/** Translates a decoded ModelProto into the IR. */
export function translateOnnxModel(model: OnnxModelProto, file: string, base: ExternalDataBase = {}): LoadedModel {
	const opsets = opsetsOf(model, file);
	if (!model.graph) throw new ModelLoadError(`${file}: the ONNX model has no graph`);
	const legacy = (model.opset_import ?? []).some((o) => defaultDomain(o.domain) === "" && Number(o.version) === LEGACY_OPSET);
	try {
		return new Driver(file, opsets, base, legacy).translate(model.graph);
	} catch (error) {
		if (error instanceof GraphError) throw new ModelLoadError(`${file}: ${error.message}`);
		throw error;
	}
}

class Driver implements GraphUnderConstruction {
	readonly names = new NameAllocator();
	readonly values = new TensorValues();
	private readonly nodes: GraphNode[] = [];
	private readonly bindings = new Map<string, string>();
	/** The ONNX node producing each tensor, for errors about outputs a translator left unbound. */
	private readonly producers = new Map<string, OnnxNode>();
	private readonly declaredTypes = new Map<string, OnnxValueInfoProto>();

	constructor(readonly file: string, private readonly opsets: ReadonlyMap<string, number>, private readonly base: ExternalDataBase, private readonly legacy = false) {}

	append(node: GraphNode): void {
		this.nodes.push(node);
	}

	bind(onnxTensor: string, irTensor: string): void {
		this.bindings.set(onnxTensor, irTensor);
	}

	resolve(onnxTensor: string, reader: OnnxNode): string {
		const bound = this.bindings.get(onnxTensor);
		if (bound !== undefined) return bound;
		const producer = this.producers.get(onnxTensor);
		if (producer) {
			throw new ModelLoadError(`${this.file}: node "${reader.name}" (${reader.opType}) reads "${onnxTensor}", an output of node "${producer.name}" (${producer.opType}) that its translation does not produce`);
		}
		throw new ModelLoadError(`${this.file}: node "${reader.name}" (${reader.opType}) reads "${onnxTensor}", which no node, initializer or graph input defines (nodes must be in topological order)`);
	}

	translate(graph: OnnxGraphProto): LoadedModel {
		for (const info of [...(graph.value_info ?? []), ...(graph.output ?? [])]) if (info.name) this.declaredTypes.set(info.name, info);
		const initializerNames = new Set([...(graph.initializer ?? []).map((t) => t.name ?? ""), ...(graph.sparse_initializer ?? []).map((t) => t.values?.name ?? "")]);
		const graphInputs = (graph.input ?? []).filter((input) => !initializerNames.has(input.name ?? ""));
		const inputs = graphInputs.map((input) => this.addInput(input));
		for (const init of graph.initializer ?? []) {
			this.addConstant(init.name ?? "", tensorFromOnnx(init, `${this.file}: initializer "${init.name}"`, this.base));
		}
		for (const sparse of graph.sparse_initializer ?? []) {
			const name = sparse.values?.name ?? "";
			this.addConstant(name, sparseToDense(sparse, `${this.file}: sparse initializer "${name}"`, this.base));
		}
		// Output names are reserved before any node takes a name, so the Identity nodes get exactly them.
		const outputNames = (graph.output ?? []).map((output) => {
			const name = output.name ?? "";
			return this.bindings.has(name) ? this.bindings.get(name)! : this.names.take(irNodeName(name));
		});
		const histogram = new Map<string, number>();
		(graph.node ?? []).forEach((proto, index) => {
			const node = this.onnxNode(proto, index);
			const op = node.domain === "" ? node.opType : `${node.domain}.${node.opType}`;
			histogram.set(op, (histogram.get(op) ?? 0) + 1);
			this.translateNode(node);
		});
		const outputs = (graph.output ?? []).map((output, i) => this.addOutput(output, outputNames[i]));
		return {
			file: this.file,
			format: "ONNX",
			graph: new Graph(this.nodes),
			graphInputs: inputs,
			graphOutputs: outputs,
			sourceOps: [...histogram].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op)),
		};
	}

	private addInput(input: OnnxValueInfoProto): SignatureTensor {
		const key = input.name ?? "";
		const where = `${this.file}: graph input "${key}"`;
		const type = tensorType(input.type, where);
		if (!type) throw new ModelLoadError(`${where} is not a tensor (sequences, maps and optionals are not supported)`);
		const name = this.names.take(irNodeName(key));
		type.dtype = BOUNDARY_DTYPE[type.dtype] ?? type.dtype;
		const attr: Record<string, AttrValue> = { dtype: { type: dtypeToEnum(type.dtype) }, shape: { shape: shapeToProto(type.shape) } };
		this.nodes.push({ name, op: "Placeholder", inputs: [], controlInputs: [], device: "", attr });
		// An input of unknown rank has no value to run on: what reads it stays unknown, as after an unsupported op.
		if (type.shape) this.values.setInput(name, type.dtype, type.shape);
		this.bind(key, name);
		return { key, tensor: name, dtype: type.dtype, shape: type.shape };
	}

	private addConstant(onnxName: string, value: Tensor): string {
		const name = this.names.take(irNodeName(onnxName));
		const node = constNode(name, value);
		this.values.run(node);
		this.nodes.push(node);
		this.bind(onnxName, name);
		return name;
	}

	private addOutput(output: OnnxValueInfoProto, name: string): SignatureTensor {
		const key = output.name ?? "";
		let source = this.bindings.get(key);
		if (source === undefined) throw new ModelLoadError(`${this.file}: graph output "${key}" is produced by no node, initializer or input`);
		const wide = this.values.has(source) ? this.values.get(source).dtype : undefined;
		const narrow = wide && BOUNDARY_DTYPE[wide];
		if (source !== name && wide && narrow) {
			const cast: GraphNode = {
				name: this.names.take(irNodeName(`${key}/to_${narrow}`)), op: "Cast", inputs: [parseInputName(source).ref], controlInputs: [], device: "",
				attr: { SrcT: irAttr.type(wide), DstT: irAttr.type(narrow), Truncate: irAttr.b(false) },
			};
			this.values.run(cast);
			this.nodes.push(cast);
			source = cast.name;
		}
		if (source !== name) {
			const dtype = this.values.has(source) ? this.values.get(source).dtype : undefined;
			const node: GraphNode = { name, op: "Identity", inputs: [parseInputName(source).ref], controlInputs: [], device: "", attr: dtype ? { T: irAttr.type(dtype) } : {} };
			if (this.values.has(source)) this.values.run(node);
			this.nodes.push(node);
		}
		const declared = tensorType(output.type, `${this.file}: graph output "${key}"`);
		const known = this.values.has(name) ? this.values.get(name) : undefined;
		return { key, tensor: name, dtype: known?.dtype ?? declared?.dtype, shape: declared?.shape ?? known?.shape };
	}

	private onnxNode(proto: OnnxNodeProto, index: number): OnnxNode {
		const outputs = proto.output ?? [];
		const opType = proto.op_type ?? "";
		const name = proto.name || outputs.find((o) => o !== "") || `${opType}_${index}`;
		const where = `${this.file}: node "${name}" (${opType})`;
		const attributes = new Map<string, OnnxAttribute>();
		for (const attr of proto.attribute ?? []) attributes.set(attr.name ?? "", decodeAttribute(attr, where, this.base));
		const node: OnnxNode = { name, opType, domain: defaultDomain(proto.domain), inputs: proto.input ?? [], outputs, attributes };
		for (const output of outputs) if (output !== "") this.producers.set(output, node);
		return node;
	}

	private translateNode(onnxNode: OnnxNode): void {
		let node = onnxNode;
		const opset = this.opsets.get(node.domain);
		if (opset === undefined) throw new ModelLoadError(`${this.file}: node "${node.name}" (${node.opType}) is in domain "${node.domain}", which the model does not import`);
		if (node.domain === "" && node.opType === "Constant") {
			this.addConstant(node.outputs[0] ?? "", this.constantValue(node));
			return;
		}
		if (this.legacy) {
			this.checkLegacyBroadcast(node);
			if (node.opType === "PRelu") node = this.perChannelSlope(node);
		}
		const translate = node.domain === "" ? TRANSLATORS.get(node.opType) : undefined;
		if (translate) {
			const mark = this.nodes.length;
			try {
				translate(new NodeContext(node, opset, this));
				return;
			} catch (error) {
				if (!(error instanceof UnknownTensorError)) throw error;
				// It reads what an unsupported op computes: keep it for inspection, unsupported too.
				this.nodes.length = mark;
			}
		}
		this.addOpaque(node, opset);
	}

	/** Opset 6's `broadcast` with `axis` aligns B at `axis` of A; it means what NumPy does only when B ends where A does. */
	private checkLegacyBroadcast(node: OnnxNode): void {
		const axis = node.attributes.get("axis")?.i;
		if (node.attributes.get("broadcast")?.i !== 1 || axis === undefined || node.inputs.length < 2) return;
		const [a, b] = node.inputs.slice(0, 2).map((name) => this.bindings.get(name));
		if (!a || !b || !this.values.has(a) || !this.values.has(b)) return;
		const rankA = this.values.get(a).shape.length;
		const rankB = this.values.get(b).shape.length;
		if (axis !== rankA - rankB && axis !== -rankB) {
			throw new ModelLoadError(`${this.file}: node "${node.name}" (${node.opType}, opset ${LEGACY_OPSET}) broadcasts B along axis ${axis} of A, which opset ${MIN_OPSET} and later cannot express; re-export the model with opset ${MIN_OPSET} or later`);
		}
	}

	/** Opset 6's PRelu applies a one-dimensional slope of C values along axis 1, where opset 7 broadcasts it from the end. */
	private perChannelSlope(node: OnnxNode): OnnxNode {
		const [x, slope] = node.inputs.slice(0, 2).map((name) => this.bindings.get(name));
		if (!x || !slope || !this.values.has(x) || !this.values.has(slope)) return node;
		const xShape = this.values.get(x).shape;
		const known = this.values.get(slope);
		if (!known.constant || known.shape.length !== 1 || xShape.length < 3 || known.shape[0] !== xShape[1]) return node;
		const name = `${node.inputs[1]}/per_channel`;
		this.addConstant(name, { ...known.value, shape: [known.shape[0], ...xShape.slice(2).map(() => 1)] });
		return { ...node, inputs: [node.inputs[0], name, ...node.inputs.slice(2)] };
	}

	/** An IR node the op table does not know, so `knn inspect` and the inspector show it and run/compile refuse it. */
	private addOpaque(node: OnnxNode, opset: number): void {
		const name = this.names.take(irNodeName(node.name));
		const attr: Record<string, AttrValue> = { _onnx_domain: irAttr.s(node.domain), _onnx_opset: irAttr.i(opset) };
		for (const [key, a] of node.attributes) {
			if (a.i !== undefined) attr[key] = irAttr.i(a.i);
			else if (a.f !== undefined) attr[key] = irAttr.f(a.f);
			else if (a.s !== undefined) attr[key] = irAttr.s(a.s);
			else if (a.ints !== undefined) attr[key] = irAttr.ints(a.ints);
			else if (a.floats !== undefined) attr[key] = irAttr.floats(a.floats);
		}
		const inputs = node.inputs.filter((i) => i !== "").map((i) => this.resolve(i, node));
		this.nodes.push({
			name, op: opaqueOp(node.opType, node.domain), inputs: inputs.map((text) => parseInputName(text).ref),
			controlInputs: [], device: "", attr,
		});
		node.outputs.forEach((output, index) => {
			if (output === "") return;
			const tensor = refKey({ node: name, index });
			this.bind(output, tensor);
			// A declared type lets what follows still be translated (for inspection); its value is not constant.
			const declared = this.declaredTypes.get(output);
			try {
				const type = declared && tensorType(declared.type, output);
				if (type?.shape) this.values.setInput(tensor, type.dtype, type.shape.map((d) => d));
			} catch {
				// An element type Kernel NN does not read: the tensor stays unknown.
			}
		});
	}

	private constantValue(node: OnnxNode): Tensor {
		const attr = [...node.attributes.values()][0];
		const where = `${this.file}: Constant node "${node.name}"`;
		if (!attr) throw new ModelLoadError(`${where} has no value attribute`);
		switch (attr.name) {
			case "value": if (attr.t) return attr.t; break;
			case "value_float": return { dtype: "float32", shape: [], data: Float32Array.of(attr.f ?? 0) };
			case "value_floats": return { dtype: "float32", shape: [attr.floats?.length ?? 0], data: Float32Array.from(attr.floats ?? []) };
			case "value_int": return { dtype: "int64", shape: [], data: Float64Array.of(attr.i ?? 0) };
			case "value_ints": return { dtype: "int64", shape: [attr.ints?.length ?? 0], data: Float64Array.from(attr.ints ?? []) };
		}
		throw new ModelLoadError(`${where}: its "${attr.name}" value is not supported (Kernel NN reads value, value_float(s) and value_int(s))`);
	}
}
