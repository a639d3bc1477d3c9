import { type Graph, GraphError, type GraphNode, type TensorRef, attrBool, attrString, attrTensor, refKey } from "../graph/graph";
import type { Tensor } from "../graph/tensor";
import { VARIABLE_OPS } from "../ops/variables";
import { KernelError } from "./kernel";
import { KERNELS } from "./kernels";
import { RANDOM_KERNELS, type RandomState, initialRandomState } from "./kernels/random";
import { TENSOR_ARRAY_OPS, isTensorArrayOp } from "./tensorArray";
import { codedError } from "../util/errors";
import { DATAFLOW_NODE_RUN_COST, NODE_RUN_COST, type WorkMeter, checkTotal, withWorkMeter } from "../util/budget";
import { kernelWork, outputWork } from "./work";

/** Raised when a graph cannot be run; the message names the node, op and what to do. */
export class ExecutionError extends codedError("execution", "ExecutionError") {}

// A dead tensor is what the untaken side of a Switch produces; it propagates until a Merge or a loop boundary.
const DEAD = Symbol("dead");
type Value = Tensor | typeof DEAD;

const ENTER = new Set(["Enter", "RefEnter"]);
const EXIT = new Set(["Exit", "RefExit"]);
const MERGE = new Set(["Merge", "RefMerge"]);
const SWITCH = new Set(["Switch", "RefSwitch"]);
const NEXT_ITERATION = new Set(["NextIteration", "RefNextIteration"]);
/** Ops the executor runs itself rather than through a kernel: control flow, placeholders and constants. */
export const EXECUTOR_OPS: ReadonlySet<string> = new Set([
	...ENTER, ...EXIT, ...MERGE, ...SWITCH, ...NEXT_ITERATION, "LoopCond", "Placeholder", "PlaceholderV2",
	"PlaceholderWithDefault", "Const", "HostConst", "NoOp", "ControlTrigger",
]);

/** Where a value lives: a frame instance (a particular entry into a while loop) and its iteration. */
interface Context {
	key: string;
	iteration: number;
	frame?: FrameInstance;
}

interface FrameInstance {
	key: string;
	name: string;
	parent: Context;
	iterations: Context[];
	constants: { node: GraphNode; value: Value }[];
}

interface Pending {
	inputs: (Value | undefined)[];
	received: number;
	controls: number;
	anyDead: boolean;
	fired: boolean;
}

interface Edge {
	consumer: GraphNode;
	/** Data input position, or -1 for a control edge. */
	slot: number;
	outputIndex: number;
}

export interface RunOptions {
	/** Upper bound on iterations of any one loop, against graphs that never terminate. */
	maxIterations?: number;
	/** Called with every node's outputs in the context it ran in (the iteration, for loop bodies). */
	onNodeOutputs?: (node: GraphNode, outputs: readonly (Tensor | undefined)[], iteration: number, frame: string) => void;
	/**
	 * Random ops' generator states by node name. Pass the same map to successive runs to continue the sequences,
	 * as the compiled model's arena does between calls; without it every run starts from the seeds.
	 */
	randomState?: Map<string, RandomState>;
	/**
	 * For shape inference only: a Switch outside loops passes its input to both outputs, so both sides of a tf.cond
	 * run; a node that fails there (on values its side would never see) is treated as dead.
	 */
	bothBranches?: boolean;
	/** What prepareRun worked out for these feeds and fetches, reused by a caller that runs the graph many times. */
	prepared?: PreparedRun;
}

/** The needed nodes, their edges and, for a graph without control flow, one order to run them in. */
export interface PreparedRun {
	/** What one node run counts in the work budget on this plan's path. */
	readonly nodeCost: number;
	readonly graph: Graph;
	readonly fedNodes: ReadonlySet<string>;
	readonly needed: ReadonlySet<string>;
	readonly edges: ReadonlyMap<string, Edge[]>;
	readonly straight?: StraightPlan;
}

/**
 * A graph whose needed part has no TF1 control flow runs in one dependency order, every value in a slot: no
 * frames, no per-node bookkeeping keys. Values are dropped after their last reader, so a long chain holds two.
 */
interface StraightPlan {
	nodes: GraphNode[];
	index: ReadonlyMap<string, number>;
	/** Per node: (producer position, output index) pairs, one per data input. */
	inputs: Int32Array[];
	/** Per node: the positions of its control inputs. */
	controls: Int32Array[];
	/** Per node: the positions whose values nothing reads after it. */
	release: Int32Array[];
}

const CONTROL_FLOW_OPS: ReadonlySet<string> = new Set([...ENTER, ...EXIT, ...MERGE, ...SWITCH, ...NEXT_ITERATION, "LoopCond"]);

/** Checks feeds and fetches against the graph and plans a run; pass it as RunOptions.prepared to run it often. */
export function prepareRun(graph: Graph, feedKeys: Iterable<string>, fetches: readonly TensorRef[]): PreparedRun {
	const fedNodes = new Set<string>();
	for (const key of feedKeys) {
		const node = key.replace(/:\d+$/, "");
		if (!graph.has(node)) throw new ExecutionError(`feed "${key}" names no node of the graph`);
		fedNodes.add(node);
	}
	for (const fetch of fetches) {
		if (!graph.has(fetch.node)) throw new ExecutionError(`fetch "${refKey(fetch)}" names no node of the graph`);
	}
	const needed = graph.ancestors(fetches.map((f) => f.node), fedNodes);
	checkSupported(graph, needed, fedNodes);
	const edges = new Map<string, Edge[]>();
	let controlFlow = false;
	for (const name of needed) {
		const node = graph.node(name);
		if (fedNodes.has(name)) continue;
		if (CONTROL_FLOW_OPS.has(node.op)) controlFlow = true;
		node.inputs.forEach((ref, slot) => pushEdge(edges, ref.node, { consumer: node, slot, outputIndex: ref.index }));
		for (const control of node.controlInputs) pushEdge(edges, control, { consumer: node, slot: -1, outputIndex: -1 });
	}
	const plan = { graph, fedNodes, needed, edges, nodeCost: DATAFLOW_NODE_RUN_COST };
	const straight = controlFlow ? undefined : straightPlan(graph, needed, fedNodes, edges, fetches);
	return straight ? { ...plan, straight, nodeCost: NODE_RUN_COST } : plan;
}

function straightPlan(graph: Graph, needed: ReadonlySet<string>, fed: ReadonlySet<string>, edges: ReadonlyMap<string, Edge[]>, fetches: readonly TensorRef[]): StraightPlan | undefined {
	// Kahn's order over data and control edges; checkSupported has already refused cycles.
	const waiting = new Map<string, number>();
	const nodes: GraphNode[] = [];
	for (const name of needed) {
		const node = graph.node(name);
		const count = fed.has(name) ? 0 : node.inputs.length + node.controlInputs.length;
		waiting.set(name, count);
		if (count === 0) nodes.push(node);
	}
	for (let i = 0; i < nodes.length; i++) {
		for (const edge of edges.get(nodes[i].name) ?? []) {
			const left = waiting.get(edge.consumer.name)! - 1;
			waiting.set(edge.consumer.name, left);
			if (left === 0) nodes.push(edge.consumer);
		}
	}
	if (nodes.length !== needed.size) return undefined;
	const index = new Map<string, number>();
	nodes.forEach((node, i) => index.set(node.name, i));
	const lastUse = new Int32Array(nodes.length).fill(-1);
	const inputs: Int32Array[] = [];
	const controls: Int32Array[] = [];
	nodes.forEach((node, i) => {
		const pairs = new Int32Array(fed.has(node.name) ? 0 : 2 * node.inputs.length);
		const control = new Int32Array(fed.has(node.name) ? 0 : node.controlInputs.length);
		for (let j = 0; j < pairs.length / 2; j++) {
			const producer = index.get(node.inputs[j].node)!;
			pairs[2 * j] = producer;
			pairs[2 * j + 1] = node.inputs[j].index;
			lastUse[producer] = i;
		}
		for (let j = 0; j < control.length; j++) {
			control[j] = index.get(node.controlInputs[j])!;
			lastUse[control[j]] = i;
		}
		inputs.push(pairs);
		controls.push(control);
	});
	for (const fetch of fetches) lastUse[index.get(fetch.node)!] = nodes.length;
	const releaseLists: number[][] = nodes.map(() => []);
	lastUse.forEach((reader, producer) => {
		if (reader >= 0 && reader < nodes.length) releaseLists[reader].push(producer);
	});
	return { nodes, index, inputs, controls, release: releaseLists.map((list) => Int32Array.from(list)) };
}

/**
 * Runs the part of `graph` that `fetches` need, with TensorFlow's dataflow semantics: TF1 while loops
 * (Enter/Merge/Switch/NextIteration/Exit/LoopCond) run as frames with per-iteration contexts, and the
 * untaken side of a Switch produces dead values, exactly as in TensorFlow's executor.
 */
export function runGraph(graph: Graph, feeds: ReadonlyMap<string, Tensor>, fetches: readonly TensorRef[], options: RunOptions = {}): Tensor[] {
	const prepared = options.prepared ?? prepareRun(graph, feeds.keys(), fetches);
	return withWorkMeter((meter) => (prepared.straight
		? runStraight(prepared.straight, prepared.fedNodes, feeds, fetches, options, meter)
		: runDataflow(prepared, feeds, fetches, options, meter)));
}

/** The outputs of a fed node: the fed tensors at their output indexes. */
function fedValues(node: GraphNode, feeds: ReadonlyMap<string, Tensor>): Value[] {
	const outputs: Value[] = [];
	for (const [key, tensor] of feeds) {
		if (key.replace(/:\d+$/, "") !== node.name) continue;
		const index = parseIndex(key);
		// A sparse array that long would be walked slot by slot: no op has this many outputs.
		if (index > MAX_OUTPUT_INDEX) throw new GraphError(`feed "${key}": output index ${index} of node "${node.name}" (${node.op}) is out of range`);
		outputs[index] = tensor;
	}
	return outputs;
}

/** Runs one node that is not fed or dead, counting it in the work budget. */
function runNode(node: GraphNode, inputs: Tensor[], feeds: ReadonlyMap<string, Tensor>, randomState: Map<string, RandomState>, bothBranches: boolean, meter: WorkMeter, nodeCost: number): Value[] {
	const where = () => `node "${node.name}" (${node.op})`;
	if (EXECUTOR_OPS.has(node.op)) {
		meter.charge(nodeCost, where);
		return bothBranches ? executeEitherBranch(node, inputs, feeds, randomState) : execute(node, inputs, feeds, randomState);
	}
	meter.charge(nodeCost + kernelWork(node, inputs), where);
	const outputs = bothBranches ? executeEitherBranch(node, inputs, feeds, randomState) : execute(node, inputs, feeds, randomState);
	meter.charge(outputWork(outputs), where);
	return outputs;
}

function missingFetch(ref: TensorRef, produced: number | undefined): ExecutionError {
	if (produced !== undefined && ref.index >= produced) {
		return new ExecutionError(`fetch "${refKey(ref)}": node "${ref.node}" has ${produced} output(s), so output ${ref.index} does not exist`);
	}
	return new ExecutionError(`fetch "${refKey(ref)}" produced no value: it is dead (on an untaken branch) or its loop never finished`);
}

/**
 * The bytes of the intermediate values a run holds at once, each tensor counted once however many slots hold it,
 * checked against the memory budget's total: a hundred tensors of 500 MB each fit the budget one by one, not together.
 */
class LiveValues {
	private readonly holders = new Map<Tensor, number>();
	private bytes = 0;

	hold(outputs: readonly Value[], node: GraphNode): void {
		for (const value of outputs) {
			if (!value || value === DEAD) continue;
			const count = this.holders.get(value) ?? 0;
			this.holders.set(value, count + 1);
			if (count === 0) {
				this.bytes += tensorBytes(value);
				checkTotal(this.bytes, `node "${node.name}" (${node.op}): the values the run holds alive after it`);
			}
		}
	}

	drop(outputs: readonly Value[]): void {
		for (const value of outputs) {
			if (!value || value === DEAD) continue;
			const count = this.holders.get(value);
			if (count === undefined) continue;
			if (count > 1) {
				this.holders.set(value, count - 1);
			} else {
				this.holders.delete(value);
				this.bytes -= tensorBytes(value);
			}
		}
	}
}

function tensorBytes(tensor: Tensor): number {
	const data = tensor.data as { byteLength?: number; length: number };
	return data.byteLength ?? data.length * 8;
}

function runStraight(plan: StraightPlan, fedNodes: ReadonlySet<string>, feeds: ReadonlyMap<string, Tensor>, fetches: readonly TensorRef[], options: RunOptions, meter: WorkMeter): Tensor[] {
	const randomState = options.randomState ?? new Map<string, RandomState>();
	const bothBranches = options.bothBranches ?? false;
	const { nodes } = plan;
	const values: (Value[] | undefined)[] = new Array(nodes.length);
	const ranDead = new Uint8Array(nodes.length);
	const counts = new Int32Array(nodes.length).fill(-1);
	const live = new LiveValues();
	// The model's constants and the caller's feeds are in memory before the run; what kernels make is counted.
	const held = new Uint8Array(nodes.length);
	for (let i = 0; i < nodes.length; i++) {
		const node = nodes[i];
		let outputs: Value[];
		let dead = false;
		if (fedNodes.has(node.name)) {
			outputs = fedValues(node, feeds);
		} else {
			const pairs = plan.inputs[i];
			const inputs = new Array<Value>(pairs.length / 2);
			for (let j = 0; j < inputs.length; j++) {
				const producer = pairs[2 * j];
				const value = ranDead[producer] ? DEAD : values[producer]![pairs[2 * j + 1]];
				if (value === undefined) {
					const source = nodes[producer];
					throw new ExecutionError(`node "${node.name}" reads output ${pairs[2 * j + 1]} of "${source.name}" (${source.op}), which has only ${values[producer]!.length} output(s)`);
				}
				if (value === DEAD) dead = true;
				inputs[j] = value;
			}
			for (const control of plan.controls[i]) if (ranDead[control]) dead = true;
			if (dead) {
				meter.charge(NODE_RUN_COST, () => `node "${node.name}" (${node.op})`);
				outputs = new Array(Math.max(1, outputCount(node))).fill(DEAD);
			} else {
				outputs = runNode(node, inputs as Tensor[], feeds, randomState, bothBranches, meter, NODE_RUN_COST);
				if (node.op !== "Const" && node.op !== "HostConst") {
					live.hold(outputs, node);
					held[i] = 1;
				}
			}
		}
		values[i] = outputs;
		ranDead[i] = dead ? 1 : 0;
		if (!dead) counts[i] = outputs.length;
		options.onNodeOutputs?.(node, outputs.map((v) => (v === DEAD ? undefined : v)), 0, "");
		for (const done of plan.release[i]) {
			if (held[done]) live.drop(values[done]!);
			values[done] = undefined;
		}
	}
	return fetches.map((ref) => {
		const at = plan.index.get(ref.node)!;
		const value = ranDead[at] ? undefined : values[at]![ref.index];
		if (!value || value === DEAD) throw missingFetch(ref, counts[at] >= 0 ? counts[at] : undefined);
		return value;
	});
}

function runDataflow(prepared: PreparedRun, feeds: ReadonlyMap<string, Tensor>, fetches: readonly TensorRef[], options: RunOptions, meter: WorkMeter): Tensor[] {
	const maxIterations = options.maxIterations ?? 1_000_000;
	const randomState = options.randomState ?? new Map<string, RandomState>();
	const { graph, fedNodes, needed, edges } = prepared;

	const root: Context = { key: "", iteration: 0 };
	const frames = new Map<string, FrameInstance>();
	const pending = new Map<string, Pending>();
	const results = new Map<string, Tensor>();
	const fetchKeys = new Set(fetches.map(refKey));
	const ready: { node: GraphNode; context: Context; inputs: Value[]; dead: boolean }[] = [];
	const fedOutputs = new Map<string, Value[]>();
	const outputCounts = new Map<string, number>();

	const deliver = (edge: Edge, value: Value, context: Context): void => {
		const { consumer, slot } = edge;
		const key = `${consumer.name}@${context.key}`;
		let state = pending.get(key);
		if (!state) {
			state = { inputs: new Array(consumer.inputs.length), received: 0, controls: 0, anyDead: false, fired: false };
			pending.set(key, state);
		}
		if (state.fired) return;
		if (slot < 0) {
			state.controls++;
			if (value === DEAD) state.anyDead = true;
		} else {
			if (state.inputs[slot] === undefined) state.received++;
			state.inputs[slot] = value;
		}
		if (MERGE.has(consumer.op)) {
			const live = slot >= 0 && value !== DEAD;
			const allDead = state.received === consumer.inputs.length && state.inputs.every((v) => v === DEAD);
			if (live || allDead) {
				state.fired = true;
				pending.delete(key);
				ready.push({ node: consumer, context, inputs: state.inputs as Value[], dead: allDead });
			}
			return;
		}
		if (state.received === consumer.inputs.length && state.controls === consumer.controlInputs.length) {
			state.fired = true;
			pending.delete(key);
			const dead = state.anyDead || state.inputs.some((v) => v === DEAD);
			ready.push({ node: consumer, context, inputs: state.inputs as Value[], dead });
		}
	};

	const iterationContext = (frame: FrameInstance, iteration: number): Context => {
		if (iteration >= maxIterations) {
			throw new ExecutionError(`loop "${frame.name}" ran more than ${maxIterations} iterations; its condition never became false`);
		}
		let context = frame.iterations[iteration];
		if (!context) {
			context = { key: `${frame.key}#${iteration}`, iteration, frame };
			frame.iterations[iteration] = context;
			for (const constant of frame.constants) emit(constant.node, [constant.value], false, context);
		}
		return context;
	};

	const enterFrame = (node: GraphNode, parent: Context): FrameInstance => {
		const name = attrString(node, "frame_name");
		const key = `${parent.key}/${name}`;
		let frame = frames.get(key);
		if (!frame) {
			frame = { key, name, parent, iterations: [], constants: [] };
			frames.set(key, frame);
		}
		return frame;
	};

	// Sends a node's outputs to its consumers, in the context each consumer runs in.
	// A control edge carries only deadness: it is dead exactly when its source ran dead.
	const emit = (node: GraphNode, outputs: readonly Value[], ranDead: boolean, context: Context): void => {
		for (const edge of edges.get(node.name) ?? []) {
			// A node that ran dead has dead outputs however many it would have had.
			const value = ranDead ? DEAD : edge.slot < 0 ? CONTROL : outputs[edge.outputIndex];
			if (value === undefined) {
				throw new ExecutionError(`node "${edge.consumer.name}" reads output ${edge.outputIndex} of "${node.name}" (${node.op}), which has only ${outputs.length} output(s)`);
			}
			deliver(edge, value, context);
		}
	};

	const route = (node: GraphNode, outputs: Value[], ranDead: boolean, context: Context): void => {
		let destination: Context | undefined = context;
		if (ENTER.has(node.op)) {
			const frame = enterFrame(node, context);
			if (attrBool(node, "is_constant", false)) {
				frame.constants.push({ node, value: outputs[0] });
				for (const iteration of frame.iterations) if (iteration) emit(node, outputs, ranDead, iteration);
				if (frame.iterations.length === 0) iterationContext(frame, 0);
				return;
			}
			destination = iterationContext(frame, 0);
		} else if (EXIT.has(node.op)) {
			// Dead exits are the loop's non-final iterations; only the live one leaves the frame.
			destination = ranDead ? undefined : context.frame?.parent;
		} else if (NEXT_ITERATION.has(node.op)) {
			destination = ranDead || !context.frame ? undefined : iterationContext(context.frame, context.iteration + 1);
		}
		if (!destination) return;
		if (destination === root) {
			outputs.forEach((value, index) => {
				const key = refKey({ node: node.name, index });
				if (fetchKeys.has(key) && value !== DEAD && value !== undefined) results.set(key, value);
			});
		}
		emit(node, outputs, ranDead, destination);
	};

	for (const name of needed) {
		const node = graph.node(name);
		if (fedNodes.has(name)) {
			const outputs = fedValues(node, feeds);
			ready.push({ node, context: root, inputs: [], dead: false });
			fedOutputs.set(name, outputs);
		} else if (node.inputs.length === 0 && node.controlInputs.length === 0) {
			ready.push({ node, context: root, inputs: [], dead: false });
		}
	}

	while (ready.length > 0) {
		const { node, context, inputs, dead } = ready.pop()!;
		let outputs: Value[];
		const fed = fedOutputs.get(node.name);
		if (fed && context === root) {
			outputs = fed;
		} else if (dead) {
			meter.charge(DATAFLOW_NODE_RUN_COST, () => `node "${node.name}" (${node.op})`);
			outputs = new Array(Math.max(1, outputCount(node))).fill(DEAD);
		} else {
			outputs = runNode(node, inputs as Tensor[], feeds, randomState, (options.bothBranches ?? false) && context === root, meter, DATAFLOW_NODE_RUN_COST);
		}
		if (!dead) outputCounts.set(node.name, outputs.length);
		options.onNodeOutputs?.(node, outputs.map((v) => (v === DEAD ? undefined : v)), context.iteration, context.frame?.key ?? "");
		route(node, outputs, dead, context);
	}

	return fetches.map((ref) => {
		const value = results.get(refKey(ref));
		if (!value) throw missingFetch(ref, outputCounts.get(ref.node));
		return value;
	});
}

// What a live control edge delivers; consumers never read it as data.
const CONTROL: Tensor = { dtype: "bool", shape: [], data: new Uint8Array([1]) };

/** Beyond any op's output count (Split and IdentityN stay far below it). */
const MAX_OUTPUT_INDEX = 65_535;

function parseIndex(key: string): number {
	const match = /:(\d+)$/.exec(key);
	return match ? Number(match[1]) : 0;
}

function pushEdge(edges: Map<string, Edge[]>, source: string, edge: Edge): void {
	let list = edges.get(source);
	if (!list) edges.set(source, (list = []));
	list.push(edge);
}

function outputCount(node: GraphNode): number {
	if (SWITCH.has(node.op) || MERGE.has(node.op)) return 2;
	return 1;
}

function checkSupported(graph: Graph, needed: Set<string>, fed: ReadonlySet<string>): void {
	const problems: string[] = [];
	for (const name of needed) {
		if (fed.has(name)) continue;
		const node = graph.node(name);
		if (VARIABLE_OPS.has(node.op)) {
			problems.push(`node "${name}" is a variable (${node.op}); freeze the graph with a checkpoint first (knn freeze)`);
		} else if (node.op === "Placeholder" || node.op === "PlaceholderV2") {
			problems.push(`placeholder "${name}" is needed by the fetches but not fed`);
		} else if (!EXECUTOR_OPS.has(node.op) && !KERNELS.has(node.op) && !isTensorArrayOp(node.op) && !RANDOM_KERNELS.has(node.op)) {
			problems.push(`node "${name}": op ${node.op} is not supported by the interpreter`);
		}
	}
	if (problems.length > 0) throw new ExecutionError(problems.slice(0, 20).join("\n") + (problems.length > 20 ? `\n... and ${problems.length - 20} more` : ""));
	const cycle = graph.findCycle(needed, fed);
	if (cycle) {
		throw new ExecutionError(`the graph has a cycle that is not a while loop: ${cycle.map((n) => `"${n}"`).join(" -> ")}; a TensorFlow graph loops only through NextIteration, so this file is damaged or was edited by hand`);
	}
}

function executeEitherBranch(node: GraphNode, inputs: Tensor[], feeds: ReadonlyMap<string, Tensor>, randomState: Map<string, RandomState>): Value[] {
	if (SWITCH.has(node.op)) return [inputs[0], inputs[0]];
	try {
		return execute(node, inputs, feeds, randomState);
	} catch {
		return new Array(Math.max(1, outputCount(node))).fill(DEAD);
	}
}

function execute(node: GraphNode, inputs: Tensor[], feeds: ReadonlyMap<string, Tensor>, randomState: Map<string, RandomState>): Value[] {
	switch (node.op) {
		case "Const": case "HostConst":
			return [constValue(node)];
		case "PlaceholderWithDefault":
			return [feeds.get(node.name) ?? inputs[0]];
		case "NoOp": case "ControlTrigger":
			return [];
		case "LoopCond":
			return [inputs[0]];
	}
	if (ENTER.has(node.op) || EXIT.has(node.op) || NEXT_ITERATION.has(node.op)) {
		if (!inputs[0]) throw new KernelError(node, "it needs one data input");
		return [inputs[0]];
	}
	if (SWITCH.has(node.op)) {
		if (!inputs[0] || !inputs[1]) throw new KernelError(node, "a Switch needs a data input and a boolean predicate input");
		const pred = inputs[1].data[0] as number;
		return pred ? [DEAD, inputs[0]] : [inputs[0], DEAD];
	}
	if (MERGE.has(node.op)) {
		const index = inputs.findIndex((v) => v !== undefined && (v as Value) !== DEAD);
		return [inputs[index], { dtype: "int32", shape: [], data: new Int32Array([index]) }];
	}
	const tensorArrayOp = TENSOR_ARRAY_OPS.get(node.op);
	if (tensorArrayOp) return tensorArrayOp(inputs, node);
	const random = RANDOM_KERNELS.get(node.op);
	if (random) {
		let state = randomState.get(node.name);
		if (!state) randomState.set(node.name, (state = initialRandomState(node)));
		return random(inputs, node, state);
	}
	const kernel = KERNELS.get(node.op)!;
	return kernel(inputs, node);
}

const constCache = new WeakMap<GraphNode, Tensor>();

function constValue(node: GraphNode): Tensor {
	let value = constCache.get(node);
	if (!value) {
		value = attrTensor(node, "value");
		constCache.set(node, value);
	}
	return value;
}

