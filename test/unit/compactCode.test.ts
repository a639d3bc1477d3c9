import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { type CompiledModel, compileModel } from "../../extension/core/codegen/compile";
import { bufferBytes } from "../../extension/core/codegen/memoryPlan";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph, parseInputName } from "../../extension/core/graph/graph";
import { numbers } from "../../extension/core/graph/tensor";
import { NO_HEADERS_HINT, installedHeaderVersions } from "../../extension/core/kmod/kernelHeaders";
import { writeModuleProject } from "../../extension/core/kmod/moduleProject";
import { tempDir } from "../support/cli";
import { MODEL_CFLAGS, buildHost, runHost } from "../support/hostBuild";
import { Rng, assertClose } from "../support/kernelHarness";
import { runTfjs } from "../support/tfjsOracle";
import { type UnrolledLstm, unrolledLstm } from "../support/unrolledLstm";

// An MNIST-row LSTM (28 steps of 28 inputs, 128 units, 10 classes) unrolled as TF1's static_rnn freezes it: its
// 28 cells read one kernel, which the compiler stores transposed. Once per cell, that was 9 MB of weights.
const STEPS = 28;
const INPUT = 28;
const HIDDEN = 128;
const KVER = installedHeaderVersions()[0] as string | undefined;

function compileLstm(lstm: UnrolledLstm, prefix: string): CompiledModel {
	const graph = Graph.fromGraphDef(lstm.def);
	const { config } = buildConfig(graph, [{ ref: parseInputName(lstm.feed).ref, shape: [1, STEPS, INPUT] }], lstm.fetches.map((f) => ({ ref: parseInputName(f).ref })));
	return compileModel(graph, config, prefix, "unrolled LSTM test graph");
}

/** Runs `make` in a module project, with GCC's per-function stack usage written next to each object. */
function makeModule(dir: string): Promise<{ output: string; ms: number }> {
	const start = performance.now();
	return new Promise((resolve, reject) => {
		execFile("make", [`KVER=${KVER}`, "KCFLAGS=-fstack-usage"], { cwd: dir, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } }, (error, stdout, stderr) => {
			if (error) reject(new Error(`make in ${dir} failed:\n${stdout}${stderr}`));
			else resolve({ output: stdout + stderr, ms: performance.now() - start });
		});
	});
}

/** The largest stack frame GCC reported in a `.su` file, with the function's name. */
function largestFrame(suFile: string): { name: string; bytes: number } {
	const frames = fs.readFileSync(suFile, "utf8").trim().split("\n").map((line) => {
		const [where, bytes] = line.split("\t");
		return { name: where.split(":").pop()!, bytes: Number(bytes) };
	});
	return frames.reduce((a, b) => (b.bytes > a.bytes ? b : a));
}

describe("compact code: a 28-step statically unrolled LSTM", () => {
	for (const weights of ["shared", "copied"] as const) {
		const what = weights === "shared" ? "one kernel Const read by 28 cells" : "28 identical kernel Consts";
		it(`${what}: the .c is at most 3x the distinct weights in hex, stores each weight once, and matches tfjs within 1e-5`, async () => {
			const lstm = unrolledLstm({ steps: STEPS, inputSize: INPUT, hidden: HIDDEN, classes: 10, seed: 7, weights });
			const start = performance.now();
			const model = compileLstm(lstm, `lstm_${weights}`);
			const compileMs = performance.now() - start;
			const source = model.files.find((f) => f.name.endsWith("_model.c"))!.text;
			const hexBytes = 2 * lstm.distinctWeightBytes;
			// Once each: 28 copies would be 28 times as much; packing pads matrix rows and biases to whole 8-float vectors.
			const weightBytes = model.report.weightBytes;
			assert.ok(weightBytes >= lstm.distinctWeightBytes && weightBytes <= lstm.distinctWeightBytes * 1.02, `static weight bytes ${weightBytes} for ${lstm.distinctWeightBytes} distinct`);
			assert.ok(source.length <= 3 * hexBytes, `${source.length} bytes of C for ${hexBytes} bytes of weights in hex`);

			const dir = tempDir(`lstm-${weights}`);
			const buildStart = performance.now();
			const binary = buildHost(model, dir);
			const buildMs = performance.now() - buildStart;
			const rng = new Rng(11);
			let worst = 0;
			for (let sample = 0; sample < 3; sample++) {
				const input = rng.tensor("float32", [1, STEPS, INPUT], -1, 1);
				const [ours] = runHost(binary, model, [input], 1);
				const theirs = await runTfjs(lstm.def, { [lstm.feed]: input }, lstm.fetches);
				lstm.fetches.forEach((fetch, k) => {
					assertClose(ours[k], theirs[k], `sample ${sample}, ${fetch}`, 1e-5);
					const [a, b] = [numbers(ours[k]), numbers(theirs[k])];
					for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
				});
			}
			console.log(`unrolled LSTM (${what}): .c ${source.length} bytes, weights ${model.report.weightBytes} bytes (${hexBytes} in hex), `
				+ `compile ${compileMs.toFixed(0)} ms, gcc ${buildMs.toFixed(0)} ms, largest difference from tfjs ${worst.toExponential(2)}`);
		});
	}

	it("the model unit builds with gcc -Wframe-larger-than=512 -Werror, every frame under 512 bytes, needing no symbol at all", () => {
		const model = compileLstm(unrolledLstm({ steps: STEPS, inputSize: INPUT, hidden: HIDDEN, classes: 10, seed: 7, weights: "shared" }), "lstm_frames");
		const dir = tempDir("lstm-frames");
		for (const file of model.files) fs.writeFileSync(path.join(dir, file.name), file.text);
		const object = path.join(dir, "lstm_frames_model.o");
		execFileSync("gcc", [...MODEL_CFLAGS, "-nostdlib", "-mno-red-zone", "-fstack-usage", "-c", "lstm_frames_model.c", "-o", object], { cwd: dir, stdio: "pipe" });
		const frame = largestFrame(path.join(dir, "lstm_frames_model.su"));
		assert.ok(frame.bytes < 512, `${frame.name} has a ${frame.bytes}-byte frame`);
		assert.equal(execFileSync("nm", ["-u", object], { encoding: "utf8" }).trim(), "", "no libc, no memcpy");
		console.log(`unrolled LSTM, user space: largest frame ${frame.bytes} bytes (${frame.name})`);
	});

	it("the kernel module builds against the installed headers with zero warnings and every frame under 512 bytes", { skip: KVER === undefined ? NO_HEADERS_HINT : false }, async () => {
		const model = compileLstm(unrolledLstm({ steps: STEPS, inputSize: INPUT, hidden: HIDDEN, classes: 10, seed: 7, weights: "copied" }), "lstm");
		const dir = tempDir("lstm-kmod");
		for (const file of model.files) fs.writeFileSync(path.join(dir, file.name), file.text);
		const tensors = (buffers: typeof model.program.arguments, names: string[]) => buffers.map((b, i) => ({ name: names[i], bytes: bufferBytes(b) }));
		writeModuleProject(dir, {
			prefix: "lstm", template: "selftest", modelFiles: ["lstm_model.c"],
			arguments: tensors(model.program.arguments, model.program.argumentNames), results: tensors(model.program.results, model.program.resultNames),
		});
		const { output, ms } = await makeModule(dir);
		assert.deepEqual(output.split("\n").filter((line) => /warning:/i.test(line)), [], output);
		// The model unit is built once per SIMD level (lstm_model_sse2.o, lstm_model_avx2.o), each with its own frames.
		const frames = ["sse2", "avx2"].map((level) => ({ level, ...largestFrame(path.join(dir, `lstm_model_${level}.su`)) }));
		for (const frame of frames) assert.ok(frame.bytes < 512, `${frame.name} has a ${frame.bytes}-byte frame in the kernel's ${frame.level} build`);
		const ko = fs.statSync(path.join(dir, "lstm.ko")).size;
		console.log(`unrolled LSTM module: .ko ${ko} bytes, make ${ms.toFixed(0)} ms, largest model frames ${frames.map((f) => `${f.level} ${f.bytes} bytes (${f.name})`).join(", ")}`);
	});
});
