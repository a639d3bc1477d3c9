import { attrString } from "../graph/graph";
import { biasAdd, elementwise } from "./emitKernels";
import { chainAccess, elementwiseChain } from "./emitElementwise";
import { type Buffer, type ElementwiseChain, type KernelStep, type Program, type Step, storageOf } from "./program";

// Runs of float elementwise steps over the same number of elements become one step that computes them 8 elements
// at a time, keeping every value no other step reads in registers (an LSTM cell's gates: one pass, no stores of
// the gate activations). It runs before memory planning, so the fused step's inputs and stored outputs are all
// live together and never share arena space: each pass reads its inputs before it writes.

/** Ops the chain emitter computes on vectors (others of the elementwise table stay separate steps). */
const VECTOR_OPS = new Set([
	"Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "Maximum", "Minimum", "SquaredDifference", "AddN", "BiasAdd",
	"Sigmoid", "Tanh", "Relu", "Relu6", "Exp", "Neg", "Abs", "Square", "Reciprocal", "Inv", "Elu", "Selu", "Expm1", "Log",
	"Log1p", "Sqrt", "Rsqrt", "Softplus", "Erf", "LeakyRelu", "Floor", "Ceil",
]);

function fusible(step: Step): step is KernelStep {
	if (step.kind !== "kernel" || (step.emit !== elementwise && step.emit !== biasAdd) || !VECTOR_OPS.has(step.node.op)) return false;
	const out = step.outputs[0];
	if (step.outputs.length !== 1 || out.dtype !== "float32" || step.inputs.some((b) => b.dtype !== "float32")) return false;
	if (step.node.op === "BiasAdd" && attrString(step.node, "data_format", "NHWC") === "NCHW" && out.shape.length > 2) return false;
	if (step.fused.some((f) => !VECTOR_OPS.has(f.op))) return false;
	return step.inputs.every((b) => chainAccess(b, out) !== undefined);
}

/** How many times each storage is read anywhere in the program (loop copies and views count as readers). */
function readCounts(program: Program): Map<Buffer, number> {
	const counts = new Map<Buffer, number>();
	const read = (b: Buffer, times = 1) => counts.set(storageOf(b), (counts.get(storageOf(b)) ?? 0) + times);
	for (const b of program.buffers) if (b.aliasOf) read(b.aliasOf, Infinity);
	for (const b of program.results) read(b, Infinity);
	const stack: Step[][] = [program.steps];
	while (stack.length > 0) {
		for (const step of stack.pop()!) {
			if (step.kind === "kernel") step.inputs.forEach((b) => read(b));
			else if (step.kind === "copy") {
				step.inputs.forEach((b) => read(b));
				if (step.dynamic) read(step.dynamic.index);
			} else {
				for (const c of step.carried) {
					read(c.initial, Infinity);
					read(c.next, Infinity);
					read(c.variable, Infinity);
				}
				stack.push(step.body);
			}
		}
	}
	return counts;
}

/** One fused step from consecutive fusible steps over the same element count. */
function fuse(group: KernelStep[], reads: Map<Buffer, number>): KernelStep {
	const inputs: Buffer[] = [];
	const ops: ElementwiseChain["ops"] = [];
	const producedBy = new Map<Buffer, number>();
	const readsInside = new Map<Buffer, number>();
	const operand = (b: Buffer): number => {
		const produced = producedBy.get(storageOf(b));
		if (produced !== undefined) {
			readsInside.set(storageOf(b), (readsInside.get(storageOf(b)) ?? 0) + 1);
			return -1 - produced;
		}
		let k = inputs.findIndex((i) => storageOf(i) === storageOf(b) && i.size === b.size && (i.viewOffset ?? 0) === (b.viewOffset ?? 0));
		if (k < 0) k = inputs.push(b) - 1;
		return k;
	};
	for (const step of group) {
		ops.push({ node: step.node, operands: step.inputs.map(operand) });
		for (const f of step.fused) ops.push({ node: f, operands: [-ops.length] });
		producedBy.set(storageOf(step.outputs[0]), ops.length - 1);
	}
	const outputs: Buffer[] = [];
	const stores: number[] = [];
	for (const step of group) {
		const out = step.outputs[0];
		const storage = storageOf(out);
		const readers = reads.get(storage) ?? 0;
		const internal = out.kind === "temp" && !out.aliasOf && readers > 0 && readers === (readsInside.get(storage) ?? 0);
		if (internal) continue;
		outputs.push(out);
		stores.push(producedBy.get(storage)!);
	}
	const last = group[group.length - 1];
	const members = group.flatMap((s) => [s.node, ...s.fused]);
	return {
		kind: "kernel", node: last.node, op: group.length === 1 && last.fused.length === 0 ? last.op : "FusedElementwise", inputs, outputs,
		fused: members.slice(0, -1).filter((n) => n !== last.node), emit: elementwiseChain, chain: { ops, stores },
	};
}

/** Replaces runs of fusible steps, in every step list of the program, by fused steps. */
export function fuseElementwise(program: Program): void {
	const reads = readCounts(program);
	const rewrite = (steps: Step[]): Step[] => {
		const out: Step[] = [];
		let group: KernelStep[] = [];
		const flush = () => {
			if (group.length > 0) out.push(fuse(group, reads));
			group = [];
		};
		for (const step of steps) {
			if (step.kind === "loop") {
				flush();
				step.body = rewrite(step.body);
				out.push(step);
			} else if (fusible(step)) {
				// A part of a value the group computes (a Split of it) is not the same elements: it is read back from memory.
				const partOfGroup = step.inputs.some((b) => b.aliasOf && ((b.viewOffset ?? 0) !== 0 || b.size !== b.aliasOf.size) && group.some((g) => storageOf(g.outputs[0]) === b.aliasOf));
				if (group.length > 0 && (group[0].outputs[0].size !== step.outputs[0].size || partOfGroup)) flush();
				group.push(step);
			} else {
				flush();
				out.push(step);
			}
		}
		flush();
		return out;
	};
	program.steps = rewrite(program.steps);
}
