import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ModelLoadError, loadModel, loadModelBytes } from "../../extension/core/frontends";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { formatTextProto } from "../../extension/core/frontends/tf/proto/textFormat";
import { tempDir } from "../support/cli";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { INDIGO_DIR, indigoMissing } from "../support/shared";

function smallGraph() {
	const g = new GraphBuilder();
	const x = g.placeholder("x", "float32", [1, 3]);
	g.op("Relu", "y", [x], { T: attr.type("float32") });
	return g.def();
}

function rejects(bytes: Uint8Array, file: string, pattern: RegExp): void {
	assert.throws(() => loadModelBytes(bytes, file), (e: Error) => e instanceof ModelLoadError && e.message.startsWith(file) && pattern.test(e.message), `expected ${pattern}`);
}

describe("model loading by content", () => {
	it("recognises a binary GraphDef whatever its file name", () => {
		const model = loadModelBytes(encodeMessage(types.GraphDef, smallGraph()), "weights.bin");
		assert.equal(model.format, "GraphDef");
		assert.deepEqual(model.graph.nodes.map((n) => n.op), ["Placeholder", "Relu"]);
	});

	it("recognises a text GraphDef", () => {
		const text = `# exported by hand\n${formatTextProto(smallGraph(), types.GraphDef)}`;
		const model = loadModelBytes(new TextEncoder().encode(text), "model.pb");
		assert.equal(model.format, "GraphDef (text)");
		assert.equal(model.graph.node("y").inputs[0].node, "x");
	});

	it("recognises a MetaGraphDef and a SavedModel directory", () => {
		const meta = { meta_info_def: { tags: ["serve"] }, graph_def: smallGraph() };
		assert.equal(loadModelBytes(encodeMessage(types.MetaGraphDef, meta), "m").format, "MetaGraphDef");
		const dir = tempDir("savedmodel");
		fs.writeFileSync(path.join(dir, "saved_model.pb"), encodeMessage(types.SavedModel, { saved_model_schema_version: 1, meta_graphs: [meta] }));
		const saved = loadModel(dir);
		assert.equal(saved.format, "SavedModel");
		assert.equal(saved.graph.nodes.length, 2);
	});

	it("says what a file that is not a model looks like, naming the file", () => {
		rejects(new Uint8Array(0), "empty.pb", /empty file/);
		rejects(new Uint8Array([0x1c, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33, 0, 0]), "model.tflite", /TensorFlow Lite/);
		rejects(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2]), "model.keras", /ZIP archive/);
		rejects(new TextEncoder().encode('{"modelTopology": {}}'), "model.json", /JSON/);
		rejects(new Uint8Array([0x08, 0x07, 0x3a, 0x02, 0x0a, 0x00]), "model.onnx", /ONNX/);
		rejects(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]), "noise.pb", /not a protobuf/);
		rejects(new TextEncoder().encode('feed { id { node_name: "x" } }'), "graph.config.pbtxt", /tf2xla config.*--config/);
		assert.throws(() => loadModel("/nonexistent/model.pb"), /\/nonexistent\/model.pb: no such file/);
	});

	it("reports a text GraphDef error with file, line and column", () => {
		assert.throws(() => loadModelBytes(new TextEncoder().encode('node {\n  name: "a"\n  opp: "Relu"\n}\n'), "bad.pbtxt"), /bad\.pbtxt:3:3: .*opp/);
	});

	it("reads Indigo's model.meta and finds the checkpoint beside it", { skip: indigoMissing }, () => {
		const model = loadModel(path.join(INDIGO_DIR, "model.meta"));
		assert.equal(model.format, "MetaGraphDef");
		for (const name of ["global/Placeholder", "global/Placeholder_1", "global/Placeholder_2"]) assert.equal(model.graph.node(name).op, "Placeholder");
		assert.equal(model.graph.node("global/Softmax").op, "Softmax");
		assert.equal(model.checkpointPrefix, path.join(INDIGO_DIR, "model"));
		const loop = model.graph.node("global/rnn/while/Exit_2");
		assert.equal(loop.op, "Exit");
	});
});
