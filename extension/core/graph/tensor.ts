import { type TensorProto, type TensorShapeProto, has } from "./attr";
import { TensorSizeError, checkElements, memoryLimit } from "../util/budget";
import { codedError } from "../util/errors";

/** Element types Kernel NN computes with; half-precision tensors are widened to float32 on load. */
export type DType =
	| "float32" | "float64" | "float16" | "bfloat16"
	| "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64"
	| "bool" | "string" | "resource" | "variant" | "complex64";

export type NumericData = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

/** A dense tensor. int64/uint64 are held as float64 (exact up to 2^53); bool as Uint8Array of 0/1. */
export interface Tensor {
	dtype: DType;
	shape: number[];
	data: NumericData | Uint8Array[] | unknown[];
}

const DTYPE_BY_ENUM: Record<number, DType> = {
	1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string", 8: "complex64",
	9: "int64", 10: "bool", 14: "bfloat16", 17: "uint16", 19: "float16", 20: "resource", 21: "variant",
	22: "uint32", 23: "uint64",
};

const ENUM_BY_DTYPE = Object.fromEntries(Object.entries(DTYPE_BY_ENUM).map(([k, v]) => [v, Number(k)])) as Record<DType, number>;

const TF_NAME_BY_DTYPE: Record<DType, string> = {
	float32: "DT_FLOAT", float64: "DT_DOUBLE", float16: "DT_HALF", bfloat16: "DT_BFLOAT16", int8: "DT_INT8",
	int16: "DT_INT16", int32: "DT_INT32", int64: "DT_INT64", uint8: "DT_UINT8", uint16: "DT_UINT16",
	uint32: "DT_UINT32", uint64: "DT_UINT64", bool: "DT_BOOL", string: "DT_STRING", resource: "DT_RESOURCE",
	variant: "DT_VARIANT", complex64: "DT_COMPLEX64",
};

export class UnsupportedDTypeError extends codedError("model", "UnsupportedDTypeError") {}

/** Maps TensorFlow's DataType enum (reference types folded to their base type) to a DType. */
export function dtypeFromEnum(value: number, where: string): DType {
	const base = value > 100 ? value - 100 : value;
	const dtype = DTYPE_BY_ENUM[base];
	if (dtype === undefined) {
		throw new UnsupportedDTypeError(`${where}: data type ${value} is not supported (expected one of DT_FLOAT, DT_INT32, DT_INT64, DT_BOOL, ...)`);
	}
	return dtype;
}

export function dtypeToEnum(dtype: DType): number {
	return ENUM_BY_DTYPE[dtype];
}

/** TensorFlow's spelling of a dtype, e.g. DT_FLOAT, as written in text protos. */
export function dtypeTfName(dtype: DType): string {
	return TF_NAME_BY_DTYPE[dtype];
}

export function isFloatDType(dtype: DType): boolean {
	return dtype === "float32" || dtype === "float64" || dtype === "float16" || dtype === "bfloat16";
}

export function isIntDType(dtype: DType): boolean {
	return /^u?int/.test(dtype);
}

/** Bytes per element as stored by TensorFlow (0 for non-numeric types). */
export function dtypeByteSize(dtype: DType): number {
	switch (dtype) {
		case "float64": case "int64": case "uint64": case "complex64": return 8;
		case "float32": case "int32": case "uint32": return 4;
		case "float16": case "bfloat16": case "int16": case "uint16": return 2;
		case "int8": case "uint8": case "bool": return 1;
		default: return 0;
	}
}

export function shapeSize(shape: readonly number[]): number {
	let size = 1;
	for (const d of shape) size *= d;
	return size;
}

// A string or object element is a reference plus a small object, not its dtype's (zero) byte width.
const OBJECT_ELEMENT_BYTES = 16;

function elementBytes(dtype: DType): number {
	return dtypeByteSize(dtype) || OBJECT_ELEMENT_BYTES;
}

/**
 * Checks a shape's dimensions and its size against the memory budget before anything of that size is allocated;
 * returns the element count. `where` names the node or field in the error.
 */
export function checkTensorSize(dtype: DType, shape: readonly number[], where?: string): number {
	const prefix = where ? `${where}: ` : "";
	const bad = shape.findIndex((d) => !Number.isInteger(d) || d < 0);
	if (bad >= 0) {
		throw new TensorSizeError(`${prefix}a ${dtype} tensor of shape [${shape.join(",")}] cannot be allocated: dimension ${bad} is ${shape[bad]}, not a whole number of at least 0`);
	}
	const size = shapeSize(shape);
	// The common case, within the budget, without building the message.
	if (Number.isSafeInteger(size) && size * elementBytes(dtype) <= memoryLimit()) return size;
	checkElements(size, elementBytes(dtype), `a ${dtype} tensor of shape ${formatShape(shape)}`, where);
	return size;
}

/** Storage for `size` elements, after checking the count against the memory budget. */
export function allocate(dtype: DType, size: number): Tensor["data"] {
	checkElements(size, elementBytes(dtype), `a ${dtype} tensor`);
	switch (dtype) {
		case "float32": case "float16": case "bfloat16": return new Float32Array(size);
		case "float64": case "int64": case "uint64": return new Float64Array(size);
		case "int32": return new Int32Array(size);
		case "int16": return new Int16Array(size);
		case "int8": return new Int8Array(size);
		case "uint8": case "bool": return new Uint8Array(size);
		case "uint16": return new Uint16Array(size);
		case "uint32": return new Uint32Array(size);
		case "string": return Array.from({ length: size }, () => new Uint8Array(0));
		default: return new Array<unknown>(size);
	}
}

export function makeTensor(dtype: DType, shape: readonly number[], data?: ArrayLike<number> | Tensor["data"]): Tensor {
	const size = checkTensorSize(dtype, shape);
	const out = allocate(dtype, size);
	if (data !== undefined) {
		if (data.length !== size) {
			throw new RangeError(`tensor of shape [${shape.join(",")}] needs ${size} values, got ${data.length}`);
		}
		for (let i = 0; i < size; i++) (out as unknown[])[i] = (data as ArrayLike<unknown>)[i];
	}
	return { dtype, shape: [...shape], data: out };
}

export function scalar(dtype: DType, value: number): Tensor {
	return makeTensor(dtype, [], [value]);
}

/** Numeric view of a tensor's elements; throws for strings and resources. */
export function numbers(t: Tensor, where = "tensor"): NumericData {
	if (!ArrayBuffer.isView(t.data)) {
		throw new TypeError(`${where}: expected a numeric tensor, got ${t.dtype}`);
	}
	return t.data as NumericData;
}

/**
 * Shape from a TensorShapeProto: undefined for unknown rank, -1 for unknown dimensions.
 */
export function shapeFromProto(proto: TensorShapeProto | undefined): number[] | undefined {
	if (proto === undefined || proto === null) return undefined;
	if (proto.unknown_rank) return undefined;
	return (proto.dim ?? []).map((d) => Number(d.size ?? 0));
}

export function shapeToProto(shape: readonly number[] | undefined): TensorShapeProto {
	if (shape === undefined) return { unknown_rank: true };
	return { dim: shape.map((size) => ({ size })) };
}

/** "[1,?,3]"; an unknown rank is spelled out, since "[?]" would read as a vector of unknown length. */
export function formatShape(shape: readonly number[] | undefined): string {
	if (shape === undefined) return "<unknown rank>";
	return `[${shape.map((d) => (d < 0 ? "?" : String(d))).join(",")}]`;
}

function halfToFloat(h: number): number {
	const sign = h & 0x8000 ? -1 : 1;
	const exp = (h >> 10) & 0x1f;
	const frac = h & 0x3ff;
	if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
	if (exp === 31) return frac ? NaN : sign * Infinity;
	return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function bfloat16ToFloat(b: number): number {
	const view = new DataView(new ArrayBuffer(4));
	view.setUint32(0, (b & 0xffff) << 16, true);
	return view.getFloat32(0, true);
}

/** Decodes little-endian raw bytes (tensor_content, checkpoint data) into a tensor. */
export function tensorFromBytes(dtype: DType, shape: number[], bytes: Uint8Array, where: string): Tensor {
	const width = dtypeByteSize(dtype);
	if (width === 0) throw new UnsupportedDTypeError(`${where}: raw ${dtype} tensors are not supported`);
	const size = checkTensorSize(dtype, shape, where);
	if (bytes.length !== size * width) {
		throw new RangeError(`${where}: ${dtype} tensor of shape ${formatShape(shape)} needs ${size * width} bytes, has ${bytes.length}`);
	}
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const out = allocate(dtype, size) as NumericData;
	for (let i = 0; i < size; i++) {
		const at = i * width;
		switch (dtype) {
			case "float32": out[i] = view.getFloat32(at, true); break;
			case "float64": out[i] = view.getFloat64(at, true); break;
			case "float16": out[i] = halfToFloat(view.getUint16(at, true)); break;
			case "bfloat16": out[i] = bfloat16ToFloat(view.getUint16(at, true)); break;
			case "int8": out[i] = view.getInt8(at); break;
			case "int16": out[i] = view.getInt16(at, true); break;
			case "int32": out[i] = view.getInt32(at, true); break;
			case "int64": out[i] = Number(view.getBigInt64(at, true)); break;
			case "uint8": case "bool": out[i] = view.getUint8(at); break;
			case "uint16": out[i] = view.getUint16(at, true); break;
			case "uint32": out[i] = view.getUint32(at, true); break;
			case "uint64": out[i] = Number(view.getBigUint64(at, true)); break;
			default: throw new UnsupportedDTypeError(`${where}: raw ${dtype} tensors are not supported`);
		}
	}
	return { dtype, shape, data: out };
}

/** Encodes a numeric tensor as TensorFlow's little-endian tensor_content bytes. */
export function tensorToBytes(t: Tensor): Uint8Array {
	const width = dtypeByteSize(t.dtype);
	const values = numbers(t);
	const bytes = new Uint8Array(values.length * width);
	const view = new DataView(bytes.buffer);
	for (let i = 0; i < values.length; i++) {
		const at = i * width;
		const v = values[i];
		switch (t.dtype) {
			case "float32": view.setFloat32(at, v, true); break;
			case "float64": view.setFloat64(at, v, true); break;
			case "int8": view.setInt8(at, v); break;
			case "int16": view.setInt16(at, v, true); break;
			case "int32": view.setInt32(at, v, true); break;
			case "int64": view.setBigInt64(at, BigInt(Math.trunc(v)), true); break;
			case "uint8": case "bool": view.setUint8(at, v); break;
			case "uint16": view.setUint16(at, v, true); break;
			case "uint32": view.setUint32(at, v, true); break;
			case "uint64": view.setBigUint64(at, BigInt(Math.trunc(v)), true); break;
			default: throw new UnsupportedDTypeError(`cannot encode ${t.dtype} tensors`);
		}
	}
	return bytes;
}

function typedValues(proto: TensorProto, dtype: DType): ArrayLike<unknown> {
	switch (dtype) {
		case "float32": return proto.float_val ?? [];
		case "float64": return proto.double_val ?? [];
		case "int32": case "int16": case "int8": case "uint8": case "uint16": return proto.int_val ?? [];
		case "float16": return (proto.half_val ?? []).map(halfToFloat);
		case "bfloat16": return (proto.half_val ?? []).map(bfloat16ToFloat);
		case "int64": return proto.int64_val ?? [];
		case "uint32": return proto.uint32_val ?? [];
		case "uint64": return proto.uint64_val ?? [];
		case "bool": return (proto.bool_val ?? []).map((b) => (b ? 1 : 0));
		case "string": return proto.string_val ?? [];
		default: return [];
	}
}

/**
 * Decodes a TensorProto from tensor_content or the typed repeated fields. As in TensorFlow, a typed field
 * shorter than the shape is padded with its last value (a splat); an empty one means zeros.
 */
export function tensorFromProto(proto: TensorProto, where: string): Tensor {
	const dtype = dtypeFromEnum(proto.dtype ?? 0, where);
	const shape = shapeFromProto(proto.tensor_shape) ?? [];
	if (shape.some((d) => d < 0)) throw new RangeError(`${where}: constant tensor has an unknown dimension ${formatShape(shape)}`);
	// Checked before expanding: one value splatted over a declared 2^31-1 elements is a few bytes in the file.
	const size = checkTensorSize(dtype, shape, where);
	if (has(proto, "tensor_content") && (proto.tensor_content?.length ?? 0) > 0 && dtype !== "string") {
		return tensorFromBytes(dtype, shape, proto.tensor_content!, where);
	}
	const values = typedValues(proto, dtype);
	if (values.length > size) {
		throw new RangeError(`${where}: ${values.length} values for a tensor of shape ${formatShape(shape)}`);
	}
	const out = allocate(dtype, size) as unknown[];
	if (values.length > 0) {
		const last = values[values.length - 1];
		for (let i = 0; i < size; i++) out[i] = i < values.length ? values[i] : last;
	}
	return { dtype, shape, data: out as Tensor["data"] };
}

/** Encodes a tensor as a TensorProto (numeric types through tensor_content, strings through string_val). */
export function tensorToProto(t: Tensor): TensorProto {
	const proto: TensorProto = { dtype: dtypeToEnum(t.dtype), tensor_shape: shapeToProto(t.shape) };
	if (t.dtype === "string") proto.string_val = t.data as Uint8Array[];
	else proto.tensor_content = tensorToBytes(t);
	return proto;
}

/** TensorFlow's largest rank (TensorShape's kMaxDims): deeper nesting is no tensor. */
export const MAX_RANK = 254;

/** Nested JavaScript arrays of a tensor's values, as printed by `knn run --json`. */
export function toNested(t: Tensor): unknown {
	const values = Array.from(t.data as ArrayLike<unknown>, (v) => (t.dtype === "bool" ? v === 1 : v));
	if (t.shape.length === 0) return values[0];
	// Innermost dimension first, grouping level by level: no recursion, whatever the rank.
	let level: unknown[] = values;
	for (let dim = t.shape.length - 1; dim >= 1; dim--) {
		const groups = shapeSize(t.shape.slice(0, dim));
		const width = t.shape[dim];
		const grouped: unknown[] = [];
		for (let g = 0; g < groups; g++) grouped.push(level.slice(g * width, (g + 1) * width));
		level = grouped;
	}
	return level;
}

/** Builds a tensor from nested arrays; the shape is read from the nesting and must be rectangular. */
export function fromNested(value: unknown, dtype: DType, where: string): Tensor {
	const shape: number[] = [];
	let probe = value;
	while (Array.isArray(probe)) {
		if (shape.length === MAX_RANK) {
			throw new RangeError(`${where}: arrays are nested more than ${MAX_RANK} levels deep, and a tensor has at most ${MAX_RANK} dimensions`);
		}
		shape.push(probe.length);
		probe = probe[0];
	}
	const flat: number[] = [];
	// An explicit stack of the arrays being read, each with the index of its next element.
	const stack: { array: unknown[]; next: number }[] = [];
	const path = () => stack.map((entry) => `[${entry.next - 1}]`).join("");
	const visit = (v: unknown): void => {
		if (stack.length === shape.length) {
			const n = typeof v === "boolean" ? Number(v) : v;
			if (typeof n !== "number") throw new TypeError(`${where}${path()}: expected a number, got ${describeJson(v)}`);
			flat.push(n);
			return;
		}
		if (!Array.isArray(v) || v.length !== shape[stack.length]) {
			throw new TypeError(`${where}${path()}: expected an array of ${shape[stack.length]} elements (the array is not rectangular)`);
		}
		stack.push({ array: v, next: 0 });
	};
	visit(value);
	while (stack.length > 0) {
		const top = stack[stack.length - 1];
		if (top.next === top.array.length) stack.pop();
		else visit(top.array[top.next++]);
	}
	return makeTensor(dtype, shape, flat);
}

/** A JSON value in a few characters, for error messages (JSON.stringify of a deep or huge value would not do). */
function describeJson(value: unknown): string {
	if (value === null) return "null";
	if (Array.isArray(value)) return `an array of ${value.length} elements`;
	if (typeof value === "object") return "an object";
	const text = JSON.stringify(value) ?? String(value);
	return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
