import assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { type CompiledModel, compileModel } from "../../extension/core/codegen/compile";
import { hostDriverSource } from "../../extension/core/codegen/hostDriver";
import { formatReport } from "../../extension/cli/targetCommands";
import { type DeployReport, deployStages } from "../../extension/core/deploy/deploy";
import { buildUserBench } from "../../extension/core/deploy/userBench";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph } from "../../extension/core/graph/graph";
import { makeTensor, numbers } from "../../extension/core/graph/tensor";
import { assembleSelftest, parseModuleLine } from "../../extension/core/kernelLog/selftestOutput";
import { NO_HEADERS_HINT, installedHeaderVersions } from "../../extension/core/kmod/kernelHeaders";
import { moduleLayout, writeCompiledModule, writeModuleProject } from "../../extension/core/kmod/moduleProject";
import { checkNoFloatInstructions, kernelExports, undefinedSymbols } from "../../extension/core/kmod/objectCheck";
import { type SimdLevel, userSpaceFlags } from "../../extension/core/kmod/simdLevels";
import { tempDir } from "../support/cli";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { gccMissing, runHost } from "../support/hostBuild";
import { mulberry32 } from "../support/random";

const KVER = installedHeaderVersions()[0] as string | undefined;
const noHeaders = KVER === undefined ? NO_HEADERS_HINT : false;
const PREFIX = "dense";
const IN = 64;
const OUT = 48;
const T = attr.type("float32");

/** AVX2 and FMA in this CPU's flags, so the avx2 builds can run here too. */
const hostHasAvx2 = /^flags\s*:.*\bavx2\b.*$/m.test(fs.readFileSync("/proc/cpuinfo", "utf8"))
	&& /^flags\s*:.*\bfma\b.*$/m.test(fs.readFileSync("/proc/cpuinfo", "utf8"));

// y = relu(x W + b) * s: wide enough that every level's code works on whole vectors.
const random = mulberry32(12);
const W = Array.from({ length: IN * OUT }, () => Math.fround(random() - 0.5));
const B = Array.from({ length: OUT }, () => Math.fround((random() - 0.5) / 4));
const S = Array.from({ length: OUT }, () => Math.fround(0.5 + random()));
const X = Array.from({ length: IN }, () => Math.fround(2 * random() - 1));

function denseModel(): CompiledModel {
	const g = new GraphBuilder();
	const x = g.placeholder("x", "float32", [1, IN]);
	const product = g.op("MatMul", "product", [x, g.constOf("w", "float32", W, [IN, OUT])], { T, transpose_a: attr.b(false), transpose_b: attr.b(false) });
	const biased = g.op("BiasAdd", "biased", [product, g.constOf("b", "float32", B)], { T });
	const relu = g.op("Relu", "relu", [biased], { T });
	g.op("Mul", "y", [relu, g.constOf("s", "float32", S)], { T });
	const graph = Graph.fromGraphDef(g.def());
	const { config } = buildConfig(graph, [{ ref: { node: "x", index: 0 }, shape: [1, IN] }], [{ ref: { node: "y", index: 0 } }]);
	return compileModel(graph, config, PREFIX, "the dense test graph");
}

/** The float64 closed form of the graph, from the weights. */
function closedForm(): number[] {
	return Array.from({ length: OUT }, (_, j) => S[j] * Math.max(0, X.reduce((sum, x, i) => sum + x * W[i * OUT + j], B[j])));
}

/**
 * The a-priori rounding bound of a float32 dot product of IN terms plus a bias, in any order, fused or not
 * ((IN + 1) u sum |terms|), scaled by s, plus the rounding of that product.
 */
function float32Bound(j: number): number {
	const u = 2 ** -24;
	const dot = X.reduce((sum, x, i) => sum + Math.abs(x * W[i * OUT + j]), Math.abs(B[j]));
	return S[j] * (IN + 1) * u * dot + 2 * u * S[j] * dot;
}

/** Global symbols an object defines (nm -g --defined-only), sorted. */
function definedGlobals(file: string): string[] {
	const listing = execFileSync("nm", ["-g", "--defined-only", file], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
	return listing.split("\n").map((line) => line.trim().split(/\s+/)).filter((w) => w.length === 3).map((w) => w[2]).sort();
}

/** objdump's instructions of an object, without addresses. */
function instructions(file: string): string[] {
	const listing = execFileSync("objdump", ["-d", "-w", "--no-show-raw-insn", file], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
	return listing.split("\n").map((line) => /^\s*[0-9a-f]+:\s+(.+)$/.exec(line)?.[1].trim()).filter((i): i is string => i !== undefined);
}

function writeProject(label: string): string {
	const dir = path.join(tempDir(`simd-${label}`), PREFIX);
	writeCompiledModule(dir, denseModel(), "selftest");
	return dir;
}

describe("a float model's module project has one wrapper unit per SIMD level", () => {
	it("writes NAME_model_sse2.c and NAME_model_avx2.c, which include the unchanged model file under NAME_run_sse2/NAME_run_avx2, and a Kbuild giving each its level's flags", () => {
		const model = denseModel();
		const dir = path.join(tempDir("simd-project"), PREFIX);
		const files = writeCompiledModule(dir, model, "selftest").map((f) => path.basename(f));
		assert.ok(files.includes("dense_model_sse2.c") && files.includes("dense_model_avx2.c"), files.join(" "));
		assert.equal(fs.readFileSync(path.join(dir, "dense_model.c"), "utf8"), model.files.find((f) => f.name === "dense_model.c")?.text, "the generated C is left as it is");
		for (const level of ["sse2", "avx2"]) {
			const wrapper = fs.readFileSync(path.join(dir, `dense_model_${level}.c`), "utf8");
			assert.match(wrapper, new RegExp(`^#define dense_run dense_run_${level}\\n#include "dense_model\\.c"\\n$`, "m"));
		}
		const kbuild = fs.readFileSync(path.join(dir, "Kbuild"), "utf8");
		assert.match(kbuild, /^dense-y := dense_main\.o dense_model_sse2\.o dense_model_avx2\.o$/m);
		assert.match(kbuild, /^CFLAGS_dense_model_sse2\.o \+= -msse -msse2 -mhard-float$/m);
		assert.match(kbuild, /^CFLAGS_dense_model_avx2\.o \+= -msse -msse2 -mhard-float -mavx -mavx2 -mfma$/m);
		assert.match(kbuild, /^CFLAGS_REMOVE_dense_model_avx2\.o \+= .*-mno-avx .*$/m);
		assert.doesNotMatch(kbuild, /dense_model\.o/, "the model file itself is not an object of its own");
		const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8");
		assert.match(readme, /Each object holds\s+its own copy of the weights, so the module is about twice the model's size/);
		assert.match(readme, /`simd=`: `auto` \(the default\)/);
	});

	it("an integer-only (--no-fpu) project keeps one model object and no wrappers", () => {
		const layout = moduleLayout(PREFIX, ["dense_model.c"], true);
		assert.deepEqual(layout.levelUnits, []);
		assert.deepEqual(layout.plainObjects, ["dense_main.o", "dense_model.o"]);
	});

	it("refuses a model file whose name a level's wrapper would overwrite", () => {
		const tensors = { arguments: [{ name: "x", bytes: 4 * IN }], results: [{ name: "y", bytes: 4 * OUT }] };
		assert.throws(() => writeModuleProject(tempDir("simd-clash"), { prefix: PREFIX, template: "selftest", modelFiles: ["a.c", "a_avx2.c"], ...tensors }),
			/The model file a_avx2\.c would clash with the module's own dense\.ko objects/);
	});
});

describe("both SIMD levels' objects, built against the installed kernel headers", { skip: noHeaders }, () => {
	let dir: string;
	let output: string;

	before(async () => {
		dir = writeProject("kbuild");
		output = await new Promise<string>((resolve, reject) => {
			execFile("make", [`KVER=${KVER}`], { cwd: dir, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } }, (error, stdout, stderr) => {
				if (error) reject(new Error(`make in ${dir} failed:\n${stdout}${stderr}`));
				else resolve(stdout + stderr);
			});
		});
	});

	it("builds with zero warnings; each level's object exports only its own NAME_run_LEVEL, and the module holds both and no NAME_run", () => {
		assert.deepEqual(output.split("\n").filter((line) => /warning:/i.test(line)), [], output);
		assert.deepEqual(definedGlobals(path.join(dir, "dense_model_sse2.o")), ["dense_run_sse2"]);
		assert.deepEqual(definedGlobals(path.join(dir, "dense_model_avx2.o")), ["dense_run_avx2"]);
		const module = definedGlobals(path.join(dir, "dense.ko"));
		assert.ok(module.includes("dense_run_sse2") && module.includes("dense_run_avx2"), module.join(" "));
		assert.ok(!module.includes("dense_run"), "no object defines the unrenamed NAME_run");
	});

	it("the avx2 object computes with 256-bit ymm registers; the sse2 object has no ymm register and no VEX-encoded instruction", () => {
		const avx2 = instructions(path.join(dir, "dense_model_avx2.o"));
		const sse2 = instructions(path.join(dir, "dense_model_sse2.o"));
		const ymm = avx2.filter((i) => /%ymm\d+/.test(i));
		assert.ok(ymm.some((i) => /^v(fmadd|fnmadd|mul|add)[0-9a-z]*ps\b/.test(i)), `no 256-bit arithmetic in the avx2 object:\n${ymm.slice(0, 10).join("\n")}`);
		assert.deepEqual(sse2.filter((i) => /%[yz]mm\d+/.test(i)), []);
		assert.deepEqual(sse2.filter((i) => /^v[a-z]/.test(i) && !/^(verr|verw)\b/.test(i)), [], "VEX-encoded (AVX) instructions in the sse2 object");
		assert.ok(sse2.some((i) => /%xmm\d+/.test(i)), "the sse2 object computes with SSE");
	});

	it("the module main has no FP instruction, and what it needs to pick a level (cpu_has_xfeatures, boot_cpu_data) the kernel exports", async () => {
		const layout = moduleLayout(PREFIX, ["dense_model.c"]);
		assert.deepEqual(layout.fpObjects, ["dense_model_sse2.o", "dense_model_avx2.o"]);
		for (const object of layout.plainObjects) assert.deepEqual((await checkNoFloatInstructions(path.join(dir, object))).floatInstructions, [], object);
		const needed = await undefinedSymbols(path.join(dir, "dense.ko"));
		assert.ok(needed.includes("cpu_has_xfeatures") && needed.includes("boot_cpu_data"), needed.join(" "));
		const exports = kernelExports(`/usr/src/linux-headers-${KVER}`);
		assert.deepEqual(needed.filter((s) => !exports.has(s)), []);
	});
});

describe("the same C in user space at each SIMD level", { skip: gccMissing }, () => {
	it("the user-space benchmark is one static binary that runs each level this CPU offers and prints the module's bench line with simd=", async () => {
		const dir = writeProject("userbench");
		const binary = await buildUserBench({ projectDir: dir, workDir: path.join(path.dirname(dir), "userbench"), prefix: PREFIX, noFpu: false });
		assert.doesNotMatch(execFileSync("readelf", ["-l", binary], { encoding: "utf8" }), /INTERP/, "statically linked: no program interpreter");
		const words = X.map((x) => (new Uint32Array(new Float32Array([x]).buffer)[0]).toString(16)).join(",");
		for (const level of hostHasAvx2 ? ["sse2", "avx2"] : ["sse2"]) {
			const run = spawnSync(binary, [level, "2001"], { input: words, encoding: "utf8" });
			assert.equal(run.status, 0, run.stderr);
			const line = parseModuleLine(run.stdout.trim());
			assert.equal(line?.kind, "bench", run.stdout);
			if (line?.kind !== "bench") return;
			assert.equal(line.bench.module, PREFIX);
			assert.equal(line.bench.calls, 2001);
			assert.equal(line.bench.simd, level);
			assert.ok(line.bench.minNs <= line.bench.medianNs && line.bench.medianNs <= line.bench.p99Ns, run.stdout);
		}
		const wrong = spawnSync(binary, ["avx512", "10"], { encoding: "utf8" });
		assert.equal(wrong.status, 2);
		assert.match(wrong.stderr, /LEVEL one of sse2, avx2, CALLS from 1 to 1000000/);
	});

	it("an integer-only (--no-fpu) model's user-space benchmark runs level none, its model object without any FP/SIMD instruction", async () => {
		const g = new GraphBuilder();
		g.placeholder("x", "float32", [1, IN]);
		const edge = (inScale: number, inZeroPoint: number, outScale: number, outZeroPoint: number, outType: "int8" | "float32") => ({
			in_scale: attr.floats([inScale]), in_zero_point: attr.ints([inZeroPoint]), out_scale: attr.f(outScale), out_zero_point: attr.i(outZeroPoint),
			out_type: attr.type(outType), activation: attr.s("NONE"),
		});
		g.op("QQuantize", "q", ["x"], edge(0, 0, 0.0235, -3, "int8"));
		g.op("QDequantize", "y", ["q"], edge(0.0235, -3, 0, 0, "float32"));
		const graph = Graph.fromGraphDef(g.def());
		const { config } = buildConfig(graph, [{ ref: { node: "x", index: 0 }, shape: [1, IN] }], [{ ref: { node: "y", index: 0 } }]);
		const dir = path.join(tempDir("simd-nofpu"), "edges");
		writeCompiledModule(dir, compileModel(graph, config, "edges", "the edge test graph", { noFpu: true }), "selftest");
		assert.match(fs.readFileSync(path.join(dir, "README.md"), "utf8"), /no\s+SIMD levels and no `simd=` parameter, and its lines say `simd=none`/);
		const workDir = path.join(path.dirname(dir), "userbench");
		const binary = await buildUserBench({ projectDir: dir, workDir, prefix: "edges", noFpu: true });
		assert.deepEqual((await checkNoFloatInstructions(path.join(workDir, "edges_model.o"))).floatInstructions, []);
		const run = spawnSync(binary, ["none", "1000"], { input: "3f800000", encoding: "utf8" });
		assert.equal(run.status, 0, run.stderr);
		const line = parseModuleLine(run.stdout.trim());
		assert.ok(line?.kind === "bench" && line.bench.simd === "none" && line.bench.calls === 1000, run.stdout);
		assert.equal(spawnSync(binary, ["sse2", "1000"], { encoding: "utf8" }).status, 2, "an integer-only model has no SIMD level");
	});

	it("each level's user-space build of the same C computes relu(xW + b) * s as the float64 closed form does, within float32 rounding", (t) => {
		const model = denseModel();
		const dir = tempDir("simd-numbers");
		for (const file of model.files) fs.writeFileSync(path.join(dir, file.name), file.text);
		fs.writeFileSync(path.join(dir, "driver.c"), hostDriverSource(PREFIX));
		const expected = closedForm();
		const levels: SimdLevel[] = hostHasAvx2 ? ["sse2", "avx2"] : ["sse2"];
		if (!hostHasAvx2) t.diagnostic("this CPU has no AVX2+FMA: only the sse2 build ran");
		for (const level of levels) {
			const object = path.join(dir, `model_${level}.o`);
			execFileSync("gcc", [...userSpaceFlags(level), "-c", path.join(dir, "dense_model.c"), "-o", object], { stdio: "pipe" });
			const binary = path.join(dir, `driver_${level}`);
			execFileSync("gcc", ["-O2", "-no-pie", path.join(dir, "driver.c"), object, "-o", binary], { stdio: "pipe" });
			const [[y]] = runHost(binary, model, [makeTensor("float32", [1, IN], X)], 1);
			const got = Array.from(numbers(y));
			got.forEach((value, j) => assert.ok(Math.abs(value - expected[j]) <= float32Bound(j), `${level} y[${j}] = ${value}, float64 ${expected[j]}, bound ${float32Bound(j)}`));
			assert.ok(got.some((value) => value > 0) && got.some((value) => value === 0), "the relu both passes and clips");
		}
	});
});

describe("kernel log lines and deploy stages that name the SIMD level", () => {
	it("reads the self-test's simd= line and a bench line with or without simd=", () => {
		assert.deepEqual(parseModuleLine("knn-selftest indigo simd=avx2"), { kind: "simd", simd: { module: "indigo", level: "avx2" } });
		assert.deepEqual(parseModuleLine("knn-bench indigo calls=100000 median_ns=850 p99_ns=1900 min_ns=700 simd=sse2"), {
			kind: "bench", bench: { module: "indigo", calls: 100000, medianNs: 850, p99Ns: 1900, minNs: 700, simd: "sse2" },
		});
		const old = parseModuleLine("knn-bench indigo calls=10 median_ns=850 p99_ns=1900 min_ns=700");
		assert.ok(old?.kind === "bench" && !("simd" in old.bench), "a module from before the levels parses as before");
		assert.equal(parseModuleLine("knn-selftest indigo simd="), undefined);
	});

	it("a self-test's level is the one of its last run, when a load was retried", () => {
		const run = (level: string, status: number) => [`knn-selftest q simd=${level}`, "knn-selftest q step=0 result=0 offset=0 count=1 bits=3f800000 values=1.0000000e+00", `knn-selftest q done steps=1 status=${status}`];
		const assembled = assembleSelftest([...run("sse2", -22), ...run("avx2", 0)], "q", [4]);
		assert.equal(assembled.simd, "avx2");
		assert.equal(assembled.steps.length, 1);
		assert.equal(assembleSelftest(run("sse2", 0).slice(1), "q", [4]).simd, undefined);
	});

	it("knn deploy prints the level beside the in-kernel latency and the user-space latency of the same C beside it, naming where it ran", () => {
		const bench = { module: "indigo", calls: 100000, medianNs: 53610, p99Ns: 138520, minNs: 51680, simd: "avx2" };
		const report: DeployReport = {
			ok: true, module: "indigo", target: "root@127.0.0.1:10022", stages: [], kernel: { steps: [] }, reference: { steps: [] }, maxAbsError: NaN, maxRelError: NaN,
			tolerance: 1e-6, finalState: "nothing loaded", simd: "avx2", bench, userBench: { ...bench, medianNs: 50330, p99Ns: 61000, minNs: 49000 },
		};
		const lines = formatReport(report, true).split("\n");
		assert.ok(lines.includes("  in-kernel latency over 100000 calls: median 53610 ns, p99 138520 ns, min 51680 ns, simd=avx2"), lines.join("\n"));
		assert.ok(lines.includes("  user-space same C over 100000 calls: median 50330 ns, p99 61000 ns, min 49000 ns, simd=avx2 (in the guest)"), lines.join("\n"));
		assert.match(formatReport(report), /simd=avx2 \(on root@127\.0\.0\.1:10022\)$/m);
		const oldBench = { module: "indigo", calls: 100000, medianNs: 53610, p99Ns: 138520, minNs: 51680 };
		assert.ok(formatReport({ ...report, bench: oldBench, userBench: undefined }).includes("min 51680 ns\n"), "a module from before the levels prints as before");
	});

	it("a deploy with bench=N times the same C in user space after the comparison, and one without does not", () => {
		assert.deepEqual(deployStages({ buildOn: "local", keep: false, extraParameters: ["bench=1000"] }).slice(-3), ["compare", "user-space bench", "unload"]);
		assert.ok(!deployStages({ buildOn: "local", keep: false }).includes("user-space bench"));
	});
});
