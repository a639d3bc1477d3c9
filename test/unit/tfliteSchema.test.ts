// The TFLite flatbuffer reader and writer, checked against LiteFlow's Aurora int8 model and against the real TFLite
// runtime (WebAssembly) running files the writer produced; expected numbers come from float64 closed forms.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, it } from "node:test";
import { ModelLoadError } from "../../extension/core/frontends/model";
import { readTflite } from "../../extension/core/frontends/tflite/schema";
import { BuiltinOperator, TensorType, type TfliteModel } from "../../extension/core/frontends/tflite/types";
import { writeTflite } from "../../extension/core/frontends/tflite/write";
import { AURORA_ROWS_FILE as AURORA_ROWS, AURORA_TFLITE, auroraRows } from "../support/aurora";
import { mulberry32 } from "../support/random";
import { TfliteBuilder, dequantize, quantize } from "../support/tfliteBuilder";
import { runTflite, tfliteRuntimeMissing } from "../support/tfliteOracle";

const auroraTfliteMissing = fs.existsSync(AURORA_TFLITE) && fs.existsSync(AURORA_ROWS)
	? false
	: `LiteFlow's int8 Aurora is absent: expected ${AURORA_TFLITE} and ${AURORA_ROWS} (../shared beside the checkout)`;
const runtimeMissing = tfliteRuntimeMissing();


/** The model without its buffer views (compared by content) so deepEqual reports differences readably. */
function comparable(model: TfliteModel) {
	return { ...model, buffers: model.buffers.map((b) => (b ? Array.from(b) : undefined)) };
}

/** x (int8 [1,4]) times W (int8 [3,4]) + b (int32) -> int8 [1,3]; per-channel when `filterScales` has 3 entries. */
function int8FullyConnected(filterScales: number[]) {
	const input = { scale: Math.fround(0.05), zeroPoint: -3 };
	const output = { scale: Math.fround(0.03), zeroPoint: 5 };
	const weights = [0.3, -0.7, 0.12, 0.5, -0.25, 0.9, -0.4, 0.05, 0.61, -0.33, 0.2, -0.18];
	const biases = [0.1, -0.2, 0.05];
	const channelScale = (o: number) => Math.fround(filterScales[filterScales.length === 1 ? 0 : o]);
	const filter = weights.map((w, i) => quantize([w], channelScale(Math.floor(i / 4)), 0, TensorType.INT8)[0]);
	const biasScales = [0, 1, 2].map((o) => Math.fround(input.scale * channelScale(o)));
	const bias = biases.map((b, o) => quantize([b], biasScales[o], 0, TensorType.INT32)[0]);
	const b = new TfliteBuilder();
	const x = b.input("x", TensorType.INT8, [1, 4], input);
	const w = b.constant("w", TensorType.INT8, [3, 4], filter, { scale: filterScales, zeroPoint: filterScales.map(() => 0) });
	const c = b.constant("b", TensorType.INT32, [3], bias, { scale: biasScales.slice(0, filterScales.length), zeroPoint: filterScales.map(() => 0) });
	const y = b.tensor("y", TensorType.INT8, [1, 3], output);
	b.op(BuiltinOperator.FULLY_CONNECTED, [x, w, c], [y], { options: { fusedActivationFunction: 0 }, version: filterScales.length > 1 ? 5 : 4 }).output(y);
	// Float64 closed form from the stored integers: each product of dequantized values, requantized once.
	const expect = (xq: number[]) => [0, 1, 2].map((o) => {
		const real = xq.reduce((sum, q, k) => sum + (q - input.zeroPoint) * input.scale * filter[o * 4 + k] * channelScale(o), bias[o] * biasScales[o]);
		return Math.min(127, Math.max(-128, Math.round(real / output.scale) + output.zeroPoint));
	});
	return { bytes: b.build(), expect };
}

/** A float model touching every option kind the writer knows (ints, floats, bools, vectors, deprecated ids). */
function optionsZoo(): TfliteModel {
	const b = new TfliteBuilder("options zoo");
	const x = b.input("x", TensorType.FLOAT32, [1, 4, 4, 2]);
	const f = b.constant("f", TensorType.FLOAT32, [2, 3, 3, 2], Array.from({ length: 36 }, (_, i) => i / 36));
	const y = b.tensor("y", TensorType.FLOAT32, [1, 2, 2, 2]);
	const z = b.tensor("z", TensorType.FLOAT32, [8]);
	const s = b.tensor("s", TensorType.FLOAT32, [8]);
	b.op(BuiltinOperator.CONV_2D, [x, f, -1], [y], { options: { padding: 1, strideW: 2, strideH: 1, fusedActivationFunction: 3, dilationWFactor: 2 } });
	b.op(BuiltinOperator.RESHAPE, [y], [z], { options: { newShape: [8] } });
	b.op(BuiltinOperator.SOFTMAX, [z], [s], { options: { beta: 0.5 } });
	b.op(BuiltinOperator.STRIDED_SLICE, [s], [s], { options: { beginMask: 1, shrinkAxisMask: 4, offset: true } });
	b.op(BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM, [x], [y], { options: { cellClip: 10, timeMajor: true }, intermediates: [z, s] });
	b.op(BuiltinOperator.ADD, [s, s], [s], { options: { potScaleInt16: false } });
	b.op(BuiltinOperator.RESIZE_BILINEAR, [x], [y], { optionsTable: "ResizeBilinearOptions", options: { halfPixelCenters: true } });
	b.op(BuiltinOperator.GELU, [s], [s], { options: { approximate: true } });
	b.output(s);
	const model = b.toModel();
	model.signatureDefs = [{ key: "serving_default", subgraphIndex: 0, inputs: [{ name: "x", tensorIndex: x }], outputs: [{ name: "s", tensorIndex: s }] }];
	model.subgraphs[0].tensors[x].shapeSignature = [-1, 4, 4, 2];
	model.subgraphs[0].tensors[z].isVariable = true;
	// Values float32 holds exactly, so the comparison after the round trip can be exact.
	model.subgraphs[0].tensors[z].quantization = { scale: [0.5, 0.25], zeroPoint: [1, -2], quantizedDimension: 0, min: [-1, -2], max: [1, 2] };
	return model;
}

describe("TFLite reader on LiteFlow's Aurora int8 model", { skip: auroraTfliteMissing }, () => {
	it("reads QUANTIZE, FULLY_CONNECTED, TANH, FULLY_CONNECTED, TANH, FULLY_CONNECTED, DEQUANTIZE with per-tensor int8 scales", () => {
		const model = readTflite(fs.readFileSync(AURORA_TFLITE), AURORA_TFLITE);
		const [graph] = model.subgraphs;
		const ops = graph.operators.map((op) => model.operatorCodes[op.opcodeIndex].builtinCode);
		const B = BuiltinOperator;
		assert.deepEqual(ops, [B.QUANTIZE, B.FULLY_CONNECTED, B.TANH, B.FULLY_CONNECTED, B.TANH, B.FULLY_CONNECTED, B.DEQUANTIZE]);
		const [input, output] = [graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]];
		assert.deepEqual([input.name, input.type, input.shape], ["input/Ob", TensorType.FLOAT32, [1, 30]]);
		assert.deepEqual([output.name, output.type, output.shape], ["model/pi/add", TensorType.FLOAT32, [1, 1]]);
		for (const op of graph.operators.slice(1, 6)) {
			const out = graph.tensors[op.outputs[0]];
			assert.equal(out.type, TensorType.INT8, `${out.name} is int8`);
			assert.equal(out.quantization?.scale.length, 1, `${out.name} has one scale`);
		}
		const fc = graph.operators[1];
		assert.equal(graph.tensors[fc.inputs[2]].type, TensorType.INT32, "the bias is int32");
		assert.deepEqual(graph.tensors[fc.inputs[1]].shape, [32, 30]);
		assert.equal(model.buffers[graph.tensors[fc.inputs[1]].buffer]?.length, 32 * 30);
		// TFLite's int8 tanh output is fixed at scale 1/128, zero point 0.
		assert.deepEqual(graph.tensors[graph.operators[2].outputs[0]].quantization?.scale, [1 / 128]);
		assert.equal(fc.builtinOptions.fusedActivationFunction, 0);
	});

	it("reads back equal after writing", () => {
		const model = readTflite(fs.readFileSync(AURORA_TFLITE), AURORA_TFLITE);
		assert.deepEqual(comparable(readTflite(writeTflite(model), "rewritten")), comparable(model));
	});

	it("runs all 60 representative rows in the TFLite runtime, original and rewritten alike, on the output's int8 grid", { skip: runtimeMissing }, async () => {
		const bytes = fs.readFileSync(AURORA_TFLITE);
		const model = readTflite(bytes, AURORA_TFLITE);
		const rewritten = writeTflite(model);
		const [graph] = model.subgraphs;
		const q = graph.tensors[graph.operators[5].outputs[0]].quantization!;
		const [scale, zeroPoint] = [q.scale[0], q.zeroPoint[0]];
		const rows = auroraRows();
		assert.equal(rows.length, 60);
		const outputs: number[] = [];
		for (const row of rows) {
			const [original] = await runTflite(bytes, [row]);
			const [again] = await runTflite(rewritten, [row]);
			assert.deepEqual(original.shape, [1, 1]);
			assert.equal(original.dtype, "float32");
			assert.deepEqual(again.data, original.data, "the rewritten file computes the same");
			const value = original.data[0];
			assert.ok(Number.isFinite(value));
			const level = value / Math.fround(scale) + zeroPoint;
			assert.ok(Math.abs(level - Math.round(level)) < 1e-3 && level >= -128.001 && level <= 127.001, `${value} is a dequantized int8 of scale ${scale}, zero point ${zeroPoint}`);
			outputs.push(value);
		}
		console.log(`Aurora int8 in the TFLite runtime over 60 rows: outputs in [${Math.min(...outputs)}, ${Math.max(...outputs)}], ${new Set(outputs).size} distinct levels`);
	});
});

describe("TFLite writer", () => {
	it("writes every option kind, signature, shape signature, variable and quantization so the reader returns them unchanged", () => {
		const model = optionsZoo();
		const bytes = writeTflite(model);
		assert.equal(new TextDecoder().decode(bytes.subarray(4, 8)), "TFL3");
		const back = readTflite(bytes, "zoo.tflite");
		const conv = back.subgraphs[0].operators[0];
		assert.deepEqual(conv.builtinOptions, { padding: 1, strideW: 2, strideH: 1, fusedActivationFunction: 3, dilationWFactor: 2, dilationHFactor: 1, quantizedBiasType: 0 }, "absent fields read as the schema's defaults");
		// The reader fills defaults, so compare against a second round trip, which must be a fixed point.
		assert.deepEqual(comparable(readTflite(writeTflite(back), "again")), comparable(back));
		assert.deepEqual(back.signatureDefs, model.signatureDefs);
		assert.deepEqual(back.subgraphs[0].tensors, model.subgraphs[0].tensors);
	});

	it("reads an operator stored without its options table as that table's defaults", () => {
		const { bytes } = int8FullyConnected([0.008]);
		const model = readTflite(bytes, "fc.tflite");
		model.subgraphs[0].operators[0].builtinOptionsType = 0;
		const [op] = readTflite(writeTflite(model), "bare.tflite").subgraphs[0].operators;
		assert.equal(op.builtinOptionsType, 0);
		assert.deepEqual(op.builtinOptions, { fusedActivationFunction: 0, weightsFormat: 0, keepNumDims: false, asymmetricQuantizeInputs: false, quantizedBiasType: 0 });
	});

	it("stores codes above 127 in builtin_code with the placeholder in deprecated_builtin_code, and reads the larger", () => {
		const b = new TfliteBuilder();
		const x = b.input("x", TensorType.FLOAT32, [2]);
		const y = b.tensor("y", TensorType.FLOAT32, [2]);
		b.op(BuiltinOperator.GELU, [x], [y]).output(y);
		assert.equal(readTflite(b.build(), "gelu.tflite").operatorCodes[0].builtinCode, BuiltinOperator.GELU);
	});
});

describe("TFLite runtime oracle on models the writer produced", { skip: runtimeMissing }, () => {
	it("a float ADD of two inputs gives the float64 sum", async () => {
		const b = new TfliteBuilder();
		const x = b.input("x", TensorType.FLOAT32, [2, 3]);
		const y = b.input("y", TensorType.FLOAT32, [2, 3]);
		const z = b.tensor("z", TensorType.FLOAT32, [2, 3]);
		b.op(BuiltinOperator.ADD, [x, y], [z]).output(z);
		const xs = [0.5, -1.25, 3, 1e-3, 7.5, -2];
		const ys = [1.5, 0.25, -3, 2, 0.125, -0.5];
		const [out] = await runTflite(b.build(), [xs, ys]);
		assert.deepEqual([out.dtype, out.shape], ["float32", [2, 3]]);
		out.data.forEach((v, i) => assert.ok(Math.abs(v - (xs[i] + ys[i])) <= 1e-6, `z[${i}] = ${v}, expected ${xs[i] + ys[i]}`));
	});

	for (const [label, scales] of [["per-tensor", [0.008]], ["per-channel", [0.004, 0.008, 0.006]]] as const) {
		it(`an int8 FULLY_CONNECTED (${label} filter) is within 1 step of the float64 closed form`, async () => {
			const { bytes, expect } = int8FullyConnected([...scales]);
			const random = mulberry32(7);
			for (let trial = 0; trial < 20; trial++) {
				const xq = Array.from({ length: 4 }, () => Math.floor(random() * 256) - 128);
				const [out] = await runTflite(bytes, [xq]);
				assert.equal(out.dtype, "int8");
				const want = expect(xq);
				out.data.forEach((v, o) => assert.ok(Math.abs(v - want[o]) <= 1, `trial ${trial} y[${o}] = ${v}, closed form ${want[o]} (x = ${xq})`));
			}
		});
	}

	it("a float CONV_2D honours the written options: VALID, stride w 2 / h 1, fused RELU6", async () => {
		const b = new TfliteBuilder();
		const x = b.input("x", TensorType.FLOAT32, [1, 5, 5, 1]);
		const kernel = [0.5, -1, 0.25, 2, 1, -0.5, 0.75, 0.1, -2];
		const f = b.constant("f", TensorType.FLOAT32, [1, 3, 3, 1], kernel);
		// This runtime's CONV_2D refuses an absent bias ("Tensor at index 2 was optional but was expected").
		const bias = b.constant("bias", TensorType.FLOAT32, [1], [0.25]);
		const y = b.tensor("y", TensorType.FLOAT32, [1, 3, 2, 1]);
		b.op(BuiltinOperator.CONV_2D, [x, f, bias], [y], { options: { padding: 1, strideW: 2, strideH: 1, fusedActivationFunction: 3 } }).output(y);
		const xs = Array.from({ length: 25 }, (_, i) => Math.sin(i) * 2);
		const [out] = await runTflite(b.build(), [xs]);
		assert.deepEqual(out.shape, [1, 3, 2, 1]);
		const want = [0, 1, 2].flatMap((r) => [0, 1].map((c) => {
			let sum = 0.25;
			for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) sum += xs[(r + i) * 5 + c * 2 + j] * kernel[i * 3 + j];
			return Math.min(6, Math.max(0, sum));
		}));
		out.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-5, `y[${i}] = ${v}, expected ${want[i]}`));
	});

	it("refuses an int8 input value out of range instead of wrapping it", async () => {
		const { bytes } = int8FullyConnected([0.008]);
		await assert.rejects(runTflite(bytes, [[0, 1, 2, 300]]), /int8.*300/);
	});

	it("dequantize helper and runtime agree on a QUANTIZE -> DEQUANTIZE pair", async () => {
		const b = new TfliteBuilder();
		const x = b.input("x", TensorType.FLOAT32, [5]);
		const q = b.tensor("q", TensorType.INT8, [5], { scale: 0.1, zeroPoint: 3 });
		const y = b.tensor("y", TensorType.FLOAT32, [5]);
		b.op(BuiltinOperator.QUANTIZE, [x], [q]).op(BuiltinOperator.DEQUANTIZE, [q], [y], { version: 2 }).output(y);
		const xs = [-1.04, 0.26, 3.3, 20, -20];
		const [out] = await runTflite(b.build(), [xs]);
		const want = dequantize(quantize(xs, Math.fround(0.1), 3, TensorType.INT8), Math.fround(0.1), 3);
		out.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `y[${i}] = ${v}, expected ${want[i]}`));
	});
});

describe("TFLite reader on damaged files", () => {
	const small = int8FullyConnected([0.008]).bytes;

	it("reports every truncation of a small model as a ModelLoadError naming the file", () => {
		for (let length = 0; length < small.length; length++) {
			assert.throws(() => readTflite(small.subarray(0, length), "cut.tflite"), (e: unknown) => e instanceof ModelLoadError && e.message.startsWith("cut.tflite:"), `prefix of ${length} bytes`);
		}
	});

	it("reads 200 random byte flips either as a model or as a ModelLoadError, never another error", () => {
		const random = mulberry32(10);
		let refused = 0;
		for (let trial = 0; trial < 200; trial++) {
			const bytes = Uint8Array.from(small);
			const at = Math.floor(random() * bytes.length);
			bytes[at] ^= 1 + Math.floor(random() * 255);
			try {
				readTflite(bytes, "flipped.tflite");
			} catch (error) {
				assert.ok(error instanceof ModelLoadError, `flip at byte ${at}: ${(error as Error).stack}`);
				assert.match(error.message, /^flipped\.tflite:/);
				refused++;
			}
		}
		assert.ok(refused > 0, "some flips must be caught");
	});

	it("names a non-TFLite file as such", () => {
		assert.throws(() => readTflite(new TextEncoder().encode("node { name: 'x' op: 'Placeholder' }"), "graph.pbtxt"), /graph\.pbtxt: not a TFLite model/);
	});
});
