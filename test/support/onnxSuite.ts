// One ONNX model holding many variants of an op, run by onnxruntime (the oracle), the interpreter and the generated C
// built for the host: the check the ONNX op tests share.
import assert from "node:assert/strict";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadOnnxBytes } from "../../extension/core/frontends/onnx/load";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { parseInputName } from "../../extension/core/graph/graph";
import { type DType, type Tensor, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import * as fs from "node:fs";
import * as path from "node:path";
import { knn, tempDir } from "./cli";
import { buildHost, runHost } from "./hostBuild";
import { type OnnxAttrSpec, type OnnxNodeSpec, buildOnnxModel } from "./onnxBuilder";
import { runOrt } from "./ortOracle";

/** Relative to the value's magnitude, absolute below 1: the 1e-5 the issue sets for matching onnxruntime. */
export const ONNX_TOLERANCE = 1e-5;

export interface OnnxSuite {
	/** Also the C prefix (non-word characters become "_"). */
	name: string;
	opset?: number;
	/** Graph inputs (fed), in order. */
	inputs: Record<string, Tensor>;
	/** Initializers no node reads are left out of the model. */
	initializers?: Record<string, Tensor>;
	nodes: OnnxNodeSpec[];
	/** The graph outputs; default: every node output. */
	outputs?: string[];
	/** Element types of outputs that are not float32. */
	outputTypes?: Record<string, DType>;
}

/** One node of `op` reading `inputs`, writing `out` (named after its first output). */
export function onnxNode(op: string, inputs: string[], out: string | string[], attrs: Record<string, OnnxAttrSpec> = {}): OnnxNodeSpec {
	const outputs = typeof out === "string" ? [out] : out;
	return { op, inputs, outputs, attrs, name: outputs[0] };
}

/** float32 values drawn uniformly from [low, high). */
export function uniform(random: () => number, shape: number[], low = -1, high = 1): Tensor {
	const size = shape.reduce((a, b) => a * b, 1);
	return makeTensor("float32", shape, Array.from({ length: size }, () => Math.fround(low + random() * (high - low))));
}

/** The suite as an ONNX file, with the names of its graph outputs. */
export function onnxSuiteModel(suite: OnnxSuite): { bytes: Uint8Array; outputs: string[] } {
	const outputs = suite.outputs ?? suite.nodes.flatMap((n) => n.outputs.filter((o) => o !== ""));
	const used = new Set(suite.nodes.flatMap((n) => n.inputs));
	const bytes = buildOnnxModel({
		opset: suite.opset ?? 17,
		inputs: Object.entries(suite.inputs).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
		outputs: outputs.map((name) => ({ name, dtype: suite.outputTypes?.[name] })),
		initializers: Object.entries(suite.initializers ?? {}).filter(([name]) => used.has(name)).map(([name, value]) => ({ name, value })),
		nodes: suite.nodes,
	});
	return { bytes, outputs };
}

/** Asserts every value within ONNX_TOLERANCE of onnxruntime's (NaN where it has NaN); returns the worst error. */
export function assertCloseToOrt(what: string, got: Tensor, want: Tensor): number {
	assert.deepEqual(got.shape, want.shape, `${what}: shape`);
	const g = numbers(got);
	const w = numbers(want);
	let worst = 0;
	for (let i = 0; i < w.length; i++) {
		if (Number.isNaN(w[i]) && Number.isNaN(g[i])) continue;
		const error = Math.abs(g[i] - w[i]) / Math.max(Math.abs(w[i]), 1);
		worst = Math.max(worst, error);
		assert.ok(error <= ONNX_TOLERANCE, `${what}[${i}]: ${g[i]}, onnxruntime ${w[i]}`);
	}
	return worst;
}

// 64-bit graph inputs cross the boundary in 32 bits (the front end declares them so), as a config and knn run feed them.
const BOUNDARY: Partial<Record<DType, DType>> = { int64: "int32", uint64: "uint32", float64: "float32" };

function atBoundary(t: Tensor): Tensor {
	const dtype = BOUNDARY[t.dtype];
	return dtype ? makeTensor(dtype, t.shape, numbers(t)) : t;
}

/**
 * The command-line path a user takes: `knn config MODEL.onnx` from the model's own names into `dir`, then `knn run
 * --json` with `inputs` as INPUTS.json; each step's fetches by name, flattened.
 */
export function knnConfigAndRun(modelPath: string, inputs: object): Record<string, number[]>[] {
	const dir = path.dirname(modelPath);
	const configPath = path.join(dir, `${path.basename(modelPath, ".onnx")}.config.pbtxt`);
	const configured = knn("config", modelPath, "--out", configPath);
	assert.equal(configured.status, 0, configured.stderr);
	const inputsPath = path.join(dir, "inputs.json");
	fs.writeFileSync(inputsPath, JSON.stringify(inputs));
	const run = knn("run", modelPath, "--config", configPath, "--inputs", inputsPath, "--json");
	assert.equal(run.status, 0, run.stderr);
	const { steps } = JSON.parse(run.stdout) as { steps: Record<string, unknown[]>[] };
	return steps.map((step) => Object.fromEntries(Object.entries(step).map(([name, value]) => [name, value.flat(Infinity) as number[]])));
}

/** Runs a suite in onnxruntime, the interpreter and the compiled C; every output must match onnxruntime's. */
export async function checkOnnxSuite(suite: OnnxSuite): Promise<number> {
	const { bytes, outputs } = onnxSuiteModel(suite);
	const expected = await runOrt(bytes, suite.inputs);
	const model = loadOnnxBytes(bytes, `${suite.name}.onnx`);
	const inputs = model.graphInputs ?? [];
	const fetches = (model.graphOutputs ?? []).map((o) => parseInputName(o.tensor).ref);
	assert.deepEqual((model.graphOutputs ?? []).map((o) => o.key), outputs);
	const feeds = new Map(inputs.map((input) => [input.tensor, atBoundary(suite.inputs[input.key])]));
	const interpreted = runGraph(model.graph, feeds, fetches);
	let worst = 0;
	outputs.forEach((name, k) => (worst = Math.max(worst, assertCloseToOrt(`${suite.name} interpreter ${name}`, interpreted[k], expected[name]))));
	const { config } = buildConfig(model.graph, inputs.map((input) => ({ ref: parseInputName(input.tensor).ref, shape: suite.inputs[input.key].shape })), fetches.map((ref) => ({ ref })));
	const compiled = compileModel(model.graph, config, suite.name.replace(/\W/g, "_"), `${suite.name}.onnx`);
	const binary = buildHost(compiled, tempDir(`onnx-${suite.name}`));
	const [results] = runHost(binary, compiled, inputs.map((input) => suite.inputs[input.key]), 1);
	outputs.forEach((name, k) => (worst = Math.max(worst, assertCloseToOrt(`${suite.name} C ${name}`, results[k], expected[name]))));
	return worst;
}
