import { configFeeds, configRef } from "../frontends/tf/tf2xlaConfig";
import { type Graph, type GraphNode, type TensorRef, attrBool, attrString, attrTensor, attrType, refKey } from "../graph/graph";
import { type FeedSpec, type Inference, feedDType, foldConstants, inferGraph } from "../interp/infer";
import { type DType, type Tensor, dtypeToEnum, formatShape, numbers, shapeSize } from "../graph/tensor";
import type { Tf2xlaConfig } from "../frontends/tf/proto/types";
import { type CompilerRule, foldingOf, opEntry } from "../ops/table";
import { CompileError } from "./compileError";
import { mergeOp } from "./emitCond";
import type { KernelEmitter } from "./emitKernels";
import { type Buffer, type BufferKind, type CopyStep, type LoopStep, type MergeChoice, type Program, type Step, storageOf } from "./program";

export { CompileError };

const ACTIVATIONS = new Set(["Relu", "Relu6", "Sigmoid", "Tanh"]);
const TENSOR_ARRAY_IO = new Set(["TensorArrayScatterV3", "TensorArrayGatherV3", "TensorArrayReadV3", "TensorArrayWriteV3"]);

/** A literal of a tf.cond liveness condition: predicate tensor `predicate` equals `value`. */
interface Literal {
	predicate: TensorRef;
	value: boolean;
}
type Condition = Map<string, Literal>;

/** Lowers a frozen graph and its config to a program of kernels, copies and loops over planned buffers. */
export function lowerGraph(frozen: Graph, config: Tf2xlaConfig): Program {
	const feeds = configFeeds(frozen, config);
	const fetches = config.fetch.map(configRef);
	const unknown = [...frozen.ancestors(fetches.map((f) => f.node), new Set(feeds.map((f) => f.ref.node)))].map((name) => frozen.node(name)).filter((node) => !opEntry(node.op));
	if (unknown.length > 0) {
		throw new CompileError(unknown.slice(0, 10).map((node) => `node "${node.name}": op ${node.op} is not supported by Kernel NN (neither the interpreter nor the compiler knows it)`).join("\n"));
	}
	const graph = foldConstants(frozen, inferGraph(frozen, feeds, fetches), fetches, feeds.map((f) => f.ref.node));
	const inference = inferGraph(graph, feeds, fetches);
	return new Lowering(graph, inference, feeds, fetches).run(
		config.feed.map((f) => f.name || refKey(configRef(f))),
		config.fetch.map((f) => f.name || refKey(configRef(f))),
	);
}

/** The deepest nesting of while loops the compiler lowers (each level is one call of lowerLoop). */
const MAX_LOOP_NESTING = 64;

class Lowering {
	private readonly buffers: Buffer[] = [];
	private readonly bufferOf = new Map<string, Buffer>();
	private readonly lowered = new Set<string>();
	private loopDepth = 0;
	private readonly feedDependent: Set<string>;
	private zeroFlow?: Buffer;
	private readonly fed: Set<string>;

	private readonly feeds: TensorRef[];

	constructor(private readonly graph: Graph, private readonly inference: Inference, private readonly feedSpecs: FeedSpec[], private readonly fetches: TensorRef[]) {
		this.feeds = feedSpecs.map((f) => f.ref);
		this.fed = new Set(this.feeds.map((f) => f.node));
		this.feedDependent = feedDependentNodes(graph, this.fed);
	}

	run(argumentNames: string[], resultNames: string[]): Program {
		const args = this.feedSpecs.map((spec, index) => {
			const ref = spec.ref;
			// A feed nothing reads any more (its only use folded away) still has its place in the API.
			const info = this.inference.tensors.get(refKey(ref)) ?? { dtype: feedDType(this.graph, spec), shape: spec.shape };
			const buffer = this.newBuffer("argument", info.dtype, info.shape, refKey(ref));
			buffer.index = index;
			this.bufferOf.set(refKey(ref), buffer);
			return buffer;
		});
		const steps = this.lowerScope("", this.neededNodes());
		const results = this.fetches.map((ref, index) => this.resultBuffer(ref, index, steps));
		const status = this.statusBuffer;
		if (status) steps.unshift({ kind: "copy", label: "reset the status", inputs: [], output: status, table: new Int32Array([-1]), fill: 0 });
		return { steps, buffers: this.buffers, arguments: args, results, argumentNames, resultNames, ...(status ? { status } : {}) };
	}

	private info(ref: TensorRef): { dtype: DType; shape: number[] } {
		const info = this.inference.tensors.get(refKey(ref));
		if (!info) throw new CompileError(`tensor "${refKey(ref)}" never received a value when the graph ran on the config's feed shapes`);
		if (info.shape.some((d) => d < 0)) {
			throw new CompileError(`node "${ref.node}" (${this.graph.node(ref.node).op}): its shape ${formatShape(info.shape)} changes between loop iterations; the compiler needs static shapes`);
		}
		return info;
	}

	private newBuffer(kind: BufferKind, dtype: DType, shape: number[], label: string, value?: Tensor): Buffer {
		const buffer: Buffer = { id: this.buffers.length, dtype, shape: [...shape], size: shapeSize(shape), kind, label, value };
		this.buffers.push(buffer);
		return buffer;
	}

	/** Data-edge ancestors of the fetches, not looking past feeds. */
	private neededNodes(): Set<string> {
		const fed = new Set(this.feeds.map((f) => f.node));
		const seen = new Set<string>();
		const stack = this.fetches.map((f) => f.node);
		while (stack.length > 0) {
			const name = stack.pop()!;
			if (seen.has(name)) continue;
			seen.add(name);
			if (fed.has(name)) continue;
			for (const ref of this.graph.node(name).inputs) stack.push(ref.node);
		}
		return seen;
	}

	/** The buffer holding a tensor, creating weights for constants on first use. */
	private input(ref: TensorRef): Buffer {
		const key = refKey(ref);
		const known = this.bufferOf.get(key);
		if (known) return known;
		const node = this.graph.node(ref.node);
		if (node.op === "Const") {
			const value = this.inference.tensors.get(node.name)?.value ?? attrTensor(node, "value");
			const buffer = this.newBuffer("weight", value.dtype, value.shape, node.name, value);
			this.bufferOf.set(key, buffer);
			return buffer;
		}
		throw new CompileError(`internal: "${key}" (${node.op}) was used before it was lowered`);
	}

	private frameOf(name: string): string | undefined {
		return this.inference.frameOf.get(name);
	}

	/** Lowers the nodes of one frame, with each loop entered from it as one step, in dependency order. */
	private lowerScope(frame: string, needed: Set<string>): Step[] {
		const steps: Step[] = [];
		const members = [...needed].filter((name) => this.frameOf(name) === frame || (this.frameOf(name) === undefined && frame === ""));
		const loops = new Map<string, GraphNode[]>();
		for (const name of members) {
			const node = this.graph.node(name);
			if (node.op === "Enter" || node.op === "RefEnter") {
				const child = `${frame}/${attrString(node, "frame_name")}`;
				if (!loops.has(child)) loops.set(child, []);
				loops.get(child)!.push(node);
			}
		}
		const done = new Set<string>();
		// An explicit stack instead of recursion: a chain of a million nodes is far deeper than the call stack.
		// Each entry lowers `finish` once every name in `inputs` has been visited, in order.
		const stack: { name: string; inputs: string[]; next: number; finish: () => void }[] = [];
		const onStack = new Map<string, number>();
		const enter = (name: string): void => {
			if (done.has(name) || this.lowered.has(name) || this.fed.has(name)) return;
			const node = this.graph.node(name);
			if (!needed.has(name) || node.op === "Const") return;
			const nodeFrame = this.frameOf(name);
			if (nodeFrame !== frame) {
				// An Exit of a loop entered from this frame: lower that whole loop first.
				const loop = [...loops.keys()].find((child) => nodeFrame === child);
				if (loop && !done.has(loop)) {
					done.add(loop);
					const enters = loops.get(loop)!;
					const inputs = enters.flatMap((e) => e.inputs.map((ref) => ref.node));
					stack.push({ name: loop, inputs, next: 0, finish: () => steps.push(this.lowerLoop(loop, enters, needed)) });
				}
				return;
			}
			const open = onStack.get(name);
			if (open !== undefined) {
				const cycle = [...stack.slice(open).map((entry) => entry.name), name].reverse();
				throw new CompileError(`the graph has a cycle outside any while loop: ${cycle.map((n) => `"${n}"`).join(" -> ")}; a TensorFlow graph loops only through NextIteration, so this file is damaged or was edited by hand`);
			}
			onStack.set(name, stack.length);
			stack.push({
				name, inputs: node.inputs.map((ref) => ref.node), next: 0, finish: () => {
					onStack.delete(name);
					done.add(name);
					// Lowering an input may have fused this node into it.
					if (this.lowered.has(name)) return;
					if (node.op === "Enter" || node.op === "RefEnter") return;
					steps.push(...this.lowerNode(node, needed));
					this.lowered.add(name);
				},
			});
		};
		const visit = (name: string): void => {
			enter(name);
			while (stack.length > 0) {
				const top = stack[stack.length - 1];
				if (top.next < top.inputs.length) {
					enter(top.inputs[top.next++]);
				} else {
					stack.pop();
					top.finish();
				}
			}
		};
		for (const name of members) visit(name);
		// A loop whose result only this frame's NextIteration reads (a body that returns an inner loop's result as
		// it is) has no member reading its Exit: lower it from the Exit.
		for (const name of needed) {
			const node = this.graph.node(name);
			if ((node.op === "Exit" || node.op === "RefExit") && loops.has(this.frameOf(name) ?? "")) visit(name);
		}
		return steps;
	}

	private lowerLoop(frame: string, enters: GraphNode[], needed: Set<string>): LoopStep {
		const frameName = frame.slice(frame.lastIndexOf("/", frame.length) + 1);
		// Each nested loop lowers its body with one more level of this call: bounded, as no real model nests deeply.
		if (this.loopDepth >= MAX_LOOP_NESTING) {
			throw new CompileError(`loop "${frameName}" is nested more than ${MAX_LOOP_NESTING} loops deep; the compiler takes at most ${MAX_LOOP_NESTING} levels of while loops inside one another`);
		}
		this.loopDepth++;
		try {
			return this.lowerLoopBody(frame, frameName, enters, needed);
		} finally {
			this.loopDepth--;
		}
	}

	private lowerLoopBody(frame: string, frameName: string, enters: GraphNode[], needed: Set<string>): LoopStep {
		const trips = [...(this.inference.tripCounts.get(frame) ?? new Set([0]))];
		if (trips.length !== 1) throw new CompileError(`loop "${frameName}" runs ${trips.join(" or ")} iterations on different entries; the compiler needs one static trip count`);
		const variables: { variable: Buffer; initial: Buffer; nextRef: TensorRef }[] = [];
		for (const enter of enters) {
			const initial = this.input(enter.inputs[0]);
			if (attrBool(enter, "is_constant", false)) {
				this.bufferOf.set(enter.name, initial);
				continue;
			}
			const merge = this.graph.consumers(enter.name).find((n) => n.op === "Merge" || n.op === "RefMerge");
			if (!merge) throw new CompileError(`loop "${frameName}": Enter "${enter.name}" feeds no Merge`);
			const cond = this.graph.consumers(merge.name).find((n) => n.op === "Switch" || n.op === "RefSwitch");
			const loopCond = cond ? this.graph.node(cond.inputs[1].node) : undefined;
			if (loopCond && this.feedDependent.has(loopCond.name)) {
				throw new CompileError(`loop "${frameName}": its condition "${loopCond.name}" depends on feed values, so its trip count is not static`);
			}
			const { dtype, shape } = this.info({ node: merge.name, index: 0 });
			if (dtype === "resource") throw new CompileError(`loop "${frameName}": a TensorArray handle carried through the loop is not supported`);
			const variable = this.newBuffer("state", dtype, shape, merge.name);
			for (const key of [merge.name, ...(cond ? [cond.name, `${cond.name}:1`] : [])]) this.bufferOf.set(key, variable);
			for (const exit of cond ? this.graph.consumers(cond.name).filter((n) => n.op === "Exit" || n.op === "RefExit") : []) {
				this.bufferOf.set(exit.name, variable);
				this.lowered.add(exit.name);
			}
			const next = this.graph.node(merge.inputs.find((r) => r.node !== enter.name)!.node);
			variables.push({ variable, initial, nextRef: next.inputs[0] });
			for (const name of [merge.name, next.name, ...(cond ? [cond.name] : [])]) this.lowered.add(name);
		}
		// The body is what the next values need; the condition itself is replaced by the static trip count.
		const body = new Set<string>();
		const stack = variables.map((v) => v.nextRef.node);
		while (stack.length > 0) {
			const name = stack.pop()!;
			if (body.has(name) || this.lowered.has(name) || !needed.has(name)) continue;
			body.add(name);
			for (const ref of this.graph.node(name).inputs) stack.push(ref.node);
		}
		const steps = this.lowerScope(frame, body);
		const carried = variables.map(({ variable, initial, nextRef }) => ({ variable, initial, next: this.input(nextRef) }));
		return { kind: "loop", frame: frameName, trips: trips[0], carried, body: steps };
	}

	private lowerNode(node: GraphNode, needed: Set<string>): Step[] {
		const { op } = node;
		const rule = opEntry(op)?.compiler;
		switch (rule?.kind) {
			case "source":
				if (op === "PlaceholderWithDefault") return this.lowerAlias(node);
				throw new CompileError(`placeholder "${node.name}" is needed but not fed; add it to the config's feeds`);
			case "alias": return this.lowerAlias(node);
			case "layout": return this.lowerLayout(node, rule);
			case "kernel": return this.lowerKernel(node, needed, rule.emit);
			case "control": return this.lowerControl(node, needed);
			case "variable":
				throw new CompileError(`node "${node.name}" is a variable (${op}); freeze the graph with its checkpoint first (knn freeze)`);
			case "folded":
				if (foldingOf(op) === "shapes" || op === "TensorArraySizeV3") {
					throw new CompileError(`node "${node.name}" (${op}) should have been folded to a constant; its input's shape is not static (inside a loop, or changing between iterations)`);
				}
				throw new CompileError(`node "${node.name}": op ${op} has no C implementation; the compiler accepts it only where its value is static and folds to a constant, but here it depends on feed values or runs inside a loop. Run the model with the interpreter (knn run), or compute ${op} outside the model`);
			case "interpreter":
				throw new CompileError(`node "${node.name}": op ${op} is not supported by the compiler (it runs in the reference interpreter only)`);
			default:
				throw new CompileError(`node "${node.name}": op ${op} is not supported by Kernel NN (neither the interpreter nor the compiler knows it)`);
		}
	}

	/** Output i views input i for IdentityN (what inlined multi-result calls and functional loops leave), else input 0. */
	private lowerAlias(node: GraphNode): Step[] {
		const outputs = node.op === "IdentityN" ? node.inputs.length : 1;
		for (let index = 0; index < outputs; index++) {
			const ref = { node: node.name, index };
			if (!this.inference.tensors.has(refKey(ref))) continue;
			const { shape } = this.info(ref);
			this.bufferOf.set(refKey(ref), this.view(this.input(node.inputs[index]), shape, refKey(ref)));
		}
		return [];
	}

	private view(source: Buffer, shape: number[], label: string): Buffer {
		const view: Buffer = { ...source, id: this.buffers.length, shape, size: shapeSize(shape), label, aliasOf: storageOf(source) };
		this.buffers.push(view);
		return view;
	}

	private lowerControl(node: GraphNode, needed: Set<string>): Step[] {
		const { op } = node;
		if (op === "NoOp" || op === "ControlTrigger") return [];
		if (op === "TensorArrayV3") return this.lowerTensorArray(node);
		if (TENSOR_ARRAY_IO.has(op)) return this.lowerTensorArrayIO(node);
		if ((op === "Switch" || op === "Merge") && (this.frameOf(node.name) ?? "") !== "") {
			throw new CompileError(`node "${node.name}" (${op}): a tf.cond inside a while loop is not supported by the compiler; only conditions outside loops are`);
		}
		if (op === "Switch") {
			// Both sides of a tf.cond are computed; the Merge that joins them picks one (see lowerMerge).
			const data = this.input(node.inputs[0]);
			this.bufferOf.set(node.name, this.view(data, data.shape, `${node.name} (false side)`));
			this.bufferOf.set(`${node.name}:1`, this.view(data, data.shape, `${node.name} (true side)`));
			return [];
		}
		if (op === "Merge") return this.lowerMerge(node, needed);
		throw new CompileError(`node "${node.name}" (${op}): this control-flow op is lowered only as part of a while loop, and this one stands outside any loop the compiler recognised`);
	}

	/** The join of a tf.cond: the input whose side is live, chosen at run time by the predicates of the Switches it passed. */
	private lowerMerge(node: GraphNode, needed: Set<string>): Step[] {
		if (this.graph.consumers(node.name).some((c) => needed.has(c.name) && c.inputs.some((r) => r.node === node.name && r.index === 1))) {
			fail(node, "its value_index output (:1) is read, which the compiler does not support");
		}
		const conditions = node.inputs.map((ref) => this.conditionOf(ref));
		const common = [...conditions[0].keys()].filter((key) => conditions.every((c) => c.has(key)));
		let choices = node.inputs.map((ref, input) => ({ input, ref, when: [...conditions[input]].filter(([key]) => !common.includes(key)).map(([, literal]) => literal) }));
		// Predicates known at compile time decide now.
		const staticValue = (literal: Literal) => this.inference.tensors.get(refKey(literal.predicate))?.value;
		choices = choices.filter((c) => c.when.every((l) => { const v = staticValue(l); return !v || Boolean(numbers(v)[0]) === l.value; }))
			.map((c) => ({ ...c, when: c.when.filter((l) => !staticValue(l)) }));
		if (choices.length === 0) fail(node, "no input can ever be live: its predicates are constants that rule every side out");
		for (let a = 0; a < choices.length; a++) {
			for (let b = a + 1; b < choices.length; b++) {
				const exclusive = choices[a].when.some((la) => choices[b].when.some((lb) => refKey(la.predicate) === refKey(lb.predicate) && la.value !== lb.value));
				if (!exclusive) fail(node, `the compiler cannot tell which of its inputs "${refKey(choices[a].ref)}" and "${refKey(choices[b].ref)}" is live; only tf.cond's Switch/Merge pattern outside loops is supported`);
			}
		}
		if (choices.length === 1) {
			const source = this.input(choices[0].ref);
			this.bufferOf.set(node.name, this.view(source, source.shape, node.name));
			return [];
		}
		const inputs = choices.map((c) => this.input(c.ref));
		const predicates: string[] = [];
		const mergeChoices: MergeChoice[] = choices.map((c, k) => ({
			input: k,
			when: c.when.map((literal) => {
				const key = refKey(literal.predicate);
				if (!predicates.includes(key)) predicates.push(key);
				return { predicate: choices.length + predicates.indexOf(key), value: literal.value };
			}),
		}));
		for (const key of predicates) {
			const predicate = this.input(this.refOf(key));
			if (predicate.dtype !== "bool") fail(node, `its predicate "${key}" is ${predicate.dtype}, not bool`);
			inputs.push(predicate);
		}
		const output = this.output(node, 0);
		for (const input of inputs.slice(0, choices.length)) {
			if (input.size !== output.size) fail(node, `its inputs have different shapes (${formatShape(input.shape)} and ${formatShape(output.shape)}); the compiler needs one static shape`);
		}
		return [{ kind: "kernel", node, op: node.op, inputs, outputs: [output], fused: [], emit: mergeOp, choices: mergeChoices }];
	}

	private refOf(key: string): TensorRef {
		const match = /^(.*):(\d+)$/.exec(key);
		return match ? { node: match[1], index: Number(match[2]) } : { node: key, index: 0 };
	}

	private readonly conditions = new Map<string, Condition>();

	/** When a root-frame tensor is live: the Switch sides it lies on, as predicate literals that must all hold. */
	private conditionOf(ref: TensorRef, conditionOfNode = (node: GraphNode) => this.nodeCondition(node)): Condition {
		const node = this.graph.node(ref.node);
		if (node.op !== "Switch" || (this.frameOf(node.name) ?? "") !== "") return conditionOfNode(node);
		const condition = new Map(conditionOfNode(node));
		const value = ref.index === 1;
		condition.set(`${refKey(node.inputs[1])}=${value}`, { predicate: node.inputs[1], value });
		return condition;
	}

	/** When a root-frame node runs live: all its inputs live, or for a Merge, any of them. */
	private nodeCondition(start: GraphNode): Condition {
		const known = this.conditions.get(start.name);
		if (known) return known;
		// Sources first, from an explicit stack: the chain behind a tf.cond can be far deeper than the call stack.
		const stack: { node: GraphNode; expanded: boolean }[] = [{ node: start, expanded: false }];
		const inProgress = new Set<string>();
		while (stack.length > 0) {
			const top = stack[stack.length - 1];
			if (this.conditions.has(top.node.name) || (!top.expanded && inProgress.has(top.node.name))) {
				stack.pop();
			} else if (!top.expanded) {
				top.expanded = true;
				inProgress.add(top.node.name);
				if ((this.frameOf(top.node.name) ?? "") !== "") continue;
				for (const source of [...top.node.inputs.map((r) => r.node), ...top.node.controlInputs]) {
					if (!this.conditions.has(source) && !inProgress.has(source)) stack.push({ node: this.graph.node(source), expanded: false });
				}
			} else {
				stack.pop();
				inProgress.delete(top.node.name);
				this.conditions.set(top.node.name, this.ownCondition(top.node));
			}
		}
		return this.conditions.get(start.name)!;
	}

	/** A node's condition from its sources' conditions, which nodeCondition has computed (a cycle reads as none). */
	private ownCondition(node: GraphNode): Condition {
		const condition: Condition = new Map();
		// Loops are entered only from live values; what happens inside them is not a tf.cond of this frame.
		if ((this.frameOf(node.name) ?? "") !== "") return condition;
		const computed = (source: GraphNode): Condition => this.conditions.get(source.name) ?? new Map();
		if (node.op === "Merge") {
			const inputs = node.inputs.map((r) => this.conditionOf(r, computed));
			for (const [key, literal] of inputs[0] ?? []) if (inputs.every((c) => c.get(key)?.value === literal.value)) condition.set(key, literal);
			return condition;
		}
		for (const ref of node.inputs) this.conditionOf(ref, computed).forEach((literal, key) => condition.set(key, literal));
		for (const control of node.controlInputs) computed(this.graph.node(control)).forEach((literal, key) => condition.set(key, literal));
		return condition;
	}

	private output(node: GraphNode, index = 0, kind: BufferKind = "temp"): Buffer {
		const { dtype, shape } = this.info({ node: node.name, index });
		const buffer = this.newBuffer(kind, dtype, shape, refKey({ node: node.name, index }));
		this.bufferOf.set(refKey({ node: node.name, index }), buffer);
		return buffer;
	}

	private lowerKernel(node: GraphNode, needed: Set<string>, emit: KernelEmitter): Step[] {
		const inputs = node.inputs.map((ref) => this.input(ref));
		if (opEntry(node.op)?.interpreter === "random") {
			// The generator state lives in the arena between runs, one per random node.
			const state = this.newBuffer("state", "int32", [4], `${node.name} generator state`);
			return [{ kind: "kernel", node, op: node.op, inputs, outputs: [this.output(node, 0), state], fused: [], emit }];
		}
		if (node.op === "QUnidirectionalSequenceLstm") {
			// The integer LSTM's int16 cell state row (its one int16 input's last dimension) lives in the arena, off the kernel stack.
			const cells = inputs.find((b) => b.dtype === "int16")?.shape.at(-1) ?? 0;
			const cellRow = this.newBuffer("state", "int16", [cells], `${node.name} cell state row`);
			return [{ kind: "kernel", node, op: node.op, inputs, outputs: [this.output(node, 0), cellRow], fused: [], emit }];
		}
		const fused: GraphNode[] = [];
		let last = node;
		// A constant added per output column (MatMul) or channel (convolutions) is applied before the store.
		const biasOf = node.op === "MatMul" ? this.biasRow : node.op === "Conv2D" || node.op === "DepthwiseConv2dNative" ? this.channelBias : undefined;
		const consumer = biasOf && this.soleConsumer(last, needed);
		const bias = consumer && biasOf.call(this, node, consumer);
		if (consumer && bias) {
			fused.push(consumer);
			inputs.push(this.input(bias));
			last = consumer;
		}
		if (node.op === "MatMul" || node.op === "Conv2D" || node.op === "DepthwiseConv2dNative" || node.op === "BiasAdd") {
			const activation = this.soleConsumer(last, needed);
			if (activation && ACTIVATIONS.has(activation.op)) {
				fused.push(activation);
				last = activation;
			}
		}
		// Only the first output is lowered: FusedBatchNorm's statistics outputs are for training.
		const outputs = [this.output(last, 0)];
		for (const f of fused) this.lowered.add(f.name);
		return [{ kind: "kernel", node, op: node.op, inputs, outputs, fused, emit }];
	}

	/**
	 * The constant a MatMul's sole consumer adds per output column: BiasAdd's bias, or the constant operand of an
	 * Add whose result has the MatMul's shape and whose constant is one row of N (ONNX writes Gemm's bias so).
	 */
	private biasRow(matMul: GraphNode, consumer: GraphNode): TensorRef | undefined {
		const isConst = (ref: TensorRef) => this.graph.node(ref.node).op === "Const";
		if (consumer.op === "BiasAdd") return isConst(consumer.inputs[1]) ? consumer.inputs[1] : undefined;
		if (consumer.op !== "Add" && consumer.op !== "AddV2") return undefined;
		const other = consumer.inputs.find((ref) => ref.node !== matMul.name);
		if (!other || !isConst(other) || consumer.inputs.every((ref) => ref.node !== matMul.name)) return undefined;
		const out = this.info({ node: matMul.name, index: 0 });
		const constant = this.info(other);
		const columns = out.shape[out.shape.length - 1];
		const rowShaped = constant.shape.length <= out.shape.length && constant.shape.slice(0, -1).every((d) => d === 1) && constant.shape.at(-1) === columns;
		const sameShape = this.info({ node: consumer.name, index: 0 }).shape.join() === out.shape.join();
		return rowShaped && sameShape && constant.dtype === "float32" && out.dtype === "float32" ? other : undefined;
	}

	/**
	 * The constant a convolution's sole consumer adds per output channel: BiasAdd's bias in the convolution's own
	 * layout, or the constant operand of an Add shaped [C] (NHWC) or [1, C, 1, 1] / [C, 1, 1] (NCHW).
	 */
	private channelBias(conv: GraphNode, consumer: GraphNode): TensorRef | undefined {
		const nchw = attrString(conv, "data_format", "NHWC") === "NCHW";
		const out = this.info({ node: conv.name, index: 0 });
		const channels = out.shape[nchw ? 1 : 3];
		const isConst = (ref: TensorRef) => this.graph.node(ref.node).op === "Const";
		let constant: TensorRef | undefined;
		if (consumer.op === "BiasAdd") {
			const sameLayout = (attrString(consumer, "data_format", "NHWC") === "NCHW") === nchw;
			constant = sameLayout && consumer.inputs[0].node === conv.name && isConst(consumer.inputs[1]) ? consumer.inputs[1] : undefined;
		} else if (consumer.op === "Add" || consumer.op === "AddV2") {
			const other = consumer.inputs.find((ref) => ref.node !== conv.name);
			const shape = other && isConst(other) ? this.info(other).shape : undefined;
			const ones = (dims: number[]) => dims.every((d) => d === 1);
			const perChannel = shape !== undefined && (nchw
				? (shape.length === 4 && ones([shape[0], shape[2], shape[3]]) && shape[1] === channels) || (shape.length === 3 && ones(shape.slice(1)) && shape[0] === channels)
				: shape.at(-1) === channels && ones(shape.slice(0, -1)));
			constant = perChannel && consumer.inputs.some((ref) => ref.node === conv.name) ? other : undefined;
		}
		if (!constant || out.dtype !== "float32" || this.info(constant).dtype !== "float32" || this.info(constant).shape.reduce((a, b) => a * b, 1) !== channels) return undefined;
		return this.info({ node: consumer.name, index: 0 }).shape.join() === out.shape.join() ? constant : undefined;
	}

	/** The one node reading `node`'s output in the same frame, when nothing else (no fetch) reads it. */
	private soleConsumer(node: GraphNode, needed: Set<string>): GraphNode | undefined {
		if (this.fetches.some((f) => f.node === node.name)) return undefined;
		const consumers = this.graph.consumers(node.name).filter((c) => needed.has(c.name));
		if (consumers.length !== 1 || consumers[0].inputs.filter((r) => r.node === node.name).length !== 1) return undefined;
		return this.frameOf(consumers[0].name) === this.frameOf(node.name) ? consumers[0] : undefined;
	}

	/** Runs the op's own interpreter kernel on position-coded integers to learn where each output element comes from. */
	private lowerLayout(node: GraphNode, rule: Extract<CompilerRule, { kind: "layout" }>): Step[] {
		const dataInputs = rule.dataInputs(node);
		const runtimeInput = node.inputs.findIndex((ref, i) => !dataInputs.includes(i) && this.graph.node(ref.node).op !== "Const");
		if (runtimeInput >= 0 && rule.runtime) return this.lowerRuntimeIndices(node, rule.runtime);
		const sources: Buffer[] = [];
		let offset = 1;
		const coded = node.inputs.map((ref, i) => {
			// PadV2's constant comes back as the copy's fill; the coded run pads with 0, which means "no source".
			if (node.op === "PadV2" && i === 2) return { dtype: "int32" as DType, shape: [], data: Int32Array.of(0) };
			if (!dataInputs.includes(i)) {
				if (this.graph.node(ref.node).op !== "Const") {
					throw new CompileError(`node "${node.name}" (${node.op}): input ${i} ("${refKey(ref)}") must be a constant for the compiler, but it depends on feed values`);
				}
				return this.input(ref).value!;
			}
			const source = this.input(ref);
			sources.push(source);
			const codes = new Int32Array(source.size);
			for (let k = 0; k < source.size; k++) codes[k] = offset + k;
			offset += source.size;
			return { dtype: "int32" as DType, shape: source.shape, data: codes };
		});
		const typed = { ...node, attr: { ...node.attr } };
		for (const key of ["T", "Tparams", "dtype"]) if (typed.attr[key]) typed.attr[key] = { type: dtypeToEnum("int32") };
		const outputs = opEntry(node.op)!.kernel!(coded, typed);
		let fill: number | undefined;
		if (node.op === "PadV2") fill = numbers(this.input(node.inputs[2]).value!)[0];
		const steps: CopyStep[] = [];
		outputs.forEach((coded, index) => {
			const table = new Int32Array(coded.data as Int32Array).map((v) => v - 1);
			if (this.viewOfRun(node, index, sources, table)) return;
			steps.push({ kind: "copy", label: `${node.op} ${node.name}`, inputs: sources, output: this.output(node, index), table, fill: fill ?? 0 });
		});
		return steps;
	}

	/**
	 * An output that is one run of consecutive elements of one temporary or argument (a Split, or a Slice of whole
	 * rows) becomes a view of that run instead of a copy. Not for fetched outputs, which get their own result copy.
	 */
	private viewOfRun(node: GraphNode, index: number, sources: Buffer[], table: Int32Array): boolean {
		if (table.length === 0 || table[0] < 0 || this.fetches.some((f) => f.node === node.name)) return false;
		for (let i = 1; i < table.length; i++) if (table[i] !== table[0] + i) return false;
		let start = 0;
		for (const source of sources) {
			const kind = storageOf(source).kind;
			if (table[0] >= start && table[0] + table.length <= start + source.size && (kind === "temp" || kind === "argument")) {
				const ref = { node: node.name, index };
				const view = this.view(source, this.info(ref).shape, refKey(ref));
				view.viewOffset = (source.viewOffset ?? 0) + table[0] - start;
				this.bufferOf.set(refKey(ref), view);
				return true;
			}
			start += source.size;
		}
		return false;
	}

	/** A Gather whose indices are known only at run time: a bounds-checked kernel counting clamped indices in the status. */
	private lowerRuntimeIndices(node: GraphNode, emit: KernelEmitter): Step[] {
		const inputs = node.inputs.map((ref) => this.input(ref));
		if (node.op === "GatherV2" && !inputs[2]?.value) fail(node, "its axis must be a constant for the compiler, but it depends on feed values");
		return [{ kind: "kernel", node, op: node.op, inputs, outputs: [this.output(node, 0), this.status()], fused: [], emit }];
	}

	private statusBuffer?: Buffer;

	private status(): Buffer {
		this.statusBuffer ??= this.newBuffer("state", "int32", [1], "status: runtime indices clamped into range in the last run");
		return this.statusBuffer;
	}

	private lowerTensorArray(node: GraphNode): Step[] {
		const size = numbers(this.input(node.inputs[0]).value ?? fail(node, "its size must be a constant"))[0];
		const element = this.tensorArrayElementShape(node);
		const buffer = this.newBuffer("state", attrType(node, "dtype"), [size, ...element], node.name);
		this.bufferOf.set(node.name, buffer);
		this.bufferOf.set(`${node.name}:1`, this.flow());
		return [];
	}

	/** A TensorArray's element shape, from the values written to or read from it. */
	private tensorArrayElementShape(array: GraphNode): number[] {
		for (const node of this.graph.nodes) {
			if (!TENSOR_ARRAY_IO.has(node.op) || this.resolveHandle(node.inputs[0]) !== array.name) continue;
			const valueRef = node.op === "TensorArrayScatterV3" || node.op === "TensorArrayWriteV3" ? node.inputs[2] : { node: node.name, index: 0 };
			const info = this.inference.tensors.get(refKey(valueRef));
			if (!info) continue;
			return node.op === "TensorArrayScatterV3" || node.op === "TensorArrayGatherV3" ? info.shape.slice(1) : info.shape;
		}
		throw new CompileError(`TensorArray "${array.name}" is never written or read, so its element shape is unknown`);
	}

	private resolveHandle(ref: TensorRef): string {
		let node = this.graph.node(ref.node);
		while (node.op !== "TensorArrayV3" && node.inputs.length > 0 && (node.op === "Enter" || node.op === "Identity")) node = this.graph.node(node.inputs[0].node);
		return node.name;
	}

	private flow(): Buffer {
		this.zeroFlow ??= this.newBuffer("weight", "float32", [], "TensorArray flow", { dtype: "float32", shape: [], data: new Float32Array(1) });
		return this.zeroFlow;
	}

	private lowerTensorArrayIO(node: GraphNode): Step[] {
		const array = this.input(node.inputs[0]);
		const stride = shapeSize(array.shape.slice(1));
		const rows = array.shape[0];
		const indexRef = node.inputs[1];
		const constIndex = this.graph.node(indexRef.node).op === "Const" ? Array.from(numbers(this.input(indexRef).value!)) : undefined;
		const write = node.op === "TensorArrayScatterV3" || node.op === "TensorArrayWriteV3";
		if (write) {
			const value = this.input(node.inputs[2]);
			this.bufferOf.set(node.name, this.flow());
			if (constIndex) {
				const table = new Int32Array(array.size).fill(-2);
				constIndex.forEach((row, k) => {
					if (row < 0 || row >= rows) fail(node, `index ${row} is outside the TensorArray of size ${rows}`);
					for (let j = 0; j < stride; j++) table[row * stride + j] = k * stride + j;
				});
				return [{ kind: "copy", label: `${node.op} ${node.name}`, inputs: [value], output: array, table }];
			}
			if (node.op === "TensorArrayScatterV3") fail(node, "scatter indices must be constant");
			return [{ kind: "copy", label: `${node.op} ${node.name}`, inputs: [value], output: array, table: iota(stride), dynamic: { index: this.input(indexRef), stride, limit: rows, side: "write" } }];
		}
		const output = this.output(node);
		if (constIndex) {
			const table = new Int32Array(output.size);
			constIndex.forEach((row, k) => {
				if (row < 0 || row >= rows) fail(node, `index ${row} is outside the TensorArray of size ${rows}`);
				for (let j = 0; j < stride; j++) table[k * stride + j] = row * stride + j;
			});
			return [{ kind: "copy", label: `${node.op} ${node.name}`, inputs: [array], output, table }];
		}
		if (node.op === "TensorArrayGatherV3") fail(node, "gather indices must be constant");
		return [{ kind: "copy", label: `${node.op} ${node.name}`, inputs: [array], output, table: iota(stride), dynamic: { index: this.input(indexRef), stride, limit: rows, side: "read" } }];
	}

	/** The result region for a fetch: the producing buffer itself when it is a plain temporary, else a copy. */
	private resultBuffer(ref: TensorRef, index: number, steps: Step[]): Buffer {
		const source = this.input(ref);
		const producedAtTop = steps.some((s) => (s.kind === "kernel" ? s.outputs.includes(source) : s.kind === "copy" && s.output === source && !s.dynamic));
		if (source.kind === "temp" && !source.aliasOf && producedAtTop && !this.fetches.slice(0, index).some((f) => this.input(f) === source)) {
			source.kind = "result";
			source.index = index;
			return source;
		}
		const result = this.newBuffer("result", source.dtype, source.shape, refKey(ref));
		result.index = index;
		steps.push({ kind: "copy", label: `result ${index} = ${refKey(ref)}`, inputs: [source], output: result, table: iota(source.size) });
		return result;
	}
}

function iota(n: number): Int32Array {
	return Int32Array.from({ length: n }, (_, i) => i);
}

function fail(node: GraphNode, detail: string): never {
	throw new CompileError(`node "${node.name}" (${node.op}): ${detail}`);
}


/** Nodes whose values depend on the values (not only the shapes) of the feeds. */
function feedDependentNodes(graph: Graph, fed: Set<string>): Set<string> {
	const dependent = new Set(fed);
	// Forward over data edges from the feeds; a worklist reaches the same set as a fixed point over the node
	// list, without a pass per link of a chain listed outputs first.
	const work = [...fed];
	while (work.length > 0) {
		const source = work.pop()!;
		for (const node of graph.consumers(source)) {
			if (dependent.has(node.name) || foldingOf(node.op) === "shapes" || node.op === "TensorArraySizeV3") continue;
			if (!node.inputs.some((r) => r.node === source)) continue;
			dependent.add(node.name);
			work.push(node.name);
		}
	}
	return dependent;
}
