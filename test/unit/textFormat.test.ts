import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as fs from "node:fs";
import * as path from "node:path";
import * as protobuf from "protobufjs";
import { openCheckpoint } from "../../extension/core/frontends/tf/checkpoint/bundle";
import { allMessageTypes, encodeMessage, messageType, types } from "../../extension/core/frontends/tf/proto/registry";
import { MAX_NESTING, TextFormatError, formatTextProto, parseTextProto } from "../../extension/core/frontends/tf/proto/textFormat";
import type { GraphDef, MetaGraphDef, SavedModel, Tf2xlaConfig } from "../../extension/core/frontends/tf/proto/types";
import { mulberry32 } from "../support/random";
import { SHARED_DIR } from "../support/shared";

// A tfcompile config as published with a trained LSTM policy (inputs, recurrent state in and out).
const PUBLISHED_CONFIG = `feed {
  id { node_name: "global/inference_inputs" }
  shape { dim { size: 1 } dim { size: 1 } dim { size: 9 } }
}
feed {
  id { node_name: "global/lstm_state_in" }
  shape { dim { size: 1 } dim { size: 64 } }
}
fetch { id { node_name: "global/action_probs" } }
fetch { id { node_name: "global/lstm_state_out" } }
`;

// tensorflow/compiler/aot/test_graph_tfvariable.config.pbtxt
const TF_TEST_CONFIG = `# Text form of tensorflow.tf2xla.Config proto.
feed { id { node_name: "x_hold" } shape { dim { size: 2 } dim { size: 3 } } }
variable { node_name: "x" shape {} type: DT_FLOAT readonly: true }
`;

const CONST_GRAPH = `node {
  name: "c"
  op: "Const"
  input: "a:1"
  input: "^b"
  attr { key: "dtype" value { type: DT_FLOAT } }
  attr {
    key: "value"
    value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } } float_val: 1.5 float_val: -2 } }
  }
}
versions { producer: 27 }
`;

function config(text: string): Tf2xlaConfig {
	return parseTextProto<Tf2xlaConfig>(text, types.Config, "graph.config.pbtxt").message;
}

function graph(text: string): GraphDef {
	return parseTextProto<GraphDef>(text, types.GraphDef, "graph.pbtxt").message;
}

/** Asserts the parse fails at exactly this place, with a detail matching the pattern. */
function rejects(text: string, line: number, column: number, detail: RegExp, type = types.Config): void {
	assert.throws(
		() => parseTextProto(text, type, "in.pbtxt"),
		(error: unknown) => {
			assert.ok(error instanceof TextFormatError, `expected TextFormatError, got ${String(error)}`);
			assert.match(error.detail, detail);
			assert.deepEqual([error.line, error.column], [line, column], error.message);
			assert.equal(error.message, `in.pbtxt:${line}:${column}: ${error.detail}`);
			return true;
		},
	);
}


describe("text format reader", () => {
	it("reads the published tfcompile config field by field", () => {
		assert.deepEqual(config(PUBLISHED_CONFIG), {
			feed: [
				{ id: { node_name: "global/inference_inputs" }, shape: { dim: [{ size: 1 }, { size: 1 }, { size: 9 }] } },
				{ id: { node_name: "global/lstm_state_in" }, shape: { dim: [{ size: 1 }, { size: 64 }] } },
			],
			fetch: [{ id: { node_name: "global/action_probs" } }, { id: { node_name: "global/lstm_state_out" } }],
		});
	});

	it("reads TensorFlow's own test config: comments, an empty shape, enum by name, bool", () => {
		assert.deepEqual(config(TF_TEST_CONFIG), {
			feed: [{ id: { node_name: "x_hold" }, shape: { dim: [{ size: 2 }, { size: 3 }] } }],
			variable: [{ node_name: "x", shape: {}, type: 1, readonly: true }],
		});
	});

	it("reads a Const node: attr map entries, tensor values, control and indexed inputs", () => {
		const parsed = graph(CONST_GRAPH);
		assert.deepEqual(parsed, {
			node: [{
				name: "c",
				op: "Const",
				input: ["a:1", "^b"],
				attr: {
					dtype: { type: 1 },
					value: { tensor: { dtype: 1, tensor_shape: { dim: [{ size: 2 }] }, float_val: [1.5, -2] } },
				},
			}],
			versions: { producer: 27 },
		});
		assert.equal(Object.getPrototypeOf(parsed.node[0].attr), Object.prototype);
	});

	it("sets only the fields present in the text as own properties", () => {
		const feed = config(`feed { id { node_name: "x" } }`).feed[0];
		assert.deepEqual(Object.keys(feed), ["id"]);
		assert.deepEqual(Object.keys(config("")), []);
	});

	it("accepts every field and separator syntax TensorFlow's parser accepts", () => {
		const text = `feed: { id < node_name: 'a' output_index: 0x1F >; shape { dim: [{ size: 1 }, { size: 2 }] } },
			feed [{ id { node_name: "b" } }, < id { output_index: 017 } >]
			fetch { id { node_name: "c", output_index: -0 }; type: 3 }`;
		assert.deepEqual(config(text), {
			feed: [
				{ id: { node_name: "a", output_index: 31 }, shape: { dim: [{ size: 1 }, { size: 2 }] } },
				{ id: { node_name: "b" } },
				{ id: { output_index: 15 } },
			],
			fetch: [{ id: { node_name: "c", output_index: 0 }, type: 3 }],
		});
	});

	it("reads scalar lists, number forms and bool spellings", () => {
		const tensor = parseTextProto(
			`float_val: [1, -2.5, 1e3, .5f, 2.F, inf, -Infinity, NaN] int_val: [0x7fffffff, -2147483648, 010]
			int64_val: -9007199254740991 uint32_val: 4294967295 bool_val: [true, True, t, 1, false, False, f, 0] double_val: 0.1
			half_val: []`,
			types.TensorProto, "t.pbtxt",
		).message;
		assert.deepEqual(tensor, {
			float_val: [1, -2.5, 1000, 0.5, 2, Infinity, -Infinity, NaN],
			int_val: [2147483647, -2147483648, 8],
			int64_val: [-9007199254740991],
			uint32_val: [4294967295],
			bool_val: [true, true, true, true, false, false, false, false],
			double_val: [0.1],
		});
	});

	it("rounds float fields to float32 as protobufjs decoding does, and keeps doubles exact", () => {
		const attr = parseTextProto<{ f: number }>("f: 0.1", types.AttrValue, "a").message;
		assert.equal(attr.f, Math.fround(0.1));
		assert.equal(formatTextProto(attr, types.AttrValue), "f: 0.1\n");
	});

	it("decodes C escapes: octal bytes in bytes fields, UTF-8 text in string fields, concatenation", () => {
		const attr = parseTextProto<{ s: Uint8Array }>(String.raw`s: "\001\377" '\x41\0' "\n\t\r\\\'\"\a\b\f\v\?"`, types.AttrValue, "a").message;
		assert.deepEqual(attr.s, new Uint8Array([1, 255, 0x41, 0, 10, 9, 13, 92, 39, 34, 7, 8, 12, 11, 63]));
		const node = parseTextProto<{ name: string }>(String.raw`name: "caf\303\251 " 'd\u00e9j\U0001F600' "\ud83d\ude00" "ü"`, types.NodeDef, "n").message;
		assert.equal(node.name, "café déj😀😀ü");
		const raw = parseTextProto<{ s: Uint8Array }>(`s: "é"`, types.AttrValue, "a").message;
		assert.deepEqual(raw.s, new Uint8Array([0xc3, 0xa9]));
	});

	it("keeps a map key named __proto__ as data", () => {
		const node = graph(`node { attr { key: "__proto__" value { i: 1 } } }`).node[0];
		assert.ok(Object.prototype.hasOwnProperty.call(node.attr, "__proto__"));
		assert.equal(Object.getPrototypeOf(node.attr), Object.prototype);
	});

	it("fills a map entry's missing key or value with the default", () => {
		assert.deepEqual(graph(`node { attr { value { b: true } } attr { key: "x" } }`).node[0].attr, { "": { b: true }, x: {} });
	});
});

describe("text format positions", () => {
	it("locates every field of the published config from its name to the end of its value", () => {
		const { positions } = parseTextProto(PUBLISHED_CONFIG, types.Config, "graph.config.pbtxt");
		assert.deepEqual(positions.get("feed[1].shape.dim[1].size"), { line: 7, column: 33, endLine: 7, endColumn: 41 });
		assert.deepEqual(positions.get("feed[1].shape.dim[1]"), { line: 7, column: 27, endLine: 7, endColumn: 43 });
		assert.deepEqual(positions.get("feed[1]"), { line: 5, column: 1, endLine: 8, endColumn: 2 });
		assert.deepEqual(positions.get("feed[0].id.node_name"), { line: 2, column: 8, endLine: 2, endColumn: 44 });
		assert.deepEqual(positions.get("fetch[1].id"), { line: 10, column: 9, endLine: 10, endColumn: 50 });
		assert.equal(positions.size, 24);
	});

	it("indexes list elements and map entries by key", () => {
		const text = `fetch { id { output_index: 2 } }\nfeed [{ id {} },\n  { name: "b" }]`;
		const { positions } = parseTextProto(text, types.Config, "c");
		assert.deepEqual(positions.get("fetch[0].id.output_index"), { line: 1, column: 14, endLine: 1, endColumn: 29 });
		assert.deepEqual(positions.get("feed[1]"), { line: 3, column: 3, endLine: 3, endColumn: 16 });
		assert.deepEqual(positions.get("feed[1].name"), { line: 3, column: 5, endLine: 3, endColumn: 14 });
		const graphPositions = parseTextProto(CONST_GRAPH, types.GraphDef, "g").positions;
		assert.deepEqual(graphPositions.get('node[0].attr["value"]'), { line: 7, column: 3, endLine: 10, endColumn: 4 });
		assert.deepEqual(graphPositions.get('node[0].attr["value"].value.tensor.float_val[1]'), { line: 9, column: 86, endLine: 9, endColumn: 99 });
		assert.deepEqual(graphPositions.get("node[0].input[1]"), { line: 5, column: 3, endLine: 5, endColumn: 14 });
	});

	it("does not count a byte order mark as a column", () => {
		const { positions } = parseTextProto(`\ufefffetch {}`, types.Config, "c");
		assert.deepEqual(positions.get("fetch[0]"), { line: 1, column: 1, endLine: 1, endColumn: 9 });
	});

	it("can skip position bookkeeping", () => {
		assert.equal(parseTextProto(PUBLISHED_CONFIG, types.Config, "c", { positions: false }).positions.size, 0);
	});
});

describe("text format strictness", () => {
	it("rejects an unknown field name, listing the expected ones", () => {
		rejects(`feed {\n  id { nod_name: "x" }\n}`, 2, 8,
			/^unknown field "nod_name" in tensorflow\.tf2xla\.TensorId \(expected one of: node_name, output_index\)$/);
	});

	it("rejects a value of the wrong kind", () => {
		rejects(`feed { shape { dim { size: "3" } } }`, 1, 28, /field "size" in tensorflow\.TensorShapeProto\.Dim expects an integer \(int64\), found the string "3"/);
		rejects(`feed { id { output_index: 1.5 } }`, 1, 27, /expects an integer \(int64\), found the number 1\.5/);
		rejects(`feed { id { node_name: 12 } }`, 1, 24, /field "node_name" .* expects a quoted string/);
		rejects(`variable { readonly: yes }`, 1, 22, /field "readonly" .* expects true or false, found "yes"/);
		rejects(`variable { readonly: 2 }`, 1, 22, /expects true or false/);
		rejects(`feed { id { output_index { } } }`, 1, 26, /field "output_index" in tensorflow\.tf2xla\.TensorId holds a single int64, not a message/);
		rejects(`feed { id: "x" }`, 1, 12, /field "id" in tensorflow\.tf2xla\.Feed is a message \(tensorflow\.tf2xla\.TensorId\); expected "\{" or "<"/);
		rejects(`feed { id { node_name "x" } }`, 1, 23, /expected ":" after field name "node_name"/);
		rejects(`feed { name: ["a"] }`, 1, 14, /field "name" in tensorflow\.tf2xla\.Feed is not repeated/);
	});

	it("rejects integers out of range for their type", () => {
		rejects(`versions { producer: 2147483648 }`, 1, 22, /2147483648 is out of range for field "producer" in tensorflow\.VersionDef \(int32: -2147483648 to 2147483647\)/, types.GraphDef);
		rejects(`uint32_val: 4294967296`, 1, 13, /out of range .*uint32/, types.TensorProto);
		rejects(`uint32_val: -1`, 1, 13, /is unsigned \(uint32\) and cannot be -1/, types.TensorProto);
		rejects(`int64_val: -9223372036854775809`, 1, 12, /out of range .*int64/, types.TensorProto);
		rejects(`uint64_val: 0x10000000000000000`, 1, 13, /out of range .*uint64/, types.TensorProto);
	});

	it("rejects an unknown enum name and suggests the nearest one", () => {
		rejects(`variable {\n  type: DT_FLAOT\n}`, 2, 9, /unknown tensorflow\.DataType value "DT_FLAOT" for field "type" in tensorflow\.tf2xla\.Variable; did you mean DT_FLOAT\?/);
	});

	it("rejects a non-repeated field given twice, and two members of one oneof", () => {
		rejects(`feed { id {} name: "a"\n name: "b" }`, 2, 2, /field "name" in tensorflow\.tf2xla\.Feed is set more than once/);
		rejects(`s: "a" i: 1`, 1, 8, /fields "s" and "i" in tensorflow\.AttrValue belong to oneof "value"/, types.AttrValue);
	});

	it("rejects unterminated strings and messages", () => {
		rejects(`feed { id { node_name: "x } }\n}`, 1, 24, /string is not closed on this line/);
		rejects(`feed {\n  id { node_name: "x" }\n`, 1, 6, /"\{" opening field "feed" in tensorflow\.tf2xla\.Config is never closed; add a matching "\}"/);
		rejects(`feed { id < node_name: "x" } }`, 1, 28, /expected ">" to close field "id" in tensorflow\.tf2xla\.Feed \(opened at 1:11\), found "\}"/);
		rejects(`feed [{ id {} }`, 1, 16, /expected "," or "\]" in the list for field "feed"/);
	});

	it("rejects trailing garbage and stray characters", () => {
		rejects(`feed {}\n}`, 2, 1, /unexpected "\}": no message is open here/);
		rejects(`feed {} 42`, 1, 9, /expected a field name of tensorflow\.tf2xla\.Config, found the number 42/);
		rejects(`feed {} @`, 1, 9, /unexpected character "@"/);
		rejects(`feed { id { output_index: 12abc } }`, 1, 27, /"12abc" is not a number/);
		rejects(`feed { id { output_index: 09 } }`, 1, 27, /reads as octal/);
	});

	it("rejects bad escapes and non-UTF-8 string fields", () => {
		rejects(String.raw`feed { name: "ab\q" }`, 1, 17, /unknown escape "\\q"/);
		rejects(String.raw`feed { name: "\777" }`, 1, 15, /octal escape "\\777" is larger than \\377/);
		rejects(String.raw`feed { name: "\x" }`, 1, 15, /"\\x" escape needs one or two hexadecimal digits/);
		rejects(String.raw`feed { name: "\u12" }`, 1, 15, /"\\u" escape needs exactly 4 hexadecimal digits/);
		rejects(String.raw`feed { name: "ok" "\377" }`, 1, 14, /string for field "name" in tensorflow\.tf2xla\.Feed is not valid UTF-8/);
	});

	it(`caps message nesting at ${MAX_NESTING} levels`, () => {
		const nest = (levels: number): string => `func { attr { key: "k" value { `.repeat(levels) + "} } } ".repeat(levels);
		assert.doesNotThrow(() => parseTextProto(nest(33), types.AttrValue, "deep"));
		// Each repetition opens three messages, so the 101st "{" is the one that goes too deep.
		const text = nest(34);
		let brace = -1;
		for (let count = 0; count <= MAX_NESTING; count++) brace = text.indexOf("{", brace + 1);
		rejects(text, 1, brace + 1, /nested more than 100 levels deep/, types.AttrValue);
	});

	it("throws only TextFormatError, and never hangs, on 12,000 mutated inputs", () => {
		const random = mulberry32(20240607);
		const seeds: [string, typeof types.Config][] = [
			[PUBLISHED_CONFIG, types.Config], [TF_TEST_CONFIG, types.Config], [CONST_GRAPH, types.GraphDef],
			[String.raw`node { attr { key: "s" value { s: "\001\377" list { f: [1, inf, -nan] } } } }`, types.GraphDef],
		];
		const pieces = ["{", "}", "<", ">", "[", "]", ":", ",", ";", '"', "'", "\\", "#", "-", "0x", "07", "1e", ".5", "nan",
			"DT_FLOAT", "\n", "node_name", "feed", "attr", "key", "value", "\\u", "\\x", "\\377", "é", "\ud800", " ", "99999999999999999999"];
		let parsed = 0;
		for (let round = 0; round < 12000; round++) {
			const [seed, type] = seeds[round % seeds.length];
			let text = seed;
			const edits = 1 + Math.floor(random() * 4);
			for (let e = 0; e < edits; e++) {
				const at = Math.floor(random() * (text.length + 1));
				const choice = random();
				if (choice < 0.4) text = text.slice(0, at) + pieces[Math.floor(random() * pieces.length)] + text.slice(at);
				else if (choice < 0.7) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 8));
				else if (choice < 0.85) text = text.slice(0, at) + String.fromCharCode(Math.floor(random() * 128)) + text.slice(at);
				else text = text.slice(0, at) + text.slice(at, at + 20) + text.slice(at);
			}
			try {
				const { message } = parseTextProto(text, type, "fuzz");
				parsed++;
				// Whatever reads must also write and read back identically.
				assert.deepEqual(parseTextProto(formatTextProto(message, type), type, "again").message, message, text);
			} catch (error) {
				if (!(error instanceof TextFormatError)) assert.fail(`${String(error)} for input:\n${text}`);
				assert.doesNotMatch(error.detail, /internal error/, text);
				assert.ok(error.line >= 1 && error.column >= 1, error.message);
			}
		}
		assert.ok(parsed > 100, `only ${parsed} mutated inputs parsed; the fuzz is not reaching the writer`);
	});
});

describe("text format writer", () => {
	it("writes feeds and fetches in TensorFlow's style", () => {
		const text = formatTextProto({
			feed: [{ id: { node_name: "global/Placeholder" }, shape: { dim: [{ size: 1 }] } }],
			fetch: [{ id: { node_name: "global/Softmax" } }],
			variable: [],
		}, types.Config);
		assert.equal(text, `feed {
  id {
    node_name: "global/Placeholder"
  }
  shape {
    dim {
      size: 1
    }
  }
}
fetch {
  id {
    node_name: "global/Softmax"
  }
}
`);
	});

	it("writes map entries sorted by key, enums by name, bytes with octal escapes, fields in number order", () => {
		const text = formatTextProto({
			node: [{
				name: "c\"q",
				op: "Const",
				attr: { value: { tensor: { float_val: [0.5], dtype: 1 } }, dtype: { type: 1 }, s: { s: new Uint8Array([0, 65, 10, 255]) } },
			}],
		}, types.GraphDef);
		assert.equal(text, `node {
  name: "c\\"q"
  op: "Const"
  attr {
    key: "dtype"
    value {
      type: DT_FLOAT
    }
  }
  attr {
    key: "s"
    value {
      s: "\\000A\\n\\377"
    }
  }
  attr {
    key: "value"
    value {
      tensor {
        dtype: DT_FLOAT
        float_val: 0.5
      }
    }
  }
}
`);
	});

	it("round-trips the sample files through format and parse, and through binary encoding", () => {
		for (const [text, type] of [[PUBLISHED_CONFIG, types.Config], [TF_TEST_CONFIG, types.Config], [CONST_GRAPH, types.GraphDef]] as const) {
			const { message } = parseTextProto(text, type, "in");
			const written = formatTextProto(message, type);
			const reread = parseTextProto(written, type, "out").message;
			assert.deepEqual(reread, message);
			assert.deepEqual(encodeMessage(type, reread), type.encode(type.fromObject(message)).finish());
			// A protobufjs message (defaults on its prototype, bytes as Buffer) writes the same text.
			assert.equal(formatTextProto(type.decode(encodeMessage(type, message)), type), written);
		}
	});

	it("writes special floats and awkward strings so they read back", () => {
		const tensor = {
			float_val: [NaN, Infinity, -Infinity, -0, 3.4028234663852886e38, Math.fround(1e-45), Math.fround(0.1)],
			double_val: [0.1, 1e21, 5e-324, -1.7976931348623157e308],
			string_val: [new Uint8Array([0x27, 0x5c, 0x7f, 0x80, 0x22]), new TextEncoder().encode("é\t")],
			int64_val: [-9007199254740991, 0],
		};
		const text = formatTextProto(tensor, types.TensorProto);
		assert.match(text, /float_val: nan\nfloat_val: inf\nfloat_val: -inf\nfloat_val: -0\n/);
		assert.match(text, /string_val: "\\'\\\\\\177\\200\\""\n/);
		assert.deepEqual(parseTextProto(text, types.TensorProto, "t").message, tensor);
	});

	it("refuses values that do not fit the schema, naming the field", () => {
		assert.throws(() => formatTextProto({ feed: [{ id: { output_index: "x" } }] }, types.Config), /field "output_index" of tensorflow\.tf2xla\.TensorId/);
		assert.throws(() => formatTextProto({ feed: {} }, types.Config), /field "feed" of tensorflow\.tf2xla\.Config: it is repeated/);
	});
});

describe("text format performance", () => {
	it("parses a 5 MB GraphDef in linear time (time is logged, not asserted)", () => {
		const nodes: string[] = [];
		let size = 0;
		for (let i = 0; size < 5_000_000; i++) {
			const content = "\\000\\200\\077\\377".repeat(16);
			const node = `node {
  name: "layer_${i}/weights"
  op: "Const"
  input: "layer_${i - 1}/out:0"
  input: "^init"
  device: "/device:CPU:0"
  attr { key: "dtype" value { type: DT_FLOAT } }
  attr {
    key: "value"
    value {
      tensor {
        dtype: DT_FLOAT
        tensor_shape { dim { size: 4 } dim { size: 4 } }
        tensor_content: "${content}"
        float_val: [0.25, -1.5e-3, 7]
      }
    }
  }
}
`;
			nodes.push(node);
			size += node.length;
		}
		const text = nodes.join("");
		let start = performance.now();
		const parsed = parseTextProto<GraphDef>(text, types.GraphDef, "big.pbtxt");
		const withPositions = performance.now() - start;
		start = performance.now();
		parseTextProto<GraphDef>(text, types.GraphDef, "big.pbtxt", { positions: false });
		const withoutPositions = performance.now() - start;
		start = performance.now();
		const written = formatTextProto(parsed.message, types.GraphDef);
		const writing = performance.now() - start;
		console.log(`# ${(text.length / 1e6).toFixed(1)} MB, ${nodes.length} nodes: parse ${withPositions.toFixed(0)} ms with positions `
			+ `(${parsed.positions.size} entries), ${withoutPositions.toFixed(0)} ms without; format ${writing.toFixed(0)} ms`);
		assert.equal(parsed.message.node.length, nodes.length);
		assert.equal(parsed.message.node[7].attr.value.tensor?.tensor_content?.length, 64);
		assert.ok(written.length > 0);
	});
});

describe("text format schemas: MetaGraphDef and SavedModel contents", () => {
	it("accepts every value of every enum field of every schema message by name and by number", () => {
		let cases = 0;
		for (const type of allMessageTypes()) {
			for (const field of type.fieldsArray) {
				field.resolve();
				if (!(field.resolvedType instanceof protobuf.Enum) || field instanceof protobuf.MapField) continue;
				for (const [name, number] of Object.entries(field.resolvedType.values)) {
					const where = `${type.fullName}.${field.name} = ${name}`;
					const byName = parseTextProto<Record<string, unknown>>(`${field.name}: ${name}`, type, "enum.pbtxt").message[field.name];
					const byNumber = parseTextProto<Record<string, unknown>>(`${field.name}: ${number}`, type, "enum.pbtxt").message[field.name];
					assert.deepEqual(byName, field.repeated ? [number] : number, where);
					assert.deepEqual(byNumber, byName, where);
					cases++;
				}
			}
		}
		// DataType alone has 60 names; SaverDef.version, TypeSpecClass, FullTypeId, JitCompile... add more.
		assert.ok(cases > 400, `only ${cases} enum values were checked`);
	});

	it("reads SaverDef.version written by name, as TensorFlow writes it (version: V2)", () => {
		const saver = types.MetaGraphDef.lookupType("tensorflow.SaverDef");
		assert.equal(parseTextProto<{ version: number }>("version: V2", saver, "s.pbtxt").message.version, 2);
		assert.equal(parseTextProto<{ version: number }>("version: LEGACY", saver, "s.pbtxt").message.version, 0);
		assert.equal(formatTextProto({ version: 1 }, saver), "version: V1\n");
	});

	it("round-trips a MetaGraphDef using every new message through the text writer and reader", () => {
		const meta = tf2MetaGraph();
		const text = formatTextProto(meta, types.MetaGraphDef);
		assert.match(text, /\[type\.googleapis\.com\/tensorflow\.TensorShapeProto\] \{/, "a known Any is written expanded");
		assert.match(text, /version: V2/);
		const parsed = parseTextProto<MetaGraphDef>(text, types.MetaGraphDef, "tf2.pbtxt").message;
		assert.deepEqual(normalised(parsed), normalised(meta));
		const concrete = parsed.object_graph_def?.concrete_functions?.["__inference_call_42"];
		assert.deepEqual(concrete?.bound_inputs, [2, 3]);
		assert.equal(parsed.signature_def.serving_default.inputs.sparse.coo_sparse?.indices_tensor_name, "sp_indices:0");
	});

	it("reads an Any both expanded and as type_url plus serialised value, to the same bytes", () => {
		const shape = { dim: [{ size: 3 }, { size: -1 }] };
		const bytes = encodeMessage(types.TensorShapeProto, shape);
		const anyType = messageType("google.protobuf.Any");
		const expanded = parseTextProto<{ type_url: string; value: Uint8Array }>(
			"[type.googleapis.com/tensorflow.TensorShapeProto] { dim { size: 3 } dim { size: -1 } }", anyType, "any.pbtxt",
		).message;
		assert.equal(expanded.type_url, "type.googleapis.com/tensorflow.TensorShapeProto");
		assert.deepEqual([...expanded.value], [...bytes]);
		const plain = parseTextProto<{ value: Uint8Array }>(formatTextProto({ type_url: "x/unknown.Type", value: bytes }, anyType), anyType, "any.pbtxt").message;
		assert.deepEqual([...plain.value], [...bytes]);
		assert.throws(() => parseTextProto("[type.googleapis.com/no.Such] { }", anyType, "any.pbtxt"), /any\.pbtxt:1:1: unknown message type "type\.googleapis\.com\/no\.Such"/);
		assert.throws(() => parseTextProto("node { [x.y/z] { } }", types.GraphDef, "g.pbtxt"), /g\.pbtxt:1:8: extension fields \(\[\.\.\.\]\) are not supported in tensorflow\.NodeDef/);
	});

	const auroraDir = path.join(SHARED_DIR, "models", "aurora");
	const auroraSkip = fs.existsSync(path.join(auroraDir, "saved_model.pbtxt")) ? false : `LiteFlow's Aurora model is absent: expected ${auroraDir}/saved_model.pbtxt`;

	it("reads LiteFlow's Aurora text SavedModel: op list, V2 saver, serving_default signature, 30 checkpoint variables", { skip: auroraSkip }, () => {
		const file = path.join(auroraDir, "saved_model.pbtxt");
		const saved = parseTextProto<SavedModel>(fs.readFileSync(file, "utf8"), types.SavedModel, file, { positions: false }).message;
		assert.equal(saved.meta_graphs.length, 1);
		const meta = saved.meta_graphs[0];
		// Facts from the model's README: producer 26, the serve tag, the signature's tensors, dtypes and shapes.
		assert.deepEqual(meta.meta_info_def?.tags, ["serve"]);
		assert.equal(meta.graph_def?.versions?.producer, 26);
		assert.equal(meta.saver_def?.version, 2);
		const ops = meta.meta_info_def?.stripped_op_list?.op ?? [];
		assert.ok(ops.some((op) => op.name === "MatMul" && op.input_arg?.length === 2), "the stripped op list holds MatMul with its two inputs");
		const signature = meta.signature_def.serving_default;
		assert.deepEqual(Object.keys(signature.inputs), ["ob"]);
		assert.deepEqual(Object.keys(signature.outputs), ["act"]);
		assert.equal(signature.inputs.ob.name, "input/Ob:0");
		assert.equal(signature.inputs.ob.dtype, 1);
		assert.deepEqual(signature.inputs.ob.tensor_shape?.dim?.map((d) => d.size), [-1, 30]);
		assert.equal(signature.outputs.act.name, "model/pi/add:0");
		assert.deepEqual(signature.outputs.act.tensor_shape?.dim?.map((d) => d.size), [-1, 1]);
		assert.equal(openCheckpoint(path.join(auroraDir, "variables", "variables")).keys().length, 30);
	});
});

/** Through protobufjs's own binary encoding and back, so both sides compare in one canonical shape. */
function normalised(message: object): object {
	return types.MetaGraphDef.toObject(types.MetaGraphDef.decode(encodeMessage(types.MetaGraphDef, message)), { longs: Number, bytes: Array });
}

function spec(name: string, dims: number[]): object {
	return { tensor_spec_value: { name, shape: { dim: dims.map((size) => ({ size })) }, dtype: 1 } };
}

/** A MetaGraphDef as a TF2 SavedModel holds one, touching each message the schemas gained. */
function tf2MetaGraph(): object {
	const shapeAny = { type_url: "type.googleapis.com/tensorflow.TensorShapeProto", value: encodeMessage(types.TensorShapeProto, { dim: [{ size: 4 }] }) };
	return {
		meta_info_def: {
			stripped_op_list: {
				op: [{
					name: "StatefulPartitionedCall",
					input_arg: [{ name: "args", type_list_attr: "Tin", handle_data: [{ dtype: 1, shape: { dim: [{ size: 2 }] } }] }],
					output_arg: [{ name: "output", type_list_attr: "Tout", experimental_full_type: { type_id: 1000, args: [{ type_id: 210 }], s: "T" } }],
					control_output: ["ctl"],
					attr: [
						{ name: "Tin", type: "list(type)", has_minimum: true, minimum: 0, default_value: { list: { type: [1] } }, allowed_values: { list: { type: [1, 3] } } },
						{ name: "f", type: "func" },
					],
					deprecation: { version: 27, explanation: "use PartitionedCall" },
					is_stateful: true,
					is_distributed_communication: false,
				}],
			},
			any_info: shapeAny,
			tags: ["serve"],
			tensorflow_version: "2.15.0",
			stripped_default_attrs: true,
			function_aliases: { serve: "__inference_call_42" },
		},
		graph_def: {
			node: [{
				name: "StatefulPartitionedCall", op: "StatefulPartitionedCall", input: ["x", "dense/kernel"],
				attr: { f: { func: { name: "__inference_call_42" } } },
				experimental_debug_info: { original_node_names: ["call"] },
				experimental_type: { type_id: 3, args: [{ type_id: 1000, args: [{ type_id: 210 }] }] },
			}],
			versions: { producer: 1645 },
			library: {
				function: [{
					signature: { name: "__inference_call_42", input_arg: [{ name: "x", type: 1 }, { name: "kernel", type: 20 }], output_arg: [{ name: "y", type: 1 }], control_output: ["read"] },
					attr: { _input_shapes: { list: { shape: [{ dim: [{ size: -1 }] }] } } },
					arg_attr: { 1: { attr: { _user_specified_name: { s: Buffer.from("resource") } } } },
					resource_arg_unique_id: { 1: 0 },
					node_def: [
						{ name: "read", op: "ReadVariableOp", input: ["kernel"], attr: { dtype: { type: 1 } } },
						{ name: "mm", op: "MatMul", input: ["x", "read:value:0"], attr: { T: { type: 1 } } },
					],
					ret: { y: "mm:product:0" },
					control_ret: { read: "read" },
				}],
				gradient: [{ function_name: "__inference_call_42", gradient_func: "grad" }],
				registered_gradients: [{ gradient_func: "grad2", registered_op_type: "Custom" }],
			},
		},
		saver_def: { filename_tensor_name: "saver_filename:0", save_tensor_name: "StatefulPartitionedCall_1:0", restore_op_name: "StatefulPartitionedCall_2", version: 2 },
		collection_def: {
			names: { node_list: { value: ["a:0"] } },
			blobs: { bytes_list: { value: [Buffer.from([0, 1, 255])] } },
			steps: { int64_list: { value: [1, -2, 2 ** 40] } },
			rates: { float_list: { value: [0.5, -1.25] } },
			anys: { any_list: { value: [shapeAny, { type_url: "example.com/not.Known", value: Buffer.from("x") }] } },
		},
		signature_def: {
			serving_default: {
				inputs: {
					x: { name: "serving_default_x:0", dtype: 1, tensor_shape: { dim: [{ size: -1 }, { size: 3 }] } },
					sparse: { coo_sparse: { values_tensor_name: "sp_values:0", indices_tensor_name: "sp_indices:0", dense_shape_tensor_name: "sp_shape:0" }, dtype: 1 },
					ragged: {
						composite_tensor: { type_spec: { type_spec_class: 3, type_state: { tuple_value: { values: [{ none_value: {} }, { int64_value: 1 }] } }, type_spec_class_name: "RaggedTensorSpec" }, components: [{ name: "rt_values:0", dtype: 1 }] },
						dtype: 1,
					},
				},
				outputs: { y: { name: "StatefulPartitionedCall:0", dtype: 1, tensor_shape: { dim: [{ size: -1 }, { size: 1 }] } } },
				method_name: "tensorflow/serving/predict",
				defaults: { x: { dtype: 1, float_val: [0] } },
			},
		},
		asset_file_def: [{ tensor_info: { name: "asset_path:0", dtype: 7 }, filename: "vocab.txt" }],
		object_graph_def: {
			nodes: [
				{ children: [{ node_id: 1, local_name: "layer" }, { node_id: 4, local_name: "signatures" }], user_object: { identifier: "_generic_user_object", version: { producer: 1, min_consumer: 1 } } },
				{ children: [{ node_id: 2, local_name: "kernel" }, { node_id: 3, local_name: "bias" }], dependencies: [{ node_id: 2, local_name: "kernel" }], user_object: { identifier: "_tf_keras_layer", metadata: "{}" } },
				{ variable: { dtype: 1, shape: { dim: [{ size: 3 }, { size: 1 }] }, trainable: true, synchronization: 1, aggregation: 2, name: "dense/kernel", device: "/CPU:0" } },
				{ variable: { dtype: 1, shape: { dim: [{ size: 1 }] }, name: "dense/bias", experimental_distributed_variable_components: [{ dtype: 1, name: "replica_1" }] } },
				{ function: { concrete_functions: ["__inference_call_42"], function_spec: { fullargspec: { named_tuple_value: { name: "FullArgSpec", values: [{ key: "args", value: { list_value: { values: [{ string_value: "x" }] } } }] } }, is_method: true, input_signature: { tuple_value: { values: [spec("x", [-1, 3])] } }, jit_compile: 2 } } },
				{ bare_concrete_function: { concrete_function_name: "__inference_call_42", argument_keywords: ["x"], allowed_positional_arguments: 1 } },
				{ constant: { operation: "Const" } },
				{ resource: { device: "/CPU:0" }, saveable_objects: { table: { save_function: 8, restore_function: 9 } } },
				{ asset: { asset_file_def_index: 0 } },
				{ captured_tensor: { name: "capture", concrete_function: "__inference_call_42" }, registered_name: "pkg.Class", serialized_user_proto: shapeAny, registered_saver: "saver" },
			],
			concrete_functions: {
				__inference_call_42: {
					bound_inputs: [2, 3],
					canonicalized_input_signature: { tuple_value: { values: [{ tuple_value: { values: [spec("x", [-1, 3])] } }, { dict_value: { fields: { training: { bool_value: false } } } }] } },
					output_signature: { bounded_tensor_spec_value: { name: "y", shape: { dim: [{ size: -1 }] }, dtype: 1, minimum: { dtype: 1, float_val: [0] }, maximum: { dtype: 1, float_val: [1] } } },
				},
			},
		},
	};
}

