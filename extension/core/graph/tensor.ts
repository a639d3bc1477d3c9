import { type TensorProto, type TensorShapeProto, has } from "./attr";

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

export class UnsupportedDTypeError extends Error {}

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

export function allocate(dtype: DType, size: number): Tensor["data"] {
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
	const size = shapeSize(shape);
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
	if (proto === undefined) return undefined;
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
	const size = shapeSize(shape);
	const width = dtypeByteSize(dtype);
	if (width === 0) throw new UnsupportedDTypeError(`${where}: raw ${dtype} tensors are not supported`);
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
	const size = shapeSize(shape);
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

/** Nested JavaScript arrays of a tensor's values, as printed by `knn run --json`. */
export function toNested(t: Tensor): unknown {
	const values = Array.from(t.data as ArrayLike<unknown>, (v) => (t.dtype === "bool" ? v === 1 : v));
	if (t.shape.length === 0) return values[0];
	const build = (dim: number, offset: number): unknown[] => {
		const n = t.shape[dim];
		const stride = shapeSize(t.shape.slice(dim + 1));
		const out: unknown[] = [];
		for (let i = 0; i < n; i++) {
			out.push(dim === t.shape.length - 1 ? values[offset + i] : build(dim + 1, offset + i * stride));
		}
		return out;
	};
	return build(0, 0);
}

/** Builds a tensor from nested arrays; the shape is read from the nesting and must be rectangular. */
export function fromNested(value: unknown, dtype: DType, where: string): Tensor {
	const shape: number[] = [];
	let probe = value;
	while (Array.isArray(probe)) {
		shape.push(probe.length);
		probe = probe[0];
	}
	const flat: number[] = [];
	const walk = (v: unknown, dim: number, path: string): void => {
		if (dim === shape.length) {
			const n = typeof v === "boolean" ? Number(v) : v;
			if (typeof n !== "number") throw new TypeError(`${where}${path}: expected a number, got ${JSON.stringify(v)}`);
			flat.push(n);
			return;
		}
		if (!Array.isArray(v) || v.length !== shape[dim]) {
			throw new TypeError(`${where}${path}: expected an array of ${shape[dim]} elements (the array is not rectangular)`);
		}
		v.forEach((x, i) => walk(x, dim + 1, `${path}[${i}]`));
	};
	walk(value, 0, "");
	return makeTensor(dtype, shape, flat);
}
