import { quantizedRange, type QuantizedType } from "../../quant/arith";
import { quantAttrs } from "../../quant/params";
import { requantizeParams } from "../../interp/kernels/quantized/quantize";
import { type KernelEmitter, floatLiteral } from "../emitKernels";
import { intLiteral, pointers, quantizedCType } from "./cQuant";

// QUANTIZE and DEQUANTIZE in C. Requantizing (integer to integer) is integer only; the float edges use float and
// double as TFLite's kernels do (knn compile --no-fpu replaces them by fixed-point edges).

export const Q_FIDELITY: Record<string, "exact" | "within 1 step"> = { QQuantize: "exact", QDequantize: "exact" };

export const quantizeOp: KernelEmitter = (step, ctx) => {
	const x = step.inputs[0];
	const out = step.outputs[0];
	const type = quantizedCType(step, out);
	if (x.dtype !== "float32") {
		const p = requantizeParams(step.node, x.dtype);
		if (p.xnnpack) {
			// XNNPACK's convert, as TFLite's runtime runs it: 8.8 fixed point, an arithmetic shift, then the clamp.
			return [...pointers(step, ctx), `for (int i = 0; i < ${out.size}; ++i)`,
				`\tout[i] = (${type})knn_q_clamp((${intLiteral(p.xnnpack.bias)} + (int)in0[i] * ${p.xnnpack.multiplier}) >> 8, ${p.min}, ${p.max});`];
		}
		return [...pointers(step, ctx), `for (int i = 0; i < ${out.size}; ++i)`,
			`\tout[i] = (${type})knn_q_clamp(knn_q_mul((int)in0[i] - ${p.inputZeroPoint}, ${intLiteral(p.multiplier.multiplier)}, ${p.multiplier.shift}) + ${p.outputZeroPoint}, ${p.min}, ${p.max});`];
	}
	const q = quantAttrs(step.node);
	const { min, max } = quantizedRange(q.outType as QuantizedType);
	// AffineQuantize: the quotient in double, rounded half away from zero; bounded first so the conversion is defined.
	return [
		`const float *const in0 = ${ctx.addr(x)};`, `${type} *const out = ${ctx.addr(out, true)};`,
		`for (int i = 0; i < ${out.size}; ++i) {`,
		`\tdouble q = (double)in0[i] / (double)${floatLiteral(q.outScale)};`,
		"\tlong long t;",
		"",
		"\tif (!(q > -1e9))",
		"\t\tq = -1e9;",
		"\telse if (q > 1e9)",
		"\t\tq = 1e9;",
		"\tt = (long long)q;",
		"\tif (q - (double)t >= 0.5)",
		"\t\tt++;",
		"\telse if (q - (double)t <= -0.5)",
		"\t\tt--;",
		`\tout[i] = (${type})knn_q_clamp((int)t + ${q.outZeroPoint}, ${min}, ${max});`,
		"}",
	];
};

export const dequantizeOp: KernelEmitter = (step, ctx) => {
	const q = quantAttrs(step.node);
	const out = step.outputs[0];
	return [...pointers(step, ctx, "float"), `for (int i = 0; i < ${out.size}; ++i)`,
		`\tout[i] = (float)((int)in0[i] - ${q.inZeroPoint[0]}) * ${floatLiteral(q.inScale[0])};`];
};
