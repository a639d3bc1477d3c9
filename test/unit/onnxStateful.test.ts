import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadConfigured } from "../../extension/core/model/prepare";
import { type Tensor, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { knn, tempDir } from "../support/cli";
import { buildHost, runHost } from "../support/hostBuild";
import { POLICY, recurrentPolicy } from "../support/onnxPolicy";
import { runOrtSteps } from "../support/ortOracle";
import { ONNX_TOLERANCE, assertCloseToOrt, knnConfigAndRun } from "../support/onnxSuite";

// Recurrent ONNX policies with their state fed back from step to step, as a kernel module runs them: the config
// written from the model's own names, `knn run` with an INPUTS.json feedback map, and the generated C with the same
// feedback, each against onnxruntime run once per step with its outputs fed back by the test.

const STEPS = 10;

for (const cell of ["LSTM", "GRU"] as const) {
	describe(`an ONNX ${cell} policy, state fed back over ${STEPS} steps`, () => {
		const state: Record<string, string> = cell === "LSTM" ? { h0: "hn", c0: "cn" } : { h0: "hn" };
		const outputs = ["probs", ...Object.values(state)];
		const observation = makeTensor("float32", [1, 1, POLICY.input], Array.from({ length: POLICY.input }, (_, i) => Math.fround(0.1 * i - 0.3)));
		const dir = tempDir(`onnx-${cell.toLowerCase()}-steps`);
		const modelPath = path.join(dir, "policy.onnx");
		const configPath = path.join(dir, "policy.config.pbtxt");
		const bytes = recurrentPolicy(cell);
		fs.writeFileSync(modelPath, bytes);
		const expected = (): Promise<Record<string, Tensor>[]> => {
			const zeros = makeTensor("float32", [1, 1, POLICY.hidden]);
			return runOrtSteps(bytes, { obs: observation, ...Object.fromEntries(Object.keys(state).map((name) => [name, zeros])) }, STEPS, state);
		};

		it(`knn config from the model's names, then knn run with feedback ${JSON.stringify(state)}: every step within ${ONNX_TOLERANCE} of onnxruntime`, async () => {
			const steps = knnConfigAndRun(modelPath, { feeds: { obs: [[Array.from(observation.data as Float32Array)]] }, steps: STEPS, feedback: state });
			const want = await expected();
			assert.equal(steps.length, STEPS);
			steps.forEach((step, i) => {
				for (const name of outputs) {
					const got = makeTensor("float32", want[i][name].shape, step[name]);
					assertCloseToOrt(`step ${i} ${name}`, got, want[i][name]);
				}
			});
		});

		it(`the generated C with the same feedback: every step within ${ONNX_TOLERANCE} of onnxruntime`, async () => {
			if (!fs.existsSync(configPath)) assert.equal(knn("config", modelPath, "--out", configPath).status, 0);
			const { graph, parsed } = loadConfigured(modelPath, configPath);
			const compiled = compileModel(graph, parsed.config, `onnx_${cell.toLowerCase()}`, "policy.onnx");
			const argNames = compiled.program.argumentNames;
			const resultNames = compiled.program.resultNames;
			const feedback = Object.entries(state).map(([from, to]) => [argNames.indexOf(from), resultNames.indexOf(to)] as [number, number]);
			const zeros = makeTensor("float32", [1, 1, POLICY.hidden]);
			const inputs = argNames.map((name) => (name === "obs" ? observation : zeros));
			const results = runHost(buildHost(compiled, dir), compiled, inputs, STEPS, feedback);
			const want = await expected();
			results.forEach((step, i) => outputs.forEach((name) => {
				const value = step[resultNames.indexOf(name)];
				assertCloseToOrt(`C step ${i} ${name}`, makeTensor("float32", want[i][name].shape, numbers(value)), want[i][name]);
			}));
		});
	});
}
