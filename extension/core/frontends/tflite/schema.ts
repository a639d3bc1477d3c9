// Reads a TFLite flatbuffer into a TfliteModel, table by table from schema.fbs's field ids, checking every offset.
import { ModelLoadError } from "../model";
import { FlatFile, type FlatTable } from "./flatTable";
import { BuiltinOptionsType, OPTIONS_OF_OP, defaultOptions, optionsTable } from "./options";
import type { OptionValue, TfliteModel, TfliteOperator, TfliteOperatorCode, TfliteQuantization, TfliteSignature, TfliteSubgraph, TfliteTensor } from "./types";

/** Reads a .tflite file's bytes; `file` names it in errors. Throws ModelLoadError for anything that is not a readable model. */
export function readTflite(bytes: Uint8Array, file: string): TfliteModel {
	if (bytes.length < 8) throw new ModelLoadError(`${file}: ${bytes.length} bytes is too short for a TFLite flatbuffer.`);
	const identified = new TextDecoder().decode(bytes.subarray(4, 8)) === "TFL3";
	try {
		const model = readModel(new FlatFile(bytes, file));
		validate(model, file);
		return model;
	} catch (error) {
		if (!identified) {
			throw new ModelLoadError(`${file}: not a TFLite model (no "TFL3" file identifier at byte 4, and the bytes do not parse as one): ${(error as Error).message}`);
		}
		if (error instanceof ModelLoadError) throw error;
		// A residual runtime error from hostile bytes is still a corrupt file, not a crash.
		throw new ModelLoadError(`${file}: the TFLite flatbuffer is corrupt (${(error as Error).message}); re-export or re-download it.`);
	}
}

function readModel(f: FlatFile): TfliteModel {
	const root = f.tableAt(0, "Model");
	const operatorCodes = root.tables(1, "operator_codes").map(readOperatorCode);
	const model: TfliteModel = {
		version: root.uint32(0, "version"),
		operatorCodes,
		subgraphs: root.tables(2, "subgraphs").map((t) => readSubgraph(t, operatorCodes)),
		buffers: root.tables(4, "buffers").map((t) => readBuffer(f, t)),
	};
	const description = root.string(3, "description");
	if (description !== undefined) model.description = description;
	const signatures = root.tables(7, "signature_defs");
	if (signatures.length > 0) model.signatureDefs = signatures.map(readSignature);
	return model;
}

function readOperatorCode(t: FlatTable): TfliteOperatorCode {
	// Files before schema 3a fill only the byte field; newer ones put 127 there for codes above it.
	const code: TfliteOperatorCode = {
		builtinCode: Math.max(t.int8(0, "deprecated_builtin_code"), t.int32(3, "builtin_code")),
		version: t.int32(2, "version", 1),
	};
	const custom = t.string(1, "custom_code");
	if (custom !== undefined) code.customCode = custom;
	return code;
}

function readBuffer(f: FlatFile, t: FlatTable): Uint8Array | undefined {
	const data = t.bytes(0, "data");
	if (data && data.length > 0) return data;
	// Models over 2 GB keep constants after the flatbuffer; offset counts from the start of the file, valid when > 1.
	const offset = t.uint64(1, "offset");
	const size = t.uint64(2, "size");
	if (offset > 1) {
		f.need(offset, size, `${t.where}.offset`);
		return f.bytes.subarray(offset, offset + size);
	}
	return undefined;
}

function readSubgraph(t: FlatTable, codes: TfliteOperatorCode[]): TfliteSubgraph {
	const subgraph: TfliteSubgraph = {
		tensors: t.tables(0, "tensors").map(readTensor),
		inputs: t.int32s(1, "inputs") ?? [],
		outputs: t.int32s(2, "outputs") ?? [],
		operators: t.tables(3, "operators").map((op) => readOperator(op, codes)),
	};
	const name = t.string(4, "name");
	if (name !== undefined) subgraph.name = name;
	return subgraph;
}

function readTensor(t: FlatTable): TfliteTensor {
	const tensor: TfliteTensor = {
		name: t.string(3, "name") ?? "",
		shape: t.int32s(0, "shape") ?? [],
		type: t.int8(1, "type"),
		buffer: t.uint32(2, "buffer"),
	};
	const quantization = t.table(4, "quantization");
	const q = quantization && readQuantization(quantization);
	if (q) tensor.quantization = q;
	if (t.bool(5, "is_variable")) tensor.isVariable = true;
	if (t.has(6)) throw new ModelLoadError(`${t.where} (${tensor.name}): sparse tensors are not supported; densify the model when converting it.`);
	const signature = t.int32s(7, "shape_signature");
	if (signature !== undefined) tensor.shapeSignature = signature;
	return tensor;
}

/** Undefined when the table holds no scales (the converter writes an empty table for float tensors). */
function readQuantization(t: FlatTable): TfliteQuantization | undefined {
	const scale = t.float32s(2, "scale") ?? [];
	const min = t.float32s(0, "min");
	const max = t.float32s(1, "max");
	if (scale.length === 0 && !min?.length && !max?.length) return undefined;
	if (t.uint8(4, "details_type") !== 0) throw new ModelLoadError(`${t.where}: custom or blockwise quantization details are not supported.`);
	const q: TfliteQuantization = { scale, zeroPoint: t.int64s(3, "zero_point") ?? [], quantizedDimension: t.int32(6, "quantized_dimension") };
	if (min !== undefined) q.min = min;
	if (max !== undefined) q.max = max;
	return q;
}

function readOperator(t: FlatTable, codes: TfliteOperatorCode[]): TfliteOperator {
	const operator: TfliteOperator = {
		opcodeIndex: t.uint32(0, "opcode_index"),
		inputs: t.int32s(1, "inputs") ?? [],
		outputs: t.int32s(2, "outputs") ?? [],
		builtinOptionsType: t.uint8(3, "builtin_options_type"),
		builtinOptions: {},
	};
	// Options left out entirely still mean the defaults of the op's usual table (the tag stays 0, as in the file).
	const usual = OPTIONS_OF_OP[codes[operator.opcodeIndex]?.builtinCode ?? -1];
	const table = optionsTable(operator.builtinOptionsType || (usual ? BuiltinOptionsType[usual] : 0));
	const options = operator.builtinOptionsType ? t.table(4, "builtin_options") : undefined;
	if (table) {
		const values: Record<string, OptionValue> = defaultOptions(table);
		table.fields.forEach((field, id) => {
			if (!field || !options?.has(id)) return;
			const name = `${table.name}.${field.name}`;
			switch (field.kind) {
				case "byte": values[field.name] = options.int8(id, name); break;
				case "int": values[field.name] = options.int32(id, name); break;
				case "uint": values[field.name] = options.uint32(id, name); break;
				case "float": values[field.name] = options.float32(id, name); break;
				case "bool": values[field.name] = options.bool(id, name); break;
				case "ints": values[field.name] = options.int32s(id, name) ?? []; break;
			}
		});
		operator.builtinOptions = values;
	}
	const intermediates = t.int32s(8, "intermediates");
	if (intermediates !== undefined) operator.intermediates = intermediates;
	return operator;
}

function readSignature(t: FlatTable): TfliteSignature {
	const tensorMap = (m: FlatTable) => ({ name: m.string(0, "name") ?? "", tensorIndex: m.uint32(1, "tensor_index") });
	return {
		key: t.string(2, "signature_key") ?? "",
		subgraphIndex: t.uint32(4, "subgraph_index"),
		inputs: t.tables(0, "inputs").map(tensorMap),
		outputs: t.tables(1, "outputs").map(tensorMap),
	};
}

/** Cross-references (opcode, tensor and buffer indices) checked once here, so the front end can index freely. */
function validate(model: TfliteModel, file: string): void {
	const fail = (what: string) => {
		throw new ModelLoadError(`${file}: ${what}; the TFLite file is corrupt (re-export it).`);
	};
	if (model.subgraphs.length === 0) fail("the model has no subgraphs");
	model.subgraphs.forEach((subgraph, s) => {
		const count = subgraph.tensors.length;
		const tensorIndex = (index: number, what: string, optional: boolean) => {
			if (!(index < count && (index >= 0 || (optional && index === -1)))) fail(`subgraph ${s} ${what} refers to tensor ${index}, but the subgraph has ${count} tensors`);
		};
		subgraph.tensors.forEach((tensor, i) => {
			if (tensor.buffer >= model.buffers.length) fail(`subgraph ${s} tensor ${i} (${tensor.name}) refers to buffer ${tensor.buffer}, but the model has ${model.buffers.length} buffers`);
			if (tensor.shape.some((d) => d < 0)) fail(`subgraph ${s} tensor ${i} (${tensor.name}) has a negative dimension in shape [${tensor.shape.join(", ")}]`);
		});
		subgraph.inputs.forEach((index) => tensorIndex(index, "input", false));
		subgraph.outputs.forEach((index) => tensorIndex(index, "output", false));
		subgraph.operators.forEach((op, o) => {
			if (op.opcodeIndex >= model.operatorCodes.length) fail(`subgraph ${s} operator ${o} uses opcode ${op.opcodeIndex}, but the model has ${model.operatorCodes.length} operator codes`);
			op.inputs.forEach((index) => tensorIndex(index, `operator ${o} input`, true));
			op.outputs.forEach((index) => tensorIndex(index, `operator ${o} output`, false));
			op.intermediates?.forEach((index) => tensorIndex(index, `operator ${o} intermediate`, false));
		});
	});
	model.signatureDefs?.forEach((signature) => {
		const subgraph = model.subgraphs[signature.subgraphIndex];
		if (!subgraph) fail(`signature "${signature.key}" refers to subgraph ${signature.subgraphIndex}, but the model has ${model.subgraphs.length}`);
		for (const entry of [...signature.inputs, ...signature.outputs]) {
			if (entry.tensorIndex >= subgraph.tensors.length) fail(`signature "${signature.key}" entry "${entry.name}" refers to tensor ${entry.tensorIndex}, but subgraph ${signature.subgraphIndex} has ${subgraph.tensors.length} tensors`);
		}
	});
}
