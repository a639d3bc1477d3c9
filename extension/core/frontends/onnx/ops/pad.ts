// ONNX Pad: constant -> PadV2, reflect -> MirrorPad, edge and wrap -> one GatherV2 per padded axis with a constant
// index vector (clamped or modular), so every mode compiles as a table copy. Negative pads crop first.

import { makeTensor, numbers } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import type { OnnxTranslator, TranslateContext } from "../translator";
import { axisOf, constInts, intConst } from "./indexArgs";

/** Pads per axis as [before, after], from the attribute (opset < 11) or input 1, over `axes` (input 3, opset 18). */
function padsOf(ctx: TranslateContext, rank: number): [number, number][] {
	let flat: number[];
	if (ctx.opset < 11) flat = ctx.attrInts(ctx.hasAttr("pads") ? "pads" : "paddings");
	else flat = constInts(ctx, 1, "pads");
	const axes = ctx.opset >= 18 && ctx.has(3) ? constInts(ctx, 3, "axes").map((a) => axisOf(ctx, a, rank)) : Array.from({ length: rank }, (_, i) => i);
	if (flat.length !== 2 * axes.length) ctx.fail(`pads has ${flat.length} entries; ${2 * axes.length} expected (a begin and an end per axis)`);
	const pads = Array.from({ length: rank }, (): [number, number] => [0, 0]);
	axes.forEach((axis, i) => {
		pads[axis] = [flat[i], flat[i + axes.length]];
	});
	return pads;
}

function constantValue(ctx: TranslateContext): string {
	const dtype = ctx.dtype(0);
	if (ctx.opset < 11) return ctx.addConst("value", makeTensor(dtype, [], [ctx.attrFloat("value", 0)]));
	if (!ctx.has(2)) return ctx.addConst("value", makeTensor(dtype, [], [0]));
	const value = ctx.constant(2);
	if (!value) ctx.fail("its constant_value (input 2) must be a constant");
	return ctx.addConst("value", makeTensor(dtype, [], [numbers(value)[0]]));
}

/** Input positions an output position reads along one axis of size `dim`, for edge or wrap padding. */
function borderIndices(mode: string, dim: number, before: number, after: number): number[] {
	return Array.from({ length: dim + before + after }, (_, k) => {
		const j = k - before;
		if (mode === "edge") return Math.min(dim - 1, Math.max(0, j));
		return ((j % dim) + dim) % dim;
	});
}

export const padTranslator: OnnxTranslator = (ctx) => {
	const shape = ctx.shape(0);
	const rank = shape.length;
	const mode = ctx.attrString("mode", "constant");
	const pads = padsOf(ctx, rank);
	let tensor = ctx.input(0);
	if (pads.some(([b, e]) => b < 0 || e < 0)) {
		const begin = pads.map(([b]) => Math.max(0, -b));
		const end = pads.map(([, e], d) => shape[d] + Math.min(0, e));
		const inputs = [tensor, intConst(ctx, "crop/begin", begin), intConst(ctx, "crop/end", end), intConst(ctx, "crop/strides", pads.map(() => 1))];
		tensor = ctx.add("StridedSlice", "crop", inputs);
	}
	const grow = pads.map(([b, e]): [number, number] => [Math.max(0, b), Math.max(0, e)]);
	const cropped = ctx.shapeOf(tensor);
	if (grow.every(([b, e]) => b === 0 && e === 0)) {
		ctx.output(0, ctx.add("Identity", "identity", [tensor]));
		return;
	}
	const paddings = () => intConst(ctx, "paddings", grow.flat(), [rank, 2]);
	switch (mode) {
		case "constant":
			tensor = ctx.add("PadV2", "pad", [tensor, paddings(), constantValue(ctx)]);
			break;
		case "reflect":
			grow.forEach(([b, e], d) => {
				if (b > cropped[d] - 1 || e > cropped[d] - 1) ctx.fail(`reflect padding of [${b},${e}] is too large for axis ${d} of size ${cropped[d]} (at most ${cropped[d] - 1})`);
			});
			tensor = ctx.add("MirrorPad", "pad", [tensor, paddings()], { mode: irAttr.s("REFLECT") });
			break;
		case "edge":
		case "wrap":
			grow.forEach(([b, e], d) => {
				if (b === 0 && e === 0) return;
				if (cropped[d] === 0) ctx.fail(`${mode} padding cannot extend axis ${d}, which is empty`);
				const indices = intConst(ctx, `pad${d}/indices`, borderIndices(mode, cropped[d], b, e));
				tensor = ctx.add("GatherV2", `pad${d}`, [tensor, indices, intConst(ctx, `pad${d}/axis`, [d], [])]);
			});
			break;
		default:
			ctx.fail(`mode "${mode}" is not supported (expected constant, reflect, edge or wrap)`);
	}
	ctx.output(0, tensor);
};
