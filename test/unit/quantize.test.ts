// knn quantize on LiteFlow's Aurora policy (../shared/models/aurora): the produced int8 .tflite is run by the real
// TFLite runtime and compared with a float64 forward pass from the checkpoint, against LiteFlow's own int8 model
// (0.0213 mean / 0.082 max abs error over the 60 representative rows, ../shared/models/aurora/README.md); and the
// same file compiled to integer-only C agrees with the runtime on every row.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { fromFixedPoint, toFixedPoint } from "../../extension/core/codegen/cint/noFpu";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadModelBytes } from "../../extension/core/frontends";
import type { Tf2xlaConfig } from "../../extension/core/frontends/tf/proto/types";
import { parseInputName } from "../../extension/core/graph/graph";
import { makeTensor, numbers } from "../../extension/core/graph/tensor";
import { auroraFloatPolicy, auroraRows } from "../support/aurora";
import { knn, tempDir } from "../support/cli";
import { buildHost, gccMissing, runHostBlocks } from "../support/hostBuild";
import { AURORA_DIR, auroraMissing } from "../support/shared";
import { runTfliteSteps, tfliteRuntimeMissing } from "../support/tfliteOracle";

const LITEFLOW_MEAN = 0.0213;
const LITEFLOW_MAX = 0.082;

describe("knn quantize of Aurora's float SavedModel with its representative dataset", { skip: auroraMissing || tfliteRuntimeMissing() || false }, () => {
	let dir: string;
	let configPath: string;
	let rows: number[][];
	let reference: number[];
	/** Per kind: the produced file, its output step and the runtime's output on every row. */
	const produced = new Map<string, { file: string; step: number; runtime: number[] }>();

	before(() => {
		dir = tempDir("quantize");
		configPath = path.join(dir, "aurora.config.pbtxt");
		const config = knn("config", AURORA_DIR, "--signature", "serving_default", "--out", configPath);
		assert.equal(config.status, 0, config.stderr);
		rows = auroraRows();
		reference = auroraFloatPolicy(rows);
	});

	for (const perChannel of [false, true]) {
		const kind = perChannel ? "per-channel" : "per-tensor";
		it(`${kind}: the TFLite runtime running the .tflite is within LiteFlow's int8 error of the float64 policy (mean <= ${LITEFLOW_MEAN}, max <= ${LITEFLOW_MAX}), and the report states the same error`, async () => {
			const out = path.join(dir, `aurora_${kind}.tflite`);
			const result = knn("quantize", AURORA_DIR, "--config", configPath, "--calibration", path.join(AURORA_DIR, "representative_dataset.npy"),
				"--out", out, "--json", ...(perChannel ? ["--per-channel"] : []));
			assert.equal(result.status, 0, result.stderr);
			const report = JSON.parse(result.stdout) as { outputs: { meanAbsError: number; maxAbsError: number; step: number }[] };
			const outputs = await runTfliteSteps(fs.readFileSync(out), rows.map((row) => [row]));
			produced.set(kind, { file: out, step: report.outputs[0].step, runtime: outputs.map((step) => step[0].data[0]) });
			const errors = outputs.map((step, i) => Math.abs(step[0].data[0] - reference[i]));
			const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
			const max = Math.max(...errors);
			console.log(`quantize aurora ${kind}: ${result.ms.toFixed(0)} ms; TFLite runtime vs float64: mean ${mean.toFixed(4)}, max ${max.toFixed(4)} ` +
				`(LiteFlow ${LITEFLOW_MEAN} / ${LITEFLOW_MAX}); report mean ${report.outputs[0].meanAbsError.toFixed(4)}, max ${report.outputs[0].maxAbsError.toFixed(4)}`);
			assert.ok(mean <= LITEFLOW_MEAN, `mean abs error ${mean}`);
			assert.ok(max <= LITEFLOW_MAX, `max abs error ${max}`);
			assert.ok(Math.abs(report.outputs[0].meanAbsError - mean) < 1e-3, `the report's mean ${report.outputs[0].meanAbsError} vs the runtime's ${mean}`);
		});

		it(`${kind}: the .tflite's integer C equals the TFLite runtime on every row, and with --no-fpu (fixed-point edges) is within 1 output step`, { skip: gccMissing }, () => {
			const { file, step, runtime } = produced.get(kind) ?? assert.fail("the quantize test above did not produce the model");
			const model = loadModelBytes(fs.readFileSync(file), file);
			const [feed, fetch] = [model.graphInputs![0], model.graphOutputs![0]].map((t) => parseInputName(t.tensor).ref);
			const config: Tf2xlaConfig = {
				feed: [{ id: { node_name: feed.node, output_index: feed.index }, shape: { dim: [{ size: 1 }, { size: 30 }] } }],
				fetch: [{ id: { node_name: fetch.node, output_index: fetch.index } }],
				variable: [],
			};
			// Float32 edges (QUANTIZE and DEQUANTIZE as TFLite computes them), every quantized op in integers.
			const floatEdges = compileModel(model.graph, config, "aurf", file);
			const floatResults = runHostBlocks(buildHost(floatEdges, tempDir("quantize-c")), floatEdges, rows.map((row) => [makeTensor("float32", [1, 30], row)]), rows.length);
			floatResults.forEach(([result], i) => assert.equal(numbers(result)[0], Math.fround(runtime[i]), `row ${i}: the C with float32 edges gives ${numbers(result)[0]}, the TFLite runtime ${runtime[i]}`));
			const compiled = compileModel(model.graph, config, "aurq", file, { noFpu: true });
			const [inBits, outBits] = [compiled.noFpu!.arguments[0]!, compiled.noFpu!.results[0]!];
			const binary = buildHost(compiled, tempDir("quantize-c"));
			const blocks = rows.map((row) => [makeTensor("int32", [1, 30], toFixedPoint(row, inBits))]);
			const results = runHostBlocks(binary, compiled, blocks, rows.length);
			let exact = 0;
			results.forEach(([result], i) => {
				const value = fromFixedPoint(numbers(result), outBits)[0];
				const steps = Math.abs(value - runtime[i]) / step;
				assert.ok(steps <= 1 + 1e-3, `row ${i}: the C gives ${value}, the TFLite runtime ${runtime[i]} (${steps.toFixed(2)} steps of ${step})`);
				if (steps < 0.5) exact++;
			});
			console.log(`quantize aurora ${kind}: integer C equals the TFLite runtime on ${rows.length} of ${rows.length} rows with float32 edges, on ${exact} with --no-fpu's fixed-point edges, the rest within 1 step`);
		});
	}
});
