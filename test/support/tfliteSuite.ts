// A TFLite model run by the TFLite runtime (the oracle), Kernel NN's interpreter and the generated C built for the
// host: the check the TFLite front end's op tests share.
import assert from "node:assert/strict";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadTfliteBytes } from "../../extension/core/frontends/tflite/load";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { parseInputName } from "../../extension/core/graph/graph";
import { type Tensor, numbers } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { tempDir } from "./cli";
import { buildHost, gccMissing, runHost } from "./hostBuild";
import { runTflite } from "./tfliteOracle";

/** Relative to the value's magnitude, absolute below 1; the runtime computes float ops with XNNPACK's own order. */
export const TFLITE_FLOAT_TOLERANCE = 1e-5;

function assertClose(what: string, got: Tensor, want: { shape: number[]; data: number[] }): number {
	assert.deepEqual(got.shape, want.shape, `${what}: shape`);
	const g = numbers(got);
	let worst = 0;
	want.data.forEach((w, i) => {
		const error = Math.abs(g[i] - w) / Math.max(Math.abs(w), 1);
		worst = Math.max(worst, error);
		assert.ok(error <= TFLITE_FLOAT_TOLERANCE, `${what}[${i}]: ${g[i]}, TFLite runtime ${w}`);
	});
	return worst;
}

/** Runs `bytes` on `inputs` (the subgraph's inputs in order) in all three; every output must match the runtime's. */
export async function checkTfliteFloat(name: string, bytes: Uint8Array, inputs: Tensor[]): Promise<number> {
	const expected = await runTflite(bytes, inputs.map((t) => numbers(t)));
	const model = loadTfliteBytes(bytes, `${name}.tflite`);
	const graphInputs = model.graphInputs ?? [];
	const fetches = (model.graphOutputs ?? []).map((o) => parseInputName(o.tensor).ref);
	assert.equal(fetches.length, expected.length, `${name}: outputs`);
	const feeds = new Map(graphInputs.map((input, i) => [input.tensor, inputs[i]]));
	let worst = 0;
	runGraph(model.graph, feeds, fetches).forEach((got, k) => (worst = Math.max(worst, assertClose(`${name} interpreter ${model.graphOutputs![k].key}`, got, expected[k]))));
	if (gccMissing) return worst;
	const { config } = buildConfig(model.graph, graphInputs.map((input, i) => ({ ref: parseInputName(input.tensor).ref, shape: inputs[i].shape })), fetches.map((ref) => ({ ref })));
	const prefix = name.replace(/\W/g, "_");
	const compiled = compileModel(model.graph, config, prefix, `${name}.tflite`);
	const [results] = runHost(buildHost(compiled, tempDir(`tflite-${prefix}`)), compiled, inputs, 1);
	results.forEach((got, k) => (worst = Math.max(worst, assertClose(`${name} C ${model.graphOutputs![k].key}`, got, expected[k]))));
	return worst;
}
