import * as fs from "node:fs";
import * as path from "node:path";
import { type KernelPick, aptHasImage, debianKernel, debianKernelCandidates, isUnpacked, pickDebianKernel } from "./debianKernels";
import { type KernelChoice, SandboxError, SandboxUnavailableError } from "./sandboxTypes";

export interface ResolvedKernel {
	release: string;
	/** The bzImage qemu boots. */
	image: string;
	/** lib/modules/RELEASE of that kernel (has modules.dep), or null for a custom kernel given without modules. */
	modulesDir: string | null;
	headersDir: string;
	/** Kernel config of the image, from its headers. */
	config: Map<string, string>;
	source: "debian" | "custom";
}

/** A driver the VM needs and the config symbol that says whether it is built in. */
interface DriverNeed {
	module: string;
	symbol: string;
	role: "network" | "share";
}

const DRIVERS: readonly DriverNeed[] = [
	{ module: "virtio_pci", symbol: "CONFIG_VIRTIO_PCI", role: "network" },
	{ module: "virtio_net", symbol: "CONFIG_VIRTIO_NET", role: "network" },
	{ module: "9pnet_virtio", symbol: "CONFIG_NET_9P_VIRTIO", role: "share" },
	{ module: "9p", symbol: "CONFIG_9P_FS", role: "share" },
];

// Without these the VM cannot boot from our initramfs, show a console or load modules at all.
const REQUIRED_BUILTIN = ["CONFIG_BLK_DEV_INITRD", "CONFIG_RD_GZIP", "CONFIG_DEVTMPFS", "CONFIG_SERIAL_8250_CONSOLE", "CONFIG_MODULES", "CONFIG_INET"];

export function parseKernelConfig(text: string): Map<string, string> {
	const config = new Map<string, string>();
	for (const line of text.split("\n")) {
		const match = /^(CONFIG_\w+)=(.*)$/.exec(line.trim());
		if (match) config.set(match[1], match[2].replace(/^"(.*)"$/, "$1"));
	}
	return config;
}

function readConfig(headersDir: string): Map<string, string> {
	const file = path.join(headersDir, ".config");
	if (!fs.existsSync(file)) {
		throw new SandboxError(`${file} is missing: the headers dir must be the kernel's configured build tree (the one \`make modules_prepare\` ran in).`);
	}
	return parseKernelConfig(fs.readFileSync(file, "utf8"));
}

function checkConfig(config: Map<string, string>, headersDir: string): void {
	const missing = REQUIRED_BUILTIN.filter((symbol) => config.get(symbol) !== "y");
	if (missing.length > 0) {
		throw new SandboxError(`The kernel configured in ${headersDir} cannot run the sandbox: set ${missing.map((s) => `${s}=y`).join(", ")} and rebuild it.`);
	}
	const absent = DRIVERS.filter((d) => d.role === "network" && !config.has(d.symbol));
	if (absent.length > 0) {
		throw new SandboxError(`The kernel configured in ${headersDir} has no virtio network driver, so SSH cannot reach it: set ${absent.map((d) => `${d.symbol}=y or =m`).join(", ")} and rebuild it.`);
	}
}

/** Module name as the kernel and modprobe see it: file name without .ko[.gz|.xz|.zst], dashes as underscores. */
export function moduleName(file: string): string {
	return path.basename(file).replace(/\.ko(\.(gz|xz|zst))?$/, "").replace(/-/g, "_");
}

/** Parses modules.dep: module name -> [its file, dependency files...], paths relative to the modules dir. */
export function parseModulesDep(text: string): Map<string, string[]> {
	const modules = new Map<string, string[]>();
	for (const line of text.split("\n")) {
		const colon = line.indexOf(":");
		if (colon < 0) continue;
		const file = line.slice(0, colon).trim();
		const deps = line.slice(colon + 1).trim().split(/\s+/).filter((d) => d !== "");
		modules.set(moduleName(file), [file, ...deps]);
	}
	return modules;
}

/** The module files to insmod, dependencies first, so that `names` are all loaded. */
export function moduleLoadOrder(dep: Map<string, string[]>, names: readonly string[]): string[] {
	const order: string[] = [];
	const visit = (name: string, chain: string[]) => {
		const entry = dep.get(name);
		if (!entry) throw new SandboxError(`Module ${name} is not in modules.dep${chain.length ? ` (needed by ${chain.join(" <- ")})` : ""}.`);
		if (order.includes(entry[0]) || chain.includes(name)) return;
		for (const file of entry.slice(1)) visit(moduleName(file), [name, ...chain]);
		order.push(entry[0]);
	};
	for (const name of names) visit(name, []);
	return order;
}

export interface BootModules {
	/** Absolute paths of the modules the initramfs loads, in load order. */
	files: string[];
	/** False when the kernel has no 9p driver at all: no build share and no modules share. */
	sharesAvailable: boolean;
}

/** Which driver modules the initramfs must carry for this kernel (none when they are built in). */
export function bootModules(kernel: ResolvedKernel): BootModules {
	const asModule = DRIVERS.filter((d) => kernel.config.get(d.symbol) === "m");
	const sharesAvailable = DRIVERS.filter((d) => d.role === "share").every((d) => kernel.config.has(d.symbol));
	const wanted = asModule.filter((d) => d.role === "network" || sharesAvailable).map((d) => d.module);
	if (wanted.length === 0) return { files: [], sharesAvailable };
	if (!kernel.modulesDir) {
		throw new SandboxError(`The kernel in ${kernel.headersDir} builds ${wanted.join(", ")} as modules: pass its installed modules `
			+ `with --modules-dir (the lib/modules/${kernel.release} folder of \`make modules_install\`), or build them in (=y).`);
	}
	const depFile = path.join(kernel.modulesDir, "modules.dep");
	if (!fs.existsSync(depFile)) throw new SandboxError(`${depFile} is missing: run \`depmod -b ROOT ${kernel.release}\` for that modules tree.`);
	const files = moduleLoadOrder(parseModulesDep(fs.readFileSync(depFile, "utf8")), wanted);
	return { files: files.map((f) => path.resolve(kernel.modulesDir as string, f)), sharesAvailable };
}

/** The release string an x86 bzImage carries in its setup header (boot protocol 2.0 and later), or null. */
export function bzImageRelease(image: Buffer): string | null {
	if (image.length < 0x210 || image.toString("latin1", 0x202, 0x206) !== "HdrS") return null;
	const start = image.readUInt16LE(0x20e) + 0x200;
	const end = image.indexOf(0, start);
	if (start >= image.length || end < 0) return null;
	return image.toString("latin1", start, end).split(" ")[0] || null;
}

/** The release modules built against a headers dir get in their vermagic. */
export function headersRelease(headersDir: string): string | null {
	const file = path.join(headersDir, "include", "generated", "utsrelease.h");
	if (!fs.existsSync(file)) return null;
	return /UTS_RELEASE\s+"([^"]+)"/.exec(fs.readFileSync(file, "utf8"))?.[1] ?? null;
}

function customKernel(choice: KernelChoice): Omit<ResolvedKernel, "config" | "source"> {
	const image = path.resolve(choice.kernel as string);
	if (!fs.existsSync(image)) throw new SandboxError(`The kernel image ${image} does not exist: pass the bzImage your build produced (arch/x86/boot/bzImage).`);
	const release = bzImageRelease(fs.readFileSync(image));
	if (!release) throw new SandboxError(`${image} is not an x86 bzImage (no "HdrS" setup header): pass arch/x86/boot/bzImage of your build, not vmlinux.`);
	if (!choice.headersDir) {
		throw new SandboxError(`A custom kernel (${image}) needs --headers-dir, its build tree: modules for it must be built against that tree's headers and Module.symvers.`);
	}
	const headersDir = path.resolve(choice.headersDir);
	const built = headersRelease(headersDir);
	if (!built) throw new SandboxError(`${headersDir}/include/generated/utsrelease.h is missing: run \`make modules_prepare\` (or a full build) in ${headersDir} first.`);
	if (built !== release) {
		throw new SandboxError(`${image} is kernel ${release} but ${headersDir} has headers for ${built}: modules built there would not load (vermagic). Pass the matching pair.`);
	}
	const modulesDir = choice.modulesDir ? path.resolve(choice.modulesDir) : null;
	if (modulesDir && !fs.existsSync(path.join(modulesDir, "modules.dep"))) {
		throw new SandboxError(`${modulesDir}/modules.dep is missing: pass the lib/modules/${release} folder of \`make modules_install INSTALL_MOD_PATH=...\` (or run depmod for it).`);
	}
	return { release, image, modulesDir, headersDir };
}

/** Finds (and for Debian downloads) the kernel the sandbox boots. */
export async function resolveKernel(choice: KernelChoice, assetsDir: string, log: (message: string) => void): Promise<ResolvedKernel> {
	if (choice.kernel) {
		const kernel = customKernel(choice);
		const config = readConfig(kernel.headersDir);
		checkConfig(config, kernel.headersDir);
		return { ...kernel, config, source: "custom" };
	}
	if (choice.headersDir || choice.modulesDir) throw new SandboxError("--headers-dir and --modules-dir go with --kernel (a custom bzImage); for Debian's kernels use --kernel-release.");
	const { candidate, reason } = await pickInstalledDebianKernel(choice, assetsDir);
	log(`sandbox kernel ${candidate.release} (${reason})`);
	const config = readConfig(candidate.headersDir);
	checkConfig(config, candidate.headersDir);
	// An installed image is used in place; its modules.dep came with the package, so the system tree is never touched.
	const { image, modulesDir } = candidate.installedImage && candidate.modulesDir
		? { image: candidate.installedImage, modulesDir: candidate.modulesDir }
		: await debianKernel(candidate.release, assetsDir, log);
	return { release: candidate.release, image, modulesDir, headersDir: candidate.headersDir, config, source: "debian" };
}

/** Which of the Debian kernels with installed headers a start with `choice` boots (see pickDebianKernel). */
export async function pickInstalledDebianKernel(choice: KernelChoice, assetsDir: string): Promise<KernelPick> {
	const candidates = debianKernelCandidates();
	if (candidates.length === 0) {
		throw new SandboxUnavailableError("No /usr/src/linux-headers-*-amd64: the sandbox boots Debian's kernel matching the installed headers. "
			+ "Install them with `apt-get install linux-headers-amd64`, or pass a custom kernel with --kernel and --headers-dir.");
	}
	return pickDebianKernel(candidates, choice.kernelRelease, async (release) => isUnpacked(release, assetsDir) || aptHasImage(release));
}
