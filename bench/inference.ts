// Inference speed of Kernel NN's generated C beside the two C peers a user would pick instead (onnxruntime through its
// C API, onnx2c's generated C), on the same models with the same weights, single thread, in one run; and against the
// FLOP lower bound of this CPU. Run: npm run bench. Prints one table; ratios are from this one run.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type CompiledModel, compileModel } from "../extension/core/codegen/compile";
import { countFlops } from "../extension/core/codegen/flops";
import { loadModelBytes } from "../extension/core/frontends";
import { graphIoRequests } from "../extension/core/frontends/onnx/config";
import { buildConfig } from "../extension/core/frontends/tf/tf2xlaConfig";
import { type EngineBuild, GENERATED_CFLAGS, buildOrtHarness, knnEngine, onnx2cEngine, ortEngine } from "./peers/engines";
import { EngineProcess } from "./peers/engineProcess";
import { type BenchModel, cnnModel, indigoModel, mlpModel } from "./peers/models";
import { onnx2cBinary } from "./peers/onnx2c";

/** Interleaved rounds per model, each one batch of calls per engine lasting about BATCH_NS. */
const ROUNDS = 31;
const BATCH_NS = 20e6;
/** An engine whose outputs differ from the reference by more than this, relative to the largest reference value, is not timed. */
const AGREEMENT = 1e-4;
const ORT_LABEL = "onnxruntime (C API)";

/**
 * Single-precision FLOP/s of one core with vectorised multiply-adds (the peak the bound is taken from), per CPU:
 * the CPUs of a virtual machine need not run alike, so engines are pinned to the fastest (KNN_BENCH_CPU overrides).
 */
function peakFlops(dir: string): { peak: number; cpu?: number } {
	const source = path.join(dir, "peak.c");
	fs.writeFileSync(source, `#include <stdio.h>
#include <time.h>
int main(void) {
	float acc[64]; struct timespec a, b; long n = 20000000, i; int j; float s = 0;
	for (j = 0; j < 64; ++j) acc[j] = j * 0.001f;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; ++i) for (j = 0; j < 64; ++j) acc[j] = acc[j] * 0.9999f + 0.0001f;
	clock_gettime(CLOCK_MONOTONIC, &b);
	for (j = 0; j < 64; ++j) s += acc[j];
	printf("%f %f\\n", 2.0 * 64 * n / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9), s);
	return 0;
}
`);
	const binary = path.join(dir, "peak");
	execFileSync("gcc", ["-O3", "-march=native", source, "-o", binary]);
	const rate = (cpu?: number) => Math.max(...[0, 1, 2].map(() => {
		const out = cpu === undefined ? execFileSync(binary, { encoding: "utf8" }) : execFileSync("taskset", ["-c", String(cpu), binary], { encoding: "utf8" });
		return Number(out.split(" ")[0]);
	}));
	let cpus: number[] = [];
	try {
		execFileSync("taskset", ["--version"], { stdio: "pipe" });
		cpus = process.env.KNN_BENCH_CPU ? [Number(process.env.KNN_BENCH_CPU)] : os.cpus().map((_, i) => i);
	} catch {
		return { peak: rate() };
	}
	const rates = cpus.map((cpu) => ({ cpu, peak: rate(cpu) }));
	return rates.reduce((best, r) => (r.peak > best.peak ? r : best));
}

/** The ONNX file through Kernel NN's own front end, feeds and fetches as the file declares them (knn's default). */
function compileOnnx(model: BenchModel, onnxFile: string): CompiledModel {
	const loaded = loadModelBytes(model.onnx, onnxFile);
	const { feeds, fetches } = graphIoRequests(loaded, [], []);
	return compileModel(loaded.graph, buildConfig(loaded.graph, feeds, fetches).config, model.prefix, model.name);
}

function compileTf(model: BenchModel, tf: NonNullable<BenchModel["tf"]>): CompiledModel {
	const feeds = tf.feeds.map((node, i) => ({ ref: { node, index: 0 }, shape: model.inputs[i].shape }));
	const { config } = buildConfig(tf.graph, feeds, tf.fetches.map((node) => ({ ref: { node, index: 0 } })));
	return compileModel(tf.graph, config, `${model.prefix}_tf`, `${model.name} (TensorFlow graph)`);
}

/** Wall time of `knn compile` on the ONNX file through the bundled CLI, best of 3, or why it was not measured. */
function cliCompileTime(onnxFile: string, dir: string): string {
	const cli = path.join(__dirname, "..", "dist", "knn.js");
	if (!fs.existsSync(cli)) return "not measured: dist/knn.js is missing (npm run build)";
	const config = path.join(dir, "cli.config.pbtxt");
	execFileSync(process.execPath, [cli, "config", onnxFile, "--out", config], { stdio: "pipe" });
	const times = [0, 1, 2].map((i) => {
		const start = performance.now();
		execFileSync(process.execPath, [cli, "compile", onnxFile, "--config", config, "--prefix", "cli_model", "--out", path.join(dir, `cli-${i}`)], { stdio: "pipe" });
		return performance.now() - start;
	});
	return `${Math.min(...times).toFixed(0)} ms`;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Largest absolute difference over all outputs, and that relative to the largest reference magnitude. */
function disagreement(outputs: Float32Array[], reference: Float32Array[]): { abs: number; rel: number } {
	if (outputs.length !== reference.length) return { abs: Infinity, rel: Infinity };
	let abs = 0;
	let scale = 0;
	reference.forEach((ref, k) => {
		const out = outputs[k];
		if (out?.length !== ref.length) abs = Infinity;
		ref.forEach((r, i) => {
			const d = Math.abs(out?.[i] - r);
			abs = Math.max(abs, Number.isNaN(d) ? Infinity : d);
			scale = Math.max(scale, Math.abs(r));
		});
	});
	return { abs, rel: abs / Math.max(scale, 1e-30) };
}

function quantile(sorted: number[], q: number): number {
	const at = (sorted.length - 1) * q;
	const low = Math.floor(at);
	return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low);
}

interface Measured { label: string; reference?: boolean; diff?: number; median?: number; spread?: number; note?: string }

/** Starts every engine, cross-checks their outputs against onnxruntime's, then times those that agree in interleaved rounds. */
async function measure(model: BenchModel, builds: EngineBuild[], cpu?: number): Promise<Measured[]> {
	if (builds.length === 0) return [];
	const engines = builds.map((build) => new EngineProcess(build, model.inputs.map((input) => input.values), cpu));
	try {
		const results: Measured[] = builds.map((build) => ({ label: build.label }));
		const outputs: (Float32Array[] | undefined)[] = [];
		for (const [i, engine] of engines.entries()) {
			outputs[i] = await engine.outputs().catch((error: unknown) => {
				results[i].note = message(error);
				return undefined;
			});
		}
		const referenceIndex = Math.max(0, builds.findIndex((b) => b.label === ORT_LABEL));
		const reference = outputs[referenceIndex];
		results[referenceIndex].reference = true;
		const timed: number[] = [];
		outputs.forEach((out, i) => {
			if (!out || !reference) return;
			const { abs, rel } = disagreement(out, reference);
			results[i].diff = abs;
			if (rel > AGREEMENT) results[i].note = `not timed: differs from ${builds[referenceIndex].label} by ${abs.toExponential(2)} (${rel.toExponential(2)} relative, limit ${AGREEMENT})`;
			else timed.push(i);
		});
		const calls: number[] = [];
		for (const i of timed) {
			await engines[i].time(100);
			calls[i] = Math.max(1, Math.round(BATCH_NS / (await engines[i].time(100))));
			await engines[i].time(calls[i]);
		}
		const samples: number[][] = builds.map(() => []);
		for (let round = 0; round < ROUNDS; ++round) {
			for (const i of timed) samples[i].push(await engines[i].time(calls[i]));
		}
		for (const i of timed) {
			const sorted = samples[i].sort((a, b) => a - b);
			results[i].median = quantile(sorted, 0.5);
			results[i].spread = (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / results[i].median;
		}
		return results;
	} finally {
		for (const engine of engines) engine.close();
	}
}

const fixed = (ns: number) => (ns >= 100 ? ns.toFixed(0) : ns.toFixed(1));

async function main(): Promise<void> {
	// --keep leaves every engine's sources and binaries in place and prints where.
	const keep = process.argv.includes("--keep");
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "knn-bench-"));
	try {
		await benchAll(dir);
	} finally {
		if (keep) console.log(`sources and binaries kept in ${dir}`);
		else fs.rmSync(dir, { recursive: true, force: true });
	}
}

async function benchAll(dir: string): Promise<void> {
	const notes: string[] = [];
	const { peak, cpu } = peakFlops(dir);
	const ort = buildOrtHarness(dir);
	if ("reason" in ort) notes.push(`onnxruntime not run: ${ort.reason}`);
	const onnx2c = onnx2cBinary();
	if ("reason" in onnx2c) notes.push(`onnx2c not run: ${onnx2c.reason}`);
	const models: BenchModel[] = [mlpModel(), cnnModel()];
	const indigo = indigoModel();
	if (typeof indigo === "string") notes.push(`Indigo LSTM skipped: ${indigo}`);
	else models.push(indigo);

	const compileTimes: string[] = [];
	const header = ["model", "engine", "median ns", "IQR %", "/ best peer", "/ FLOP bound", "max |diff|", "FLOPs", "bound ns"];
	const rows: string[][] = [];
	for (const model of models) {
		const modelDir = fs.mkdtempSync(path.join(dir, `${model.prefix}-`));
		const onnxFile = path.join(modelDir, `${model.prefix}.onnx`);
		fs.writeFileSync(onnxFile, model.onnx);
		const builds: EngineBuild[] = [];
		let flops: number | undefined;
		const attempt = (label: string, build: () => EngineBuild) => {
			try {
				builds.push(build());
			} catch (error) {
				notes.push(`${model.name}: ${label} not run: ${message(error)}`);
			}
		};
		attempt("Kernel NN", () => {
			const compiled = compileOnnx(model, onnxFile);
			flops = countFlops(compiled.program.steps);
			return knnEngine(compiled, fs.mkdtempSync(path.join(modelDir, "knn-")), "Kernel NN (ONNX)");
		});
		const tflite = model.tflite;
		if (tflite) {
			attempt("Kernel NN (TFLite)", () => {
				const loaded = loadModelBytes(tflite, path.join(modelDir, `${model.prefix}.tflite`));
				const { feeds, fetches } = graphIoRequests(loaded, [], []);
				const compiled = compileModel(loaded.graph, buildConfig(loaded.graph, feeds, fetches).config, `${model.prefix}_tfl`, `${model.name} (TFLite)`);
				return knnEngine(compiled, fs.mkdtempSync(path.join(modelDir, "knn-tflite-")), "Kernel NN (TFLite)");
			});
		}
		const tf = model.tf;
		if (tf) {
			attempt("Kernel NN (TF graph)", () => {
				const compiled = compileTf(model, tf);
				flops ??= countFlops(compiled.program.steps);
				return knnEngine(compiled, fs.mkdtempSync(path.join(modelDir, "knn-tf-")), "Kernel NN (TF graph)");
			});
		}
		compileTimes.push(`${model.name}: ${cliCompileTime(onnxFile, modelDir)}`);
		if ("binary" in onnx2c) attempt("onnx2c", () => onnx2cEngine(onnx2c.binary, onnxFile, model, fs.mkdtempSync(path.join(modelDir, "onnx2c-"))));
		if ("binary" in ort) builds.push(ortEngine(ort.binary, onnxFile));
		const measured = await measure(model, builds, cpu);
		const peers = measured.filter((m) => (m.label === "onnx2c" || m.label === ORT_LABEL) && m.median !== undefined).map((m) => m.median as number);
		const bestPeer = peers.length > 0 ? Math.min(...peers) : undefined;
		const boundNs = flops === undefined ? undefined : (flops / peak) * 1e9;
		measured.forEach((m, i) => {
			if (m.note) notes.push(`${model.name}: ${m.label}: ${m.note}`);
			const time = m.median;
			rows.push([
				i === 0 ? model.name : "",
				m.label,
				time === undefined ? "-" : fixed(time),
				m.spread === undefined ? "-" : (m.spread * 100).toFixed(1),
				time === undefined || bestPeer === undefined ? "-" : (time / bestPeer).toFixed(2),
				time === undefined || boundNs === undefined ? "-" : (time / boundNs).toFixed(1),
				m.reference ? "reference" : m.diff === undefined ? "-" : m.diff.toExponential(1),
				i === 0 && flops !== undefined ? String(flops) : "",
				i === 0 && boundNs !== undefined ? boundNs.toFixed(1) : "",
			]);
		});
	}

	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
	const line = (cells: string[]) => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
	console.log(`peak single-precision rate of one core here: ${(peak / 1e9).toFixed(1)} GFLOP/s (gcc -O3 -march=native FMA loop)${cpu === undefined ? "" : ` on CPU ${cpu}`}`);
	console.log(`single thread${cpu === undefined ? "" : `, every engine pinned to CPU ${cpu}`}; generated C compiled with ${GENERATED_CFLAGS.join(" ")}; onnxruntime with 1 intra-op thread, sequential;`);
	console.log(`median of ${ROUNDS} interleaved rounds of about ${BATCH_NS / 1e6} ms per engine; max |diff| against the reference row's outputs (onnxruntime's when it runs) on the same input`);
	console.log(line(header));
	for (const row of rows) console.log(line(row));
	console.log("knn compile of each ONNX file, wall time including Node start-up (node dist/knn.js, best of 3):");
	for (const time of compileTimes) console.log(`  ${time}`);
	for (const note of notes) console.log(`note: ${note}`);
}

main().catch((error: unknown) => {
	console.error(message(error));
	process.exitCode = 1;
});
