import { configFeeds, configRef } from "../frontends/tf/tf2xlaConfig";
import { type Graph, type GraphNode, type TensorRef, attrBool, attrString, attrTensor, attrType, refKey } from "../graph/graph";
import { type Inference, foldConstants, inferGraph } from "../interp/infer";
import { type DType, type Tensor, dtypeToEnum, formatShape, numbers, shapeSize } from "../graph/tensor";
import { KERNELS } from "../interp/kernels";
import type { Tf2xlaConfig } from "../frontends/tf/proto/types";
import { type Buffer, type BufferKind, type CopyStep, type LoopStep, type Program, type Step, storageOf } from "./program";

/** Raised for a graph the compiler cannot lower; names the node and op, and says what would work. */
export class CompileError extends Error {}

const ALIAS_OPS = new Set(["Identity", "StopGradient", "Snapshot", "PreventGradient", "Reshape", "ExpandDims", "Squeeze", "LoopCond"]);
/** Layout ops and the inputs that carry data (the others must be constants). */
const LAYOUT_DATA_INPUTS: Record<string, (node: GraphNode) => number[]> = {
	Transpose: () => [0], Slice: () => [0], StridedSlice: () => [0], Tile: () => [0], Pad: () => [0], PadV2: () => [0],
	MirrorPad: () => [0], GatherV2: () => [0], Gather: () => [0], Reverse: () => [0], ReverseV2: () => [0], Unpack: () => [0],
	Split: () => [1], SplitV: () => [0], BroadcastTo: () => [0],
	ConcatV2: (n) => n.inputs.slice(0, -1).map((_, i) => i),
	Concat: (n) => n.inputs.slice(1).map((_, i) => i + 1),
	Pack: (n) => n.inputs.map((_, i) => i),
};
export const KERNEL_OPS = new Set([
	"Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "Maximum", "Minimum", "SquaredDifference", "Pow",
	"Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual", "LogicalAnd", "LogicalOr", "LogicalNot",
	"Sigmoid", "Tanh", "Relu", "Relu6", "Elu", "Selu", "Exp", "Log", "Log1p", "Expm1", "Neg", "Abs", "Sqrt", "Rsqrt",
	"Square", "Softplus", "LeakyRelu", "Reciprocal", "Inv", "Erf", "Sin", "Cos", "Sign", "Floor", "Ceil", "Cast",
	"BiasAdd", "MatMul", "Softmax", "LogSoftmax", "Mean", "Sum", "Max", "Min", "Prod", "AddN", "Conv2D",
	"DepthwiseConv2dNative", "MaxPool", "AvgPool", "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", "Select", "SelectV2",
]);
const ACTIVATIONS = new Set(["Relu", "Relu6", "Sigmoid", "Tanh"]);
const SHAPE_ONLY = new Set(["Shape", "Size", "Rank", "ShapeN", "TensorArraySizeV3"]);
const TENSOR_ARRAY_IO = new Set(["TensorArrayScatterV3", "TensorArrayGatherV3", "TensorArrayReadV3", "TensorArrayWriteV3"]);

/** Ops the compiler lowers, for the inspector's colouring and `knn inspect`. */
export function compilerOps(): Set<string> {
	return new Set([...ALIAS_OPS, ...Object.keys(LAYOUT_DATA_INPUTS), ...KERNEL_OPS, "Const", "Placeholder", "PlaceholderWithDefault",
		"NoOp", "Enter", "Exit", "Merge", "Switch", "NextIteration", "TensorArrayV3", "TensorArraySizeV3", ...TENSOR_ARRAY_IO]);
}

/** Lowers a frozen graph and its config to a program of kernels, copies and loops over planned buffers. */
export function lowerGraph(frozen: Graph, config: Tf2xlaConfig): Program {
	const feeds = configFeeds(frozen, config);
	const fetches = config.fetch.map(configRef);
	const graph = foldConstants(frozen, inferGraph(frozen, feeds, fetches), fetches);
	const inference = inferGraph(graph, feeds, fetches);
	return new Lowering(graph, inference, feeds.map((f) => f.ref), fetches).run(
		config.feed.map((f) => f.name || refKey(configRef(f))),
		config.fetch.map((f) => f.name || refKey(configRef(f))),
	);
}

class Lowering {
	private readonly buffers: Buffer[] = [];
	private readonly bufferOf = new Map<string, Buffer>();
	private readonly lowered = new Set<string>();
	private readonly feedDependent: Set<string>;
	private zeroFlow?: Buffer;
	private readonly fed: Set<string>;

	constructor(private readonly graph: Graph, private readonly inference: Inference, private readonly feeds: TensorRef[], private readonly fetches: TensorRef[]) {
		this.fed = new Set(feeds.map((f) => f.node));
		this.feedDependent = feedDependentNodes(graph, this.fed);
	}

	run(argumentNames: string[], resultNames: string[]): Program {
		const args = this.feeds.map((ref, index) => {
			const buffer = this.newBuffer("argument", this.info(ref).dtype, this.info(ref).shape, refKey(ref));
			buffer.index = index;
			this.bufferOf.set(refKey(ref), buffer);
			return buffer;
		});
		const steps = this.lowerScope("", this.neededNodes());
		const results = this.fetches.map((ref, index) => this.resultBuffer(ref, index, steps));
		return { steps, buffers: this.buffers, arguments: args, results, argumentNames, resultNames };
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
		const visiting = new Set<string>();
		const visit = (name: string): void => {
			if (done.has(name) || this.lowered.has(name) || this.fed.has(name)) return;
			const node = this.graph.node(name);
			if (!needed.has(name) || node.op === "Const") return;
			const nodeFrame = this.frameOf(name);
			if (nodeFrame !== frame) {
				// An Exit of a loop entered from this frame: lower that whole loop first.
				const loop = [...loops.keys()].find((child) => nodeFrame === child);
				if (loop && !done.has(loop)) {
					done.add(loop);
					for (const enter of loops.get(loop)!) for (const ref of enter.inputs) visit(ref.node);
					steps.push(this.lowerLoop(loop, loops.get(loop)!, needed));
				}
				return;
			}
			if (visiting.has(name)) throw new CompileError(`node "${name}" (${node.op}) is part of a cycle outside any while loop`);
			visiting.add(name);
			for (const ref of node.inputs) visit(ref.node);
			visiting.delete(name);
			done.add(name);
			// Lowering an input may have fused this node into it.
			if (this.lowered.has(name)) return;
			if (node.op === "Enter" || node.op === "RefEnter") return;
			steps.push(...this.lowerNode(node, needed));
			this.lowered.add(name);
		};
		for (const name of members) visit(name);
		return steps;
	}

	private lowerLoop(frame: string, enters: GraphNode[], needed: Set<string>): LoopStep {
		const frameName = frame.slice(frame.lastIndexOf("/", frame.length) + 1);
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
		if (op === "NoOp" || op === "ControlTrigger") return [];
		if (op === "Placeholder" || op === "PlaceholderV2") {
			throw new CompileError(`placeholder "${node.name}" is needed but not fed; add it to the config's feeds`);
		}
		if (ALIAS_OPS.has(op) || op === "PlaceholderWithDefault") {
			const source = this.input(node.inputs[0]);
			const { shape } = this.info({ node: node.name, index: 0 });
			const view: Buffer = { ...source, id: this.buffers.length, shape, label: node.name, aliasOf: storageOf(source) };
			this.buffers.push(view);
			this.bufferOf.set(node.name, view);
			return [];
		}
		if (SHAPE_ONLY.has(op)) throw new CompileError(`node "${node.name}" (${op}) should have been folded to a constant; its input's shape is not static`);
		if (op === "TensorArrayV3") return this.lowerTensorArray(node);
		if (TENSOR_ARRAY_IO.has(op)) return this.lowerTensorArrayIO(node);
		if (op in LAYOUT_DATA_INPUTS) return this.lowerLayout(node);
		if (KERNEL_OPS.has(op)) return this.lowerKernel(node, needed);
		throw new CompileError(`node "${node.name}": op ${op} is not supported by the compiler (it runs in the reference interpreter only)`);
	}

	private output(node: GraphNode, index = 0, kind: BufferKind = "temp"): Buffer {
		const { dtype, shape } = this.info({ node: node.name, index });
		const buffer = this.newBuffer(kind, dtype, shape, refKey({ node: node.name, index }));
		this.bufferOf.set(refKey({ node: node.name, index }), buffer);
		return buffer;
	}

	private lowerKernel(node: GraphNode, needed: Set<string>): Step[] {
		const inputs = node.inputs.map((ref) => this.input(ref));
		const fused: GraphNode[] = [];
		let last = node;
		if (node.op === "MatMul") {
			const bias = this.soleConsumer(last, needed);
			if (bias && bias.op === "BiasAdd" && this.graph.node(bias.inputs[1].node).op === "Const") {
				fused.push(bias);
				inputs.push(this.input(bias.inputs[1]));
				last = bias;
			}
		}
		if (node.op === "MatMul" || node.op === "Conv2D" || node.op === "BiasAdd") {
			const activation = this.soleConsumer(last, needed);
			if (activation && ACTIVATIONS.has(activation.op)) {
				fused.push(activation);
				last = activation;
			}
		}
		// Only the first output is lowered: FusedBatchNorm's statistics outputs are for training.
		const outputs = [this.output(last, 0)];
		for (const f of fused) this.lowered.add(f.name);
		return [{ kind: "kernel", node, op: node.op, inputs, outputs, fused }];
	}

	/** The one node reading `node`'s output in the same frame, when nothing else (no fetch) reads it. */
	private soleConsumer(node: GraphNode, needed: Set<string>): GraphNode | undefined {
		if (this.fetches.some((f) => f.node === node.name)) return undefined;
		const consumers = this.graph.consumers(node.name).filter((c) => needed.has(c.name));
		if (consumers.length !== 1 || consumers[0].inputs.filter((r) => r.node === node.name).length !== 1) return undefined;
		return this.frameOf(consumers[0].name) === this.frameOf(node.name) ? consumers[0] : undefined;
	}

	/** Runs the op's own interpreter kernel on position-coded integers to learn where each output element comes from. */
	private lowerLayout(node: GraphNode): Step[] {
		const dataInputs = LAYOUT_DATA_INPUTS[node.op](node);
		const sources: Buffer[] = [];
		let offset = 1;
		const coded = node.inputs.map((ref, i) => {
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
		for (const key of ["T", "Tparams"]) if (typed.attr[key]) typed.attr[key] = { type: dtypeToEnum("int32") };
		const outputs = KERNELS.get(node.op)!(coded, typed);
		let fill: number | undefined;
		if (node.op === "PadV2") fill = numbers(this.input(node.inputs[2]).value!)[0];
		return outputs.map((coded, index): CopyStep => {
			const output = this.output(node, index);
			const table = new Int32Array(coded.data as Int32Array).map((v) => v - 1);
			return { kind: "copy", label: `${node.op} ${node.name}`, inputs: sources, output, table, fill: fill ?? 0 };
		});
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
	let changed = true;
	// A fixed point, because while loops make the graph cyclic (Merge <- NextIteration).
	while (changed) {
		changed = false;
		for (const node of graph.nodes) {
			if (dependent.has(node.name) || SHAPE_ONLY.has(node.op)) continue;
			if (node.inputs.some((r) => dependent.has(r.node))) {
				dependent.add(node.name);
				changed = true;
			}
		}
	}
	return dependent;
}
