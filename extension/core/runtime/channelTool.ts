import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ProcessError, runLocalProcess } from "../util/processRunner";
import { RuntimeError } from "./runtimeError";
import { findRuntimeSourceDir } from "./runtimeSources";

// knn-channel is built on the host, once per content: a static binary has no libc to match on the target, and
// targets rarely have a compiler.

/** The tool's file name, here and on the target. */
export const CHANNEL_TOOL_NAME = "knn-channel";

/** gcc's arguments, run in tools/ beside core/ (whose knn_channel.h the tool includes). */
export const CHANNEL_TOOL_GCC_ARGS: readonly string[] = ["-O2", "-static", "-Wall", "-Wextra", "-o", CHANNEL_TOOL_NAME, "knn_channel.c", "-I../core"];

/** The tool's two sources in the runtime source folder. */
export function channelToolSources(runtimeDir = findRuntimeSourceDir()): { source: string; header: string } {
	return { source: path.join(runtimeDir, "tools", "knn_channel.c"), header: path.join(runtimeDir, "core", "knn_channel.h") };
}

/**
 * Builds knn-channel for x86-64 Linux and returns the binary's path: cacheDir/tool/HASH/knn-channel, HASH over the
 * sources and flags, so an unchanged tool is never rebuilt and a changed one never reused.
 */
export async function buildChannelTool(cacheDir: string, signal?: AbortSignal): Promise<string> {
	const { source, header } = channelToolSources();
	const hash = createHash("sha256");
	for (const part of [fs.readFileSync(source), fs.readFileSync(header), CHANNEL_TOOL_GCC_ARGS.join(" ")]) hash.update(part).update("\0");
	const key = hash.digest("hex").slice(0, 16);
	const binary = path.join(cacheDir, "tool", key, CHANNEL_TOOL_NAME);
	if (fs.existsSync(binary)) return binary;

	// A private build folder, then a rename: two builds at once never see each other's half-written binary.
	const buildDir = path.join(cacheDir, "tool", `${key}.build-${randomBytes(4).toString("hex")}`);
	try {
		fs.mkdirSync(path.join(buildDir, "tools"), { recursive: true });
		fs.mkdirSync(path.join(buildDir, "core"), { recursive: true });
		fs.copyFileSync(source, path.join(buildDir, "tools", "knn_channel.c"));
		fs.copyFileSync(header, path.join(buildDir, "core", "knn_channel.h"));
		const result = await compile(path.join(buildDir, "tools"), signal);
		if (result.cancelled) throw new RuntimeError(`Building ${CHANNEL_TOOL_NAME} was cancelled.`);
		if (result.code !== 0) throw new RuntimeError(explainGccFailure(result.stderr || result.stdout, source));
		fs.mkdirSync(path.dirname(binary), { recursive: true });
		fs.renameSync(path.join(buildDir, "tools", CHANNEL_TOOL_NAME), binary);
		return binary;
	} finally {
		fs.rmSync(buildDir, { recursive: true, force: true });
	}
}

async function compile(dir: string, signal: AbortSignal | undefined) {
	try {
		return await runLocalProcess("gcc", CHANNEL_TOOL_GCC_ARGS, { cwd: dir, signal, env: { LC_ALL: "C" }, timeoutMs: 120_000 });
	} catch (error) {
		if (error instanceof ProcessError && error.code === "not-installed") {
			throw new RuntimeError(`gcc is not installed, so ${CHANNEL_TOOL_NAME} (knn_core's channel tool) cannot be built: apt-get install gcc libc6-dev`, { cause: error });
		}
		throw error;
	}
}

/** gcc's output as a sentence: the missing package when it is one, else the compiler's own last lines. */
export function explainGccFailure(output: string, source: string): string {
	if (/cannot find -lc\b/.test(output)) {
		return `The static C library is missing, so ${CHANNEL_TOOL_NAME} cannot be linked with -static: apt-get install gcc libc6-dev`;
	}
	const header = /fatal error: (linux\/[\w./]+|[\w./]+): No such file or directory/.exec(output);
	if (header) {
		const pkg = header[1].startsWith("linux/") ? "linux-libc-dev" : "libc6-dev";
		return `The C header ${header[1]} is missing, so ${CHANNEL_TOOL_NAME} cannot be built: apt-get install gcc ${pkg}`;
	}
	const tail = output.trim().split("\n").slice(-10).join("\n");
	return `gcc could not build ${source}:\n${tail}`;
}
