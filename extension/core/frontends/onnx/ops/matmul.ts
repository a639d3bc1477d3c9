// ONNX Gemm and MatMul. Matrix-by-matrix products become MatMul (with a constant bias as BiasAdd, so the compiler
// fuses bias and activation into the product); batched products with a matrix of weights fold the batch into rows,
// and only products of two batched operands need BatchMatMulV2.

import { makeTensor, numbers, shapeSize } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import type { OnnxTranslator, TranslatorFamily } from "../translator";
import { intConst } from "./indexArgs";

const matMul: OnnxTranslator = (ctx) => {
	let [a, b] = [ctx.input(0), ctx.input(1)];
	const aShape = ctx.shape(0);
	const bShape = ctx.shape(1);
	if (aShape.length === 0 || bShape.length === 0) ctx.fail("its operands must be at least 1-D (MatMul takes no scalars)");
	// numpy.matmul: a vector operand gains a unit dimension for the product and loses it after.
	const drop: number[] = [];
	if (aShape.length === 1) {
		a = ctx.add("ExpandDims", "a/matrix", [a, intConst(ctx, "a/axis", [0], [])]);
		drop.push(-2);
	}
	if (bShape.length === 1) {
		b = ctx.add("ExpandDims", "b/matrix", [b, intConst(ctx, "b/axis", [-1], [])]);
		drop.push(-1);
	}
	const [as, bs] = [ctx.shapeOf(a), ctx.shapeOf(b)];
	const [K, N] = bs.slice(-2);
	if (as[as.length - 1] !== K) ctx.fail(`inner dimensions do not match: ${JSON.stringify(aShape)} times ${JSON.stringify(bShape)}`);
	let product: string;
	if (as.length === 2 && bs.length === 2) {
		product = ctx.add("MatMul", "matmul", [a, b]);
	} else if (bs.length === 2) {
		const rows = ctx.add("Reshape", "rows", [a, intConst(ctx, "rows/shape", [-1, K])]);
		const flat = ctx.add("MatMul", "matmul", [rows, b]);
		product = ctx.add("Reshape", "batched", [flat, intConst(ctx, "batched/shape", [-1, ...as.slice(1, -1), N])]);
	} else {
		product = ctx.add("BatchMatMulV2", "matmul", [a, b]);
	}
	if (drop.length > 0) product = ctx.add("Squeeze", "vector", [product], { squeeze_dims: irAttr.ints(drop) });
	ctx.output(0, product);
};

/** Gemm: alpha * A' B' + beta * C, with C broadcast to [M, N] (optional from opset 11). */
const gemm: OnnxTranslator = (ctx) => {
	const transA = ctx.attrInt("transA", 0) !== 0;
	const transB = ctx.attrInt("transB", 0) !== 0;
	const alpha = ctx.attrFloat("alpha", 1);
	const beta = ctx.attrFloat("beta", 1);
	const [aShape, bShape] = [ctx.shape(0), ctx.shape(1)];
	if (aShape.length !== 2 || bShape.length !== 2) ctx.fail(`A and B must be matrices, got shapes ${JSON.stringify(aShape)} and ${JSON.stringify(bShape)}`);
	const N = transB ? bShape[0] : bShape[1];
	let y = ctx.add("MatMul", "matmul", [ctx.input(0), ctx.input(1)], {
		transpose_a: irAttr.b(transA), transpose_b: irAttr.b(transB),
	});
	const dtype = ctx.dtype(0);
	if (alpha !== 1) y = ctx.add("Mul", "alpha", [y, ctx.addConst("alpha/value", makeTensor(dtype, [], [alpha]))]);
	if (!ctx.has(2) || beta === 0) return ctx.output(0, y);
	const cShape = ctx.shape(2);
	const known = ctx.constant(2);
	if (known) {
		const scaled = makeTensor(dtype, cShape, Array.from(numbers(known), (v) => Math.fround(beta * v)));
		// A row of N biases (shape [N] or [1, N]) is a BiasAdd, which the compiler fuses into the MatMul.
		if (shapeSize(cShape) === N && cShape[cShape.length - 1] === N && cShape.length <= 2) {
			const bias = ctx.addConst("bias", makeTensor(dtype, [N], numbers(scaled)));
			return ctx.output(0, ctx.add("BiasAdd", "bias", [y, bias]));
		}
		return ctx.output(0, ctx.add("AddV2", "c", [y, ctx.addConst("c/value", scaled)]));
	}
	let c = ctx.input(2);
	if (beta !== 1) c = ctx.add("Mul", "beta", [c, ctx.addConst("beta/value", makeTensor(dtype, [], [beta]))]);
	ctx.output(0, ctx.add("AddV2", "c", [y, c]));
};

export const MATMUL_TRANSLATORS: TranslatorFamily = new Map<string, OnnxTranslator>([
	["MatMul", matMul],
	["Gemm", gemm],
]);
