// ONNX TensorProto -> IR Tensor: every *_data field, raw_data, and external data files beside the model.
import * as fs from "node:fs";
import * as path from "node:path";
import { type DType, type Tensor, allocate, checkTensorSize, dtypeByteSize, formatShape, shapeSize, tensorFromBytes } from "../../graph/tensor";
import { BudgetError } from "../../util/budget";
import { ModelLoadError } from "../model";
import type { OnnxTensorProto } from "./proto";

/** TensorProto.DataType values Kernel NN reads, as IR dtypes (float16 and bfloat16 are widened later). */
const DTYPE_BY_ONNX: Record<number, DType> = {
	1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string", 9: "bool",
	10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 16: "bfloat16",
};

const ONNX_TYPE_NAMES: Record<number, string> = {
	0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING",
	9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16",
	17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1",
};

/** ONNX's name of a TensorProto.DataType value, e.g. FLOAT for 1. */
export function onnxTypeName(value: number): string {
	return ONNX_TYPE_NAMES[value] ?? `data type ${value}`;
}

/** The IR dtype of an ONNX element type: half precision reads as float32, which the interpreter and compiler compute in. */
export function dtypeFromOnnx(value: number, where: string): DType {
	const dtype = DTYPE_BY_ONNX[value];
	if (dtype === undefined) {
		throw new ModelLoadError(`${where}: element type ${onnxTypeName(value)} is not supported (Kernel NN reads FLOAT, DOUBLE, FLOAT16, INT8..INT64, UINT8..UINT64, BOOL)`);
	}
	return dtype === "float16" || dtype === "bfloat16" ? "float32" : dtype;
}

/** The ONNX element type of an IR dtype (for tests and writers). */
export function onnxFromDtype(dtype: DType): number {
	const found = Object.entries(DTYPE_BY_ONNX).find(([, d]) => d === dtype);
	if (!found) throw new ModelLoadError(`ONNX has no element type for ${dtype}`);
	return Number(found[0]);
}

/** Where a tensor's external data may be read from: the folder of the model file. */
export interface ExternalDataBase {
	modelDir?: string;
}

/**
 * Decodes a TensorProto. `where` names the tensor in errors (file and tensor name). Unlike TensorFlow's typed fields,
 * ONNX's must hold exactly one value per element.
 */
export function tensorFromOnnx(proto: OnnxTensorProto, where: string, base: ExternalDataBase = {}): Tensor {
	const elemType = proto.data_type ?? 0;
	const declared = DTYPE_BY_ONNX[elemType];
	if (declared === undefined) dtypeFromOnnx(elemType, where);
	const shape = (proto.dims ?? []).map(Number);
	if (shape.some((d) => d < 0 || !Number.isInteger(d))) throw new ModelLoadError(`${where}: invalid dimensions ${formatShape(shape)}`);
	if (proto.segment) throw new ModelLoadError(`${where}: tensors stored in segments are not supported; save the model with each tensor whole`);
	// Before reading anything: external data of a declared billion elements is never read into memory.
	const size = checkTensorSize(declared, shape, where);
	let tensor: Tensor;
	try {
		if (proto.data_location === 1) {
			tensor = tensorFromBytes(declared, shape, readExternal(proto, where, base, size * dtypeByteSize(declared)), where);
		} else if (proto.raw_data && (proto.raw_data.length > 0 || size === 0) && declared !== "string") {
			tensor = tensorFromBytes(declared, shape, proto.raw_data, where);
		} else {
			tensor = fromTypedFields(proto, declared, shape, where);
		}
	} catch (error) {
		if (error instanceof ModelLoadError || error instanceof BudgetError) throw error;
		throw new ModelLoadError(error instanceof Error ? error.message : String(error));
	}
	return declared === "float16" || declared === "bfloat16" ? { ...tensor, dtype: "float32" } : tensor;
}

function fromTypedFields(proto: OnnxTensorProto, dtype: DType, shape: number[], where: string): Tensor {
	const size = shapeSize(shape);
	let values: ArrayLike<unknown>;
	switch (dtype) {
		case "float32": values = proto.float_data ?? []; break;
		case "float64": values = proto.double_data ?? []; break;
		case "int64": values = proto.int64_data ?? []; break;
		case "uint32": case "uint64": values = proto.uint64_data ?? []; break;
		case "string": values = proto.string_data ?? []; break;
		case "float16": case "bfloat16": {
			// Half-precision values travel as their bit patterns in int32_data.
			const bits = proto.int32_data ?? [];
			const bytes = new Uint8Array(bits.length * 2);
			bits.forEach((b, i) => { bytes[2 * i] = b & 0xff; bytes[2 * i + 1] = (b >> 8) & 0xff; });
			if (bits.length === size) return tensorFromBytes(dtype, shape, bytes, where);
			values = bits;
			break;
		}
		default: values = proto.int32_data ?? [];
	}
	if (values.length !== size) {
		throw new ModelLoadError(`${where}: ${values.length} values for a tensor of shape ${formatShape(shape)} (${size} elements); the file is damaged`);
	}
	const out = allocate(dtype, size) as unknown[];
	for (let i = 0; i < size; i++) out[i] = dtype === "bool" ? (values[i] ? 1 : 0) : values[i];
	return { dtype, shape, data: out as Tensor["data"] };
}

function entry(proto: OnnxTensorProto, key: string): string | undefined {
	return proto.external_data?.find((e) => e.key === key)?.value;
}

/** Reads an external tensor's bytes from a file inside the model's folder, never outside it. */
function readExternal(proto: OnnxTensorProto, where: string, base: ExternalDataBase, expected: number): Uint8Array {
	const location = entry(proto, "location");
	if (!location) throw new ModelLoadError(`${where}: the tensor's data is external, but external_data gives no "location"`);
	if (!base.modelDir) throw new ModelLoadError(`${where}: the tensor's data is in "${location}" beside the model, but the model was not read from a file; load it from its folder`);
	const parts = location.split(/[\\/]/);
	if (path.isAbsolute(location) || path.win32.isAbsolute(location) || parts.includes("..")) {
		throw new ModelLoadError(`${where}: external data location "${location}" leaves the model's folder; only files inside it are read (re-save the model with its data beside it)`);
	}
	const file = path.join(base.modelDir, location);
	const offset = Number(entry(proto, "offset") ?? "0");
	const lengthText = entry(proto, "length");
	const length = lengthText === undefined ? expected : Number(lengthText);
	if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
		throw new ModelLoadError(`${where}: external data offset "${entry(proto, "offset")}" or length "${lengthText}" is not a byte count`);
	}
	if (length !== expected) {
		throw new ModelLoadError(`${where}: external data in "${location}" has length ${length}, but a tensor of shape ${formatShape((proto.dims ?? []).map(Number))} needs ${expected} bytes`);
	}
	let fd: number;
	try {
		fd = fs.openSync(file, "r");
	} catch {
		throw new ModelLoadError(`${where}: external data file "${location}" is missing beside the model (${file}); copy it next to the .onnx file`);
	}
	try {
		const size = fs.fstatSync(fd).size;
		if (offset + length > size) {
			throw new ModelLoadError(`${where}: external data file "${location}" has ${size} bytes, too few for ${length} bytes at offset ${offset}`);
		}
		const bytes = new Uint8Array(length);
		let done = 0;
		while (done < length) {
			const n = fs.readSync(fd, bytes, done, length - done, offset + done);
			if (n === 0) break;
			done += n;
		}
		return bytes;
	} finally {
		fs.closeSync(fd);
	}
}
