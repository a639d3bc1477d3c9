// The ONNX front end's loader: reading ModelProto files (tensors, external data, names, opsets), turning them into the
// IR, and configs from the names the graph declares. Values are checked against onnxruntime or the test's own weights.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ModelLoadError, loadModel, loadModelBytes } from "../../extension/core/frontends";
import { graphIoRequests } from "../../extension/core/frontends/onnx/config";
import { irNodeName } from "../../extension/core/frontends/onnx/names";
import { DUPLICATE_TRANSLATORS } from "../../extension/core/frontends/onnx/ops";
import { encodeOnnx, onnxTypes, decodeTensorProto } from "../../extension/core/frontends/onnx/proto";
import { tensorFromOnnx } from "../../extension/core/frontends/onnx/tensor";
import { sniff } from "../../extension/core/frontends/sniff";
import { buildConfig, formatConfig, parseConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { attrTensor, parseInputName, refKey } from "../../extension/core/graph/graph";
import { type Tensor, shapeFromProto } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { runSteps } from "../../extension/core/model/steps";
import { knn } from "../support/cli";
import { buildOnnxModel, f32, tensorProto } from "../support/onnxBuilder";
import { runOrt, runOrtSteps } from "../support/ortOracle";
import { mulberry32 } from "../support/random";

function tempDir(): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "knn-onnx-load-"));
	process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
	return dir;
}

function random(shape: number[], seed: number): Tensor {
	const next = mulberry32(seed);
	return f32(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next() * 2 - 1));
}

function assertClose(actual: Tensor, expected: Tensor, rtol: number, what: string): void {
	assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
	const a = actual.data as Float32Array;
	const e = expected.data as Float32Array;
	for (let i = 0; i < e.length; i++) {
		assert.ok(Math.abs(a[i] - e[i]) <= rtol * Math.max(1, Math.abs(e[i])), `${what}[${i}]: ${a[i]}, onnxruntime ${e[i]}`);
	}
}

/** y = relu(x W + b) with PyTorch's names; x has a dynamic batch. */
function mlp(): { bytes: Uint8Array; w: Tensor; b: Tensor } {
	const w = random([4, 3], 1);
	const b = random([3], 2);
	const bytes = buildOnnxModel({
		inputs: [{ name: "input.1", shape: ["batch", 4] }],
		outputs: [{ name: "/fc/Relu_output_0", shape: ["batch", 3] }],
		initializers: [{ name: "onnx::MatMul_5", value: w }, { name: "fc.bias", value: b }],
		nodes: [
			{ name: "/fc/MatMul", op: "MatMul", inputs: ["input.1", "onnx::MatMul_5"], outputs: ["/fc/MatMul_output_0"] },
			{ name: "/fc/Add", op: "Add", inputs: ["/fc/MatMul_output_0", "fc.bias"], outputs: ["/fc/Add_output_0"] },
			{ name: "/fc/Relu", op: "Relu", inputs: ["/fc/Add_output_0"], outputs: ["/fc/Relu_output_0"] },
		],
	});
	return { bytes, w, b };
}

describe("ONNX loading", () => {
	it("recognises an ONNX model by its content and reports the format as ONNX", () => {
		const { bytes } = mlp();
		assert.deepEqual(sniff(bytes), { frontend: "onnx" });
		assert.equal(loadModelBytes(bytes, "model.bin").format, "ONNX");
	});

	it("makes graph inputs placeholders (dynamic dims -1), initializers weights and outputs nodes named as in ONNX", () => {
		const { bytes, w } = mlp();
		const model = loadModelBytes(bytes, "mlp.onnx");
		const input = model.graph.node("input.1");
		assert.equal(input.op, "Placeholder");
		assert.deepEqual(shapeFromProto(input.attr.shape.shape), [-1, 4]);
		const weight = model.graph.node("onnx::MatMul_5");
		assert.equal(weight.op, "Const");
		assert.deepEqual(Array.from(attrTensor(weight, "value").data as Float32Array), Array.from(w.data as Float32Array));
		assert.equal(model.graph.node("/fc/Relu_output_0").op, "Identity");
		assert.deepEqual(model.graphInputs?.map((t) => [t.key, t.tensor, t.shape]), [["input.1", "input.1", [-1, 4]]]);
		assert.deepEqual(model.graphOutputs?.map((t) => t.tensor), ["/fc/Relu_output_0"]);
		assert.deepEqual(model.sourceOps?.map((o) => o.op).sort(), ["Add", "MatMul", "Relu"]);
	});

	it("runs a random-weight MLP in the interpreter as onnxruntime does, within 1e-5", async () => {
		const { bytes } = mlp();
		const model = loadModelBytes(bytes, "mlp.onnx");
		const x = random([2, 4], 3);
		const [y] = runGraph(model.graph, new Map([["input.1", x]]), [parseInputName("/fc/Relu_output_0").ref]);
		const expected = await runOrt(bytes, { "input.1": x });
		assertClose(y, expected["/fc/Relu_output_0"], 1e-5, "y");
	});

	it("spells names that would read as \"node:N\" or \"^control\" with an underscore, and keeps every other name", () => {
		assert.equal(irNodeName("input.1"), "input.1");
		assert.equal(irNodeName("onnx::Gemm_5"), "onnx::Gemm_5");
		assert.equal(irNodeName("/fc/Gemm_output_0"), "/fc/Gemm_output_0");
		assert.equal(irNodeName("x:0"), "x_0");
		assert.equal(irNodeName("^h"), "_h");
		const bytes = buildOnnxModel({
			inputs: [{ name: "x:0", shape: [1, 2] }], outputs: [{ name: "y:1", shape: [1, 2] }],
			nodes: [{ op: "Relu", inputs: ["x:0"], outputs: ["y:1"] }],
		});
		const model = loadModelBytes(bytes, "names.onnx");
		assert.deepEqual([model.graphInputs?.[0].tensor, model.graphOutputs?.[0].tensor], ["x_0", "y_1"]);
		const [y] = runGraph(model.graph, new Map([["x_0", f32([1, 2], [-1, 2])]]), [parseInputName("y_1").ref]);
		assert.deepEqual(Array.from(y.data as Float32Array), [0, 2]);
	});

	it("refuses opsets outside 6 to 21, naming the opset", () => {
		for (const opset of [5, 22]) {
			const bytes = buildOnnxModel({ opset, inputs: [{ name: "x", shape: [1] }], outputs: [{ name: "y", shape: [1] }], nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }] });
			assert.throws(() => loadModelBytes(bytes, "old.onnx"), (e: Error) => e instanceof ModelLoadError && e.message.includes(`opset ${opset} is not supported`) && e.message.includes("old.onnx"));
		}
	});

	it("loads an op without translator for inspection, and the interpreter refuses to run it", () => {
		const bytes = buildOnnxModel({
			inputs: [{ name: "x", shape: [1, 2] }], outputs: [{ name: "y", shape: [1, 2] }, { name: "z", shape: [1, 2] }],
			nodes: [{ name: "odd", op: "NoSuchOp", inputs: ["x"], outputs: ["t"] }, { op: "Relu", inputs: ["t"], outputs: ["y"] }, { op: "Relu", inputs: ["x"], outputs: ["z"] }],
			valueInfo: [{ name: "t", shape: [1, 2] }],
		});
		const model = loadModelBytes(bytes, "odd.onnx");
		assert.equal(model.graph.node("odd").op, "Onnx.NoSuchOp");
		// The declared type of its output lets what follows translate.
		assert.ok(model.graph.nodes.some((n) => n.op === "Relu" && n.inputs[0].node === "odd"));
		assert.throws(() => runGraph(model.graph, new Map([["x", f32([1, 2], [1, 2])]]), [{ node: "y", index: 0 }]), /Onnx\.NoSuchOp/);
		const [z] = runGraph(model.graph, new Map([["x", f32([1, 2], [-1, 2])]]), [{ node: "z", index: 0 }]);
		assert.deepEqual(Array.from(z.data as Float32Array), [0, 2]);
	});

	it("refuses a truncated or damaged file with a typed error naming it", () => {
		const { bytes } = mlp();
		assert.throws(() => loadModelBytes(bytes.subarray(0, bytes.length - 7), "cut.onnx"), (e: Error) => e instanceof ModelLoadError && e.message.includes("cut.onnx"));
	});

	it("decodes every typed data field: float, double, int64, int32 for bool and float16", () => {
		const decode = (proto: object) => tensorFromOnnx(decodeTensorProto(encodeOnnx(onnxTypes.TensorProto, proto)), "t");
		assert.deepEqual(Array.from(decode({ dims: [2], data_type: 1, float_data: [1.5, -2] }).data as Float32Array), [1.5, -2]);
		assert.deepEqual(Array.from(decode({ dims: [2], data_type: 11, double_data: [0.1, 3] }).data as Float64Array), [0.1, 3]);
		const longs = decode({ dims: [3], data_type: 7, int64_data: [-1, 2 ** 40, 7] });
		assert.deepEqual([longs.dtype, ...Array.from(longs.data as Float64Array)], ["int64", -1, 2 ** 40, 7]);
		const bools = decode({ dims: [3], data_type: 9, int32_data: [1, 0, 1] });
		assert.deepEqual([bools.dtype, ...Array.from(bools.data as Uint8Array)], ["bool", 1, 0, 1]);
		// float16 0x3c00 = 1, 0xc000 = -2, 0x3555 = 0.333251953125 (IEEE 754 binary16).
		const halves = decode({ dims: [3], data_type: 10, int32_data: [0x3c00, 0xc000, 0x3555] });
		assert.deepEqual([halves.dtype, ...Array.from(halves.data as Float32Array)], ["float32", 1, -2, 0.333251953125]);
		assert.throws(() => decode({ dims: [3], data_type: 1, float_data: [1] }), ModelLoadError);
	});
});

describe("ONNX opset 6", () => {
	it("reads opset 6 as 7 where a binary op's legacy broadcast means what NumPy's does", () => {
		const spec = (axis: number) => buildOnnxModel({
			opset: 6, irVersion: 3,
			inputs: [{ name: "a", shape: [2, 3] }, { name: "b", shape: [3] }], outputs: [{ name: "y", shape: [2, 3] }],
			nodes: [{ op: "Add", inputs: ["a", "b"], outputs: ["y"], attrs: { broadcast: 1, axis } }],
		});
		const bytes = spec(1);
		const model = loadModelBytes(bytes, "legacy.onnx");
		const a = random([2, 3], 21);
		const b = random([3], 22);
		const [y] = runGraph(model.graph, new Map([["a", a], ["b", b]]), [{ node: "y", index: 0 }]);
		// onnxruntime no longer runs opset 6 Add: the sum is written out, b added to each row of a.
		const ad = a.data as Float32Array;
		const bd = b.data as Float32Array;
		assertClose(y, f32([2, 3], Array.from(ad, (v, i) => v + bd[i % 3])), 1e-6, "y");
		assert.throws(() => loadModelBytes(spec(0), "legacy.onnx"), (e: Error) => e instanceof ModelLoadError && /axis 0/.test(e.message));
	});
});

describe("ONNX external data", () => {
	function externalModel(dir: string, location: string, offset: number, length?: number): string {
		const w = f32([2, 2], [1, 2, 3, 4]);
		const proto = tensorProto(w, "w");
		delete proto.raw_data;
		proto.data_location = 1;
		proto.external_data = [{ key: "location", value: location }, { key: "offset", value: String(offset) }, ...(length !== undefined ? [{ key: "length", value: String(length) }] : [])];
		const bytes = encodeOnnx(onnxTypes.ModelProto, {
			ir_version: 8, opset_import: [{ domain: "", version: 17 }],
			graph: {
				node: [{ op_type: "MatMul", input: ["x", "w"], output: ["y"], name: "mm" }],
				initializer: [proto],
				input: [{ name: "x", type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 1 }, { dim_value: 2 }] } } } }],
				output: [{ name: "y", type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 1 }, { dim_value: 2 }] } } } }],
			},
		});
		const file = path.join(dir, "model.onnx");
		fs.writeFileSync(file, bytes);
		return file;
	}

	it("reads a weight from a file beside the model at its offset, as onnxruntime does", async () => {
		const dir = tempDir();
		const data = new Float32Array([9, 9, 1, 2, 3, 4]);
		fs.writeFileSync(path.join(dir, "weights.bin"), new Uint8Array(data.buffer));
		const file = externalModel(dir, "weights.bin", 8, 16);
		const model = loadModel(file);
		assert.deepEqual(Array.from(attrTensor(model.graph.node("w"), "value").data as Float32Array), [1, 2, 3, 4]);
		const x = f32([1, 2], [0.5, -1]);
		const [y] = runGraph(model.graph, new Map([["x", x]]), [{ node: "y", index: 0 }]);
		const ort = await import("onnxruntime-node");
		const session = await ort.InferenceSession.create(file);
		const expected = (await session.run({ x: new ort.Tensor("float32", x.data as Float32Array, [1, 2]) })).y.data as Float32Array;
		assert.deepEqual(Array.from(y.data as Float32Array), Array.from(expected));
	});

	it("refuses external data outside the model's folder, naming the tensor", () => {
		const dir = tempDir();
		for (const location of ["../weights.bin", "/etc/passwd", "sub/../../weights.bin"]) {
			const file = externalModel(dir, location, 0);
			assert.throws(() => loadModel(file), (e: Error) => e instanceof ModelLoadError && e.message.includes('initializer "w"') && e.message.includes("leaves the model's folder"));
		}
	});

	it("refuses a missing external file or one too short for the tensor, with typed errors", () => {
		const dir = tempDir();
		assert.throws(() => loadModel(externalModel(dir, "absent.bin", 0)), (e: Error) => e instanceof ModelLoadError && /missing beside the model/.test(e.message));
		fs.writeFileSync(path.join(dir, "short.bin"), new Uint8Array(10));
		assert.throws(() => loadModel(externalModel(dir, "short.bin", 0)), (e: Error) => e instanceof ModelLoadError && /too few/.test(e.message));
		fs.writeFileSync(path.join(dir, "long.bin"), new Uint8Array(64));
		assert.throws(() => loadModel(externalModel(dir, "long.bin", 0, 12)), (e: Error) => e instanceof ModelLoadError && /needs 16 bytes/.test(e.message));
	});
});

describe("configs from an ONNX model's names", () => {
	/** h' = tanh(x W + h0 U): a recurrent state fed back by name. */
	function cell(): Uint8Array {
		return buildOnnxModel({
			inputs: [{ name: "x", shape: ["N", 3] }, { name: "h0", shape: [1, 4] }],
			outputs: [{ name: "y", shape: [1, 4] }, { name: "hn", shape: [1, 4] }],
			initializers: [{ name: "W", value: random([3, 4], 11) }, { name: "U", value: random([4, 4], 12) }],
			nodes: [
				{ op: "MatMul", inputs: ["x", "W"], outputs: ["xw"] },
				{ op: "MatMul", inputs: ["h0", "U"], outputs: ["hu"] },
				{ op: "Add", inputs: ["xw", "hu"], outputs: ["s"] },
				{ op: "Tanh", inputs: ["s"], outputs: ["hn"] },
				{ op: "Relu", inputs: ["hn"], outputs: ["y"] },
			],
		});
	}

	it("feeds every graph input and fetches every output in graph order, dynamic dimensions set to 1", () => {
		const model = loadModelBytes(cell(), "cell.onnx");
		const { feeds, fetches } = graphIoRequests(model, [], []);
		assert.deepEqual(feeds.map((f) => [refKey(f.ref), f.shape]), [["x", [1, 3]], ["h0", [1, 4]]]);
		assert.deepEqual(fetches.map((f) => refKey(f.ref)), ["y", "hn"]);
		const text = formatConfig(buildConfig(model.graph, feeds, fetches).config);
		assert.deepEqual(parseConfig(text, "cfg").config.feed.map((f) => f.id?.node_name), ["x", "h0"]);
	});

	it("takes a shape from --feed NAME=SHAPE and a subset of outputs from --fetch", () => {
		const model = loadModelBytes(cell(), "cell.onnx");
		const { feeds, fetches } = graphIoRequests(model, ["x=1x3"], ["hn"]);
		assert.deepEqual(feeds.map((f) => [refKey(f.ref), f.shape]), [["x", [1, 3]], ["h0", [1, 4]]]);
		assert.deepEqual(fetches.map((f) => refKey(f.ref)), ["hn"]);
	});

	it("feeds the state back by ONNX names over 10 steps as onnxruntime does, within 1e-5", async () => {
		const bytes = cell();
		const model = loadModelBytes(bytes, "cell.onnx");
		const { feeds, fetches } = graphIoRequests(model, [], []);
		const { config } = buildConfig(model.graph, feeds, fetches);
		const x = random([1, 3], 100);
		const h0 = f32([1, 4], [0, 0, 0, 0]);
		const ours = runSteps(model.graph, config, { feeds: { x: [Array.from(x.data as Float32Array)], h0: [[0, 0, 0, 0]] }, steps: 10, feedback: { h0: "hn" } });
		const same = await runOrtSteps(bytes, { h0, x }, 10, { h0: "hn" });
		for (let step = 0; step < 10; step++) assertClose(ours[step][1], same[step].hn, 1e-5, `step ${step} hn`);
	});
});

describe("knn config and knn run on an ONNX model", () => {
	it("writes a config of the graph's names without --feed or --fetch, and runs 10 fed-back steps as onnxruntime does", async () => {
		const dir = tempDir();
		const bytes = buildOnnxModel({
			inputs: [{ name: "x", shape: ["N", 3] }, { name: "h0", shape: [1, 4] }],
			outputs: [{ name: "hn", shape: [1, 4] }],
			initializers: [{ name: "W", value: random([3, 4], 31) }, { name: "U", value: random([4, 4], 32) }],
			nodes: [
				{ op: "MatMul", inputs: ["x", "W"], outputs: ["xw"] },
				{ op: "MatMul", inputs: ["h0", "U"], outputs: ["hu"] },
				{ op: "Add", inputs: ["xw", "hu"], outputs: ["s"] },
				{ op: "Tanh", inputs: ["s"], outputs: ["hn"] },
			],
		});
		const model = path.join(dir, "cell.onnx");
		fs.writeFileSync(model, bytes);
		const config = path.join(dir, "graph.config.pbtxt");
		const written = knn("config", model, "--out", config);
		assert.equal(written.status, 0, written.stderr);
		assert.match(written.stderr, /2 feeds \(x \[1,3\], h0 \[1,4\]\), 1 fetches \(hn\)/);
		const x = random([1, 3], 33);
		const inputs = path.join(dir, "inputs.json");
		fs.writeFileSync(inputs, JSON.stringify({ feeds: { x: [Array.from(x.data as Float32Array)], h0: [[0, 0, 0, 0]] }, steps: 10, feedback: { h0: "hn" } }));
		const ran = knn("run", model, "--config", config, "--inputs", inputs, "--json");
		assert.equal(ran.status, 0, ran.stderr);
		const steps = (JSON.parse(ran.stdout) as { steps: { hn: number[][] }[] }).steps;
		const expected = await runOrtSteps(bytes, { x, h0: f32([1, 4], [0, 0, 0, 0]) }, 10, { h0: "hn" });
		assert.equal(steps.length, 10);
		steps.forEach((step, i) => assertClose(f32([1, 4], step.hn.flat()), expected[i].hn, 1e-5, `step ${i} hn`));
	});
});

describe("ONNX translator registry", () => {
	it("registers each op type in one family only", () => {
		assert.deepEqual(DUPLICATE_TRANSLATORS, []);
	});
});
