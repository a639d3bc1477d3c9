import * as fs from "node:fs";
import * as path from "node:path";
import { compileModel } from "../codegen/compile";
import { bufferBytes } from "../codegen/memoryPlan";
import type { Buffer } from "../codegen/program";
import { fromFixedPoint, toFixedPoint } from "../codegen/cint/noFpu";
import { configRef } from "../frontends/tf/tf2xlaConfig";
import { refKey } from "../graph/graph";
import { type Tensor, numbers, tensorFromBytes, tensorToBytes, toNested } from "../graph/tensor";
import { followUntil, readKernelLog } from "../kernelLog/follow";
import { type KernelBaseline, type KernelHealth, checkKernelHealth, describeKernelHealth, kernelBaseline } from "../kernelLog/kernelHealth";
import { type BenchLine, assembleSelftest, parseModuleLine } from "../kernelLog/selftestOutput";
import { moduleLayout, writeCompiledModule } from "../kmod/moduleProject";
import { type FloatInstructionReport, checkNoFloatInstructions, moduleObjectsWithFloat, vermagicOf } from "../kmod/objectCheck";
import { loadConfigured } from "../model/prepare";
import { type StepInputs, StepInputError, checkStepsFitWorkBudget, runSteps, stepCount } from "../model/steps";
import type { Target } from "../targets/target";
import { type ModuleParameters, selftestParameters } from "./moduleParameters";
import { MAX_DEPLOY_STEPS, STAGE_TIMEOUTS_MS, UNLOAD_TIMEOUT_MS, selftestTimeout, withTimeout } from "./stageTimeouts";
import { userSpaceBench } from "./userBench";
import { type SimdLevel, isSimdLevel } from "../kmod/simdLevels";
import { codedError } from "../util/errors";
import { validatePrefix } from "../kmod/modulePrefix";
import { makeTempDir } from "../util/safePaths";
import { parseAppLine, prepareApplication } from "./appDeploy";
import { activateModel } from "../runtime/client";

export interface DeployOptions {
	modelPath: string;
	configPath: string;
	checkpoint?: string;
	inputs: StepInputs;
	target: Target;
	/** The module's name and C prefix. */
	prefix: string;
	/** Build against local headers for the target's kernel, or on the target itself. */
	buildOn: "local" | "target";
	/** Local kernel build directory; default /usr/src/linux-headers-<target's uname -r>. */
	kdir?: string;
	/** Command that builds a module project directory on the target (gets DIR and KVER). */
	remoteBuild?: (dir: string, kernelRelease: string) => { command: string; args: string[] };
	keep: boolean;
	tolerance: number;
	/** Integer-only code (knn compile --no-fpu): fixed-point edges, no FPU flags, objdump-checked objects. */
	noFpu?: boolean;
	/**
	 * A knn_core application (tcp, netfilter or a name of your own): the module registers the model into its standby
	 * slot, and with keep the model is activated once the self-test matches the reference. knn_core must be loaded
	 * (knn runtime install); an application of another name is created with the model's sizes.
	 */
	app?: string;
	/** Where knn runtime install keeps knn_core's build per kernel release (its Module.symvers links the module). */
	runtimeCacheDir?: string;
	/** Extra module parameters (bench=N, fail_selftest=1). */
	extraParameters?: string[];
	/** How long the self-test may run before the module is unloaded; default from the steps (selftestTimeout). */
	selftestTimeoutMs?: number;
	signal?: AbortSignal;
	onStage?: (stage: StageReport, phase: "start" | "end") => void;
	onLine?: (line: string) => void;
}

export interface StageReport {
	name: string;
	ms: number;
	ok: boolean;
	error?: string;
}

export interface DeployReport {
	ok: boolean;
	module: string;
	target: string;
	kernelRelease?: string;
	stages: StageReport[];
	kernel: { steps: Record<string, unknown>[] };
	reference: { steps: Record<string, unknown>[] };
	maxAbsError: number;
	maxRelError: number;
	tolerance: number;
	/** What was loaded on the target when the deploy ended. */
	finalState: "new module kept" | "previous module restored" | "previous module reloaded" | "nothing loaded" | "new module could not be unloaded";
	bench?: BenchLine;
	/** The SIMD level the module ran the model at (sse2, avx2; none for --no-fpu), from its self-test. */
	simd?: string;
	/** With a bench count: the same C timed in user space on the target, at the same level (BenchLine.simd). */
	userBench?: BenchLine;
	/** With app: the application and the id knn_core gave the model; activated tells whether it became the active one. */
	runtime?: { app: string; modelId: number; activated: boolean };
	/** New oops, BUG, WARNING or taint in the target's kernel since the deploy began; absent if it never reached the target. */
	kernelHealth?: KernelHealth;
	error?: string;
}

/** A failure that names the stage; the pipeline has already put the target back as it was. */
export class DeployError extends codedError("deploy", "DeployError") {}

const REMOTE_ROOT = "/tmp/knn";

/** The stages deploy() runs for these options, in order: what a progress display counts. */
export function deployStages(options: Pick<DeployOptions, "buildOn" | "noFpu" | "keep" | "extraParameters" | "app">): string[] {
	const build = options.buildOn === "target" ? ["upload", "build"] : ["build", "upload"];
	const check = options.noFpu ? ["check no FPU"] : [];
	const built = options.buildOn === "target" ? [...build, ...check] : [build[0], ...check, build[1]];
	const userBench = benchCallsOf(options.extraParameters) > 0 ? ["user-space bench"] : [];
	const runtime = options.app ? ["runtime"] : [];
	const finish = options.keep ? [...(options.app ? ["activate"] : []), "keep"] : ["unload"];
	return ["compile", "write module project", "target kernel", ...runtime, ...built, "check vermagic", "load", "self-test", "compare", ...userBench, ...finish];
}

/** The bench=N among the module parameters, 0 without one. */
function benchCallsOf(parameters: readonly string[] | undefined): number {
	return Number(parameters?.find((p) => p.startsWith("bench="))?.slice(6) ?? 0) || 0;
}

/** --no-fpu: a module object with any FP/SIMD instruction is a back-end fault, never loaded. */
function rejectFloat(reports: FloatInstructionReport[]): void {
	const found = reports.filter((r) => r.floatInstructions.length > 0);
	if (found.length > 0) {
		throw new DeployError(`--no-fpu: ${found.map((r) => `${path.basename(r.file)} has ${r.floatInstructions.length} FP/SIMD instruction(s), first ${r.floatInstructions[0]}`).join("; ")}; please report this with the model`);
	}
}

/**
 * compile -> module project -> build -> upload -> vermagic -> load -> self-test from the kernel log -> compare
 * with the reference interpreter -> keep or unload. Every stage that waits has a timeout (STAGE_TIMEOUTS_MS; the
 * self-test's grows with the steps). Whatever fails, the target ends with the module that was loaded before (if
 * any) and nothing half-loaded; then the kernel is checked for new oops, BUG, WARNING or taint.
 */
export async function deploy(options: DeployOptions): Promise<DeployReport> {
	const { target, prefix } = options;
	// Before any file exists: a prefix like "../../x" must not name a folder, here or on the target.
	validatePrefix(prefix);
	const stages: StageReport[] = [];
	const report: DeployReport = {
		ok: false, module: prefix, target: target.description, stages, kernel: { steps: [] }, reference: { steps: [] },
		maxAbsError: NaN, maxRelError: NaN, tolerance: options.tolerance, finalState: "nothing loaded",
	};
	// A stage's commands get its signal, which aborts on cancel or when the stage's timeout passes.
	let stageSignal = options.signal;
	const stage = async <T>(name: string, work: () => Promise<T>, timeout: { ms?: number; hint?: string } = { ms: STAGE_TIMEOUTS_MS[name] }): Promise<T> => {
		const entry: StageReport = { name, ms: 0, ok: false };
		stages.push(entry);
		options.onStage?.(entry, "start");
		const start = performance.now();
		try {
			if (options.signal?.aborted) throw new DeployError("cancelled");
			const value = await withTimeout(`the ${name} stage`, timeout.ms, options.signal, (signal) => {
				stageSignal = signal;
				return work();
			}, timeout.hint);
			entry.ok = true;
			return value;
		} catch (error) {
			entry.error = error instanceof Error ? error.message : String(error);
			throw error;
		} finally {
			stageSignal = options.signal;
			entry.ms = Math.round(performance.now() - start);
			options.onStage?.(entry, "end");
		}
	};
	const run = async (command: string, args: string[], what: string) => {
		const result = await target.run(command, args, { signal: stageSignal, onLine: options.onLine ? (line) => options.onLine!(line) : undefined });
		if (result.code !== 0) throw new DeployError(`${what} failed on ${target.description} (exit ${result.code}): ${(result.stderr || result.stdout).trim().split("\n").slice(-8).join("\n")}`);
		return result.stdout;
	};
	const workDir = makeTempDir(`deploy-${prefix}`);
	const remoteDir = `${REMOTE_ROOT}/${prefix}`;
	const layout = moduleLayout(prefix, [`${prefix}_model.c`], options.noFpu);
	const moduleFile = `${remoteDir}/${layout.koFile}`;
	let previous: { file: string; parameters: string[] } | undefined;
	let loadedNew = false;
	let unloadedPrevious = false;
	let baseline: KernelBaseline | undefined;

	// rmmod stops a running self-test between two steps, so it returns within one step's time.
	const restore = async () => {
		if (loadedNew || (await isLoaded(target, prefix))) {
			const result = await target.run("rmmod", [prefix], { timeoutMs: UNLOAD_TIMEOUT_MS });
			if (result.code !== 0 && (await isLoaded(target, prefix))) {
				report.finalState = "new module could not be unloaded";
				throw new DeployError(`could not unload ${prefix} from ${target.description}: ${result.stderr.trim() || `rmmod exit ${result.code}`}; restart the target's kernel`);
			}
			loadedNew = false;
		}
		if (previous && unloadedPrevious) {
			const result = await target.run("insmod", [previous.file, ...previous.parameters], { timeoutMs: STAGE_TIMEOUTS_MS.load });
			if (result.code !== 0) throw new DeployError(`could not reload the previous ${prefix} from ${previous.file}: ${result.stderr.trim()}`);
			report.finalState = "previous module restored";
		}
	};

	try {
		const steps = stepCount(options.inputs);
		if (!(steps <= MAX_DEPLOY_STEPS)) {
			throw new StepInputError(`${options.configPath}: the inputs ask for ${steps} steps, but a deploy runs at most ${MAX_DEPLOY_STEPS.toLocaleString("en-US")} (the module's max_steps); deploy fewer steps`);
		}
		const compiled = await stage("compile", async () => {
			const { graph, parsed } = loadConfigured(options.modelPath, options.configPath, options.checkpoint);
			const model = compileModel(graph, parsed.config, prefix, `${path.basename(options.modelPath)} with ${path.basename(options.configPath)}`, { noFpu: options.noFpu });
			return { model, graph, config: parsed.config };
		});
		const { model, graph, config } = compiled;
		const fetchNames = config.fetch.map((f) => refKey(configRef(f)));
		// The compare stage runs the same steps in the interpreter: one that cannot fit is refused before any build.
		checkStepsFitWorkBudget(graph, config, options.inputs, options.configPath);
		const parameters: ModuleParameters = selftestParameters(graph, config, options.inputs, options.configPath, model.noFpu && fixedPointEncoder(model.noFpu.arguments));

		const projectDir = path.join(workDir, prefix);
		await stage("write module project", async () => {
			writeCompiledModule(projectDir, model, options.app ? "app" : "selftest", options.app ? { app: options.app } : undefined);
		});

		const kernelRelease = await stage("target kernel", async () => {
			const release = (await run("uname", ["-r"], "uname -r")).trim();
			baseline = await kernelBaseline(target, stageSignal);
			return release;
		});
		report.kernelRelease = kernelRelease;
		let extraSymbols: string | undefined;
		if (options.app) {
			const app = options.app;
			if (options.buildOn !== "local") throw new DeployError(`--app ${app}: a model module for knn_core is built locally against knn_core's Module.symvers; use --build-on local`);
			extraSymbols = await stage("runtime", () => prepareApplication(target, app, model, kernelRelease, options, stageSignal));
		}
		const localKo = path.join(projectDir, layout.koFile);
		await run("mkdir", ["-p", remoteDir], `mkdir ${remoteDir}`);

		if (options.buildOn === "local") {
			await stage("build", async () => {
				const kdir = options.kdir ?? `/usr/src/linux-headers-${kernelRelease}`;
				if (!fs.existsSync(path.join(kdir, "Makefile"))) {
					throw new DeployError(`no kernel headers for the target's kernel ${kernelRelease} at ${kdir}: install linux-headers-${kernelRelease}, pass the build directory, or build on the target`);
				}
				await localMake(projectDir, kdir, options, extraSymbols);
			});
			if (options.noFpu) {
				await stage("check no FPU", async () => rejectFloat(await moduleObjectsWithFloat(projectDir, layout.koFile)));
			}
			await stage("upload", () => target.upload(localKo, `${moduleFile}.new`, { signal: options.signal }));
		} else {
			const remoteProject = `${remoteDir}/build`;
			await stage("upload", async () => {
				await run("rm", ["-rf", remoteProject], "clean the remote build directory");
				await run("mkdir", ["-p", remoteProject], "create the remote build directory");
				for (const file of fs.readdirSync(projectDir)) await target.upload(path.join(projectDir, file), `${remoteProject}/${file}`, { signal: options.signal });
			});
			await stage("build", async () => {
				if (!options.remoteBuild) throw new DeployError(`${target.description}: no way to build on this target is known; build locally instead`);
				const { command, args } = options.remoteBuild(remoteProject, kernelRelease);
				await run(command, args, "the module build");
				await run("mv", [`${remoteProject}/${layout.koFile}`, `${moduleFile}.new`], "moving the built module");
				await target.download(`${moduleFile}.new`, localKo, { signal: options.signal });
			});
			// Built on the target, only the linked .ko comes back: it holds the code of every object.
			if (options.noFpu) await stage("check no FPU", async () => rejectFloat(await Promise.all([checkNoFloatInstructions(localKo)])));
		}

		await stage("check vermagic", async () => {
			const vermagic = await vermagicOf(localKo);
			if (!vermagic.startsWith(`${kernelRelease} `)) {
				throw new DeployError(`${layout.koFile} was built for "${vermagic}" but ${target.description} runs ${kernelRelease}: build against that kernel's headers`);
			}
		});

		const logBefore = await stage("load", async () => {
			if (options.app && (await isLoaded(target, prefix))) {
				throw new DeployError(`a module named ${prefix} is loaded on ${target.description}; a model for knn_core's ${options.app} application needs a prefix of its own (--prefix), so that the running one stays resident for rollback`);
			}
			if (await isLoaded(target, prefix)) {
				const saved = await target.run("cat", [`${moduleFile}.parameters`]);
				if (saved.code !== 0) {
					throw new DeployError(`a module named ${prefix} is loaded on ${target.description} but was not deployed by Kernel NN (no ${moduleFile}.parameters); unload it first or choose another prefix`);
				}
				previous = { file: `${moduleFile}.kept`, parameters: saved.stdout.trim().split("\n").filter((p) => p !== "") };
			}
			const records = await readKernelLog(target, stageSignal);
			const lastSeq = records.length ? records[records.length - 1].seq : -1;
			if (previous) {
				await run("rmmod", [prefix], `rmmod ${prefix} (the previous version)`);
				unloadedPrevious = true;
			}
			// insmod returns once the parameters are checked; the self-test runs on in the module's thread.
			const result = await target.run("insmod", [`${moduleFile}.new`, ...parameters.list, ...(options.extraParameters ?? [])], { signal: stageSignal });
			loadedNew = result.code === 0;
			return { lastSeq, insmod: result };
		});

		const benchCalls = benchCallsOf(options.extraParameters);
		const reckoned = selftestTimeout(steps, benchCalls);
		const selftestLimit = options.selftestTimeoutMs !== undefined
			? { ms: options.selftestTimeoutMs, hint: "the given timeout; the module was unloaded" }
			: { ms: reckoned.ms, hint: `${reckoned.reckoning} for ${steps} steps; the module was unloaded; give a longer timeout to wait more` };
		const kernelSteps = await stage("self-test", async () => {
			const doneLine = new RegExp(`^knn-selftest ${prefix} done `);
			const records = logBefore.insmod.code === 0
				? await followUntil(target, logBefore.lastSeq, (r) => doneLine.test(r.message), stageSignal!, (r) => options.onLine?.(r.message))
				: (await readKernelLog(target, stageSignal)).filter((r) => r.seq > logBefore.lastSeq);
			const messages = records.map((r) => r.message);
			if (logBefore.insmod.code !== 0) for (const message of messages) options.onLine?.(message);
			if (options.app) {
				const registered = messages.map((m) => parseAppLine(m, prefix)).find((line) => line !== undefined);
				if (registered) report.runtime = { app: registered.app, modelId: registered.modelId, activated: false };
			}
			const bench = messages.map(parseModuleLine).find((l) => l?.kind === "bench");
			if (bench?.kind === "bench") report.bench = bench.bench;
			const { steps, done, simd } = assembleSelftest(messages, prefix, model.program.results.map(bufferBytes));
			if (simd !== undefined) report.simd = simd;
			if (!logBefore.insmod.code && done.status === 0 && loadedNew) return steps.map((results) => resultTensors(results, model.program.results, model.noFpu?.results ?? []));
			const why = messages.filter((m) => m.startsWith(`${prefix}:`)).slice(-3).join("; ");
			throw new DeployError(`${prefix} failed its self-test on ${target.description} (status ${done.status}${why ? `: ${why}` : ""}; insmod: ${logBefore.insmod.stderr.trim() || `exit ${logBefore.insmod.code}`})`);
		}, selftestLimit);
		const asSteps = (steps: Tensor[][]) => steps.map((outputs) => Object.fromEntries(outputs.map((t, i) => [fetchNames[i], toNested(t)])));
		report.kernel.steps = asSteps(kernelSteps);

		await stage("compare", async () => {
			const reference = runSteps(graph, config, options.inputs, options.configPath);
			report.reference.steps = asSteps(reference);
			let maxAbs = 0;
			let maxRel = 0;
			let worst = "";
			reference.forEach((outputs, step) => outputs.forEach((expected, r) => {
				// Integer results compare as integers: within a tolerance below 1 they must be equal.
				const want = numbers(expected);
				const got = numbers(kernelSteps[step][r]);
				for (let i = 0; i < want.length; i++) {
					const abs = Math.abs(got[i] - want[i]);
					const rel = abs / Math.max(Math.abs(want[i]), 1e-30);
					if (!(abs <= maxAbs) || Number.isNaN(got[i])) worst = `step ${step} ${fetchNames[r]}[${i}]: kernel ${got[i]}, reference ${want[i]}`;
					maxAbs = Math.max(maxAbs, Number.isNaN(abs) ? Infinity : abs);
					maxRel = Math.max(maxRel, Number.isNaN(rel) ? Infinity : rel);
				}
			}));
			report.maxAbsError = maxAbs;
			report.maxRelError = maxRel;
			if (!(maxAbs <= options.tolerance)) throw new DeployError(`the kernel's output differs from the reference by ${maxAbs} (tolerance ${options.tolerance}); worst at ${worst}`);
		});

		if (benchCalls > 0) {
			report.userBench = await stage("user-space bench", () => userSpaceBench({
				projectDir, workDir: path.join(workDir, "userbench"), prefix, noFpu: model.noFpu !== undefined,
				level: knownLevel(report.simd ?? (model.noFpu ? "none" : "sse2"), prefix), calls: benchCalls,
				inputWords: parameters.list.find((p) => p.startsWith("inputs="))?.slice(7).split(",").filter((w) => w !== "") ?? [],
				target, remotePath: `${remoteDir}/${prefix}_userbench`, kernelBench: report.bench, signal: stageSignal,
			}));
		}

		if (options.app && options.keep) {
			await stage("activate", async () => {
				if (!report.runtime) throw new DeployError(`${prefix} did not print its knn-app line: it did not register with knn_core's ${options.app} application`);
				await activateModel(target, report.runtime.app, report.runtime.modelId, stageSignal);
				report.runtime.activated = true;
			});
		}
		await stage(options.keep ? "keep" : "unload", async () => {
			if (options.keep) {
				await run("mv", [`${moduleFile}.new`, `${moduleFile}.kept`], "keeping the module file");
				await target.upload(writeTemp(workDir, [...parameters.list, ...(options.extraParameters ?? []).filter((p) => !p.startsWith("bench="))].join("\n")), `${moduleFile}.parameters`);
				report.finalState = "new module kept";
				return;
			}
			await run("rmmod", [prefix], `rmmod ${prefix}`);
			loadedNew = false;
			if (previous) {
				await run("insmod", [previous.file, ...previous.parameters], `reloading the previous ${prefix}`);
				report.finalState = "previous module reloaded";
			}
		});
		report.ok = true;
	} catch (error) {
		report.error = error instanceof Error ? error.message : String(error);
		try {
			await restore();
		} catch (restoreError) {
			report.error += `\nrestoring the previous state also failed: ${restoreError instanceof Error ? restoreError.message : String(restoreError)}`;
		}
	} finally {
		fs.rmSync(workDir, { recursive: true, force: true });
	}
	if (baseline) {
		report.kernelHealth = await checkKernelHealth(target, baseline);
		if (!report.kernelHealth.ok) {
			report.ok = false;
			report.error = `${report.error ? `${report.error}\n` : ""}the kernel of ${target.description} was damaged during the deploy: ${describeKernelHealth(report.kernelHealth)}`;
		}
	}
	return report;
}

/** The level the module said it ran, which the user-space benchmark runs too. */
function knownLevel(level: string, prefix: string): SimdLevel {
	if (isSimdLevel(level)) return level;
	throw new DeployError(`${prefix} printed simd=${level}, a SIMD level this Kernel NN does not build: regenerate the module project with this version`);
}

/** --no-fpu: fixed-point arguments from the float feeds, on the host; other arguments as their own bytes. */
function fixedPointEncoder(fracBits: (number | undefined)[]): (feedIndex: number, value: Tensor) => Uint8Array {
	return (feedIndex, value) => {
		const bits = fracBits[feedIndex];
		if (bits === undefined) return tensorToBytes(value);
		const raw = toFixedPoint(numbers(value), bits);
		return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
	};
}

/**
 * One step's result bytes as tensors of the program's result types; --no-fpu's int32 fixed-point results (those
 * with fraction bits) back to float values.
 */
function resultTensors(results: Uint8Array[], buffers: Buffer[], fracBits: (number | undefined)[]): Tensor[] {
	return results.map((bytes, r) => {
		const { dtype, shape } = buffers[r];
		const bits = fracBits[r];
		if (bits === undefined) return tensorFromBytes(dtype, [...shape], bytes, `the self-test's result ${r}`);
		return { dtype: "float32", shape: [...shape], data: fromFixedPoint(numbers(tensorFromBytes("int32", [...shape], bytes, `the self-test's result ${r}`)), bits) };
	});
}

function writeTemp(dir: string, text: string): string {
	const file = path.join(dir, "parameters");
	fs.writeFileSync(file, `${text}\n`);
	return file;
}

async function isLoaded(target: Target, name: string): Promise<boolean> {
	const result = await target.run("cat", ["/proc/modules"]);
	return result.stdout.split("\n").some((line) => line.split(" ")[0] === name);
}

async function localMake(projectDir: string, kdir: string, options: DeployOptions, extraSymbols?: string): Promise<void> {
	const { LocalTarget } = await import("../targets/localTarget");
	const local = new LocalTarget();
	try {
		const result = await local.run("make", [`KDIR=${kdir}`, ...(extraSymbols ? [`KBUILD_EXTRA_SYMBOLS=${extraSymbols}`] : [])], { cwd: projectDir, signal: options.signal, onLine: options.onLine ? (line) => options.onLine!(line) : undefined });
		if (result.code !== 0) throw new DeployError(`the module build failed (make exit ${result.code}):\n${(result.stdout + result.stderr).trim().split("\n").slice(-15).join("\n")}`);
	} finally {
		await local.close();
	}
}
