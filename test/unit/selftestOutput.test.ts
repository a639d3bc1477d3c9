// The self-test's byte protocol for every element type: arguments go in as the little-endian bytes of all feeds
// concatenated (int8 one byte each), results come back as 32-bit words whose last one is zero-padded. Expected
// words are written out here by hand from the values' two's-complement bytes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { selftestParameters } from "../../extension/core/deploy/moduleParameters";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph } from "../../extension/core/graph/graph";
import { type DType, tensorFromBytes } from "../../extension/core/graph/tensor";
import { SelftestParseError, assembleSelftest, parseModuleLine } from "../../extension/core/kernelLog/selftestOutput";
import { attr, GraphBuilder } from "../support/graphBuilder";

/** Two feeds of small types and an Identity of each: the self-test's arguments are a [3] and b [2]. */
function twoFeeds(aType: DType, bType: DType) {
	const g = new GraphBuilder();
	const a = g.placeholder("a", aType, [3]);
	const b = g.placeholder("b", bType, [2]);
	g.op("Identity", "ya", [a], { T: attr.type(aType) });
	g.op("Identity", "yb", [b], { T: attr.type(bType) });
	const graph = Graph.fromGraphDef(g.def());
	const { config } = buildConfig(graph, [{ ref: { node: "a", index: 0 }, shape: [3] }, { ref: { node: "b", index: 0 }, shape: [2] }],
		[{ ref: { node: "ya", index: 0 } }, { ref: { node: "yb", index: 0 } }]);
	return { graph, config };
}

describe("self-test arguments of every element type", () => {
	it("int16 and int8 feeds are packed byte-exact, concatenated, and only the block's last word is zero-padded", () => {
		const { graph, config } = twoFeeds("int16", "int8");
		const { list } = selftestParameters(graph, config, { feeds: { a: [1, -2, 300], b: [-128, 127] } }, "in.json");
		// Bytes 01 00 fe ff 2c 01 | 80 7f, read as little-endian words.
		assert.deepEqual(list, ["inputs=fffe0001,7f80012c", "steps=1"]);
	});

	it("uint8 rows of a data set make one 2-word block per step", () => {
		const { graph, config } = twoFeeds("uint8", "uint8");
		const { list } = selftestParameters(graph, config, { feeds: {}, feedsPerStep: [{ a: [1, 2, 3], b: [4, 5] }, { a: [255, 0, 16], b: [0, 200] }] }, "rows.json");
		// Step 0: 01 02 03 | 04 05; step 1: ff 00 10 | 00 c8.
		assert.deepEqual(list, ["inputs=04030201,00000005,001000ff,000000c8", "steps=2"]);
	});

	it("an int32 feed keeps its 4-byte words and a bool feed takes one byte per value", () => {
		const { graph, config } = twoFeeds("int32", "bool");
		const { list } = selftestParameters(graph, config, { feeds: { a: [-1, 2, 65536], b: [true, false] } }, "mixed.json");
		assert.deepEqual(list, ["inputs=ffffffff,00000002,00010000,00000001", "steps=1"]);
	});
});

describe("self-test results of every element type", () => {
	const line = (step: number, result: number, offset: number, words: string[], values: string) =>
		`knn-selftest q step=${step} result=${result} offset=${offset} count=${words.length} bits=${words.join(",")} values=${values}`;

	it("an int8 result of 6 bytes comes back as its 6 bytes from two words, the padding dropped", () => {
		const { steps } = assembleSelftest([line(0, 0, 0, ["7f0180ff", "0000fe05"], "-1,-128,1,127,5,-2"), "knn-selftest q done steps=1 status=0"], "q", [6]);
		assert.deepEqual(Array.from(tensorFromBytes("int8", [6], steps[0][0], "test").data as Int8Array), [-1, -128, 1, 127, 5, -2]);
	});

	it("a uint8 result of 70 bytes split over two lines at word 16, and an int16 result of 3 values", () => {
		const bytes = Array.from({ length: 70 }, (_, i) => (i * 7) & 255);
		const words = Array.from({ length: 18 }, (_, w) => [3, 2, 1, 0].map((k) => (bytes[4 * w + k] ?? 0).toString(16).padStart(2, "0")).join(""));
		const messages = [
			line(0, 0, 0, words.slice(0, 16), bytes.slice(0, 64).join(",")),
			line(0, 0, 16, words.slice(16), bytes.slice(64).join(",")),
			// int16 values 1000, -1000, -1: bytes e8 03 18 fc ff ff.
			line(0, 1, 0, ["fc1803e8", "0000ffff"], "1000,-1000,-1"),
			"knn-selftest q done steps=1 status=0",
		];
		const { steps } = assembleSelftest(messages, "q", [70, 6]);
		assert.deepEqual(Array.from(steps[0][0]), bytes);
		assert.deepEqual(Array.from(tensorFromBytes("int16", [3], steps[0][1], "test").data as Int16Array), [1000, -1000, -1]);
	});

	it("a lost padded last word is named by its result, word and bytes", () => {
		assert.throws(() => assembleSelftest([line(0, 0, 0, ["7f0180ff"], "-1,-128,1,127"), "knn-selftest q done steps=1 status=0"], "q", [6]),
			(e: Error) => e instanceof SelftestParseError && /step 0 result 0 word 1 \(bytes 4 to 7\)/.test(e.message));
	});

	it("lines whose values are integers parse like float lines (the words are what counts)", () => {
		const parsed = parseModuleLine(line(2, 1, 16, ["0000ffff"], "65535"));
		assert.deepEqual(parsed, { kind: "chunk", chunk: { module: "q", step: 2, result: 1, offset: 16, bits: [0xffff] } });
	});
});
