// Float TFLite models of every op the front end reads, written with the flatbuffers builder, run by the TFLite runtime
// and by Kernel NN (interpreter and compiled C): the outputs must agree.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { loadTfliteBytes } from "../../extension/core/frontends/tflite/load";
import { type Tensor, makeTensor } from "../../extension/core/graph/tensor";
import { BuiltinOperator as Op, TensorType } from "../../extension/core/frontends/tflite/types";
import { mulberry32 } from "../support/random";
import { TfliteBuilder } from "../support/tfliteBuilder";
import { checkTfliteFloat } from "../support/tfliteSuite";
import { tfliteRuntimeMissing } from "../support/tfliteOracle";

const F = TensorType.FLOAT32;
const skip = tfliteRuntimeMissing();

function values(random: () => number, count: number, scale = 1): number[] {
	return Array.from({ length: count }, () => Math.fround((random() * 2 - 1) * scale));
}

function tensor(random: () => number, shape: number[], scale = 1): Tensor {
	return makeTensor("float32", shape, values(random, shape.reduce((a, b) => a * b, 1), scale));
}

describe("TFLite float models run by Kernel NN agree with the TFLite runtime", { skip }, () => {
	it("fully connected with fused RELU, a rank-3 input with keep_num_dims, and without bias", async () => {
		const random = mulberry32(1);
		const b = new TfliteBuilder();
		const x = b.input("x", F, [2, 8]);
		const x3 = b.input("x3", F, [2, 3, 8]);
		const w = b.constant("w", F, [5, 8], values(random, 40));
		const bias = b.constant("bias", F, [5], values(random, 5));
		const y = b.tensor("fc_relu", F, [2, 5]);
		const y3 = b.tensor("fc_keep", F, [2, 3, 5]);
		const y2 = b.tensor("fc_flat", F, [6, 5]);
		b.op(Op.FULLY_CONNECTED, [x, w, bias], [y], { options: { fusedActivationFunction: 1 } });
		b.op(Op.FULLY_CONNECTED, [x3, w, bias], [y3], { options: { keepNumDims: true } });
		b.op(Op.FULLY_CONNECTED, [x3, w, -1], [y2], { options: {} });
		b.output(y, y3, y2);
		await checkTfliteFloat("fc", b.build(), [tensor(random, [2, 8]), tensor(random, [2, 3, 8])]);
	});

	it("CONV_2D (SAME, stride 2, RELU6), DEPTHWISE_CONV_2D (multiplier 2, dilation 2) and TRANSPOSE_CONV", async () => {
		const random = mulberry32(2);
		const b = new TfliteBuilder();
		const x = b.input("image", F, [1, 7, 7, 3]);
		const filter = b.constant("filter", F, [4, 3, 3, 3], values(random, 108));
		const bias = b.constant("bias", F, [4], values(random, 4));
		const conv = b.tensor("conv", F, [1, 4, 4, 4]);
		b.op(Op.CONV_2D, [x, filter, bias], [conv], { options: { padding: 0, strideW: 2, strideH: 2, fusedActivationFunction: 3 } });
		const dw = b.constant("dw_filter", F, [1, 3, 3, 6], values(random, 54));
		const dwBias = b.constant("dw_bias", F, [6], values(random, 6));
		const depthwise = b.tensor("depthwise", F, [1, 3, 3, 6]);
		b.op(Op.DEPTHWISE_CONV_2D, [x, dw, dwBias], [depthwise], { options: { padding: 1, strideW: 1, strideH: 1, depthMultiplier: 2, dilationWFactor: 2, dilationHFactor: 2 } });
		const outShape = b.constant("out_shape", TensorType.INT32, [4], [1, 8, 8, 2]);
		const tw = b.constant("tconv_filter", F, [2, 3, 3, 4], values(random, 72));
		const tconv = b.tensor("tconv", F, [1, 8, 8, 2]);
		b.op(Op.TRANSPOSE_CONV, [outShape, tw, conv, -1], [tconv], { options: { padding: 0, strideW: 2, strideH: 2 } });
		b.output(conv, depthwise, tconv);
		await checkTfliteFloat("conv", b.build(), [tensor(random, [1, 7, 7, 3])]);
	});

	it("AVERAGE_POOL_2D and MAX_POOL_2D with SAME and VALID padding", async () => {
		const random = mulberry32(3);
		const b = new TfliteBuilder();
		const x = b.input("x", F, [1, 5, 5, 2]);
		const avg = b.tensor("avg", F, [1, 3, 3, 2]);
		const max = b.tensor("max", F, [1, 3, 3, 2]);
		b.op(Op.AVERAGE_POOL_2D, [x], [avg], { options: { padding: 0, strideW: 2, strideH: 2, filterWidth: 2, filterHeight: 2 } });
		b.op(Op.MAX_POOL_2D, [x], [max], { options: { padding: 1, strideW: 1, strideH: 1, filterWidth: 3, filterHeight: 3, fusedActivationFunction: 1 } });
		b.output(avg, max);
		await checkTfliteFloat("pools", b.build(), [tensor(random, [1, 5, 5, 2])]);
	});

	it("ADD, SUB and MUL broadcasting as numpy, and the activations", async () => {
		const random = mulberry32(4);
		const b = new TfliteBuilder();
		const x = b.input("x", F, [2, 3, 4]);
		const y = b.input("y", F, [3, 1]);
		const c = b.constant("c", F, [4], values(random, 4));
		const out = (name: string) => b.tensor(name, F, [2, 3, 4]);
		const [add, sub, mul, sigmoid, tanh, relu6, leaky, swish, soft] = ["add", "sub", "mul", "sigmoid", "tanh", "relu6", "leaky", "hard_swish", "softmax"].map(out);
		b.op(Op.ADD, [x, c], [add], { options: { fusedActivationFunction: 1 } });
		b.op(Op.SUB, [x, y], [sub], { options: {} });
		b.op(Op.MUL, [y, x], [mul], { options: { fusedActivationFunction: 3 } });
		b.op(Op.LOGISTIC, [x], [sigmoid]);
		b.op(Op.TANH, [x], [tanh]);
		b.op(Op.RELU6, [mul], [relu6]);
		b.op(Op.LEAKY_RELU, [x], [leaky], { options: { alpha: 0.1 } });
		b.op(Op.HARD_SWISH, [add], [swish]);
		b.op(Op.SOFTMAX, [x], [soft], { options: { beta: 0.5 } });
		b.output(add, sub, mul, sigmoid, tanh, relu6, leaky, swish, soft);
		await checkTfliteFloat("elementwise", b.build(), [tensor(random, [2, 3, 4], 5), tensor(random, [3, 1], 3)]);
	});

	it("RESHAPE, SQUEEZE, CONCATENATION, PAD, PADV2, STRIDED_SLICE and MEAN", async () => {
		const random = mulberry32(5);
		const b = new TfliteBuilder();
		const x = b.input("x", F, [2, 1, 3, 4]);
		const reshaped = b.tensor("reshaped", F, [6, 4]);
		b.op(Op.RESHAPE, [x], [reshaped], { options: { newShape: [6, 4] } });
		const squeezed = b.tensor("squeezed", F, [2, 3, 4]);
		b.op(Op.SQUEEZE, [x], [squeezed], { options: { squeezeDims: [1] } });
		const concat = b.tensor("concat", F, [2, 3, 8]);
		b.op(Op.CONCATENATION, [squeezed, squeezed], [concat], { options: { axis: -1 } });
		const paddings = b.constant("paddings", TensorType.INT32, [3, 2], [0, 1, 2, 0, 1, 1]);
		const padded = b.tensor("padded", F, [3, 5, 6]);
		b.op(Op.PAD, [squeezed, paddings], [padded]);
		const fill = b.constant("fill", F, [], [0.5]);
		const padded2 = b.tensor("padded_v2", F, [3, 5, 6]);
		b.op(Op.PADV2, [squeezed, paddings, fill], [padded2]);
		const begin = b.constant("begin", TensorType.INT32, [3], [1, 0, 3]);
		const end = b.constant("end", TensorType.INT32, [3], [2, 3, 0]);
		const strides = b.constant("strides", TensorType.INT32, [3], [1, 2, -1]);
		const sliced = b.tensor("sliced", F, [2, 4]);
		b.op(Op.STRIDED_SLICE, [squeezed, begin, end, strides], [sliced], { options: { beginMask: 0, endMask: 4, shrinkAxisMask: 1 } });
		const axes = b.constant("axes", TensorType.INT32, [1], [1]);
		const mean = b.tensor("mean", F, [2, 1, 4]);
		b.op(Op.MEAN, [squeezed, axes], [mean], { options: { keepDims: true } });
		b.output(reshaped, concat, padded, padded2, sliced, mean);
		await checkTfliteFloat("layout", b.build(), [tensor(random, [2, 1, 3, 4])]);
	});

	it("UNIDIRECTIONAL_SEQUENCE_LSTM over 4 steps, batch-major, with zero initial state", async () => {
		const random = mulberry32(6);
		const [batch, steps, inputs, cells] = [2, 4, 3, 5];
		const b = new TfliteBuilder();
		const x = b.input("sequence", F, [batch, steps, inputs]);
		const w = [0, 1, 2, 3].map((g) => b.constant(`w${"ifco"[g]}`, F, [cells, inputs], values(random, cells * inputs)));
		const r = [0, 1, 2, 3].map((g) => b.constant(`r${"ifco"[g]}`, F, [cells, cells], values(random, cells * cells)));
		const bias = [0, 1, 2, 3].map((g) => b.constant(`b${"ifco"[g]}`, F, [cells], values(random, cells)));
		const h = b.tensor("h_state", F, [batch, cells]);
		const c = b.tensor("c_state", F, [batch, cells]);
		b.toModel().subgraphs[0].tensors[h].isVariable = true;
		b.toModel().subgraphs[0].tensors[c].isVariable = true;
		const y = b.tensor("lstm", F, [batch, steps, cells]);
		b.op(Op.UNIDIRECTIONAL_SEQUENCE_LSTM, [x, ...w, ...r, -1, -1, -1, ...bias, -1, -1, h, c, -1, -1, -1, -1], [y], {
			options: { fusedActivationFunction: 4, cellClip: 0, projClip: 0, timeMajor: false },
		});
		b.output(y);
		await checkTfliteFloat("lstm", b.build(), [tensor(random, [batch, steps, inputs])]);
	});

	it("UNIDIRECTIONAL_SEQUENCE_LSTM time-major with CIFG, peepholes, projection and clips", async () => {
		const random = mulberry32(7);
		const [batch, steps, inputs, cells, outputs] = [1, 3, 4, 6, 3];
		const b = new TfliteBuilder();
		const x = b.input("sequence", F, [steps, batch, inputs]);
		const w = [1, 2, 3].map((g) => b.constant(`w${"ifco"[g]}`, F, [cells, inputs], values(random, cells * inputs)));
		const r = [1, 2, 3].map((g) => b.constant(`r${"ifco"[g]}`, F, [cells, outputs], values(random, cells * outputs)));
		const peep = [1, 2].map((g) => b.constant(`p${"ifo"[g]}`, F, [cells], values(random, cells)));
		const bias = [1, 2, 3].map((g) => b.constant(`b${"ifco"[g]}`, F, [cells], values(random, cells)));
		const projection = b.constant("projection", F, [outputs, cells], values(random, outputs * cells));
		const projectionBias = b.constant("projection_bias", F, [outputs], values(random, outputs));
		const h = b.tensor("h_state", F, [batch, outputs]);
		const c = b.tensor("c_state", F, [batch, cells]);
		b.toModel().subgraphs[0].tensors[h].isVariable = true;
		b.toModel().subgraphs[0].tensors[c].isVariable = true;
		const y = b.tensor("lstm", F, [steps, batch, outputs]);
		b.op(Op.UNIDIRECTIONAL_SEQUENCE_LSTM, [x, -1, ...w, -1, ...r, -1, ...peep, -1, ...bias, projection, projectionBias, h, c, -1, -1, -1, -1], [y], {
			options: { fusedActivationFunction: 4, cellClip: 0.8, projClip: 0.5, timeMajor: true },
		});
		b.output(y);
		await checkTfliteFloat("lstm_cifg", b.build(), [tensor(random, [steps, batch, inputs], 2)]);
	});

	it("an operator Kernel NN does not translate is kept, and configuring it is refused naming the node and op", () => {
		const b = new TfliteBuilder();
		const x = b.input("x", F, [4]);
		const y = b.tensor("floored", F, [4]);
		b.op(Op.L2_POOL_2D, [x], [y]).output(y);
		const model = loadTfliteBytes(b.build(), "floor.tflite");
		assert.equal(model.graph.node("floored").op, "TFLite.L2_POOL_2D");
		assert.deepEqual(model.sourceOps, [{ op: "L2_POOL_2D", count: 1 }]);
		assert.throws(() => buildConfig(model.graph, [{ ref: { node: "x", index: 0 }, shape: [4] }], [{ ref: { node: "floored", index: 0 } }]), /"floored": op TFLite\.L2_POOL_2D is not supported/);
	});
});
