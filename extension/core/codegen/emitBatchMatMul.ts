import { attrBool } from "../graph/graph";
import { shapeSize } from "../graph/tensor";
import { CompileError } from "./compileError";
import type { EmitContext } from "./emitKernels";
import type { KernelStep } from "./program";

/** Matrix offset of each output batch entry in an operand whose batch dimensions broadcast to `batch`. */
function batchOffsets(operand: number[], batch: number[], matrix: number): Int32Array {
	const lead = batch.length - operand.length;
	const out = new Int32Array(shapeSize(batch));
	for (let i = 0; i < out.length; i++) {
		let rest = i;
		let offset = 0;
		let stride = 1;
		for (let d = batch.length - 1; d >= 0; d--) {
			const coordinate = rest % batch[d];
			rest = Math.floor(rest / batch[d]);
			if (d < lead) continue;
			const size = operand[d - lead];
			if (size !== 1) offset += coordinate * stride;
			stride *= size;
		}
		out[i] = offset * matrix;
	}
	return out;
}

/**
 * BatchMatMul (equal batches), BatchMatMulV2/V3 (broadcast batches) on float32: one matrix product per output batch
 * entry, float accumulation in k order as in MatMul. Operands whose batch broadcasts read by a table.
 */
export function batchMatMul(step: KernelStep, ctx: EmitContext): string[] {
	const { node } = step;
	const [a, b] = step.inputs;
	const out = step.outputs[0];
	if (a.dtype !== "float32" || b.dtype !== "float32" || out.dtype !== "float32") {
		throw new CompileError(`node "${node.name}" (${node.op}): the compiler multiplies float32 matrices only, got ${a.dtype} and ${b.dtype}`);
	}
	const adjX = attrBool(node, "adj_x", false);
	const adjY = attrBool(node, "adj_y", false);
	const [aRows, aCols] = a.shape.slice(-2);
	const [bRows, bCols] = b.shape.slice(-2);
	const [M, K] = adjX ? [aCols, aRows] : [aRows, aCols];
	const N = adjY ? bRows : bCols;
	const batch = out.shape.slice(0, -2);
	const count = shapeSize(batch);
	// Batch dimensions are each 1 or the output's, so an operand as large as the batch is not broadcast.
	const offsetOf = (shape: number[], matrix: number): string => {
		const own = shape.slice(0, -2);
		if (shapeSize(own) === count) return `i * ${matrix}`;
		if (shapeSize(own) === 1) return "0";
		return `${ctx.table(batchOffsets(own, batch, matrix))}[i]`;
	};
	const aAt = adjX ? `a[k * ${M} + m]` : `a[m * ${K} + k]`;
	const bAt = adjY ? `b[n * ${K} + k]` : `b[k * ${N} + n]`;
	return [
		`float *const out = ${ctx.addr(out, true)};`,
		`for (int i = 0; i < ${count}; ++i) {`,
		`\tconst float *const a = ${ctx.addr(a)} + ${offsetOf(a.shape, aRows * aCols)};`,
		`\tconst float *const b = ${ctx.addr(b)} + ${offsetOf(b.shape, bRows * bCols)};`,
		`\tfloat *const c = out + i * ${M * N};`,
		`\tfor (int m = 0; m < ${M}; ++m) {`,
		`\t\tfor (int n = 0; n < ${N}; ++n) {`,
		"\t\t\tfloat acc = 0.0f;",
		`\t\t\tfor (int k = 0; k < ${K}; ++k) acc += ${aAt} * ${bAt};`,
		`\t\t\tc[m * ${N} + n] = (float)acc;`,
		"\t\t}",
		"\t}",
		"}",
	];
}
