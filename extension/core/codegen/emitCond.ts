import { CompileError } from "./compileError";
import { type EmitContext, cType } from "./emitKernels";
import type { KernelStep } from "./program";

/**
 * A Merge outside loops (the join of a tf.cond): both sides were computed, and the predicates that decide which
 * side TensorFlow would have run pick the one to copy.
 */
export function mergeOp(step: KernelStep, ctx: EmitContext): string[] {
	const { node, choices } = step;
	if (!choices || choices.length === 0) throw new CompileError(`internal: Merge "${node.name}" was lowered without its choices`);
	const out = step.outputs[0];
	const type = cType(out.dtype, `node "${node.name}"`);
	const lines = [`${type} *const out = ${ctx.addr(out, true)};`];
	step.inputs.forEach((input, k) => lines.push(`const ${cType(input.dtype, `node "${node.name}"`)} *const in${k} = ${ctx.addr(input)};`));
	lines.push(`const ${type} *src = in${choices[choices.length - 1].input};`);
	choices.slice(0, -1).forEach((choice, k) => {
		const test = choice.when.map(({ predicate, value }) => `${value ? "" : "!"}in${predicate}[0]`).join(" && ") || "1";
		lines.push(`${k === 0 ? "if" : "else if"} (${test})`, `\tsrc = in${choice.input};`);
	});
	lines.push(`for (int i = 0; i < ${out.size}; ++i) out[i] = src[i];`);
	return lines;
}
