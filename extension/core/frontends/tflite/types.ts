// The parsed form of a TFLite flatbuffer (schema.fbs), kept close to the file so the reader and writer are inverses.

/** TensorType values from TFLite's schema.fbs. */
export enum TensorType {
	FLOAT32 = 0,
	FLOAT16 = 1,
	INT32 = 2,
	UINT8 = 3,
	INT64 = 4,
	STRING = 5,
	BOOL = 6,
	INT16 = 7,
	COMPLEX64 = 8,
	INT8 = 9,
	FLOAT64 = 10,
	COMPLEX128 = 11,
	UINT64 = 12,
	RESOURCE = 13,
	VARIANT = 14,
	UINT32 = 15,
	UINT16 = 16,
	INT4 = 17,
	BFLOAT16 = 18,
}

/** BuiltinOperator codes from TFLite's schema.fbs (the ones Kernel NN reads, plus common neighbours). */
export const BuiltinOperator = {
	ADD: 0,
	AVERAGE_POOL_2D: 1,
	CONCATENATION: 2,
	CONV_2D: 3,
	DEPTHWISE_CONV_2D: 4,
	DEPTH_TO_SPACE: 5,
	DEQUANTIZE: 6,
	EMBEDDING_LOOKUP: 7,
	FLOOR: 8,
	FULLY_CONNECTED: 9,
	L2_NORMALIZATION: 11,
	L2_POOL_2D: 12,
	LOGISTIC: 14,
	LSTM: 16,
	MAX_POOL_2D: 17,
	MUL: 18,
	RELU: 19,
	RELU_N1_TO_1: 20,
	RELU6: 21,
	RESHAPE: 22,
	RESIZE_BILINEAR: 23,
	RNN: 24,
	SOFTMAX: 25,
	SPACE_TO_DEPTH: 26,
	SVDF: 27,
	TANH: 28,
	CALL: 31,
	CUSTOM: 32,
	PAD: 34,
	UNIDIRECTIONAL_SEQUENCE_RNN: 35,
	GATHER: 36,
	BATCH_TO_SPACE_ND: 37,
	SPACE_TO_BATCH_ND: 38,
	TRANSPOSE: 39,
	MEAN: 40,
	SUB: 41,
	DIV: 42,
	SQUEEZE: 43,
	UNIDIRECTIONAL_SEQUENCE_LSTM: 44,
	STRIDED_SLICE: 45,
	BIDIRECTIONAL_SEQUENCE_RNN: 46,
	EXP: 47,
	SPLIT: 49,
	LOG_SOFTMAX: 50,
	BIDIRECTIONAL_SEQUENCE_LSTM: 52,
	CAST: 53,
	PRELU: 54,
	MAXIMUM: 55,
	ARG_MAX: 56,
	MINIMUM: 57,
	LESS: 58,
	NEG: 59,
	PADV2: 60,
	GREATER: 61,
	GREATER_EQUAL: 62,
	LESS_EQUAL: 63,
	SELECT: 64,
	SLICE: 65,
	SIN: 66,
	TRANSPOSE_CONV: 67,
	TILE: 69,
	EXPAND_DIMS: 70,
	EQUAL: 71,
	NOT_EQUAL: 72,
	LOG: 73,
	SUM: 74,
	SQRT: 75,
	RSQRT: 76,
	SHAPE: 77,
	POW: 78,
	ARG_MIN: 79,
	FAKE_QUANT: 80,
	REDUCE_PROD: 81,
	REDUCE_MAX: 82,
	PACK: 83,
	LOGICAL_OR: 84,
	LOGICAL_AND: 86,
	LOGICAL_NOT: 87,
	UNPACK: 88,
	REDUCE_MIN: 89,
	FLOOR_DIV: 90,
	SQUARE: 92,
	ZEROS_LIKE: 93,
	FILL: 94,
	FLOOR_MOD: 95,
	RANGE: 96,
	LEAKY_RELU: 98,
	SQUARED_DIFFERENCE: 99,
	MIRROR_PAD: 100,
	ABS: 101,
	SPLIT_V: 102,
	CEIL: 104,
	REVERSE_V2: 105,
	COS: 108,
	ELU: 111,
	QUANTIZE: 114,
	ROUND: 116,
	HARD_SWISH: 117,
	SELECT_V2: 123,
	BATCH_MATMUL: 126,
	PLACEHOLDER_FOR_GREATER_OP_CODES: 127,
	BROADCAST_TO: 130,
	GELU: 150,
} as const;

/** ActivationFunctionType values from schema.fbs (fused activations). */
export const ActivationFunctionType = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4, SIGN_BIT: 5 } as const;

/** Padding values from schema.fbs. */
export const Padding = { SAME: 0, VALID: 1 } as const;

export interface TfliteQuantization {
	scale: number[];
	zeroPoint: number[];
	quantizedDimension: number;
	min?: number[];
	max?: number[];
}

export interface TfliteTensor {
	name: string;
	shape: number[];
	shapeSignature?: number[];
	type: TensorType;
	buffer: number;
	quantization?: TfliteQuantization;
	isVariable?: boolean;
}

export type OptionValue = number | boolean | string | number[];

export interface TfliteOperator {
	opcodeIndex: number;
	/** -1 marks an optional input that is absent. */
	inputs: number[];
	outputs: number[];
	/** BuiltinOptions union tag; 0 = none. */
	builtinOptionsType: number;
	/** camelCase schema field names (fusedActivationFunction, strideW, ...); enums as their numbers. */
	builtinOptions: Record<string, OptionValue>;
	intermediates?: number[];
}

export interface TfliteOperatorCode {
	/** max(builtin_code, deprecated_builtin_code): old files only fill the deprecated byte. */
	builtinCode: number;
	customCode?: string;
	version: number;
}

export interface TfliteSubgraph {
	name?: string;
	tensors: TfliteTensor[];
	inputs: number[];
	outputs: number[];
	operators: TfliteOperator[];
}

export interface TfliteSignature {
	key: string;
	subgraphIndex: number;
	inputs: { name: string; tensorIndex: number }[];
	outputs: { name: string; tensorIndex: number }[];
}

export interface TfliteModel {
	version: number;
	description?: string;
	operatorCodes: TfliteOperatorCode[];
	subgraphs: TfliteSubgraph[];
	buffers: (Uint8Array | undefined)[];
	signatureDefs?: TfliteSignature[];
}
