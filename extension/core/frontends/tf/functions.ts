// Inlines TensorFlow function calls (TF2 graphs: StatefulPartitionedCall, PartitionedCall, ops naming a library
// function) into one flat GraphDef, as common_runtime/inline_function_utils.cc does: body nodes get the caller's
// name as a prefix, each argument becomes an Identity `caller/input/_i`, each result an Identity `caller/output/_i`,
// and a node named like the caller keeps `caller:i` fetchable. Functional While/If are lowered on the way.

import { type AttrValue, type GraphDef, type NodeDef, has } from "../../graph/attr";
import { refKey } from "../../graph/graph";
import { FUNCTIONAL_CONTROL_FLOW, lowerFunctionalControlFlow } from "./functionalControlFlow";
import { type ArgDef, type FunctionDef, InlineProblem } from "./functionLibrary";

export const CALL_OPS = new Set(["PartitionedCall", "StatefulPartitionedCall"]);

/** Ops that run a function of the library; none may survive into a graph the interpreter or compiler gets. */
export const FUNCTIONAL_OPS = new Set([...CALL_OPS, ...FUNCTIONAL_CONTROL_FLOW, "Case", "StatelessCase", "SymbolicGradient", "RemoteCall"]);

/** Set on a call the loader could not inline, saying why; freezing refuses graphs whose fetches need such a node. */
export const INLINE_ERROR_ATTR = "_inline_error";

const DT_RESOURCE = 20;
// Calls nested deeper than this are a function calling itself through others.
const MAX_CALL_DEPTH = 64;

// Output arguments of ops with more than one: a body names outputs `node:arg:index`, so the flat index is the
// argument's offset plus the index. Every other op has one output argument (perhaps a list), whose offset is 0.
const OUTPUT_ARGS: Record<string, string[]> = {
	Switch: ["output_false", "output_true"], RefSwitch: ["output_false", "output_true"],
	Merge: ["output", "value_index"], RefMerge: ["output", "value_index"],
	FusedBatchNorm: ["y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"],
	FusedBatchNormV2: ["y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"],
	FusedBatchNormV3: ["y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2", "reserve_space_3"],
	Unique: ["y", "idx"], UniqueV2: ["y", "idx"], UniqueWithCounts: ["y", "idx", "count"], ListDiff: ["out", "idx"],
	TopKV2: ["values", "indices"], TopK: ["values", "indices"], MaxPoolWithArgmax: ["output", "argmax"],
	TensorArrayV3: ["handle", "flow"], TensorArrayGradV3: ["grad_handle", "flow_out"], TensorArrayConcatV3: ["value", "lengths"],
	QuantizeV2: ["output", "output_min", "output_max"], BroadcastGradientArgs: ["r0", "r1"],
	LSTMBlockCell: ["i", "cs", "f", "o", "ci", "co", "h"], BlockLSTM: ["i", "cs", "f", "o", "ci", "co", "h"],
	BlockLSTMV2: ["i", "cs", "f", "o", "ci", "co", "h"], GRUBlockCell: ["r", "u", "c", "h"],
	CudnnRNN: ["output", "output_h", "output_c", "reserve_space"], CudnnRNNV3: ["output", "output_h", "output_c", "reserve_space", "host_reserved"],
	NonMaxSuppressionV4: ["selected_indices", "valid_outputs"], NonMaxSuppressionV5: ["selected_indices", "selected_scores", "valid_outputs"],
	Svd: ["s", "u", "v"], Qr: ["q", "r"],
};

/**
 * Inlines every function call and lowers every functional While/If of `def`, recursively, into a GraphDef with no
 * library. A call that cannot be inlined (its function is missing, it recurses, ...) is kept, marked with
 * INLINE_ERROR_ATTR, so the model still loads and inspects; freezing then names it.
 */
export function inlineFunctions(def: GraphDef): GraphDef {
	const functions = (def.library?.function ?? []) as FunctionDef[];
	const needed = functions.length > 0 || def.node.some((n) => FUNCTIONAL_OPS.has(n.op));
	if (!needed) return def;
	const inliner = new Inliner(new Map(functions.map((f) => [f.signature?.name ?? "", f])));
	inliner.emit(def.node, []);
	return { node: inliner.finish(), versions: def.versions };
}

/** The function a node calls, with the attributes its placeholders take, or undefined when it calls none. */
export function calleeOf(node: NodeDef, library: ReadonlyMap<string, FunctionDef>): { name: string; attr: Record<string, AttrValue> } | undefined {
	if (CALL_OPS.has(node.op)) {
		const f = node.attr?.f?.func;
		if (!f?.name) throw new InlineProblem(`node "${node.name}" (${node.op}) has no function in its attribute "f"`);
		return { name: f.name, attr: f.attr ?? {} };
	}
	if (library.has(node.op)) return { name: node.op, attr: node.attr ?? {} };
	return undefined;
}

class Inliner {
	private readonly nodes: NodeDef[] = [];
	private readonly names = new Set<string>();
	/** `caller:i` -> the tensor that now holds it. */
	private readonly renames = new Map<string, string>();
	/** Nodes something waits for through a control edge: their inlined calls need an output control node. */
	private readonly controlTargets = new Set<string>();

	constructor(private readonly library: ReadonlyMap<string, FunctionDef>) {}

	emit(nodes: readonly NodeDef[], chain: readonly string[]): void {
		for (const node of nodes) {
			for (const input of node.input ?? []) if (input.startsWith("^")) this.controlTargets.add(input.slice(1));
		}
		for (const node of nodes) {
			try {
				this.expand(node, chain);
			} catch (error) {
				if (!(error instanceof InlineProblem)) throw error;
				this.push({ ...node, attr: { ...node.attr, [INLINE_ERROR_ATTR]: { s: new TextEncoder().encode(error.message) } } });
			}
		}
	}

	finish(): NodeDef[] {
		const resolve = (input: string): string => {
			if (input.startsWith("^")) return input;
			let current = input;
			for (let hops = 0; hops < 1000; hops++) {
				const next = this.renames.get(tensorKey(current));
				if (next === undefined) return current;
				current = next;
			}
			return current;
		};
		return this.nodes.map((n) => ({ ...n, input: (n.input ?? []).map(resolve) }));
	}

	private expand(node: NodeDef, chain: readonly string[]): void {
		if (FUNCTIONAL_CONTROL_FLOW.has(node.op)) {
			const lowered = lowerFunctionalControlFlow(node, this.library);
			for (const [from, to] of lowered.renames) this.renames.set(from, to);
			this.emit(lowered.nodes, chain);
			return;
		}
		const callee = calleeOf(node, this.library);
		if (!callee) {
			if (FUNCTIONAL_OPS.has(node.op)) throw new InlineProblem(`node "${node.name}": functional op ${node.op} cannot be lowered; re-export the model without it`);
			this.push(node);
			return;
		}
		const fn = this.library.get(callee.name);
		if (!fn) {
			throw new InlineProblem(`node "${node.name}" (${node.op}) calls function "${callee.name}", which the graph's function library does not define; re-export the model with its functions (tf.saved_model.save writes them)`);
		}
		if (chain.includes(callee.name) || chain.length >= MAX_CALL_DEPTH) {
			throw new InlineProblem(`node "${node.name}" calls function "${callee.name}" recursively (${[...chain, callee.name].join(" -> ")}); recursive functions cannot be inlined`);
		}
		const body = this.instantiate(node, fn, callee.attr);
		this.emit(body, [...chain, callee.name]);
	}

	/** The nodes that replace `caller`: its function body, renamed and wired to the caller's inputs. */
	private instantiate(caller: NodeDef, fn: FunctionDef, callAttrs: Record<string, AttrValue>): NodeDef[] {
		const name = caller.name;
		const fname = fn.signature?.name ?? "";
		const where = `function "${fname}" called by node "${name}"`;
		const inputs = (caller.input ?? []).filter((i) => !i.startsWith("^"));
		const controls = (caller.input ?? []).filter((i) => i.startsWith("^"));
		const inArgs = fn.signature?.input_arg ?? [];
		const outArgs = fn.signature?.output_arg ?? [];
		if (inputs.length !== inArgs.length) {
			throw new InlineProblem(`node "${name}" passes ${inputs.length} input(s) to function "${fname}", which takes ${inArgs.length} (${inArgs.map((a) => a.name).join(", ")})`);
		}
		const out: NodeDef[] = [];
		const inputControl = controls.length > 0 ? this.fresh(`${name}/input_control_node`) : undefined;
		if (inputControl) out.push({ name: inputControl, op: "NoOp", input: controls, attr: {} });
		const argNodes = new Map<string, string>();
		inArgs.forEach((arg, i) => {
			const identity = this.fresh(`${name}/input/_${i}`);
			argNodes.set(arg.name ?? "", identity);
			out.push(identityNode(identity, [inputs[i], ...(inputControl ? [`^${inputControl}`] : [])], argType(arg, callAttrs)));
		});
		const bodyNodes = new Map((fn.node_def ?? []).map((n) => [n.name, n]));
		const prefix = `${name}/`;
		const renamed = new Map([...bodyNodes.keys()].map((n) => [n, this.fresh(`${prefix}${n}`)]));
		const resolve = (ref: string): string => {
			const control = ref.startsWith("^");
			const text = control ? ref.slice(1) : ref;
			const parts = text.split(":");
			const arg = argNodes.get(parts[0]);
			if (arg !== undefined && parts.length <= 2) {
				if (parts.length === 2 && parts[1] !== "0") throw new InlineProblem(`${where}: input "${ref}" indexes into argument "${parts[0]}", which is one tensor`);
				return control ? `^${arg}` : arg;
			}
			const source = bodyNodes.get(parts[0]);
			if (!source) throw new InlineProblem(`${where}: "${ref}" names neither an argument nor a node of the function`);
			const target = renamed.get(parts[0])!;
			if (control) return `^${target}`;
			const index = parts.length === 3 ? this.outputOffset(source, parts[1], where) + Number(parts[2]) : parts.length === 2 ? Number(parts[1]) : 0;
			return refKey({ node: target, index });
		};
		for (const node of fn.node_def ?? []) {
			const attr = substitutePlaceholders(node.attr ?? {}, callAttrs, `${where}, node "${node.name}"`);
			// Loops written as TF1 dataflow inside a body get the caller's prefix, so two calls never share a frame.
			if (node.op === "Enter" || node.op === "RefEnter") {
				const frame = attr.frame_name?.s ? new TextDecoder().decode(attr.frame_name.s) : "";
				attr.frame_name = { s: new TextEncoder().encode(`${prefix}${frame}`) };
			}
			const input = (node.input ?? []).map(resolve);
			// Nodes with no inputs would otherwise run outside the caller's loop frame or untaken branch.
			const isCall = CALL_OPS.has(node.op) || this.library.has(node.op) || FUNCTIONAL_CONTROL_FLOW.has(node.op);
			if (inputControl && (input.length === 0 || (isCall && !input.some((i) => i.startsWith("^"))))) input.push(`^${inputControl}`);
			out.push({ name: renamed.get(node.name)!, op: node.op, input, device: node.device ?? "", attr });
		}
		const outputs = outArgs.map((arg, i) => {
			const ret = fn.ret?.[arg.name ?? ""];
			if (ret === undefined) throw new InlineProblem(`${where}: result "${arg.name}" has no entry in the function's ret map`);
			const identity = this.fresh(`${name}/output/_${i}`);
			out.push(identityNode(identity, [resolve(ret)], argType(arg, callAttrs)));
			this.renames.set(refKey({ node: name, index: i }), identity);
			return identity;
		});
		let outputControl: string | undefined;
		if (this.controlTargets.has(name)) {
			outputControl = this.fresh(`${name}/output_control_node`);
			// Multi-device calls (TF2) order side effects by control_ret; single-device ones by their data results.
			const sources = CALL_OPS.has(caller.op) ? Object.values(fn.control_ret ?? {}).map((r) => resolve(`^${r}`)) : outputs.map((o) => `^${o}`);
			out.push({ name: outputControl, op: "NoOp", input: sources.length > 0 ? sources : inputControl ? [`^${inputControl}`] : [], attr: {} });
		}
		out.push(callerSubstitute(name, caller.device ?? "", outputs, outputs.map((_, i) => argType(outArgs[i], callAttrs)), outputControl));
		return out;
	}

	/** Offset of output argument `arg` among the flat outputs of body node `node`. */
	private outputOffset(node: NodeDef, arg: string, where: string): number {
		const callee = this.library.get(node.op);
		const names = callee ? (callee.signature?.output_arg ?? []).map((a) => a.name) : OUTPUT_ARGS[node.op];
		if (!names) return 0;
		const offset = names.indexOf(arg);
		if (offset < 0) throw new InlineProblem(`${where}: node "${node.name}" (${node.op}) has no output argument "${arg}" (it has ${names.join(", ")})`);
		return offset;
	}

	private push(node: NodeDef): void {
		this.names.add(node.name);
		this.nodes.push(node);
	}

	/** `wanted`, or `wanted_N` when a node of that name exists already. */
	private fresh(wanted: string): string {
		let name = wanted;
		for (let n = 1; this.names.has(name); n++) name = `${wanted}_${n}`;
		this.names.add(name);
		return name;
	}
}

/** `node:N` in the refKey form the renames are keyed by. */
function tensorKey(input: string): string {
	const match = /^(.*):(\d+)$/.exec(input);
	return match ? refKey({ node: match[1], index: Number(match[2]) }) : input;
}

function argType(arg: ArgDef | undefined, callAttrs: Record<string, AttrValue>): number | undefined {
	if (!arg) return undefined;
	if (arg.type) return arg.type;
	const fromAttr = arg.type_attr ? callAttrs[arg.type_attr] : undefined;
	return fromAttr && has(fromAttr, "type") ? fromAttr.type : undefined;
}

function identityNode(name: string, input: string[], type: number | undefined): NodeDef {
	return { name, op: "Identity", input, device: "", attr: type === undefined ? {} : { T: { type } } };
}

/** Keeps the caller's name fetchable: Identity for one result (so the compiler sees a plain alias), else IdentityN. */
function callerSubstitute(name: string, device: string, outputs: string[], types: (number | undefined)[], control: string | undefined): NodeDef {
	const controls = control ? [`^${control}`] : [];
	if (outputs.length === 0) return { name, op: "NoOp", input: controls, device, attr: {} };
	if (outputs.length === 1) return { ...identityNode(name, [outputs[0], ...controls], types[0]), device };
	const known = types.every((t) => t !== undefined);
	return { name, op: "IdentityN", input: [...outputs, ...controls], device, attr: known ? { T: { list: { type: types as number[] } } } : {} };
}

/** Replaces attributes written as `placeholder: "name"` in a body by the call's attribute of that name. */
function substitutePlaceholders(attrs: Record<string, AttrValue>, callAttrs: Record<string, AttrValue>, where: string): Record<string, AttrValue> {
	const result: Record<string, AttrValue> = {};
	for (const [key, value] of Object.entries(attrs)) {
		if (value.placeholder) {
			const bound = callAttrs[value.placeholder];
			if (!bound) throw new InlineProblem(`${where}: attribute "${key}" refers to "${value.placeholder}", which the call does not set`);
			result[key] = bound;
		} else {
			result[key] = value;
		}
	}
	return result;
}

/** True when an attribute holds a resource handle type (DT_RESOURCE). */
export function isResourceType(value: AttrValue | undefined): boolean {
	return value !== undefined && has(value, "type") && value.type === DT_RESOURCE;
}
