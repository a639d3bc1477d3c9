// Lowers TF2's functional control flow to the TF1 dataflow the interpreter and compiler run, as TensorFlow's own
// common_runtime/lower_while_op.cc and lower_if_op.cc do. The cond, body and branch functions become calls (nodes
// whose op names the function), which the inliner then inlines like any other.

import type { AttrValue, NodeDef } from "../../graph/attr";
import { refKey } from "../../graph/graph";
import { type FunctionDef, InlineProblem } from "./functionLibrary";

export const FUNCTIONAL_CONTROL_FLOW = new Set(["While", "StatelessWhile", "If", "StatelessIf"]);

const DT_BOOL = 10;
const DT_RESOURCE = 20;

export interface Lowered {
	nodes: NodeDef[];
	/** `node:i` of the functional op -> the tensor that now holds it. */
	renames: [string, string][];
}

export function lowerFunctionalControlFlow(node: NodeDef, library: ReadonlyMap<string, FunctionDef>): Lowered {
	return node.op.endsWith("While") ? lowerWhile(node, library) : lowerIf(node, library);
}

function func(node: NodeDef, attr: string, library: ReadonlyMap<string, FunctionDef>): { name: string; attr: Record<string, AttrValue>; def: FunctionDef } {
	const f = node.attr?.[attr]?.func;
	if (!f?.name) throw new InlineProblem(`node "${node.name}" (${node.op}) has no function in its attribute "${attr}"`);
	const def = library.get(f.name);
	if (!def) {
		throw new InlineProblem(`node "${node.name}" (${node.op}) calls function "${f.name}" (its ${attr}), which the graph's function library does not define; re-export the model with its functions`);
	}
	return { name: f.name, attr: f.attr ?? {}, def };
}

function types(node: NodeDef, attr: string): number[] {
	return (node.attr?.[attr]?.list?.type ?? []).map(Number);
}

const typeAttr = (type: number | undefined): Record<string, AttrValue> => (type === undefined ? {} : { T: { type } });

/**
 * A body that hands argument i straight back (directly or through one Identity) leaves it unchanged, so a resource
 * handle there can enter the frame as a constant, as lower_while_op.cc does for loop-invariant resources.
 */
function passesThrough(body: FunctionDef, index: number): boolean {
	const arg = body.signature?.input_arg?.[index]?.name;
	const result = body.signature?.output_arg?.[index]?.name;
	if (arg === undefined || result === undefined) return false;
	const ret = body.ret?.[result];
	if (ret === undefined) return false;
	if (ret === arg) return true;
	const source = (body.node_def ?? []).find((n) => n.name === ret.split(":")[0]);
	return source?.op === "Identity" && (source.input ?? []).filter((i) => !i.startsWith("^"))[0] === arg;
}

/** Enter -> Merge -> cond -> LoopCond -> Switch -> body -> NextIteration, with Exit on the Switch's false side. */
function lowerWhile(node: NodeDef, library: ReadonlyMap<string, FunctionDef>): Lowered {
	const w = node.name;
	const cond = func(node, "cond", library);
	const body = func(node, "body", library);
	const inputs = (node.input ?? []).filter((i) => !i.startsWith("^"));
	const controls = (node.input ?? []).filter((i) => i.startsWith("^"));
	const dtypes = types(node, "T");
	const parallel = node.attr?.parallel_iterations?.i ?? 10;
	const invariant = inputs.map((_, i) => dtypes[i] === DT_RESOURCE && passesThrough(body.def, i));
	const first = invariant.indexOf(false);
	if (first < 0) throw new InlineProblem(`node "${w}" (${node.op}) carries no value from one iteration to the next, so it cannot be lowered`);
	const nodes: NodeDef[] = [];
	const frame = { s: new TextEncoder().encode(w) };
	const loopControl = controls.length > 0 ? `${w}/LoopControlInputs` : undefined;
	if (loopControl) nodes.push({ name: loopControl, op: "NoOp", input: controls, attr: {} });
	const enters = inputs.map((input, i) => {
		const name = `${w}/enter_${i}`;
		nodes.push({
			name, op: "Enter", input: [input, ...(loopControl ? [`^${loopControl}`] : [])], device: node.device ?? "",
			attr: { ...typeAttr(dtypes[i]), frame_name: frame, is_constant: { b: invariant[i] }, parallel_iterations: { i: parallel } },
		});
		return name;
	});
	const merge = (i: number) => `${w}/merge_${i}`;
	const current = inputs.map((_, i) => {
		if (invariant[i]) return enters[i];
		nodes.push({ name: merge(i), op: "Merge", input: [enters[i], `${w}/next_iteration_${i}`], attr: { ...typeAttr(dtypes[i]), N: { i: 2 } } });
		return merge(i);
	});
	// The control edges put the functions' constants into the loop frame (lower_while_op.cc does the same).
	nodes.push({ name: `${w}/cond`, op: cond.name, input: [...current, `^${merge(first)}`], attr: cond.attr });
	nodes.push({ name: `${w}/LoopCond`, op: "LoopCond", input: [`${w}/cond`], attr: {} });
	const switches = inputs.map((_, i) => {
		if (invariant[i]) return undefined;
		const name = `${w}/switch_${i}`;
		nodes.push({ name, op: "Switch", input: [merge(i), `${w}/LoopCond`], attr: typeAttr(dtypes[i]) });
		return name;
	});
	nodes.push({ name: `${w}/loop_body_control`, op: "Identity", input: [`${switches[first]}:1`], attr: typeAttr(dtypes[first]) });
	const bodyInputs = inputs.map((_, i) => (invariant[i] ? enters[i] : `${switches[i]}:1`));
	nodes.push({ name: `${w}/body`, op: body.name, input: [...bodyInputs, `^${w}/loop_body_control`], attr: body.attr });
	const results = inputs.map((input, i) => {
		if (invariant[i]) return input;
		nodes.push({ name: `${w}/next_iteration_${i}`, op: "NextIteration", input: [refKey({ node: `${w}/body`, index: i })], attr: typeAttr(dtypes[i]) });
		nodes.push({ name: `${w}/exit_${i}`, op: "Exit", input: [switches[i]!], attr: typeAttr(dtypes[i]) });
		return `${w}/exit_${i}`;
	});
	nodes.push({ name: w, op: "IdentityN", input: results, device: node.device ?? "", attr: { T: { list: { type: dtypes } } } });
	return { nodes, renames: results.map((r, i) => [refKey({ node: w, index: i }), r]) };
}

/** Switch every input on the predicate, call each branch on its side, Merge the results. */
function lowerIf(node: NodeDef, library: ReadonlyMap<string, FunctionDef>): Lowered {
	const name = node.name;
	const thenBranch = func(node, "then_branch", library);
	const elseBranch = func(node, "else_branch", library);
	const [condition, ...inputs] = (node.input ?? []).filter((i) => !i.startsWith("^"));
	if (condition === undefined) throw new InlineProblem(`node "${name}" (${node.op}) has no condition input`);
	const controls = (node.input ?? []).filter((i) => i.startsWith("^"));
	const inTypes = types(node, "Tin");
	const outTypes = types(node, "Tout");
	const nodes: NodeDef[] = [];
	let predicate = condition;
	const condType = node.attr?.Tcond?.type;
	// A non-boolean condition is true when non-zero, which is what Cast to bool computes.
	if (condType !== undefined && Number(condType) !== DT_BOOL) {
		predicate = `${name}/cond_bool`;
		nodes.push({ name: predicate, op: "Cast", input: [condition], attr: { SrcT: { type: condType }, DstT: { type: DT_BOOL }, Truncate: { b: false } } });
	}
	nodes.push({ name: `${name}/switch_pred`, op: "Switch", input: [predicate, predicate, ...controls], attr: typeAttr(DT_BOOL) });
	nodes.push({ name: `${name}/pivot_t`, op: "Identity", input: [`${name}/switch_pred:1`], attr: typeAttr(DT_BOOL) });
	nodes.push({ name: `${name}/pivot_f`, op: "Identity", input: [`${name}/switch_pred`], attr: typeAttr(DT_BOOL) });
	const switched = inputs.map((input, i) => {
		const switchName = `${name}/input_${i}`;
		nodes.push({ name: switchName, op: "Switch", input: [input, predicate], attr: typeAttr(inTypes[i]) });
		return switchName;
	});
	nodes.push({ name: `${name}/then`, op: thenBranch.name, input: [...switched.map((s) => `${s}:1`), `^${name}/pivot_t`], attr: thenBranch.attr });
	nodes.push({ name: `${name}/else`, op: elseBranch.name, input: [...switched, `^${name}/pivot_f`], attr: elseBranch.attr });
	const count = Math.max(outTypes.length, thenBranch.def.signature?.output_arg?.length ?? 0);
	const merges = Array.from({ length: count }, (_, k) => {
		const mergeName = `${name}/output_${k}`;
		nodes.push({
			name: mergeName, op: "Merge",
			input: [refKey({ node: `${name}/then`, index: k }), refKey({ node: `${name}/else`, index: k })],
			attr: { ...typeAttr(outTypes[k]), N: { i: 2 } },
		});
		return mergeName;
	});
	nodes.push({ name, op: "IdentityN", input: merges, device: node.device ?? "", attr: { T: { list: { type: outTypes } } } });
	return { nodes, renames: merges.map((m, k) => [refKey({ node: name, index: k }), m]) };
}
