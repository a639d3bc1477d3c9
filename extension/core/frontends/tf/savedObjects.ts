// Which checkpoint tensor holds each resource variable of a TF2 SavedModel, found the way saved_model/load.py
// restores them: a call of a concrete function passes the objects it captured (SavedConcreteFunction.bound_inputs,
// SavedObjectGraph node ids) as its last inputs, and those ids are the checkpoint's TrackableObjectGraph ids.

import type { Checkpoint } from "./checkpoint/bundle";
import { CALL_OPS } from "./functions";
import type { MetaGraphDef, NodeDef } from "./proto/types";

const PASS_THROUGH = new Set(["Identity", "IdentityN"]);

/** Top-level VarHandleOp node name -> checkpoint key, for the variables the SavedModel's object graph identifies. */
export function savedVariableKeys(meta: MetaGraphDef | undefined, checkpoint: Checkpoint): Map<string, string> {
	const keys = new Map<string, string>();
	const objects = meta?.object_graph_def;
	if (!objects || !checkpoint.objectGraph()) return keys;
	const nodes = meta.graph_def?.node ?? [];
	const byName = new Map(nodes.map((n) => [n.name, n]));
	const ids = new Map<string, number>();
	for (const node of nodes) {
		const fname = CALL_OPS.has(node.op) ? node.attr?.f?.func?.name : node.op;
		const bound = fname ? objects.concrete_functions?.[fname]?.bound_inputs ?? [] : [];
		if (bound.length === 0) continue;
		const inputs = (node.input ?? []).filter((i) => !i.startsWith("^"));
		const captured = inputs.slice(Math.max(0, inputs.length - bound.length));
		captured.forEach((input, j) => {
			const variable = variableBehind(input, byName);
			if (variable && !ids.has(variable)) ids.set(variable, bound[j]);
		});
	}
	// Variables no call captures (e.g. read only by the saver) are matched by the name the object graph gives them.
	(objects.nodes ?? []).forEach((object, id) => {
		const name = object.variable?.name;
		if (!name) return;
		for (const node of nodes) {
			if (node.op === "VarHandleOp" && !ids.has(node.name) && (node.name === name || sharedName(node) === name)) ids.set(node.name, id);
		}
	});
	for (const [variable, id] of ids) {
		const key = checkpoint.variableKeyForNode(id);
		if (key !== undefined) keys.set(variable, key);
	}
	return keys;
}

/** The VarHandleOp an input reads, looking through Identity, or undefined when it is not a variable handle. */
function variableBehind(input: string, byName: ReadonlyMap<string, NodeDef>): string | undefined {
	let name = input.replace(/:\d+$/, "");
	for (let hops = 0; hops < 100; hops++) {
		const node = byName.get(name);
		if (!node) return undefined;
		if (node.op === "VarHandleOp") return node.name;
		if (!PASS_THROUGH.has(node.op)) return undefined;
		const match = /^(.*?)(?::(\d+))?$/.exec(input)!;
		const data = (node.input ?? []).filter((i) => !i.startsWith("^"));
		const next = node.op === "IdentityN" ? data[Number(match[2] ?? 0)] : data[0];
		if (next === undefined) return undefined;
		input = next;
		name = next.replace(/:\d+$/, "");
	}
	return undefined;
}

function sharedName(node: NodeDef): string {
	const s = node.attr?.shared_name?.s;
	return s ? new TextDecoder().decode(s) : "";
}
