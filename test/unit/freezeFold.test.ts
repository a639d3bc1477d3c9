import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { openCheckpoint } from "../../extension/core/frontends/tf/checkpoint/bundle";
import { configRef, parseConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { FreezeError, freezeGraph } from "../../extension/core/frontends/tf/freeze";
import { Graph } from "../../extension/core/graph/graph";
import { foldConstants, inferGraph } from "../../extension/core/interp/infer";
import { loadModel } from "../../extension/core/frontends";
import { numbers } from "../../extension/core/graph/tensor";
import { runSteps } from "../../extension/core/model/steps";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { INDIGO_DIR, indigoMissing, publishedIndigoInput, publishedIndigoOutputs, truncateTo5 } from "../support/shared";

const FETCHES = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];
const CONFIG = `
feed { id { node_name: "global/Placeholder" } shape { dim { size: 1 } dim { size: 1 } dim { size: 9 } } }
feed { id { node_name: "global/Placeholder_1" } shape { dim { size: 1 } dim { size: 32 } } }
feed { id { node_name: "global/Placeholder_2" } shape { dim { size: 1 } dim { size: 32 } } }
fetch { id { node_name: "global/Softmax" } }
fetch { id { node_name: "global/rnn/while/Exit_2" } }
fetch { id { node_name: "global/rnn/while/Exit_3" } }
`;

describe("freezing and constant folding on Indigo", { skip: indigoMissing }, () => {
	const meta = indigoMissing ? undefined : loadModel(path.join(INDIGO_DIR, "model.meta"));
	const checkpoint = indigoMissing ? undefined : openCheckpoint(path.join(INDIGO_DIR, "model"));

	it("freezes exactly the four weights the README lists, plus nothing the fetches do not need", () => {
		const { frozen } = freezeGraph(meta!.graph, checkpoint!, FETCHES);
		assert.deepEqual(frozen.map((f) => [f.node, f.shape]).sort(), [
			["global/fully_connected/biases", [5]],
			["global/fully_connected/weights", [32, 5]],
			["global/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias", [128]],
			["global/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel", [41, 128]],
		]);
	});

	it("folds the shape arithmetic away: what is left outside the loop has static shapes and gives the published outputs", () => {
		const graph = freezeGraph(meta!.graph, checkpoint!, FETCHES).graph;
		const { config } = parseConfig(CONFIG, "graph.config.pbtxt");
		const feeds = config.feed.map((f) => ({ ref: configRef(f), shape: f.shape!.dim!.map((d) => d.size!) }));
		const fetches = config.fetch.map(configRef);
		const folded = foldConstants(graph, inferGraph(graph, feeds, fetches), fetches);
		const rootOps = new Set(folded.nodes.filter((n) => !n.name.startsWith("global/rnn/while/")).map((n) => n.op));
		for (const op of ["Shape", "StridedSlice", "Range", "Fill", "Pack", "Prod", "ListDiff", "ConcatV2", "Gather"]) {
			assert.ok(!rootOps.has(op), `${op} survived folding outside the loop`);
		}
		assert.ok(folded.nodes.length < graph.nodes.length, `${folded.nodes.length} nodes after folding, ${graph.nodes.length} before`);
		const inference = inferGraph(folded, feeds, fetches);
		for (const [name, info] of inference.tensors) assert.ok(info.shape.every((d) => d >= 0), `${name} has shape [${info.shape}]`);
		const steps = runSteps(folded, config, {
			feeds: { "global/Placeholder": publishedIndigoInput() }, steps: 10,
			feedback: { "global/Placeholder_1": "global/rnn/while/Exit_2", "global/Placeholder_2": "global/rnn/while/Exit_3" },
		});
		const published = publishedIndigoOutputs();
		steps.forEach((outputs, i) => {
			const printed = Array.from(numbers(outputs[0])).map(truncateTo5);
			assert.deepEqual(printed, published[i], `step ${i}`);
		});
	});

	it("names a variable the checkpoint lacks, and one whose shape disagrees", () => {
		const g = new GraphBuilder();
		g.op("VariableV2", "global/not_trained", [], { dtype: attr.type("float32"), shape: attr.shape([3]) });
		g.op("VariableV2", "global/fully_connected/biases", [], { dtype: attr.type("float32"), shape: attr.shape([6]) });
		const graph = Graph.fromGraphDef(g.def());
		assert.throws(() => freezeGraph(graph, checkpoint!, ["global/not_trained"]), (e: Error) => e instanceof FreezeError && /"global\/not_trained" is not in checkpoint/.test(e.message));
		assert.throws(() => freezeGraph(graph, checkpoint!, ["global/fully_connected/biases"]), /shape \[6\] in the graph but \[5\] in checkpoint/);
		assert.throws(() => freezeGraph(graph, checkpoint!, ["nowhere"]), /fetch "nowhere" names no node/);
	});
});
