import type { GraphNode } from "../../../graph/graph";
import type { Tensor } from "../../../graph/tensor";
import {
	type QuantizedMultiplier, activationRange, clamp, multiplyByQuantizedMultiplier, quantizeMultiplier, quantizeMultiplierSmallerThanOne,
} from "../../../quant/arith";
import { quantAttrs } from "../../../quant/params";
import type { Kernel } from "../../kernel";
import { arity, broadcastOffsets, broadcastShapes, fail } from "../util";
import { quantizedOutType, quantizedOutput, quantizedValues } from "./qtensor";
import { type Fp32Scale, type XnnAddParams, fp32Requantize, fp32Scale, xnnAddElement, xnnAddParams, xnnMulScale } from "./xnnpack";

// Quantized ADD, SUB and MUL as TFLite's kernels (add.cc, sub.cc, mul.cc Prepare; reference_integer_ops add.h and
// mul.h): every element is computed by the same integer function, so numpy broadcasting changes only which inputs
// it reads. int16 ADD/SUB take the general-scale path (left shift 15), as TFLite does unless pot_scale_int16 is set.
// int8/uint8 ones within XNNPACK's scale limits run in the runtime's XNNPACK delegate: its arithmetic then (xnnpack.ts).

/** ArithmeticParams of the ADD/SUB kernel; SUB is ADD with input 2's multiplier negated (sub.cc). */
export interface AddParams {
	leftShift: number;
	/** Minus the input zero points. */
	inputOffsets: [number, number];
	inputMultipliers: [QuantizedMultiplier, QuantizedMultiplier];
	output: QuantizedMultiplier;
	outputOffset: number;
	min: number;
	max: number;
	/** XNNPACK's form, which replaces the fields above when present. */
	xnnpack?: XnnAddParams;
}

export interface MulParams {
	inputOffsets: [number, number];
	output: QuantizedMultiplier;
	outputOffset: number;
	min: number;
	max: number;
	/** XNNPACK's fp32 rescaling of the product, which replaces `output` when present. */
	xnnpack?: { scale: number; parts: Fp32Scale };
}

function smallerThanOne(node: GraphNode, real: number, what: string): QuantizedMultiplier {
	if (!(real > 0 && real < 1)) {
		fail(node, `the ${what} rescale ${real} is not in (0, 1), which TFLite's kernel requires: the output scale is too small for the input scales`);
	}
	return quantizeMultiplierSmallerThanOne(real);
}

/** add.cc / sub.cc Prepare: the scales are float32; their ratios are taken in double. */
export function addParams(node: GraphNode, subtract: boolean): AddParams {
	const q = quantAttrs(node);
	const type = quantizedOutType(node, q.outType);
	const leftShift = type === "int16" ? 15 : 20;
	const [scale1, scale2] = q.inScale;
	const twiceMaxInputScale = 2 * Math.max(scale1, scale2);
	const input1 = smallerThanOne(node, scale1 / twiceMaxInputScale, "input 1");
	const input2 = smallerThanOne(node, scale2 / twiceMaxInputScale, "input 2");
	const output = smallerThanOne(node, twiceMaxInputScale / (2 ** leftShift * q.outScale), "output");
	if (subtract) input2.multiplier = -input2.multiplier;
	const { min, max } = activationRange(q.activation, q.outScale, q.outZeroPoint, type);
	const xnnpack = type === "int16" ? undefined : xnnAddParams(scale1, scale2, q.outScale, q.inZeroPoint[0], q.inZeroPoint[1], subtract);
	return {
		leftShift, inputOffsets: [-q.inZeroPoint[0], -q.inZeroPoint[1]], inputMultipliers: [input1, input2], output,
		outputOffset: q.outZeroPoint, min, max, ...(xnnpack ? { xnnpack } : {}),
	};
}

/** AddFunc of reference_integer_ops/add.h. */
export function addElement(p: AddParams, x: number, y: number): number {
	if (p.xnnpack) return clamp(xnnAddElement(p.xnnpack, x, y) + p.outputOffset, p.min, p.max);
	const [m1, m2] = p.inputMultipliers;
	const scaled1 = multiplyByQuantizedMultiplier((p.inputOffsets[0] + x) * 2 ** p.leftShift, m1.multiplier, m1.shift);
	const scaled2 = multiplyByQuantizedMultiplier((p.inputOffsets[1] + y) * 2 ** p.leftShift, m2.multiplier, m2.shift);
	const raw = multiplyByQuantizedMultiplier(scaled1 + scaled2, p.output.multiplier, p.output.shift) + p.outputOffset;
	return clamp(raw, p.min, p.max);
}

/** mul.cc Prepare: input1_scale * input2_scale / output_scale, each widened to double. */
export function mulParams(node: GraphNode): MulParams {
	const q = quantAttrs(node);
	const type = quantizedOutType(node, q.outType);
	const { min, max } = activationRange(q.activation, q.outScale, q.outZeroPoint, type);
	const scale = type === "int16" ? undefined : xnnMulScale(q.inScale[0], q.inScale[1], q.outScale);
	return {
		inputOffsets: [-q.inZeroPoint[0], -q.inZeroPoint[1]], output: quantizeMultiplier((q.inScale[0] * q.inScale[1]) / q.outScale),
		outputOffset: q.outZeroPoint, min, max, ...(scale === undefined ? {} : { xnnpack: { scale, parts: fp32Scale(scale) } }),
	};
}

/** MulElementwise of reference_integer_ops/mul.h. */
export function mulElement(p: MulParams, x: number, y: number): number {
	const product = Math.imul(p.inputOffsets[0] + x, p.inputOffsets[1] + y);
	if (p.xnnpack) return clamp(fp32Requantize(product, p.xnnpack.scale) + p.outputOffset, p.min, p.max);
	return clamp(multiplyByQuantizedMultiplier(product, p.output.multiplier, p.output.shift) + p.outputOffset, p.min, p.max);
}

function binaryKernel(element: (node: GraphNode) => (x: number, y: number) => number): Kernel {
	return (inputs: Tensor[], node: GraphNode) => {
		arity(node, inputs, 2);
		const [a, b] = inputs;
		const av = quantizedValues(node, a, "input 1");
		const bv = quantizedValues(node, b, "input 2");
		if (a.dtype !== b.dtype) fail(node, `inputs must share one type, got ${a.dtype} and ${b.dtype}`);
		const shape = broadcastShapes(node, a.shape, b.shape);
		const f = element(node);
		const { tensor, data } = quantizedOutput(node, quantAttrs(node).outType, shape);
		const ao = broadcastOffsets(a.shape, shape);
		const bo = broadcastOffsets(b.shape, shape);
		for (let i = 0; i < data.length; i++) data[i] = f(av[ao ? ao[i] : i], bv[bo ? bo[i] : i]);
		return [tensor];
	};
}

export const QUANTIZED_ELEMENTWISE_KERNELS: ReadonlyMap<string, Kernel> = new Map([
	["QAdd", binaryKernel((node) => { const p = addParams(node, false); return (x, y) => addElement(p, x, y); })],
	["QSub", binaryKernel((node) => { const p = addParams(node, true); return (x, y) => addElement(p, x, y); })],
	["QMul", binaryKernel((node) => { const p = mulParams(node); return (x, y) => mulElement(p, x, y); })],
]);
