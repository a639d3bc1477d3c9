import {
	type FixedRescale, dequantizeFixedRescale, quantizeFixedRescale,
} from "../../interp/kernels/quantized/fixedEdges";
import { type EmitContext, cType } from "../emitKernels";
import type { KernelStep } from "../program";

// C of the fixed-point edges of an integer-only model: the same int64 arithmetic as the interpreter's kernels
// (interp/kernels/quantized/fixedEdges.ts), so the two agree bit for bit.

/** How the fixed-point edges compare with TFLite's float QUANTIZE/DEQUANTIZE on the values they stand for. */
export const Q_FIDELITY: Record<string, "exact" | "within 1 step"> = {
	// round(x / scale) from the fixed-point x, one rounding: off by one only within |q| * 2^-31 of a half-way point.
	QQuantizeFixed: "within 1 step",
	// (q - zp) * scale to within one unit of the fixed-point result's last place.
	QDequantizeFixed: "exact",
};

/** Statements computing `out[i] = clamp(zp + round(value * M / 2^n))` over the step's elements. */
function rescaleLoop(step: KernelStep, ctx: EmitContext, r: FixedRescale, value: string, zeroPointAfter: boolean): string[] {
	const [x] = step.inputs;
	const out = step.outputs[0];
	const where = `node "${step.node.name}" (${step.node.op})`;
	const lines = [
		`const ${cType(x.dtype, where)} *const x = ${ctx.addr(x)};`,
		`${cType(out.dtype, where)} *const out = ${ctx.addr(out, true)};`,
		`for (int i = 0; i < ${out.size}; ++i) {`,
		`\tconst long long p = (long long)(${value}) * ${r.multiplier}LL;`,
	];
	if (r.rightShift === 0) lines.push("\tlong long v = p;");
	else lines.push(`\tlong long v = p >= 0 ? (p + (1LL << ${r.rightShift - 1})) >> ${r.rightShift} : -((-p + (1LL << ${r.rightShift - 1})) >> ${r.rightShift});`);
	if (zeroPointAfter) lines.push(`\tv += ${r.zeroPoint};`);
	lines.push(`\tout[i] = (${cType(out.dtype, where)})(v < ${r.min}LL ? ${r.min}LL : v > ${r.max}LL ? ${r.max}LL : v);`, "}");
	return lines;
}

/** QQuantizeFixed: int32 fixed point with frac_bits fractional bits -> int8/uint8/int16. */
export function quantizeFixedOp(step: KernelStep, ctx: EmitContext): string[] {
	return rescaleLoop(step, ctx, quantizeFixedRescale(step.node), "x[i]", true);
}

/** QDequantizeFixed: int8/uint8/int16 -> int32 fixed point with frac_bits fractional bits. */
export function dequantizeFixedOp(step: KernelStep, ctx: EmitContext): string[] {
	const r = dequantizeFixedRescale(step.node);
	return rescaleLoop(step, ctx, r, `(int)x[i] - ${r.zeroPoint}`, false);
}
