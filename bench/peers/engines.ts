// Builds each engine as one process speaking engineMain.c's commands: Kernel NN's generated C, onnx2c's generated
// C, and onnxruntime through its C API. All built into the bench's temporary folder.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { CompiledModel } from "../../extension/core/codegen/compile";
import { MODEL_CFLAGS } from "../../test/support/hostBuild";
import { SHARED_DIR } from "../../test/support/shared";
import type { BenchModel } from "./models";

/**
 * How both C generators' output is compiled, the same for each: as a kernel module builds its AVX2+FMA object
 * (the kernel's gnu11 lets GCC contract multiply-adds to FMA), or as its SSE2 baseline on a CPU without AVX2.
 */
export const GENERATED_CFLAGS = hostHasAvx2() ? ["-O2", "-mavx2", "-mfma", "-ffp-contract=fast"] : ["-O2", "-msse2"];

function hostHasAvx2(): boolean {
	const flags = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1].split(" ") ?? [] : [];
	return flags.includes("avx2") && flags.includes("fma");
}

/** An engine ready to start: its binary and arguments. */
export interface EngineBuild { label: string; binary: string; args: string[] }

const ENGINE_MAIN = path.join(__dirname, "engineMain.c");
const ORT_INCLUDE = path.join(SHARED_DIR, "peers", "onnxruntime-include");

function gcc(args: string[]): void {
	try {
		execFileSync("gcc", args, { stdio: "pipe" });
	} catch (error) {
		const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split("\n").slice(0, 8).join("\n") ?? "";
		throw new Error(`gcc ${args.join(" ")} failed:\n${stderr}`);
	}
}

/** onnxruntime's shared library as the onnxruntime-node package ships it; else why it is missing. */
function ortLibrary(): { library: string } | { reason: string } {
	let packageDir: string;
	try {
		packageDir = path.dirname(require.resolve("onnxruntime-node/package.json"));
	} catch {
		return { reason: "the npm package onnxruntime-node is not installed (ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node)" };
	}
	const library = path.join(packageDir, "bin", "napi-v6", "linux", "x64", "libonnxruntime.so.1");
	if (!fs.existsSync(library)) return { reason: `onnxruntime-node ships no ${library} for this platform` };
	if (!fs.existsSync(path.join(ORT_INCLUDE, "onnxruntime_c_api.h"))) return { reason: `its C API headers are absent (expected ${ORT_INCLUDE})` };
	return { library };
}

/** ortHarness.c linked against onnxruntime-node's library by path, with that folder as its run path. */
export function buildOrtHarness(dir: string): { binary: string } | { reason: string } {
	const found = ortLibrary();
	if ("reason" in found) return found;
	const binary = path.join(dir, "ort_harness");
	gcc(["-std=c99", "-O2", "-Wall", "-Werror", `-I${ORT_INCLUDE}`, ENGINE_MAIN, path.join(__dirname, "ortHarness.c"), found.library, `-Wl,-rpath,${path.dirname(found.library)}`, "-o", binary]);
	return { binary };
}

export function ortEngine(harness: string, onnxFile: string): EngineBuild {
	return { label: "onnxruntime (C API)", binary: harness, args: [onnxFile] };
}

/** Kernel NN's NAME.h and NAME_model.c behind the engine functions; the model unit keeps its own strict flags. */
export function knnEngine(model: CompiledModel, dir: string, label: string): EngineBuild {
	const p = model.prefix;
	for (const file of model.files) fs.writeFileSync(path.join(dir, file.name), file.text);
	const adapter = path.join(dir, `${p}_engine.c`);
	fs.writeFileSync(adapter, `#include "${p}.h"
static struct ${p} model;
int engine_open(int argc, char **argv) { (void)argc; (void)argv; return ${p}_constructor(&model); }
int engine_inputs(void) { return ${p}_NUM_ARGUMENTS; }
long engine_input_size(int i) { return ${p}_get_argument_size_bytes(i) / 4; }
float *engine_input(int i) { return (float *)${p}_get_address_for_argument(&model, i); }
int engine_outputs(void) { return ${p}_NUM_RESULTS; }
long engine_output_size(int i) { return ${p}_get_result_size_bytes(i) / 4; }
const float *engine_output(int i) { return (const float *)${p}_get_address_for_result(&model, i); }
int engine_run(void) { ${p}_run(&model); return 0; }
`);
	const object = path.join(dir, `${p}_model.o`);
	gcc([...MODEL_CFLAGS, ...GENERATED_CFLAGS, "-c", path.join(dir, `${p}_model.c`), "-o", object]);
	const binary = path.join(dir, `${p}_engine`);
	gcc(["-std=c99", "-O2", "-Wall", "-Werror", `-I${dir}`, ENGINE_MAIN, adapter, object, "-o", binary]);
	return { label, binary, args: [] };
}

/** onnx2c's model.c, whose entry() takes the graph inputs then the outputs as arrays of their shapes. */
export function onnx2cEngine(onnx2c: string, onnxFile: string, model: BenchModel, dir: string): EngineBuild {
	const source = path.join(dir, "onnx2c_model.c");
	try {
		fs.writeFileSync(source, execFileSync(onnx2c, [onnxFile], { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28 }));
	} catch (error) {
		const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split("\n").slice(-5).join("\n") ?? "";
		throw new Error(`onnx2c ${onnxFile} failed:\n${stderr}`);
	}
	const dims = (shape: number[]) => shape.map((d) => `[${d}]`).join("");
	const values = [...model.inputs.map((v, i) => ({ name: `in${i}`, shape: v.shape })), ...model.outputs.map((v, i) => ({ name: `out${i}`, shape: v.shape }))];
	const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
	const cases = (kind: "in" | "out", list: { shape: number[] }[], what: (name: string, shape: number[]) => string) =>
		list.map((v, i) => `case ${i}: return ${what(`${kind}${i}`, v.shape)};`).join(" ");
	const adapter = path.join(dir, "onnx2c_engine.c");
	fs.writeFileSync(adapter, `void entry(${values.map((v, i) => `${i < model.inputs.length ? "const " : ""}float ${v.name}${dims(v.shape)}`).join(", ")});
${values.map((v) => `static float ${v.name}${dims(v.shape)};`).join("\n")}
int engine_open(int argc, char **argv) { (void)argc; (void)argv; return 0; }
int engine_inputs(void) { return ${model.inputs.length}; }
long engine_input_size(int i) { switch (i) { ${cases("in", model.inputs, (_, shape) => String(count(shape)))} default: return 0; } }
float *engine_input(int i) { switch (i) { ${cases("in", model.inputs, (name) => `(float *)${name}`)} default: return 0; } }
int engine_outputs(void) { return ${model.outputs.length}; }
long engine_output_size(int i) { switch (i) { ${cases("out", model.outputs, (_, shape) => String(count(shape)))} default: return 0; } }
const float *engine_output(int i) { switch (i) { ${cases("out", model.outputs, (name) => `(const float *)${name}`)} default: return 0; } }
int engine_run(void) { entry(${values.map((v) => v.name).join(", ")}); return 0; }
`);
	const object = path.join(dir, "onnx2c_model.o");
	gcc([...GENERATED_CFLAGS, "-c", source, "-o", object]);
	const binary = path.join(dir, "onnx2c_engine");
	gcc(["-std=c99", "-O2", ENGINE_MAIN, adapter, object, "-lm", "-o", binary]);
	return { label: "onnx2c", binary, args: [] };
}
