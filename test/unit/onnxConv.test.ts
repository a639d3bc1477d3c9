import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadOnnxBytes } from "../../extension/core/frontends/onnx/load";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { parseInputName } from "../../extension/core/graph/graph";
import { makeTensor, numbers } from "../../extension/core/graph/tensor";
import { tempDir } from "../support/cli";
import { buildHost, runHost } from "../support/hostBuild";
import { buildOnnxModel } from "../support/onnxBuilder";
import { runOrt } from "../support/ortOracle";
import { assertCloseToOrt as assertClose, checkOnnxSuite as checkSuite, knnConfigAndRun, onnxNode as node, uniform } from "../support/onnxSuite";
import { mulberry32 } from "../support/random";

// ONNX convolution, pooling and normalization models with random inputs and weights, run by onnxruntime (the
// oracle), Kernel NN's interpreter and the generated C built for the host. Each model holds several variants of one
// op on the same inputs, so one gcc build covers them all.

describe("ONNX Conv matches onnxruntime in the interpreter and the generated C", () => {
	it("2-D Conv with bias, asymmetric pads, strides, dilations and every auto_pad", async () => {
		const random = mulberry32(11);
		await checkSuite({
			name: "conv2d",
			inputs: { X: uniform(random, [2, 3, 9, 8]) },
			initializers: { W: uniform(random, [4, 3, 3, 3]), W5: uniform(random, [2, 3, 2, 5]), B: uniform(random, [4]) },
			nodes: [
				node("Conv", ["X", "W", "B"], "plain"),
				node("Conv", ["X", "W", "B"], "pads", { pads: [1, 0, 2, 1] }),
				node("Conv", ["X", "W"], "strided", { strides: [2, 3], pads: [1, 1, 1, 1] }),
				node("Conv", ["X", "W", "B"], "dilated", { dilations: [2, 1], pads: [2, 1, 0, 1] }),
				node("Conv", ["X", "W5"], "same_upper", { auto_pad: "SAME_UPPER", strides: [2, 2] }),
				node("Conv", ["X", "W5"], "same_lower", { auto_pad: "SAME_LOWER", kernel_shape: [2, 5] }),
				node("Conv", ["X", "W"], "valid", { auto_pad: "VALID", strides: [1, 2] }),
			],
		});
	});

	it("grouped and depthwise Conv (group 2 of 4 channels, group = channels with multiplier 2)", async () => {
		const random = mulberry32(12);
		await checkSuite({
			name: "conv_groups",
			inputs: { X: uniform(random, [1, 4, 7, 6]) },
			initializers: { W2: uniform(random, [6, 2, 3, 3]), Wd: uniform(random, [8, 1, 3, 2]), B: uniform(random, [8]) },
			nodes: [
				node("Conv", ["X", "W2"], "group2", { group: 2, pads: [1, 1, 1, 1] }),
				node("Conv", ["X", "Wd", "B"], "depthwise", { group: 4, strides: [2, 1] }),
			],
		});
	});

	it("1-D Conv with pads, stride and dilation, and a Conv whose weights are graph inputs (as ONNX's node tests give them)", async () => {
		const random = mulberry32(13);
		await checkSuite({
			name: "conv1d",
			inputs: { X: uniform(random, [2, 3, 11]), Wfed: uniform(random, [5, 3, 3]) },
			initializers: { W: uniform(random, [4, 3, 4]), B: uniform(random, [4]) },
			nodes: [
				node("Conv", ["X", "W", "B"], "padded", { pads: [2, 1], strides: [2] }),
				node("Conv", ["X", "W"], "dilated", { dilations: [3] }),
				node("Conv", ["X", "Wfed"], "fed_weights", { auto_pad: "SAME_UPPER" }),
			],
		});
	});
});

describe("ONNX 3-D convolution and pooling match onnxruntime in the interpreter and the generated C", () => {
	it("Conv (groups, pads, strides, dilations), ConvTranspose, MaxPool and AveragePool over (N, C, D, H, W)", async () => {
		const random = mulberry32(14);
		await checkSuite({
			name: "volume",
			inputs: { X: uniform(random, [1, 4, 5, 6, 7]) },
			initializers: { W: uniform(random, [3, 4, 2, 3, 2]), Wg: uniform(random, [4, 2, 3, 2, 2]), B: uniform(random, [3]), Wt: uniform(random, [4, 2, 2, 2, 3]) },
			nodes: [
				node("Conv", ["X", "W", "B"], "conv", { pads: [1, 0, 1, 0, 2, 1], strides: [2, 1, 2] }),
				node("Conv", ["X", "Wg"], "conv_groups", { group: 2, dilations: [1, 2, 2], pads: [0, 1, 1, 1, 1, 0] }),
				node("ConvTranspose", ["X", "Wt"], "conv_transpose", { strides: [2, 1, 2], pads: [1, 0, 0, 0, 1, 1], output_padding: [1, 0, 0] }),
				node("MaxPool", ["X"], "max_pool", { kernel_shape: [2, 3, 2], strides: [2, 2, 2], pads: [1, 1, 0, 0, 1, 1], ceil_mode: 1 }),
				node("AveragePool", ["X"], "avg_pool", { kernel_shape: [3, 2, 3], strides: [1, 2, 2], pads: [1, 0, 1, 1, 1, 0] }),
				node("AveragePool", ["X"], "avg_pool_count_pad", { kernel_shape: [3, 2, 3], strides: [2, 2, 2], pads: [1, 0, 1, 1, 1, 0], count_include_pad: 1 }),
			],
		});
	});
});

describe("ONNX ConvTranspose matches onnxruntime in the interpreter and the generated C", () => {
	it("strides, pads, output_padding, dilations, groups, output_shape, SAME_UPPER and 1-D", async () => {
		const random = mulberry32(21);
		await checkSuite({
			name: "conv_transpose",
			inputs: { X: uniform(random, [1, 4, 5, 4]), X1: uniform(random, [2, 2, 6]) },
			initializers: { W: uniform(random, [4, 3, 3, 3]), Wg: uniform(random, [4, 2, 2, 3]), W1: uniform(random, [2, 3, 4]), B: uniform(random, [3]) },
			nodes: [
				node("ConvTranspose", ["X", "W", "B"], "plain"),
				node("ConvTranspose", ["X", "W"], "strided", { strides: [2, 3], pads: [1, 0, 1, 2], output_padding: [1, 2] }),
				node("ConvTranspose", ["X", "W", "B"], "dilated", { dilations: [2, 2], strides: [2, 1] }),
				node("ConvTranspose", ["X", "Wg"], "groups", { group: 2, strides: [2, 2], pads: [1, 1, 0, 1] }),
				node("ConvTranspose", ["X", "W"], "output_shape", { strides: [2, 2], output_shape: [10, 9] }),
				node("ConvTranspose", ["X", "W"], "same_upper", { strides: [2, 2], auto_pad: "SAME_UPPER" }),
				node("ConvTranspose", ["X1", "W1"], "one_d", { strides: [2], pads: [1, 2] }),
			],
		});
	});
});

describe("ONNX pooling matches onnxruntime in the interpreter and the generated C", () => {
	it("MaxPool with pads, strides, ceil_mode, dilations, SAME_LOWER and 1-D", async () => {
		const random = mulberry32(31);
		await checkSuite({
			name: "maxpool",
			inputs: { X: uniform(random, [2, 3, 9, 10]), X1: uniform(random, [1, 2, 12]) },
			nodes: [
				node("MaxPool", ["X"], "plain", { kernel_shape: [3, 3] }),
				node("MaxPool", ["X"], "padded", { kernel_shape: [3, 2], pads: [1, 0, 2, 1], strides: [2, 2] }),
				node("MaxPool", ["X"], "ceil", { kernel_shape: [2, 3], strides: [2, 3], ceil_mode: 1 }),
				node("MaxPool", ["X"], "dilated", { kernel_shape: [2, 2], dilations: [2, 3], pads: [1, 1, 1, 1] }),
				node("MaxPool", ["X"], "same_lower", { kernel_shape: [4, 3], strides: [2, 2], auto_pad: "SAME_LOWER" }),
				node("MaxPool", ["X1"], "one_d", { kernel_shape: [3], strides: [2], pads: [1, 1], ceil_mode: 1 }),
			],
		});
	});

	it("AveragePool with and without count_include_pad, ceil_mode, SAME_UPPER, and the global pools", async () => {
		const random = mulberry32(32);
		await checkSuite({
			name: "avgpool",
			inputs: { X: uniform(random, [2, 3, 9, 10]), X1: uniform(random, [1, 2, 12]) },
			nodes: [
				node("AveragePool", ["X"], "plain", { kernel_shape: [3, 3] }),
				node("AveragePool", ["X"], "padded", { kernel_shape: [3, 3], pads: [1, 2, 1, 0], strides: [2, 2] }),
				node("AveragePool", ["X"], "count_pad", { kernel_shape: [3, 3], pads: [1, 2, 1, 0], strides: [2, 2], count_include_pad: 1 }),
				node("AveragePool", ["X"], "ceil", { kernel_shape: [2, 3], strides: [2, 3], ceil_mode: 1 }),
				node("AveragePool", ["X"], "ceil_count_pad", { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 }),
				node("AveragePool", ["X"], "same_upper", { kernel_shape: [2, 3], strides: [2, 2], auto_pad: "SAME_UPPER" }),
				node("AveragePool", ["X1"], "one_d", { kernel_shape: [4], strides: [3], pads: [2, 1] }),
				node("GlobalAveragePool", ["X"], "global_average"),
				node("GlobalMaxPool", ["X"], "global_max"),
				node("GlobalAveragePool", ["X1"], "global_average_1d"),
			],
		});
	});
});

describe("ONNX normalizations match onnxruntime in the interpreter and the generated C", () => {
	it("BatchNormalization (inference, 4-D and 3-D), InstanceNormalization, LayerNormalization on several axes", async () => {
		const random = mulberry32(41);
		await checkSuite({
			name: "norms",
			inputs: { X: uniform(random, [2, 3, 5, 4], -2, 3), X3: uniform(random, [2, 4, 6]) },
			initializers: {
				scale: uniform(random, [3]), bias: uniform(random, [3]), mean: uniform(random, [3]), var: uniform(random, [3], 0.2, 2),
				scale4: uniform(random, [4]), bias4: uniform(random, [4]), mean4: uniform(random, [4]), var4: uniform(random, [4], 0.2, 2),
				ln_scale: uniform(random, [4]), ln_bias: uniform(random, [4]), ln_scale2: uniform(random, [5, 4]),
			},
			nodes: [
				node("BatchNormalization", ["X", "scale", "bias", "mean", "var"], "batch_norm", { epsilon: 1e-3 }),
				node("BatchNormalization", ["X3", "scale4", "bias4", "mean4", "var4"], "batch_norm_3d"),
				node("InstanceNormalization", ["X", "scale", "bias"], "instance_norm", { epsilon: 1e-4 }),
				node("InstanceNormalization", ["X3", "scale4", "bias4"], "instance_norm_3d"),
				node("LayerNormalization", ["X", "ln_scale", "ln_bias"], "layer_norm_last"),
				{ op: "LayerNormalization", inputs: ["X", "ln_scale2"], outputs: ["layer_norm_2", "ln_mean", "ln_inv_std"], attrs: { axis: -2, epsilon: 1e-3 }, name: "layer_norm_2" },
			],
		});
	});

	it("BatchNormalization in training mode (opset 15) gives the batch-normalized output and the running statistics", async () => {
		const random = mulberry32(42);
		await checkSuite({
			name: "batch_norm_training",
			opset: 15,
			inputs: { X: uniform(random, [3, 2, 4, 3]) },
			initializers: { scale: uniform(random, [2]), bias: uniform(random, [2]), mean: uniform(random, [2]), var: uniform(random, [2], 0.5, 1.5) },
			nodes: [{ op: "BatchNormalization", inputs: ["X", "scale", "bias", "mean", "var"], outputs: ["Y", "running_mean", "running_var"], attrs: { training_mode: 1, momentum: 0.8 }, name: "bn" }],
		});
	});
});

describe("ONNX convolution front end refusals", () => {
	it("a 4-D Conv and a MaxPool asked for its Indices output are refused naming the node and what to do", () => {
		const fourD = buildOnnxModel({
			inputs: [{ name: "X", shape: [1, 1, 3, 3, 3, 3] }, { name: "W", shape: [1, 1, 2, 2, 2, 2] }], outputs: [{ name: "Y" }],
			nodes: [node("Conv", ["X", "W"], "Y")],
		});
		assert.throws(() => loadOnnxBytes(fourD, "hyper.onnx"), /hyper\.onnx.*"Y" \(Conv.*rank 6; only 1-D \(N, C, L\), 2-D .* and 3-D/);
		const indices = buildOnnxModel({
			inputs: [{ name: "X", shape: [1, 1, 4, 4] }], outputs: [{ name: "Y" }, { name: "I" }],
			nodes: [{ op: "MaxPool", inputs: ["X"], outputs: ["Y", "I"], attrs: { kernel_shape: [2, 2] }, name: "pool" }],
		});
		assert.throws(() => loadOnnxBytes(indices, "argmax.onnx"), /argmax\.onnx.*"pool" \(MaxPool.*Indices output is not supported/);
	});
});

describe("a small random-weight CNN (Conv-BN-Relu-MaxPool-Conv-GlobalAveragePool-Flatten-Gemm)", () => {
	const random = mulberry32(51);
	const input = uniform(random, [1, 3, 16, 16]);
	const bytes = buildOnnxModel({
		opset: 17,
		inputs: [{ name: "input", shape: [1, 3, 16, 16] }],
		outputs: [{ name: "logits", shape: [1, 5] }],
		initializers: Object.entries({
			"conv1.weight": uniform(random, [8, 3, 3, 3], -0.4, 0.4), "conv1.bias": uniform(random, [8], -0.1, 0.1),
			"bn.weight": uniform(random, [8], 0.5, 1.5), "bn.bias": uniform(random, [8], -0.2, 0.2),
			"bn.running_mean": uniform(random, [8], -0.2, 0.2), "bn.running_var": uniform(random, [8], 0.5, 1.5),
			"conv2.weight": uniform(random, [12, 8, 3, 3], -0.3, 0.3), "conv2.bias": uniform(random, [12], -0.1, 0.1),
			"fc.weight": uniform(random, [5, 12], -0.5, 0.5), "fc.bias": uniform(random, [5], -0.1, 0.1),
		}).map(([name, value]) => ({ name, value })),
		nodes: [
			{ op: "Conv", inputs: ["input", "conv1.weight", "conv1.bias"], outputs: ["/conv1/Conv_output_0"], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, name: "/conv1/Conv" },
			{ op: "BatchNormalization", inputs: ["/conv1/Conv_output_0", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"], outputs: ["/bn/BatchNormalization_output_0"], attrs: { epsilon: 1e-5, momentum: 0.9 }, name: "/bn/BatchNormalization" },
			{ op: "Relu", inputs: ["/bn/BatchNormalization_output_0"], outputs: ["/relu/Relu_output_0"], name: "/relu/Relu" },
			{ op: "MaxPool", inputs: ["/relu/Relu_output_0"], outputs: ["/pool/MaxPool_output_0"], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, name: "/pool/MaxPool" },
			{ op: "Conv", inputs: ["/pool/MaxPool_output_0", "conv2.weight", "conv2.bias"], outputs: ["/conv2/Conv_output_0"], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, name: "/conv2/Conv" },
			{ op: "GlobalAveragePool", inputs: ["/conv2/Conv_output_0"], outputs: ["/gap/GlobalAveragePool_output_0"], name: "/gap/GlobalAveragePool" },
			{ op: "Flatten", inputs: ["/gap/GlobalAveragePool_output_0"], outputs: ["/Flatten_output_0"], attrs: { axis: 1 }, name: "/Flatten" },
			{ op: "Gemm", inputs: ["/Flatten_output_0", "fc.weight", "fc.bias"], outputs: ["logits"], attrs: { alpha: { f: 1 }, beta: { f: 1 }, transB: 1 }, name: "/fc/Gemm" },
		],
	});

	it("knn config and knn run give onnxruntime's logits within 1e-5 relative", async () => {
		const expected = (await runOrt(bytes, { input }))["logits"];
		const modelPath = path.join(tempDir("onnx-cnn"), "cnn.onnx");
		fs.writeFileSync(modelPath, bytes);
		const nested = Array.from({ length: 3 }, (_, c) => Array.from({ length: 16 }, (_, y) => Array.from(numbers(input).slice((c * 16 + y) * 16, (c * 16 + y + 1) * 16))));
		const [{ logits }] = knnConfigAndRun(modelPath, { feeds: { input: [nested] } });
		assertClose("knn run logits", makeTensor("float32", [1, 5], logits), expected);
	});

	it("the generated C gives onnxruntime's logits within 1e-5 relative", async () => {
		const expected = (await runOrt(bytes, { input }))["logits"];
		const model = loadOnnxBytes(bytes, "cnn.onnx");
		const inputs = model.graphInputs ?? [];
		const fetches = (model.graphOutputs ?? []).map((o) => parseInputName(o.tensor).ref);
		const { config } = buildConfig(model.graph, inputs.map((i) => ({ ref: parseInputName(i.tensor).ref, shape: [1, 3, 16, 16] })), fetches.map((ref) => ({ ref })));
		const compiled = compileModel(model.graph, config, "cnn", "cnn.onnx");
		const binary = buildHost(compiled, tempDir("onnx-cnn-c"));
		const [results] = runHost(binary, compiled, [input], 1);
		assertClose("C logits", results[0], expected);
	});
});
