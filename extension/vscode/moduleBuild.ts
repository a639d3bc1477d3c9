// Compile a model and build its kernel module in a local folder: what the Build Module task runs. No `vscode` here.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compileModel } from "../core/codegen/compile";
import { formatProblem } from "../core/frontends/tf/tf2xlaConfig";
import { NO_HEADERS_HINT, installedHeaderVersions } from "../core/kmod/kernelHeaders";
import { moduleLayout, writeCompiledModule } from "../core/kmod/moduleProject";
import { ConfigMismatchError, loadConfigured } from "../core/model/prepare";
import { validatePrefix } from "../core/kmod/modulePrefix";
import { readSandboxInfo } from "../core/sandbox/sandboxVm";
import { resolveInside } from "../core/util/safePaths";

export interface ModuleBuildRequest {
	modelPath: string;
	configPath: string;
	prefix: string;
	/** The module project folder, e.g. WORKSPACE/.kernelnn/build/NAME. */
	outDir: string;
	/** The kernel build tree for `make KDIR=`; undefined lets the Makefile use the running kernel's. */
	kdir?: string;
	/** Integer-only C and a module without FPU flags (knn compile --no-fpu); refused for float models. */
	noFpu?: boolean;
	signal?: AbortSignal;
	/** Every line of output, compiler diagnostics in gcc's file:line:column form. */
	onLine: (line: string) => void;
}

export interface ModuleBuildResult {
	ok: boolean;
	koPath: string;
	error?: string;
}

/**
 * Which kernel to build for: the configured headers, else the running sandbox's kernel when the sandbox is the
 * target, else this machine's kernel if its headers are installed, else the newest installed Debian headers.
 */
export function chooseKernelBuildDir(options: { kernelHeadersDir?: string; target: string; sandboxDir: string }): { kdir?: string; why: string } {
	if (options.kernelHeadersDir) return { kdir: options.kernelHeadersDir, why: "the kernelNN.kernelHeadersDir setting" };
	if (options.target === "sandbox") {
		const info = readSandboxInfo(options.sandboxDir);
		const kdir = info?.buildKdir ?? (info ? `/usr/src/linux-headers-${info.kernelRelease}` : undefined);
		if (info && kdir && fs.existsSync(path.join(kdir, "Makefile"))) return { kdir, why: `the running sandbox's kernel ${info.kernelRelease}` };
	}
	const running = os.release();
	if (fs.existsSync(`/lib/modules/${running}/build/Makefile`)) return { why: `this machine's kernel ${running}` };
	const installed = installedHeaderVersions()[0];
	if (installed) return { kdir: `/usr/src/linux-headers-${installed}`, why: `the newest installed headers, ${installed}` };
	throw new Error(NO_HEADERS_HINT);
}

/**
 * WORKSPACE/.kernelnn/build/PREFIX for a task's prefix, checked before anything is written: a prefix from
 * tasks.json like "../../../somewhere" is refused, and the folder must resolve inside .kernelnn/build.
 */
export function moduleBuildDir(workspaceFolder: string, prefix: string): string {
	validatePrefix(prefix, "The task's prefix");
	return resolveInside(path.join(workspaceFolder, ".kernelnn", "build"), [prefix], "The module build folder");
}

export async function buildModule(request: ModuleBuildRequest): Promise<ModuleBuildResult> {
	const { prefix, outDir, onLine } = request;
	const koPath = path.join(outDir, moduleLayout(prefix, [`${prefix}_model.c`], request.noFpu).koFile);
	const fail = (error: string): ModuleBuildResult => ({ ok: false, koPath, error });
	onLine(`compiling ${request.modelPath} with ${request.configPath} into ${outDir}`);
	let configured: ReturnType<typeof loadConfigured>;
	try {
		configured = loadConfigured(request.modelPath, request.configPath);
	} catch (error) {
		if (!(error instanceof ConfigMismatchError)) throw error;
		for (const problem of error.problems) onLine(formatProblem(problem));
		return fail(`${path.basename(request.configPath)} has ${error.problems.length} error(s)`);
	}
	const { graph, parsed } = configured;
	const compiled = compileModel(graph, parsed.config, prefix, `${path.basename(request.modelPath)} with ${path.basename(request.configPath)}`, { noFpu: request.noFpu });
	writeCompiledModule(outDir, compiled, "selftest");
	const r = compiled.report;
	onLine(`${r.kernels} steps, ${r.loops} loop(s); arena ${r.arenaBytes} bytes; weights ${r.weightBytes} bytes${request.noFpu ? "; integer only (no FPU)" : ""}`);

	const { LocalTarget } = await import("../core/targets/localTarget");
	const local = new LocalTarget();
	try {
		const args = request.kdir ? [`KDIR=${request.kdir}`] : [];
		onLine(`make ${args.join(" ")}`.trim());
		const result = await local.run("make", args, { cwd: outDir, signal: request.signal, onLine: (line) => onLine(line), buffer: false });
		if (result.code !== 0) return fail(`make failed (exit ${result.code ?? `signal ${result.signal}`})`);
	} finally {
		await local.close();
	}
	if (!fs.existsSync(koPath)) return fail(`make succeeded but ${koPath} is missing`);
	return { ok: true, koPath };
}
