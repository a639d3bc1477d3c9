// ONNX convolution and pooling as the IR's window ops (Conv2D, DepthwiseConv2dNative, MaxPool, AvgPool, their 3-D
// forms, Conv2DBackpropInput, Conv3DBackpropInputV2) in ONNX's own channels-first layout (data_format NCHW, NCDHW),
// so no Transpose copies the activations; only the weights are transposed, which folds away on constants. 1-D ops
// run as 2-D ops of height 1. Padding, auto_pad and ceil_mode are always resolved here into explicit pads.
import type { AttrValue } from "../../../graph/attr";
import { irAttr } from "../../../graph/irAttr";
import type { OnnxTranslator, TranslateContext, TranslatorFamily } from "../translator";

/** The IR's window ops for 2-D (1-D runs as 2-D) and 3-D windows. */
const IR_OPS = {
	2: { conv: "Conv2D", MaxPool: "MaxPool", AvgPool: "AvgPool", transposed: "Conv2DBackpropInput", format: "NCHW" },
	3: { conv: "Conv3D", MaxPool: "MaxPool3D", AvgPool: "AvgPool3D", transposed: "Conv3DBackpropInputV2", format: "NCDHW" },
} as const;

type Spatial = 1 | 2 | 3;

/** A window op's geometry over the IR's spatial axes (a 1-D op has height 1), one entry per axis. */
interface Window {
	kernel: number[];
	strides: number[];
	dilations: number[];
	begin: number[];
	end: number[];
}

export function intConst(ctx: TranslateContext, suffix: string, values: readonly number[]): string {
	return ctx.addConst(suffix, { dtype: "int32", shape: [values.length], data: Int32Array.from(values) });
}

function transpose(ctx: TranslateContext, suffix: string, tensor: string, perm: readonly number[]): string {
	return ctx.add("Transpose", suffix, [tensor, intConst(ctx, `${suffix}/perm`, perm)]);
}

function reshape(ctx: TranslateContext, suffix: string, tensor: string, shape: readonly number[]): string {
	return ctx.add("Reshape", suffix, [tensor, intConst(ctx, `${suffix}/shape`, shape)]);
}

/** The spatial rank (1 to 3) of an NC... input; others are refused by name. */
function spatialRank(ctx: TranslateContext, rank: number): Spatial {
	if (rank >= 3 && rank <= 5) return (rank - 2) as Spatial;
	return ctx.fail(`input X has rank ${rank}; only 1-D (N, C, L), 2-D (N, C, H, W) and 3-D (N, C, D, H, W) ${ctx.node.opType} is supported`);
}

/** The IR's spatial rank: a 1-D op runs as a 2-D one. */
const irSpatial = (spatial: Spatial): 2 | 3 => (spatial === 1 ? 2 : spatial);

/** Lifts a per-spatial-axis list to the IR's axes: a 1-D value becomes [one, value]. */
function lift(values: readonly number[], spatial: Spatial, one: number): number[] {
	return spatial === 1 ? [one, values[0]] : [...values];
}

/** Reads an INTS attribute of one value per spatial axis, checking its length. */
function perAxis(ctx: TranslateContext, name: string, spatial: Spatial, fallback: number): number[] {
	const list = ctx.attrInts(name, new Array<number>(spatial).fill(fallback));
	if (list.length !== spatial) ctx.fail(`attribute "${name}" has ${list.length} values for ${spatial} spatial axes; give one per axis`);
	return list;
}

/**
 * Strides, dilations and pads of a forward window op, with auto_pad resolved: SAME_UPPER and SAME_LOWER pad so the
 * output is ceil(input / stride), the odd pixel going to the end or the beginning.
 */
function forwardWindow(ctx: TranslateContext, spatialSizes: readonly number[], kernelSizes: readonly number[]): Window {
	const spatial = spatialSizes.length as Spatial;
	const strides = perAxis(ctx, "strides", spatial, 1);
	const dilations = perAxis(ctx, "dilations", spatial, 1);
	const autoPad = ctx.attrString("auto_pad", "NOTSET");
	let begin = new Array<number>(spatial).fill(0);
	let end = new Array<number>(spatial).fill(0);
	if (autoPad === "NOTSET") {
		const pads = ctx.attrInts("pads", new Array<number>(2 * spatial).fill(0));
		if (pads.length !== 2 * spatial) ctx.fail(`attribute "pads" has ${pads.length} values; ${spatial} spatial axes need ${2 * spatial}`);
		if (pads.some((p) => p < 0)) ctx.fail(`negative pads [${pads.join(",")}] are not supported`);
		begin = pads.slice(0, spatial);
		end = pads.slice(spatial);
	} else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
		for (let d = 0; d < spatial; d++) {
			const out = Math.ceil(spatialSizes[d] / strides[d]);
			const total = Math.max((out - 1) * strides[d] + (kernelSizes[d] - 1) * dilations[d] + 1 - spatialSizes[d], 0);
			const small = Math.floor(total / 2);
			[begin[d], end[d]] = autoPad === "SAME_UPPER" ? [small, total - small] : [total - small, small];
		}
	} else if (autoPad !== "VALID") {
		ctx.fail(`auto_pad "${autoPad}" is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
	}
	return {
		kernel: lift(kernelSizes, spatial, 1), strides: lift(strides, spatial, 1), dilations: lift(dilations, spatial, 1),
		begin: lift(begin, spatial, 0), end: lift(end, spatial, 0),
	};
}

/** The IR attributes of a channels-first window op: explicit padding unless there is none. */
function windowAttrs(window: Window): Record<string, AttrValue> {
	const padded = [...window.begin, ...window.end].some((p) => p !== 0);
	const ones = (list: number[]) => [1, 1, ...list];
	return {
		strides: irAttr.ints(ones(window.strides)),
		dilations: irAttr.ints(ones(window.dilations)),
		padding: irAttr.s(padded ? "EXPLICIT" : "VALID"),
		...(padded ? { explicit_paddings: irAttr.ints([0, 0, 0, 0, ...window.begin.flatMap((b, d) => [b, window.end[d]])]) } : {}),
		data_format: irAttr.s(IR_OPS[window.kernel.length as 2 | 3].format),
	};
}

/** Input 0 as the window op reads it; a 1-D input gets height 1. */
function inputImage(ctx: TranslateContext, spatial: Spatial): string {
	const shape = ctx.shape(0);
	return spatial === 1 ? reshape(ctx, "to2d", ctx.input(0), [shape[0], shape[1], 1, shape[2]]) : ctx.input(0);
}

/** Binds output 0 to the window op's result, dropping the height of a 1-D op. */
function outputImage(ctx: TranslateContext, spatial: Spatial, y: string): void {
	if (spatial !== 1) return ctx.output(0, y);
	const [n, c, , w] = ctx.shapeOf(y);
	ctx.output(0, reshape(ctx, "to1d", y, [n, c, w]));
}

/** The weight W (M, C/group, k...) as the IR's filter (k..., C/group, M); a 1-D kernel gets height 1. */
function filter(ctx: TranslateContext, spatial: Spatial): string {
	const shape = ctx.shape(1);
	if (shape.length !== spatial + 2) ctx.fail(`weight W has shape [${shape.join(",")}]; a ${spatial}-D ${ctx.node.opType} needs rank ${spatial + 2}`);
	const w = spatial === 1 ? reshape(ctx, "w2d", ctx.input(1), [shape[0], shape[1], 1, shape[2]]) : ctx.input(1);
	const rank = irSpatial(spatial) + 2;
	return transpose(ctx, "filter", w, [...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1, 0]);
}

function kernelSizes(ctx: TranslateContext, spatial: Spatial): number[] {
	const fromWeight = ctx.shape(1).slice(2);
	const declared = ctx.attrInts("kernel_shape", fromWeight);
	if (declared.join(",") !== fromWeight.join(",")) ctx.fail(`kernel_shape [${declared.join(",")}] does not match the weight's spatial shape [${fromWeight.join(",")}]`);
	return declared.slice(0, spatial);
}

function addBias(ctx: TranslateContext, y: string): string {
	return ctx.has(2) ? ctx.add("BiasAdd", "bias", [y, ctx.input(2)], { data_format: irAttr.s("NCHW") }) : y;
}

/** Runs `conv` on each of `groups` channel slices of the input and filter (its last axis), then joins the results. */
function grouped(ctx: TranslateContext, x: string, filter: string, groups: number, conv: (x: string, filter: string, suffix: string) => string): string {
	if (groups === 1) return conv(x, filter, "conv");
	const channelAxis = intConst(ctx, "group/axis", [1]);
	const filterAxis = intConst(ctx, "group/filter_axis", [ctx.shapeOf(filter).length - 1]);
	const xs = ctx.add("Split", "group/x", [channelAxis, x], { num_split: irAttr.i(groups) });
	const fs = ctx.add("Split", "group/w", [filterAxis, filter], { num_split: irAttr.i(groups) });
	const parts = Array.from({ length: groups }, (_, g) => conv(g ? `${xs}:${g}` : xs, g ? `${fs}:${g}` : fs, `conv${g}`));
	return ctx.add("ConcatV2", "group/concat", [...parts, channelAxis], { N: irAttr.i(groups) });
}

const conv: OnnxTranslator = (ctx) => {
	const xShape = ctx.shape(0);
	const spatial = spatialRank(ctx, xShape.length);
	const ops = IR_OPS[irSpatial(spatial)];
	const groups = ctx.attrInt("group", 1);
	const [outChannels, groupChannels] = ctx.shape(1);
	const channels = xShape[1];
	if (groups < 1 || channels !== groupChannels * groups || outChannels % groups !== 0) {
		ctx.fail(`X has ${channels} channels and W shape [${ctx.shape(1).join(",")}], which does not fit group = ${groups}`);
	}
	const window = forwardWindow(ctx, xShape.slice(2), kernelSizes(ctx, spatial));
	const attrs = windowAttrs(window);
	const x = inputImage(ctx, spatial);
	const w = filter(ctx, spatial);
	let y: string;
	if (groups > 1 && groups === channels && spatial !== 3) {
		// Depthwise: output channel c * m + k reads input channel c, as DepthwiseConv2dNative's multiplier k does.
		const [kh, kw] = window.kernel;
		const depthwise = reshape(ctx, "filter/depthwise", w, [kh, kw, channels, outChannels / channels]);
		y = ctx.add("DepthwiseConv2dNative", "conv", [x, depthwise], attrs);
	} else {
		y = grouped(ctx, x, w, groups, (xg, fg, suffix) => ctx.add(ops.conv, suffix, [xg, fg], attrs));
	}
	outputImage(ctx, spatial, addBias(ctx, y));
};

/**
 * ConvTranspose as the gradient of a forward convolution (Conv2DBackpropInput): output size
 * stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pads, or output_shape with pads derived from it.
 */
const convTranspose: OnnxTranslator = (ctx) => {
	const xShape = ctx.shape(0);
	const spatial = spatialRank(ctx, xShape.length);
	const groups = ctx.attrInt("group", 1);
	const [inChannels, groupOut] = ctx.shape(1);
	if (groups < 1 || inChannels !== xShape[1] || inChannels % groups !== 0) {
		ctx.fail(`X has ${xShape[1]} channels and W shape [${ctx.shape(1).join(",")}], which does not fit group = ${groups}`);
	}
	const inSizes = xShape.slice(2);
	const kernels = kernelSizes(ctx, spatial);
	const strides = perAxis(ctx, "strides", spatial, 1);
	const dilations = perAxis(ctx, "dilations", spatial, 1);
	const outputPadding = perAxis(ctx, "output_padding", spatial, 0);
	const autoPad = ctx.attrString("auto_pad", "NOTSET");
	const full = inSizes.map((n, d) => strides[d] * (n - 1) + outputPadding[d] + (kernels[d] - 1) * dilations[d] + 1);
	let begin: number[];
	let end: number[];
	if (ctx.hasAttr("output_shape") || autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
		let target = ctx.attrInts("output_shape", inSizes.map((n, d) => n * strides[d]));
		// output_shape may name the whole (N, C, ...) shape or only the spatial part.
		if (target.length === spatial + 2) target = target.slice(2);
		if (target.length !== spatial) ctx.fail(`output_shape [${target.join(",")}] does not give ${spatial} spatial sizes`);
		// A larger output_shape than the input can fill leaves the extra at the end, zero (as onnxruntime does).
		const totals = full.map((f, d) => Math.max(f - target[d], 0));
		const small = totals.map((t) => Math.floor(t / 2));
		begin = totals.map((t, d) => (autoPad === "SAME_UPPER" ? small[d] : t - small[d]));
		end = full.map((f, d) => f - begin[d] - target[d]);
	} else if (autoPad === "NOTSET" || autoPad === "VALID") {
		const pads = autoPad === "VALID" ? new Array<number>(2 * spatial).fill(0) : ctx.attrInts("pads", new Array<number>(2 * spatial).fill(0));
		if (pads.length !== 2 * spatial || pads.some((p) => p < 0)) ctx.fail(`attribute "pads" [${pads.join(",")}] needs ${2 * spatial} non-negative values`);
		begin = pads.slice(0, spatial);
		end = pads.slice(spatial);
	} else {
		return ctx.fail(`auto_pad "${autoPad}" is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
	}
	const outSizes = lift(full.map((f, d) => f - begin[d] - end[d]), spatial, 1);
	if (outSizes.some((s) => s < 1)) ctx.fail(`the output would be ${outSizes.join("x")}; check pads against the kernel and strides`);
	const window: Window = {
		kernel: lift(kernels, spatial, 1), strides: lift(strides, spatial, 1), dilations: lift(dilations, spatial, 1),
		begin: lift(begin, spatial, 0), end: lift(end, spatial, 0),
	};
	const attrs = windowAttrs(window);
	const op = IR_OPS[irSpatial(spatial)].transposed;
	const batch = xShape[0];
	// ONNX weights are (C, M/group, k...); the backprop op's filter is (k..., M/group, C): the same transpose as Conv's.
	const y = grouped(ctx, inputImage(ctx, spatial), filter(ctx, spatial), groups, (xg, fg, suffix) => {
		const sizes = intConst(ctx, `${suffix}/sizes`, [batch, groupOut, ...outSizes]);
		return ctx.add(op, suffix, [sizes, fg, xg], attrs);
	});
	outputImage(ctx, spatial, addBias(ctx, y));
};

/** Output size of a pooling axis, ONNX's way: ceil_mode rounds up, but no window may start past the padded input. */
function pooledSize(size: number, begin: number, end: number, effective: number, stride: number, ceil: boolean): number {
	const span = size + begin + end - effective;
	let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
	if (ceil && (out - 1) * stride >= size + begin) out--;
	return out;
}

function pool(kind: "MaxPool" | "AvgPool"): OnnxTranslator {
	return (ctx) => {
		const xShape = ctx.shape(0);
		const spatial = spatialRank(ctx, xShape.length);
		if (kind === "MaxPool" && ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== "") {
			ctx.fail("the Indices output is not supported; export the model without return_indices");
		}
		if (!ctx.hasAttr("kernel_shape")) ctx.fail(`attribute "kernel_shape" is required`);
		const kernels = perAxis(ctx, "kernel_shape", spatial, 1);
		const window = forwardWindow(ctx, xShape.slice(2), kernels);
		const ceil = ctx.attrInt("ceil_mode", 0) === 1;
		const sizes = lift(xShape.slice(2), spatial, 1);
		const explicitEnd = [...window.end];
		// ceil_mode's extra windows read past the padded input; extra end padding (never counted) makes room for them.
		sizes.forEach((size, d) => {
			const effective = (window.kernel[d] - 1) * window.dilations[d] + 1;
			const out = pooledSize(size, window.begin[d], window.end[d], effective, window.strides[d], ceil);
			window.end[d] = Math.max(window.end[d], (out - 1) * window.strides[d] + effective - size - window.begin[d]);
		});
		let x = inputImage(ctx, spatial);
		const dtype = ctx.dtype(0);
		if (dtype !== "float32") x = ctx.add("Cast", "float", [x], { SrcT: irAttr.type(dtype), DstT: irAttr.type("float32") });
		if (kind === "AvgPool" && ctx.attrInt("count_include_pad", 0) === 1) {
			// Counted padding is zeros that are really there; only ceil_mode's extra stays uncounted.
			const rows = [[0, 0], [0, 0], ...window.begin.map((b, d) => [b, explicitEnd[d]])];
			const paddings = ctx.addConst("zeros/paddings", { dtype: "int32", shape: [rows.length, 2], data: Int32Array.from(rows.flat()) });
			x = ctx.add("Pad", "zeros", [x, paddings]);
			window.end = window.end.map((e, d) => e - explicitEnd[d]);
			window.begin = window.begin.map(() => 0);
		}
		const attrs = { ...windowAttrs(window), ksize: irAttr.ints([1, 1, ...window.kernel]) };
		let y = ctx.add(IR_OPS[irSpatial(spatial)][kind], "pool", [x], attrs);
		if (dtype !== "float32") y = ctx.add("Cast", "back", [y], { SrcT: irAttr.type("float32"), DstT: irAttr.type(dtype) });
		outputImage(ctx, spatial, y);
	};
}

function globalPool(reduce: "Mean" | "Max"): OnnxTranslator {
	return (ctx) => {
		const rank = ctx.shape(0).length;
		if (rank < 3) ctx.fail(`input X has rank ${rank}; global pooling needs (N, C, spatial...)`);
		const axes = intConst(ctx, "axes", Array.from({ length: rank - 2 }, (_, i) => i + 2));
		ctx.output(0, ctx.add(reduce, "pool", [ctx.input(0), axes], { keep_dims: irAttr.b(true) }));
	};
}

export const CONV_TRANSLATORS: TranslatorFamily = new Map<string, OnnxTranslator>([
	["Conv", conv],
	["ConvTranspose", convTranspose],
	["MaxPool", pool("MaxPool")],
	["AveragePool", pool("AvgPool")],
	["GlobalAveragePool", globalPool("Mean")],
	["GlobalMaxPool", globalPool("Max")],
]);
