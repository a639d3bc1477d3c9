import { numbers, shapeSize } from "../graph/tensor";
import { CompileError } from "./compileError";
import { type EmitContext, cType } from "./emitKernels";
import type { KernelStep } from "./program";

/** ArgMax and ArgMin along a constant axis, into int32 indices; ties keep the first index, as TensorFlow's do. */
export function argReduction(step: KernelStep, ctx: EmitContext): string[] {
	const { node } = step;
	const [x, axisBuffer] = step.inputs;
	const out = step.outputs[0];
	const where = `node "${node.name}" (${node.op})`;
	if (!axisBuffer.value) throw new CompileError(`${where}: its axis must be a constant`);
	if (out.dtype !== "int32") throw new CompileError(`${where}: output_type ${out.dtype} is not supported by the compiler (int32 is)`);
	let axis = numbers(axisBuffer.value)[0];
	if (axis < 0) axis += x.shape.length;
	const depth = x.shape[axis];
	const inner = shapeSize(x.shape.slice(axis + 1));
	const outer = shapeSize(x.shape.slice(0, axis));
	const type = cType(x.dtype, where);
	const better = node.op === "ArgMin" ? "<" : ">";
	return [
		`const ${type} *const x = ${ctx.addr(x)};`,
		`int *const out = ${ctx.addr(out, true)};`,
		`for (int o = 0; o < ${outer}; ++o) for (int j = 0; j < ${inner}; ++j) {`,
		`\tconst ${type} *const p = x + o * ${depth * inner} + j;`,
		`\t${type} best = p[0];`,
		"\tint index = 0;",
		`\tfor (int k = 1; k < ${depth}; ++k) {`,
		`\t\tif (p[k * ${inner}] ${better} best) {`,
		`\t\t\tbest = p[k * ${inner}];`,
		"\t\t\tindex = k;",
		"\t\t}",
		"\t}",
		`\tout[o * ${inner} + j] = index;`,
		"}",
	];
}
