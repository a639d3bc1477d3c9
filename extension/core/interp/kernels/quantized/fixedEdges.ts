import { type GraphNode, attrInt } from "../../../graph/graph";
import { type Tensor, makeTensor, numbers } from "../../../graph/tensor";
import { type QuantizedType, quantizeMultiplier, quantizedRange } from "../../../quant/arith";
import { quantAttrs } from "../../../quant/params";
import { type Kernel, KernelError } from "../../kernel";

// The edges of an integer-only model (knn compile --no-fpu): a float input arrives as int32 fixed point with
// `frac_bits` fractional bits and is quantized, a dequantized result leaves the same way, all in integers.

/** value * multiplier / 2^rightShift with one rounding, half away from zero: an int64 product, as the C does. */
export interface FixedRescale {
	multiplier: number;
	rightShift: number;
	zeroPoint: number;
	/** Clamp of the result: the quantized type's range (QQuantizeFixed) or int32's (QDequantizeFixed). */
	min: number;
	max: number;
}

function fixedRescale(node: GraphNode, real: number, zeroPoint: number, range: { min: number; max: number }): FixedRescale {
	const { multiplier, shift } = quantizeMultiplier(real);
	const rightShift = 31 - shift;
	if (multiplier === 0 || rightShift < 0 || rightShift > 62) {
		throw new KernelError(node, `the scale ${real} between the quantized tensor and its fixed-point form is out of reach of a 64-bit product: the tensor's scale is unusable with --no-fpu`);
	}
	return { multiplier, rightShift, zeroPoint, ...range };
}

/** QQuantizeFixed: q = clamp(zp + round(x / (scale * 2^F))). */
export function quantizeFixedRescale(node: GraphNode): FixedRescale {
	const q = quantAttrs(node);
	const fracBits = attrInt(node, "frac_bits");
	return fixedRescale(node, 1 / (q.outScale * 2 ** fracBits), q.outZeroPoint, quantizedRange(q.outType as QuantizedType));
}

/** QDequantizeFixed: y = round((q - zp) * scale * 2^F), an int32. */
export function dequantizeFixedRescale(node: GraphNode): FixedRescale {
	const q = quantAttrs(node);
	const fracBits = attrInt(node, "frac_bits");
	return fixedRescale(node, q.inScale[0] * 2 ** fracBits, q.inZeroPoint[0] ?? 0, quantizedRange("int32"));
}

/** round(x * multiplier / 2^rightShift), ties away from zero, exactly (BigInt: the product needs up to 62 bits). */
export function rescaleExact(x: number, r: FixedRescale): number {
	const product = BigInt(x) * BigInt(r.multiplier);
	if (r.rightShift === 0) return Number(product);
	const shift = BigInt(r.rightShift);
	const half = 1n << (shift - 1n);
	return Number(product >= 0n ? (product + half) >> shift : -((-product + half) >> shift));
}

function clampTo(x: number, r: FixedRescale): number {
	return x < r.min ? r.min : x > r.max ? r.max : x;
}

const quantizeFixed: Kernel = (inputs: Tensor[], node: GraphNode) => {
	const [x] = inputs;
	if (x.dtype !== "int32") throw new KernelError(node, `expects an int32 fixed-point input, got ${x.dtype}`);
	const r = quantizeFixedRescale(node);
	const out = quantAttrs(node).outType;
	return [makeTensor(out, x.shape, Array.from(numbers(x), (v) => clampTo(r.zeroPoint + rescaleExact(v, r), r)))];
};

const dequantizeFixed: Kernel = (inputs: Tensor[], node: GraphNode) => {
	const [x] = inputs;
	if (!["int8", "uint8", "int16"].includes(x.dtype)) throw new KernelError(node, `expects an int8, uint8 or int16 input, got ${x.dtype}`);
	const r = dequantizeFixedRescale(node);
	return [makeTensor("int32", x.shape, Array.from(numbers(x), (v) => clampTo(rescaleExact(v - r.zeroPoint, r), r)))];
};

export const FIXED_EDGE_KERNELS: ReadonlyMap<string, Kernel> = new Map([
	["QQuantizeFixed", quantizeFixed],
	["QDequantizeFixed", dequantizeFixed],
]);
