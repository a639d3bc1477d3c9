import * as fs from "node:fs";
import * as path from "node:path";
import { KnnError } from "../util/errors";
import { runLocalTool } from "../util/processRunner";

// Kernel-safety checks on built objects and modules, with binutils and kmod: no FP instruction outside the FP
// units, the vermagic of the target kernel, and no symbol the kernel does not export.

export interface FloatInstructionReport {
	file: string;
	/** `symbol+0xOFFSET: instruction`, one per FP/SIMD instruction found. */
	floatInstructions: string[];
}

export interface KernelExport {
	symbol: string;
	/** `vmlinux` or the module's path within the kernel tree. */
	module: string;
	/** EXPORT_SYMBOL or EXPORT_SYMBOL_GPL. */
	exportType: string;
	namespace: string;
}

/** Runs a tool without a shell (arguments stay arguments) in the C locale, so its output parses the same everywhere. */
function runTool(command: string, args: string[]): Promise<string> {
	return runLocalTool(command, args, { env: { LC_ALL: "C" } });
}

// Operands in FP/SIMD state: SSE/AVX/AVX-512 vectors, AVX-512 masks, x87 stack, MMX.
const FP_REGISTER = /%(?:[xyz]mm\d+\b|k[0-7]\b|st\b|st\(\d\)|mm[0-7]\b)/;
// FP state instructions whose operands are memory or nothing.
const FP_STATE_MNEMONICS = new Set([
	"emms", "femms", "ldmxcsr", "stmxcsr", "vldmxcsr", "vstmxcsr", "vzeroupper", "vzeroall",
	"fxsave", "fxsave64", "fxrstor", "fxrstor64", "xsave", "xsave64", "xsaveopt", "xsaveopt64", "xsavec", "xsavec64",
	"xsaves", "xsaves64", "xrstor", "xrstor64", "xrstors", "xrstors64",
]);
// objdump prints these before the mnemonic; "fs" and "gs" are segment prefixes (per-CPU data), not x87.
const PREFIXES = new Set(["lock", "rep", "repz", "repe", "repnz", "repne", "notrack", "bnd", "data16", "data32", "addr16",
	"addr32", "cs", "ds", "es", "fs", "gs", "ss", "xacquire", "xrelease"]);

/**
 * Whether one AT&T instruction (as objdump prints it) uses FP/SIMD state: any x87 (`f...`) mnemonic, any operand in
 * an xmm/ymm/zmm/k/st/mm register, or an FP state instruction (ldmxcsr, emms, vzeroupper, fxsave...). SSE-era
 * instructions that touch only integer state (movnti, lfence, sfence, prefetch*, clflush, crc32, popcnt) do not count.
 */
export function isFloatInstruction(instruction: string): boolean {
	const code = instruction.replace(/#.*$/, "").replace(/<[^>]*>/g, "").trim();
	const words = code.split(/\s+/);
	let i = 0;
	while (i < words.length - 1 && (PREFIXES.has(words[i]) || /^rex(\.[WRXB]+)?$/i.test(words[i]))) i++;
	const mnemonic = words[i] ?? "";
	if (mnemonic === "" || mnemonic === "(bad)") return false;
	if (FP_REGISTER.test(code)) return true;
	if (FP_STATE_MNEMONICS.has(mnemonic)) return true;
	return /^f[a-z0-9]+$/.test(mnemonic) && !PREFIXES.has(mnemonic);
}

/** Disassembles an object (objdump -d) and lists its FP/SIMD instructions; a non-FP unit must list none. */
export async function checkNoFloatInstructions(objectFile: string): Promise<FloatInstructionReport> {
	const listing = await runTool("objdump", ["-d", "-w", "--no-show-raw-insn", objectFile]);
	const floatInstructions: string[] = [];
	let symbol = "?";
	let symbolAddress = 0;
	for (const line of listing.split("\n")) {
		const header = /^([0-9a-f]+) <(.+)>:$/.exec(line);
		if (header) {
			symbolAddress = parseInt(header[1], 16);
			symbol = header[2];
			continue;
		}
		const insn = /^\s*([0-9a-f]+):\s+(.+)$/.exec(line);
		if (!insn || !isFloatInstruction(insn[2])) continue;
		const offset = parseInt(insn[1], 16) - symbolAddress;
		floatInstructions.push(`${symbol}+0x${offset.toString(16)}: ${insn[2].replace(/\s+/g, " ").trim()}`);
	}
	return { file: objectFile, floatInstructions };
}

/** `modinfo -F vermagic`: the kernel release and options the module was built for. */
export async function vermagicOf(koFile: string): Promise<string> {
	const vermagic = (await runTool("modinfo", ["-F", "vermagic", koFile])).trim();
	if (!vermagic) throw new KnnError(`${koFile} has no vermagic: it is not a kernel module built by Kbuild.`, "build");
	return vermagic;
}

/** The symbols a module needs from the kernel (nm -u), sorted. */
export async function undefinedSymbols(koFile: string): Promise<string[]> {
	const listing = await runTool("nm", ["-u", koFile]);
	const symbols = listing.split("\n").map((line) => line.trim().split(/\s+/).pop() ?? "").filter((s) => s !== "");
	return [...new Set(symbols)].sort();
}

/** The kernel's exports from `KDIR/Module.symvers` (vmlinux and in-tree modules). */
export function kernelExports(kdir: string): Map<string, KernelExport> {
	const file = path.join(kdir, "Module.symvers");
	if (!fs.existsSync(file)) {
		throw new KnnError(`${file} does not exist, so the kernel's exported symbols are unknown: use the headers package of that `
			+ "kernel (Debian: linux-headers-KVER, which ships it) or a kernel tree after `make modules`.", "build");
	}
	const exports = new Map<string, KernelExport>();
	for (const line of fs.readFileSync(file, "utf8").split("\n")) {
		const [crc, symbol, module, exportType, namespace = ""] = line.split("\t");
		if (crc && symbol && module && exportType) exports.set(symbol, { symbol, module, exportType, namespace });
	}
	return exports;
}

/** Symbols the module needs that the kernel at kdir does not export: insmod would fail with "Unknown symbol". */
export async function unresolvedSymbols(koFile: string, kdir: string): Promise<string[]> {
	const exports = kernelExports(kdir);
	return (await undefinedSymbols(koFile)).filter((symbol) => !exports.has(symbol));
}

/**
 * For an integer-only module (--no-fpu): disassembles every object in the build directory (the module main, the
 * model units, Kbuild's NAME.mod.o) and the linked .ko, and returns those with any FP/SIMD instruction.
 */
export async function moduleObjectsWithFloat(buildDir: string, koFile: string): Promise<FloatInstructionReport[]> {
	const objects = fs.readdirSync(buildDir).filter((file) => file.endsWith(".o")).sort().map((file) => path.join(buildDir, file));
	const reports = await Promise.all([...objects, path.join(buildDir, koFile)].map((file) => checkNoFloatInstructions(file)));
	return reports.filter((report) => report.floatInstructions.length > 0);
}
