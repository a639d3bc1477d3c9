import { type GraphNode, attrBool } from "../graph/graph";
import { type CompilerRule, opEntry } from "./table";
import { isVariableOp } from "./variables";

const LOWERED = new Set<CompilerRule["kind"]>(["source", "alias", "layout", "kernel", "control", "variable"]);

/** Nodes inside while loops: reachable from an Enter without leaving through an Exit. */
function loopMembers(nodes: readonly GraphNode[]): Set<string> {
	const consumers = new Map<string, GraphNode[]>();
	for (const node of nodes) {
		for (const source of [...node.inputs.map((r) => r.node), ...node.controlInputs]) {
			if (!consumers.has(source)) consumers.set(source, []);
			consumers.get(source)!.push(node);
		}
	}
	const inside = new Set<string>();
	const stack = nodes.filter((n) => n.op === "Enter" || n.op === "RefEnter");
	while (stack.length > 0) {
		const node = stack.pop()!;
		if (inside.has(node.name)) continue;
		inside.add(node.name);
		if (node.op === "Exit" || node.op === "RefExit") continue;
		stack.push(...(consumers.get(node.name) ?? []));
	}
	return inside;
}

/** The nodes a node's value depends on, as far as constant folding goes; undefined when it never folds. */
function foldSources(node: GraphNode, byName: ReadonlyMap<string, GraphNode>): string[] | undefined {
	if (node.op === "TensorArraySizeV3") {
		// A fixed-size TensorArray's size is what it was created with, whatever was written to it.
		const array = byName.get(node.inputs[0]?.node ?? "");
		return array?.op === "TensorArrayV3" && !attrBool(array, "dynamic_size", false) && array.inputs[0] ? [array.inputs[0].node] : undefined;
	}
	const folding = opEntry(node.op)?.folding ?? "never";
	if (folding === "never") return undefined;
	return [...(folding === "shapes" ? [] : node.inputs.map((r) => r.node)), ...node.controlInputs];
}

/**
 * Nodes constant folding turns into constants whatever the feeds' values, judged from the graph alone: outside
 * loops, computed from constants, variables (constants once frozen) and static shapes only.
 */
export function compileTimeConstants(nodes: readonly GraphNode[]): Set<string> {
	const byName = new Map(nodes.map((n) => [n.name, n]));
	const inLoop = loopMembers(nodes);
	const state = new Map<string, boolean>();
	const onStack = new Set<string>();
	const finish = (node: GraphNode, constant: boolean) => {
		state.set(node.name, constant);
		onStack.delete(node.name);
	};
	for (const start of nodes) {
		const stack = [start];
		onStack.add(start.name);
		while (stack.length > 0) {
			const node = stack[stack.length - 1];
			if (state.has(node.name)) {
				stack.pop();
				continue;
			}
			if (isVariableOp(node.op)) {
				finish(node, true);
				continue;
			}
			const sources = inLoop.has(node.name) ? undefined : foldSources(node, byName);
			// A source still on the stack is a cycle outside loops, which never folds.
			const pending = (sources ?? []).filter((s) => byName.has(s) && !state.has(s) && !onStack.has(s));
			if (pending.length > 0) {
				for (const s of pending) {
					stack.push(byName.get(s)!);
					onStack.add(s);
				}
				continue;
			}
			finish(node, sources !== undefined && sources.every((s) => state.get(s) === true));
		}
	}
	return new Set([...state].filter(([name, constant]) => constant && !isVariableOp(byName.get(name)!.op)).map(([name]) => name));
}

/**
 * For each node, whether the compiler will handle it: its op is lowered wherever it stands, or it is a
 * folded-only op whose value is static here. `knn inspect`'s "unsupported" list and the graph inspector's
 * colouring both read this, and the compiler refuses exactly the nodes it marks false (see codegen/lower.ts).
 */
export function compilerSupport(nodes: readonly GraphNode[]): Map<string, boolean> {
	const constants = compileTimeConstants(nodes);
	return new Map(nodes.map((node) => {
		const entry = opEntry(node.op);
		return [node.name, entry !== undefined && (LOWERED.has(entry.compiler.kind) || constants.has(node.name))];
	}));
}

/**
 * Ops with nodes the compiler would refuse, with how many such nodes each has, most first; only nodes that
 * `counted` accepts are counted (the verdict itself is over all of `nodes`).
 */
export function unsupportedOps(nodes: readonly GraphNode[], counted: (node: GraphNode) => boolean = () => true): { op: string; count: number }[] {
	const support = compilerSupport(nodes);
	const counts = new Map<string, number>();
	for (const node of nodes) if (counted(node) && !support.get(node.name)) counts.set(node.op, (counts.get(node.op) ?? 0) + 1);
	return [...counts].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
}
