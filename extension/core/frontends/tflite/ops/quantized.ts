// Quantized operators become the Q ops of the IR (see quant/params.ts): the quantization of every input position,
// of the filter (per tensor or per channel) and of the output, with the fused activation, as TFLite's kernels read them.
import type { AttrValue } from "../../../graph/attr";
import { setQuantAttrs } from "../../../quant/params";
import type { OpContext } from "./context";
import { tensorQuant } from "./context";
import { fusedActivation } from "./common";

export interface QuantizedNodeOptions {
	/** The TFLite input position of the filter, whose scales are per channel. */
	filter?: number;
	/** Overrides the fused activation (ops without one). */
	activation?: string;
}

const QUANTIZED_ACTIVATIONS = new Set(["NONE", "RELU", "RELU_N1_TO_1", "RELU6"]);

/** The single scale and zero point of a per-tensor quantized tensor. */
function perTensor(ctx: OpContext, tensor: ReturnType<OpContext["tensor"]>, what: string): { scale: number; zeroPoint: number } {
	const q = tensorQuant(tensor);
	if (!q) return ctx.fail(`its ${what} "${tensor.name}" is ${ctx.dtypeOf(tensor)} without quantization parameters; the model is not a quantized TFLite model Kernel NN can read`);
	if (q.scale.length !== 1) ctx.fail(`its ${what} "${tensor.name}" is quantized per channel (${q.scale.length} scales); TFLite allows that only for filters and biases`);
	return { scale: q.scale[0], zeroPoint: q.zeroPoint[0] };
}

/**
 * Adds Q op `op` reading the TFLite inputs at `positions` (absent optional ones are left out of the IR inputs), with
 * every quantization attribute; its output is bound by the caller.
 */
export function addQuantized(ctx: OpContext, op: string, positions: number[], attr: Record<string, AttrValue> = {}, options: QuantizedNodeOptions = {}): string {
	const present = positions.filter((p) => ctx.has(p));
	const inScale: number[] = [];
	const inZeroPoint: number[] = [];
	for (const p of present) {
		const q = ctx.dtype(p) === "float32" ? undefined : tensorQuant(ctx.tensor(p));
		const quantizedInput = ["int8", "uint8", "int16"].includes(ctx.dtype(p));
		if (quantizedInput && p !== options.filter && !q) perTensor(ctx, ctx.tensor(p), `input ${p}`);
		inScale.push(q?.scale[0] ?? 0);
		inZeroPoint.push(q?.zeroPoint[0] ?? 0);
	}
	const outType = ctx.outDtype(0);
	const out = outType === "float32" ? { scale: 0, zeroPoint: 0 } : perTensor(ctx, ctx.outTensor(0), "output");
	const activation = options.activation ?? fusedActivation(ctx);
	if (!QUANTIZED_ACTIVATIONS.has(activation)) ctx.fail(`its fused activation ${activation} has no quantized form in TFLite (NONE, RELU, RELU_N1_TO_1 and RELU6 do)`);
	let filterScale: number[] = [];
	let filterZeroPoint: number[] = [];
	if (options.filter !== undefined) {
		const q = tensorQuant(ctx.tensor(options.filter));
		if (!q) ctx.fail(`its filter "${ctx.tensor(options.filter).name}" has no quantization parameters`);
		filterScale = q.scale;
		filterZeroPoint = q.zeroPoint;
	}
	// Ops without a filter carry no filter attributes (quantAttrs reads them as empty).
	setQuantAttrs(attr, {
		inScale, inZeroPoint, outScale: out.scale, outZeroPoint: out.zeroPoint, outType, activation,
		...(options.filter !== undefined ? { filterScale, filterZeroPoint } : {}),
	});
	return ctx.add(op, op, present.map((p) => ctx.input(p)), attr);
}

