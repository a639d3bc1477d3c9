import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadOnnxBytes } from "../../extension/core/frontends/onnx/load";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { parseInputName } from "../../extension/core/graph/graph";
import { type Tensor, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { tempDir } from "../support/cli";
import { buildHost, runHost } from "../support/hostBuild";
import { type OnnxNodeSpec, buildOnnxModel, f32, i64 } from "../support/onnxBuilder";
import { runOrt } from "../support/ortOracle";
import { ONNX_TOLERANCE, assertCloseToOrt as assertClose, checkOnnxSuite as checkSuite, knnConfigAndRun, onnxNode as node, uniform } from "../support/onnxSuite";

const INT64_MAX = 2 ** 63 - 1;
import { mulberry32 } from "../support/random";

// ONNX shape and layout ops, MatMul and Gemm on random inputs, run by onnxruntime (the oracle), Kernel NN's
// interpreter and the generated C built for the host. Each model holds many variants so one gcc build covers them.

describe("ONNX shape and layout ops match onnxruntime in the interpreter and the generated C", () => {
	it("Transpose, Reshape (0 and -1), Flatten, Squeeze, Unsqueeze, Concat, Split, Slice, Gather, Expand, Tile, Pad, Shape, ConstantOfShape, Range at opset 17", async () => {
		const random = mulberry32(51);
		await checkSuite({
			name: "layout17",
			inputs: { X: uniform(random, [2, 3, 4, 5]), Y: uniform(random, [3, 1]) },
			initializers: {
				shape: i64([3], [0, -1, 5]), unsqueeze_axes: i64([2], [0, -1]), squeeze_axes: i64([1], [0]), split_sizes: i64([2], [1, 2]),
				starts: i64([2], [1, -1]), ends: i64([2], [INT64_MAX, -INT64_MAX]), axes: i64([2], [1, -1]), steps: i64([2], [1, -2]),
				clamp_starts: i64([1], [-100]), clamp_ends: i64([1], [2]), clamp_axes: i64([1], [2]),
				rev_starts: i64([1], [-1]), rev_ends: i64([1], [-INT64_MAX]), rev_axes: i64([1], [0]), rev_steps: i64([1], [-1]),
				indices: i64([2, 2], [-1, 0, 2, 1]), index: i64([], [3]), expand_shape: i64([3], [2, 1, 4]), repeats: i64([2], [2, 3]),
				crop_pads: i64([8], [0, 1, 0, 2, 0, 0, 1, -1]), pad_value: f32([], [0.5]), border_pads: i64([8], [0, 0, 1, 2, 0, 0, 2, 1]),
				range_start: f32([], [0.5]), range_limit: f32([], [3]), range_delta: f32([], [0.75]),
			},
			nodes: [
				node("Transpose", ["X"], "transpose_default"),
				node("Transpose", ["X"], "transpose_perm", { perm: [0, 2, 3, 1] }),
				node("Reshape", ["X", "shape"], "reshape"),
				node("Flatten", ["X"], "flatten_default"),
				node("Flatten", ["X"], "flatten_0", { axis: 0 }),
				node("Flatten", ["X"], "flatten_neg", { axis: -1 }),
				node("Unsqueeze", ["X", "unsqueeze_axes"], "unsqueeze"),
				node("Squeeze", ["unsqueeze", "squeeze_axes"], "squeeze"),
				node("Squeeze", ["unsqueeze"], "squeeze_all"),
				node("Concat", ["X", "X"], "concat_last", { axis: -1 }),
				node("Split", ["X", "split_sizes"], ["split_a", "split_b"], { axis: 1 }),
				node("Split", ["X"], ["half_a", "half_b"], { axis: -2 }),
				node("Concat", ["X", "split_b", "split_a"], "concat_three", { axis: 1 }),
				node("Slice", ["X", "starts", "ends", "axes", "steps"], "slice_steps"),
				node("Slice", ["X", "clamp_starts", "clamp_ends", "clamp_axes"], "slice_clamped"),
				node("Slice", ["X", "rev_starts", "rev_ends", "rev_axes", "rev_steps"], "slice_reversed"),
				node("Gather", ["X", "indices"], "gather_negative", { axis: 1 }),
				node("Gather", ["X", "index"], "gather_scalar", { axis: -1 }),
				node("Expand", ["Y", "expand_shape"], "expand"),
				node("Tile", ["Y", "repeats"], "tile"),
				node("Pad", ["X", "crop_pads", "pad_value"], "pad_constant_crop"),
				node("Pad", ["X", "border_pads"], "pad_reflect", { mode: "reflect" }),
				node("Pad", ["X", "border_pads"], "pad_edge", { mode: "edge" }),
				node("Shape", ["X"], "shape_mid", { start: 1, end: -1 }),
				node("ConstantOfShape", ["shape_mid"], "filled", { value: f32([1], [2.5]) }),
				node("Range", ["range_start", "range_limit", "range_delta"], "range"),
			],
			outputs: [
				"transpose_default", "transpose_perm", "reshape", "flatten_default", "flatten_0", "flatten_neg", "unsqueeze", "squeeze", "squeeze_all",
				"concat_last", "split_a", "split_b", "half_a", "half_b", "concat_three", "slice_steps", "slice_clamped", "slice_reversed",
				"gather_negative", "gather_scalar", "expand", "tile", "pad_constant_crop", "pad_reflect", "pad_edge", "filled", "range",
			],
		});
	});

	it("opset 9 spellings: Slice, Squeeze, Unsqueeze, Split and Pad take their arguments as attributes", async () => {
		const random = mulberry32(52);
		await checkSuite({
			name: "layout9",
			opset: 9,
			inputs: { X: uniform(random, [2, 3, 4]) },
			nodes: [
				node("Slice", ["X"], "slice", { starts: [1, -3], ends: [1000, -1], axes: [2, 1] }),
				node("Slice", ["X"], "slice_all_axes", { starts: [0, 1, 0], ends: [1, 3, 2] }),
				node("Unsqueeze", ["X"], "unsqueeze", { axes: [1, 4] }),
				node("Squeeze", ["unsqueeze"], "squeeze", { axes: [4] }),
				node("Split", ["X"], ["split_a", "split_b"], { axis: 2, split: [3, 1] }),
				node("Pad", ["X"], "pad", { pads: [1, 0, 2, 0, 1, 1], value: -1.5 }),
				node("Pad", ["X"], "pad_reflect", { pads: [0, 1, 1, 0, 2, 2], mode: "reflect" }),
			],
		});
	});

	it("opset 19: Split num_outputs with an uneven last piece, Pad over chosen axes, Pad wrap", async () => {
		const random = mulberry32(53);
		await checkSuite({
			name: "layout19",
			opset: 19,
			inputs: { X: uniform(random, [2, 5, 3]) },
			initializers: { pads: i64([4], [2, 1, 3, 0]), axes: i64([2], [-1, 1]), wrap_pads: i64([6], [0, 2, 1, 1, 3, 2]) },
			nodes: [
				node("Split", ["X"], ["third_a", "third_b", "third_c"], { axis: 1, num_outputs: 3 }),
				node("Pad", ["X", "pads", "", "axes"], "pad_axes"),
				node("Pad", ["X", "wrap_pads"], "pad_wrap", { mode: "wrap" }),
			],
		});
	});

	it("Gather with int32 and int64 indices fed at run time: negative ids wrap like onnxruntime's, in the interpreter and the bounds-checked C lookup", async () => {
		const random = mulberry32(54);
		const table = uniform(random, [6, 4]);
		await checkSuite({
			name: "gather_int32",
			inputs: { table, ids: makeTensor("int32", [2, 3], [0, 5, -1, 2, -6, 3]) },
			nodes: [node("Gather", ["table", "ids"], "rows")],
		});
		await checkSuite({
			name: "gather_int64",
			inputs: { table, ids: i64([4], [3, -2, 0, -6]) },
			nodes: [node("Gather", ["table", "ids"], "rows")],
		});
	});
});

describe("ONNX MatMul and Gemm match onnxruntime in the interpreter and the generated C", () => {
	it("MatMul: matrices, batched by a weight matrix, broadcast batches, 2-D by 3-D, and vector operands", async () => {
		const random = mulberry32(61);
		await checkSuite({
			name: "matmul",
			inputs: { A2: uniform(random, [3, 4]), A3: uniform(random, [2, 3, 4]), A4: uniform(random, [2, 1, 3, 4]), B3: uniform(random, [3, 4, 5]), v: uniform(random, [4]) },
			initializers: { W: uniform(random, [4, 5]) },
			nodes: [
				node("MatMul", ["A2", "W"], "matrix"),
				node("MatMul", ["A3", "W"], "batched_weights"),
				node("MatMul", ["A4", "B3"], "broadcast_batches"),
				node("MatMul", ["A2", "B3"], "matrix_by_batch"),
				node("MatMul", ["v", "W"], "vector_matrix"),
				node("MatMul", ["A3", "v"], "matrix_vector"),
				node("MatMul", ["v", "v"], "dot"),
			],
		});
	});

	it("Gemm: transA, transB, alpha, beta, C as a row, a column, a scalar, a full matrix, fed at run time, absent, and beta 0", async () => {
		const random = mulberry32(62);
		await checkSuite({
			name: "gemm",
			inputs: { A: uniform(random, [3, 4]), At: uniform(random, [4, 3]), C: uniform(random, [3, 5]) },
			initializers: {
				B: uniform(random, [4, 5]), Bt: uniform(random, [5, 4]), row: uniform(random, [5]), row2: uniform(random, [1, 5]),
				column: uniform(random, [3, 1]), scalar: uniform(random, []), full: uniform(random, [3, 5]),
			},
			nodes: [
				node("Gemm", ["A", "B", "row"], "row_bias"),
				node("Gemm", ["At", "Bt", "row2"], "transposed", { transA: 1, transB: 1, alpha: 0.5, beta: { f: 2 } }),
				node("Gemm", ["A", "B", "column"], "column_bias", { beta: 0.25 }),
				node("Gemm", ["A", "B", "scalar"], "scalar_bias"),
				node("Gemm", ["A", "B", "full"], "full_bias", { alpha: 1.5 }),
				node("Gemm", ["A", "B", "C"], "fed_bias", { alpha: { f: 2 }, beta: { f: -1 } }),
				node("Gemm", ["A", "B"], "no_bias"),
				node("Gemm", ["A", "B", "full"], "beta_zero", { beta: { f: 0 } }),
			],
		});
	});
});

const FEATURES = 16;
const HIDDEN = [32, 24];
const CLASSES = 6;

/** An MLP as torch.onnx.export writes nn.Linear: Gemm with transB (opset 11) or MatMul by W^T then Add (opset 17). */
function mlp(style: "gemm" | "matmul"): { bytes: Uint8Array; input: Tensor } {
	const random = mulberry32(style === "gemm" ? 71 : 72);
	const sizes = [FEATURES, ...HIDDEN, CLASSES];
	const initializers: { name: string; value: Tensor }[] = [];
	const nodes: OnnxNodeSpec[] = [];
	let x = "input";
	for (let layer = 0; layer + 1 < sizes.length; layer++) {
		const [inSize, outSize] = [sizes[layer], sizes[layer + 1]];
		const scale = 1 / Math.sqrt(inSize);
		const bias = uniform(random, [outSize], -scale, scale);
		const y = `/fc${layer}/out`;
		if (style === "gemm") {
			initializers.push({ name: `fc${layer}.weight`, value: uniform(random, [outSize, inSize], -scale, scale) }, { name: `fc${layer}.bias`, value: bias });
			nodes.push({ op: "Gemm", inputs: [x, `fc${layer}.weight`, `fc${layer}.bias`], outputs: [y], attrs: { alpha: { f: 1 }, beta: { f: 1 }, transB: 1 }, name: `/fc${layer}/Gemm` });
		} else {
			initializers.push({ name: `onnx::MatMul_${layer}`, value: uniform(random, [inSize, outSize], -scale, scale) }, { name: `fc${layer}.bias`, value: bias });
			nodes.push({ op: "MatMul", inputs: [x, `onnx::MatMul_${layer}`], outputs: [`/fc${layer}/MatMul_output_0`], name: `/fc${layer}/MatMul` });
			nodes.push({ op: "Add", inputs: [`fc${layer}.bias`, `/fc${layer}/MatMul_output_0`], outputs: [y], name: `/fc${layer}/Add` });
		}
		x = y;
		if (layer + 2 < sizes.length) {
			nodes.push({ op: "Relu", inputs: [y], outputs: [`/relu${layer}/out`], name: `/relu${layer}/Relu` });
			x = `/relu${layer}/out`;
		}
	}
	nodes.push({ op: "Softmax", inputs: [x], outputs: ["probabilities"], attrs: { axis: 1 }, name: "/softmax/Softmax" });
	const bytes = buildOnnxModel({
		opset: style === "gemm" ? 11 : 17,
		inputs: [{ name: "input", shape: [1, FEATURES] }],
		outputs: [{ name: "probabilities", shape: [1, CLASSES] }],
		initializers,
		nodes,
	});
	return { bytes, input: uniform(random, [1, FEATURES], -2, 2) };
}

describe("random-weight MLPs exported as PyTorch does match onnxruntime through knn run and the generated C", () => {
	for (const style of ["gemm", "matmul"] as const) {
		const title = style === "gemm" ? "Gemm-Relu-Gemm-Relu-Gemm-Softmax (opset 11)" : "MatMul+Add-Relu x3 then Softmax (opset 17)";
		it(`${title}: knn config, knn run and the C give onnxruntime's probabilities within ${ONNX_TOLERANCE} relative`, async () => {
			const { bytes, input } = mlp(style);
			const expected = (await runOrt(bytes, { input }))["probabilities"];
			const modelPath = path.join(tempDir(`onnx-mlp-${style}`), "mlp.onnx");
			fs.writeFileSync(modelPath, bytes);
			const [{ probabilities }] = knnConfigAndRun(modelPath, { feeds: { input: [Array.from(numbers(input))] } });
			assertClose(`${style} knn run`, makeTensor("float32", [1, CLASSES], probabilities), expected);

			const model = loadOnnxBytes(bytes, modelPath);
			const fetches = (model.graphOutputs ?? []).map((o) => parseInputName(o.tensor).ref);
			const feed = parseInputName((model.graphInputs ?? [])[0].tensor).ref;
			const built = buildConfig(model.graph, [{ ref: feed, shape: [1, FEATURES] }], fetches.map((ref) => ({ ref })));
			const compiled = compileModel(model.graph, built.config, `mlp_${style}`, "mlp.onnx");
			const [results] = runHost(buildHost(compiled, tempDir(`onnx-mlp-${style}-c`)), compiled, [input], 1);
			assertClose(`${style} C`, results[0], expected);
		});
	}
});
