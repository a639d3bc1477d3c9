// The float graph mapped onto TFLite int8 ops: which IR nodes fuse into one FULLY_CONNECTED/CONV_2D (MatMul, bias,
// activation), where QUANTIZE and DEQUANTIZE go, and which tensors must share parameters because TFLite requires it.
import { type Graph, type GraphNode, type TensorRef, attrBool, attrInts, attrString, attrTensor, refKey } from "../graph/graph";
import { type Tensor, numbers } from "../graph/tensor";
import type { Inference } from "../interp/infer";
import { NHWC_AXIS_OF_NCHW, channelsLastShape, windowOf } from "./layout";
import { codedError } from "../util/errors";

/** A float graph node the int8 TFLite vocabulary has no op for; names the node and op. */
export class QuantizeError extends codedError("quantize", "QuantizeError") {}

export type TensorRole = "input" | "output" | "activation" | "weight" | "bias" | "int32";

export interface PlanTensor {
	name: string;
	shape: number[];
	role: TensorRole;
	/** The float node whose output 0 this tensor carries (activations, the model's inputs and outputs). */
	node?: string;
	/** Float values in TFLite's layout (weights [O,I] or OHWI, biases), before quantization. */
	floatData?: Float64Array;
	/** Constant int32 data (shapes, axes). */
	intData?: Int32Array;
	/** The output channel axis of a weight: 0, or 3 for a depthwise filter [1,H,W,C*M]. */
	channelAxis?: number;
	/** Parameters fixed by TFLite (TANH, LOGISTIC, SOFTMAX outputs). */
	fixed?: { scale: number; zeroPoint: number };
	/** Bias correction added to floatData before quantizing, measured on the calibration data. */
	correction?: Float64Array;
	/** Quantized values of a constant (int8 weights, int32 biases), set with scale and zeroPoint. */
	quantData?: Int32Array;
	/** The float tensor's NCHW shape when this one holds its values in TFLite's NHWC order (shape is then NHWC). */
	channelsFirst?: number[];
	/** The NCHW shape a flattened tensor came from when its values are in NHWC order (a FULLY_CONNECTED reorders its weights). */
	flattenedFrom?: number[];
	/** The tensor whose parameters this one must share: TFLite's int8 layout ops, pools and concatenation require it. */
	tiedTo?: number;
	scale: number[];
	zeroPoint: number[];
}

export type PlanOpCode = "QUANTIZE" | "DEQUANTIZE" | "FULLY_CONNECTED" | "CONV_2D" | "DEPTHWISE_CONV_2D" | "TANH" | "LOGISTIC" |
	"SOFTMAX" | "RELU" | "RELU6" | "ADD" | "SUB" | "MUL" | "MAX_POOL_2D" | "AVERAGE_POOL_2D" | "RESHAPE" | "SQUEEZE" |
	"CONCATENATION" | "MEAN";

export interface PlanOp {
	code: PlanOpCode;
	inputs: number[];
	outputs: number[];
	options: Record<string, number | boolean | number[]>;
	/** The float nodes this op stands for, in execution order (the last one's output is the op's output). */
	nodes: GraphNode[];
	/** NONE, RELU or RELU6, fused into FULLY_CONNECTED/CONV_2D/DEPTHWISE_CONV_2D. */
	activation: string;
	/** The float node computing the pre-activation (MatMul/Conv plus bias), for bias correction. */
	preActivation?: string;
}

export interface QuantPlan {
	tensors: PlanTensor[];
	ops: PlanOp[];
	inputs: number[];
	outputs: number[];
}

const IDENTITY = new Set(["Identity", "StopGradient", "Snapshot"]);
const ACTIVATIONS: Record<string, string> = { Relu: "RELU", Relu6: "RELU6" };
const WEIGHTED = new Set(["MatMul", "Conv2D", "DepthwiseConv2dNative"]);
const BIAS_ADDS = new Set(["BiasAdd", "Add", "AddV2"]);
const UNARY: Record<string, PlanOpCode> = { Tanh: "TANH", Sigmoid: "LOGISTIC", Softmax: "SOFTMAX", Relu: "RELU", Relu6: "RELU6" };
const BINARY: Record<string, PlanOpCode> = { Add: "ADD", AddV2: "ADD", Sub: "SUB", Mul: "MUL" };

/** The tensor `ref` carries once Identity-like nodes are looked through. */
export function skipIdentities(graph: Graph, ref: TensorRef): TensorRef {
	let current = ref;
	while (IDENTITY.has(graph.node(current.node).op)) current = graph.node(current.node).inputs[0];
	return current;
}

/** Maps a folded float graph (feeds -> fetches) onto int8 TFLite ops, with float32 inputs and outputs. */
export function planQuantization(graph: Graph, inference: Inference, feeds: readonly TensorRef[], fetches: readonly TensorRef[], fetchNames: readonly string[]): QuantPlan {
	return new Planner(graph, inference).run(feeds, fetches, fetchNames);
}

class Planner {
	private readonly tensors: PlanTensor[] = [];
	private readonly ops: PlanOp[] = [];
	private readonly tensorOf = new Map<string, number>();
	private readonly consumers = new Map<string, number>();

	/** Channels-first models (ONNX) keep rank-4 tensors in NHWC order, from their inputs on. */
	private readonly channelsFirstModel: boolean;

	constructor(private readonly graph: Graph, private readonly inference: Inference) {
		this.channelsFirstModel = graph.nodes.some((n) => attrString(n, "data_format", "NHWC") === "NCHW");
	}

	run(feeds: readonly TensorRef[], fetches: readonly TensorRef[], fetchNames: readonly string[]): QuantPlan {
		for (const node of this.graph.nodes) {
			for (const ref of node.inputs) {
				const source = this.source(ref).node;
				this.consumers.set(source, (this.consumers.get(source) ?? 0) + 1);
			}
		}
		const inputs = feeds.map((feed) => {
			const floatShape = this.shape(feed.node);
			const layout = this.channelsFirstModel && floatShape.length === 4 ? { shape: channelsLastShape(floatShape), channelsFirst: floatShape } : { shape: floatShape };
			const input = this.add({ name: refKey(feed), role: "input", node: feed.node, ...layout });
			const quantized = this.add({ name: `${refKey(feed)}_int8`, role: "activation", node: feed.node, ...layout });
			this.ops.push({ code: "QUANTIZE", inputs: [input], outputs: [quantized], options: {}, nodes: [], activation: "NONE" });
			this.tensorOf.set(feed.node, quantized);
			return input;
		});
		// Planning an op plans its inputs first, by recursion; planning the feed-dependent nodes in dependency order
		// beforehand leaves each of those calls one level deep, however long the graph.
		// A node fused into an op planned before it (a BiasAdd or Relu after a MatMul) has no tensor of its own.
		const covered = new Set<string>();
		for (const node of this.feedPathOrder(feeds, fetches)) {
			if (covered.has(node.name)) continue;
			const planned = this.ops.length;
			this.visit(node);
			for (const op of this.ops.slice(planned)) for (const fused of op.nodes) covered.add(fused.name);
		}
		const outputs = fetches.map((fetch, i) => {
			const source = this.source(fetch);
			if (source.index !== 0) throw new QuantizeError(`fetch "${refKey(fetch)}": only output 0 of a node can be quantized`);
			const quantized = this.visit(this.graph.node(source.node));
			if (this.tensors[quantized].channelsFirst || this.tensors[quantized].flattenedFrom) {
				throw new QuantizeError(`fetch "${refKey(fetch)}": a channels-first tensor whose values the quantized model holds in TFLite's channels-last order; fetch a pooled or flattened result that a Gemm/MatMul reads, or quantize the channels-last model`);
			}
			const output = this.add({ name: fetchNames[i], shape: this.shape(source.node), role: "output", node: source.node });
			this.ops.push({ code: "DEQUANTIZE", inputs: [quantized], outputs: [output], options: {}, nodes: [], activation: "NONE" });
			return output;
		});
		for (const op of this.ops) {
			const flattened = op.inputs.findIndex((t, i) => this.tensors[t].flattenedFrom && !(op.code === "FULLY_CONNECTED" && i === 0));
			if (flattened >= 0 && op.code !== "DEQUANTIZE") this.layoutError(op.nodes[0], "reads a flattened channels-first feature map, which only a MatMul/Gemm can (its weights are reordered to the channels-last order)");
		}
		return { tensors: this.tensors, ops: this.ops, inputs, outputs };
	}

	private add(tensor: Omit<PlanTensor, "scale" | "zeroPoint">): number {
		this.tensors.push({ ...tensor, scale: [], zeroPoint: [] });
		return this.tensors.length - 1;
	}

	private source(ref: TensorRef): TensorRef {
		return skipIdentities(this.graph, ref);
	}

	private input(node: GraphNode, i: number): GraphNode {
		return this.graph.node(this.source(node.inputs[i]).node);
	}

	private constant(node: GraphNode, i: number): Tensor | undefined {
		const input = this.input(node, i);
		return input.op === "Const" ? attrTensor(input, "value") : undefined;
	}

	private shape(name: string): number[] {
		const info = this.inference.tensors.get(name);
		if (!info) throw new QuantizeError(`node "${name}": its shape is unknown on the config's feed shapes`);
		return info.shape;
	}

	/** The single consumer of `node`'s output when it is of one of `ops`, for fusing. */
	private fusable(node: GraphNode, ops: (op: string) => boolean): GraphNode | undefined {
		if (this.consumers.get(node.name) !== 1) return undefined;
		const consumer = this.firstConsumers().get(node.name);
		return consumer && ops(consumer.op) ? consumer : undefined;
	}

	private firstConsumerOf?: Map<string, GraphNode>;

	/** Each node's first consumer in graph order, Identity-like nodes looked through. */
	private firstConsumers(): Map<string, GraphNode> {
		if (!this.firstConsumerOf) {
			this.firstConsumerOf = new Map();
			for (const n of this.graph.nodes) {
				if (IDENTITY.has(n.op)) continue;
				for (const ref of n.inputs) {
					const source = this.source(ref).node;
					if (!this.firstConsumerOf.has(source)) this.firstConsumerOf.set(source, n);
				}
			}
		}
		return this.firstConsumerOf;
	}

	/** The nodes between the feeds and the fetches (Identity-like ones looked through), inputs before consumers. */
	private feedPathOrder(feeds: readonly TensorRef[], fetches: readonly TensorRef[]): GraphNode[] {
		const fed = new Set(feeds.map((f) => f.node));
		const consumersOf = new Map<string, string[]>();
		for (const n of this.graph.nodes) {
			for (const ref of n.inputs) {
				const list = consumersOf.get(ref.node);
				if (list) list.push(n.name);
				else consumersOf.set(ref.node, [n.name]);
			}
		}
		const reached = new Set(fed);
		const queue = [...fed];
		while (queue.length > 0) {
			for (const consumer of consumersOf.get(queue.pop()!) ?? []) {
				if (!reached.has(consumer)) {
					reached.add(consumer);
					queue.push(consumer);
				}
			}
		}
		const wanted = (name: string) => reached.has(name) && !fed.has(name);
		const order: GraphNode[] = [];
		const done = new Set<string>();
		const open = new Set<string>();
		for (const fetch of fetches) {
			const root = this.source(fetch).node;
			if (!wanted(root) || done.has(root)) continue;
			const stack = [{ node: this.graph.node(root), next: 0 }];
			open.add(root);
			while (stack.length > 0) {
				const top = stack[stack.length - 1];
				if (top.next < top.node.inputs.length) {
					const input = this.source(top.node.inputs[top.next++]).node;
					if (wanted(input) && !done.has(input) && !open.has(input)) {
						open.add(input);
						stack.push({ node: this.graph.node(input), next: 0 });
					}
				} else {
					stack.pop();
					open.delete(top.node.name);
					done.add(top.node.name);
					order.push(top.node);
				}
			}
		}
		return order;
	}

	/** The int8 tensor carrying `node`'s output 0, planning the ops that compute it first. */
	private visit(node: GraphNode): number {
		const known = this.tensorOf.get(node.name);
		if (known !== undefined) return known;
		const tensor = this.plan(node);
		this.tensorOf.set(node.name, tensor);
		return tensor;
	}

	/** A new int8 activation carrying `name`'s output; `channelsLast` when its rank-4 values are kept in NHWC order. */
	private activation(name: string, fixed?: PlanTensor["fixed"], channelsLast = false): number {
		const shape = this.shape(name);
		if (!channelsLast) return this.add({ name, shape, role: "activation", node: name, fixed });
		return this.add({ name, shape: channelsLastShape(shape), channelsFirst: shape, role: "activation", node: name, fixed });
	}

	private permuted(t: number): boolean {
		return this.tensors[t].channelsFirst !== undefined;
	}

	private layoutError(node: GraphNode, detail: string): never {
		throw new QuantizeError(`node "${node.name}" (${node.op}): ${detail}; TFLite computes channels-last, and knn quantize keeps a channels-first model's feature maps in that order only through convolutions, pooling, elementwise ops, Mean, Concat and a flatten into a MatMul/Gemm`);
	}

	private plan(node: GraphNode): number {
		const where = `node "${node.name}" (${node.op})`;
		for (const root of this.fusionRoots(node)) {
			this.visit(root);
			const fused = this.tensorOf.get(node.name);
			if (fused !== undefined) return fused;
		}
		if (WEIGHTED.has(node.op)) return this.planWeighted(node);
		if (node.op === "Const") return this.planConstActivation(node);
		const unary = UNARY[node.op];
		if (unary) {
			const x = this.visit(this.input(node, 0));
			const fixed = unary === "TANH" ? { scale: 1 / 128, zeroPoint: 0 } : unary === "LOGISTIC" || unary === "SOFTMAX" ? { scale: 1 / 256, zeroPoint: -128 } : undefined;
			if (unary === "SOFTMAX" && this.permuted(x)) this.layoutError(node, "a softmax over a channels-first feature map");
			const out = this.activation(node.name, fixed, this.permuted(x));
			if (unary === "SOFTMAX" && this.shape(node.name).length < 1) throw new QuantizeError(`${where}: softmax of a scalar`);
			this.ops.push({ code: unary, inputs: [x], outputs: [out], options: unary === "SOFTMAX" ? { beta: 1 } : {}, nodes: [node], activation: "NONE" });
			return out;
		}
		const binary = BINARY[node.op];
		if (binary) {
			const [x, y] = [this.visit(this.input(node, 0)), this.visit(this.input(node, 1))];
			const scalar = (t: number) => this.tensors[t].shape.reduce((a, b) => a * b, 1) === 1;
			if (this.permuted(x) !== this.permuted(y) && !scalar(this.permuted(x) ? y : x)) this.layoutError(node, "a channels-first feature map combined with a tensor of another layout");
			const out = this.activation(node.name, undefined, this.permuted(x) || this.permuted(y));
			this.ops.push({ code: binary, inputs: [x, y], outputs: [out], options: {}, nodes: [node], activation: "NONE" });
			return out;
		}
		switch (node.op) {
			case "Reshape": return this.planReshape(node);
			case "Squeeze": return this.same(node, "SQUEEZE", [], { squeezeDims: attrInts(node, "squeeze_dims", []) });
			case "MaxPool": case "AvgPool": return this.planPool(node);
			case "ConcatV2": return this.planConcat(node);
			case "Mean": {
				const axes = this.constant(node, 1);
				if (!axes) throw new QuantizeError(`${where}: the reduction axes must be constant to quantize it`);
				const x = this.visit(this.input(node, 0));
				const rank = this.shape(this.input(node, 0).name).length;
				let axisList = Array.from(numbers(axes), (a) => (a + rank) % rank);
				const keepDims = attrBool(node, "keep_dims", false);
				let channelsLast = false;
				if (this.permuted(x)) {
					// The axes kept must come out in the same order in both layouts unless the result stays channels-last.
					const kept = (order: number[]) => order.filter((a) => !axisList.includes(a)).join(",");
					if (!keepDims && kept([0, 1, 2, 3]) !== kept([0, 2, 3, 1])) this.layoutError(node, "a mean that leaves a channels-first tensor's axes in another order");
					channelsLast = keepDims;
					axisList = axisList.map((a) => NHWC_AXIS_OF_NCHW[a]);
				}
				const out = this.activation(node.name, undefined, channelsLast);
				const axesTensor = this.int32(`${node.name}/axes`, axisList);
				this.ops.push({ code: "MEAN", inputs: [x, axesTensor], outputs: [out], options: { keepDims }, nodes: [node], activation: "NONE" });
				return out;
			}
		}
		throw new QuantizeError(`${where}: no int8 TFLite op for it; knn quantize maps MatMul, Conv2D, DepthwiseConv2dNative (with bias and Relu/Relu6), Tanh, Sigmoid, Softmax, Relu, Relu6, Add, Sub, Mul, MaxPool, AvgPool, Reshape, Squeeze, ConcatV2 and Mean`);
	}

	/** The MatMul/Conv a bias add or activation may be fused into: planning that op first plans this node with it. */
	private fusionRoots(node: GraphNode): GraphNode[] {
		if (!BIAS_ADDS.has(node.op) && !(node.op in ACTIVATIONS)) return [];
		const inputs = node.inputs.map((_, i) => this.input(node, i));
		const weighted = (n: GraphNode) => WEIGHTED.has(n.op);
		return [...inputs.filter(weighted), ...inputs.filter((n) => BIAS_ADDS.has(n.op)).flatMap((n) => n.inputs.map((_, i) => this.input(n, i)).filter(weighted))];
	}

	private int32(name: string, values: readonly number[]): number {
		return this.add({ name, shape: [values.length], role: "int32", intData: Int32Array.from(values) });
	}

	/** A constant operand of ADD/SUB/MUL: an int8 tensor with its own range. */
	private planConstActivation(node: GraphNode): number {
		const value = attrTensor(node, "value");
		return this.add({ name: node.name, shape: value.shape, role: "weight", floatData: Float64Array.from(numbers(value)), node: node.name });
	}

	private same(node: GraphNode, code: PlanOpCode, extra: number[], options: PlanOp["options"], x = this.visit(this.input(node, 0))): number {
		if (this.permuted(x) && code === "SQUEEZE") this.layoutError(node, "a squeeze of a channels-first feature map");
		const out = this.activation(node.name, undefined, this.permuted(x) && code !== "RESHAPE");
		this.tensors[out].tiedTo = x;
		this.ops.push({ code, inputs: [x, ...extra], outputs: [out], options, nodes: [node], activation: "NONE" });
		return out;
	}

	private planPool(node: GraphNode): number {
		const x = this.visit(this.input(node, 0));
		this.checkLayout(node, x);
		const window = this.window(node, x);
		return this.same(node, node.op === "MaxPool" ? "MAX_POOL_2D" : "AVERAGE_POOL_2D", [], {
			padding: window.padding, strideH: window.strides[0], strideW: window.strides[1], filterHeight: window.ksize[0], filterWidth: window.ksize[1], fusedActivationFunction: 0,
		}, x);
	}

	/** An NCHW window op reads the channels-last copy of its input; an NHWC one reads a tensor that is NHWC itself. */
	private checkLayout(node: GraphNode, x: number): void {
		const first = attrString(node, "data_format", "NHWC") === "NCHW";
		if (first !== this.permuted(x)) this.layoutError(node, first ? "a channels-first window op on a tensor not kept channels-last" : "a channels-last window op on a channels-first model's feature map");
	}

	private window(node: GraphNode, x: number, kernel?: number[]): ReturnType<typeof windowOf> & object {
		const window = windowOf(node, this.tensors[x].shape, kernel);
		if (typeof window === "string") throw new QuantizeError(`node "${node.name}" (${node.op}): its ${window} has no TFLite form; pad with a separate Pad op, or use SAME or VALID padding`);
		return window;
	}

	/** A Reshape; flattening a channels-first feature map keeps its NHWC order for the MatMul that reads it. */
	private planReshape(node: GraphNode): number {
		const x = this.visit(this.input(node, 0));
		const shape = this.shape(node.name);
		const out = this.same(node, "RESHAPE", [this.int32(`${node.name}/shape`, shape)], { newShape: shape }, x);
		const from = this.tensors[x].channelsFirst;
		// [n, c, 1, 1] has the same order in both layouts.
		if (from && from[2] * from[3] !== 1) {
			if (shape.length !== 2 || shape[0] !== from[0]) this.layoutError(node, "a reshape of a channels-first feature map other than a flatten to [batch, features]");
			this.tensors[out].flattenedFrom = from;
		}
		return out;
	}

	private planConcat(node: GraphNode): number {
		const axisTensor = this.constant(node, node.inputs.length - 1);
		if (!axisTensor) throw new QuantizeError(`node "${node.name}" (ConcatV2): the axis must be constant to quantize it`);
		const rank = this.shape(node.name).length;
		const axis = (numbers(axisTensor)[0] + rank) % rank;
		const inputs = node.inputs.slice(0, -1).map((_, i) => this.visit(this.input(node, i)));
		const channelsLast = inputs.some((t) => this.permuted(t));
		if (inputs.some((t) => this.permuted(t) !== channelsLast)) this.layoutError(node, "a concatenation of tensors in different layouts");
		const out = this.activation(node.name, undefined, channelsLast);
		// TFLite's int8 concatenation copies bytes: every input carries the output's parameters.
		for (const input of inputs) this.tensors[input].tiedTo ??= out;
		this.ops.push({ code: "CONCATENATION", inputs, outputs: [out], options: { axis: channelsLast ? NHWC_AXIS_OF_NCHW[axis] : axis, fusedActivationFunction: 0 }, nodes: [node], activation: "NONE" });
		return out;
	}

	/** MatMul/Conv2D/DepthwiseConv2dNative with a constant filter, then an optional constant bias and Relu/Relu6. */
	private planWeighted(node: GraphNode): number {
		const where = `node "${node.name}" (${node.op})`;
		const filter = this.constant(node, 1);
		if (!filter) throw new QuantizeError(`${where}: its weights are not constant; only constant weights quantize to int8`);
		const x = this.visit(this.input(node, 0));
		const nodes = [node];
		const w = numbers(filter);
		let code: PlanOpCode;
		let weights: Float64Array;
		let weightShape: number[];
		let channelAxis = 0;
		let options: PlanOp["options"];
		if (node.op === "MatMul") {
			if (attrBool(node, "transpose_a", false)) throw new QuantizeError(`${where}: transpose_a has no FULLY_CONNECTED form`);
			const transposed = attrBool(node, "transpose_b", false);
			const [rows, cols] = filter.shape;
			const [inputs, outputs] = transposed ? [cols, rows] : [rows, cols];
			weights = new Float64Array(rows * cols);
			// A flattened channels-first map arrives in NHWC order: column i reads the float model's feature nchw[i].
			const nchw = flattenOrder(this.tensors[x].flattenedFrom, inputs);
			for (let o = 0; o < outputs; o++) for (let i = 0; i < inputs; i++) weights[o * inputs + i] = transposed ? w[o * inputs + nchw[i]] : w[nchw[i] * outputs + o];
			weightShape = [outputs, inputs];
			code = "FULLY_CONNECTED";
			options = { keepNumDims: false, weightsFormat: 0 };
		} else {
			this.checkLayout(node, x);
			const [h, wd, c, m] = filter.shape;
			const { strides, dilations, padding } = this.window(node, x, [h, wd]);
			options = { padding, strideH: strides[0], strideW: strides[1], dilationHFactor: dilations[0], dilationWFactor: dilations[1] };
			weights = new Float64Array(w.length);
			if (node.op === "Conv2D") {
				// HWIO -> OHWI
				for (let y = 0; y < h; y++) for (let xx = 0; xx < wd; xx++) for (let i = 0; i < c; i++) for (let o = 0; o < m; o++) weights[((o * h + y) * wd + xx) * c + i] = w[((y * wd + xx) * c + i) * m + o];
				weightShape = [m, h, wd, c];
				code = "CONV_2D";
			} else {
				// [H,W,C,M] is already [1,H,W,C*M] in memory.
				weights.set(w);
				weightShape = [1, h, wd, c * m];
				channelAxis = 3;
				code = "DEPTHWISE_CONV_2D";
				options.depthMultiplier = m;
			}
		}
		const outputs = weightShape[channelAxis];
		let last = node;
		let bias = new Float64Array(outputs);
		const biasAdd = this.fusable(last, (op) => BIAS_ADDS.has(op));
		if (biasAdd) {
			const other = this.source(biasAdd.inputs[0]).node === last.name ? 1 : 0;
			const value = this.constant(biasAdd, other);
			if (value && value.shape.reduce((a, b) => a * b, 1) === outputs && value.shape.filter((d) => d !== 1).length <= 1) {
				bias = Float64Array.from(numbers(value));
				nodes.push(biasAdd);
				last = biasAdd;
			}
		}
		const preActivation = last.name;
		let activation = "NONE";
		const act = this.fusable(last, (op) => op in ACTIVATIONS);
		if (act) {
			activation = ACTIVATIONS[act.op];
			nodes.push(act);
			last = act;
		}
		const weightTensor = this.add({ name: `${node.name}/weights`, shape: weightShape, role: "weight", floatData: weights, channelAxis });
		const biasTensor = this.add({ name: `${node.name}/bias`, shape: [outputs], role: "bias", floatData: bias });
		const out = this.activation(last.name, undefined, this.permuted(x));
		options.fusedActivationFunction = activation === "RELU" ? 1 : activation === "RELU6" ? 3 : 0;
		this.ops.push({ code, inputs: [x, weightTensor, biasTensor], outputs: [out], options, nodes, activation, preActivation });
		this.tensorOf.set(last.name, out);
		return out;
	}
}

/** For each column of a flattened NHWC map, the float model's NCHW feature index (identity when not flattened from NCHW). */
function flattenOrder(from: number[] | undefined, features: number): number[] {
	if (!from) return Array.from({ length: features }, (_, i) => i);
	const [, c, h, w] = from;
	const order = new Array<number>(features);
	for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) order[(y * w + x) * c + ch] = (ch * h + y) * w + x;
	return order;
}
