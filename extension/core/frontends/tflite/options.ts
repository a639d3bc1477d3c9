// The BuiltinOptions union of schema.fbs: one spec per table, shared by the reader and the writer so they stay inverses.
import { BuiltinOperator } from "./types";

/** How a field is stored: byte enums and ints, uint, float32, bool, or a vector of int32. */
export type OptionKind = "byte" | "int" | "uint" | "float" | "bool" | "ints";

/** One field in schema order; its position in the list is its field id. `undefined` keeps the id of a deprecated field. */
export interface OptionField {
	name: string;
	kind: OptionKind;
	default: number | boolean;
}

export interface OptionsTable {
	name: string;
	fields: (OptionField | undefined)[];
}

const byte = (name: string, value = 0): OptionField => ({ name, kind: "byte", default: value });
const int = (name: string, value = 0): OptionField => ({ name, kind: "int", default: value });
const uint = (name: string): OptionField => ({ name, kind: "uint", default: 0 });
const float = (name: string): OptionField => ({ name, kind: "float", default: 0 });
const bool = (name: string, value = false): OptionField => ({ name, kind: "bool", default: value });
const ints = (name: string): OptionField => ({ name, kind: "ints", default: 0 });
const act = byte("fusedActivationFunction");
const asymmetric = bool("asymmetricQuantizeInputs");

/** Fields of the tables Kernel NN reads; a table missing here is read and written as an empty table. */
const FIELDS: Record<string, (OptionField | undefined)[]> = {
	Conv2DOptions: [byte("padding"), int("strideW"), int("strideH"), act, int("dilationWFactor", 1), int("dilationHFactor", 1), byte("quantizedBiasType")],
	DepthwiseConv2DOptions: [byte("padding"), int("strideW"), int("strideH"), int("depthMultiplier"), act, int("dilationWFactor", 1), int("dilationHFactor", 1)],
	Pool2DOptions: [byte("padding"), int("strideW"), int("strideH"), int("filterWidth"), int("filterHeight"), act],
	SVDFOptions: [int("rank"), act, asymmetric],
	RNNOptions: [act, asymmetric],
	FullyConnectedOptions: [act, byte("weightsFormat"), bool("keepNumDims"), asymmetric, byte("quantizedBiasType")],
	SoftmaxOptions: [float("beta")],
	ConcatenationOptions: [int("axis"), act],
	AddOptions: [act, bool("potScaleInt16", true)],
	L2NormOptions: [act],
	LocalResponseNormalizationOptions: [int("radius"), float("bias"), float("alpha"), float("beta")],
	LSTMOptions: [act, float("cellClip"), float("projClip"), byte("kernelType"), asymmetric],
	ResizeBilinearOptions: [undefined, undefined, bool("alignCorners"), bool("halfPixelCenters")],
	CallOptions: [uint("subgraph")],
	ReshapeOptions: [ints("newShape")],
	SpaceToDepthOptions: [int("blockSize")],
	MulOptions: [act],
	GatherOptions: [int("axis"), int("batchDims")],
	ReducerOptions: [bool("keepDims")],
	SubOptions: [act, bool("potScaleInt16", true)],
	DivOptions: [act],
	SqueezeOptions: [ints("squeezeDims")],
	SequenceRNNOptions: [bool("timeMajor"), act, asymmetric],
	StridedSliceOptions: [int("beginMask"), int("endMask"), int("ellipsisMask"), int("newAxisMask"), int("shrinkAxisMask"), bool("offset")],
	SplitOptions: [int("numSplits")],
	CastOptions: [byte("inDataType"), byte("outDataType")],
	ArgMaxOptions: [byte("outputType")],
	TransposeConvOptions: [byte("padding"), int("strideW"), int("strideH"), act, byte("quantizedBiasType")],
	ShapeOptions: [byte("outType")],
	ArgMinOptions: [byte("outputType")],
	FakeQuantOptions: [float("min"), float("max"), int("numBits"), bool("narrowRange")],
	PackOptions: [int("valuesCount"), int("axis")],
	OneHotOptions: [int("axis")],
	UnpackOptions: [int("num"), int("axis")],
	BidirectionalSequenceLSTMOptions: [act, float("cellClip"), float("projClip"), bool("mergeOutputs"), bool("timeMajor", true), asymmetric],
	UnidirectionalSequenceLSTMOptions: [act, float("cellClip"), float("projClip"), bool("timeMajor"), asymmetric, bool("diagonalRecurrentTensors")],
	ResizeNearestNeighborOptions: [bool("alignCorners"), bool("halfPixelCenters")],
	LeakyReluOptions: [float("alpha")],
	MirrorPadOptions: [byte("mode")],
	SplitVOptions: [int("numSplits")],
	ReverseSequenceOptions: [int("seqDim"), int("batchDim")],
	DepthToSpaceOptions: [int("blockSize")],
	BatchMatMulOptions: [bool("adjX"), bool("adjY"), asymmetric],
	GeluOptions: [bool("approximate")],
};

/** The union's members in schema order: the tag of a table is its index + 1 (0 = NONE). */
const UNION = [
	"Conv2DOptions", "DepthwiseConv2DOptions", "ConcatEmbeddingsOptions", "LSHProjectionOptions", "Pool2DOptions",
	"SVDFOptions", "RNNOptions", "FullyConnectedOptions", "SoftmaxOptions", "ConcatenationOptions", "AddOptions",
	"L2NormOptions", "LocalResponseNormalizationOptions", "LSTMOptions", "ResizeBilinearOptions", "CallOptions",
	"ReshapeOptions", "SkipGramOptions", "SpaceToDepthOptions", "EmbeddingLookupSparseOptions", "MulOptions",
	"PadOptions", "GatherOptions", "BatchToSpaceNDOptions", "SpaceToBatchNDOptions", "TransposeOptions",
	"ReducerOptions", "SubOptions", "DivOptions", "SqueezeOptions", "SequenceRNNOptions", "StridedSliceOptions",
	"ExpOptions", "TopKV2Options", "SplitOptions", "LogSoftmaxOptions", "CastOptions", "DequantizeOptions",
	"MaximumMinimumOptions", "ArgMaxOptions", "LessOptions", "NegOptions", "PadV2Options", "GreaterOptions",
	"GreaterEqualOptions", "LessEqualOptions", "SelectOptions", "SliceOptions", "TransposeConvOptions",
	"SparseToDenseOptions", "TileOptions", "ExpandDimsOptions", "EqualOptions", "NotEqualOptions", "ShapeOptions",
	"PowOptions", "ArgMinOptions", "FakeQuantOptions", "PackOptions", "LogicalOrOptions", "OneHotOptions",
	"LogicalAndOptions", "LogicalNotOptions", "UnpackOptions", "FloorDivOptions", "SquareOptions", "ZerosLikeOptions",
	"FillOptions", "BidirectionalSequenceLSTMOptions", "BidirectionalSequenceRNNOptions",
	"UnidirectionalSequenceLSTMOptions", "FloorModOptions", "RangeOptions", "ResizeNearestNeighborOptions",
	"LeakyReluOptions", "SquaredDifferenceOptions", "MirrorPadOptions", "AbsOptions", "SplitVOptions", "UniqueOptions",
	"ReverseV2Options", "AddNOptions", "GatherNdOptions", "CosOptions", "WhereOptions", "RankOptions",
	"ReverseSequenceOptions", "MatrixDiagOptions", "QuantizeOptions", "MatrixSetDiagOptions", "HardSwishOptions",
	"IfOptions", "WhileOptions", "DepthToSpaceOptions", "NonMaxSuppressionV4Options", "NonMaxSuppressionV5Options",
	"ScatterNdOptions", "SelectV2Options", "DensifyOptions", "SegmentSumOptions", "BatchMatMulOptions",
	"CumsumOptions", "CallOnceOptions", "BroadcastToOptions", "Rfft2dOptions", "Conv3DOptions", "HashtableOptions",
	"HashtableFindOptions", "HashtableImportOptions", "HashtableSizeOptions", "VarHandleOptions",
	"ReadVariableOptions", "AssignVariableOptions", "RandomOptions", "BucketizeOptions", "GeluOptions",
] as const;

export type OptionsTableName = (typeof UNION)[number];

/** The BuiltinOptions tag of each table, e.g. BuiltinOptionsType.FullyConnectedOptions = 8. */
export const BuiltinOptionsType = Object.fromEntries(UNION.map((name, i) => [name, i + 1])) as Record<OptionsTableName, number>;

/** The table of a union tag, or undefined for NONE and tags this schema does not know. */
export function optionsTable(tag: number): OptionsTable | undefined {
	const name = UNION[tag - 1];
	return name === undefined ? undefined : { name, fields: FIELDS[name] ?? [] };
}

/** The options table schema.fbs pairs with each builtin op Kernel NN translates (ops with no table are absent). */
export const OPTIONS_OF_OP: Partial<Record<number, OptionsTableName>> = {
	[BuiltinOperator.ADD]: "AddOptions",
	[BuiltinOperator.AVERAGE_POOL_2D]: "Pool2DOptions",
	[BuiltinOperator.CONCATENATION]: "ConcatenationOptions",
	[BuiltinOperator.CONV_2D]: "Conv2DOptions",
	[BuiltinOperator.DEPTHWISE_CONV_2D]: "DepthwiseConv2DOptions",
	[BuiltinOperator.DEQUANTIZE]: "DequantizeOptions",
	[BuiltinOperator.FULLY_CONNECTED]: "FullyConnectedOptions",
	[BuiltinOperator.L2_POOL_2D]: "Pool2DOptions",
	[BuiltinOperator.MAX_POOL_2D]: "Pool2DOptions",
	[BuiltinOperator.MUL]: "MulOptions",
	[BuiltinOperator.RESHAPE]: "ReshapeOptions",
	[BuiltinOperator.SOFTMAX]: "SoftmaxOptions",
	[BuiltinOperator.PAD]: "PadOptions",
	[BuiltinOperator.MEAN]: "ReducerOptions",
	[BuiltinOperator.SUM]: "ReducerOptions",
	[BuiltinOperator.REDUCE_MAX]: "ReducerOptions",
	[BuiltinOperator.REDUCE_MIN]: "ReducerOptions",
	[BuiltinOperator.SUB]: "SubOptions",
	[BuiltinOperator.DIV]: "DivOptions",
	[BuiltinOperator.SQUEEZE]: "SqueezeOptions",
	[BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM]: "UnidirectionalSequenceLSTMOptions",
	[BuiltinOperator.STRIDED_SLICE]: "StridedSliceOptions",
	[BuiltinOperator.PADV2]: "PadV2Options",
	[BuiltinOperator.TRANSPOSE_CONV]: "TransposeConvOptions",
	[BuiltinOperator.LEAKY_RELU]: "LeakyReluOptions",
	[BuiltinOperator.QUANTIZE]: "QuantizeOptions",
	[BuiltinOperator.HARD_SWISH]: "HardSwishOptions",
	[BuiltinOperator.TRANSPOSE]: "TransposeOptions",
	[BuiltinOperator.GATHER]: "GatherOptions",
	[BuiltinOperator.BATCH_MATMUL]: "BatchMatMulOptions",
	[BuiltinOperator.SPLIT]: "SplitOptions",
	[BuiltinOperator.PACK]: "PackOptions",
	[BuiltinOperator.CAST]: "CastOptions",
	[BuiltinOperator.L2_NORMALIZATION]: "L2NormOptions",
	[BuiltinOperator.EXP]: "ExpOptions",
	[BuiltinOperator.MAXIMUM]: "MaximumMinimumOptions",
	[BuiltinOperator.MINIMUM]: "MaximumMinimumOptions",
	[BuiltinOperator.ARG_MAX]: "ArgMaxOptions",
	[BuiltinOperator.ARG_MIN]: "ArgMinOptions",
	[BuiltinOperator.LESS]: "LessOptions",
	[BuiltinOperator.LESS_EQUAL]: "LessEqualOptions",
	[BuiltinOperator.GREATER]: "GreaterOptions",
	[BuiltinOperator.GREATER_EQUAL]: "GreaterEqualOptions",
	[BuiltinOperator.EQUAL]: "EqualOptions",
	[BuiltinOperator.NOT_EQUAL]: "NotEqualOptions",
	[BuiltinOperator.NEG]: "NegOptions",
	[BuiltinOperator.SELECT]: "SelectOptions",
	[BuiltinOperator.SELECT_V2]: "SelectV2Options",
	[BuiltinOperator.SLICE]: "SliceOptions",
	[BuiltinOperator.TILE]: "TileOptions",
	[BuiltinOperator.EXPAND_DIMS]: "ExpandDimsOptions",
	[BuiltinOperator.SHAPE]: "ShapeOptions",
	[BuiltinOperator.POW]: "PowOptions",
	[BuiltinOperator.REDUCE_PROD]: "ReducerOptions",
	[BuiltinOperator.LOGICAL_OR]: "LogicalOrOptions",
	[BuiltinOperator.LOGICAL_AND]: "LogicalAndOptions",
	[BuiltinOperator.LOGICAL_NOT]: "LogicalNotOptions",
	[BuiltinOperator.UNPACK]: "UnpackOptions",
	[BuiltinOperator.FLOOR_DIV]: "FloorDivOptions",
	[BuiltinOperator.FLOOR_MOD]: "FloorModOptions",
	[BuiltinOperator.SQUARE]: "SquareOptions",
	[BuiltinOperator.SQUARED_DIFFERENCE]: "SquaredDifferenceOptions",
	[BuiltinOperator.ZEROS_LIKE]: "ZerosLikeOptions",
	[BuiltinOperator.FILL]: "FillOptions",
	[BuiltinOperator.RANGE]: "RangeOptions",
	[BuiltinOperator.ABS]: "AbsOptions",
	[BuiltinOperator.COS]: "CosOptions",
	[BuiltinOperator.SPLIT_V]: "SplitVOptions",
	[BuiltinOperator.BROADCAST_TO]: "BroadcastToOptions",
};

/**
 * Every scalar field of a table at its default: what the reader returns for an absent field, so kernels never guess.
 * Vectors stay absent, because an absent ReshapeOptions.new_shape means "use the shape input", unlike an empty one.
 */
export function defaultOptions(table: OptionsTable): Record<string, number | boolean> {
	const options: Record<string, number | boolean> = {};
	for (const field of table.fields) {
		if (field && field.kind !== "ints") options[field.name] = field.default;
	}
	return options;
}
