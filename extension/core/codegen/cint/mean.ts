// QMean in integer C: sums over compile-time offset tables, then the rounding the runtime applies in that case
// (interp/kernels/quantized/mean.ts says which).
import { type MeanPlan, meanPlan } from "../../interp/kernels/quantized/mean";
import { CompileError } from "../compileError";
import type { EmitContext } from "../emitKernels";
import type { KernelStep } from "../program";
import { asTensor, qType } from "./filterCommon";

function finish(p: MeanPlan): string[] {
	const n = p.count;
	const roundingDivide = (v: string) => `${v} > 0 ? (${v} + ${Math.trunc(n / 2)}) / ${n} : (${v} - ${Math.trunc(n / 2)}) / ${n}`;
	switch (p.rounding) {
		case "round": return [`const int v = ${roundingDivide("sum")};`];
		case "truncate": return [`const int v = sum / ${n};`];
		case "rescale16": return [
			`const int scaled = knn_q_mul(sum - ${n * p.inZeroPoint}, ${p.multiplier}, ${p.shift});`,
			`const int v = knn_q_clamp((${roundingDivide("scaled")}) + ${p.outZeroPoint}, ${p.min}, ${p.max});`,
		];
		case "rescaleUint8": return [`const int v = knn_q_clamp(knn_q_mul(sum, ${p.multiplier}, ${p.shift}) + ${p.bias}, ${p.min}, ${p.max});`];
		case "rescale": {
			const bits = 31 - p.shift;
			return [
				`const long long scaled = (long long)(sum - ${n * p.inZeroPoint}) * ${p.multiplier}LL + (1LL << ${bits - 1});`,
				`const long long rounded = scaled >= 0 ? (scaled + (1LL << ${bits - 1})) >> ${bits} : -((-scaled + (1LL << ${bits - 1})) >> ${bits});`,
				`const int v = knn_q_clamp((int)rounded + ${p.outZeroPoint}, ${p.min}, ${p.max});`,
			];
		}
	}
}

export function qMean(step: KernelStep, ctx: EmitContext): string[] {
	const [x, axes] = step.inputs;
	const out = step.outputs[0];
	if (!axes.value) throw new CompileError(`node "${step.node.name}" (QMean): the axes must be a constant; TFLite's converter always makes them one`);
	const p = meanPlan(step.node, asTensor(x), axes.value);
	const type = qType(step, x);
	return [
		`const ${type} *const x = ${ctx.addr(x)};`,
		`${qType(step, out)} *const out = ${ctx.addr(out, true)};`,
		`for (int o = 0; o < ${p.bases.length}; ++o) {`,
		`\tconst ${type} *const first = x + ${ctx.table(p.bases)}[o];`,
		"\tint sum = 0;",
		`\tfor (int k = 0; k < ${p.count}; ++k) sum += first[${ctx.table(p.offsets)}[k]];`,
		...finish(p).map((line) => `\t${line}`),
		`\tout[o] = (${qType(step, out)})v;`,
		"}",
	];
}
