import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { findTemplateDir } from "../kmod/moduleProject";
import { vermagicOf } from "../kmod/objectCheck";
import { LocalTarget } from "../targets/localTarget";
import type { Target } from "../targets/target";
import { runLocalTool } from "../util/processRunner";
import { resolveInside } from "../util/safePaths";
import { REMOTE_RUNTIME_DIR, runtimeStatus, uploadChannelTool } from "./client";
import { RuntimeError } from "./runtimeError";
import { findRuntimeSourceDir, syncSources } from "./runtimeSources";

// `knn runtime install`: build knn_core and its hook modules on this machine for the target's kernel, copy them
// there with the channel tool, and load them so that the target ends either fully installed or as it was.

/** The runtime's modules in load order: hooks need knn_core's symbols, so it comes first and leaves last. */
export const RUNTIME_MODULES = [
	{ name: "knn_core", folder: "core" },
	{ name: "knn_tcp", folder: "tcp" },
	{ name: "knn_nf", folder: "netfilter" },
] as const;

export type RuntimeModuleName = (typeof RUNTIME_MODULES)[number]["name"];

export interface InstallOptions {
	/** Local kernel build directory; default /usr/src/linux-headers-<target's uname -r>. */
	kdir?: string;
	/** Where builds are kept between runs (runtimeCacheDir() for the CLI). */
	cacheDir: string;
	/** Only these modules (knn_core is always included); default all three. */
	modules?: RuntimeModuleName[];
	signal?: AbortSignal;
	onLine?: (line: string) => void;
}

export interface InstallReport {
	kernelRelease: string;
	/** srcversion is modinfo's, or "sha256:..." of the .ko for a module built without MODULE_VERSION. */
	modules: { name: string; loaded: true; srcversion: string }[];
	toolPath: string;
}

interface BuiltModule {
	name: RuntimeModuleName;
	ko: string;
	identity: string;
}

const DEFAULT_KDIR = (release: string) => `/usr/src/linux-headers-${release}`;
const COMMAND_TIMEOUT_MS = 60_000;

/** The folder of this cache holding one kernel release's builds, checked to stay inside cacheDir. */
function releaseDir(cacheDir: string, kernelRelease: string): string {
	return resolveInside(cacheDir, ["build", kernelRelease], "The kernel release");
}

/** Where knn_core is built for kernelRelease: its Module.symvers there is what model modules link against. */
export function runtimeBuildDir(cacheDir: string, kernelRelease: string): string {
	return path.join(releaseDir(cacheDir, kernelRelease), "core");
}

/**
 * Builds knn_core for kernelRelease if its sources changed (make is a no-op otherwise) and returns its
 * Module.symvers, for `knn deploy --app` to build model modules against.
 */
export async function coreSymvers(cacheDir: string, kernelRelease: string, options: { kdir?: string; signal?: AbortSignal; onLine?: (line: string) => void } = {}): Promise<string> {
	const kdir = checkedKdir(options.kdir, kernelRelease);
	await buildModule("knn_core", "core", cacheDir, kernelRelease, kdir, undefined, options.signal, options.onLine);
	return path.join(runtimeBuildDir(cacheDir, kernelRelease), "Module.symvers");
}

function checkedKdir(kdir: string | undefined, kernelRelease: string): string {
	const dir = kdir ?? DEFAULT_KDIR(kernelRelease);
	if (!fs.existsSync(path.join(dir, "Makefile"))) {
		throw new RuntimeError(`No kernel headers for ${kernelRelease} at ${dir}: install linux-headers-${kernelRelease} (apt-get install linux-headers-${kernelRelease}) or pass --kdir with that kernel's build directory.`);
	}
	return dir;
}

/** Copies one module's sources next to its siblings under the release's build folder and runs make there. */
async function buildModule(name: RuntimeModuleName, folder: string, cacheDir: string, kernelRelease: string, kdir: string,
	extraSymbols: string | undefined, signal?: AbortSignal, onLine?: (line: string) => void): Promise<BuiltModule> {
	const sourceDir = path.join(findRuntimeSourceDir(), folder);
	if (!fs.existsSync(path.join(sourceDir, "Kbuild"))) {
		throw new RuntimeError(`The sources of ${name} (${path.join(sourceDir, "Kbuild")}) are missing: restore kmod/runtime/${folder} or reinstall Kernel NN.`);
	}
	const buildDir = path.join(releaseDir(cacheDir, kernelRelease), folder);
	syncSources(sourceDir, buildDir);
	// The hooks build float32 bit patterns with the templates' knn_bits.h, the one copy of it.
	if (folder !== "core") copyIfChanged(path.join(findTemplateDir(), "templates", "common", "knn_bits.h"), path.join(buildDir, "knn_bits.h"));
	// Objects built against other headers for the same release name must not be reused.
	const stamp = path.join(buildDir, ".knn-kdir");
	const local = new LocalTarget();
	try {
		if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") !== kdir) {
			await local.run("make", [`KDIR=${kdir}`, "clean"], { cwd: buildDir, signal });
		}
		const args = [`KDIR=${kdir}`, ...(extraSymbols ? [`KBUILD_EXTRA_SYMBOLS=${extraSymbols}`] : [])];
		const result = await local.run("make", args, { cwd: buildDir, signal, onLine: onLine ? (line) => onLine(line) : undefined });
		if (result.code !== 0) {
			throw new RuntimeError(`Building ${name} for ${kernelRelease} failed (make exit ${result.code} in ${buildDir}):\n${(result.stdout + result.stderr).trim().split("\n").slice(-15).join("\n")}`);
		}
		fs.writeFileSync(stamp, kdir);
	} finally {
		await local.close();
	}
	const ko = path.join(buildDir, `${name}.ko`);
	if (!fs.existsSync(ko)) throw new RuntimeError(`make succeeded in ${buildDir} but left no ${name}.ko: its Kbuild must build obj-m := ${name}.o.`);
	const vermagic = await vermagicOf(ko);
	if (!vermagic.startsWith(`${kernelRelease} `)) {
		throw new RuntimeError(`${name}.ko was built for "${vermagic}" but the target runs ${kernelRelease}: pass --kdir with that kernel's headers.`);
	}
	return { name, ko, identity: await moduleIdentity(ko) };
}

/** modinfo's srcversion when the module has one (MODULE_VERSION), else a hash of the file. */
async function moduleIdentity(ko: string): Promise<string> {
	const srcversion = (await runLocalTool("modinfo", ["-F", "srcversion", ko], { env: { LC_ALL: "C" } })).trim();
	if (srcversion) return srcversion;
	return `sha256:${createHash("sha256").update(fs.readFileSync(ko)).digest("hex").slice(0, 24)}`;
}

/**
 * Builds, uploads and loads knn_core, knn_tcp and knn_nf and the channel tool. A module already loaded with the
 * same build is left alone; a different one is replaced (hooks out, then knn_core). If anything fails, the modules
 * this call loaded are unloaded again.
 */
export async function installRuntime(target: Target, options: InstallOptions): Promise<InstallReport> {
	const { signal, onLine } = options;
	const run = async (command: string, args: string[]) => target.run(command, args, { signal, timeoutMs: COMMAND_TIMEOUT_MS });
	const uname = await run("uname", ["-r"]);
	const kernelRelease = uname.stdout.trim();
	if (uname.code !== 0 || !kernelRelease) throw new RuntimeError(`Could not read the kernel release of ${target.description} (uname -r exit ${uname.code}).`);
	const kdir = checkedKdir(options.kdir, kernelRelease);

	const wanted = RUNTIME_MODULES.filter((m) => m.name === "knn_core" || !options.modules || options.modules.includes(m.name));
	// knn_core first (the hooks link against its Module.symvers), then the hooks side by side.
	const build = (module: (typeof wanted)[number]) => {
		onLine?.(`building ${module.name} for ${kernelRelease}`);
		const extra = module.name === "knn_core" ? undefined : path.join(runtimeBuildDir(options.cacheDir, kernelRelease), "Module.symvers");
		return buildModule(module.name, module.folder, options.cacheDir, kernelRelease, kdir, extra, signal, onLine);
	};
	const built: BuiltModule[] = [await build(wanted[0])];
	built.push(...(await Promise.all(wanted.slice(1).map(build))));

	const toolPath = await uploadChannelTool(target, options.cacheDir, signal);
	for (const module of built) await target.upload(module.ko, remoteKo(module.name), { signal, mode: 0o644 });

	const loadedHere: string[] = [];
	try {
		await loadInOrder(target, built, loadedHere, run, onLine);
		// The family must answer: a core that loads but registers no channel is not installed.
		await runtimeStatus(target, { signal });
	} catch (error) {
		for (const name of [...loadedHere].reverse()) await target.run("rmmod", [name], { timeoutMs: COMMAND_TIMEOUT_MS }).catch(() => undefined);
		throw error;
	}
	return { kernelRelease, modules: built.map((m) => ({ name: m.name, loaded: true, srcversion: m.identity })), toolPath };
}

function remoteKo(name: string): string {
	return `${REMOTE_RUNTIME_DIR}/${name}.ko`;
}

/** A marker of what was loaded, for modules without a srcversion in sysfs; /tmp goes with the modules on reboot. */
function remoteMarker(name: string): string {
	return `${REMOTE_RUNTIME_DIR}/${name}.loaded`;
}

type Run = (command: string, args: string[]) => Promise<{ code: number | null; stdout: string; stderr: string }>;

async function loadInOrder(target: Target, built: BuiltModule[], loadedHere: string[], run: Run, onLine?: (line: string) => void): Promise<void> {
	const loaded = new Set((await run("cat", ["/proc/modules"])).stdout.split("\n").map((line) => line.split(" ")[0]));
	const same = new Map<string, boolean>();
	for (const module of built) same.set(module.name, loaded.has(module.name) && (await loadedIdentity(module.name, run)) === module.identity);
	const coreChanged = loaded.has("knn_core") && !same.get("knn_core");

	// Hooks hold knn_core, so they go first; models loaded into knn_core must be unloaded by the user.
	const unload = RUNTIME_MODULES.map((m) => m.name)
		.filter((name) => name !== "knn_core" && loaded.has(name) && (coreChanged || (same.has(name) && !same.get(name))));
	if (coreChanged) {
		const holders = (await run("ls", [`/sys/module/knn_core/holders`])).stdout.split(/\s+/).filter((h) => h !== "" && !unload.includes(h as RuntimeModuleName));
		const others = holders.filter((h) => !RUNTIME_MODULES.some((m) => m.name === h));
		if (others.length > 0) {
			throw new RuntimeError(`A different knn_core is loaded on ${target.description} and ${others.join(", ")} use it: unload them first (rmmod ${others.join(" ")}), then install again.`);
		}
		unload.push("knn_core");
	}
	for (const name of unload) {
		onLine?.(`unloading ${name} (a different build)`);
		const result = await run("rmmod", [name]);
		if (result.code !== 0) throw new RuntimeError(`Could not unload the previous ${name} from ${target.description}: ${result.stderr.trim() || `rmmod exit ${result.code}`}.`);
		loaded.delete(name);
	}
	for (const module of built) {
		if (loaded.has(module.name)) {
			onLine?.(`${module.name} is already loaded with this build`);
			continue;
		}
		onLine?.(`loading ${module.name}`);
		const result = await run("insmod", [remoteKo(module.name)]);
		if (result.code !== 0) {
			const log = (await run("dmesg", [])).stdout.split("\n").filter((line) => line.includes(module.name)).slice(-5).join("\n");
			throw new RuntimeError(`insmod ${module.name} failed on ${target.description}: ${result.stderr.trim() || `exit ${result.code}`}${log ? `\nkernel log:\n${log}` : ""}`);
		}
		loadedHere.push(module.name);
		await target.upload(writeMarker(module), remoteMarker(module.name), { mode: 0o644 });
	}
}

/** The identity of the loaded module: sysfs's srcversion, or the marker written when this code loaded it. */
async function loadedIdentity(name: string, run: Run): Promise<string | undefined> {
	const srcversion = await run("cat", [`/sys/module/${name}/srcversion`]);
	if (srcversion.code === 0 && srcversion.stdout.trim()) return srcversion.stdout.trim();
	const marker = await run("cat", [remoteMarker(name)]);
	return marker.code === 0 ? marker.stdout.trim() : undefined;
}

function writeMarker(module: BuiltModule): string {
	const file = `${module.ko}.loaded`;
	fs.writeFileSync(file, `${module.identity}\n`);
	return file;
}

function copyIfChanged(from: string, to: string): void {
	const bytes = fs.readFileSync(from);
	if (!fs.existsSync(to) || !fs.readFileSync(to).equals(bytes)) fs.writeFileSync(to, bytes);
}
