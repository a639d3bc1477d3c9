import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { type ModuleProjectOptions, cString, findTemplateDir, moduleLayout, writeModuleProject } from "../../extension/core/kmod/moduleProject";
import { checkNoFloatInstructions, isFloatInstruction, kernelExports, undefinedSymbols, vermagicOf } from "../../extension/core/kmod/objectCheck";
import { NO_HEADERS_HINT, installedHeaderVersions } from "../../extension/core/kmod/kernelHeaders";
import { tempDir } from "../support/cli";

const FIXTURES = path.resolve(__dirname, "../fixtures/kmod");

// Shaped like the compiler's output for the hand-written stand-in models in test/fixtures/kmod.
const TINY: ModuleProjectOptions = {
	prefix: "tiny", template: "selftest", modelFiles: ["tiny_model.c"],
	arguments: [{ name: "a", bytes: 16 }, { name: "b", bytes: 8 }],
	results: [{ name: "y", bytes: 16 }, { name: "s", bytes: 8 }],
};
const TINYCC: ModuleProjectOptions = {
	prefix: "tinycc", template: "tcp", modelFiles: ["tinycc_model.c"],
	arguments: [{ name: "global/Placeholder", bytes: 36 }, { name: "state_in \"h\"\\ café", bytes: 16 }],
	results: [{ name: "global/Softmax", bytes: 20 }, { name: "global/rnn/while/Exit_2", bytes: 16 }],
};

const KVER = installedHeaderVersions()[0] as string | undefined;
const noHeaders = KVER === undefined ? NO_HEADERS_HINT : false;
const KDIR = KVER === undefined ? "" : `/usr/src/linux-headers-${KVER}`;

interface Build {
	dir: string;
	output: string;
	ms: number;
}

/** Writes the project next to a copy of the fixture model and runs make against the installed headers. */
function buildProject(options: ModuleProjectOptions): Promise<Build> {
	const dir = tempDir(`kmod-${options.template}`);
	writeModuleProject(dir, options);
	fs.copyFileSync(path.join(FIXTURES, `${options.prefix}.h`), path.join(dir, `${options.prefix}.h`));
	fs.copyFileSync(path.join(FIXTURES, `${options.prefix}.c`), path.join(dir, `${options.prefix}_model.c`));
	const start = performance.now();
	return new Promise((resolve, reject) => {
		execFile("make", [`KVER=${KVER}`], { cwd: dir, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } }, (error, stdout, stderr) => {
			const output = stdout + stderr;
			if (error) reject(new Error(`make in ${dir} failed:\n${output}`));
			else resolve({ dir, output, ms: performance.now() - start });
		});
	});
}

function gcc(...args: string[]): void {
	const result = spawnSync("gcc", args, { encoding: "utf8" });
	assert.equal(result.status, 0, `gcc ${args.join(" ")}:\n${result.stderr}`);
}

describe("module project generation", () => {
	it("rejects prefixes that are not C identifiers before anything reaches C, Kbuild or a shell", () => {
		const dir = tempDir("kmod-bad");
		for (const prefix of ["a;rm -rf /", "9x", "x-y", "", "a b", "x\ny", "$(id)", "a".repeat(42), "café"]) {
			assert.throws(() => writeModuleProject(dir, { ...TINY, prefix }), /not usable for a kernel module: use a C identifier/, prefix);
		}
		assert.deepEqual(fs.readdirSync(dir), []);
		assert.doesNotThrow(() => moduleLayout("_A9" + "b".repeat(38), ["m.c"]));
	});

	it("rejects model files that are not plain C file names or clash with the module's objects", () => {
		const dir = tempDir("kmod-bad-files");
		for (const modelFiles of [[], ["../tiny.c"], ["tiny.o"], ["a b.c"], ["tiny.c"], ["tiny_main.c"], ["tiny_model.c", "tiny_model.c"]]) {
			assert.throws(() => writeModuleProject(dir, { ...TINY, modelFiles }), /model file|modelFiles/, JSON.stringify(modelFiles));
		}
	});

	it("refuses tcp projects whose model is not Indigo-shaped or whose name exceeds TCP's 15 characters", () => {
		const dir = tempDir("kmod-bad-tcp");
		assert.throws(() => writeModuleProject(dir, { ...TINYCC, prefix: "twelve_chars" }), /at most 11 characters/);
		assert.throws(() => writeModuleProject(dir, { ...TINYCC, arguments: [{ name: "x", bytes: 32 }] }), /9 float32 values.*32 bytes instead of 36/);
		assert.throws(() => writeModuleProject(dir, { ...TINYCC, results: [{ name: "p", bytes: 24 }, TINYCC.results[1]] }), /5 action scores/);
		assert.throws(() => writeModuleProject(dir, { ...TINYCC, results: [TINYCC.results[0]] }), /argument 1 .* from result 1, which does not exist/);
		assert.throws(() => writeModuleProject(dir, { ...TINYCC, results: [TINYCC.results[0], { name: "h", bytes: 8 }] }), /has 8 bytes instead of 16/);
		assert.throws(() => writeModuleProject(dir, { ...TINY, arguments: [{ name: "a", bytes: 0 }] }), /positive whole number of bytes/);
	});

	it("escapes quotes, backslashes, newlines, ? and non-ASCII in C string literals", () => {
		assert.equal(cString("global/Placeholder_1:0"), "\"global/Placeholder_1:0\"");
		assert.equal(cString("a\"b\\c"), "\"a\\\"b\\\\c\"");
		assert.equal(cString("line\nnext\r\ttab"), "\"line\\nnext\\r\\ttab\"");
		assert.equal(cString("??=x?"), "\"\\?\\?=x\\?\"");
		assert.equal(cString("café1"), "\"caf\\303\\2511\"");
		assert.equal(cString("\u0000\u0007\u007f"), "\"\\000\\007\\177\"");
		assert.equal(cString("*/ \"); system(\"x"), "\"*/ \\\"); system(\\\"x\"");
	});

	it("writes Kbuild, Makefile, main, helpers, README and one wrapper per SIMD level, with FPU flags on the model's objects only", () => {
		const dir = tempDir("kmod-files");
		const files = writeModuleProject(dir, TINY);
		assert.deepEqual(files.map((f) => path.basename(f)).sort(),
			["Kbuild", "Makefile", "README.md", "knn_bits.h", "knn_fpu.h", "knn_selftest.h", "knn_tensors.h", "tiny_main.c", "tiny_model_avx2.c", "tiny_model_sse2.c"]);
		assert.deepEqual(fs.readdirSync(dir).sort(), files.map((f) => path.basename(f)).sort(), "no temporary files left behind");
		const kbuild = fs.readFileSync(path.join(dir, "Kbuild"), "utf8");
		assert.match(kbuild, /^obj-m := tiny\.o$/m);
		assert.match(kbuild, /^tiny-y := tiny_main\.o tiny_model_sse2\.o tiny_model_avx2\.o$/m);
		assert.match(kbuild, /^CFLAGS_REMOVE_tiny_model_sse2\.o \+= -mno-sse -mno-sse2 .*-msoft-float$/m);
		assert.match(kbuild, /^CFLAGS_tiny_model_sse2\.o \+= -msse -msse2 -mhard-float$/m);
		assert.match(kbuild, /^CFLAGS_REMOVE_tiny_model_avx2\.o \+= -mno-sse -mno-sse2 .*-msoft-float$/m);
		assert.match(kbuild, /^CFLAGS_tiny_model_avx2\.o \+= -msse -msse2 -mhard-float -mavx -mavx2 -mfma$/m);
		assert.doesNotMatch(kbuild, /CFLAGS_tiny_main/);
		assert.match(kbuild, /^ccflags-y \+= -Wframe-larger-than=512$/m);
		for (const file of files) assert.doesNotMatch(fs.readFileSync(file, "utf8"), /@[A-Z_]+@/, `${file} has an unreplaced placeholder`);
		assert.equal(findTemplateDir(), path.resolve(__dirname, "../../kmod"));
	});

	it("explains a missing Module.symvers", () => {
		assert.throws(() => kernelExports(tempDir("kmod-nosymvers")), /Module\.symvers does not exist.*linux-headers/);
	});

	it("make without headers for the requested kernel says which package to install", () => {
		const dir = tempDir("kmod-nokernel");
		writeModuleProject(dir, TINY);
		const result = spawnSync("make", ["KVER=0.0.0-none"], { cwd: dir, encoding: "utf8" });
		assert.notEqual(result.status, 0);
		assert.match(result.stderr, /No kernel headers for 0\.0\.0-none.*apt-get install linux-headers-0\.0\.0-none/);
	});
});

describe("integer float helpers (kmod/templates/common/knn_bits.h) in user space", () => {
	it("print exactly like glibc's %.7e, build floats like (float)(num/den) and parse the module parameters", () => {
		const exe = path.join(tempDir("kmod-bits"), "bits_check");
		gcc("-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-I", path.join(findTemplateDir(), "templates", "common"), path.join(FIXTURES, "bits_check.c"), "-o", exe);
		const result = spawnSync(exe, { encoding: "utf8" });
		assert.equal(result.status, 0, result.stdout + result.stderr);
		assert.match(result.stdout, /knn_format_float_bits checked=\d{7} mismatches=0/);
		assert.match(result.stdout, /knn_float_bits_from_ratio checked=\d{7} mismatches=0/);
	});

	it("the fixture models compile as freestanding C99 with every warning an error", () => {
		const out = tempDir("kmod-fixture");
		for (const model of ["tiny", "tinycc"]) {
			gcc("-std=c99", "-ffreestanding", "-O2", "-Wall", "-Wextra", "-Werror", "-c", path.join(FIXTURES, `${model}.c`), "-o", path.join(out, `${model}.o`));
		}
	});
});

describe("float instruction classifier", () => {
	it("flags SSE, AVX, AVX-512, x87, MMX and FP state instructions", () => {
		for (const insn of ["movss 0x0(%rip),%xmm1", "addps %xmm0,%xmm0", "cvttss2si %xmm0,%eax", "pxor %xmm0,%xmm0",
			"vmovaps %ymm1,(%rdi)", "vaddps %zmm1,%zmm2,%zmm3", "kmovw %k1,%eax", "fldl 0x8(%rsp)", "fstp %st(1)", "fnop",
			"fninit", "movq %mm0,%rax", "emms", "ldmxcsr (%rsp)", "vzeroupper", "fxsave64 (%rdi)", "lock movss %xmm0,(%rax)"]) {
			assert.ok(isFloatInstruction(insn), insn);
		}
	});

	it("leaves integer instructions alone, including per-CPU fs/gs accesses and SSE-era integer instructions", () => {
		for (const insn of ["mov %gs:0x0(%rip),%rax", "fs mov 0x28,%rax", "rep stos %rax,%es:(%rdi)", "lfence", "sfence",
			"movnti %eax,(%rdi)", "prefetchnta (%rax)", "clflush (%rdi)", "crc32l %eax,%ecx", "popcnt %rdi,%rax",
			"call 5 <xmm_helper+0x5>", "cs nopw 0x0(%rax,%rax,1)", "data16 cs nopw 0x0(%rax,%rax,1)", "movsbl (%rdi),%eax", "(bad)"]) {
			assert.ok(!isFloatInstruction(insn), insn);
		}
	});
});

describe("kernel module builds against the installed headers", { skip: noHeaders }, () => {
	let selftest: Build;
	let tcp: Build;

	before(async () => {
		[selftest, tcp] = await Promise.all([buildProject(TINY), buildProject(TINYCC)]);
	});

	for (const [label, options, build] of [["selftest", TINY, () => selftest], ["tcp", TINYCC, () => tcp]] as const) {
		describe(`${label} template`, () => {
			const layout = moduleLayout(options.prefix, options.modelFiles);

			it("builds with zero warnings and a vermagic for the headers' kernel", async () => {
				const { dir, output, ms } = build();
				const warnings = output.split("\n").filter((line) => /warning:/i.test(line));
				assert.deepEqual(warnings, [], output);
				assert.ok(fs.existsSync(path.join(dir, layout.koFile)), output);
				assert.ok((await vermagicOf(path.join(dir, layout.koFile))).startsWith(`${KVER} `));
				assert.ok(ms < 60_000, `build took ${ms} ms`);
			});

			it("needs only symbols the kernel exports", async () => {
				const needed = await undefinedSymbols(path.join(build().dir, layout.koFile));
				const exports = kernelExports(KDIR);
				assert.ok(needed.includes("kernel_fpu_begin_mask") && needed.includes("kernel_fpu_end"), needed.join(" "));
				assert.deepEqual(needed.filter((s) => !exports.has(s)), []);
			});

			it("has no FP instruction outside the model's FP unit, which has some", async () => {
				const { dir } = build();
				for (const object of layout.plainObjects) {
					assert.deepEqual((await checkNoFloatInstructions(path.join(dir, object))).floatInstructions, [], object);
				}
				let fpCount = 0;
				for (const object of layout.fpObjects) {
					const report = await checkNoFloatInstructions(path.join(dir, object));
					assert.ok(report.floatInstructions.some((i) => /xmm/.test(i)), `${object}: ${report.floatInstructions.join("\n")}`);
					assert.match(report.floatInstructions[0], new RegExp(`^${options.prefix}_run_(?:sse2|avx2)\\+0x[0-9a-f]+: `));
					fpCount += report.floatInstructions.length;
				}
				// the linked module adds none: no kernel header inline or Kbuild stub brought FP code along
				assert.equal((await checkNoFloatInstructions(path.join(dir, layout.koFile))).floatInstructions.length, fpCount);
			});
		});
	}
});
