import { attrInt } from "../graph/graph";
import { numbers, shapeSize } from "../graph/tensor";
import { CompileError } from "./compileError";
import { type EmitContext, cType } from "./emitKernels";
import type { KernelStep } from "./program";

/**
 * Gather, GatherV2 and ResourceGather with indices known only at run time (an embedding lookup of fed token ids).
 * An index outside [0, rows) is clamped to the nearest row and counted in the status buffer (the step's second
 * output), so a bad id gives a defined row and a count the caller can read, never a read outside the table.
 */
export function gatherOp(step: KernelStep, ctx: EmitContext): string[] {
	const { node } = step;
	const [params, indices, axisBuffer] = step.inputs;
	const [out, status] = step.outputs;
	const fail = (detail: string): never => {
		throw new CompileError(`node "${node.name}" (${node.op}): ${detail}`);
	};
	if (indices.dtype !== "int32") fail(`its runtime indices are ${indices.dtype}; the compiler reads int32 indices (feed the ids as int32)`);
	if (attrInt(node, "batch_dims", 0) !== 0) fail("batch_dims other than 0 with runtime indices is not supported by the compiler");
	let axis = 0;
	if (node.op === "GatherV2") {
		if (!axisBuffer?.value) fail("its axis must be a constant");
		axis = numbers(axisBuffer!.value!)[0];
		if (axis < 0) axis += params.shape.length;
	}
	const outer = shapeSize(params.shape.slice(0, axis));
	const rows = params.shape[axis];
	const inner = shapeSize(params.shape.slice(axis + 1));
	const count = indices.size;
	const type = cType(params.dtype, `node "${node.name}"`);
	return [
		`const ${type} *const params = ${ctx.addr(params)};`,
		`const int *const indices = ${ctx.addr(indices)};`,
		`${type} *const out = ${ctx.addr(out, true)};`,
		`int *const status = ${ctx.addr(status, true)};`,
		`for (int i = 0; i < ${count}; ++i) {`,
		"\tint row = indices[i];",
		`\tif (row < 0 || row >= ${rows}) {`,
		`\t\trow = row < 0 ? 0 : ${rows - 1};`,
		"\t\t++status[0];",
		"\t}",
		`\tfor (int o = 0; o < ${outer}; ++o)`,
		`\t\tfor (int k = 0; k < ${inner}; ++k)`,
		`\t\t\tout[(o * ${count} + i) * ${inner} + k] = params[(o * ${rows} + row) * ${inner} + k];`,
		"}",
	];
}
