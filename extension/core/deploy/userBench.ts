import * as fs from "node:fs";
import * as path from "node:path";
import { type BenchLine, parseModuleLine } from "../kernelLog/selftestOutput";
import { findTemplateDir, render } from "../kmod/moduleProject";
import { SIMD_LEVELS, type SimdLevel, levelSource, runFunction, userSpaceFlags } from "../kmod/simdLevels";
import type { Target } from "../targets/target";
import { codedError } from "../util/errors";
import { runLocalProcess } from "../util/processRunner";
import { STAGE_TIMEOUTS_MS } from "./stageTimeouts";

// The same model C as the module's, timed in user space on the target itself: under an emulated CPU (the sandbox's
// QEMU TCG) only a comparison on one machine means anything. A static binary, so the target needs no libc of ours.

/** The user-space benchmark could not be built, copied or run; the message names the step and what to do. */
export class UserBenchError extends codedError("deploy", "UserBenchError") {}

/** One gcc run: a large model unit takes seconds, a link under one. */
const GCC_TIMEOUT_MS = 10 * 60_000;
/** Without the kernel's own figure to scale from, 5 ms a call as the self-test's timeout reckons it. */
const FALLBACK_NS_PER_CALL = 5_000_000;

export interface UserBenchOptions {
	/** The module project: NAME.h, NAME_model.c and, for a float model, its SIMD level wrappers. */
	projectDir: string;
	/** Where the driver, the objects and the binary go. */
	workDir: string;
	prefix: string;
	noFpu: boolean;
	/** The level the kernel ran, from its lines: the binary runs the same one. */
	level: SimdLevel;
	calls: number;
	/** The module's inputs= words; the binary reads the first step's block. */
	inputWords: string[];
	target: Target;
	remotePath: string;
	/** The kernel's bench figure, to bound the run's time. */
	kernelBench?: BenchLine;
	signal?: AbortSignal;
}

/** The levels a project's binary can run: both SIMD levels of a float model, or the one of an integer-only model. */
function levelsOf(noFpu: boolean): SimdLevel[] {
	return noFpu ? ["none"] : SIMD_LEVELS.map((info) => info.level);
}

/** The driver's C, from kmod/templates/common/userbench.c.in. */
export function userBenchSource(prefix: string, noFpu: boolean): string {
	const levels = levelsOf(noFpu);
	return render(path.join(findTemplateDir(), "templates", "common", "userbench.c.in"), {
		NAME: prefix,
		LEVEL_DECLARATIONS: noFpu ? `/* ${prefix}_run() is declared in ${prefix}.h */`
			: levels.map((level) => `void ${runFunction(prefix, level)}(struct ${prefix} *self);`).join("\n"),
		LEVEL_TABLE: levels.map((level) => `\t{ "${level}", ${runFunction(prefix, level)}, ${level === "avx2" ? "knn_has_avx2" : "knn_always"} },`).join("\n"),
		LEVEL_NAMES: levels.map((level) => ` ${level}`).join(","),
	});
}

/** How long the binary may run: four times the kernel's median per call, warm-up included, and a minute. */
export function userBenchRunTimeoutMs(calls: number, kernelBench?: BenchLine): number {
	const perCallNs = kernelBench ? 4 * Math.max(kernelBench.medianNs, 1000) : FALLBACK_NS_PER_CALL;
	return 60_000 + Math.ceil((calls * 1.1 * perCallNs) / 1e6);
}

async function gcc(args: string[], what: string, signal: AbortSignal | undefined): Promise<void> {
	const result = await runLocalProcess("gcc", args, { signal, timeoutMs: GCC_TIMEOUT_MS, env: { LC_ALL: "C" } });
	if (result.cancelled) throw new UserBenchError(`building the user-space benchmark (${what}) was cancelled`);
	if (result.timedOut) throw new UserBenchError(`building the user-space benchmark (${what}) took more than ${GCC_TIMEOUT_MS / 60_000} minutes and was stopped`);
	if (result.code !== 0) {
		const tail = result.stderr.trim().split("\n").slice(-8).join("\n");
		const hint = /cannot find -lc\b/.test(result.stderr) ? "; gcc -static needs the static C library (Debian: apt-get install libc6-dev)" : "";
		throw new UserBenchError(`building the user-space benchmark failed at ${what} (gcc exit ${result.code})${hint}:\n${tail}`);
	}
}

/** Compiles each level's model object with that level's flags, the driver, and links them statically. */
export async function buildUserBench(options: Pick<UserBenchOptions, "projectDir" | "workDir" | "prefix" | "noFpu" | "signal">): Promise<string> {
	const { projectDir, workDir, prefix, noFpu, signal } = options;
	fs.mkdirSync(workDir, { recursive: true });
	const driver = path.join(workDir, `${prefix}_userbench.c`);
	fs.writeFileSync(driver, userBenchSource(prefix, noFpu));
	const include = ["-I", projectDir];
	const units = noFpu
		? [{ source: `${prefix}_model.c`, flags: userSpaceFlags("none") }]
		: SIMD_LEVELS.map((info) => ({ source: levelSource(`${prefix}_model.c`, info.level), flags: userSpaceFlags(info.level) }));
	const objects: string[] = [];
	for (const unit of units) {
		const object = path.join(workDir, unit.source.replace(/\.c$/, ".o"));
		await gcc([...unit.flags, ...include, "-c", path.join(projectDir, unit.source), "-o", object], unit.source, signal);
		objects.push(object);
	}
	const driverObject = driver.replace(/\.c$/, ".o");
	await gcc(["-std=gnu11", "-O2", "-Wall", ...include, "-c", driver, "-o", driverObject], path.basename(driver), signal);
	const binary = path.join(workDir, `${prefix}_userbench`);
	await gcc(["-static", "-o", binary, driverObject, ...objects], "the static link", signal);
	return binary;
}

/** Copies the binary to the target over its connection, runs it there at the kernel's level and parses its line. */
export async function runUserBench(binary: string, options: UserBenchOptions): Promise<BenchLine> {
	const { target, remotePath, level, calls, signal } = options;
	const uploadLimit = AbortSignal.timeout(STAGE_TIMEOUTS_MS.upload);
	try {
		await target.upload(binary, remotePath, { mode: 0o755, signal: signal ? AbortSignal.any([signal, uploadLimit]) : uploadLimit });
	} catch (error) {
		const why = uploadLimit.aborted && !signal?.aborted ? `it took more than ${STAGE_TIMEOUTS_MS.upload / 60_000} minutes`
			: error instanceof Error ? error.message : String(error);
		throw new UserBenchError(`copying the user-space benchmark to ${remotePath} on ${target.description} failed: ${why}`, { cause: error });
	}
	const timeoutMs = userBenchRunTimeoutMs(calls, options.kernelBench);
	const result = await target.run(remotePath, [level, String(calls)], { input: `${options.inputWords.join("\n")}\n`, timeoutMs, signal });
	if (result.code !== 0) {
		const why = (result.stderr || result.stdout).trim().split("\n").slice(-3).join("\n") || `exit ${result.code ?? `signal ${result.signal}`}`;
		const hint = result.code === 126 ? ": the target may mount its /tmp noexec" : "";
		throw new UserBenchError(`the user-space benchmark ${remotePath} failed on ${target.description} (exit ${result.code ?? result.signal})${hint}: ${why}`);
	}
	const line = result.stdout.split("\n").map((text) => parseModuleLine(text.trim())).find((parsed) => parsed?.kind === "bench");
	if (line?.kind !== "bench" || line.bench.calls !== calls) {
		throw new UserBenchError(`the user-space benchmark on ${target.description} printed no "knn-bench ${options.prefix} calls=${calls} ..." line: ${result.stdout.trim().slice(0, 300)}`);
	}
	return line.bench;
}

/** Builds, copies and runs the user-space benchmark; every step bounded (gcc, upload and the run have timeouts). */
export async function userSpaceBench(options: UserBenchOptions): Promise<BenchLine> {
	return runUserBench(await buildUserBench(options), options);
}
