// QFullyConnected in integer C: TFLite's reference FullyConnected, rows of the filter against rows of the input.
import { fullyConnectedPlan } from "../../interp/kernels/quantized/fullyConnected";
import type { EmitContext } from "../emitKernels";
import type { KernelStep } from "../program";
import { asTensor, finishOutput, offsetTerm, qType } from "./filterCommon";

export function qFullyConnected(step: KernelStep, ctx: EmitContext): string[] {
	const [x, w, bias] = step.inputs;
	const out = step.outputs[0];
	const p = fullyConnectedPlan(step.node, asTensor(x), asTensor(w));
	const s = p.scaling;
	const acc = s.wide ? "long long" : "int";
	return [
		`const ${qType(step, x)} *const x = ${ctx.addr(x)};`,
		`const ${qType(step, w)} *const w = ${ctx.addr(w)};`,
		`${qType(step, out)} *const out = ${ctx.addr(out, true)};`,
		`for (int r = 0; r < ${p.batches}; ++r) {`,
		`\tconst ${qType(step, x)} *const row = x + r * ${p.depth};`,
		`\tfor (int u = 0; u < ${p.units}; ++u) {`,
		`\t\tconst ${qType(step, w)} *const weights = w + u * ${p.depth};`,
		`\t\t${acc} acc = 0;`,
		`\t\tfor (int d = 0; d < ${p.depth}; ++d) acc += ${offsetTerm("weights[d]", s.filterOffset)} * ${offsetTerm("row[d]", s.inputOffset)};`,
		...finishOutput(step, s, bias, "u", `out[r * ${p.units} + u]`, ctx),
		"\t}",
		"}",
	];
}
