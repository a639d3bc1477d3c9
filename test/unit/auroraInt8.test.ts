// LiteFlow's own int8 Aurora policy (../shared/models/aurora/aurora_int_quan_model.tflite) with no FPU at all:
// knn config from the file's own tensors, knn run on the 60-row representative dataset as one data set, the
// integer-only C in user space, the module's objects under objdump, and one --no-fpu deploy into the sandbox
// kernel, each compared row by row with the real TFLite runtime (WebAssembly) running the same file.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import type { DeployReport } from "../../extension/core/deploy/deploy";
import { NO_HEADERS_HINT, installedHeaderVersions } from "../../extension/core/kmod/kernelHeaders";
import { AURORA_TFLITE, auroraRows, rowsAsDataSet } from "../support/aurora";
import { knn, tempDir } from "../support/cli";
import { MODEL_CFLAGS } from "../support/hostBuild";
import { withSandbox } from "../support/sandbox";
import { auroraMissing } from "../support/shared";
import { runTflite, tfliteRuntimeMissing } from "../support/tfliteOracle";

const INPUT = "input/Ob";
const OUTPUT = "model/pi/add";
// One output quantization step is 0.0137 (the model's README); the bound allows for its rounding to 3 digits.
const STEP = 0.0138;
const KVER = installedHeaderVersions()[0];
const sandbox = withSandbox("aurora-int8");

/** Objdump lines with an x87/SSE/AVX register or an x87 mnemonic: this test's own reading of the disassembly. */
function floatingPointLines(file: string): string[] {
	const text = execFileSync("objdump", ["-d", "--no-show-raw-insn", file], { encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, LC_ALL: "C" } });
	return text.split("\n").filter((line) => /^\s+[0-9a-f]+:\s/.test(line) && (/%(?:[xyz]mm\d|st\b|st\(|mm\d)/.test(line) || /:\s+f[a-z]+\s/.test(line)));
}

function compareRows(got: number[], want: number[]): { maxSteps: number; exact: number } {
	assert.equal(got.length, want.length);
	const diffs = got.map((v, i) => Math.abs(v - want[i]));
	// The same quantization level: fixed-point results differ from float32 ones in the last bits only.
	return { maxSteps: Math.max(...diffs) / STEP, exact: diffs.filter((d) => d < STEP / 100).length };
}

describe("Aurora int8 (LiteFlow's .tflite) with no FPU, row by row against the TFLite runtime", { skip: auroraMissing || tfliteRuntimeMissing() || false }, () => {
	let dir: string;
	let configPath: string;
	let inputsPath: string;
	let rows: number[][];
	let runtime: number[];

	before(async () => {
		dir = tempDir("aurora-int8");
		rows = auroraRows();
		const bytes = fs.readFileSync(AURORA_TFLITE);
		runtime = [];
		for (const row of rows) runtime.push((await runTflite(bytes, [Float32Array.from(row)]))[0].data[0]);
		configPath = path.join(dir, "graph.config.pbtxt");
		inputsPath = path.join(dir, "inputs.json");
		fs.writeFileSync(inputsPath, JSON.stringify(rowsAsDataSet(INPUT, rows)));
	});

	it("knn config with no feeds or fetches configures the file's own float input [1,30] and output [1,1]", () => {
		const result = knn("config", AURORA_TFLITE, "--out", configPath);
		assert.equal(result.status, 0, result.stderr);
		const text = fs.readFileSync(configPath, "utf8");
		assert.match(text, /feed \{\n {2}id \{\n {4}node_name: "input\/Ob"\n {2}\}\n {2}shape \{\n {4}dim \{\n {6}size: 1\n {4}\}\n {4}dim \{\n {6}size: 30\n {4}\}\n {2}\}/);
		assert.match(text, /fetch \{\n {2}id \{\n {4}node_name: "model\/pi\/add"/);
	});

	it("knn run takes the 60 rows as one data set (feedsPerStep) and gives every row's output within one step of the runtime", () => {
		const result = knn("run", AURORA_TFLITE, "--config", configPath, "--inputs", inputsPath, "--json");
		assert.equal(result.status, 0, result.stderr);
		const steps = (JSON.parse(result.stdout) as { steps: Record<string, number[][]>[] }).steps;
		assert.equal(steps.length, rows.length);
		const { maxSteps, exact } = compareRows(steps.map((s) => s[OUTPUT][0][0]), runtime);
		console.log(`aurora int8: knn run ${result.ms.toFixed(0)} ms; ${exact} of ${rows.length} rows equal the runtime, worst ${maxSteps.toFixed(2)} steps`);
		assert.ok(maxSteps <= 1, `worst row is ${maxSteps} steps from the runtime`);
	});

	it("knn compile --no-fpu: the integer-only C, fed fixed-point inputs as NAME.h states, gives every row within one step", () => {
		const out = path.join(dir, "host");
		const result = knn("compile", AURORA_TFLITE, "--config", configPath, "--no-fpu", "--prefix", "aurora_q", "--out", out, "--host-driver");
		assert.equal(result.status, 0, result.stderr);
		const header = fs.readFileSync(path.join(out, "aurora_q.h"), "utf8");
		const bits = (name: string) => Number(new RegExp(`#define aurora_q_${name}_FRAC_BITS (\\d+)`).exec(header)?.[1]);
		const [inBits, outBits] = [bits("ARG0"), bits("RESULT0")];
		assert.ok(inBits > 0 && outBits > 0, "NAME.h states the Q format of the argument and the result");
		const object = path.join(out, "aurora_q_model.o");
		execFileSync("gcc", [...MODEL_CFLAGS, "-mgeneral-regs-only", "-c", path.join(out, "aurora_q_model.c"), "-o", object], { stdio: "pipe" });
		assert.deepEqual(floatingPointLines(object), []);
		const binary = path.join(out, "aurora_q_host");
		execFileSync("gcc", ["-std=c99", "-O2", "-Wall", "-Werror", path.join(out, "aurora_q_host.c"), object, "-o", binary], { stdio: "pipe" });
		const words = rows.flat().map((v) => (Math.round(v * 2 ** inBits) >>> 0).toString(16));
		const stdout = execFileSync(binary, [String(rows.length)], { input: words.join(" "), encoding: "utf8" });
		const output = rows.map((_, s) => {
			const line = stdout.split("\n").find((l) => l.startsWith(`step ${s} result 0 `));
			assert.ok(line, stdout.slice(0, 300));
			return (parseInt(line.split(" ")[4], 16) | 0) / 2 ** outBits;
		});
		const { maxSteps, exact } = compareRows(output, runtime);
		console.log(`aurora int8: C with no FPU, Q${31 - inBits}.${inBits} in, Q${31 - outBits}.${outBits} out; ${exact} of ${rows.length} rows equal the runtime, worst ${maxSteps.toFixed(2)} steps`);
		assert.ok(maxSteps <= 1, `worst row is ${maxSteps} steps from the runtime`);
	});

	it("the module builds with the kernel's own flags, and objdump finds no x87/SSE/AVX instruction in any object or the .ko", { skip: KVER === undefined ? NO_HEADERS_HINT : false }, async () => {
		const out = path.join(dir, "module");
		const result = knn("compile", AURORA_TFLITE, "--config", configPath, "--no-fpu", "--prefix", "aurora_q", "--out", out);
		assert.equal(result.status, 0, result.stderr);
		const log = await new Promise<string>((resolve, reject) => {
			execFile("make", [`KVER=${KVER}`], { cwd: out, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } }, (error, stdout, stderr) => (error ? reject(new Error(`${stdout}${stderr}`)) : resolve(stdout + stderr)));
		});
		assert.deepEqual(log.split("\n").filter((line) => /warning:/i.test(line)), [], log);
		const objects = fs.readdirSync(out).filter((f) => f.endsWith(".o") || f.endsWith(".ko"));
		assert.ok(objects.includes("aurora_q.ko") && objects.includes("aurora_q_model.o") && objects.includes("aurora_q_main.o"), objects.join(" "));
		for (const object of objects) assert.deepEqual(floatingPointLines(path.join(out, object)), [], object);
		// The reading is not vacuous: the same check finds the SSE of a float multiply.
		fs.writeFileSync(path.join(dir, "float.c"), "float product(float a, float b) { return a * b; }\n");
		execFileSync("gcc", ["-O2", "-c", path.join(dir, "float.c"), "-o", path.join(dir, "float.o")]);
		assert.notDeepEqual(floatingPointLines(path.join(dir, "float.o")), []);
		const symbols = execFileSync("nm", ["-u", path.join(out, "aurora_q.ko")], { encoding: "utf8" });
		assert.doesNotMatch(symbols, /fpu/, "the module needs no kernel_fpu_begin/end");
	});

	it("knn deploy --no-fpu runs all 60 rows in the sandbox kernel in one load, each within one step of the runtime", { skip: sandbox.unavailable }, () => {
		const result = knn("deploy", AURORA_TFLITE, "--config", configPath, "--no-fpu", "--target", "sandbox", "--sandbox-dir", sandbox.dir,
			"--inputs", inputsPath, "--prefix", "aurora_q", "--bench", "20000", "--json");
		assert.equal(result.status, 0, result.stdout + result.stderr);
		const report = JSON.parse(result.stdout) as DeployReport;
		assert.ok(report.ok, `${report.error}\n${JSON.stringify(report.stages)}`);
		assert.equal(report.finalState, "nothing loaded");
		assert.ok(report.stages.some((s) => s.name === "check no FPU" && s.ok), report.stages.map((s) => s.name).join(", "));
		assert.equal(report.stages.filter((s) => s.name === "load").length, 1);
		assert.equal(report.kernel.steps.length, rows.length);
		const output = report.kernel.steps.map((step) => (step[OUTPUT] as number[][])[0][0]);
		const { maxSteps, exact } = compareRows(output, runtime);
		console.log(`aurora int8: knn deploy --no-fpu ${result.ms.toFixed(0)} ms; ${exact} of ${rows.length} rows equal the runtime, worst ${maxSteps.toFixed(2)} steps; ` +
			`in-kernel latency (TCG) median ${report.bench?.medianNs} ns, p99 ${report.bench?.p99Ns} ns over ${report.bench?.calls} calls`);
		assert.ok(maxSteps <= 1, `worst row is ${maxSteps} steps from the runtime`);
	});
});
