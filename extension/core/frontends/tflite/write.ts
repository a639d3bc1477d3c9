// Writes a TfliteModel as a TFLite flatbuffer: the inverse of schema.ts, field ids from schema.fbs.
import { Builder } from "flatbuffers";
import { optionsTable } from "./options";
import { BuiltinOperator, type TfliteModel, type TfliteOperator, type TfliteOperatorCode, type TfliteQuantization, type TfliteSignature, type TfliteSubgraph, type TfliteTensor } from "./types";

/** BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES: what the byte field holds for codes that do not fit it. */
const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

/** Ops TFLite's runtime registers only from a version above 1 on: a lower version would not load. */
const MIN_VERSION: Partial<Record<number, number>> = { [BuiltinOperator.BROADCAST_TO]: 2 };

/** The model as .tflite bytes (file identifier "TFL3"); constants are stored inside the flatbuffer, 16-byte aligned. */
export function writeTflite(model: TfliteModel): Uint8Array {
	const b = new Builder(1024);
	const buffers = model.buffers.map((data) => writeBuffer(b, data));
	const buffersVector = offsets(b, buffers);
	const codes = offsets(b, model.operatorCodes.map((code) => writeOperatorCode(b, code)));
	const subgraphs = offsets(b, model.subgraphs.map((subgraph) => writeSubgraph(b, subgraph)));
	const description = model.description === undefined ? 0 : b.createString(model.description);
	const signatures = model.signatureDefs ? offsets(b, model.signatureDefs.map((s) => writeSignature(b, s))) : 0;
	b.startObject(8);
	b.addFieldInt32(0, model.version, 0);
	b.addFieldOffset(1, codes, 0);
	b.addFieldOffset(2, subgraphs, 0);
	b.addFieldOffset(3, description, 0);
	b.addFieldOffset(4, buffersVector, 0);
	b.addFieldOffset(7, signatures, 0);
	b.finish(b.endObject(), "TFL3");
	return b.asUint8Array().slice();
}

function offsets(b: Builder, items: number[]): number {
	b.startVector(4, items.length, 4);
	for (let i = items.length - 1; i >= 0; i--) b.addOffset(items[i]);
	return b.endVector();
}

function int32s(b: Builder, values: readonly number[]): number {
	b.startVector(4, values.length, 4);
	for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
	return b.endVector();
}

function float32s(b: Builder, values: readonly number[]): number {
	b.startVector(4, values.length, 4);
	for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]);
	return b.endVector();
}

function int64s(b: Builder, values: readonly number[]): number {
	b.startVector(8, values.length, 8);
	for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i]));
	return b.endVector();
}

function writeBuffer(b: Builder, data: Uint8Array | undefined): number {
	let vector = 0;
	if (data && data.length > 0) {
		// schema.fbs asks for force_align: 16 so the runtime can use constants in place.
		b.startVector(1, data.length, 16);
		for (let i = data.length - 1; i >= 0; i--) b.addInt8(data[i]);
		vector = b.endVector();
	}
	b.startObject(3);
	b.addFieldOffset(0, vector, 0);
	return b.endObject();
}

function writeOperatorCode(b: Builder, code: TfliteOperatorCode): number {
	const custom = code.customCode === undefined ? 0 : b.createString(code.customCode);
	b.startObject(4);
	b.addFieldInt8(0, Math.min(code.builtinCode, PLACEHOLDER_FOR_GREATER_OP_CODES), 0);
	b.addFieldOffset(1, custom, 0);
	b.addFieldInt32(2, Math.max(code.version, MIN_VERSION[code.builtinCode] ?? 1), 1);
	b.addFieldInt32(3, code.builtinCode, 0);
	return b.endObject();
}

function writeSubgraph(b: Builder, subgraph: TfliteSubgraph): number {
	const tensors = offsets(b, subgraph.tensors.map((tensor) => writeTensor(b, tensor)));
	const inputs = int32s(b, subgraph.inputs);
	const outputs = int32s(b, subgraph.outputs);
	const operators = offsets(b, subgraph.operators.map((op) => writeOperator(b, op)));
	const name = subgraph.name === undefined ? 0 : b.createString(subgraph.name);
	b.startObject(5);
	b.addFieldOffset(0, tensors, 0);
	b.addFieldOffset(1, inputs, 0);
	b.addFieldOffset(2, outputs, 0);
	b.addFieldOffset(3, operators, 0);
	b.addFieldOffset(4, name, 0);
	return b.endObject();
}

function writeTensor(b: Builder, tensor: TfliteTensor): number {
	const shape = int32s(b, tensor.shape);
	const name = b.createString(tensor.name);
	const quantization = tensor.quantization ? writeQuantization(b, tensor.quantization) : 0;
	const signature = tensor.shapeSignature ? int32s(b, tensor.shapeSignature) : 0;
	b.startObject(8);
	b.addFieldOffset(0, shape, 0);
	b.addFieldInt8(1, tensor.type, 0);
	b.addFieldInt32(2, tensor.buffer, 0);
	b.addFieldOffset(3, name, 0);
	b.addFieldOffset(4, quantization, 0);
	b.addFieldInt8(5, tensor.isVariable ? 1 : 0, 0);
	b.addFieldOffset(7, signature, 0);
	return b.endObject();
}

function writeQuantization(b: Builder, q: TfliteQuantization): number {
	const min = q.min ? float32s(b, q.min) : 0;
	const max = q.max ? float32s(b, q.max) : 0;
	const scale = float32s(b, q.scale);
	const zeroPoint = int64s(b, q.zeroPoint);
	b.startObject(7);
	b.addFieldOffset(0, min, 0);
	b.addFieldOffset(1, max, 0);
	b.addFieldOffset(2, scale, 0);
	b.addFieldOffset(3, zeroPoint, 0);
	b.addFieldInt32(6, q.quantizedDimension, 0);
	return b.endObject();
}

function writeOperator(b: Builder, op: TfliteOperator): number {
	const inputs = int32s(b, op.inputs);
	const outputs = int32s(b, op.outputs);
	const options = writeOptions(b, op);
	const intermediates = op.intermediates ? int32s(b, op.intermediates) : 0;
	b.startObject(9);
	b.addFieldInt32(0, op.opcodeIndex, 0);
	b.addFieldOffset(1, inputs, 0);
	b.addFieldOffset(2, outputs, 0);
	b.addFieldInt8(3, options ? op.builtinOptionsType : 0, 0);
	b.addFieldOffset(4, options, 0);
	b.addFieldOffset(8, intermediates, 0);
	return b.endObject();
}

/** The options table (0 when the operator has none); fields at their default are left out, as flatc does. */
function writeOptions(b: Builder, op: TfliteOperator): number {
	const table = optionsTable(op.builtinOptionsType);
	if (!table) return 0;
	const vectors = table.fields.map((field) => {
		const value = field && op.builtinOptions[field.name];
		return field?.kind === "ints" && Array.isArray(value) ? int32s(b, value) : 0;
	});
	b.startObject(table.fields.length);
	table.fields.forEach((field, id) => {
		if (!field) return;
		const value = op.builtinOptions[field.name];
		if (value === undefined) return;
		const expect = (kind: string) => new Error(`writeTflite: ${table.name}.${field.name} must be a ${kind}, got ${JSON.stringify(value)}`);
		switch (field.kind) {
			case "ints": b.addFieldOffset(id, vectors[id], 0); break;
			case "bool":
				if (typeof value !== "boolean") throw expect("boolean");
				b.addFieldInt8(id, value ? 1 : 0, field.default ? 1 : 0);
				break;
			default: {
				if (typeof value !== "number") throw expect("number");
				const fallback = Number(field.default);
				if (field.kind === "byte") b.addFieldInt8(id, value, fallback);
				else if (field.kind === "float") b.addFieldFloat32(id, value, fallback);
				else b.addFieldInt32(id, value, fallback);
			}
		}
	});
	return b.endObject();
}

function writeSignature(b: Builder, signature: TfliteSignature): number {
	const tensorMaps = (entries: TfliteSignature["inputs"]) => offsets(b, entries.map((entry) => {
		const name = b.createString(entry.name);
		b.startObject(2);
		b.addFieldOffset(0, name, 0);
		b.addFieldInt32(1, entry.tensorIndex, 0);
		return b.endObject();
	}));
	const inputs = tensorMaps(signature.inputs);
	const outputs = tensorMaps(signature.outputs);
	const key = b.createString(signature.key);
	b.startObject(5);
	b.addFieldOffset(0, inputs, 0);
	b.addFieldOffset(1, outputs, 0);
	b.addFieldOffset(2, key, 0);
	b.addFieldInt32(4, signature.subgraphIndex, 0);
	return b.endObject();
}
