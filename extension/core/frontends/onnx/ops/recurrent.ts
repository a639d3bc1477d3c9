// ONNX LSTM, GRU and RNN, unrolled over their static sequence length into MatMul, AddV2, Mul, activations and
// SelectV2 (for sequence_lens), so the compiler runs them as any other graph. Gate orders: LSTM i, o, f, c; GRU z, r, h.

import { makeTensor } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import type { OnnxTranslator, TranslateContext, TranslatorFamily } from "../translator";
import { type Activation, RNN_INPUT, RecurrentBuilder, readActivations, readShape, visitOrder } from "./recurrentParts";

const LSTM_INITIAL_C = 6;
const LSTM_PEEPHOLES = 7;

/** What one direction's cell does at one time step: the new state(s) from the input projection and the old state(s). */
interface Cell {
	/** Names of the state tensors, h first (LSTM adds c). */
	initial: string[];
	step(prefix: string, inputs: string[], state: string[]): string[];
}

/** Runs every direction's cell over the sequence, applies the sequence_lens masks and binds Y, Y_h (and Y_c). */
function unroll(build: RecurrentBuilder, makeCell: (d: number, prefix: string) => Cell, projections: (d: number, prefix: string) => string[][]): void {
	const { seq, directions } = build.shape;
	const masks = build.stepMasks();
	const zero = masks.some((mask) => mask !== undefined) ? build.scalar("zero", 0) : "";
	const sequence: string[][] = Array.from({ length: seq }, () => []);
	const finals: string[][] = [];
	directions.forEach((direction, d) => {
		const prefix = directions.length === 1 ? "" : `${direction}/`;
		const cell = makeCell(d, prefix);
		const inputs = projections(d, prefix);
		let state = cell.initial;
		for (const t of visitOrder(seq, direction)) {
			const at = `${prefix}t${t}`;
			const next = cell.step(at, inputs.map((perStep) => perStep[t]), state);
			const mask = masks[t];
			sequence[t][d] = build.select(`${at}/y`, mask, next[0], zero);
			state = next.map((value, k) => build.select(`${at}/keep${k}`, mask, value, state[k]));
		}
		finals.push(state);
	});
	build.bind(0, () => build.sequenceOutput(sequence));
	build.bind(1, () => build.stateOutput("Y_h", finals.map((state) => state[0])));
	if (finals[0].length > 1) build.bind(2, () => build.stateOutput("Y_c", finals.map((state) => state[1])));
}

function split(build: RecurrentBuilder, suffix: string, value: string, parts: number): string[] {
	const axis = build.ctx.addConst(`${suffix}/axis`, makeTensor("int32", [], [1]));
	const node = build.op("Split", suffix, [axis, value], { num_split: irAttr.i(parts) });
	return Array.from({ length: parts }, (_, k) => (k === 0 ? node : `${node}:${k}`));
}

function gate(build: RecurrentBuilder, suffix: string, activation: Activation, preactivation: string): string {
	return build.activate(suffix, activation, build.clip(suffix, preactivation));
}

const lstm: OnnxTranslator = (ctx: TranslateContext) => {
	const shape = readShape(ctx, 4);
	const build = new RecurrentBuilder(ctx, shape);
	const activations = readActivations(ctx, "LSTM", shape.directions.length);
	const hidden = shape.hidden;
	const inputForget = ctx.attrInt("input_forget", 0) !== 0;
	unroll(build, (d, prefix) => {
		const recurrent = build.rows(RNN_INPUT.R, d, 0, 4 * hidden, `${prefix}R`);
		const peepholes = ctx.has(LSTM_PEEPHOLES)
			? [0, 1, 2].map((k) => build.rows(LSTM_PEEPHOLES, d, k * hidden, (k + 1) * hidden, `${prefix}P${"iof"[k]}`))
			: undefined;
		const [f, g, h] = activations[d];
		const peep = (suffix: string, pre: string, c: string, k: number): string =>
			peepholes ? build.op("AddV2", `${suffix}/peephole`, [pre, build.op("Mul", `${suffix}/peephole_mul`, [c, peepholes[k]])]) : pre;
		return {
			initial: [build.initialState(RNN_INPUT.initialH, d, `${prefix}h0`), build.initialState(LSTM_INITIAL_C, d, `${prefix}c0`)],
			step: (at, [projected], [hPrev, cPrev]) => {
				const gates = build.op("AddV2", `${at}/gates`, [projected, build.matMulT(`${at}/recurrent`, hPrev, recurrent)]);
				const [iPre, oPre, fPre, cPre] = split(build, `${at}/split`, gates, 4);
				const input = gate(build, `${at}/i`, f, peep(`${at}/i`, iPre, cPrev, 0));
				const forget = inputForget
					? build.op("Sub", `${at}/f`, [build.scalar(`${at}/f/one`, 1), input])
					: gate(build, `${at}/f`, f, peep(`${at}/f`, fPre, cPrev, 2));
				const candidate = gate(build, `${at}/c`, g, cPre);
				const c = build.op("AddV2", `${at}/C`, [build.op("Mul", `${at}/C/keep`, [forget, cPrev]), build.op("Mul", `${at}/C/write`, [input, candidate])]);
				const output = gate(build, `${at}/o`, f, peep(`${at}/o`, oPre, c, 1));
				return [build.op("Mul", `${at}/H`, [build.activate(`${at}/h`, h, c), output]), c];
			},
		};
	}, (d, prefix) => [build.projectInputs(build.rows(RNN_INPUT.W, d, 0, 4 * hidden, `${prefix}W`),
		build.bias(d, 0, 4 * hidden, true, `${prefix}B`), 4 * hidden, `${prefix}input`)]);
};

const gru: OnnxTranslator = (ctx: TranslateContext) => {
	const shape = readShape(ctx, 3);
	const build = new RecurrentBuilder(ctx, shape);
	const activations = readActivations(ctx, "GRU", shape.directions.length);
	const hidden = shape.hidden;
	const linearBeforeReset = ctx.attrInt("linear_before_reset", 0) !== 0;
	unroll(build, (d, prefix) => {
		const recurrentZr = build.rows(RNN_INPUT.R, d, 0, 2 * hidden, `${prefix}Rzr`);
		const recurrentH = build.rows(RNN_INPUT.R, d, 2 * hidden, 3 * hidden, `${prefix}Rh`);
		// With linear_before_reset, Rbh is added before the reset gate multiplies; otherwise it joins the input bias.
		const recurrentBiasH = linearBeforeReset ? build.bias(d, 5 * hidden, 6 * hidden, false, `${prefix}Rbh`) : undefined;
		const [f, g] = activations[d];
		return {
			initial: [build.initialState(RNN_INPUT.initialH, d, `${prefix}h0`)],
			step: (at, [projectedZr, projectedH], [hPrev]) => {
				const zr = gate(build, `${at}/zr`, f, build.op("AddV2", `${at}/zr_pre`, [projectedZr, build.matMulT(`${at}/recurrent_zr`, hPrev, recurrentZr)]));
				const [z, r] = split(build, `${at}/split`, zr, 2);
				let recurrent: string;
				if (linearBeforeReset) {
					let linear = build.matMulT(`${at}/recurrent_h`, hPrev, recurrentH);
					if (recurrentBiasH) linear = build.op("BiasAdd", `${at}/recurrent_h/bias`, [linear, recurrentBiasH], { data_format: irAttr.s("NHWC") });
					recurrent = build.op("Mul", `${at}/reset`, [r, linear]);
				} else {
					recurrent = build.matMulT(`${at}/recurrent_h`, build.op("Mul", `${at}/reset`, [r, hPrev]), recurrentH);
				}
				const candidate = gate(build, `${at}/h`, g, build.op("AddV2", `${at}/h_pre`, [projectedH, recurrent]));
				const keepNew = build.op("Sub", `${at}/1-z`, [build.scalar(`${at}/one`, 1), z]);
				return [build.op("AddV2", `${at}/H`, [build.op("Mul", `${at}/H/new`, [keepNew, candidate]), build.op("Mul", `${at}/H/old`, [z, hPrev])])];
			},
		};
	}, (d, prefix) => {
		const biasH = linearBeforeReset ? build.bias(d, 2 * hidden, 3 * hidden, false, `${prefix}Bh`) : build.bias(d, 2 * hidden, 3 * hidden, true, `${prefix}Bh`);
		return [
			build.projectInputs(build.rows(RNN_INPUT.W, d, 0, 2 * hidden, `${prefix}Wzr`), build.bias(d, 0, 2 * hidden, true, `${prefix}Bzr`), 2 * hidden, `${prefix}input_zr`),
			build.projectInputs(build.rows(RNN_INPUT.W, d, 2 * hidden, 3 * hidden, `${prefix}Wh`), biasH, hidden, `${prefix}input_h`),
		];
	});
};

const rnn: OnnxTranslator = (ctx: TranslateContext) => {
	const shape = readShape(ctx, 1);
	const build = new RecurrentBuilder(ctx, shape);
	const activations = readActivations(ctx, "RNN", shape.directions.length);
	const hidden = shape.hidden;
	unroll(build, (d, prefix) => {
		const recurrent = build.rows(RNN_INPUT.R, d, 0, hidden, `${prefix}R`);
		return {
			initial: [build.initialState(RNN_INPUT.initialH, d, `${prefix}h0`)],
			step: (at, [projected], [hPrev]) =>
				[gate(build, `${at}/H`, activations[d][0], build.op("AddV2", `${at}/pre`, [projected, build.matMulT(`${at}/recurrent`, hPrev, recurrent)]))],
		};
	}, (d, prefix) => [build.projectInputs(build.rows(RNN_INPUT.W, d, 0, hidden, `${prefix}W`), build.bias(d, 0, hidden, true, `${prefix}B`), hidden, `${prefix}input`)]);
};

export const RECURRENT_TRANSLATORS: TranslatorFamily = new Map([["LSTM", lstm], ["GRU", gru], ["RNN", rnn]]);
