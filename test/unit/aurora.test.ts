// LiteFlow's Aurora policy (a text SavedModel, ../shared/models/aurora) end to end from its serving_default
// signature: knn config, run, compile (built and run in user space) and deploy into the sandbox VM's kernel, each
// checked on the 60 rows of its representative dataset against a float64 forward pass from the checkpoint.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import type { DeployReport } from "../../extension/core/deploy/deploy";
import { parseConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { auroraFloatPolicy, auroraRows } from "../support/aurora";
import { knn, tempDir } from "../support/cli";
import { MODEL_CFLAGS } from "../support/hostBuild";
import { withSandbox } from "../support/sandbox";
import { AURORA_DIR, auroraMissing } from "../support/shared";

const ROWS = 60;
const TOLERANCE = 1e-5;
const OUTPUT = "model/pi/add";

const sandbox = withSandbox("aurora");

function maxAbsError(got: number[], want: number[]): number {
	assert.equal(got.length, want.length);
	return Math.max(...got.map((v, i) => Math.abs(v - want[i])));
}

/** The host driver prints "step S result R HEXWORD..." with float32 bits; the values of step 0, result 0. */
function parseHostOutput(stdout: string): number[] {
	const line = stdout.split("\n").find((l) => l.startsWith("step 0 result 0 "));
	assert.ok(line, stdout.slice(0, 200));
	const words = line.split(" ").slice(4);
	return Array.from(new Float32Array(Uint32Array.from(words, (w) => parseInt(w, 16)).buffer));
}

describe("Aurora (LiteFlow's text SavedModel) from its serving_default signature", { skip: auroraMissing }, () => {
	let dir: string;
	let configPath: string;
	let inputsPath: string;
	let rows: number[][];
	let reference: number[];

	before(() => {
		dir = tempDir("aurora");
		rows = auroraRows();
		reference = auroraFloatPolicy(rows);
		configPath = path.join(dir, "graph.config.pbtxt");
		inputsPath = path.join(dir, "inputs.json");
		fs.writeFileSync(inputsPath, JSON.stringify({ feeds: { "input/Ob": rows } }));
	});

	it("knn inspect lists the serving_default signature: ob = input/Ob:0 [?,30] -> act = model/pi/add:0 [?,1]", () => {
		const result = knn("inspect", AURORA_DIR);
		assert.equal(result.status, 0, result.stderr);
		const text = result.stdout.replace(/ +/g, " ");
		assert.match(text, /serving_default \(tensorflow\/serving\/predict\)\n input ob input\/Ob:0 float32 \[\?,30\]\n output act model\/pi\/add:0 float32 \[\?,1\]/);
		console.log(`aurora: knn inspect ${result.ms.toFixed(0)} ms`);
	});

	it("knn config --signature serving_default --batch 60 writes the one feed and fetch, named by key, and --check accepts it", () => {
		assert.equal(rows.length, ROWS);
		const result = knn("config", AURORA_DIR, "--signature", "serving_default", "--batch", String(ROWS), "--out", configPath);
		assert.equal(result.status, 0, result.stderr);
		const { config } = parseConfig(fs.readFileSync(configPath, "utf8"), configPath);
		assert.deepEqual(config.feed.map((f) => [f.name, f.id?.node_name, f.shape?.dim?.map((d) => Number(d.size))]), [["ob", "input/Ob", [ROWS, 30]]]);
		assert.deepEqual(config.fetch.map((f) => [f.name, f.id?.node_name]), [["act", OUTPUT]]);
		const check = knn("config", AURORA_DIR, "--check", configPath);
		assert.equal(check.status, 0, check.stdout + check.stderr);
		console.log(`aurora: knn config ${result.ms.toFixed(0)} ms, --check ${check.ms.toFixed(0)} ms`);
	});

	it(`knn run gives the policy output of the 60 rows within ${TOLERANCE} of float64`, () => {
		const result = knn("run", AURORA_DIR, "--config", configPath, "--inputs", inputsPath, "--json");
		assert.equal(result.status, 0, result.stderr);
		const output = (JSON.parse(result.stdout) as { steps: Record<string, number[][]>[] }).steps[0][OUTPUT];
		const error = maxAbsError(output.map((r) => r[0]), reference);
		console.log(`aurora: knn run ${result.ms.toFixed(0)} ms, max abs error vs float64 ${error.toExponential(2)}`);
		assert.ok(error <= TOLERANCE, `max abs error ${error}`);
	});

	it(`knn compile --host-driver builds with -Werror -Wframe-larger-than=512 and its C gives the 60 outputs within ${TOLERANCE} of float64`, () => {
		const out = path.join(dir, "module");
		const result = knn("compile", AURORA_DIR, "--config", configPath, "--prefix", "aurora", "--out", out, "--host-driver");
		assert.equal(result.status, 0, result.stderr);
		const object = path.join(out, "aurora_model.o");
		execFileSync("gcc", [...MODEL_CFLAGS, "-c", path.join(out, "aurora_model.c"), "-o", object], { stdio: "pipe" });
		const binary = path.join(out, "aurora_host");
		execFileSync("gcc", ["-std=c99", "-O2", "-Wall", "-Werror", path.join(out, "aurora_host.c"), object, "-o", binary], { stdio: "pipe" });
		const words = Array.from(new Uint32Array(Float32Array.from(rows.flat()).buffer), (w) => w.toString(16));
		const output = parseHostOutput(execFileSync(binary, ["1"], { input: words.join(" "), encoding: "utf8" }));
		const error = maxAbsError(output, reference);
		const cBytes = fs.statSync(path.join(out, "aurora_model.c")).size;
		console.log(`aurora: knn compile ${result.ms.toFixed(0)} ms, aurora_model.c ${cBytes} bytes, max abs error vs float64 ${error.toExponential(2)}`);
		assert.ok(error <= TOLERANCE, `max abs error ${error}`);
	});

	it(`knn deploy to the sandbox VM: the kernel module's 60 outputs are within ${TOLERANCE} of float64`, { skip: sandbox.unavailable }, () => {
		const result = knn("deploy", AURORA_DIR, "--config", configPath, "--target", "sandbox", "--sandbox-dir", sandbox.dir,
			"--inputs", inputsPath, "--prefix", "aurora", "--tolerance", String(TOLERANCE), "--json");
		assert.equal(result.status, 0, result.stdout + result.stderr);
		const report = JSON.parse(result.stdout) as DeployReport;
		assert.ok(report.ok, `${report.error}\n${JSON.stringify(report.stages)}`);
		assert.equal(report.finalState, "nothing loaded");
		const output = (report.kernel.steps[0][OUTPUT] as number[][]).map((r) => r[0]);
		const error = maxAbsError(output, reference);
		console.log(`aurora: knn deploy ${result.ms.toFixed(0)} ms (${report.stages.map((s) => `${s.name} ${s.ms} ms`).join(", ")}); ` +
			`max abs error vs float64 ${error.toExponential(2)}, vs the interpreter ${report.maxAbsError.toExponential(2)}`);
		assert.ok(error <= TOLERANCE, `max abs error ${error}`);
	});
});
