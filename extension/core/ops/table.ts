import { conv3d, convTranspose3d, pool3d } from "../codegen/emitConv3d";
import { convTranspose } from "../codegen/emitConvTranspose";
import { argReduction } from "../codegen/emitArgMax";
import { qConv2D, qDepthwiseConv2D } from "../codegen/cint/conv";
import { qFullyConnected } from "../codegen/cint/fullyConnected";
import { qUnidirectionalSequenceLstm } from "../codegen/cint/lstm";
import { qMean } from "../codegen/cint/mean";
import { qAveragePool2D, qMaxPool2D } from "../codegen/cint/pool";
import { qTransposeConv } from "../codegen/cint/transposeConv";
import { dequantizeFixedOp, quantizeFixedOp } from "../codegen/cint/edges";
import { quantizedHardSwishOp, quantizedLeakyReluOp, quantizedReluOp, quantizedTableOp } from "../codegen/cint/activations";
import { quantizedConcatOp } from "../codegen/cint/concat";
import { quantizedBinaryOp } from "../codegen/cint/elementwise";
import { dequantizeOp, quantizeOp } from "../codegen/cint/quantize";
import { quantizedSoftmaxOp } from "../codegen/cint/softmax";
import { batchMatMul } from "../codegen/emitBatchMatMul";
import { conv2d, pool } from "../codegen/emitConv2d";
import { gatherOp } from "../codegen/emitGather";
import { matMul } from "../codegen/emitMatMul";
import {
	type KernelEmitter, batchNorm, biasAdd, elementwise, fillLike, reduction, softmax,
} from "../codegen/emitKernels";
import { randomOp } from "../codegen/emitRandom";
import { roundOp } from "../codegen/emitRound";
import { softsignOp } from "../codegen/emitSoftsign";
import { trigOp } from "../codegen/emitTrig";
import type { GraphNode } from "../graph/graph";
import { EXECUTOR_OPS } from "../interp/executor";
import type { Kernel } from "../interp/kernel";
import { KERNELS } from "../interp/kernels";
import { RANDOM_KERNELS } from "../interp/kernels/random";
import { TENSOR_ARRAY_OPS } from "../interp/tensorArray";
import { VARIABLE_OPS } from "./variables";

/**
 * How the compiler handles an op:
 * - source: a Const becomes a weight, a fed Placeholder an argument (PlaceholderWithDefault a view of its default);
 * - alias: a view of input 0 with the output's shape (no code); IdentityN's output i views input i;
 * - layout: a copy whose index table the interpreter kernel computes at compile time on position codes; the
 *   inputs other than `dataInputs` must be constants, except where `runtime` emits a kernel for them (Gather);
 * - kernel: C from `emit`;
 * - control: lowered by the compiler's control flow (while loops, tf.cond, TensorArrays, NoOp);
 * - variable: a constant once the graph is frozen with its checkpoint;
 * - folded: compiles only where its value is static, because constant folding replaces it by a Const;
 * - interpreter: never compiles; runs in the reference interpreter only.
 */
export type CompilerRule =
	| { kind: "source" }
	| { kind: "alias" }
	| { kind: "layout"; dataInputs: (node: GraphNode) => number[]; runtime?: KernelEmitter }
	| { kind: "kernel"; emit: KernelEmitter }
	| { kind: "control" }
	| { kind: "variable" }
	| { kind: "folded" }
	| { kind: "interpreter" };

/**
 * What a node's value depends on, for constant folding: its inputs' values, only their shapes (Shape, ZerosLike:
 * always foldable outside loops), or something else (feeds, control flow, state, randomness: never folded).
 */
export type Folding = "inputs" | "shapes" | "never";

/**
 * One op, everything Kernel NN knows about it. Shapes are inferred by running the interpreter (`kernel`, or the
 * executor's own handling for control flow), so there is no separate shape rule to disagree with it.
 */
export interface OpEntry {
	op: string;
	/** How the interpreter runs it: a pure kernel, a random op with state, the executor itself, or not until frozen. */
	interpreter: "kernel" | "random" | "executor" | "variable";
	/** The pure kernel, for interpreter "kernel" (TensorArray ops included). */
	kernel?: Kernel;
	folding: Folding;
	compiler: CompilerRule;
}

const SOURCE = ["Const", "Placeholder", "PlaceholderV2", "PlaceholderWithDefault"];
const ALIAS = ["Identity", "IdentityN", "StopGradient", "Snapshot", "PreventGradient", "Reshape", "ExpandDims", "Squeeze", "LoopCond"];
const CONTROL = [
	"Enter", "RefEnter", "Exit", "RefExit", "Merge", "RefMerge", "Switch", "RefSwitch", "NextIteration", "RefNextIteration",
	"NoOp", "ControlTrigger", "TensorArrayV3", "TensorArrayWriteV3", "TensorArrayReadV3", "TensorArrayScatterV3", "TensorArrayGatherV3",
];
// TensorArraySizeV3 is not here: it folds only for a fixed-size array (see interp/infer.ts and ops/support.ts).
const SHAPE_ONLY = ["Shape", "ShapeN", "Size", "Rank", "ZerosLike", "OnesLike"];
const NEVER_FOLDED = new Set([...SOURCE.filter((op) => op !== "Const"), ...CONTROL, "LoopCond", "TensorArrayCloseV3"]);
const first = (): number[] => [0];
const LAYOUT: Record<string, (node: GraphNode) => number[]> = {
	Transpose: first, Slice: first, StridedSlice: first, Tile: first, Pad: first, PadV2: first, MirrorPad: first,
	GatherV2: first, Gather: first, ResourceGather: first, Reverse: first, ReverseV2: first, Unpack: first, SplitV: first, BroadcastTo: first,
	Split: () => [1],
	ConcatV2: (n) => n.inputs.slice(0, -1).map((_, i) => i),
	Concat: (n) => n.inputs.slice(1).map((_, i) => i + 1),
	Pack: (n) => n.inputs.map((_, i) => i),
};
const GATHERS = new Set(["Gather", "GatherV2", "ResourceGather"]);
const EMITTERS: [KernelEmitter, string[]][] = [
	[elementwise, [
		"Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "Maximum", "Minimum", "SquaredDifference", "Pow", "Less", "LessEqual", "Greater",
		"GreaterEqual", "Equal", "NotEqual", "LogicalAnd", "LogicalOr", "LogicalNot", "Sigmoid", "Tanh", "Relu", "Relu6", "Elu", "Selu",
		"Exp", "Log", "Log1p", "Expm1", "Neg", "Abs", "Sqrt", "Rsqrt", "Square", "Softplus", "LeakyRelu", "Reciprocal", "Inv", "Erf",
		"Sin", "Cos", "Sign", "Floor", "Ceil", "Cast", "AddN", "Select", "SelectV2",
	]],
	[elementwise, ["FloorDiv", "FloorMod", "Mod", "TruncateDiv", "TruncateMod"]],
	[biasAdd, ["BiasAdd"]],
	[matMul, ["MatMul"]],
	[batchMatMul, ["BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"]],
	[softmax, ["Softmax", "LogSoftmax"]],
	[reduction, ["Mean", "Sum", "Max", "Min", "Prod"]],
	[conv2d, ["Conv2D", "DepthwiseConv2dNative"]],
	[pool, ["MaxPool", "AvgPool"]],
	[convTranspose, ["Conv2DBackpropInput"]],
	[conv3d, ["Conv3D"]],
	[pool3d, ["MaxPool3D", "AvgPool3D"]],
	[convTranspose3d, ["Conv3DBackpropInputV2"]],
	[batchNorm, ["FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"]],
	[fillLike, ["ZerosLike", "OnesLike"]],
	[argReduction, ["ArgMax", "ArgMin"]],
	[roundOp, ["Round"]],
	[softsignOp, ["Softsign"]],
	[trigOp, ["Tan", "Atan", "Asin", "Acos", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh"]],
	[randomOp, [...RANDOM_KERNELS.keys()]],
	[qFullyConnected, ["QFullyConnected"]],
	[qConv2D, ["QConv2D"]],
	[qDepthwiseConv2D, ["QDepthwiseConv2D"]],
	[qTransposeConv, ["QTransposeConv"]],
	[qAveragePool2D, ["QAveragePool2D"]],
	[qMaxPool2D, ["QMaxPool2D"]],
	[qMean, ["QMean"]],
	[qUnidirectionalSequenceLstm, ["QUnidirectionalSequenceLstm"]],
	[quantizeFixedOp, ["QQuantizeFixed"]],
	[dequantizeFixedOp, ["QDequantizeFixed"]],
	[quantizedBinaryOp, ["QAdd", "QSub", "QMul"]],
	[quantizedTableOp, ["QLogistic", "QTanh"]],
	[quantizedReluOp, ["QRelu", "QRelu6"]],
	[quantizedLeakyReluOp, ["QLeakyRelu"]],
	[quantizedHardSwishOp, ["QHardSwish"]],
	[quantizedSoftmaxOp, ["QSoftmax"]],
	[quantizedConcatOp, ["QConcatenation"]],
	[quantizeOp, ["QQuantize"]],
	[dequantizeOp, ["QDequantize"]],
];
const KERNEL_EMITTERS = new Map(EMITTERS.flatMap(([emit, ops]) => ops.map((op) => [op, emit] as const)));

function compilerRule(op: string): CompilerRule {
	if (SOURCE.includes(op)) return { kind: "source" };
	if (ALIAS.includes(op)) return { kind: "alias" };
	if (CONTROL.includes(op)) return { kind: "control" };
	if (VARIABLE_OPS.has(op)) return { kind: "variable" };
	if (op in LAYOUT) return { kind: "layout", dataInputs: LAYOUT[op], ...(GATHERS.has(op) ? { runtime: gatherOp } : {}) };
	const emit = KERNEL_EMITTERS.get(op);
	if (emit) return { kind: "kernel", emit };
	if (op === "TensorArrayCloseV3") return { kind: "interpreter" };
	return { kind: "folded" };
}

function build(): ReadonlyMap<string, OpEntry> {
	const table = new Map<string, OpEntry>();
	const add = (op: string, interpreter: OpEntry["interpreter"], kernel?: Kernel) => {
		if (table.has(op)) throw new Error(`the op table lists ${op} twice`);
		const folding: Folding = SHAPE_ONLY.includes(op) ? "shapes" : NEVER_FOLDED.has(op) || interpreter !== "kernel" ? "never" : "inputs";
		table.set(op, { op, interpreter, kernel, folding, compiler: compilerRule(op) });
	};
	for (const op of EXECUTOR_OPS) add(op, "executor");
	for (const op of VARIABLE_OPS) add(op, "variable");
	for (const op of RANDOM_KERNELS.keys()) add(op, "random");
	// The executor runs NoOp itself before it would look for a kernel.
	for (const [op, kernel] of [...KERNELS, ...TENSOR_ARRAY_OPS]) if (!EXECUTOR_OPS.has(op)) add(op, "kernel", kernel);
	// Constants are what folding starts from; the executor runs them itself.
	for (const op of ["Const", "HostConst"]) table.get(op)!.folding = "inputs";
	for (const entry of table.values()) {
		const { compiler } = entry;
		if (compiler.kind === "layout" && !entry.kernel) throw new Error(`layout op ${entry.op} has no interpreter kernel to compute its copy table`);
	}
	for (const op of [...SOURCE, ...ALIAS, ...CONTROL, ...Object.keys(LAYOUT), ...KERNEL_EMITTERS.keys()]) {
		if (!table.has(op)) throw new Error(`the compiler handles ${op}, but the interpreter cannot run it`);
	}
	return table;
}

/** Every op Kernel NN knows, by TensorFlow op name (the IR's op vocabulary). */
export const OP_TABLE: ReadonlyMap<string, OpEntry> = build();

export function opEntry(op: string): OpEntry | undefined {
	return OP_TABLE.get(op);
}

/** Ops the interpreter can run (variables only once frozen, so not these). */
export function interpreterOps(): Set<string> {
	return new Set([...OP_TABLE.values()].filter((e) => e.interpreter !== "variable").map((e) => e.op));
}

/** Ops the compiler lowers wherever they stand (folded-only, interpreter-only and variable ops are not among them). */
export function compilerOps(): Set<string> {
	const lowered = new Set<CompilerRule["kind"]>(["source", "alias", "layout", "kernel", "control"]);
	return new Set([...OP_TABLE.values()].filter((e) => lowered.has(e.compiler.kind)).map((e) => e.op));
}

/** Whether a node's value may be folded to a constant, given whether its inputs' values are static. */
export function foldingOf(op: string): Folding {
	return OP_TABLE.get(op)?.folding ?? "never";
}
