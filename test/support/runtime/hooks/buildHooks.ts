import * as fs from "node:fs";
import * as path from "node:path";
import { runProcess } from "../../../../extension/core/sandbox/run";

// Builds knn_core and the two hook modules the way `knn runtime install` lays them out (sibling folders core/, tcp/,
// netfilter/ in one build dir), so each hook finds ../core/knn_core.h and ../core/Module.symvers.

export const RUNTIME_DIR = path.resolve(__dirname, "../../../../kmod/runtime");
export const HOOKS = [{ name: "knn_tcp", folder: "tcp" }, { name: "knn_nf", folder: "netfilter" }] as const;

export interface HookBuild {
	dir: string;
	/** Whether knn_core was built (its folder has a Kbuild) and the hooks linked against its Module.symvers. */
	withCore: boolean;
	/** make's output per folder, in build order. */
	output: Record<string, string>;
	/** module name -> built .ko */
	modules: Record<string, string>;
}

function copyFolder(folder: string, dir: string): void {
	const from = path.join(RUNTIME_DIR, folder);
	fs.mkdirSync(path.join(dir, folder), { recursive: true });
	for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
		if (entry.isFile()) fs.copyFileSync(path.join(from, entry.name), path.join(dir, folder, entry.name));
	}
}

async function make(dir: string, kdir: string, extra: string[]): Promise<string> {
	const result = await runProcess("make", [`KDIR=${kdir}`, ...extra], { cwd: dir, timeoutMs: 300_000 });
	const output = result.stdout + result.stderr;
	if (result.code !== 0) throw new Error(`make in ${dir} against ${kdir} failed (exit ${result.code ?? result.spawnError ?? "killed"}):\n${output}`);
	return output;
}

/**
 * Copies kmod/runtime/{core,tcp,netfilter} into dir and builds them against kdir. Without knn_core's Kbuild the hooks
 * are built with KBUILD_MODPOST_WARN=1, so their C is still checked while the core is not there yet.
 */
export async function buildHooks(kdir: string, dir: string): Promise<HookBuild> {
	for (const folder of ["core", ...HOOKS.map((h) => h.folder)]) copyFolder(folder, dir);
	for (const hook of HOOKS) fs.copyFileSync(path.join(RUNTIME_DIR, "..", "templates", "common", "knn_bits.h"), path.join(dir, hook.folder, "knn_bits.h"));
	const withCore = fs.existsSync(path.join(dir, "core", "Kbuild"));
	const output: Record<string, string> = {};
	const modules: Record<string, string> = {};
	if (withCore) {
		output.core = await make(path.join(dir, "core"), kdir, []);
		modules.knn_core = path.join(dir, "core", "knn_core.ko");
	}
	for (const hook of HOOKS) {
		const extra = withCore ? [`KBUILD_EXTRA_SYMBOLS=${path.join(dir, "core", "Module.symvers")}`] : ["KBUILD_MODPOST_WARN=1"];
		output[hook.folder] = await make(path.join(dir, hook.folder), kdir, extra);
		modules[hook.name] = path.join(dir, hook.folder, `${hook.name}.ko`);
	}
	return { dir, withCore, output, modules };
}
