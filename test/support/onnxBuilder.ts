// Builds ONNX ModelProto bytes in tests, with onnx.proto's field numbers (the front end's schema, which onnxruntime
// then checks independently when it loads the same bytes).
import { encodeOnnx, onnxTypes } from "../../extension/core/frontends/onnx/proto";
import { onnxFromDtype } from "../../extension/core/frontends/onnx/tensor";
import { type DType, type Tensor, makeTensor, tensorToBytes } from "../../extension/core/graph/tensor";

/** A dimension: a size, or a symbolic name (dim_param) for a dynamic one. */
export type OnnxDim = number | string;

export interface OnnxValueSpec {
	name: string;
	dtype?: DType;
	/** Omitted: unknown rank. */
	shape?: OnnxDim[];
}

/** An attribute value: integers become INT(S), other numbers FLOAT(S), strings STRING, tensors TENSOR; or say the type. */
export type OnnxAttrSpec =
	| number | string | number[] | string[] | Tensor
	| { f: number } | { i: number } | { floats: number[] } | { ints: number[] };

export interface OnnxNodeSpec {
	op: string;
	inputs: string[];
	outputs: string[];
	name?: string;
	domain?: string;
	attrs?: Record<string, OnnxAttrSpec>;
}

export interface OnnxModelSpec {
	inputs: OnnxValueSpec[];
	outputs: OnnxValueSpec[];
	nodes: OnnxNodeSpec[];
	initializers?: { name: string; value: Tensor }[];
	valueInfo?: OnnxValueSpec[];
	/** Default 17. */
	opset?: number;
	/** Extra opset imports, e.g. { "com.microsoft": 1 }. */
	domains?: Record<string, number>;
	/** Default 8 (what opset 13..17 exports use). */
	irVersion?: number;
}

const isTensor = (v: unknown): v is Tensor => typeof v === "object" && v !== null && "dtype" in v && "shape" in v && "data" in v;

/** A TensorProto as a plain object; raw_data little-endian, as torch.onnx.export writes it. */
export function tensorProto(value: Tensor, name?: string): Record<string, unknown> {
	return { ...(name !== undefined ? { name } : {}), dims: value.shape, data_type: onnxFromDtype(value.dtype), raw_data: tensorToBytes(value) };
}

function attribute(name: string, spec: OnnxAttrSpec): Record<string, unknown> {
	if (typeof spec === "number") return Number.isInteger(spec) ? { name, type: 2, i: spec } : { name, type: 1, f: spec };
	if (typeof spec === "string") return { name, type: 3, s: new TextEncoder().encode(spec) };
	if (isTensor(spec)) return { name, type: 4, t: tensorProto(spec) };
	if (Array.isArray(spec)) {
		if (spec.every((v) => typeof v === "string")) return { name, type: 8, strings: (spec as string[]).map((s) => new TextEncoder().encode(s)) };
		const numbers = spec as number[];
		return numbers.every(Number.isInteger) ? { name, type: 7, ints: numbers } : { name, type: 6, floats: numbers };
	}
	if ("f" in spec) return { name, type: 1, f: spec.f };
	if ("i" in spec) return { name, type: 2, i: spec.i };
	if ("floats" in spec) return { name, type: 6, floats: spec.floats };
	return { name, type: 7, ints: spec.ints };
}

function valueInfo(spec: OnnxValueSpec): Record<string, unknown> {
	const tensorType: Record<string, unknown> = { elem_type: onnxFromDtype(spec.dtype ?? "float32") };
	if (spec.shape) tensorType.shape = { dim: spec.shape.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) };
	return { name: spec.name, type: { tensor_type: tensorType } };
}

/** Serialises a model. */
export function buildOnnxModel(spec: OnnxModelSpec): Uint8Array {
	const opsets = [{ domain: "", version: spec.opset ?? 17 }, ...Object.entries(spec.domains ?? {}).map(([domain, version]) => ({ domain, version }))];
	return encodeOnnx(onnxTypes.ModelProto, {
		ir_version: spec.irVersion ?? 8,
		producer_name: "kernel-nn-tests",
		opset_import: opsets,
		graph: {
			name: "test",
			node: spec.nodes.map((n, i) => ({
				name: n.name ?? `${n.op}_${i}`,
				op_type: n.op,
				...(n.domain ? { domain: n.domain } : {}),
				input: n.inputs,
				output: n.outputs,
				attribute: Object.entries(n.attrs ?? {}).map(([name, value]) => attribute(name, value)),
			})),
			initializer: (spec.initializers ?? []).map((init) => tensorProto(init.value, init.name)),
			input: spec.inputs.map(valueInfo),
			output: spec.outputs.map(valueInfo),
			value_info: (spec.valueInfo ?? []).map(valueInfo),
		},
	});
}

/** A float32 tensor. */
export function f32(shape: number[], values: ArrayLike<number>): Tensor {
	return makeTensor("float32", shape, values);
}

/** An int64 tensor (the type ONNX uses for shapes, axes and indices). */
export function i64(shape: number[], values: ArrayLike<number>): Tensor {
	return makeTensor("int64", shape, values);
}
