import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type CompiledModel } from "../../extension/core/codegen/compile";
import { hostDriverSource } from "../../extension/core/codegen/hostDriver";
import { type DType, type Tensor, makeTensor, numbers } from "../../extension/core/graph/tensor";

/**
 * A node:test `skip` value: false when gcc runs, else the reason. Under CI gcc must be there (scripts/setup.sh
 * installs it), so there it is never a reason to skip and the tests fail instead.
 */
export const gccMissing: string | false = (() => {
	try {
		execFileSync("gcc", ["--version"], { stdio: "pipe" });
		return false;
	} catch {
		return process.env.CI === "true" ? false : "gcc is not installed (apt-get install gcc)";
	}
})();

/** The flags the model unit must pass cleanly: freestanding C99, every warning an error, small frames. */
export const MODEL_CFLAGS = ["-std=c99", "-ffreestanding", "-O2", "-Wall", "-Wextra", "-Werror", "-Wframe-larger-than=512"];

/** The flags of the model's AVX2+FMA object in a kernel module (gnu11 lets GCC contract multiply-adds to FMA). */
export const AVX2_CFLAGS = ["-std=gnu11", "-mavx2", "-mfma"];

/** False when this CPU runs AVX2 and FMA code, else why not. */
export const avx2Missing: string | false = (() => {
	const flags = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1].split(" ") ?? [] : [];
	return flags.includes("avx2") && flags.includes("fma") ? false : "this CPU has no AVX2 and FMA";
})();

/**
 * Writes a compiled model and its user-space driver into `dir` and builds them with gcc; returns the binary.
 * `levelFlags` are added after MODEL_CFLAGS (AVX2_CFLAGS builds the unit as a module's AVX2 object is built).
 */
export function buildHost(model: CompiledModel, dir: string, levelFlags: string[] = []): string {
	for (const file of model.files) fs.writeFileSync(path.join(dir, file.name), file.text);
	fs.writeFileSync(path.join(dir, `${model.prefix}_host.c`), hostDriverSource(model.prefix));
	const object = path.join(dir, `${model.prefix}_model.o`);
	execFileSync("gcc", [...MODEL_CFLAGS, ...levelFlags, "-c", path.join(dir, `${model.prefix}_model.c`), "-o", object], { stdio: "pipe" });
	const binary = path.join(dir, `${model.prefix}_host`);
	execFileSync("gcc", ["-std=c99", "-O2", "-Wall", "-Werror", path.join(dir, `${model.prefix}_host.c`), object, "-o", binary], { stdio: "pipe" });
	return binary;
}

/**
 * Runs the built model for `steps` steps with recurrent feedback pairs [argument, result]; results per step. Each
 * argument travels as the bytes of the element type the compiled model declares for it (its values converted), and
 * each result comes back in its own element type.
 */
export function runHost(binary: string, model: CompiledModel, inputs: Tensor[], steps: number, feedback: [number, number][] = []): Tensor[][] {
	return runHostBlocks(binary, model, [inputs], steps, feedback);
}

/**
 * runHost with one block of arguments per step (step s reads blocks[s]; steps past the last block keep theirs);
 * from step 1 a fed-back argument takes its block's value only where `given` holds [step, argument].
 */
export function runHostBlocks(binary: string, model: CompiledModel, blocks: Tensor[][], steps: number, feedback: [number, number][] = [], given: [number, number][] = []): Tensor[][] {
	const words = blocks.flatMap((inputs) => hexWords(inputs.map((t, i) => makeTensor(model.program.arguments[i].dtype, t.shape, numbers(t)))));
	const args = [String(steps), ...feedback.map(([a, r]) => `${a}:${r}`), ...given.map(([s, a]) => `given=${s}:${a}`)];
	const stdout = execFileSync(binary, args, { input: words.join(" "), encoding: "utf8" });
	const results: Tensor[][] = Array.from({ length: steps }, () => []);
	for (const line of stdout.trim().split("\n")) {
		const [, step, , result, ...hex] = line.split(" ");
		const { dtype, shape } = model.program.results[Number(result)];
		results[Number(step)][Number(result)] = fromHexWords(hex, dtype, shape);
	}
	return results;
}

/** One step's block as the driver (and the module) reads it: the tensors' bytes back to back, as little-endian 32-bit hex words, the last one zero-padded. */
function hexWords(tensors: Tensor[]): string[] {
	const parts = tensors.map((t) => {
		const data = numbers(t);
		return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
	});
	const bytes = new Uint8Array(Math.ceil(parts.reduce((sum, p) => sum + p.length, 0) / 4) * 4);
	let offset = 0;
	for (const part of parts) {
		bytes.set(part, offset);
		offset += part.length;
	}
	return Array.from(new Uint32Array(bytes.buffer), (w) => w.toString(16));
}

function fromHexWords(hex: string[], dtype: DType, shape: number[]): Tensor {
	const bytes = new Uint8Array(Uint32Array.from(hex, (h) => parseInt(h, 16)).buffer);
	const typed = makeTensor(dtype, shape);
	const data = numbers(typed);
	new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes.subarray(0, data.byteLength));
	return typed;
}
