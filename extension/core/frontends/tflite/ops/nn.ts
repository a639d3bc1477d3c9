// FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and the 2-D pools. Float filters are rearranged at load
// time into TensorFlow's layouts (OHWI -> HWIO, [1,H,W,C*M] -> [H,W,C,M]); quantized ones keep TFLite's.
import { type Tensor, makeTensor, numbers } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import { BuiltinOperator } from "../types";
import type { OpContext } from "./context";
import { type OpTranslator, floatActivation, floatConstant, floatInput, isQuantizedOp, padding, transposeConstant } from "./common";
import { addQuantized } from "./quantized";

const F32 = { T: irAttr.type("float32") };
const NHWC = irAttr.s("NHWC");

function biasAndActivation(ctx: OpContext, y: string, biasPosition: number): string {
	const biased = ctx.has(biasPosition) ? ctx.add("BiasAdd", "BiasAdd", [y, floatInput(ctx, biasPosition, "bias")], { ...F32, data_format: NHWC }) : y;
	return floatActivation(ctx, biased);
}

function reshape(ctx: OpContext, suffix: string, x: string, shape: number[], dtype = "float32"): string {
	return ctx.add("Reshape", suffix, [x, ctx.ints32(`${suffix}/shape`, shape)], { T: irAttr.type(dtype as "float32"), Tshape: irAttr.type("int32") });
}

const fullyConnected: OpTranslator = (ctx) => {
	if (ctx.num("weightsFormat", 0) !== 0) ctx.fail("its weights are in the shuffled 4x16 int8 format; convert the model with the default weights format");
	const weights = ctx.shape(1);
	if (weights.length !== 2) ctx.fail(`its weights have shape [${weights.join(",")}]; FULLY_CONNECTED takes [outputs, inputs]`);
	if (isQuantizedOp(ctx)) {
		ctx.output(0, addQuantized(ctx, "QFullyConnected", [0, 1, 2], { keep_num_dims: irAttr.b(ctx.bool("keepNumDims")) }, { filter: 1 }));
		return;
	}
	// TFLite flattens every input to [size / inputs, inputs] and gives back the declared output shape.
	const inputs = weights[1];
	const xShape = ctx.shape(0);
	const x = xShape.length === 2 ? ctx.input(0) : reshape(ctx, "flatten", ctx.input(0), [xShape.reduce((a, b) => a * b, 1) / inputs, inputs]);
	const product = ctx.add("MatMul", "MatMul", [x, floatInput(ctx, 1, "weights")], { ...F32, transpose_a: irAttr.b(false), transpose_b: irAttr.b(true) });
	const y = biasAndActivation(ctx, product, 2);
	const out = ctx.outShape();
	ctx.output(0, out.length === 2 ? y : reshape(ctx, "Reshape", y, out));
};

function strides(ctx: OpContext): number[] {
	return [ctx.num("strideH", 1), ctx.num("strideW", 1)];
}

function dilations(ctx: OpContext): number[] {
	return [ctx.num("dilationHFactor", 1), ctx.num("dilationWFactor", 1)];
}

const nhwc = (hw: number[]) => irAttr.ints([1, hw[0], hw[1], 1]);

/** A float filter constant rearranged by `layout`; a computed one through a Transpose or Reshape node. */
function floatFilter(ctx: OpContext, layout: { perm?: number[]; shape?: number[] }): string {
	const value = floatConstant(ctx, 1);
	if (value) {
		const arranged: Tensor = layout.perm ? transposeConstant(value, layout.perm) : makeTensor("float32", layout.shape!, numbers(value));
		return ctx.addConst("filter", arranged);
	}
	if (layout.perm) return ctx.add("Transpose", "filter", [ctx.input(1), ctx.ints32("filter/perm", layout.perm)], { ...F32, Tperm: irAttr.type("int32") });
	return reshape(ctx, "filter", ctx.input(1), layout.shape!);
}

const conv2d: OpTranslator = (ctx) => {
	const filter = ctx.shape(1);
	const channels = ctx.shape(0)[3];
	if (filter.length !== 4) ctx.fail(`its filter has shape [${filter.join(",")}]; CONV_2D takes [out, h, w, in]`);
	if (filter[3] !== channels) ctx.fail(`its filter has ${filter[3]} input channels for an input of ${channels} (a grouped convolution); Kernel NN reads CONV_2D without groups`);
	const geometry = { strides: irAttr.ints(strides(ctx)), dilations: irAttr.ints(dilations(ctx)), padding: irAttr.s(padding(ctx)) };
	if (isQuantizedOp(ctx)) {
		ctx.output(0, addQuantized(ctx, "QConv2D", [0, 1, 2], geometry, { filter: 1 }));
		return;
	}
	const y = ctx.add("Conv2D", "Conv2D", [ctx.input(0), floatFilter(ctx, { perm: [1, 2, 3, 0] })], {
		...F32, strides: nhwc(strides(ctx)), dilations: nhwc(dilations(ctx)), padding: geometry.padding, data_format: NHWC,
	});
	ctx.output(0, biasAndActivation(ctx, y, 2));
};

const depthwiseConv2d: OpTranslator = (ctx) => {
	const filter = ctx.shape(1);
	const channels = ctx.shape(0)[3];
	if (filter.length !== 4 || filter[0] !== 1 || filter[3] % channels !== 0) {
		ctx.fail(`its filter has shape [${filter.join(",")}]; DEPTHWISE_CONV_2D takes [1, h, w, ${channels} * multiplier]`);
	}
	const multiplier = filter[3] / channels;
	const geometry = { strides: irAttr.ints(strides(ctx)), dilations: irAttr.ints(dilations(ctx)), padding: irAttr.s(padding(ctx)) };
	if (isQuantizedOp(ctx)) {
		ctx.output(0, addQuantized(ctx, "QDepthwiseConv2D", [0, 1, 2], { ...geometry, depth_multiplier: irAttr.i(multiplier) }, { filter: 1 }));
		return;
	}
	const y = ctx.add("DepthwiseConv2dNative", "DepthwiseConv2dNative", [ctx.input(0), floatFilter(ctx, { shape: [filter[1], filter[2], channels, multiplier] })], {
		...F32, strides: nhwc(strides(ctx)), dilations: nhwc(dilations(ctx)), padding: geometry.padding, data_format: NHWC,
	});
	ctx.output(0, biasAndActivation(ctx, y, 2));
};

/** Inputs: output_shape, weights (OHWI), input, bias (optional). */
const transposeConv: OpTranslator = (ctx) => {
	const outputShape = Array.from(numbers(ctx.requireConstant(0, "output shape")));
	const filter = ctx.shape(1);
	if (filter.length !== 4 || filter[3] !== ctx.shape(2)[3]) ctx.fail(`its weights have shape [${filter.join(",")}]; TRANSPOSE_CONV takes [out, h, w, ${ctx.shape(2)[3]}]`);
	const pad = irAttr.s(padding(ctx));
	if (isQuantizedOp(ctx)) {
		const attr = { output_shape: irAttr.ints(outputShape), strides: irAttr.ints(strides(ctx)), padding: pad };
		ctx.output(0, addQuantized(ctx, "QTransposeConv", [2, 1, 3], attr, { filter: 1 }));
		return;
	}
	const y = ctx.add("Conv2DBackpropInput", "Conv2DBackpropInput", [ctx.ints32("output_shape", outputShape), floatFilterAt(ctx), ctx.input(2)], {
		...F32, strides: nhwc(strides(ctx)), dilations: irAttr.ints([1, 1, 1, 1]), padding: pad, data_format: NHWC,
	});
	ctx.output(0, biasAndActivation(ctx, y, 3));
};

/** TRANSPOSE_CONV's OHWI weights as TensorFlow's [h, w, out, in]. */
function floatFilterAt(ctx: OpContext): string {
	return floatFilter(ctx, { perm: [1, 2, 0, 3] });
}

function pool(tfOp: "AvgPool" | "MaxPool", qOp: string): OpTranslator {
	return (ctx) => {
		const ksize = [ctx.num("filterHeight", 1), ctx.num("filterWidth", 1)];
		const pad = irAttr.s(padding(ctx));
		if (isQuantizedOp(ctx)) {
			ctx.output(0, addQuantized(ctx, qOp, [0], { ksize: irAttr.ints(ksize), strides: irAttr.ints(strides(ctx)), padding: pad }));
			return;
		}
		const y = ctx.add(tfOp, tfOp, [ctx.input(0)], { ...F32, ksize: nhwc(ksize), strides: nhwc(strides(ctx)), padding: pad, data_format: NHWC });
		ctx.output(0, floatActivation(ctx, y));
	};
}

export const NN_TRANSLATORS: ReadonlyMap<number, OpTranslator> = new Map([
	[BuiltinOperator.FULLY_CONNECTED, fullyConnected],
	[BuiltinOperator.CONV_2D, conv2d],
	[BuiltinOperator.DEPTHWISE_CONV_2D, depthwiseConv2d],
	[BuiltinOperator.TRANSPOSE_CONV, transposeConv],
	[BuiltinOperator.AVERAGE_POOL_2D, pool("AvgPool", "QAveragePool2D")],
	[BuiltinOperator.MAX_POOL_2D, pool("MaxPool", "QMaxPool2D")],
]);
