// The TFLite front end: a .tflite file recognised by content, translated into the IR with its quantization (compared
// with the parsed flatbuffer, not with numbers typed here), configured from its own inputs and outputs, inspected.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadModel, loadModelBytes } from "../../extension/core/frontends";
import { ModelLoadError } from "../../extension/core/frontends/model";
import { readTflite } from "../../extension/core/frontends/tflite/schema";
import { BuiltinOperator as Op, TensorType, type TfliteModel } from "../../extension/core/frontends/tflite/types";
import { writeTflite } from "../../extension/core/frontends/tflite/write";
import { attrFloats, attrInts } from "../../extension/core/graph/graph";
import { describeQuantization, formatInspectReport, inspectModel } from "../../extension/core/model/inspect";
import { quantAttrs } from "../../extension/core/quant/params";
import { knn, tempDir } from "../support/cli";
import { AURORA_DIR } from "../support/shared";
import { TfliteBuilder } from "../support/tfliteBuilder";

const AURORA_TFLITE = path.join(AURORA_DIR, "aurora_int_quan_model.tflite");
const auroraTfliteMissing = fs.existsSync(AURORA_TFLITE) ? false : `the Aurora int8 model is absent: expected ${AURORA_TFLITE}`;

const fround = (values: number[]) => values.map(Math.fround);

describe("TFLite front end: LiteFlow's int8 Aurora", { skip: auroraTfliteMissing }, () => {
	const raw = (): TfliteModel => readTflite(fs.readFileSync(AURORA_TFLITE), AURORA_TFLITE);

	it("is read by content as TFLite, its quantized operators becoming Q ops in file order", () => {
		const model = loadModel(AURORA_TFLITE);
		assert.equal(model.format, "TFLite");
		const ops = model.graph.nodes.filter((n) => n.op.startsWith("Q")).map((n) => n.op);
		assert.deepEqual(ops, ["QQuantize", "QFullyConnected", "QTanh", "QFullyConnected", "QTanh", "QFullyConnected", "QDequantize"]);
		assert.deepEqual(model.sourceOps?.map((o) => o.op).sort(), ["DEQUANTIZE", "FULLY_CONNECTED", "QUANTIZE", "TANH"]);
	});

	it("carries every operator's input, filter and output quantization exactly as the file stores it", () => {
		const model = loadModel(AURORA_TFLITE);
		const file = raw();
		const { tensors, operators } = file.subgraphs[0];
		for (const op of operators) {
			const out = tensors[op.outputs[0]];
			const node = model.graph.node(out.name);
			const q = quantAttrs(node);
			const present = op.inputs.filter((i) => i >= 0);
			const code = file.operatorCodes[op.opcodeIndex].builtinCode;
			if (code !== Op.DEQUANTIZE) {
				assert.equal(q.outScale, Math.fround(out.quantization!.scale[0]), `${out.name} out_scale`);
				assert.equal(q.outZeroPoint, out.quantization!.zeroPoint[0], `${out.name} out_zero_point`);
				assert.equal(q.outType, "int8");
			} else {
				assert.equal(q.outType, "float32");
			}
			const inputScale = (i: number) => (tensors[i].type === TensorType.FLOAT32 ? 0 : tensors[i].quantization!.scale[0]);
			assert.deepEqual(q.inScale, fround(present.map(inputScale)), `${out.name} in_scale`);
			assert.deepEqual(q.inZeroPoint, present.map((i) => (tensors[i].type === TensorType.FLOAT32 ? 0 : tensors[i].quantization!.zeroPoint[0])));
			if (code === Op.FULLY_CONNECTED) {
				const filter = tensors[op.inputs[1]];
				assert.deepEqual(q.filterScale, fround(filter.quantization!.scale), `${out.name} filter_scale`);
				assert.deepEqual(node.inputs.map((r) => r.node), present.map((i) => tensors[i].name));
				// The weights keep their int8 values and the bias its int32 ones.
				const weights = model.graph.node(filter.name);
				assert.deepEqual(attrFloats(weights, "_quant_scale"), fround(filter.quantization!.scale));
				assert.deepEqual(attrInts(weights, "_quant_zero_point"), filter.quantization!.zeroPoint);
			}
		}
	});

	it("knn config with no feeds or fetches configures the file's own float input [1,30] and output [1,1]", () => {
		const file = raw().subgraphs[0];
		const [input, output] = [file.tensors[file.inputs[0]], file.tensors[file.outputs[0]]];
		const out = path.join(tempDir("tflite-config"), "aurora.config.pbtxt");
		const result = knn("config", AURORA_TFLITE, "--out", out);
		assert.equal(result.status, 0, result.stderr);
		const text = fs.readFileSync(out, "utf8");
		assert.match(text, new RegExp(`feed \\{\\s*id \\{\\s*node_name: "${input.name}"\\s*\\}\\s*shape \\{\\s*dim \\{\\s*size: 1\\s*\\}\\s*dim \\{\\s*size: 30\\s*\\}\\s*\\}\\s*type: DT_FLOAT`));
		assert.match(text, new RegExp(`fetch \\{\\s*id \\{\\s*node_name: "${output.name}"`));
		assert.match(text, /DT_FLOAT \[1,1\]/);
		assert.deepEqual(output.shape, [1, 1]);
	});

	it("knn inspect lists the TFLite operators and each quantized tensor's scale and zero point", () => {
		const result = knn("inspect", AURORA_TFLITE);
		assert.equal(result.status, 0, result.stderr);
		assert.match(result.stdout, /format\s+TFLite/);
		assert.match(result.stdout, /TFLite ops\s+4 distinct/);
		assert.match(result.stdout, /3 {2}FULLY_CONNECTED/);
		const file = raw().subgraphs[0];
		const fc0 = file.tensors[file.operators[1].outputs[0]];
		const scale = String(Number(fc0.quantization!.scale[0].toPrecision(3)));
		assert.ok(result.stdout.includes(`${fc0.name}  scale ${scale} zero point ${fc0.quantization!.zeroPoint[0]} (int8)`), result.stdout);
	});
});

describe("TFLite front end: quantized and float operators", () => {
	it("a per-channel int8 CONV_2D keeps TFLite's filter layout and every channel's scale, shown as a range", () => {
		const b = new TfliteBuilder();
		const scales = [0.01, 0.02, 0.005];
		const x = b.input("x", TensorType.INT8, [1, 4, 4, 2], { scale: 0.05, zeroPoint: -3 });
		const f = b.constant("filter", TensorType.INT8, [3, 2, 2, 2], Array.from({ length: 24 }, (_, i) => (i * 7) % 50 - 25), { scale: scales, zeroPoint: 0, axis: 0 });
		const bias = b.constant("bias", TensorType.INT32, [3], [10, -20, 30], { scale: scales.map((s) => s * 0.05), axis: 0 });
		const y = b.tensor("y", TensorType.INT8, [1, 3, 3, 3], { scale: 0.1, zeroPoint: 5 });
		b.op(Op.CONV_2D, [x, f, bias], [y], { options: { padding: 1, strideW: 1, strideH: 1, fusedActivationFunction: 1 }, version: 3 }).output(y);
		const model = loadModelBytes(b.build(), "conv_int8.tflite");
		const node = model.graph.node("y");
		assert.equal(node.op, "QConv2D");
		const q = quantAttrs(node);
		assert.deepEqual(q.filterScale, fround(scales));
		assert.deepEqual(q.inScale.slice(0, 1), fround([0.05]));
		assert.deepEqual(q.inZeroPoint[0], -3);
		assert.equal(q.activation, "RELU");
		assert.deepEqual(attrInts(node, "strides"), [1, 1]);
		assert.equal(model.graph.node("filter").op, "Const");
		assert.equal(describeQuantization(model.graph.node("filter")), "per-channel axis 0, 3 scales 0.005..0.02 (int8)");
		assert.equal(describeQuantization(node), "scale 0.1 zero point 5 (int8)");
		assert.ok(formatInspectReport(inspectModel(model)).includes("quantized     4 tensors"));
	});

	it("int8 RESHAPE stays TensorFlow's Reshape, carrying its tensor's quantization for the inspector", () => {
		const b = new TfliteBuilder();
		const x = b.input("x", TensorType.INT8, [2, 3], { scale: 0.5, zeroPoint: 1 });
		const y = b.tensor("y", TensorType.INT8, [6], { scale: 0.5, zeroPoint: 1 });
		b.op(Op.RESHAPE, [x], [y], { options: { newShape: [6] } }).output(y);
		const model = loadModelBytes(b.build(), "reshape_int8.tflite");
		assert.equal(model.graph.node("y").op, "Reshape");
		assert.equal(describeQuantization(model.graph.node("y")), "scale 0.5 zero point 1 (int8)");
		assert.equal(describeQuantization(model.graph.node("x")), "scale 0.5 zero point 1 (int8)");
	});

	it("float CONV_2D filters are rearranged from OHWI to HWIO at load time, as a constant", () => {
		const b = new TfliteBuilder();
		const x = b.input("x", TensorType.FLOAT32, [1, 3, 3, 2]);
		const f = b.constant("filter", TensorType.FLOAT32, [4, 1, 1, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
		const y = b.tensor("y", TensorType.FLOAT32, [1, 3, 3, 4]);
		b.op(Op.CONV_2D, [x, f, -1], [y], { options: { padding: 1, strideW: 1, strideH: 1 } }).output(y);
		const model = loadModelBytes(b.build(), "conv.tflite");
		assert.equal(model.graph.nodes.filter((n) => n.op === "Transpose").length, 0);
		assert.equal(model.graph.node("y").op, "Conv2D");
	});

	it("an option Kernel NN cannot honour is refused naming the file, the operator index and its op", () => {
		const b = new TfliteBuilder();
		const x = b.input("x", TensorType.FLOAT32, [1, 4]);
		const w = b.constant("w", TensorType.FLOAT32, [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
		const y = b.tensor("y", TensorType.FLOAT32, [1, 2]);
		b.op(Op.FULLY_CONNECTED, [x, w, -1], [y], { options: { fusedActivationFunction: 5 } }).output(y);
		assert.throws(() => loadModelBytes(b.build(), "sign.tflite"), (error: Error) =>
			error instanceof ModelLoadError && /sign\.tflite: operator 0 \(FULLY_CONNECTED, output "y"\): its fused activation SIGN_BIT/.test(error.message));
	});

	it("a model whose operators call other subgraphs is refused, saying what to do", () => {
		const b = new TfliteBuilder();
		const x = b.input("x", TensorType.FLOAT32, [1]);
		const y = b.tensor("y", TensorType.FLOAT32, [1]);
		b.op(Op.CALL, [x], [y]).output(y);
		const model = b.toModel();
		model.subgraphs.push({ tensors: [], inputs: [], outputs: [], operators: [] });
		assert.throws(() => loadModelBytes(writeTflite(model), "call.tflite"), /operator 0 \(CALL\) runs another subgraph/);
	});
});
