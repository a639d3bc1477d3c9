// ONNX's own backend tests (Debian's libonnx-testdata): every node test whose ops Kernel NN translates runs in the
// interpreter and as generated C, and must match the expected outputs the ONNX project ships, within ONNX's tolerance.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import type { CompiledModel } from "../../extension/core/codegen/compile";
import { type LoadedModel, ModelLoadError } from "../../extension/core/frontends";
import { LEGACY_OPSET, MAX_OPSET, MIN_OPSET, translateOnnxModel } from "../../extension/core/frontends/onnx/load";
import { TRANSLATORS, translatorFamily } from "../../extension/core/frontends/onnx/ops";
import { type OnnxValueInfoProto, decodeModelProto, decodeTensorProto } from "../../extension/core/frontends/onnx/proto";
import { tensorFromOnnx } from "../../extension/core/frontends/onnx/tensor";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { type TensorRef, parseInputName, refKey } from "../../extension/core/graph/graph";
import { type Tensor, formatShape, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { buildByteHost, runByteHost } from "../support/byteHost";

const DATA = "/usr/share/libonnx-testdata/data";
const dataMissing: string | false = fs.existsSync(path.join(DATA, "node"))
	? false
	: `the ONNX backend test data is absent: expected ${DATA}/node (apt-get install libonnx-testdata)`;
// A missing package in CI is a broken setup, not a reason to pass.
const skip = dataMissing && process.env.CI !== "true" ? dataMissing : false;

// ONNX's backend test tolerance (onnx/backend/test/runner: rtol 1e-3, atol 1e-7).
const RTOL = 1e-3;
const ATOL = 1e-7;
const MIN_PASS_RATE = 0.98;

interface Case {
	suite: string;
	name: string;
	dir: string;
	family: string;
	inputs: Tensor[];
	expected: Tensor[];
}

interface Outcome { case: Case; error?: string }

/** Why a test is out of scope (an op without translator, another domain, an opset outside 7..21), or undefined. */
function unsupportedReason(modelBytes: Uint8Array): string | undefined {
	const model = decodeModelProto(modelBytes);
	const opset = model.opset_import?.find((o) => !o.domain || o.domain === "ai.onnx")?.version ?? 0;
	if ((opset < MIN_OPSET || opset > MAX_OPSET) && opset !== LEGACY_OPSET) return `opset ${opset}`;
	const values = [...(model.graph?.input ?? []), ...(model.graph?.output ?? [])];
	if (values.some((v) => !v.type?.tensor_type)) return "sequence or optional values";
	const initializers = new Map((model.graph?.initializer ?? []).map((t) => [t.name, t]));
	for (const node of model.graph?.node ?? []) {
		if (node.domain && node.domain !== "ai.onnx") return `domain ${node.domain}`;
		if (node.op_type !== "Constant" && !TRANSLATORS.has(node.op_type ?? "")) return `op ${node.op_type}`;
		// Dropout is supported for inference: a training_mode that is fed, or true, asks for random training output.
		const training = node.op_type === "Dropout" ? node.input?.[2] : undefined;
		if (training && !(initializers.has(training) && numbers(tensorFromOnnx(initializers.get(training)!, training))[0] === 0)) return "Dropout in training mode";
	}
	return undefined;
}

/**
 * The test data's tensors in order. ONNX stores FLOAT16 and BFLOAT16 values as their UINT16 bit patterns where the
 * graph declares a half type (`declared`: the graph's element types), so those are read as the bits they are.
 */
function readTensors(dir: string, prefix: string, declared: readonly (number | undefined)[]): Tensor[] {
	const files = fs.readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith(".pb"));
	files.sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
	return files.map((f, i) => {
		const proto = decodeTensorProto(fs.readFileSync(path.join(dir, f)));
		const half = declared[i] === 10 || declared[i] === 16;
		if (half && proto.data_type === 4) {
			const bits = tensorFromOnnx(proto, f).data as Uint16Array;
			return tensorFromOnnx({ dims: proto.dims, data_type: declared[i], raw_data: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength) }, f);
		}
		return tensorFromOnnx(proto, path.join(dir, f));
	});
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** Whether a tensor holds finite values float32 cannot (PyTorch's double tests hold some near 1e200). */
function beyondFloat32(t: Tensor): boolean {
	return t.dtype === "float64" && Array.from(t.data as Float64Array).some((v) => Number.isFinite(v) && Math.abs(v) > FLOAT32_MAX);
}

function collect(suite: string): { cases: Case[]; outOfScope: Map<string, number> } {
	const root = path.join(DATA, suite);
	const cases: Case[] = [];
	const outOfScope = new Map<string, number>();
	if (!fs.existsSync(root)) return { cases, outOfScope };
	for (const name of fs.readdirSync(root).sort()) {
		const dir = path.join(root, name);
		const modelFile = path.join(dir, "model.onnx");
		const dataDir = path.join(dir, "test_data_set_0");
		if (!fs.existsSync(modelFile) || !fs.existsSync(dataDir)) continue;
		const bytes = fs.readFileSync(modelFile);
		const reason = unsupportedReason(bytes);
		if (reason) {
			outOfScope.set(reason, (outOfScope.get(reason) ?? 0) + 1);
			continue;
		}
		const graph = decodeModelProto(bytes).graph;
		const ops = (graph?.node ?? []).map((n) => n.op_type ?? "").filter((op) => op !== "Constant");
		const initialized = new Set((graph?.initializer ?? []).map((t) => t.name));
		const elemTypes = (values: OnnxValueInfoProto[] | undefined) => (values ?? []).filter((v) => !initialized.has(v.name)).map((v) => v.type?.tensor_type?.elem_type);
		let inputs: Tensor[];
		let expected: Tensor[];
		const skipAs = (why: string) => outOfScope.set(why, (outOfScope.get(why) ?? 0) + 1);
		try {
			inputs = readTensors(dataDir, "input_", elemTypes(graph?.input));
			expected = readTensors(dataDir, "output_", elemTypes(graph?.output));
		} catch {
			skipAs("test data of types Kernel NN does not read");
			continue;
		}
		if ([...inputs, ...expected].some((t) => t.dtype === "string")) {
			skipAs("string tensors (Kernel NN computes on numbers)");
			continue;
		}
		if ([...inputs, ...expected].some(beyondFloat32)) {
			skipAs("double values beyond float32's range (Kernel NN computes in float32)");
			continue;
		}
		cases.push({ suite, name, dir, family: translatorFamily(ops[0] ?? "Constant") ?? "?", inputs, expected });
	}
	return { cases, outOfScope };
}

/** ONNX's comparison: same shape, and |actual - expected| <= atol + rtol * |expected| everywhere (NaN matches NaN). */
function mismatch(actual: Tensor | undefined, expected: Tensor, what: string): string | undefined {
	if (!actual) return `${what}: no value`;
	if (formatShape(actual.shape) !== formatShape(expected.shape)) return `${what}: shape ${formatShape(actual.shape)}, expected ${formatShape(expected.shape)}`;
	const a = actual.data as ArrayLike<number>;
	const e = expected.data as ArrayLike<number>;
	for (let i = 0; i < e.length; i++) {
		const x = Number(a[i]);
		const y = Number(e[i]);
		if (Number.isNaN(y) ? Number.isNaN(x) : Math.abs(x - y) <= ATOL + RTOL * Math.abs(y) || x === y) continue;
		return `${what}[${i}] = ${x}, expected ${y}`;
	}
	return undefined;
}

const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split("\n")[0].slice(0, 240);

interface Prepared {
	model: LoadedModel;
	feeds: { ref: TensorRef; value: Tensor }[];
	fetches: TensorRef[];
	/** Graph inputs the harness made initializers, as the translators need them constant. */
	baked: number;
	/** Which of prepare's levels this is. */
	level: number;
}

/**
 * Node tests give weights, axes and shapes as graph inputs, where an export has initializers. Where a translator needs
 * one constant, the test is loaded again with its integer inputs, then all inputs but the first, as initializers.
 */
function prepare(testCase: Case, firstLevel = 0): Prepared {
	const file = path.join(testCase.dir, "model.onnx");
	const bytes = fs.readFileSync(file);
	const declared = (decodeModelProto(bytes).graph?.input ?? []).map((v) => v.name ?? "");
	const integer = testCase.inputs.map((t, i) => (t.dtype.includes("int") ? i : -1)).filter((i) => i >= 0);
	const levels = [[], integer, testCase.inputs.map((_, i) => i).slice(1)];
	let failure: unknown = new Error("no more graph inputs to make initializers");
	for (const [level, bake] of levels.entries()) {
		if (level < firstLevel || (level > 0 && bake.length === 0)) continue;
		try {
			const proto = decodeModelProto(bytes);
			const graph = proto.graph!;
			const inputs = (graph.input ?? []).filter((v) => !(graph.initializer ?? []).some((t) => t.name === v.name));
			const bakedNames = new Set(bake.map((i) => inputs[i]?.name ?? ""));
			graph.initializer = [...(graph.initializer ?? []), ...bake.map((i) => ({ ...decodeTensorProto(fs.readFileSync(path.join(testCase.dir, "test_data_set_0", `input_${i}.pb`))), name: inputs[i].name }))];
			graph.input = (graph.input ?? []).filter((v) => !bakedNames.has(v.name ?? ""));
			const model = translateOnnxModel(proto, file, { modelDir: testCase.dir });
			const given = inputs.map((v, i) => ({ name: v.name ?? "", value: testCase.inputs[i] })).filter((g) => !bakedNames.has(g.name));
			const graphInputs = model.graphInputs ?? [];
			if (graphInputs.length !== given.length) throw new Error(`the model has ${graphInputs.length} graph inputs, the test data ${given.length}`);
			const feeds = graphInputs.map((input, i) => {
				const value = given[i].value;
				// Graph inputs are in the compiler's types (int64 as int32, float64 as float32): convert the test data.
				const dtype = input.dtype ?? value.dtype;
				return { ref: parseInputName(input.tensor).ref, value: dtype === value.dtype ? value : makeTensor(dtype, value.shape, value.data as ArrayLike<number>) };
			});
			const fetches = (model.graphOutputs ?? []).map((o) => parseInputName(o.tensor).ref);
			return { model, feeds, fetches, baked: bake.length, level };
		} catch (error) {
			failure = error;
			// A translator refused a value it needs constant, or the zeros standing for an input made a kernel fail.
			if (!(error instanceof ModelLoadError) || declared.length < 2) break;
		}
	}
	throw failure;
}

const prepared = new Map<Case, Prepared | Error>();

function prepareOnce(testCase: Case): Prepared {
	if (!prepared.has(testCase)) {
		try {
			prepared.set(testCase, prepare(testCase));
		} catch (error) {
			prepared.set(testCase, error instanceof Error ? error : new Error(String(error)));
		}
	}
	const result = prepared.get(testCase)!;
	if (result instanceof Error) throw result;
	return result;
}

function compare(results: readonly (Tensor | undefined)[], testCase: Case): string | undefined {
	for (let i = 0; i < testCase.expected.length; i++) {
		const problem = mismatch(results[i], testCase.expected[i], `output ${i}`);
		if (problem) return problem;
	}
	return undefined;
}

function interpret(testCase: Case): Outcome {
	try {
		const { model, feeds, fetches } = prepareOnce(testCase);
		const results = runGraph(model.graph, new Map(feeds.map((f) => [refKey(f.ref), f.value])), fetches);
		return { case: testCase, error: compare(results, testCase) };
	} catch (error) {
		return { case: testCase, error: firstLine(error) };
	}
}

/** Compiles a case; a feed the compiled graph does not read (one only its shape matters for) is left out. */
function compileCase(testCase: Case, prefix: string): { program: CompiledModel; inputs: Tensor[] } {
	let current = prepareOnce(testCase);
	let used = current.feeds;
	for (;;) {
		try {
			const { config } = buildConfig(current.model.graph, used.map((f) => ({ ref: f.ref, shape: f.value.shape })), current.fetches.map((ref) => ({ ref })));
			return { program: compileModel(current.model.graph, config, prefix, testCase.name), inputs: used.map((f) => f.value) };
		} catch (error) {
			const message = error instanceof Error ? error.message : "";
			const unused = /feed "([^"]+)" is not used/.exec(message)?.[1];
			if (unused && used.some((f) => refKey(f.ref) === unused)) {
				used = used.filter((f) => refKey(f.ref) !== unused);
				continue;
			}
			// The compiler needs a constant (reduction axes, Tile's multiples) the test gives as a graph input.
			if (!/constant/.test(message) || current.level >= 2) throw error;
			try {
				current = prepare(testCase, current.level + 1);
			} catch {
				throw error;
			}
			used = current.feeds;
		}
	}
}

const BATCH = 40;

/** Compiles every case, builds them in batches (one gcc call each), and runs them. */
async function compiledAll(cases: readonly Case[], workDir: string): Promise<Outcome[]> {
	const outcomes: Outcome[] = new Array(cases.length);
	const built: { index: number; program: CompiledModel; inputs: Tensor[] }[] = [];
	cases.forEach((testCase, index) => {
		try {
			built.push({ index, ...compileCase(testCase, `m${index}`) });
		} catch (error) {
			outcomes[index] = { case: cases[index], error: firstLine(error) };
		}
	});
	const batches: (typeof built)[] = [];
	for (let i = 0; i < built.length; i += BATCH) batches.push(built.slice(i, i + BATCH));
	const runBatch = async (batch: typeof built, dir: string): Promise<void> => {
		const binary = await buildByteHost(batch.map((b) => b.program), dir);
		await pool(batch, 2, async (b) => {
			try {
				const results = await runByteHost(binary, batch.indexOf(b), b.program, b.inputs);
				outcomes[b.index] = { case: cases[b.index], error: compare(results, cases[b.index]) };
			} catch (error) {
				outcomes[b.index] = { case: cases[b.index], error: firstLine(error) };
			}
		});
	};
	await pool(batches, 2, async (batch) => {
		const dir = path.join(workDir, `batch${batch[0].index}`);
		try {
			await runBatch(batch, dir);
		} catch {
			// One model that gcc rejects fails its batch: build each alone to name it.
			await pool(batch, 2, async (b) => {
				try {
					await runBatch([b], path.join(dir, `m${b.index}`));
				} catch (error) {
					outcomes[b.index] = { case: cases[b.index], error: `gcc: ${firstLine((error as { stderr?: string }).stderr || error)}` };
				}
			});
		}
	});
	return outcomes;
}

/** Runs `work` over `items` with `limit` at a time (gcc on a 2-core machine). */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
	const results: R[] = new Array(items.length);
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const i = next++;
			results[i] = await work(items[i]);
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
	return results;
}

function table(outcomes: Outcome[]): string[] {
	const families = new Map<string, { passed: number; total: number }>();
	for (const o of outcomes) {
		const row = families.get(o.case.family) ?? { passed: 0, total: 0 };
		row.total++;
		if (!o.error) row.passed++;
		families.set(o.case.family, row);
	}
	return [...families].sort(([a], [b]) => a.localeCompare(b)).map(([family, r]) => `${family.padEnd(12)} ${String(r.passed).padStart(4)}/${String(r.total).padEnd(4)} passed`);
}

function report(t: { diagnostic(message: string): void }, title: string, outcomes: Outcome[], outOfScope?: Map<string, number>): void {
	const passed = outcomes.filter((o) => !o.error).length;
	t.diagnostic(`${title}: ${passed}/${outcomes.length} passed`);
	for (const line of table(outcomes)) t.diagnostic(`  ${line}`);
	for (const o of outcomes.filter((x) => x.error)) t.diagnostic(`  FAIL ${o.case.suite}/${o.case.name}: ${o.error}`);
	if (outOfScope && outOfScope.size > 0) {
		const reasons = [...outOfScope].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${reason} (${n})`);
		t.diagnostic(`  not in scope (no translator yet, other domains, opsets outside ${LEGACY_OPSET}..${MAX_OPSET}): ${reasons.join(", ")}`);
	}
}

function assertRate(outcomes: Outcome[], what: string): void {
	if (outcomes.length === 0) return;
	const passed = outcomes.filter((o) => !o.error).length;
	assert.ok(passed / outcomes.length >= MIN_PASS_RATE,
		`${what}: ${passed} of ${outcomes.length} supported tests pass (${(100 * passed / outcomes.length).toFixed(1)}%), below ${MIN_PASS_RATE * 100}%; the failures are listed above`);
}

describe("ONNX backend tests from libonnx-testdata", { skip }, () => {
	const node = skip ? { cases: [], outOfScope: new Map<string, number>() } : collect("node");
	const pytorch = skip ? [] : [...collect("pytorch-converted").cases, ...collect("pytorch-operator").cases];
	let interpreted: Outcome[] = [];

	it("the data is installed where Debian puts it", () => {
		assert.equal(dataMissing, false, dataMissing || "");
	});

	it("the interpreter matches the expected outputs of at least 98% of the node tests whose ops are translated", (t) => {
		interpreted = node.cases.map(interpret);
		report(t, "node tests, interpreter", interpreted, node.outOfScope);
		assertRate(interpreted, "interpreter");
	});

	it("the generated C matches the expected outputs of at least 98% of the node tests whose ops are translated", async (t) => {
		const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "knn-onnx-node-"));
		try {
			const outcomes = await compiledAll(node.cases, workDir);
			report(t, "node tests, generated C", outcomes);
			assertRate(outcomes, "generated C");
		} finally {
			fs.rmSync(workDir, { recursive: true, force: true });
		}
	});

	it("every pytorch-converted and pytorch-operator test whose ops are translated passes, interpreted and as C", async (t) => {
		const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "knn-onnx-torch-"));
		try {
			const interp = pytorch.map(interpret);
			const c = await compiledAll(pytorch, workDir);
			report(t, "pytorch tests, interpreter", interp);
			report(t, "pytorch tests, generated C", c);
			assert.deepEqual([...interp, ...c].filter((o) => o.error).map((o) => `${o.case.name}: ${o.error}`), []);
		} finally {
			fs.rmSync(workDir, { recursive: true, force: true });
		}
	});
});
