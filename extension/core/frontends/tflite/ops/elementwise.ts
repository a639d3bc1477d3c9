// Binary arithmetic (numpy broadcasting, as TFLite's), activations, SOFTMAX, QUANTIZE and DEQUANTIZE.
import { makeTensor, numbers } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import { BuiltinOperator } from "../types";
import type { OpContext } from "./context";
import { type OpTranslator, T, floatActivation, floatConstant, floatInput, isQuantizedOp } from "./common";
import { addQuantized } from "./quantized";

const F32 = { T: irAttr.type("float32") };

function binary(tfOp: string, qOp?: string, fused = true): OpTranslator {
	return (ctx) => {
		if (isQuantizedOp(ctx)) {
			const op = qOp ?? ctx.fail(`it is quantized (${ctx.outDtype()}); Kernel NN reads ${ctx.opName} on float32 and int32 tensors only`);
			ctx.output(0, addQuantized(ctx, op, [0, 1], {}));
			return;
		}
		const dtype = ctx.outDtype();
		const operand = (i: number) => (dtype === "float32" ? floatInput(ctx, i, `operand${i}`) : ctx.input(i));
		const y = ctx.add(tfOp, tfOp, [operand(0), operand(1)], { T: irAttr.type(dtype) });
		ctx.output(0, fused && dtype === "float32" ? floatActivation(ctx, y) : y);
	};
}

function unary(tfOp: string, qOp: string, attr: (ctx: OpContext) => Record<string, ReturnType<typeof irAttr.f>> = () => ({})): OpTranslator {
	return (ctx) => {
		if (isQuantizedOp(ctx)) {
			ctx.output(0, addQuantized(ctx, qOp, [0], attr(ctx), { activation: "NONE" }));
			return;
		}
		ctx.output(0, ctx.add(tfOp, tfOp, [ctx.input(0)], { ...T(ctx), ...attr(ctx) }));
	};
}

const reluN1To1: OpTranslator = (ctx) => {
	if (isQuantizedOp(ctx)) ctx.fail(`it is quantized (${ctx.outDtype()}); Kernel NN reads RELU_N1_TO_1 on float32 only`);
	ctx.output(0, floatActivation(ctx, ctx.input(0), "RELU_N1_TO_1"));
};

/** x * relu6(x + 3) / 6, in TFLite's float order. */
const hardSwish: OpTranslator = (ctx) => {
	if (isQuantizedOp(ctx)) {
		ctx.output(0, addQuantized(ctx, "QHardSwish", [0], {}, { activation: "NONE" }));
		return;
	}
	const x = ctx.input(0);
	const shifted = ctx.add("AddV2", "plus3", [x, ctx.addConst("3", makeTensor("float32", [], [3]))], F32);
	const product = ctx.add("Mul", "times", [x, ctx.add("Relu6", "Relu6", [shifted], F32)], F32);
	ctx.output(0, ctx.add("RealDiv", "HardSwish", [product, ctx.addConst("6", makeTensor("float32", [], [6]))], F32));
};

const softmax: OpTranslator = (ctx) => {
	const beta = ctx.num("beta", 0);
	if (isQuantizedOp(ctx)) {
		ctx.output(0, addQuantized(ctx, "QSoftmax", [0], { beta: irAttr.f(beta) }, { activation: "NONE" }));
		return;
	}
	const x = beta === 1 ? ctx.input(0) : ctx.add("Mul", "beta", [ctx.input(0), ctx.addConst("beta/value", makeTensor("float32", [], [beta]))], F32);
	ctx.output(0, ctx.add("Softmax", "Softmax", [x], F32));
};

const quantize: OpTranslator = (ctx) => {
	const input = ctx.dtype(0);
	if (input !== "float32" && !["int8", "uint8", "int16"].includes(input)) ctx.fail(`its input is ${input}; QUANTIZE reads float32 or a quantized integer type`);
	if (!["int8", "uint8", "int16"].includes(ctx.outDtype())) ctx.fail(`its output is ${ctx.outDtype()}; Kernel NN quantizes to int8, uint8 or int16`);
	ctx.output(0, addQuantized(ctx, "QQuantize", [0], {}, { activation: "NONE" }));
};

/** Constant inputs (float16 or int8 weights) are dequantized at load time; computed ones by QDequantize. */
const dequantize: OpTranslator = (ctx) => {
	const value = ctx.constant(0);
	if (value) {
		const widened = floatConstant(ctx, 0);
		if (!widened || widened.dtype !== "float32") return ctx.fail(`its constant input is ${value.dtype} without quantization parameters`);
		ctx.output(0, ctx.addConst("value", widened));
		return;
	}
	if (!["int8", "uint8", "int16"].includes(ctx.dtype(0))) ctx.fail(`its input is ${ctx.dtype(0)}; DEQUANTIZE reads int8, uint8 or int16`);
	ctx.output(0, addQuantized(ctx, "QDequantize", [0], {}, { activation: "NONE" }));
};

/** Numbers of a small constant input (axes, shapes), whatever its integer type. */
export function constantInts(ctx: OpContext, i: number, what: string): number[] {
	return Array.from(numbers(ctx.requireConstant(i, what)));
}

export const ELEMENTWISE_TRANSLATORS: ReadonlyMap<number, OpTranslator> = new Map([
	[BuiltinOperator.ADD, binary("AddV2", "QAdd")],
	[BuiltinOperator.SUB, binary("Sub", "QSub")],
	[BuiltinOperator.MUL, binary("Mul", "QMul")],
	[BuiltinOperator.DIV, binary("RealDiv")],
	[BuiltinOperator.MAXIMUM, binary("Maximum", undefined, false)],
	[BuiltinOperator.MINIMUM, binary("Minimum", undefined, false)],
	[BuiltinOperator.SQUARED_DIFFERENCE, binary("SquaredDifference", undefined, false)],
	[BuiltinOperator.LOGISTIC, unary("Sigmoid", "QLogistic")],
	[BuiltinOperator.TANH, unary("Tanh", "QTanh")],
	[BuiltinOperator.RELU, unary("Relu", "QRelu")],
	[BuiltinOperator.RELU6, unary("Relu6", "QRelu6")],
	[BuiltinOperator.LEAKY_RELU, unary("LeakyRelu", "QLeakyRelu", (ctx) => ({ alpha: irAttr.f(ctx.num("alpha", 0.2)) }))],
	[BuiltinOperator.RELU_N1_TO_1, reluN1To1],
	[BuiltinOperator.HARD_SWISH, hardSwish],
	[BuiltinOperator.SOFTMAX, softmax],
	[BuiltinOperator.QUANTIZE, quantize],
	[BuiltinOperator.DEQUANTIZE, dequantize],
]);
