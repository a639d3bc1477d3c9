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
import { mutateBytes, mutateText } from "../fuzz/bytes";
import { Rng } from "../fuzz/random";
import { FORMATS } from "../fuzz/cases";
import { runCases } from "../fuzz/pool";
import { FAILING, FuzzSummary, saveCase } from "../fuzz/summary";

// Parsers face files from anywhere: every mutated or truncated input must end in one of these, never a crash or hang.
const TYPED_ERRORS = [ModelLoadError, TextFormatError, CheckpointError, ConfigError, GraphError];
const CASES_PER_FORMAT = 2600;
const SLOWEST_ALLOWED_MS = 2000;

interface Tally { cases: number; accepted: number; rejected: number; slowestMs: number; totalMs: number }

/** Feeds `cases` mutated inputs to `parse`, failing on any error that is not a typed one. */
function fuzz(name: string, cases: number, make: (rng: Rng) => unknown, parse: (input: unknown) => void): Tally {
	const rng = new Rng(name.length * 7919 + cases);
	const tally: Tally = { cases, accepted: 0, rejected: 0, slowestMs: 0, totalMs: 0 };
	for (let i = 0; i < cases; i++) {
		const input = make(rng);
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
			const mutateIndex = r.chance(0.6);
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

// Structure-aware cases (valid protobuf/flatbuffer structure, extreme values inside) through inspect, config --check,
// run and compile, each in a child process watched for time and memory. `npm run fuzz` is the long run of the same.
const STRUCTURED_CASES_PER_FORMAT = 150;
const STRUCTURED_SEED = 11;
const CASE_OPTIONS = { maxChain: 2000 };
const RESULTS_DIR = path.resolve(__dirname, "../../test-results/fuzz-ci");

describe("structure-aware fuzzing: hostile TF, ONNX and TFLite models, configs and inputs", () => {
	it("every case finishes or is refused with a typed error, within 10 s and 1 GB, and unmutated seeds finish every stage", async () => {
		const summary = new FuzzSummary();
		const saved: string[] = [];
		fs.rmSync(RESULTS_DIR, { recursive: true, force: true });
		const requests = Array.from({ length: STRUCTURED_CASES_PER_FORMAT * FORMATS.length }, (_, i) => ({ format: FORMATS[i % FORMATS.length], index: Math.floor(i / FORMATS.length) }));
		await runCases(requests, {
			jobs: 1, runSeed: STRUCTURED_SEED, caseOptions: CASE_OPTIONS, timeLimitMs: 10_000, memoryLimitMb: 1024,
			onReport: (report) => {
				summary.add(report);
				if (FAILING.has(report.outcome)) saved.push(saveCase(RESULTS_DIR, report, STRUCTURED_SEED, CASE_OPTIONS));
			},
		});
		console.log(summary.format());
		const failing = [...FAILING].map((o) => `${o} ${summary.count(o)}`).join(", ");
		assert.equal(summary.total, requests.length);
		assert.equal(summary.brokenSeeds.length, 0, `unmutated seed models must go through every stage:\n${summary.format()}`);
		assert.ok([...FAILING].every((o) => summary.count(o) === 0), `${failing}; cases written to ${saved.join(", ")}\n${summary.format()}`);
	});
});
