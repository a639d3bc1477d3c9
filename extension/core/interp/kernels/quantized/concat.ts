import { type GraphNode, attrInt } from "../../../graph/graph";
import { type Tensor, formatShape, shapeSize } from "../../../graph/tensor";
import { clamp, roundHalfAway } from "../../../quant/arith";
import { quantAttrs } from "../../../quant/params";
import type { Kernel } from "../../kernel";
import { arity, axisIn, fail } from "../util";
import { quantizedOutput, quantizedValues } from "./qtensor";

// Quantized CONCATENATION as TFLite's concatenation.cc: int8 and int16 inputs must carry the output's scale and zero
// point (TFLite refuses others), so the op is a copy; uint8 inputs with other parameters are rescaled in float32
// as ConcatenationWithScaling does, which only the interpreter runs.

/** The concatenation's layout: `outer` blocks, each the inputs' `inner`-sized slices one after the other. */
export interface ConcatLayout {
	axis: number;
	outer: number;
	/** Elements each input contributes per outer block. */
	inner: number[];
	shape: number[];
}

export function concatLayout(node: GraphNode, shapes: readonly number[][]): ConcatLayout {
	const rank = shapes[0].length;
	const axis = axisIn(node, attrInt(node, "axis", 0), rank);
	const shape = [...shapes[0]];
	shape[axis] = 0;
	for (const s of shapes) {
		if (s.length !== rank || s.some((d, i) => i !== axis && d !== shapes[0][i])) {
			fail(node, `inputs of shapes ${formatShape(shapes[0])} and ${formatShape(s)} cannot be concatenated on axis ${axis}`);
		}
		shape[axis] += s[axis];
	}
	return { axis, outer: shapeSize(shapes[0].slice(0, axis)), inner: shapes.map((s) => shapeSize(s.slice(axis))), shape };
}

/** Input positions whose quantization differs from the output's (a rescale is needed). */
export function rescaledInputs(node: GraphNode, count: number): number[] {
	const q = quantAttrs(node);
	const differing: number[] = [];
	for (let k = 0; k < count; k++) {
		if (Math.fround(q.inScale[k]) !== Math.fround(q.outScale) || q.inZeroPoint[k] !== q.outZeroPoint) differing.push(k);
	}
	return differing;
}

const concatenation: Kernel = (inputs: Tensor[], node: GraphNode) => {
	arity(node, inputs, 1, Infinity);
	const q = quantAttrs(node);
	const data = inputs.map((t, k) => quantizedValues(node, t, `input ${k}`));
	for (const t of inputs) if (t.dtype !== q.outType) fail(node, `input of type ${t.dtype} differs from the output type ${q.outType}`);
	const rescaled = new Set(rescaledInputs(node, inputs.length));
	if (rescaled.size > 0 && q.outType !== "uint8") {
		fail(node, `input ${[...rescaled][0]} has other quantization parameters than the output; TFLite concatenates ${q.outType} tensors only with equal parameters`);
	}
	const layout = concatLayout(node, inputs.map((t) => t.shape));
	const { tensor, data: out } = quantizedOutput(node, q.outType, layout.shape);
	const inverseOutputScale = Math.fround(1 / q.outScale);
	let at = 0;
	for (let o = 0; o < layout.outer; o++) {
		inputs.forEach((_, k) => {
			const n = layout.inner[k];
			const source = data[k];
			if (!rescaled.has(k)) {
				for (let j = 0; j < n; j++) out[at + j] = source[o * n + j];
			} else {
				const scale = Math.fround(q.inScale[k] * inverseOutputScale);
				const bias = Math.fround(-q.inZeroPoint[k] * scale);
				for (let j = 0; j < n; j++) {
					const value = roundHalfAway(Math.fround(Math.fround(source[o * n + j] * scale) + bias)) + q.outZeroPoint;
					out[at + j] = clamp(value, 0, 255);
				}
			}
			at += n;
		});
	}
	return [tensor];
};

export const QUANTIZED_CONCAT_KERNELS: ReadonlyMap<string, Kernel> = new Map([["QConcatenation", concatenation]]);
