import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { CheckpointError, openCheckpoint } from "../../extension/core/frontends/tf/checkpoint/bundle";
import { ConfigError, parseConfig, validateConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { freezeGraph } from "../../extension/core/frontends/tf/freeze";
import { GraphError } from "../../extension/core/graph/graph";
import { ModelLoadError, loadModel, loadModelBytes } from "../../extension/core/frontends";
import { inspectModel } from "../../extension/core/model/inspect";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { TextFormatError, formatTextProto } from "../../extension/core/frontends/tf/proto/textFormat";
import { tempDir } from "../support/cli";
import { INDIGO_DIR, indigoMissing } from "../support/shared";
import { mulberry32 } from "../support/random";

// Parsers face files from anywhere: every mutated or truncated input must end in one of these, never a crash or hang.
const TYPED_ERRORS = [ModelLoadError, TextFormatError, CheckpointError, ConfigError, GraphError];
const CASES_PER_FORMAT = 2600;
const SLOWEST_ALLOWED_MS = 2000;


const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x0a, 0x12, 0x22, 0x08];
const INTERESTING_TEXT = ["{", "}", "<", ">", "[", "]", ":", "\"", "'", "\\", "#", "-", "1e999", "0x", "nan", "\n", "9999999999999999999", "node", "dim"];

/** One random structural mutation: bit flip, boundary byte, truncation, deletion, duplication or insertion. */
function mutateBytes(seed: Uint8Array, random: () => number): Uint8Array {
	const at = Math.floor(random() * seed.length);
	const out = Uint8Array.from(seed);
	switch (Math.floor(random() * 6)) {
		case 0: out[at] ^= 1 << Math.floor(random() * 8); return out;
		case 1: out[at] = INTERESTING_BYTES[Math.floor(random() * INTERESTING_BYTES.length)]; return out;
		case 2: return out.subarray(0, at);
		case 3: return Uint8Array.from([...out.subarray(0, at), ...out.subarray(Math.min(out.length, at + 1 + Math.floor(random() * 64)))]);
		case 4: {
			const len = Math.floor(random() * 64);
			return Uint8Array.from([...out.subarray(0, at), ...out.subarray(at, at + len), ...out.subarray(at)]);
		}
		default: return Uint8Array.from([...out.subarray(0, at), ...Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 256)), ...out.subarray(at)]);
	}
}

function mutateText(seed: string, random: () => number): string {
	const at = Math.floor(random() * seed.length);
	switch (Math.floor(random() * 4)) {
		case 0: return seed.slice(0, at);
		case 1: return seed.slice(0, at) + seed.slice(at + 1 + Math.floor(random() * 16));
		case 2: return seed.slice(0, at) + INTERESTING_TEXT[Math.floor(random() * INTERESTING_TEXT.length)] + seed.slice(at);
		default: return seed.slice(0, at) + String.fromCharCode(32 + Math.floor(random() * 95)) + seed.slice(at + 1);
	}
}

interface Tally { cases: number; accepted: number; rejected: number; slowestMs: number; totalMs: number }

/** Feeds `cases` mutated inputs to `parse`, failing on any error that is not a typed one. */
function fuzz(name: string, cases: number, make: (random: () => number) => unknown, parse: (input: unknown) => void): Tally {
	const random = mulberry32(name.length * 7919 + cases);
	const tally: Tally = { cases, accepted: 0, rejected: 0, slowestMs: 0, totalMs: 0 };
	for (let i = 0; i < cases; i++) {
		const input = make(random);
		const start = performance.now();
		try {
			parse(input);
			tally.accepted++;
		} catch (error) {
			if (!TYPED_ERRORS.some((type) => error instanceof type)) {
				assert.fail(`${name} case ${i}: untyped ${(error as Error)?.constructor?.name}: ${(error as Error)?.stack ?? String(error)}`);
			}
			tally.rejected++;
		}
		const ms = performance.now() - start;
		tally.totalMs += ms;
		tally.slowestMs = Math.max(tally.slowestMs, ms);
		assert.ok(ms < SLOWEST_ALLOWED_MS, `${name} case ${i} took ${ms.toFixed(0)} ms: a parser must not hang`);
	}
	return tally;
}

describe("parsers under mutated and truncated input", { skip: indigoMissing }, () => {
	const tallies: Record<string, Tally> = {};
	const dir = tempDir("fuzz");
	const meta = indigoMissing ? undefined : loadModel(path.join(INDIGO_DIR, "model.meta"));
	const fetches = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];
	const frozen = meta ? freezeGraph(meta.graph, openCheckpoint(path.join(INDIGO_DIR, "model")), fetches).graph : undefined;

	after(() => {
		const total = Object.values(tallies).reduce((sum, t) => sum + t.cases, 0);
		const ms = Object.values(tallies).reduce((sum, t) => sum + t.totalMs, 0);
		for (const [name, t] of Object.entries(tallies)) {
			console.log(`fuzz ${name}: ${t.cases} cases, ${t.accepted} accepted, ${t.rejected} rejected with typed errors, slowest ${t.slowestMs.toFixed(1)} ms`);
		}
		console.log(`fuzz total: ${total} inputs in ${(ms / 1000).toFixed(1)} s, no untyped error, no hang`);
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it("binary GraphDef: only typed errors, and what loads can be inspected", () => {
		const seed = encodeMessage(types.GraphDef, frozen!.toGraphDef());
		tallies["GraphDef .pb"] = fuzz("GraphDef .pb", CASES_PER_FORMAT, (r) => mutateBytes(seed, r), (input) => {
			inspectModel(loadModelBytes(input as Uint8Array, "fuzz.pb"));
		});
	});

	it("text GraphDef: only typed errors, and what loads can be inspected", () => {
		const seed = formatTextProto(frozen!.toGraphDef(), types.GraphDef);
		tallies["GraphDef .pbtxt"] = fuzz("GraphDef .pbtxt", CASES_PER_FORMAT, (r) => mutateText(seed, r), (input) => {
			inspectModel(loadModelBytes(new TextEncoder().encode(input as string), "fuzz.pbtxt"));
		});
	});

	it("checkpoint index and data shard: only typed errors", () => {
		const index = fs.readFileSync(path.join(INDIGO_DIR, "model.index"));
		const data = fs.readFileSync(path.join(INDIGO_DIR, "model.data-00000-of-00001"));
		const prefix = path.join(dir, "model");
		tallies["checkpoint"] = fuzz("checkpoint", CASES_PER_FORMAT, (r) => {
			const mutateIndex = r() < 0.6;
			return { index: mutateIndex ? mutateBytes(index, r) : index, data: mutateIndex ? data : mutateBytes(data, r) };
		}, (input) => {
			const files = input as { index: Uint8Array; data: Uint8Array };
			fs.writeFileSync(`${prefix}.index`, files.index);
			fs.writeFileSync(`${prefix}.data-00000-of-00001`, files.data);
			const checkpoint = openCheckpoint(prefix);
			for (const key of checkpoint.keys()) checkpoint.read(key);
		});
	});

	it("graph.config.pbtxt: only typed errors, and what parses validates against the graph without throwing", () => {
		const seed = [
			"feed {", "  id { node_name: \"global/Placeholder\" }", "  shape { dim { size: 1 } dim { size: 1 } dim { size: 9 } }", "}",
			"feed { id { node_name: \"global/Placeholder_1\" } shape { dim { size: 1 } dim { size: 32 } } }",
			"feed { id { node_name: \"global/Placeholder_2\" } shape { dim { size: 1 } dim { size: 32 } } }",
			"fetch { id { node_name: \"global/Softmax\" } }",
			"fetch { id { node_name: \"global/rnn/while/Exit_2\" output_index: 0 } }",
			"fetch { id { node_name: \"global/rnn/while/Exit_3\" } }",
		].join("\n");
		tallies["graph.config.pbtxt"] = fuzz("graph.config.pbtxt", CASES_PER_FORMAT, (r) => mutateText(seed, r), (input) => {
			validateConfig(frozen!, parseConfig(input as string, "fuzz.config.pbtxt"));
		});
	});
});
