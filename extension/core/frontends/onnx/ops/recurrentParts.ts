// What ONNX's LSTM, GRU and RNN share, lowered to IR ops the compiler runs: per-direction slices of the weights,
// biases and initial states, the input projection of every time step at once, sequence_lens masks, the activation
// functions with their alpha/beta, and the Y / Y_h / Y_c outputs in either layout.

import type { AttrValue } from "../../../graph/attr";
import { type DType, makeTensor, numbers } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import type { TranslateContext } from "../translator";

/** Input positions common to the three ops (LSTM adds initial_c at 6 and P at 7). */
export const RNN_INPUT = { X: 0, W: 1, R: 2, B: 3, sequenceLens: 4, initialH: 5 } as const;

/** The static facts of one recurrent node, read once from its attributes and input shapes. */
export interface RecurrentShape {
	layout: 0 | 1;
	directions: ("forward" | "reverse")[];
	seq: number;
	batch: number;
	inputSize: number;
	hidden: number;
	dtype: DType;
	/** Cell clip threshold; undefined when the node has none. */
	clip?: number;
}

export interface Activation {
	name: string;
	alpha: number;
	beta: number;
}

export function readShape(ctx: TranslateContext, gates: number): RecurrentShape {
	const layout = ctx.opset >= 14 ? ctx.attrInt("layout", 0) : 0;
	if (layout !== 0 && layout !== 1) ctx.fail(`its layout is ${layout}; ONNX defines only 0 and 1`);
	const direction = ctx.attrString("direction", "forward");
	const directions: RecurrentShape["directions"] =
		direction === "bidirectional" ? ["forward", "reverse"] : direction === "forward" || direction === "reverse" ? [direction] : ctx.fail(
			`its direction is "${direction}"; use forward, reverse or bidirectional`);
	const x = ctx.shape(RNN_INPUT.X);
	if (x.length !== 3) ctx.fail(`its input X has shape [${x.join(",")}]; it must have 3 dimensions`);
	const [seq, batch] = layout === 0 ? [x[0], x[1]] : [x[1], x[0]];
	const r = ctx.shape(RNN_INPUT.R);
	const hidden = ctx.hasAttr("hidden_size") ? ctx.attrInt("hidden_size") : r[2];
	const w = ctx.shape(RNN_INPUT.W);
	if (w.length !== 3 || w[0] !== directions.length || w[1] !== gates * hidden || w[2] !== x[2]) {
		ctx.fail(`its weights W have shape [${w.join(",")}]; expected [${directions.length},${gates * hidden},${x[2]}]`);
	}
	if (r.length !== 3 || r[0] !== directions.length || r[1] !== gates * hidden || r[2] !== hidden) {
		ctx.fail(`its recurrence weights R have shape [${r.join(",")}]; expected [${directions.length},${gates * hidden},${hidden}]`);
	}
	if (seq < 1) ctx.fail("its input X has no time steps; export the model with a sequence length of at least 1");
	const dtype = ctx.dtype(RNN_INPUT.X);
	return { layout, directions, seq, batch, inputSize: x[2], hidden, dtype, clip: ctx.hasAttr("clip") ? ctx.attrFloat("clip") : undefined };
}

const DEFAULTS: Record<string, string[]> = { LSTM: ["Sigmoid", "Tanh", "Tanh"], GRU: ["Sigmoid", "Tanh"], RNN: ["Tanh"] };
// Which activations take alpha and beta, and their defaults (as onnxruntime reads activation_alpha/beta: in order,
// one value per activation that uses it).
const PARAMETERS: Record<string, { alpha?: number; beta?: number }> = {
	affine: { alpha: 1, beta: 0 }, leakyrelu: { alpha: 0.01 }, thresholdedrelu: { alpha: 1 }, scaledtanh: { alpha: 1, beta: 1 },
	hardsigmoid: { alpha: 0.2, beta: 0.5 }, elu: { alpha: 1 }, relu: {}, tanh: {}, sigmoid: {}, softsign: {}, softplus: {},
};

/** The activations of each direction, with alpha/beta consumed in order as the spec and onnxruntime read them. */
export function readActivations(ctx: TranslateContext, op: string, directions: number): Activation[][] {
	const perDirection = DEFAULTS[op].length;
	let names = ctx.hasAttr("activations") ? (ctx.node.attributes.get("activations")?.strings ?? []) : [];
	if (names.length === 0) names = Array.from({ length: directions }, () => DEFAULTS[op]).flat();
	if (names.length === perDirection && directions === 2) names = [...names, ...names];
	if (names.length !== perDirection * directions) {
		ctx.fail(`it lists ${names.length} activations; ${op} needs ${perDirection} per direction (${perDirection * directions} here)`);
	}
	const alphas = ctx.attrFloats("activation_alpha", []);
	const betas = ctx.attrFloats("activation_beta", []);
	let nextAlpha = 0;
	let nextBeta = 0;
	const all = names.map((raw): Activation => {
		const name = raw.toLowerCase();
		const parameters = PARAMETERS[name];
		if (!parameters) ctx.fail(`its activation "${raw}" is not one ONNX defines for recurrent ops (Sigmoid, Tanh, Relu, LeakyRelu, ...)`);
		const alpha = parameters.alpha === undefined ? 0 : nextAlpha < alphas.length ? alphas[nextAlpha++] : parameters.alpha;
		const beta = parameters.beta === undefined ? 0 : nextBeta < betas.length ? betas[nextBeta++] : parameters.beta;
		return { name, alpha, beta };
	});
	return Array.from({ length: directions }, (_, d) => all.slice(d * perDirection, (d + 1) * perDirection));
}

/** IR builders bound to one node: its dtype's attrs and small constants. */
export class RecurrentBuilder {
	readonly T;
	constructor(readonly ctx: TranslateContext, readonly shape: RecurrentShape) {
		this.T = irAttr.type(shape.dtype);
	}

	op(op: string, suffix: string, inputs: string[], attr: Record<string, AttrValue> = {}): string {
		return this.ctx.add(op, suffix, inputs, { T: this.T, ...attr });
	}

	scalar(suffix: string, value: number): string {
		return this.ctx.addConst(suffix, makeTensor(this.shape.dtype, [], [value]));
	}

	ints(suffix: string, values: number[]): string {
		return this.ctx.addConst(suffix, makeTensor("int32", [values.length], values));
	}

	reshape(suffix: string, tensor: string, shape: number[]): string {
		return this.op("Reshape", suffix, [tensor, this.ints(`${suffix}/shape`, shape)], { Tshape: irAttr.type("int32") });
	}

	matMulT(suffix: string, a: string, bRows: string): string {
		return this.op("MatMul", suffix, [a, bRows], { transpose_a: irAttr.b(false), transpose_b: irAttr.b(true) });
	}

	/**
	 * Rows lo..hi of direction d of a rank-2 or rank-3 input (W, R: [dirs, rows, cols]; B, P: [dirs, n]): a constant
	 * when the input is one (initializers), a StridedSlice when it is fed (as in ONNX's node tests).
	 */
	rows(index: number, d: number, lo: number, hi: number, suffix: string): string {
		const full = this.ctx.shape(index);
		const value = this.ctx.constant(index);
		const cols = full.length === 3 ? full[2] : 1;
		if (value) {
			const source = numbers(value);
			const start = (d * full[1] + lo) * cols;
			const shape = full.length === 3 ? [hi - lo, cols] : [hi - lo];
			return this.ctx.addConst(suffix, makeTensor(value.dtype, shape, source.slice(start, start + (hi - lo) * cols)));
		}
		const rank = full.length;
		const begin = [d, lo, 0].slice(0, rank);
		const end = [d + 1, hi, 0].slice(0, rank);
		return this.op("StridedSlice", suffix, [this.ctx.input(index), this.ints(`${suffix}/begin`, begin), this.ints(`${suffix}/end`, end),
			this.ints(`${suffix}/strides`, begin.map(() => 1))], {
			Index: irAttr.type("int32"), begin_mask: irAttr.i(0), end_mask: irAttr.i(rank === 3 ? 4 : 0), ellipsis_mask: irAttr.i(0),
			new_axis_mask: irAttr.i(0), shrink_axis_mask: irAttr.i(1),
		});
	}

	/** Wb[lo..hi] (+ Rb[lo..hi] when `withRecurrent`) of direction d, where B is [dirs, 2 * gates * hidden]. */
	bias(d: number, lo: number, hi: number, withRecurrent: boolean, suffix: string): string | undefined {
		if (!this.ctx.has(RNN_INPUT.B)) return undefined;
		const half = this.ctx.shape(RNN_INPUT.B)[1] / 2;
		const value = this.ctx.constant(RNN_INPUT.B);
		if (value) {
			const b = numbers(value);
			const base = d * 2 * half;
			const sum = Array.from({ length: hi - lo }, (_, k) =>
				withRecurrent ? Math.fround(b[base + lo + k] + b[base + half + lo + k]) : b[base + lo + k]);
			return this.ctx.addConst(suffix, makeTensor(this.shape.dtype, [hi - lo], sum));
		}
		const wb = this.rows(RNN_INPUT.B, d, lo, hi, `${suffix}/w`);
		return withRecurrent ? this.op("AddV2", suffix, [wb, this.rows(RNN_INPUT.B, d, half + lo, half + hi, `${suffix}/r`)]) : wb;
	}

	/** Direction d's initial state [batch, hidden] from initial_h / initial_c at `index`, zeros when left out. */
	initialState(index: number, d: number, suffix: string): string {
		const { batch, hidden, layout } = this.shape;
		if (!this.ctx.has(index)) return this.ctx.addConst(suffix, makeTensor(this.shape.dtype, [batch, hidden]));
		const value = this.ctx.constant(index);
		if (value) {
			const source = numbers(value);
			const data = new Array<number>(batch * hidden);
			for (let b = 0; b < batch; b++) {
				const offset = layout === 0 ? (d * batch + b) * hidden : (b * this.shape.directions.length + d) * hidden;
				for (let k = 0; k < hidden; k++) data[b * hidden + k] = source[offset + k];
			}
			return this.ctx.addConst(suffix, makeTensor(value.dtype, [batch, hidden], data));
		}
		const axis = layout === 0 ? 0 : 1;
		const begin = axis === 0 ? [d, 0, 0] : [0, d, 0];
		const end = axis === 0 ? [d + 1, 0, 0] : [0, d + 1, 0];
		return this.op("StridedSlice", suffix, [this.ctx.input(index), this.ints(`${suffix}/begin`, begin), this.ints(`${suffix}/end`, end),
			this.ints(`${suffix}/strides`, [1, 1, 1])], {
			Index: irAttr.type("int32"), begin_mask: irAttr.i(0), end_mask: irAttr.i(axis === 0 ? 6 : 5), ellipsis_mask: irAttr.i(0),
			new_axis_mask: irAttr.i(0), shrink_axis_mask: irAttr.i(1 << axis),
		});
	}

	/** X_t * W^T + bias for every time step t, as one MatMul over all steps, split into [batch, rows] per step. */
	projectInputs(weightRows: string, bias: string | undefined, rows: number, suffix: string): string[] {
		const { seq, batch, inputSize, layout } = this.shape;
		const flat = this.reshape(`${suffix}/x`, this.ctx.input(RNN_INPUT.X), [seq * batch, inputSize]);
		let projected = this.matMulT(suffix, flat, weightRows);
		if (bias) projected = this.op("BiasAdd", `${suffix}/bias`, [projected, bias], { data_format: irAttr.s("NHWC") });
		if (seq === 1) return [this.reshape(`${suffix}/step`, projected, [batch, rows])];
		const steps = this.reshape(`${suffix}/steps`, projected, layout === 0 ? [seq, batch, rows] : [batch, seq, rows]);
		const unpacked = this.op("Unpack", `${suffix}/unstack`, [steps], { num: irAttr.i(seq), axis: irAttr.i(layout) });
		return Array.from({ length: seq }, (_, t) => (t === 0 ? unpacked : `${unpacked}:${t}`));
	}

	/**
	 * Per time step, which batch rows are inside their sequence ([batch, 1] bool), or undefined when all are: steps past
	 * a row's sequence_lens keep its state and output zeros (a reverse pass then starts at the row's last step).
	 */
	stepMasks(): (string | undefined)[] {
		const { seq, batch } = this.shape;
		if (!this.ctx.has(RNN_INPUT.sequenceLens)) return new Array<undefined>(seq).fill(undefined);
		const value = this.ctx.constant(RNN_INPUT.sequenceLens);
		if (value) {
			const lengths = Array.from(numbers(value));
			return Array.from({ length: seq }, (_, t) => lengths.every((length) => t < length)
				? undefined
				: this.ctx.addConst(`mask_${t}`, makeTensor("bool", [batch, 1], lengths.map((length) => (t < length ? 1 : 0)))));
		}
		let lengths = this.reshape("lengths", this.ctx.input(RNN_INPUT.sequenceLens), [batch, 1]);
		if (this.ctx.dtypeOf(lengths) !== "int32") {
			lengths = this.ctx.add("Cast", "lengths/int32", [lengths], { SrcT: irAttr.type(this.ctx.dtypeOf(lengths)), DstT: irAttr.type("int32") });
		}
		return Array.from({ length: seq }, (_, t) =>
			this.ctx.add("Greater", `mask_${t}`, [lengths, this.ctx.addConst(`mask_${t}/t`, makeTensor("int32", [], [t]))], { T: irAttr.type("int32") }));
	}

	/** `next` where the mask holds, `otherwise` elsewhere. */
	select(suffix: string, mask: string | undefined, next: string, otherwise: string): string {
		return mask === undefined ? next : this.op("SelectV2", suffix, [mask, next, otherwise]);
	}

	clip(suffix: string, x: string): string {
		const { clip } = this.shape;
		if (clip === undefined) return x;
		return this.op("Minimum", `${suffix}/clip`, [this.op("Maximum", `${suffix}/clip_low`, [x, this.scalar(`${suffix}/-clip`, -clip)]),
			this.scalar(`${suffix}/+clip`, clip)]);
	}

	activate(suffix: string, activation: Activation, x: string): string {
		const { alpha, beta } = activation;
		const affine = (v: string, a: number, b: number, at: string): string =>
			this.op("AddV2", `${at}/add`, [this.op("Mul", `${at}/mul`, [v, this.scalar(`${at}/alpha`, a)]), this.scalar(`${at}/beta`, b)]);
		const zero = (): string => this.scalar(`${suffix}/zero`, 0);
		switch (activation.name) {
			case "sigmoid": return this.op("Sigmoid", suffix, [x]);
			case "tanh": return this.op("Tanh", suffix, [x]);
			case "relu": return this.op("Relu", suffix, [x]);
			case "softplus": return this.op("Softplus", suffix, [x]);
			case "leakyrelu": return this.op("LeakyRelu", suffix, [x], { alpha: irAttr.f(alpha) });
			case "affine": return affine(x, alpha, beta, suffix);
			case "scaledtanh": return this.op("Mul", suffix, [this.op("Tanh", `${suffix}/tanh`, [this.op("Mul", `${suffix}/scale`, [x,
				this.scalar(`${suffix}/beta`, beta)])]), this.scalar(`${suffix}/alpha`, alpha)]);
			case "hardsigmoid": return this.op("Maximum", suffix, [this.op("Minimum", `${suffix}/min`, [affine(x, alpha, beta, suffix),
				this.scalar(`${suffix}/one`, 1)]), zero()]);
			case "thresholdedrelu": return this.op("SelectV2", suffix, [
				this.op("Greater", `${suffix}/above`, [x, this.scalar(`${suffix}/alpha`, alpha)]), x, zero()]);
			case "softsign": return this.op("RealDiv", suffix, [x, this.op("AddV2", `${suffix}/denominator`, [
				this.op("Abs", `${suffix}/abs`, [x]), this.scalar(`${suffix}/one`, 1)])]);
			case "elu": return this.op("SelectV2", suffix, [this.op("GreaterEqual", `${suffix}/positive`, [x, zero()]), x,
				this.op("Mul", `${suffix}/negative`, [this.op("Expm1", `${suffix}/expm1`, [x]), this.scalar(`${suffix}/alpha`, alpha)])]);
			default: return this.ctx.fail(`its activation "${activation.name}" has no lowering`);
		}
	}

	/** Y: [seq, dirs, batch, hidden] (layout 0) or [batch, seq, dirs, hidden] (layout 1) from outputs[t][d]. */
	sequenceOutput(outputs: string[][]): string {
		const { seq, batch, hidden, layout, directions } = this.shape;
		const all = outputs.flat();
		const packed = all.length === 1 ? all[0] : this.op("Pack", "Y/stack", all, { N: irAttr.i(all.length), axis: irAttr.i(layout) });
		return this.reshape("Y", packed, layout === 0 ? [seq, directions.length, batch, hidden] : [batch, seq, directions.length, hidden]);
	}

	/** Y_h / Y_c: [dirs, batch, hidden] (layout 0) or [batch, dirs, hidden] (layout 1) from each direction's state. */
	stateOutput(name: string, states: string[]): string {
		const { batch, hidden, layout } = this.shape;
		const packed = states.length === 1 ? states[0] : this.op("Pack", `${name}/stack`, states, { N: irAttr.i(states.length), axis: irAttr.i(layout) });
		return this.reshape(name, packed, layout === 0 ? [states.length, batch, hidden] : [batch, states.length, hidden]);
	}

	/** Binds output i when the node names it. */
	bind(index: number, make: () => string): void {
		if ((this.ctx.node.outputs[index] ?? "") !== "") this.ctx.output(index, make());
	}
}

/** Time steps in the order a direction visits them. */
export function visitOrder(seq: number, direction: "forward" | "reverse"): number[] {
	const order = Array.from({ length: seq }, (_, t) => t);
	return direction === "forward" ? order : order.reverse();
}
