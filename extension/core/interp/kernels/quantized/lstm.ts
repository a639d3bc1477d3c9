// QUnidirectionalSequenceLstm: TFLite's 8x8_16 integer LSTM (lstm_eval.cc EvalInteger8x8_16 with the parameters
// unidirectional_sequence_lstm.cc's Prepare computes): int8 input, weights and output state, int16 cell state at a
// power-of-two scale, gates in Q3.12, gemmlowp's fixed-point sigmoid and tanh. The common case the converter writes
// for Keras: no CIFG, peepholes, projection or layer normalization.
import { type GraphNode, attrBool, attrFloat, attrFloats, attrInts, attrString } from "../../../graph/graph";
import { type Tensor, formatShape } from "../../../graph/tensor";
import { type QuantizedMultiplier, clamp, multiplyByQuantizedMultiplier, quantizeMultiplier, roundingDivideByPOT } from "../../../quant/arith";
import { quantAttrs } from "../../../quant/params";
import type { Kernel } from "../../kernel";
import { fail, newTensor, values } from "../util";
import { logistic16, tanh16, wrap16 } from "./lstmFixedPoint";

/** TFLite's input positions of the sequence LSTM. */
const POSITION = {
	input: 0, inputWeights: [1, 2, 3, 4], recurrentWeights: [5, 6, 7, 8], peepholes: [9, 10, 11], biases: [12, 13, 14, 15],
	projection: 16, projectionBias: 17, outputState: 18, cellState: 19, layerNorm: [20, 21, 22, 23],
} as const;

/** One gate (input, forget, cell, output) as the integer kernel computes it. */
export interface LstmGate {
	inputWeights: ArrayLike<number>;
	recurrentWeights: ArrayLike<number>;
	/** The gate bias plus the input zero point times each weight row (PrecomputeZeroPointTimesWeightWithBias). */
	inputBias: Int32Array;
	/** The output state zero point times each recurrent weight row. */
	recurrentBias: Int32Array;
	inputScale: QuantizedMultiplier;
	recurrentScale: QuantizedMultiplier;
}

export interface QLstmPlan {
	batch: number;
	steps: number;
	inputSize: number;
	cells: number;
	timeMajor: boolean;
	/** IR input index of each TFLite position present. */
	at: Map<number, number>;
	gates: LstmGate[];
	/** log2 of the cell state scale (at most -9). */
	cellScaleLog2: number;
	/** The cell clip in the cell state's integers, 0 for none. */
	cellClip: number;
	hidden: QuantizedMultiplier;
	/** What the runtime adds to the rescaled hidden state: minus the fifth intermediate's zero point (measured). */
	hiddenOffset: number;
}

/** CheckedLog2: the exponent of a power-of-two scale, or undefined when the scale is not one. */
function checkedLog2(scale: number): number | undefined {
	const f = Math.fround;
	const log2 = f(f(Math.log(scale)) * f(1 / f(Math.log(2))));
	const rounded = Math.round(log2);
	return Math.abs(f(log2 - rounded)) < f(1e-3) ? rounded : undefined;
}

/** The effective bias of one gate's matrix: bias + zeroPoint * (sum of each row). */
function effectiveBias(weights: ArrayLike<number>, rows: number, columns: number, zeroPoint: number, bias?: ArrayLike<number>): Int32Array {
	const result = new Int32Array(rows);
	for (let r = 0; r < rows; r++) {
		let sum = 0;
		for (let c = 0; c < columns; c++) sum += weights[r * columns + c];
		result[r] = (bias ? bias[r] : 0) + zeroPoint * sum;
	}
	return result;
}

/**
 * Checks the node is the case Kernel NN computes and derives what the kernel needs, as TFLite's Prepare() does
 * (float32 products for the effective scales). `inputs` may carry no data for run-time tensors (the C back end).
 */
export function qLstmPlan(node: GraphNode, inputs: Tensor[]): QLstmPlan {
	const positions = attrInts(node, "input_positions", []);
	if (positions.length !== inputs.length) fail(node, `input_positions lists ${positions.length} TFLite inputs for ${inputs.length} inputs`);
	const at = new Map(positions.map((p, i) => [p, i]));
	const missing = (what: string) => fail(node, `the integer LSTM with ${what} is not supported: Kernel NN computes the common case without CIFG, peepholes, projection or layer normalization; convert the model without it`);
	if (!at.has(POSITION.inputWeights[0])) missing("CIFG (no input gate)");
	if (POSITION.peepholes.some((p) => at.has(p))) missing("peepholes");
	if (at.has(POSITION.projection)) missing("a projection");
	if (POSITION.layerNorm.some((p) => at.has(p))) missing("layer normalization");
	for (const p of [POSITION.input, ...POSITION.inputWeights, ...POSITION.recurrentWeights, ...POSITION.biases, POSITION.outputState, POSITION.cellState]) {
		if (!at.has(p)) fail(node, `TFLite input ${p} is absent; the integer LSTM needs it`);
	}
	const activation = attrString(node, "cell_activation", "TANH");
	if (activation !== "TANH") fail(node, `the integer LSTM applies tanh to its cell; the activation ${activation} is not supported`);
	if (attrFloat(node, "proj_clip", 0) > 0) missing("a projection clip");
	const q = quantAttrs(node);
	const tensor = (p: number) => inputs[at.get(p)!];
	const scale = (p: number) => q.inScale[at.get(p)!];
	const zeroPoint = (p: number) => q.inZeroPoint[at.get(p)!];
	const expect = (p: number, dtype: string, what: string) => {
		if (tensor(p).dtype !== dtype) fail(node, `its ${what} (TFLite input ${p}) must be ${dtype}, got ${tensor(p).dtype}`);
	};
	expect(POSITION.input, "int8", "input");
	expect(POSITION.outputState, "int8", "output state");
	expect(POSITION.cellState, "int16", "cell state");
	const x = tensor(POSITION.input);
	if (x.shape.length !== 3) fail(node, `its input has shape ${formatShape(x.shape)}; the sequence LSTM takes a rank-3 input`);
	const timeMajor = attrBool(node, "time_major", false);
	const [steps, batch] = timeMajor ? [x.shape[0], x.shape[1]] : [x.shape[1], x.shape[0]];
	const inputSize = x.shape[2];
	const cells = tensor(POSITION.inputWeights[3]).shape[0];
	const outputs = tensor(POSITION.recurrentWeights[3]).shape[1];
	if (outputs !== cells) fail(node, `its recurrent weights take ${outputs} outputs for ${cells} cells; without a projection they must be equal`);

	const intermediateScale = attrFloats(node, "intermediate_scale", []);
	const intermediateZeroPoint = attrInts(node, "intermediate_zero_point", []);
	if (intermediateScale.length !== 5) fail(node, `it has ${intermediateScale.length} intermediate tensors; TFLite's 8x8_16 integer LSTM reads 5 (the hidden state's quantization is the fifth)`);
	const cellScaleLog2 = checkedLog2(scale(POSITION.cellState));
	if (cellScaleLog2 === undefined || cellScaleLog2 > -9) fail(node, `its cell state scale ${scale(POSITION.cellState)} must be a power of two no larger than 2^-9, as TFLite requires`);
	const f = Math.fround;
	const inputScale = f(scale(POSITION.input));
	const outputStateScale = f(scale(POSITION.outputState));
	// Without layer normalization every gate is computed in Q3.12.
	const gateScale = 2 ** -12;
	const gates = [0, 1, 2, 3].map((g): LstmGate => {
		const wx = tensor(POSITION.inputWeights[g]);
		const wh = tensor(POSITION.recurrentWeights[g]);
		const bias = tensor(POSITION.biases[g]);
		expect(POSITION.inputWeights[g], "int8", "input weights");
		expect(POSITION.recurrentWeights[g], "int8", "recurrent weights");
		expect(POSITION.biases[g], "int32", "gate bias");
		if (formatShape(wx.shape) !== formatShape([cells, inputSize])) fail(node, `its input weights (TFLite input ${POSITION.inputWeights[g]}) have shape ${formatShape(wx.shape)}, not [${cells},${inputSize}]`);
		if (formatShape(wh.shape) !== formatShape([cells, outputs])) fail(node, `its recurrent weights (TFLite input ${POSITION.recurrentWeights[g]}) have shape ${formatShape(wh.shape)}, not [${cells},${outputs}]`);
		const inputWeights = values(node, wx, "input weights");
		const recurrentWeights = values(node, wh, "recurrent weights");
		const biasValues = values(node, bias, "gate bias");
		if (inputWeights.length === 0 || recurrentWeights.length === 0 || biasValues.length !== cells) {
			fail(node, "its weights and biases must be constants (Kernel NN folds them at compile time)");
		}
		return {
			inputWeights, recurrentWeights,
			inputBias: effectiveBias(inputWeights, cells, inputSize, -zeroPoint(POSITION.input), biasValues),
			recurrentBias: effectiveBias(recurrentWeights, cells, outputs, -zeroPoint(POSITION.outputState)),
			inputScale: quantizeMultiplier(f(f(f(scale(POSITION.inputWeights[g])) * inputScale) / gateScale)),
			recurrentScale: quantizeMultiplier(f(f(f(scale(POSITION.recurrentWeights[g])) * outputStateScale) / gateScale)),
		};
	});
	const cellClip = attrFloat(node, "cell_clip", 0);
	const cellStateScale = f(scale(POSITION.cellState));
	return {
		batch, steps, inputSize, cells, timeMajor, at, gates, cellScaleLog2,
		cellClip: cellClip > 0 ? Math.trunc(clamp(f(f(cellClip) / cellStateScale), -32768, 32767)) : 0,
		// std::pow(2, -15) / intermediate_scale[4] * std::pow(2, -15): double arithmetic stored as float.
		hidden: quantizeMultiplier(f(2 ** -15 / f(intermediateScale[4]) * 2 ** -15)),
		hiddenOffset: -intermediateZeroPoint[4],
	};
}

/** Where row (batch b, step t) of the input and output lies, in rows. */
export function sequenceRow(plan: QLstmPlan, b: number, t: number): number {
	return plan.timeMajor ? t * plan.batch + b : b * plan.steps + t;
}

/** The int16 pre-activation of one gate for cell `u`: both matrix products rescaled to Q3.12 and saturated. */
function gateInput(gate: LstmGate, u: number, x: ArrayLike<number>, xAt: number, h: ArrayLike<number>, hAt: number, inputSize: number, outputs: number): number {
	let acc = gate.inputBias[u];
	for (let d = 0; d < inputSize; d++) acc += x[xAt + d] * gate.inputWeights[u * inputSize + d];
	let v = clamp(multiplyByQuantizedMultiplier(acc, gate.inputScale.multiplier, gate.inputScale.shift), -32768, 32767);
	acc = gate.recurrentBias[u];
	for (let d = 0; d < outputs; d++) acc += h[hAt + d] * gate.recurrentWeights[u * outputs + d];
	v = clamp(multiplyByQuantizedMultiplier(acc, gate.recurrentScale.multiplier, gate.recurrentScale.shift) + v, -32768, 32767);
	return v;
}

function sequenceLstm(inputs: Tensor[], node: GraphNode): Tensor[] {
	const plan = qLstmPlan(node, inputs);
	const { batch, steps, inputSize, cells, gates } = plan;
	const x = values(node, inputs[plan.at.get(POSITION.input)!]);
	const h0 = values(node, inputs[plan.at.get(POSITION.outputState)!], "output state");
	const c0 = values(node, inputs[plan.at.get(POSITION.cellState)!], "cell state");
	if (h0.length !== batch * cells || c0.length !== batch * cells) fail(node, `its state tensors must hold ${batch}x${cells} values`);
	const outShape = plan.timeMajor ? [steps, batch, cells] : [batch, steps, cells];
	const { tensor, data } = newTensor("int8", outShape);
	const cell = Array.from(c0);
	const pre = [0, 1, 2, 3].map(() => new Array<number>(cells).fill(0));
	for (let b = 0; b < batch; b++) {
		for (let t = 0; t < steps; t++) {
			const row = sequenceRow(plan, b, t);
			const [h, hAt] = t === 0 ? [h0, b * cells] : [data, sequenceRow(plan, b, t - 1) * cells];
			for (let g = 0; g < 4; g++) {
				for (let u = 0; u < cells; u++) pre[g][u] = gateInput(gates[g], u, x, row * inputSize, h, hAt, inputSize, cells);
			}
			for (let u = 0; u < cells; u++) {
				const inputGate = logistic16(pre[0][u], 3);
				const forgetGate = logistic16(pre[1][u], 3);
				const cellGate = tanh16(pre[2][u], 3);
				const outputGate = logistic16(pre[3][u], 3);
				const c = b * cells + u;
				const kept = wrap16(roundingDivideByPOT(forgetGate * cell[c], 15));
				const written = wrap16(roundingDivideByPOT(inputGate * cellGate, 30 + plan.cellScaleLog2));
				let next = clamp(kept + written, -32768, 32767);
				if (plan.cellClip > 0) next = clamp(next, -plan.cellClip, plan.cellClip);
				cell[c] = next;
				const hidden = tanh16(next, 15 + plan.cellScaleLog2);
				const scaled = multiplyByQuantizedMultiplier(outputGate * hidden, plan.hidden.multiplier, plan.hidden.shift);
				data[row * cells + u] = clamp(scaled + plan.hiddenOffset, -128, 127);
			}
		}
	}
	return [tensor];
}

export const Q_LSTM_KERNELS = new Map<string, Kernel>([["QUnidirectionalSequenceLstm", sequenceLstm]]);
