import { type GraphNode, attrFloat } from "../graph/graph";
import { shapeSize } from "../graph/tensor";
import { CompileError } from "./compileError";
import { type EmitContext, floatLiteral, unaryExpression } from "./emitKernels";
import type { Buffer, KernelStep } from "./program";
import { type Lanes, VECTOR_WIDTH, perWidth } from "./vectorLibrary";

// The C of a fused elementwise step (fuseElementwise.ts): one pass over the elements, a vector at a time, every
// op's value a knn_vf local, inputs loaded first and outputs stored last in each pass. Each op computes exactly what the
// scalar emitter's expression computes on every lane (the same comparisons select NaN the same way); ops
// without a vector form apply the scalar expression lane by lane.

/** How a chain reads an input of `inSize` elements for output element i: i, 0, or i % inSize (a trailing row). */
export type ChainAccess = "full" | "scalar" | "row" | undefined;

export function chainAccess(input: Buffer, output: Buffer): ChainAccess {
	if (input.size === output.size) return "full";
	if (input.size === 1) return "scalar";
	// Leading ones dropped, the input's shape must be the output's trailing dimensions.
	const core = input.shape.slice(input.shape.findIndex((d) => d !== 1));
	const trailing = output.shape.slice(Math.max(0, output.shape.length - core.length));
	const rowShaped = core.length <= output.shape.length && core.join() === trailing.join();
	return rowShaped && shapeSize(core) === input.size && input.size % VECTOR_WIDTH === 0 ? "row" : undefined;
}




/** Statements defining `const knn_vf ${name}` as `node` applied to the knn_vf locals `args`. */
function vectorOp(node: GraphNode, name: string, args: string[], ctx: EmitContext, lanes: Lanes): string[] {
	const [a, b] = args;
	const define = (expression: string) => [`const knn_vf ${name} = ${expression};`];
	switch (node.op) {
		case "Add": case "AddV2": case "BiasAdd": return define(`${a} + ${b}`);
		case "AddN": return define(args.join(" + "));
		case "Sub": return define(`${a} - ${b}`);
		case "Mul": return define(`${a} * ${b}`);
		case "RealDiv": case "Div": return define(`${a} / ${b}`);
		case "Maximum": return define(`knn_vmax(${a}, ${b})`);
		case "Minimum": return define(`knn_vmin(${a}, ${b})`);
		case "SquaredDifference": return define(`(${a} - ${b}) * (${a} - ${b})`);
		case "Neg": return define(`-${a}`);
		case "Square": return define(`${a} * ${a}`);
		case "Abs": return define(`knn_vselect(${a} < knn_splat(0.0f), -${a}, ${a})`);
		case "Reciprocal": case "Inv": return define(`knn_splat(1.0f) / ${a}`);
		case "Relu": return define(`knn_vselect(${a} > knn_splat(0.0f), ${a}, knn_splat(0.0f))`);
		case "Relu6": return define(`knn_vselect(${a} > knn_splat(0.0f), knn_vmin(${a}, knn_splat(6.0f)), knn_splat(0.0f))`);
		case "LeakyRelu": return define(`knn_vselect(${a} > knn_splat(0.0f), ${a}, ${a} * knn_splat(${floatLiteral(attrFloat(node, "alpha", 0.2))}))`);
		case "Sigmoid": return define(`${ctx.vmath("sigmoid")}(${a})`);
		case "Tanh": return define(`${ctx.vmath("tanh")}(${a})`);
		case "Exp": return define(`${ctx.vmath("exp")}(${a})`);
		default:
			if (args.length !== 1) throw new CompileError(`node "${node.name}" (${node.op}): internal: no vector form for this op`);
			return [`knn_vf ${name};`, `for (int j = 0; j < ${lanes}; ++j) {`, `\tconst float s = ${a}[j];`, `\t${name}[j] = ${unaryExpression(node, "s", ctx)};`, "}"];
	}
}

/** Statements applying a fused `activation` to the knn_vf `v` (of `lanes` lanes) in place, or none. */
export function vectorActivation(activation: GraphNode | undefined, v: string, ctx: EmitContext, lanes: Lanes): string[] {
	if (!activation) return [];
	return ["{", ...vectorOp(activation, "activated", [v], ctx, lanes).map((l) => `\t${l}`), `\t${v} = activated;`, "}"];
}

/** The fused elementwise step's C. */
export function elementwiseChain(step: KernelStep, ctx: EmitContext): string[] {
	const chain = step.chain;
	if (!chain) throw new CompileError(`node "${step.node.name}": internal: an elementwise chain step without its chain`);
	const n = step.outputs[0].size;
	if (n === 0) return [];
	ctx.vector();
	const access = step.inputs.map((b) => chainAccess(b, step.outputs[0]));
	const lines: string[] = [];
	// The memory plan keeps a step's inputs and outputs apart (fuseElementwise.ts runs before it).
	step.inputs.forEach((b, k) => lines.push(`const float *const restrict in${k} = ${ctx.addr(b)};`));
	step.outputs.forEach((b, k) => lines.push(`float *const restrict out${k} = ${ctx.addr(b, true)};`));
	return [...lines, ...perWidth((lanes) => {
		const full = n - (n % lanes);
		const body: string[] = [];
		// A broadcast scalar is read once, before any output is written.
		access.forEach((mode, k) => mode === "scalar" && body.push(`const knn_vf x${k} = knn_splat(in${k}[0]);`));
		// `count` lanes from element i. Each input is loaded where it is first used and each output stored as soon
		// as it is computed (outputs never share memory with inputs), so few values are live at once: more than the
		// 16 vector registers hold would spill to a stack frame the kernel keeps under 512 bytes.
		const pass = (count: number): string[] => {
			const statements: string[] = [];
			const loaded = new Set<number>();
			chain.ops.forEach((op, j) => {
				for (const k of op.operands) {
					if (k < 0 || access[k] === "scalar" || loaded.has(k)) continue;
					loaded.add(k);
					const from = access[k] === "row" ? `in${k} + i % ${step.inputs[k].size}` : `in${k} + i`;
					statements.push(`const knn_vf x${k} = ${count === lanes ? `knn_vload(${from})` : `knn_vload_part(${from}, ${count})`};`);
				}
				statements.push(...vectorOp(op.node, `t${j}`, op.operands.map((o) => (o >= 0 ? `x${o}` : `t${-1 - o}`)), ctx, lanes));
				chain.stores.forEach((stored, k) => stored === j && statements.push(count === lanes
					? `knn_vstore(out${k} + i, t${j});` : `knn_vstore_part(out${k} + i, t${j}, ${count});`));
			});
			return statements;
		};
		if (full > 0) body.push(`for (int i = 0; i < ${full}; i += ${lanes}) {`, ...pass(lanes).map((l) => `\t${l}`), "}");
		if (full < n) body.push("{", `\tconst int i = ${full};`, ...pass(n - full).map((l) => `\t${l}`), "}");
		return body;
	})];
}
