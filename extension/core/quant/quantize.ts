// Post-training quantization of a float model to an int8 TFLite file: calibrate on a data set, choose every
// tensor's parameters, then improve on plain min/max calibration by measuring the quantized model itself.
import type { Tf2xlaConfig } from "../frontends/tf/proto/types";
import { configFeeds, configRef } from "../frontends/tf/tf2xlaConfig";
import { type Graph, refKey } from "../graph/graph";
import { foldConstants, inferGraph } from "../interp/infer";
import { activationRange, roundHalfAway } from "./arith";
import { CalibrationError, type Sample, runFloat } from "./calibrate";
import { toChannelsLast } from "./layout";
import { type PlanTensor, type QuantPlan, planQuantization } from "./plan";
import { simulate } from "./simulate";

export interface QuantizeOptions {
	/** One weight scale per output channel instead of one per tensor. */
	perChannel: boolean;
	/** Search activation ranges and correct biases on the calibration data (on by default). */
	optimize?: boolean;
}

export interface OutputError {
	name: string;
	meanAbsError: number;
	maxAbsError: number;
	/** One quantization step of the output. */
	step: number;
}

export interface TensorRange {
	name: string;
	/** The calibration data's own range. */
	observed: [number, number];
	/** The range the int8 parameters represent. */
	chosen: [number, number];
	scale: number;
	zeroPoint: number;
}

export interface ModelInput {
	name: string;
	/** The shape the .tflite takes. */
	shape: number[];
	/** The float model's channels-first shape when the .tflite takes the same values channels-last. */
	channelsFirst?: number[];
}

export interface CalibrationReport {
	samples: number;
	inputs: ModelInput[];
	perChannel: boolean;
	outputs: OutputError[];
	tensors: TensorRange[];
	/** Mean abs error over all outputs after plain min/max calibration, for comparison with the final one. */
	minMaxMeanAbsError: number;
	meanAbsError: number;
}

export interface QuantizedModel {
	graph: Graph;
	plan: QuantPlan;
	report: CalibrationReport;
}

/** Range candidates: the observed range scaled by these factors (clipping outliers can pay for finer steps). */
const RANGE_FACTORS = [1, 0.97, 0.94, 0.9, 0.86, 0.82, 0.78, 0.74, 0.7, 0.65, 0.6, 0.55, 0.5];

/** Quantizes the graph `config` describes; `samples` feed it, one Map per calibration sample. */
export function quantizeModel(frozen: Graph, config: Tf2xlaConfig, samples: readonly Sample[], options: QuantizeOptions): QuantizedModel {
	if (samples.length === 0) throw new CalibrationError("the calibration data has no samples");
	const feeds = configFeeds(frozen, config);
	const fetches = config.fetch.map(configRef);
	const graph = foldConstants(frozen, inferGraph(frozen, feeds, fetches), fetches, feeds.map((f) => f.ref.node));
	const inference = inferGraph(graph, feeds, fetches);
	const fetchNames = config.fetch.map((f) => refKey(configRef(f)));
	const plan = planQuantization(graph, inference, feeds.map((f) => f.ref), fetches, fetchNames);
	const floatValues = runFloat(graph, samples, fetches);
	const inputs = floatValues.map((values) => plan.inputs.map((t) => inOrderOf(plan.tensors[t], values.get(plan.tensors[t].node!)!)));
	const reference = floatValues.map((values) => plan.outputs.map((t) => values.get(plan.tensors[t].node!)!));
	const observed = observedRanges(plan, floatValues);
	const chosen = new Map(observed);
	const measure = () => errors(simulate(plan, inputs).outputs, reference);

	// The objective weighs the worst case too, so clipping never buys a lower mean with a few large errors.
	const objective = () => measure().perOutput.reduce((sum, e) => sum + e.mean + e.max / 4, 0);
	assignParameters(plan, chosen, options.perChannel);
	const minMaxMeanAbsError = measure().mean;
	if (options.optimize ?? true) {
		for (let pass = 0; pass < 2; pass++) {
			searchRanges(plan, observed, chosen, options.perChannel, objective);
			correctBiases(plan, inputs, floatValues, objective);
		}
	}
	const final = measure();
	const report: CalibrationReport = {
		samples: samples.length,
		inputs: plan.inputs.map((t) => ({ name: plan.tensors[t].name, shape: plan.tensors[t].shape, ...(plan.tensors[t].channelsFirst ? { channelsFirst: plan.tensors[t].channelsFirst } : {}) })),
		perChannel: options.perChannel, minMaxMeanAbsError, meanAbsError: final.mean,
		outputs: plan.outputs.map((t, k) => ({ name: plan.tensors[t].name, meanAbsError: final.perOutput[k].mean, maxAbsError: final.perOutput[k].max, step: plan.tensors[plan.ops.find((op) => op.outputs[0] === t)!.inputs[0]].scale[0] })),
		tensors: [...observed].map(([t, range]) => ({ name: plan.tensors[t].name, observed: range, chosen: chosen.get(t)!, scale: plan.tensors[t].scale[0], zeroPoint: plan.tensors[t].zeroPoint[0] })),
	};
	return { graph, plan, report };
}

/** The calibration range of every free activation tensor (tied tensors pool their ranges into their root). */
function observedRanges(plan: QuantPlan, floatValues: Map<string, Float64Array>[]): Map<number, [number, number]> {
	const ranges = new Map<number, [number, number]>();
	plan.tensors.forEach((tensor, t) => {
		if (tensor.role !== "activation" || tensor.fixed) return;
		const root = rootOf(plan, t);
		let [min, max] = ranges.get(root) ?? [0, 0];
		for (const values of floatValues) {
			for (const v of values.get(tensor.node!) ?? []) {
				if (v < min) min = v;
				if (v > max) max = v;
			}
		}
		ranges.set(root, [min, max]);
	});
	return ranges;
}

function rootOf(plan: QuantPlan, t: number): number {
	let root = t;
	while (plan.tensors[root].tiedTo !== undefined) root = plan.tensors[root].tiedTo!;
	return root;
}

/** Scale and zero point of every tensor from the chosen ranges; weights symmetric, biases at input x weight scale. */
function assignParameters(plan: QuantPlan, chosen: Map<number, [number, number]>, perChannel: boolean): void {
	plan.tensors.forEach((tensor, t) => {
		if (tensor.role !== "activation") return;
		const root = plan.tensors[rootOf(plan, t)];
		if (root.fixed) {
			tensor.scale = [root.fixed.scale];
			tensor.zeroPoint = [root.fixed.zeroPoint];
		} else {
			Object.assign(tensor, affine(...chosen.get(rootOf(plan, t))!));
		}
	});
	for (const tensor of plan.tensors) {
		if (tensor.role === "weight") quantizeWeights(tensor, perChannel && tensor.channelAxis !== undefined);
	}
	for (const op of plan.ops) {
		if (!op.preActivation) continue;
		const [input, weights, bias] = op.inputs.map((t) => plan.tensors[t]);
		quantizeBias(bias, input.scale[0], weights.scale);
	}
}

/** TFLite's asymmetric int8 parameters for [min, max], the range widened to hold 0 so zero is exact. */
function affine(min: number, max: number): { scale: number[]; zeroPoint: number[] } {
	const lo = Math.min(min, 0);
	const hi = Math.max(max, 0);
	const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 1 / 255);
	const zeroPoint = Math.max(-128, Math.min(127, roundHalfAway(-128 - lo / scale)));
	return { scale: [scale], zeroPoint: [zeroPoint] };
}

function quantizeWeights(tensor: PlanTensor, perChannel: boolean): void {
	const data = tensor.floatData!;
	if (tensor.channelAxis === undefined) {
		// A constant operand of ADD/SUB/MUL: asymmetric, like an activation.
		Object.assign(tensor, affine(Math.min(...data), Math.max(...data)));
		tensor.quantData = Int32Array.from(data, (v) => Math.max(-128, Math.min(127, roundHalfAway(v / tensor.scale[0]) + tensor.zeroPoint[0])));
		return;
	}
	const channels = tensor.shape[tensor.channelAxis];
	const inner = tensor.shape.slice(tensor.channelAxis + 1).reduce((a, b) => a * b, 1);
	const channelOf = (i: number) => (perChannel ? Math.floor(i / inner) % channels : 0);
	const maxAbs = new Array<number>(perChannel ? channels : 1).fill(0);
	data.forEach((v, i) => (maxAbs[channelOf(i)] = Math.max(maxAbs[channelOf(i)], Math.abs(v))));
	tensor.scale = maxAbs.map((m) => Math.fround(m > 0 ? m / 127 : 1 / 127));
	tensor.zeroPoint = tensor.scale.map(() => 0);
	tensor.quantData = Int32Array.from(data, (v, i) => Math.max(-127, Math.min(127, roundHalfAway(v / tensor.scale[channelOf(i)]))));
}

function quantizeBias(bias: PlanTensor, inputScale: number, weightScales: number[]): void {
	const channels = bias.shape[0];
	bias.scale = Array.from({ length: channels }, (_, c) => Math.fround(inputScale * weightScales[weightScales.length === 1 ? 0 : c]));
	if (weightScales.length === 1) bias.scale = [bias.scale[0]];
	bias.zeroPoint = bias.scale.map(() => 0);
	bias.quantData = Int32Array.from(bias.floatData!, (v, c) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, roundHalfAway((v + (bias.correction?.[c] ?? 0)) / bias.scale[bias.scale.length === 1 ? 0 : c]))));
}

/** For each free tensor in plan order, the range factor that gives the quantized model the least error. */
function searchRanges(plan: QuantPlan, observed: Map<number, [number, number]>, chosen: Map<number, [number, number]>, perChannel: boolean, error: () => number): void {
	for (const [t, [min, max]] of observed) {
		let best = { factor: 1, error: Infinity };
		for (const factor of RANGE_FACTORS) {
			chosen.set(t, [min * factor, max * factor]);
			assignParameters(plan, chosen, perChannel);
			const e = error();
			if (e < best.error) best = { factor, error: e };
		}
		chosen.set(t, [min * best.factor, max * best.factor]);
		assignParameters(plan, chosen, perChannel);
	}
}

/**
 * Bias correction: in plan order, shifts each weighted op's bias by the mean difference between the float model's
 * pre-activation and the quantized model's over the calibration data, cancelling the systematic part of the error.
 * The quantized side is the op's own output from a run of the candidate; values its fused activation or int8
 * saturation clamped say nothing about the pre-activation and are left out.
 */
function correctBiases(plan: QuantPlan, inputs: readonly Float64Array[][], floatValues: Map<string, Float64Array>[], objective: () => number): void {
	plan.ops.forEach((op) => {
		if (!op.preActivation) return;
		const outputTensor = plan.tensors[op.outputs[0]];
		const quantized = simulate(plan, inputs, [op.outputs[0]]).tensors.get(op.outputs[0])!;
		const { scale: [scale], zeroPoint: [zeroPoint] } = outputTensor;
		const { min, max } = activationRange(op.activation, scale, zeroPoint, "int8");
		const bias = plan.tensors[op.inputs[2]];
		const channels = bias.shape[0];
		const shift = new Float64Array(channels);
		const counts = new Float64Array(channels);
		quantized.forEach((values, s) => {
			const reference = inOrderOf(outputTensor, floatValues[s].get(op.preActivation!)!);
			values.forEach((q, i) => {
				if (q <= min || q >= max) return;
				shift[i % channels] += reference[i] - (q - zeroPoint) * scale;
				counts[i % channels]++;
			});
		});
		const before = { correction: bias.correction, error: objective() };
		bias.correction = Float64Array.from(shift, (sum, c) => (bias.correction?.[c] ?? 0) + (counts[c] > 0 ? sum / counts[c] : 0));
		quantizeBias(bias, plan.tensors[op.inputs[0]].scale[0], plan.tensors[op.inputs[1]].scale);
		// Kept only when the model as a whole improves: a mean shift can move a few outputs across a saturation.
		if (objective() > before.error) {
			bias.correction = before.correction;
			quantizeBias(bias, plan.tensors[op.inputs[0]].scale[0], plan.tensors[op.inputs[1]].scale);
		}
	});
}

/** A float model's values in the order the quantized tensor holds them. */
function inOrderOf(tensor: PlanTensor, values: Float64Array): Float64Array {
	return tensor.channelsFirst ? toChannelsLast(values, tensor.channelsFirst) : values;
}

function errors(outputs: Float64Array[][], reference: Float64Array[][]): { mean: number; perOutput: { mean: number; max: number }[] } {
	const perOutput = reference[0].map((_, k) => {
		let sum = 0;
		let max = 0;
		let count = 0;
		outputs.forEach((sample, s) => sample[k].forEach((v, i) => {
			const e = Math.abs(v - reference[s][k][i]);
			sum += e;
			max = Math.max(max, e);
			count++;
		}));
		return { mean: sum / count, max };
	});
	return { mean: perOutput.reduce((a, b) => a + b.mean, 0) / perOutput.length, perOutput };
}
