import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type TestContext, before, describe, it } from "node:test";
import { type CompiledModel, compileModel } from "../../extension/core/codegen/compile";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph } from "../../extension/core/graph/graph";
import { assembleSelftest } from "../../extension/core/kernelLog/selftestOutput";
import { type ModuleProjectOptions, ModuleProjectError, findTemplateDir, moduleLayout, writeCompiledModule, writeModuleProject } from "../../extension/core/kmod/moduleProject";
import { PrefixError } from "../../extension/core/kmod/modulePrefix";
import { checkNoFloatInstructions, kernelExports, undefinedSymbols } from "../../extension/core/kmod/objectCheck";
import { APP_CONTRACTS, parseAppLine } from "../../extension/core/kmod/templates/app";
import { MODULE_TEMPLATES, moduleTemplate } from "../../extension/core/kmod/templates/index";
import { tempDir } from "../support/cli";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { withSandbox } from "../support/sandbox";

// The app template: a model module registering into a knn_core application (kmod/templates/app/). Built against
// Debian 12's 6.1 headers and bookworm-backports' 6.12 where installed, and loaded into the sandbox VM's kernel.

const KMOD = findTemplateDir();
const CORE_SOURCES = path.join(KMOD, "runtime", "core");
const TOOL_SOURCE = path.join(KMOD, "runtime", "tools", "knn_channel.c");
const FIXTURES = path.resolve(__dirname, "../fixtures/kmod");
const HEADERS_61 = firstHeaders(/^linux-headers-6\.1\.\d+-\d+-amd64$/);
const HEADERS_612 = firstHeaders(/^linux-headers-6\.12\.[^/]*-amd64$/);
const T = attr.type("float32");

function firstHeaders(pattern: RegExp): string | undefined {
	const found = fs.existsSync("/usr/src") ? fs.readdirSync("/usr/src").filter((d) => pattern.test(d)).sort() : [];
	return found.length > 0 ? path.join("/usr/src", found[found.length - 1]) : undefined;
}

// y = x W + h U (3 outputs of 4 inputs), h' = relu(y): argument 1 is recurrent state fed from result 1.
const W = [0.5, -1, 0.25, 2, 0.125, -0.5, -0.75, 1.5, 1, 0.0625, -2, 0.375];
const U = [1, 0, -0.5, 0.25, 2, 0, -1, 0.5, 0.75];
const X = [1, -0.5, 0.25, 2];
const H = [0.5, -1, 1.5];

/** The closed form of the graph in float64: y_j = sum_i x_i W_ij + sum_k h_k U_kj. */
function expectedY(): number[] {
	return [0, 1, 2].map((j) => X.reduce((s, x, i) => s + x * W[i * 3 + j], 0) + H.reduce((s, h, k) => s + h * U[k * 3 + j], 0));
}

function recurrentModel(prefix: string): CompiledModel {
	const g = new GraphBuilder();
	const x = g.placeholder("x", "float32", [1, 4]);
	const h = g.placeholder("h", "float32", [1, 3]);
	const mm = { T, transpose_a: attr.b(false), transpose_b: attr.b(false) };
	const xw = g.op("MatMul", "xw", [x, g.constOf("w", "float32", W, [4, 3])], mm);
	const hu = g.op("MatMul", "hu", [h, g.constOf("u", "float32", U, [3, 3])], mm);
	const y = g.op("Add", "y", [xw, hu], { T });
	g.op("Relu", "h_next", [y], { T });
	const graph = Graph.fromGraphDef(g.def());
	const { config } = buildConfig(graph, [{ ref: { node: "x", index: 0 }, shape: [1, 4] }, { ref: { node: "h", index: 0 }, shape: [1, 3] }],
		[{ ref: { node: "y", index: 0 } }, { ref: { node: "h_next", index: 0 } }]);
	return compileModel(graph, config, prefix, "the app template's test graph");
}

interface Make {
	output: string;
	ok: boolean;
}

function make(dir: string, args: string[]): Promise<Make> {
	return new Promise((resolve) => {
		execFile("make", args, { cwd: dir, encoding: "utf8", env: { ...process.env, LC_ALL: "C" }, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
			resolve({ output: stdout + stderr, ok: !error });
		});
	});
}

const warnings = (output: string) => output.split("\n").filter((line) => /warning/i.test(line));

/** knn_core built from kmod/runtime/core in a folder of its own: its Module.symvers, or why it did not build. */
async function buildCore(kdir: string, label: string): Promise<{ dir: string; symvers?: string; output: string }> {
	const dir = path.join(tempDir(`apptemplate-core-${label}`), "knn_core");
	fs.cpSync(CORE_SOURCES, dir, { recursive: true, filter: (file) => !/\.(o|ko|cmd|mod|mod\.c|symvers|order)$/.test(file) });
	const built = await make(dir, [`KDIR=${kdir}`]);
	const symvers = path.join(dir, "Module.symvers");
	return { dir, symvers: built.ok && fs.existsSync(symvers) ? symvers : undefined, output: built.output };
}

/** The app project of `prefix` for application `app`, built against kdir with knn_core's symbols (or modpost warnings only). */
async function buildApp(prefix: string, app: string, kdir: string, symvers: string | undefined): Promise<{ dir: string; build: Make }> {
	const dir = path.join(tempDir(`apptemplate-${prefix}`), prefix);
	writeCompiledModule(dir, recurrentModel(prefix), "app", { app });
	const build = await make(dir, [`KDIR=${kdir}`, symvers ? `KBUILD_EXTRA_SYMBOLS=${symvers}` : "KBUILD_MODPOST_WARN=1"]);
	return { dir, build };
}

const TINYCC: ModuleProjectOptions = {
	prefix: "tinycc", template: "tcp", modelFiles: ["tinycc_model.c"],
	arguments: [{ name: "global/Placeholder", bytes: 36 }, { name: "state", bytes: 16 }],
	results: [{ name: "global/Softmax", bytes: 20 }, { name: "state_out", bytes: 16 }],
};

describe("app template: host-side checks", () => {
	it("refuses a model whose tensors do not fit the built-in tcp application, naming the tensor, the application and both sizes", () => {
		const model = recurrentModel("rec");
		assert.throws(() => writeCompiledModule(tempDir("apptemplate-tcp-misfit"), model, "app", { app: "tcp" }), (e: unknown) =>
			e instanceof ModuleProjectError && e.code === "build"
			&& /application tcp .* argument 0 must be 36 bytes of float32, but argument 0 \("x"\) is 16 bytes of float32/.test(e.message));
		const tcpShaped = { ...TINYCC, template: "app" as const, app: "tcp" };
		assert.doesNotThrow(() => writeModuleProject(tempDir("apptemplate-tcp-fit"), tcpShaped));
		assert.throws(() => writeModuleProject(tempDir("apptemplate-tcp-result"), { ...tcpShaped, results: [{ name: "p", bytes: 24 }, tcpShaped.results[1]] }),
			/result 0 must be 20 bytes of float32, but result 0 \("p"\) is 24 bytes of float32/);
		assert.throws(() => writeModuleProject(tempDir("apptemplate-tcp-state"), { ...tcpShaped, arguments: [tcpShaped.arguments[0], { name: "s", bytes: 1028 }], results: [tcpShaped.results[0], { name: "s2", bytes: 1028 }] }),
			/at most 1024 bytes of recurrent state per flow, but the model's arguments 1\.\. hold 1028 bytes/);
		assert.throws(() => writeModuleProject(tempDir("apptemplate-tcp-int"), { ...tcpShaped, noFpu: true }), /application tcp feeds float32 .* integer-only \(--no-fpu\)/);
		assert.throws(() => writeModuleProject(tempDir("apptemplate-tcp-feedback"), { ...tcpShaped, results: [tcpShaped.results[0]] }),
			/argument 1 \("state", recurrent state\) from result 1, which does not exist/);
	});

	it("holds the netfilter application to 8 float32 in, 2 float32 out and no state", () => {
		const netfilter = { ...TINYCC, template: "app" as const, app: "netfilter", arguments: [{ name: "features", bytes: 32 }], results: [{ name: "scores", bytes: 8 }] };
		assert.doesNotThrow(() => writeModuleProject(tempDir("apptemplate-nf"), netfilter));
		assert.throws(() => writeModuleProject(tempDir("apptemplate-nf-state"), { ...netfilter, arguments: [...netfilter.arguments, { name: "h", bytes: 8 }], results: [...netfilter.results, { name: "h2", bytes: 8 }] }),
			/application netfilter keeps no recurrent state, but the model has 1 state argument/);
		assert.throws(() => writeModuleProject(tempDir("apptemplate-nf-int8"), { ...netfilter, arguments: [{ name: "features", bytes: 32, dtype: "int8" }] }),
			/argument 0 must be 32 bytes of float32, but argument 0 \("features"\) is 32 bytes of int8/);
		assert.deepEqual(APP_CONTRACTS.netfilter, { ...APP_CONTRACTS.netfilter, inputBytes: 32, outputBytes: 8, stateBytesMax: 0, inputType: "float32", outputType: "float32" });
	});

	it("lets an application of the user's own take the model's sizes and integer types, but not types knn_core has no name for", () => {
		const own = { ...TINYCC, template: "app" as const, app: "my_app2", noFpu: true, arguments: [{ name: "q", bytes: 7, dtype: "int8" as const }], results: [{ name: "r", bytes: 4, dtype: "int32" as const }] };
		const dir = tempDir("apptemplate-own");
		writeModuleProject(dir, own);
		const main = fs.readFileSync(path.join(dir, "tinycc_main.c"), "utf8");
		assert.match(main, /\.input_type = KNN_TYPE_INT8,/);
		assert.match(main, /\.output_type = KNN_TYPE_INT32,/);
		assert.match(main, /\.uses_fpu = !1,/);
		assert.match(main, /^#define KNN_APP_DEFAULT "my_app2"$/m);
		assert.throws(() => writeModuleProject(tempDir("apptemplate-i64"), { ...own, results: [{ name: "r", bytes: 8, dtype: "int64" }] }),
			/Result 0 \("r"\) is int64, but knn_core's application my_app2 takes float32, int8, uint8, int16 or int32/);
	});

	it("refuses application names knn_core would refuse, a missing application and prefixes longer than knn_core's 31 characters", () => {
		const base = { ...TINYCC, template: "app" as const, arguments: [{ name: "a", bytes: 4 }], results: [{ name: "b", bytes: 4 }] };
		for (const app of ["", "a-b", "a b", "x".repeat(32), "tcp;reboot", "café"]) {
			assert.throws(() => writeModuleProject(tempDir("apptemplate-name"), { ...base, app }), /is not one knn_core accepts: use 1 to 31 ASCII letters, digits or _/, JSON.stringify(app));
		}
		assert.throws(() => writeModuleProject(tempDir("apptemplate-noapp"), base), /needs the knn_core application/);
		assert.throws(() => writeModuleProject(tempDir("apptemplate-long"), { ...base, app: "x", prefix: "p".repeat(32) }), PrefixError);
	});

	it("reads the model id from the knn-app line of its own module only", () => {
		assert.deepEqual(parseAppLine("knn-app rec_a app=mine model_id=7", "rec_a"), { app: "mine", modelId: 7 });
		assert.equal(parseAppLine("knn-app rec_ab app=mine model_id=7", "rec_a"), undefined);
		assert.equal(parseAppLine("knn-selftest rec_a done steps=1 status=0", "rec_a"), undefined);
	});
});

describe("module template registry", () => {
	it("names every template once and refuses an unknown one, listing the known", () => {
		assert.deepEqual(MODULE_TEMPLATES.map((name) => moduleTemplate(name).name), [...MODULE_TEMPLATES]);
		assert.throws(() => moduleTemplate("bogus"), /Unknown module template "bogus": use "selftest", "tcp", "app"/);
	});

	it("each template's listed module parameters are the ones its module main declares", () => {
		const options: Record<string, ModuleProjectOptions> = {
			selftest: { ...TINYCC, template: "selftest" }, tcp: TINYCC, app: { ...TINYCC, template: "app", app: "tcp" },
		};
		for (const name of MODULE_TEMPLATES) {
			const dir = tempDir(`apptemplate-params-${name}`);
			writeModuleProject(dir, options[name]);
			const sources = ["tinycc_main.c", "knn_selftest.h", "knn_fpu.h"].filter((f) => fs.existsSync(path.join(dir, f))).map((f) => fs.readFileSync(path.join(dir, f), "utf8")).join("\n");
			const declared = [...sources.matchAll(/^module_param(?:_cb|_string)?\((\w+),/gm)].map((m) => m[1]).sort();
			assert.deepEqual(declared, moduleTemplate(name).parameters.map((p) => p.name).sort(), name);
		}
	});
});

describe("app template: kernel builds", { skip: HEADERS_61 === undefined && "no /usr/src/linux-headers-6.1.*-amd64: apt-get install linux-headers-amd64 on Debian 12" }, () => {
	let core: Awaited<ReturnType<typeof buildCore>>;
	let app: Awaited<ReturnType<typeof buildApp>>;

	before(async () => {
		core = await buildCore(HEADERS_61!, "61");
		app = await buildApp("rec_build", "mine", HEADERS_61!, core.symvers);
		if (!core.symvers) console.log(`knn_core did not build (so the app module was checked with KBUILD_MODPOST_WARN=1):\n${core.output.slice(-2000)}`);
	});

	it("builds against 6.1 with knn_core's Module.symvers, zero warnings and every frame under the Kbuild's 512 bytes", async () => {
		const dir = app.dir;
		assert.ok(app.build.ok, app.build.output);
		assert.match(fs.readFileSync(path.join(dir, "Kbuild"), "utf8"), /^ccflags-y \+= -Wframe-larger-than=512$/m);
		assert.deepEqual(warnings(app.build.output).filter((l) => !(!core.symvers && /modpost: "knn_core_/.test(l))), [], app.build.output);
		assert.ok(core.symvers, "knn_core builds from kmod/runtime/core");
		const needed = await undefinedSymbols(path.join(dir, "rec_build.ko"));
		const provided = new Set([...kernelExports(HEADERS_61!).keys(), ...fs.readFileSync(core.symvers!, "utf8").split("\n").map((l) => l.split("\t")[1])]);
		assert.ok(needed.includes("knn_core_register_model") && needed.includes("knn_core_unregister_model"), needed.join(" "));
		assert.deepEqual(needed.filter((s) => !provided.has(s)), []);
	});

	it("keeps floating point in the model's SIMD units: the module main has none", async () => {
		const layout = moduleLayout("rec_build", ["rec_build_model.c"]);
		for (const object of layout.plainObjects) assert.deepEqual((await checkNoFloatInstructions(path.join(app.dir, object))).floatInstructions, [], object);
	});

	it("refuses to build without knn_core's symbols, saying which make variable to pass", async () => {
		const result = await make(app.dir, [`KDIR=${HEADERS_61}`]);
		assert.equal(result.ok, false);
		assert.match(result.output, /No KBUILD_EXTRA_SYMBOLS: this module calls knn_core, so modpost needs knn_core's Module\.symvers/);
	});
});

describe("6.12 builds (bookworm-backports)", { skip: HEADERS_612 === undefined && "no /usr/src/linux-headers-6.12.*-amd64: apt-get -t bookworm-backports install linux-headers-amd64" }, () => {
	it("the standalone tcp template builds with cong_control's 6.10+ signature, zero warnings", async () => {
		const dir = tempDir("apptemplate-tcp612");
		writeModuleProject(dir, TINYCC);
		fs.copyFileSync(path.join(FIXTURES, "tinycc.h"), path.join(dir, "tinycc.h"));
		fs.copyFileSync(path.join(FIXTURES, "tinycc.c"), path.join(dir, "tinycc_model.c"));
		const result = await make(dir, [`KDIR=${HEADERS_612}`]);
		assert.ok(result.ok, result.output);
		assert.deepEqual(warnings(result.output), [], result.output);
		assert.ok(fs.existsSync(path.join(dir, "tinycc.ko")));
	});

	it("the app template builds against knn_core for 6.12, zero warnings", async () => {
		const core = await buildCore(HEADERS_612!, "612");
		assert.ok(core.symvers, core.output);
		const { build } = await buildApp("rec_612", "mine", HEADERS_612!, core.symvers);
		assert.ok(build.ok, build.output);
		assert.deepEqual(warnings(build.output), [], build.output);
	});
});

// The sandbox's default kernel (the newest installed); the datapath tests (datapathKernel61/612) run app modules
// under traffic on both 6.1 and 6.12.
for (const kernelRelease of [undefined as string | undefined]) {
	describe(`app template in the sandbox VM's kernel ${kernelRelease ?? "(default)"}`, () => {
		const sandbox = withSandbox(`apptemplate-${kernelRelease?.replace(/^(\d+\.\d+).*$/, "$1") ?? "default"}`, kernelRelease ? { kernelRelease } : {});
		const remote = "/tmp/apptemplate";

		/** Under CI a sandbox that cannot start fails the test; elsewhere the test says why it did not run. */
		function needSandbox(t: TestContext): boolean {
			if (!sandbox.unavailable) return true;
			if (process.env.CI === "true") assert.fail(`CI=true and the sandbox VM did not start: ${sandbox.unavailable}`);
			t.skip(sandbox.unavailable);
			return false;
		}

		async function sh(command: string): Promise<string> {
			const result = await sandbox.ssh(command);
			assert.equal(result.code, 0, `${command}:\n${result.stdout}${result.stderr}`);
			return result.stdout;
		}

		async function upload(file: string, to: string): Promise<void> {
			const result = await sandbox.ssh(`cat > ${to} && chmod 0755 ${to}`, { input: fs.readFileSync(file) });
			assert.equal(result.code, 0, result.stderr);
		}

		async function kernelMessages(): Promise<string[]> {
			return (await sh("dmesg")).split("\n").map((line) => line.replace(/^\[[^\]]*\]\s*/, ""));
		}

		/** The channel tool's JSON answer; it prints one object per line. */
		async function channel(args: string): Promise<Record<string, unknown>[]> {
			const out = await sh(`${remote}/knn-channel ${args}`);
			return out.trim().split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
		}

		it("two model modules register into an application made with knn-channel, print their knn-app lines and ids, activate, roll back and unload", async (t) => {
			if (!needSandbox(t)) return;
			const release = (await sh("uname -r")).trim();
			const kdir = `/usr/src/linux-headers-${release}`;
			if (!fs.existsSync(kdir)) {
				if (process.env.CI === "true") assert.fail(`CI=true and ${kdir} is missing for the sandbox's kernel`);
				t.skip(`${kdir} is missing: install linux-headers-${release} to build modules for the sandbox's kernel`);
				return;
			}
			const core = await buildCore(kdir, "vm");
			assert.ok(core.symvers, core.output);
			const [a, b] = await Promise.all([buildApp("rec_a", "mine", kdir, core.symvers), buildApp("rec_b", "other", kdir, core.symvers)]);
			for (const built of [a, b]) assert.ok(built.build.ok, built.build.output);
			const toolDir = tempDir("apptemplate-tool");
			fs.copyFileSync(TOOL_SOURCE, path.join(toolDir, "knn_channel.c"));
			fs.copyFileSync(path.join(CORE_SOURCES, "knn_channel.h"), path.join(toolDir, "knn_channel.h"));
			await new Promise<void>((resolve, reject) => execFile("gcc", ["-O2", "-static", "-Wall", "-Wextra", "-o", "knn-channel", "knn_channel.c", "-I."], { cwd: toolDir },
				(error, _out, stderr) => (error ? reject(new Error(`gcc knn_channel.c: ${stderr}`)) : resolve())));

			await sh(`rm -rf ${remote} && mkdir -p ${remote}`);
			await upload(path.join(core.dir, "knn_core.ko"), `${remote}/knn_core.ko`);
			await upload(path.join(a.dir, "rec_a.ko"), `${remote}/rec_a.ko`);
			await upload(path.join(b.dir, "rec_b.ko"), `${remote}/rec_b.ko`);
			await upload(path.join(toolDir, "knn-channel"), `${remote}/knn-channel`);
			const words = new Uint32Array(new Float32Array([...X, ...H]).buffer);
			const inputs = `inputs=${[...words].map((w) => w.toString(16).padStart(8, "0")).join(",")}`;
			try {
				await sh(`insmod ${remote}/knn_core.ko`);
				assert.deepEqual(await channel("app-add --app mine --input-type float32 --output-type float32 --input-bytes 16 --output-bytes 12 --state-bytes 12"), [{ ok: true }]);

				// Refused loads: a name knn_core would refuse, and an application that does not exist.
				assert.notEqual((await sandbox.ssh(`insmod ${remote}/rec_a.ko app=bad-name`)).code, 0);
				assert.notEqual((await sandbox.ssh(`insmod ${remote}/rec_a.ko app=nosuch`)).code, 0);
				let log = (await kernelMessages()).join("\n");
				assert.match(log, /rec_a: app=bad-name: give a knn_core application name of 1 to 31 letters, digits or _/);
				assert.match(log, /rec_a: could not register the model rec_a into knn_core's application "nosuch": -2, knn_core has no such application/);

				// rec_a registers into its default application; rec_b was generated for "other" and is told app=mine.
				await sh(`insmod ${remote}/rec_a.ko ${inputs}`);
				const idA = parseAppLine((await kernelMessages()).reverse().find((m) => m.startsWith("knn-app rec_a ")) ?? "", "rec_a");
				assert.ok(idA && idA.app === "mine" && idA.modelId > 0, JSON.stringify(idA));
				assert.deepEqual(await channel(`activate --app mine --model ${idA.modelId}`), [{ ok: true }]);
				await sh(`insmod ${remote}/rec_b.ko app=mine ${inputs}`);
				const messages = await kernelMessages();
				const idB = parseAppLine(messages.reverse().find((m) => m.startsWith("knn-app rec_b ")) ?? "", "rec_b");
				assert.ok(idB && idB.app === "mine" && idB.modelId > 0 && idB.modelId !== idA.modelId, JSON.stringify(idB));

				const [status] = await channel("list --app mine");
				const slots = (status.slots as { name: string; modelId: number; active: boolean; module: string; usesFpu: boolean }[]);
				assert.deepEqual(slots.map((s) => [s.name, s.modelId, s.active, s.usesFpu]).sort(), [["rec_a", idA.modelId, true, true], ["rec_b", idB.modelId, false, true]]);
				assert.deepEqual(await channel(`activate --app mine --model ${idB.modelId}`), [{ ok: true }]);
				assert.deepEqual(await channel("rollback --app mine"), [{ ok: true }]);
				assert.equal((await channel("list --app mine"))[0].activeId, idA.modelId);

				// The self-test of each runs as the selftest template's does: y = x W + h U from the given inputs.
				await sh(`for i in $(seq 100); do dmesg | grep -q 'knn-selftest rec_b done' && break; sleep 0.2; done`);
				const ordered = await kernelMessages();
				for (const module of ["rec_a", "rec_b"]) {
					const { steps, done } = assembleSelftest(ordered, module, [12, 12]);
					assert.equal(done.status, 0, module);
					const y = Array.from(new Float32Array(steps[0][0].slice().buffer));
					expectedY().forEach((value, j) => assert.ok(Math.abs(y[j] - value) <= 1e-6 * Math.max(1, Math.abs(value)), `${module} y[${j}] = ${y[j]}, closed form ${value}`));
				}

				await sh("rmmod rec_b");
				assert.deepEqual(((await channel("list --app mine"))[0].slots as { name: string }[]).map((s) => s.name), ["rec_a"]);
				await sh("rmmod rec_a");
				assert.deepEqual((await channel("list --app mine"))[0].slots, []);
				assert.deepEqual(await channel("app-del --app mine"), [{ ok: true }]);
				console.log(`sandbox ${release}: rec_a model_id=${idA.modelId}, rec_b model_id=${idB.modelId}; both self-tests equal the closed form; rmmod of both and knn_core clean`);
				await sh("rmmod knn_core");
				assert.doesNotMatch(await sh("cat /proc/modules"), /^(knn_core|rec_a|rec_b) /m);
				assert.equal(Number((await sh("cat /proc/sys/kernel/tainted")).trim()) & 128, 0, "no oops (taint D)");
				log = (await kernelMessages()).join("\n");
				assert.doesNotMatch(log, /BUG:|WARNING:|Oops/);
			} finally {
				await sandbox.ssh("rmmod rec_b 2>/dev/null; rmmod rec_a 2>/dev/null; rmmod knn_core 2>/dev/null; true");
			}
		});
	});
}
