// Builds and runs generated models in user space for tests with arguments and results of any element type: a driver
// reads each argument's bytes as hex and prints each result's bytes (hostBuild.ts handles float words only). Many
// models link into one binary, chosen by argv[1], since gcc's start-up dominates building small models.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { CompiledModel } from "../../extension/core/codegen/compile";
import type { Buffer } from "../../extension/core/codegen/program";
import { type Tensor, dtypeByteSize, makeTensor, shapeSize, tensorFromBytes, tensorToBytes } from "../../extension/core/graph/tensor";

const exec = promisify(execFile);

function runFunction(prefix: string): string {
	return `static int run_${prefix}(void)
{
	static struct ${prefix} model;
	int i, k;
	${prefix}_constructor(&model);
	for (i = 0; i < ${prefix}_NUM_ARGUMENTS; ++i) {
		unsigned char *bytes = (unsigned char *)${prefix}_get_address_for_argument(&model, i);
		for (k = 0; k < ${prefix}_get_argument_size_bytes(i); ++k) {
			unsigned int b;
			if (scanf("%2x", &b) != 1) return 1;
			bytes[k] = (unsigned char)b;
		}
	}
	${prefix}_run(&model);
	for (i = 0; i < ${prefix}_NUM_RESULTS; ++i) {
		const unsigned char *bytes = (const unsigned char *)${prefix}_get_address_for_result(&model, i);
		printf("%d ", i);
		for (k = 0; k < ${prefix}_get_result_size_bytes(i); ++k) printf("%02x", bytes[k]);
		printf("\\n");
	}
	return 0;
}
`;
}

function driverSource(prefixes: readonly string[]): string {
	return [
		"#include <stdio.h>",
		"#include <stdlib.h>",
		...prefixes.map((p) => `#include "${p}.h"`),
		...prefixes.map(runFunction),
		"int main(int argc, char **argv)",
		"{",
		"\tswitch (argc > 1 ? atoi(argv[1]) : -1) {",
		...prefixes.map((p, i) => `\tcase ${i}: return run_${p}();`),
		"\t}",
		"\treturn 2;",
		"}",
		"",
	].join("\n");
}

/**
 * Writes the models (each with its own prefix) and one driver into `dir` and builds them with one gcc call (-O0:
 * these tests check values, not speed); model i runs as `binary i`.
 */
export async function buildByteHost(models: readonly CompiledModel[], dir: string): Promise<string> {
	fs.mkdirSync(dir, { recursive: true });
	for (const model of models) for (const file of model.files) fs.writeFileSync(path.join(dir, file.name), file.text);
	fs.writeFileSync(path.join(dir, "driver.c"), driverSource(models.map((m) => m.prefix)));
	const binary = path.join(dir, "driver");
	const sources = [...models.map((m) => path.join(dir, `${m.prefix}_model.c`)), path.join(dir, "driver.c")];
	await exec("gcc", ["-std=c99", "-O0", "-w", "-pipe", "-I", dir, ...sources, "-o", binary]);
	return binary;
}

function toHex(bytes: Uint8Array): string {
	return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function encode(value: Tensor, argument: Buffer): string {
	// The argument's own element type: the caller's tensor may be wider (int64 test data for an int32 argument).
	return toHex(tensorToBytes(makeTensor(argument.dtype, value.shape, value.data as ArrayLike<number>)));
}

/** Runs model `index` of a built binary once on `inputs` (argument order); returns the results in result order. */
export async function runByteHost(binary: string, index: number, model: CompiledModel, inputs: readonly Tensor[]): Promise<Tensor[]> {
	const text = model.program.arguments.map((argument, i) => encode(inputs[i], argument)).join("\n");
	const child = execFile(binary, [String(index)], { encoding: "utf8", maxBuffer: 1 << 28 });
	// A driver that stops reading early (its input was short) reports that by its exit status, not by EPIPE here.
	child.stdin!.on("error", () => undefined);
	child.stdin!.end(text);
	let stdout = "";
	child.stdout!.on("data", (chunk: string) => { stdout += chunk; });
	const code: number = await new Promise((resolve, reject) => { child.on("error", reject); child.on("close", resolve); });
	if (code !== 0) throw new Error(`the compiled model's driver exited with status ${code} (1: fewer input bytes than its arguments take)`);
	const results: Tensor[] = [];
	for (const line of stdout.trim().split("\n")) {
		if (!line) continue;
		const [position, hex = ""] = line.split(" ");
		const buffer = model.program.results[Number(position)];
		const bytes = Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
		results[Number(position)] = tensorFromBytes(buffer.dtype, [...buffer.shape], bytes.subarray(0, shapeSize(buffer.shape) * dtypeByteSize(buffer.dtype)), buffer.label);
	}
	return results;
}
