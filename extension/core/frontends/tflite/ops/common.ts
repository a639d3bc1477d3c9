// What the float and quantized translators share: the fused activation, TFLite's filter layouts, and the test
// of whether an operator computes on quantized integers.
import type { AttrValue } from "../../../graph/attr";
import { type Tensor, makeTensor, numbers } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import { ActivationFunctionType } from "../types";
import type { OpContext } from "./context";

export type OpTranslator = (ctx: OpContext) => void;

const ACTIVATION_NAMES = ["NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT"];

/** The fused activation's schema name. */
export function fusedActivation(ctx: OpContext): string {
	const code = ctx.num("fusedActivationFunction", ActivationFunctionType.NONE);
	return ACTIVATION_NAMES[code] ?? ctx.fail(`its fused activation ${code} is not one schema.fbs defines`);
}

/** Whether the operator computes on quantized integers: its output (or, for DEQUANTIZE, its input) is int8, uint8 or int16. */
export function isQuantizedOp(ctx: OpContext): boolean {
	const quantized = (dtype: string) => dtype === "int8" || dtype === "uint8" || dtype === "int16";
	if (ctx.outputCount > 0 && quantized(ctx.outDtype(0))) return true;
	return ctx.inputCount > 0 && ctx.has(0) && quantized(ctx.dtype(0)) && ctx.outDtype(0) === "float32";
}

export const T = (ctx: OpContext, i = 0): Record<string, AttrValue> => ({ T: irAttr.type(ctx.has(i) ? ctx.dtype(i) : ctx.outDtype(0)) });

/** Applies a float fused activation as its own IR node (or none). */
export function floatActivation(ctx: OpContext, x: string, activation = fusedActivation(ctx)): string {
	const t = { T: irAttr.type("float32") };
	switch (activation) {
		case "NONE": return x;
		case "RELU": return ctx.add("Relu", "Relu", [x], t);
		case "RELU6": return ctx.add("Relu6", "Relu6", [x], t);
		case "TANH": return ctx.add("Tanh", "Tanh", [x], t);
		case "RELU_N1_TO_1": {
			const low = ctx.add("Maximum", "ReluN1To1/max", [x, ctx.addConst("ReluN1To1/-1", makeTensor("float32", [], [-1]))], t);
			return ctx.add("Minimum", "ReluN1To1", [low, ctx.addConst("ReluN1To1/1", makeTensor("float32", [], [1]))], t);
		}
		default: return ctx.fail(`its fused activation ${activation} is not supported (Kernel NN reads NONE, RELU, RELU6, RELU_N1_TO_1 and TANH)`);
	}
}

/** A float constant input; int8 weights of a dynamic-range model are dequantized here, so the graph computes in float. */
export function floatConstant(ctx: OpContext, i: number): Tensor | undefined {
	const value = ctx.constant(i);
	if (!value || value.dtype === "float32") return value;
	const q = ctx.tensor(i).quantization;
	if ((value.dtype === "int8" || value.dtype === "uint8" || value.dtype === "int16") && q && q.scale.length > 0) {
		const source = numbers(value);
		const axis = q.quantizedDimension;
		const inner = value.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
		const channels = value.shape[axis] ?? 1;
		const out = new Float32Array(source.length);
		for (let k = 0; k < source.length; k++) {
			const c = q.scale.length === 1 ? 0 : Math.floor(k / inner) % channels;
			out[k] = Math.fround(q.scale[c] * (source[k] - (q.zeroPoint[c] ?? 0)));
		}
		return { dtype: "float32", shape: [...value.shape], data: out };
	}
	return value;
}

/** Input i as a float IR tensor: its (dequantized) constant when it has one, else the tensor itself. */
export function floatInput(ctx: OpContext, i: number, suffix: string): string {
	const value = ctx.constant(i);
	if (value && value.dtype !== "float32") {
		const dequantized = floatConstant(ctx, i);
		if (dequantized && dequantized.dtype === "float32") return ctx.addConst(suffix, dequantized);
	}
	return ctx.input(i);
}

/** Transposes a constant by `perm` (load-time layout changes of filters). */
export function transposeConstant(value: Tensor, perm: number[]): Tensor {
	const shape = perm.map((p) => value.shape[p]);
	const source = numbers(value);
	const rank = shape.length;
	const inStrides = new Array<number>(rank).fill(1);
	for (let d = rank - 2; d >= 0; d--) inStrides[d] = inStrides[d + 1] * value.shape[d + 1];
	const out = makeTensor(value.dtype, shape);
	const target = out.data as Float32Array;
	const index = new Array<number>(rank).fill(0);
	for (let k = 0; k < source.length; k++) {
		let at = 0;
		for (let d = 0; d < rank; d++) at += index[d] * inStrides[perm[d]];
		target[k] = source[at];
		for (let d = rank - 1; d >= 0; d--) {
			if (++index[d] < shape[d]) break;
			index[d] = 0;
		}
	}
	return out;
}

/** TFLite's padding enum as TensorFlow's padding attribute. */
export function padding(ctx: OpContext): string {
	const code = ctx.num("padding", 0);
	if (code === 0) return "SAME";
	if (code === 1) return "VALID";
	return ctx.fail(`its padding ${code} is not SAME (0) or VALID (1)`);
}
