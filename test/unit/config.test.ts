import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
	type ConfigProblem, ConfigError, buildConfig, formatConfig, parseConfig, parseFeedArgument, validateConfig,
} from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph } from "../../extension/core/graph/graph";
import { makeTensor } from "../../extension/core/graph/tensor";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { knn, tempDir } from "../support/cli";
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

	it("reports a feed no fetch depends on as an error at that feed, and knn config --check and knn compile both refuse it there", () => {
		const text = 'feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\nfeed {\n  id { node_name: "mask" }\n  shape { dim { size: 1 } dim { size: 2 } }\n}\nfetch { id { node_name: "probs" } }\n';
		expectProblem(text, 3, 8, /feed "mask" is not used: no fetch depends on it; remove this feed/);
		assert.equal(problems(text).filter((p) => p.severity === "error").length, 1);
		const dir = tempDir("unused-feed");
		const model = path.join(dir, "classifier.pb");
		const config = path.join(dir, "graph.config.pbtxt");
		fs.writeFileSync(model, encodeMessage(types.GraphDef, classifier().toGraphDef()));
		fs.writeFileSync(config, text);
		const where = `${config}:3:8: error: feed "mask" is not used`;
		const check = knn("config", model, "--check", config);
		assert.equal(check.status, 1);
		assert.ok(check.stdout.includes(where), check.stdout + check.stderr);
		const compile = knn("compile", model, "--config", config, "--prefix", "unused", "--out", path.join(dir, "out"));
		assert.notEqual(compile.status, 0);
		assert.ok(compile.stderr.includes(where), compile.stderr);
		assert.throws(() => buildConfig(classifier(), [parseFeedArgument("input/x=1x3"), parseFeedArgument("mask")], [{ ref: { node: "probs", index: 0 } }]), /feed "mask" is not used/);
		// A feed the fetches reach only through another feed is cut off by it, and unused as well.
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\nfeed { id { node_name: "dense" } shape { dim { size: 1 } dim { size: 4 } } }\nfetch { id { node_name: "probs" } }\n',
			1, 13, /feed "input\/x" is not used: the fetches read it only through other feeds/);
	});

	it("suggests the declared dimensions with unknown ones as 1 for a feed without a static shape, and says when even the rank is unknown", () => {
		assert.throws(() => buildConfig(classifier(), [parseFeedArgument("input/x")], [{ ref: { node: "probs", index: 0 } }]), /no static shape \[\?,3\] in the graph; give one, e\.g\. input\/x=1x3$/);
		const g = new GraphBuilder();
		g.op("Neg", "neg", [g.placeholder("any", "float32")], { T });
		assert.throws(() => buildConfig(Graph.fromGraphDef(g.def()), [parseFeedArgument("any")], [{ ref: { node: "neg", index: 0 } }]),
			/feed "any" has no static shape: the graph does not even give its rank \(<unknown rank>\); give every dimension, e\.g\. any=1x30 for a \[1,30\] input, or any= for a scalar/);
		const scalar = buildConfig(Graph.fromGraphDef(g.def()), [parseFeedArgument("any=")], [{ ref: { node: "neg", index: 0 } }]);
		assert.deepEqual(scalar.config.feed[0].shape, { dim: [] });
	});

	it("knn --help documents the scalar feed NODE=, --signature with --batch, and --host-driver", () => {
		const help = knn("--help");
		assert.equal(help.status, 0);
		assert.match(help.stdout, /NODE= a scalar/);
		assert.match(help.stdout, /knn config MODEL --signature NAME \[--batch N\]/);
		assert.match(help.stdout, /knn compile .*\[--host-driver\]/);
		assert.match(help.stdout, /--host-driver also writes NAME_host\.c/);
	});

	it("reports a config without fetches, and a feed given twice", () => {
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\n', 1, 1, /no fetch/);
		expectProblem('feed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\nfeed { id { node_name: "input/x" } shape { dim { size: 1 } dim { size: 3 } } }\nfetch { id { node_name: "probs" } }\n', 2, 8, /fed twice/);
	});
});
