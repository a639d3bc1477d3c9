import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
	type ConfigProblem, ConfigError, buildConfig, formatConfig, parseConfig, parseFeedArgument, validateConfig,
} from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph } from "../../extension/core/graph/graph";
import { makeTensor } from "../../extension/core/graph/tensor";
import { GraphBuilder, attr, out } from "../support/graphBuilder";

const T = attr.type("float32");

/** x[?,3] -> MatMul W[3,4] -> Split into two [?,2] -> Softmax of each; `mask` is an unrelated placeholder. */
function classifier(): Graph {
	const g = new GraphBuilder();
	const x = g.placeholder("input/x", "float32", [-1, 3]);
	const mask = g.placeholder("mask", "float32", [1, 2]);
	const w = g.const("W", makeTensor("float32", [3, 4], Array.from({ length: 12 }, (_, i) => i / 10)));
	const y = g.op("MatMul", "dense", [x, w], { T, transpose_a: attr.b(false), transpose_b: attr.b(false) });
	const split = g.op("Split", "heads", [g.constOf("axis", "int32", [1], []), y], { T, num_split: attr.i(2) });
	g.op("Softmax", "probs", [split], { T });
	g.op("Mul", "masked", [out(split, 1), mask], { T });
	return Graph.fromGraphDef(g.def());
}

function problems(text: string, graph = classifier()): ConfigProblem[] {
	return validateConfig(graph, parseConfig(text, "graph.config.pbtxt"));
}

function expectProblem(text: string, line: number, column: number, pattern: RegExp): void {
	const found = problems(text);
	assert.ok(found.some((p) => p.position.line === line && p.position.column === column && pattern.test(p.message)),
		`expected ${pattern} at ${line}:${column}, got ${JSON.stringify(found.map((p) => [p.position.line, p.position.column, p.message]))}`);
}

describe("graph.config.pbtxt", () => {
	it("builds a config in the given order with shapes and types, writes it, and reads it back valid", () => {
		const graph = classifier();
		const { config, inference } = buildConfig(graph, [parseFeedArgument("input/x=2x3")], [{ ref: { node: "probs", index: 0 } }, { ref: { node: "heads", index: 1 } }]);
		const text = formatConfig(config, inference);
		assert.match(text, /# fetch probs: DT_FLOAT \[2,2\]/);
		assert.match(text, /# fetch heads:1: DT_FLOAT \[2,2\]/);
		const parsed = parseConfig(text, "graph.config.pbtxt");
		assert.deepEqual(parsed.config.feed[0].shape?.dim?.map((d) => d.size), [2, 3]);
		assert.equal(parsed.config.feed[0].type, 1);
		assert.deepEqual(parsed.config.fetch.map((f) => [f.id?.node_name, f.id?.output_index ?? 0]), [["probs", 0], ["heads", 1]]);
		assert.deepEqual(validateConfig(graph, parsed), []);
	});

	it("takes a feed's shape from the placeholder when it is static, and asks for one when it is not", () => {
		const { config } = buildConfig(classifier(), [parseFeedArgument("input/x=1x3"), parseFeedArgument("mask")], [{ ref: { node: "masked", index: 0 } }]);
		assert.deepEqual(config.feed[1].shape?.dim?.map((d) => d.size), [1, 2]);
		assert.throws(() => buildConfig(classifier(), [parseFeedArgument("input/x")], [{ ref: { node: "probs", index: 0 } }]), (e: Error) => e instanceof ConfigError && /input\/x.*no static shape.*\[\?,3\]/.test(e.message));
		assert.throws(() => parseFeedArgument("x=1by3"), /dimensions joined by "x"/);
	});

	it("locates an unknown node at its node_name", () => {
		expectProblem('feed {\n  id { node_name: "input/y" }\n  shape { dim { size: 1 } dim { size: 3 } }\n}\nfetch { id { node_name: "probs" } }\n', 2, 8, /"input\/y".*no node/);
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\nfetch { id { node_name: "prob" } }\n', 2, 14, /fetch "prob"/);
	});

	it("reports an output index out of range", () => {
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\nfetch {\n  id {\n    node_name: "heads"\n    output_index: 2\n  }\n}\n', 5, 5, /"heads" has 2 output\(s\); output_index 2/);
	});

	it("reports a placeholder the fetches need that is not fed, at the fetch", () => {
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\nfetch { id { node_name: "masked" } }\n', 2, 14, /needs placeholder "mask", which is not fed/);
	});

	it("reports feed shapes that are missing, not static, or contradict the graph", () => {
		expectProblem('feed { id { node_name: "input/x" } }\nfetch { id { node_name: "probs" } }\n', 1, 1, /has no shape/);
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: -1 } dim { size: 3 } } }\nfetch { id { node_name: "probs" } }\n', 1, 36, /\[\?,3\], which is not fully static/);
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 4 } } }\nfetch { id { node_name: "probs" } }\n', 1, 36, /\[1,4\] but the graph declares \[\?,3\]/);
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 3 } } }\nfetch { id { node_name: "probs" } }\n', 1, 36, /\[3\] but the graph declares \[\?,3\]/);
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } type: DT_INT32 }\nfetch { id { node_name: "probs" } }\n', 1, 78, /DT_INT32 but the placeholder is DT_FLOAT/);
	});

	it("reports a fetch shape that contradicts what the graph computes", () => {
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\nfetch { id { node_name: "probs" } shape { dim { size: 1 } dim { size: 4 } } }\n', 2, 35, /declared \[1,4\] but the graph computes \[1,2\]/);
	});

	it("reports a config without fetches, and a feed given twice", () => {
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\n', 1, 1, /no fetch/);
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\nfeed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\nfetch { id { node_name: "probs" } }\n', 2, 8, /fed twice/);
	});
});
