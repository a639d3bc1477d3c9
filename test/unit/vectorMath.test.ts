import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { MODEL_CFLAGS, gccMissing } from "../support/hostBuild";
import { VECTOR_PRELUDE } from "../../extension/core/codegen/vectorLibrary";
import { VECTOR_MATH_ERROR_BOUNDS, type VectorMathFunction, vectorMathErrorSummary, vectorMathSource } from "../../extension/core/codegen/vectorMath";

// The vector math functions are built with gcc the way model code is, for the baseline SSE2 target (4 lanes) and
// for AVX2+FMA (8 lanes), and linked to test/support/vectorMathHarness.c, which measures them against glibc's
// double functions over at least 2^24 arguments each, checks special values and checks that no lane depends on
// another.

const run = promisify(execFile);
const HARNESS = path.resolve(__dirname, "../support/vectorMathHarness.c");
const FUNCTIONS: readonly VectorMathFunction[] = ["exp", "sigmoid", "tanh"];

/** What a kernel module translation unit with the FPU enabled is built with on x86_64; no x87, so no long double. */
const KERNEL = ["-std=gnu11", "-ffreestanding", "-nostdlib", "-O2", "-mhard-float", "-mno-red-zone", "-fno-builtin", "-mcmodel=kernel", "-fno-pic", "-mno-80387", "-mno-fp-ret-in-387", "-fno-common", "-fno-strict-aliasing", "-fno-stack-protector", "-fno-asynchronous-unwind-tables"];
/** Warnings beyond the model's own flags, all errors, that the vector math must also pass. */
const STRICT = ["-pedantic", "-Wconversion", "-Wdouble-promotion", "-Wshadow", "-Wdeclaration-after-statement", "-Wmissing-prototypes", "-Wstrict-prototypes", "-Wundef"];

/** A node:test `skip` value: false when this CPU runs AVX2 and FMA code, else the reason. */
const avx2Missing: string | false = (() => {
	try {
		const flags = new Set((/^flags\s*:(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "").trim().split(/\s+/));
		return flags.has("avx2") && flags.has("fma") ? false : "this CPU lacks avx2 or fma (per /proc/cpuinfo), so AVX2 builds cannot run here";
	} catch {
		return "/proc/cpuinfo is unreadable, so whether this CPU runs AVX2 and FMA code is unknown";
	}
})();

/**
 * The builds measured. In ISO C mode GCC does not contract a * b + c into an FMA; in GNU mode (the kernel's
 * gnu11) it does, which changes results, so AVX2 is measured both ways.
 */
const LEVELS: { name: string; flags: string[]; skip: string | false }[] = [
	{ name: "sse2", flags: ["-msse2"], skip: false },
	{ name: "avx2", flags: ["-mavx2", "-mfma"], skip: avx2Missing },
	{ name: "avx2-contracted", flags: ["-std=gnu11", "-mavx2", "-mfma"], skip: avx2Missing },
];

let scratch = "";

/** VECTOR_PRELUDE, the functions and an external wrapper per function taking n (a multiple of 8) floats. */
function withWrappers(fns: readonly VectorMathFunction[]): string {
	const wrappers = fns.map((fn) => `void knn_check_${fn}(const float *in, float *out, int n);
void knn_check_${fn}(const float *in, float *out, int n)
{
	int i;

	for (i = 0; i + KNN_LANES <= n; i += KNN_LANES)
		knn_vstore(out + i, knn_v${fn}(knn_vload(in + i)));
}`);
	return `${VECTOR_PRELUDE}\n\n${vectorMathSource(fns)}\n${wrappers.join("\n\n")}\n`;
}

async function gcc(args: string[], what: string): Promise<void> {
	try {
		await run("gcc", args);
	} catch (e) {
		assert.fail(`gcc rejected ${what} (${args.join(" ")}):\n${(e as { stderr?: string }).stderr ?? String(e)}`);
	}
}

/** Compiles `source` to an object file and returns the symbols it leaves undefined. */
async function undefinedSymbols(name: string, source: string, flags: readonly string[]): Promise<string[]> {
	const file = path.join(scratch, `${name}.c`);
	const object = path.join(scratch, `${name}.o`);
	fs.writeFileSync(file, source);
	await gcc([...flags, "-c", file, "-o", object], `${name}.c`);
	const { stdout } = await run("nm", ["-u", object]);
	return stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

const FLT_MAX = 3.4028234663852886e38;

function bitsOf(x: number): number {
	return new Uint32Array(Float32Array.of(x).buffer)[0];
}

function fromHex(h: string): number {
	return new Float32Array(Uint32Array.of(parseInt(h, 16)).buffer)[0];
}

/** Position in float order, as the harness counts: adjacent floats differ by one and both zeros are 0. */
function orderOf(x: number): number {
	const u = bitsOf(x);
	return u >= 0x80000000 ? -(u - 0x80000000) : u;
}

/** The ends of a stated domain such as "[-87.3, 40]" or "[-FLT_MAX, FLT_MAX]", as floats. */
function domainEnds(domain: string): [number, number] {
	const m = /^\[(\S+), (\S+)\]$/.exec(domain);
	assert.ok(m, `domain "${domain}" is not of the form [lo, hi]`);
	const value = (t: string) => Math.fround(Number(t.replace("FLT_MAX", String(FLT_MAX))));
	return [value(m[1]), value(m[2])];
}

const EVERY_FLOAT = "[-FLT_MAX, FLT_MAX]";

before(() => {
	scratch = fs.mkdtempSync(path.join(os.tmpdir(), "knn-vmath-test-"));
});

after(() => {
	if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe("vector math source", () => {
	const all = vectorMathSource(FUNCTIONS);

	test("has no includes, no long double, no builtins, no ternary, no branch, no static state and only knn_ names", () => {
		const code = all.replace(/\/\*[\s\S]*?\*\//g, "");
		assert.doesNotMatch(code, /#\s*include/);
		assert.doesNotMatch(code, /long\s+double/);
		assert.doesNotMatch(code, /__builtin/);
		assert.doesNotMatch(code, /\?/, "C has no vector ?:; lanes are chosen with knn_vselect");
		assert.doesNotMatch(code, /\bstatic\b/);
		assert.doesNotMatch(code, /\b(double|if|for|while|switch|goto)\b/, "float arithmetic only and no branches");
		const names = [...code.matchAll(/^(\w+) (\w+) (\w+)\(/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
		assert.deepEqual(names, ["KNN_INLINE knn_vf knn_vexp", "KNN_INLINE knn_vf knn_vsigmoid", "KNN_INLINE knn_vf knn_vtanh"]);
	});

	test("emits each requested function once, after what it calls, in the same order whatever the request order", () => {
		assert.equal(vectorMathSource([]), "");
		const sigmoid = vectorMathSource(["sigmoid"]);
		assert.ok(sigmoid.indexOf("knn_vexp(knn_vf x)") >= 0 && sigmoid.indexOf("knn_vexp(knn_vf x)") < sigmoid.indexOf("knn_vsigmoid(knn_vf x)"), "sigmoid needs exp defined before it");
		assert.doesNotMatch(sigmoid, /knn_vtanh/);
		assert.equal(vectorMathSource(["tanh", "exp", "tanh"]), vectorMathSource(["exp", "tanh"]));
		assert.equal(vectorMathSource(["tanh", "sigmoid"]).match(/KNN_INLINE knn_vf knn_vexp\(/g)?.length, 1);
	});

	test("an unknown function name is rejected with the list of known ones", () => {
		assert.throws(() => vectorMathSource(["log" as VectorMathFunction]), /Unknown vector math function "log"; the vector math library has exp, sigmoid, tanh/);
	});

	test("error summary: one plain ASCII line per used function, in library order, with the stated bounds", () => {
		const lines = vectorMathErrorSummary(["tanh", "exp", "tanh"]);
		assert.equal(lines.length, 2);
		assert.match(lines[0], /^knn_vexp: <= [\d.]+ ulp vs glibc exp \(double\) over [\d,]+ points in \[-104, 89\]$/);
		assert.match(lines[1], /^knn_vtanh: /);
		assert.match(vectorMathErrorSummary(["sigmoid"])[0], /^knn_vsigmoid: <= [\d.]+ ulp vs .* over [\d,]+ points in \[[^\]]+\], and <= [\d.e-]+ absolute over every float$/);
		for (const line of vectorMathErrorSummary(FUNCTIONS)) assert.match(line, /^[\x20-\x7e]+$/);
	});

	test("stated bounds are a few ulps over every float of their domain", () => {
		for (const fn of FUNCTIONS) {
			const b = VECTOR_MATH_ERROR_BOUNDS[fn];
			assert.ok(b.ulp > 0 && b.ulp <= 4, `VECTOR_MATH_ERROR_BOUNDS.${fn}.ulp is ${b.ulp}; the library promises at most 4`);
			const [lo, hi] = domainEnds(b.domain);
			assert.equal(b.points, orderOf(hi) - orderOf(lo) + 1, `VECTOR_MATH_ERROR_BOUNDS.${fn}.points must count every float in ${b.domain}`);
		}
		assert.ok((VECTOR_MATH_ERROR_BOUNDS.sigmoid.abs ?? 1) <= 1e-7, "sigmoid's absolute bound must be stated and small");
	});
});

describe("vector math builds freestanding", { skip: gccMissing }, () => {
	const levels: [string, string[]][] = [["sse2", ["-msse", "-msse2"]], ["avx2", ["-mavx2", "-mfma"]]];

	test("each function alone compiles warning-free with kernel flags for SSE2 and AVX2 and needs no outside symbol", async () => {
		const jobs = FUNCTIONS.flatMap((fn) => levels.map(([level, flags]) => ({ fn, level, result: undefinedSymbols(`only_${fn}_${level}`, withWrappers([fn]), [...KERNEL, ...flags, ...MODEL_CFLAGS.filter((f) => f.startsWith("-W")), ...STRICT]) })));
		for (const job of jobs) assert.deepEqual(await job.result, [], `knn_v${job.fn} (${job.level}) needs ${(await job.result).join(", ")}`);
	});

	test("all together compile with the model's flags at -O2, -O3 and -Os, and need no outside symbol even at -O0", async () => {
		const source = withWrappers(FUNCTIONS);
		const variants = levels.flatMap(([level, flags]) => [
			[`${level}_O0`, ["-std=c99", "-ffreestanding", "-nostdlib", "-O0", "-Wall", "-Wextra", "-Werror", ...flags]],
			...["-O2", "-O3", "-Os"].map((o) => [`${level}${o}`, [...MODEL_CFLAGS, ...STRICT, "-nostdlib", o, ...flags]]),
		] as [string, string[]][]);
		const results = await Promise.all(variants.map(([name, flags]) => undefinedSymbols(`all_${name}`, source, flags)));
		variants.forEach(([name], i) => assert.deepEqual(results[i], [], `with ${name}, the object needs ${results[i].join(", ")}`));
	});
});

interface SweepRow {
	points: number;
	ulp: number;
	ulpAt: string;
	abs: number;
	absAt: string;
	lo: number;
	hi: number;
}

describe("vector math accuracy against glibc", { skip: gccMissing }, () => {
	const harnesses = new Map<string, Promise<string>>();

	/** Builds the harness for `level` once: the math with the model's flags, the harness itself with libc and libm. */
	function harness(level: (typeof LEVELS)[number]): Promise<string> {
		let built = harnesses.get(level.name);
		if (!built) {
			built = (async () => {
				const source = path.join(scratch, `vmath_${level.name}.c`);
				const object = path.join(scratch, `vmath_${level.name}.o`);
				const binary = path.join(scratch, `vmath_harness_${level.name}`);
				fs.writeFileSync(source, withWrappers(FUNCTIONS));
				await gcc([...MODEL_CFLAGS, ...level.flags, "-c", source, "-o", object], `the vector math (${level.name})`);
				await gcc(["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", HARNESS, object, "-lm", "-o", binary], "vectorMathHarness.c");
				return binary;
			})();
			harnesses.set(level.name, built);
		}
		return built;
	}

	for (const level of LEVELS) {
		describe(`built for ${level.name} (${level.flags.join(" ")})`, { skip: level.skip }, () => {
			test("every function is within its stated bound over at least 2^24 points of its domain", { timeout: 60_000 }, async () => {
				const { stdout } = await run(await harness(level), ["sweep"]);
				const rows = new Map<string, SweepRow>();
				for (const line of stdout.trim().split("\n")) {
					const [name, points, ulp, ulpAt, abs, absAt, lo, hi] = line.split("\t");
					rows.set(name, { points: Number(points), ulp: Number(ulp), ulpAt, abs: Number(abs), absAt, lo: fromHex(lo), hi: fromHex(hi) });
				}
				for (const fn of FUNCTIONS) {
					const r = rows.get(fn);
					const stated = VECTOR_MATH_ERROR_BOUNDS[fn];
					assert.ok(r, `the harness printed nothing for ${fn}`);
					assert.deepEqual([r.lo, r.hi], domainEnds(stated.domain), `the harness sweeps ${fn} over [${r.lo}, ${r.hi}], not the stated ${stated.domain}`);
					assert.ok(r.points >= 2 ** 24, `${fn} was swept over only ${r.points} points`);
					assert.ok(r.ulp <= stated.ulp, `knn_v${fn} is ${r.ulp} ulp off at ${r.ulpAt}, more than the ${stated.ulp} stated in VECTOR_MATH_ERROR_BOUNDS`);
				}
				const abs = rows.get("sigmoid_abs");
				assert.ok(abs, "the harness printed no absolute error for sigmoid");
				assert.deepEqual([abs.lo, abs.hi], domainEnds(EVERY_FLOAT));
				assert.ok(abs.abs <= (VECTOR_MATH_ERROR_BOUNDS.sigmoid.abs ?? 0), `knn_vsigmoid is ${abs.abs} off at ${abs.absAt}, more than the stated ${VECTOR_MATH_ERROR_BOUNDS.sigmoid.abs} absolute`);
			});

			test("special values: NaN, infinities, zeros, denormals and the clamp ends as IEEE 754 and glibc have them", async () => {
				const { stdout } = await run(await harness(level), ["special"]);
				const results = new Map<string, number>();
				const mismatches: string[] = [];
				for (const line of stdout.trim().split("\n")) {
					const [fn, x, got, want, ulp, abs] = line.split("\t") as [VectorMathFunction, string, string, string, string, string];
					const stated = VECTOR_MATH_ERROR_BOUNDS[fn];
					const [lo] = domainEnds(stated.domain);
					results.set(`${fn} ${x}`, fromHex(got));
					const nan = Number.isNaN(fromHex(got)) && Number.isNaN(fromHex(want));
					const within = fn === "sigmoid" && fromHex(x) < lo ? Number(abs) <= (stated.abs ?? 0) : Number(ulp) <= stated.ulp;
					if (!nan && got !== want && !within) mismatches.push(`knn_v${fn}(${fromHex(x)}) = ${fromHex(got)} (${got}), glibc ${fromHex(want)} (${want}), ${ulp} ulp`);
				}
				assert.ok(results.size >= 3 * 80, "the harness printed too few special values");
				assert.deepEqual(mismatches, []);

				const inf = Infinity;
				const tiny = 2 ** -149;
				const cases: [VectorMathFunction, number, number][] = [
					["exp", -inf, 0], ["exp", inf, inf], ["exp", 0, 1], ["exp", -0, 1], ["exp", NaN, NaN], ["exp", tiny, 1], ["exp", -tiny, 1],
					["exp", FLT_MAX, inf], ["exp", -FLT_MAX, 0], ["exp", 100, inf], ["exp", -104, 0], ["exp", -110, 0],
					["sigmoid", -inf, 0], ["sigmoid", inf, 1], ["sigmoid", 0, 0.5], ["sigmoid", -0, 0.5], ["sigmoid", NaN, NaN], ["sigmoid", tiny, 0.5],
					["sigmoid", FLT_MAX, 1], ["sigmoid", -FLT_MAX, 0], ["sigmoid", 40, 1], ["sigmoid", -110, 0],
					["tanh", inf, 1], ["tanh", -inf, -1], ["tanh", 0, 0], ["tanh", -0, -0], ["tanh", NaN, NaN], ["tanh", tiny, tiny], ["tanh", -tiny, -tiny],
					["tanh", 2 ** -126, 2 ** -126], ["tanh", 10, 1], ["tanh", -10, -1], ["tanh", FLT_MAX, 1], ["tanh", -FLT_MAX, -1],
				];
				for (const [fn, x, expected] of cases) {
					const got = results.get(`${fn} ${bitsOf(x).toString(16).padStart(8, "0")}`);
					const call = `knn_v${fn}(${Object.is(x, -0) ? "-0" : x})`;
					assert.ok(got !== undefined, `the harness has no special value for ${call}`);
					if (Number.isNaN(expected)) assert.ok(Number.isNaN(got), `${call} = ${got}, expected NaN`);
					else assert.ok(Object.is(got, expected), `${call} = ${Object.is(got, -0) ? "-0" : got}, expected ${Object.is(expected, -0) ? "-0" : expected}`);
				}
			});

			test("a value's result is the same bits whichever lane it sits in and whatever the other lanes hold", { timeout: 60_000 }, async () => {
				const { stdout } = await run(await harness(level), ["lanes"]);
				const lines = stdout.trim().split("\n");
				assert.equal(lines.length, FUNCTIONS.length);
				for (const line of lines) {
					const [fn, changed, first] = line.split("\t");
					assert.equal(Number(changed), 0, `knn_v${fn} gave ${changed} results that depend on the lane or its neighbours, first for ${fromHex(first)} (${first})`);
				}
			});
		});
	}
});
