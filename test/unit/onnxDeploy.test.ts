import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import type { DeployReport } from "../../extension/core/deploy/deploy";
import { loadOnnxBytes } from "../../extension/core/frontends/onnx/load";
import { buildConfig, formatConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { parseInputName } from "../../extension/core/graph/graph";
import { type Tensor, makeTensor } from "../../extension/core/graph/tensor";
import { knn, tempDir } from "../support/cli";
import { POLICY, recurrentPolicy } from "../support/onnxPolicy";
import { runOrtSteps } from "../support/ortOracle";
import { withSandbox } from "../support/sandbox";

// An ONNX LSTM policy (as torch.onnx.export writes one with a fixed batch of 1: an LSTM layer, then Gemm + Softmax)
// deployed into the sandbox VM's kernel, its state fed back over 10 steps, against onnxruntime run step by step.

const sandbox = withSandbox("onnx-deploy");
const { input: INPUT, hidden: HIDDEN } = POLICY;
const STEPS = 10;
const TOLERANCE = 1e-5;

describe("an ONNX LSTM policy deployed to the sandbox VM's kernel", () => {
	let modelPath: string;
	let configPath: string;
	let inputsPath: string;
	let observation: Tensor;
	let fetchNames: Record<string, string>;

	before(() => {
		const dir = tempDir("onnx-deploy");
		const bytes = recurrentPolicy("LSTM");
		modelPath = path.join(dir, "policy.onnx");
		fs.writeFileSync(modelPath, bytes);
		const model = loadOnnxBytes(bytes, modelPath);
		const inputs = model.graphInputs ?? [];
		const outputs = model.graphOutputs ?? [];
		const { config } = buildConfig(model.graph, inputs.map((input) => ({ ref: parseInputName(input.tensor).ref, shape: input.shape })),
			outputs.map((output) => ({ ref: parseInputName(output.tensor).ref })));
		configPath = path.join(dir, "policy.config.pbtxt");
		fs.writeFileSync(configPath, formatConfig(config));
		fetchNames = Object.fromEntries(outputs.map((output) => [output.key, parseInputName(output.tensor).ref.node]));
		observation = makeTensor("float32", [1, 1, INPUT], Array.from({ length: INPUT }, (_, i) => Math.fround(0.1 * i - 0.3)));
		inputsPath = path.join(dir, "inputs.json");
		fs.writeFileSync(inputsPath, JSON.stringify({
			feeds: { obs: [[Array.from(observation.data as Float32Array)]] }, steps: STEPS, feedback: { h0: fetchNames.hn, c0: fetchNames.cn },
		}));
	});

	/** Deploys with `inputs` and checks every step's probs, hn and cn against onnxruntime's; returns the worst relative error. */
	function deployAndCompare(inputs: string, prefix: string, expected: Record<string, Tensor>[]): { report: DeployReport; worst: number } {
		const result = knn("deploy", modelPath, "--config", configPath, "--target", "sandbox", "--sandbox-dir", sandbox.dir,
			"--inputs", inputs, "--prefix", prefix, "--json");
		assert.equal(result.status, 0, result.stdout + result.stderr);
		const report = JSON.parse(result.stdout) as DeployReport;
		assert.ok(report.ok, `${report.error}\n${JSON.stringify(report.stages)}`);
		assert.equal(report.kernel.steps.length, STEPS);
		let worst = 0;
		report.kernel.steps.forEach((step, i) => {
			for (const name of ["probs", "hn", "cn"]) {
				const actual = (step[fetchNames[name]] as unknown[]).flat(3) as number[];
				const want = Array.from(expected[i][name].data as Float32Array);
				assert.equal(actual.length, want.length, `step ${i} ${name}`);
				want.forEach((value, k) => {
					const error = Math.abs(actual[k] - value) / Math.max(Math.abs(value), 1);
					worst = Math.max(worst, error);
					assert.ok(error <= TOLERANCE, `step ${i} ${name}[${k}]: kernel ${actual[k]}, onnxruntime ${value}`);
				});
			}
		});
		return { report, worst };
	}

	it(`knn deploy policy.onnx --target sandbox: every value of a ${STEPS}-step fed-back run within ${TOLERANCE} of onnxruntime run step by step`, { skip: sandbox.unavailable }, async () => {
		const zeros = makeTensor("float32", [1, 1, HIDDEN]);
		const expected = await runOrtSteps(fs.readFileSync(modelPath), { obs: observation, h0: zeros, c0: zeros }, STEPS, { h0: "hn", c0: "cn" });
		const { report, worst } = deployAndCompare(inputsPath, "onnx_policy", expected);
		console.log(`ONNX LSTM policy in the kernel: ${STEPS} steps, largest error vs onnxruntime ${worst.toExponential(2)}; ` +
			report.stages.map((s) => `${s.name} ${s.ms} ms`).join(", "));
	});

	it(`a ${STEPS}-row data set (feedsPerStep, state reset at row 5) runs in one load, every value within ${TOLERANCE} of onnxruntime row by row`, { skip: sandbox.unavailable }, async () => {
		const rows = Array.from({ length: STEPS }, (_, s) => makeTensor("float32", [1, 1, INPUT], Array.from({ length: INPUT }, (_, i) => Math.fround(0.1 * i - 0.3 + 0.07 * s))));
		const zeros = makeTensor("float32", [1, 1, HIDDEN]);
		const zeroState = [[Array.from({ length: HIDDEN }, () => 0)]];
		const dataSet = path.join(tempDir("onnx-deploy-rows"), "rows.json");
		fs.writeFileSync(dataSet, JSON.stringify({
			feedsPerStep: rows.map((row, s) => ({ obs: [[Array.from(row.data as Float32Array)]], ...(s === 5 ? { h0: zeroState, c0: zeroState } : {}) })),
			feedback: { h0: fetchNames.hn, c0: fetchNames.cn },
		}));
		const expected = await runOrtSteps(fs.readFileSync(modelPath), { obs: rows[0], h0: zeros, c0: zeros }, STEPS, { h0: "hn", c0: "cn" },
			(s): Record<string, Tensor> => (s === 5 ? { obs: rows[s], h0: zeros, c0: zeros } : { obs: rows[s] }));
		const { report } = deployAndCompare(dataSet, "onnx_rows", expected);
		assert.equal(report.stages.filter((stage) => stage.name === "load").length, 1);
	});
});
