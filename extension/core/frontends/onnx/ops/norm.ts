// ONNX normalizations, written as the IR's elementwise ops and reductions over ONNX's own (channels-first)
// layout: per-channel parameters are reshaped to (C, 1, ...) so they broadcast over the spatial axes.
import { irAttr } from "../../../graph/irAttr";
import type { OnnxTranslator, TranslateContext, TranslatorFamily } from "../translator";
import { intConst } from "./conv";

function floatConst(ctx: TranslateContext, suffix: string, value: number): string {
	return ctx.addConst(suffix, { dtype: "float32", shape: [], data: Float32Array.of(value) });
}

/** Input `index`, a per-channel vector, as (C, 1, ...) for an input of rank `rank`. */
function perChannel(ctx: TranslateContext, index: number, rank: number, suffix: string): string {
	const channels = ctx.shape(0)[1];
	const size = ctx.shape(index).reduce((a, b) => a * b, 1);
	if (size !== channels) ctx.fail(`input ${index} has shape [${ctx.shape(index).join(",")}]; it needs one value per channel (${channels})`);
	const shape = [channels, ...new Array<number>(rank - 2).fill(1)];
	return ctx.add("Reshape", suffix, [ctx.input(index), intConst(ctx, `${suffix}/shape`, shape)]);
}

interface Moments {
	mean: string;
	centred: string;
	variance: string;
	/** 1 / sqrt(variance + epsilon), with the reduced axes kept as 1. */
	invStdDev: string;
}

/** Mean, centred input and inverse standard deviation of input 0 over `axes` (the biased variance, as ONNX's). */
function moments(ctx: TranslateContext, axes: number[], epsilon: number): Moments {
	const axesConst = intConst(ctx, "axes", axes);
	const keep = { keep_dims: irAttr.b(true) };
	const mean = ctx.add("Mean", "mean", [ctx.input(0), axesConst], keep);
	const centred = ctx.add("Sub", "centred", [ctx.input(0), mean]);
	const squares = ctx.add("Mul", "squares", [centred, centred]);
	const variance = ctx.add("Mean", "variance", [squares, axesConst], keep);
	const shifted = ctx.add("AddV2", "variance/epsilon", [variance, floatConst(ctx, "epsilon", epsilon)]);
	return { mean, centred, variance, invStdDev: ctx.add("Rsqrt", "inv_std_dev", [shifted]) };
}

function requireFloat32(ctx: TranslateContext): void {
	if (ctx.dtype(0) !== "float32") ctx.fail(`input X is ${ctx.dtype(0)}; Kernel NN normalizes float32 tensors only`);
}

/**
 * BatchNormalization: (x - mean) / sqrt(var + epsilon) * scale + B with the running statistics, or in training mode
 * (opset 14+) with the batch's own, also giving the updated running mean and variance.
 */
const batchNormalization: OnnxTranslator = (ctx) => {
	requireFloat32(ctx);
	const rank = ctx.shape(0).length;
	if (rank < 2) ctx.fail(`input X has rank ${rank}; BatchNormalization needs (N, C, ...)`);
	const epsilon = ctx.attrFloat("epsilon", 1e-5);
	const training = ctx.attrInt("training_mode", 0) === 1;
	const extraOutputs = ctx.node.outputs.slice(1).some((name) => name !== "");
	if (extraOutputs && !training) ctx.fail("its training outputs (running or saved mean and variance) are only supported with training_mode = 1 (opset 14+)");
	// Before opset 9, spatial = 0 gave statistics per (C, H, W) element; those already broadcast against (N, C, H, W).
	const spatial = ctx.attrInt("spatial", 1) === 1;
	const param = (index: number, suffix: string) => (spatial ? perChannel(ctx, index, rank, suffix) : ctx.input(index));
	const scale = param(1, "scale");
	const bias = param(2, "bias");
	let scaled: string;
	if (training) {
		const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
		const m = moments(ctx, axes, epsilon);
		scaled = ctx.add("Mul", "scaled", [ctx.add("Mul", "normalized", [m.centred, m.invStdDev]), scale]);
		const momentum = ctx.attrFloat("momentum", 0.9);
		const channels = intConst(ctx, "channels", [ctx.shape(0)[1]]);
		const running = (index: number, batch: string, suffix: string) => {
			const kept = ctx.add("Mul", `${suffix}/kept`, [ctx.input(index), floatConst(ctx, `${suffix}/momentum`, momentum)]);
			const flat = ctx.add("Reshape", `${suffix}/batch`, [batch, channels]);
			const added = ctx.add("Mul", `${suffix}/added`, [flat, floatConst(ctx, `${suffix}/rest`, 1 - momentum)]);
			return ctx.add("AddV2", suffix, [kept, added]);
		};
		if (ctx.node.outputs[1]) ctx.output(1, running(3, m.mean, "running_mean"));
		if (ctx.node.outputs[2]) ctx.output(2, running(4, m.variance, "running_var"));
	} else {
		const mean = param(3, "mean");
		const variance = param(4, "var");
		const shifted = ctx.add("AddV2", "var/epsilon", [variance, floatConst(ctx, "epsilon", epsilon)]);
		// scale / sqrt(var + epsilon) first: with constant statistics it folds, leaving three passes over X.
		const factor = ctx.add("Mul", "factor", [ctx.add("Rsqrt", "inv_std_dev", [shifted]), scale]);
		scaled = ctx.add("Mul", "scaled", [ctx.add("Sub", "centred", [ctx.input(0), mean]), factor]);
	}
	ctx.output(0, ctx.add("AddV2", "shifted", [scaled, bias]));
};

/** LayerNormalization (opset 17): normalizes over the axes from `axis` on; outputs 1 and 2 are Mean and InvStdDev. */
const layerNormalization: OnnxTranslator = (ctx) => {
	requireFloat32(ctx);
	const rank = ctx.shape(0).length;
	const axis = ctx.attrInt("axis", -1);
	if (axis < -rank || axis >= rank) ctx.fail(`axis ${axis} is out of range for an input of rank ${rank}`);
	const first = axis < 0 ? axis + rank : axis;
	const m = moments(ctx, Array.from({ length: rank - first }, (_, i) => first + i), ctx.attrFloat("epsilon", 1e-5));
	const normalized = ctx.add("Mul", "normalized", [m.centred, m.invStdDev]);
	const scaled = ctx.add("Mul", "scaled", [normalized, ctx.input(1)]);
	ctx.output(0, ctx.has(2) ? ctx.add("AddV2", "shifted", [scaled, ctx.input(2)]) : scaled);
	if (ctx.node.outputs[1]) ctx.output(1, m.mean);
	if (ctx.node.outputs[2]) ctx.output(2, m.invStdDev);
};

/** InstanceNormalization: each (sample, channel) normalized over its spatial axes, then per-channel scale and B. */
const instanceNormalization: OnnxTranslator = (ctx) => {
	requireFloat32(ctx);
	const rank = ctx.shape(0).length;
	if (rank < 3) ctx.fail(`input X has rank ${rank}; InstanceNormalization needs (N, C, spatial...)`);
	const m = moments(ctx, Array.from({ length: rank - 2 }, (_, i) => i + 2), ctx.attrFloat("epsilon", 1e-5));
	const normalized = ctx.add("Mul", "normalized", [m.centred, m.invStdDev]);
	const scaled = ctx.add("Mul", "scaled", [normalized, perChannel(ctx, 1, rank, "scale")]);
	ctx.output(0, ctx.add("AddV2", "shifted", [scaled, perChannel(ctx, 2, rank, "bias")]));
};

export const NORM_TRANSLATORS: TranslatorFamily = new Map<string, OnnxTranslator>([
	["BatchNormalization", batchNormalization],
	["LayerNormalization", layerNormalization],
	["InstanceNormalization", instanceNormalization],
]);
