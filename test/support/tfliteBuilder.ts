// Assembles small TFLite models (one op or a short chain) for op tests: tensors with quantization, constant buffers,
// operators by BuiltinOperator code, then writeTflite. Options tables follow the op (ADD -> AddOptions, ...).
import { BuiltinOptionsType, OPTIONS_OF_OP, type OptionsTableName } from "../../extension/core/frontends/tflite/options";
import { type OptionValue, TensorType, type TfliteModel, type TfliteQuantization, type TfliteSubgraph } from "../../extension/core/frontends/tflite/types";
import { writeTflite } from "../../extension/core/frontends/tflite/write";

/** Quantization of a tensor: one scale/zero point (per tensor) or one per channel along `axis`. */
export interface QuantSpec {
	scale: number | number[];
	zeroPoint?: number | number[];
	axis?: number;
}

export interface OpSpec {
	/** camelCase fields of the op's options table; absent fields take the schema default. */
	options?: Record<string, OptionValue>;
	/** Overrides the options table the op normally carries (e.g. an op this builder does not pair). */
	optionsTable?: OptionsTableName;
	version?: number;
	intermediates?: number[];
}

/** Little-endian bytes of `values` stored as `type` (integers are expected already quantized). */
export function tensorBytes(type: TensorType, values: ArrayLike<number>): Uint8Array {
	const from = Array.from(values);
	let typed: ArrayBufferView;
	switch (type) {
		case TensorType.FLOAT32: typed = Float32Array.from(from); break;
		case TensorType.FLOAT64: typed = Float64Array.from(from); break;
		case TensorType.INT8: typed = Int8Array.from(from); break;
		case TensorType.UINT8: case TensorType.BOOL: typed = Uint8Array.from(from); break;
		case TensorType.INT16: typed = Int16Array.from(from); break;
		case TensorType.INT32: typed = Int32Array.from(from); break;
		case TensorType.INT64: typed = BigInt64Array.from(from, (v) => BigInt(v)); break;
		default: throw new Error(`tfliteBuilder: constants of TensorType ${TensorType[type]} are not supported`);
	}
	return new Uint8Array(typed.buffer.slice(typed.byteOffset, typed.byteOffset + typed.byteLength));
}

const INT_RANGE: Partial<Record<TensorType, [number, number]>> = {
	[TensorType.INT8]: [-128, 127], [TensorType.UINT8]: [0, 255], [TensorType.INT16]: [-32768, 32767],
	[TensorType.INT32]: [-2147483648, 2147483647],
};

/** Affine quantization as TFLite's reference Quantize: round half away from zero, add the zero point, saturate. */
export function quantize(values: ArrayLike<number>, scale: number, zeroPoint: number, type: TensorType): number[] {
	const [low, high] = INT_RANGE[type] ?? [-Infinity, Infinity];
	return Array.from(values, (v) => {
		const q = Math.sign(v / scale) * Math.round(Math.abs(v / scale)) + zeroPoint;
		return Math.min(high, Math.max(low, q));
	});
}

export function dequantize(values: ArrayLike<number>, scale: number, zeroPoint: number): number[] {
	return Array.from(values, (q) => (q - zeroPoint) * scale);
}

/** Builds one subgraph; every method returns indices the next call can use. */
export class TfliteBuilder {
	private readonly model: TfliteModel = { version: 3, operatorCodes: [], subgraphs: [], buffers: [undefined] };
	private readonly graph: TfliteSubgraph = { name: "main", tensors: [], inputs: [], outputs: [], operators: [] };

	constructor(description = "Kernel NN test model") {
		this.model.description = description;
		this.model.subgraphs.push(this.graph);
	}

	/** Adds a tensor (an activation unless `data` is given); returns its index. */
	tensor(name: string, type: TensorType, shape: number[], quant?: QuantSpec, data?: Uint8Array): number {
		let buffer = 0;
		if (data) {
			buffer = this.model.buffers.length;
			this.model.buffers.push(data);
		}
		this.graph.tensors.push({ name, shape, type, buffer, ...(quant ? { quantization: quantization(quant) } : {}) });
		return this.graph.tensors.length - 1;
	}

	/** Adds a constant tensor holding `values` (quantized integers for integer types); returns its index. */
	constant(name: string, type: TensorType, shape: number[], values: ArrayLike<number>, quant?: QuantSpec): number {
		const count = shape.reduce((a, b) => a * b, 1);
		if (values.length !== count) throw new Error(`tfliteBuilder: constant ${name} [${shape.join(", ")}] needs ${count} values, got ${values.length}`);
		return this.tensor(name, type, shape, quant, tensorBytes(type, values));
	}

	/** A subgraph input: an activation tensor the caller feeds. */
	input(name: string, type: TensorType, shape: number[], quant?: QuantSpec): number {
		const index = this.tensor(name, type, shape, quant);
		this.graph.inputs.push(index);
		return index;
	}

	/** Marks existing tensors as subgraph outputs, in order. */
	output(...indices: number[]): this {
		this.graph.outputs.push(...indices);
		return this;
	}

	/** Adds an operator (BuiltinOperator code) reading `inputs` (-1 = absent optional input) and writing `outputs`. */
	op(code: number, inputs: number[], outputs: number[], spec: OpSpec = {}): this {
		const version = spec.version ?? 1;
		let opcodeIndex = this.model.operatorCodes.findIndex((c) => c.builtinCode === code && c.version === version);
		if (opcodeIndex < 0) opcodeIndex = this.model.operatorCodes.push({ builtinCode: code, version }) - 1;
		const table = spec.optionsTable ?? OPTIONS_OF_OP[code];
		this.graph.operators.push({
			opcodeIndex, inputs, outputs,
			builtinOptionsType: table ? BuiltinOptionsType[table] : 0,
			builtinOptions: spec.options ?? {},
			...(spec.intermediates ? { intermediates: spec.intermediates } : {}),
		});
		return this;
	}

	/** The model as assembled so far (for tests that inspect or alter it before writing). */
	toModel(): TfliteModel {
		return this.model;
	}

	/** The .tflite bytes. */
	build(): Uint8Array {
		return writeTflite(this.model);
	}
}

function quantization(spec: QuantSpec): TfliteQuantization {
	const scale = Array.isArray(spec.scale) ? spec.scale : [spec.scale];
	const zero = spec.zeroPoint ?? 0;
	const zeroPoint = Array.isArray(zero) ? zero : scale.map(() => zero);
	return { scale: scale.map(Math.fround), zeroPoint, quantizedDimension: spec.axis ?? 0 };
}
