// Float math beyond the activations: unary functions, POW and the integer divisions, comparisons, logical ops,
// SELECT, ELU, PRELU, L2_NORMALIZATION, CAST and BATCH_MATMUL. These have no integer kernel in Kernel NN, so a
// quantized one is refused by name (CAST and SELECT copy values and read any type).
import { makeTensor } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import { BuiltinOperator } from "../types";
import type { OpContext } from "./context";
import { type OpTranslator, T, floatActivation, floatInput, isQuantizedOp } from "./common";

const F32 = { T: irAttr.type("float32") };

function refuseQuantized(ctx: OpContext, reads = "float32 and int32"): void {
	if (isQuantizedOp(ctx) || (ctx.inputCount > 0 && ctx.has(0) && ["int8", "uint8", "int16"].includes(ctx.dtype(0)))) {
		ctx.fail(`it computes on quantized ${ctx.has(0) ? ctx.dtype(0) : ctx.outDtype()} values; Kernel NN reads ${ctx.opName} on ${reads} tensors only (keep it in float when converting)`);
	}
}

function unary(tfOp: string): OpTranslator {
	return (ctx) => {
		refuseQuantized(ctx);
		ctx.output(0, ctx.add(tfOp, tfOp, [ctx.input(0)], T(ctx)));
	};
}

/** Arithmetic with numpy broadcasting; float constants stored as int8 or float16 weights are widened first. */
function binary(tfOp: string): OpTranslator {
	return (ctx) => {
		refuseQuantized(ctx);
		const float = ctx.outDtype() === "float32";
		const operand = (i: number) => (float ? floatInput(ctx, i, `operand${i}`) : ctx.input(i));
		ctx.output(0, ctx.add(tfOp, tfOp, [operand(0), operand(1)], T(ctx)));
	};
}

/** Float FLOOR_DIV is floor(x / y) in TFLite; integers keep FloorDiv. */
const floorDiv: OpTranslator = (ctx) => {
	refuseQuantized(ctx);
	if (ctx.outDtype() !== "float32") {
		ctx.output(0, ctx.add("FloorDiv", "FloorDiv", [ctx.input(0), ctx.input(1)], T(ctx)));
		return;
	}
	const quotient = ctx.add("RealDiv", "quotient", [floatInput(ctx, 0, "operand0"), floatInput(ctx, 1, "operand1")], F32);
	ctx.output(0, ctx.add("Floor", "FloorDiv", [quotient], F32));
};

/** Comparisons and logical ops: bool outputs, typed by their operands. */
function predicate(tfOp: string): OpTranslator {
	return (ctx) => {
		refuseQuantized(ctx, "float32, int32 and bool");
		const inputs = ctx.op.inputs.map((_, i) => ctx.input(i));
		ctx.output(0, ctx.add(tfOp, tfOp, inputs, tfOp.startsWith("Logical") ? {} : { T: irAttr.type(ctx.dtype(0)) }));
	};
}

/** SELECT broadcasts a vector condition over the first dimension as TensorFlow's Select does; SELECT_V2 broadcasts numpy-style. */
function select(tfOp: string): OpTranslator {
	return (ctx) => {
		ctx.output(0, ctx.add(tfOp, tfOp, [ctx.input(0), ctx.input(1), ctx.input(2)], { T: irAttr.type(ctx.outDtype()) }));
	};
}

/** input >= 0 ? input : input * alpha, alpha broadcast against the input (TFLite's reference PRELU). */
const prelu: OpTranslator = (ctx) => {
	refuseQuantized(ctx, "float32");
	const x = ctx.input(0);
	const positive = ctx.add("GreaterEqual", "non_negative", [x, ctx.addConst("zero", makeTensor("float32", [], [0]))], F32);
	const scaled = ctx.add("Mul", "scaled", [x, floatInput(ctx, 1, "alpha")], F32);
	ctx.output(0, ctx.add("SelectV2", "PRelu", [positive, x, scaled], F32));
};

/** x / max(sqrt(sum(x^2)), 1e-6) over the last axis, TFLite's float L2Normalization. */
const l2Normalization: OpTranslator = (ctx) => {
	refuseQuantized(ctx, "float32");
	const x = ctx.input(0);
	const last = ctx.shape(0).length - 1;
	const squares = ctx.add("Square", "square", [x], F32);
	const sum = ctx.add("Sum", "sum", [squares, ctx.ints32("axis", [last])], { ...F32, Tidx: irAttr.type("int32"), keep_dims: irAttr.b(true) });
	const norm = ctx.add("Sqrt", "norm", [sum], F32);
	const bounded = ctx.add("Maximum", "norm_bounded", [norm, ctx.addConst("epsilon", makeTensor("float32", [], [1e-6]))], F32);
	ctx.output(0, floatActivation(ctx, ctx.add("RealDiv", "L2Normalize", [x, bounded], F32)));
};

/** Float to integer truncates toward zero in both; quantized integers are cast as the integers they store. */
const cast: OpTranslator = (ctx) => {
	ctx.output(0, ctx.add("Cast", "Cast", [ctx.input(0)], { SrcT: irAttr.type(ctx.dtype(0)), DstT: irAttr.type(ctx.outDtype()), Truncate: irAttr.b(false) }));
};

const batchMatMul: OpTranslator = (ctx) => {
	refuseQuantized(ctx, "float32");
	ctx.output(0, ctx.add("BatchMatMulV2", "BatchMatMulV2", [floatInput(ctx, 0, "x"), floatInput(ctx, 1, "y")], {
		...F32, adj_x: irAttr.b(ctx.bool("adjX")), adj_y: irAttr.b(ctx.bool("adjY")),
	}));
};

export const MATH_TRANSLATORS: ReadonlyMap<number, OpTranslator> = new Map([
	[BuiltinOperator.EXP, unary("Exp")],
	[BuiltinOperator.LOG, unary("Log")],
	[BuiltinOperator.SQRT, unary("Sqrt")],
	[BuiltinOperator.RSQRT, unary("Rsqrt")],
	[BuiltinOperator.SQUARE, unary("Square")],
	[BuiltinOperator.NEG, unary("Neg")],
	[BuiltinOperator.ABS, unary("Abs")],
	[BuiltinOperator.FLOOR, unary("Floor")],
	[BuiltinOperator.CEIL, unary("Ceil")],
	[BuiltinOperator.ROUND, unary("Round")],
	[BuiltinOperator.SIN, unary("Sin")],
	[BuiltinOperator.COS, unary("Cos")],
	[BuiltinOperator.ELU, unary("Elu")],
	[BuiltinOperator.POW, binary("Pow")],
	[BuiltinOperator.FLOOR_DIV, floorDiv],
	[BuiltinOperator.FLOOR_MOD, binary("FloorMod")],
	[BuiltinOperator.LESS, predicate("Less")],
	[BuiltinOperator.LESS_EQUAL, predicate("LessEqual")],
	[BuiltinOperator.GREATER, predicate("Greater")],
	[BuiltinOperator.GREATER_EQUAL, predicate("GreaterEqual")],
	[BuiltinOperator.EQUAL, predicate("Equal")],
	[BuiltinOperator.NOT_EQUAL, predicate("NotEqual")],
	[BuiltinOperator.LOGICAL_AND, predicate("LogicalAnd")],
	[BuiltinOperator.LOGICAL_OR, predicate("LogicalOr")],
	[BuiltinOperator.LOGICAL_NOT, predicate("LogicalNot")],
	[BuiltinOperator.SELECT, select("Select")],
	[BuiltinOperator.SELECT_V2, select("SelectV2")],
	[BuiltinOperator.PRELU, prelu],
	[BuiltinOperator.L2_NORMALIZATION, l2Normalization],
	[BuiltinOperator.CAST, cast],
	[BuiltinOperator.BATCH_MATMUL, batchMatMul],
]);
