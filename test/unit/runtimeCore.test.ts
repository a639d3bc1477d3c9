import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type TestContext, before, describe, it } from "node:test";
import type { AppStatus, ChannelLine } from "../../extension/core/runtime/types";
import { tempDir } from "../support/cli";
import { withSandbox } from "../support/sandbox";

const ROOT = path.resolve(__dirname, "../..");
const CORE_DIR = path.join(ROOT, "kmod", "runtime", "core");
const FIXTURE_DIR = path.join(ROOT, "test", "support", "runtime");
const CHANNEL_TOOL = path.join(ROOT, "kmod", "runtime", "tools", "knn_channel.c");
const FIXTURE_FILES = ["Kbuild", "Makefile", "knn_fix_app.c", "knn_fix_model.h", "knn_fix_double_main.c", "knn_fix_double_fp.c", "knn_fix_nan_main.c", "knn_fix_nan_fp.c"];
const GUEST = "/tmp/rtcore";
const PARAMS = "/sys/module/knn_fix_app/parameters";
/** The bridge in the guest, bounded so that a hung netlink exchange fails the test instead of stalling it. */
const TOOL = `timeout 30 ${GUEST}/knn-channel`;

/** Every amd64 kernel whose headers are installed: the 6.1 the sandbox boots, and 6.12 from backports when present. */
const HEADERS = fs.existsSync("/usr/src") ? fs.readdirSync("/usr/src").filter((d) => /^linux-headers-.*-amd64$/.test(d)).map((d) => path.join("/usr/src", d)) : [];
const noHeaders = HEADERS.length ? false : "no /usr/src/linux-headers-*-amd64 (apt-get install linux-headers-amd64)";

/** float32 bits of x as 8 hex digits, the way the fixture reads and prints them. */
function bits(x: number): string {
	return new Uint32Array(new Float32Array([x]).buffer)[0].toString(16).padStart(8, "0");
}

const scratchDirs: string[] = [];
process.on("exit", () => {
	for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary build folder, removed when the test process ends. */
function scratchDir(prefix: string): string {
	const dir = tempDir(prefix);
	scratchDirs.push(dir);
	return dir;
}

function make(dir: string, args: string[]): string {
	return execFileSync("make", args, { cwd: dir, encoding: "utf8", stdio: "pipe", env: { ...process.env, LC_ALL: "C" } }) as string;
}

/** Builds knn_core.ko (with W=1) in a copy of its folder; returns the folder and the compiler's warnings. */
function buildCore(kdir: string): { dir: string; warnings: string[] } {
	const dir = scratchDir("rtcore");
	for (const file of fs.readdirSync(CORE_DIR)) fs.copyFileSync(path.join(CORE_DIR, file), path.join(dir, file));
	const result = execFileSync("make", [`KDIR=${kdir}`, "W=1"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
	return { dir, warnings: result.split("\n").filter((l) => /warning:|error:/.test(l)) };
}

describe("knn_core builds", { skip: noHeaders }, () => {
	for (const kdir of HEADERS) {
		it(`compiles with no warning at W=1 against ${path.basename(kdir)}, its symbols exported for application and model modules`, () => {
			const { dir, warnings } = buildCore(kdir);
			assert.deepEqual(warnings, []);
			const symvers = fs.readFileSync(path.join(dir, "Module.symvers"), "utf8");
			for (const symbol of ["knn_core_register_app", "knn_core_unregister_app", "knn_core_register_model", "knn_core_unregister_model", "knn_core_activate", "knn_core_rollback", "knn_core_infer"]) {
				assert.match(symvers, new RegExp(`\\t${symbol}\\t.*EXPORT_SYMBOL_GPL`), symbol);
			}
		});
	}
});

/** The VM boots the newest installed kernel; KNN_RUNTIME_KERNEL=6.1.0-57-amd64 (a release with headers) picks another. */
const KERNEL = process.env.KNN_RUNTIME_KERNEL;
const sandbox = withSandbox(KERNEL ? `runtimecore-${KERNEL}` : "runtimecore", KERNEL ? { kernelRelease: KERNEL } : {});

/** Under CI a sandbox that cannot start fails the test; elsewhere the test says why it did not run. */
function needSandbox(t: TestContext): boolean {
	if (!sandbox.unavailable) return true;
	if (process.env.CI === "true") assert.fail(`CI=true and the sandbox VM did not start: ${sandbox.unavailable}`);
	t.skip(sandbox.unavailable);
	return false;
}

async function guest(command: string): Promise<string> {
	const result = await sandbox.ssh(command, { timeoutMs: 120_000 });
	assert.equal(result.code, 0, `${command}\n${result.stdout}${result.stderr}`);
	return result.stdout;
}

/** One write to a fixture parameter, then what it reports. */
async function fixture(parameter: string, value: string): Promise<string> {
	return (await guest(`echo ${value} > ${PARAMS}/${parameter} && cat ${PARAMS}/result`)).trim();
}

async function infer(a: number, b: number, parameter = "infer"): Promise<string> {
	return fixture(parameter, `${bits(a)},${bits(b)}`);
}

/** The kernel log since the marker line `knn-test: NAME` written by mark(). */
async function logSince(name: string): Promise<string> {
	const log = await guest("sleep 0.3; dmesg");
	const at = log.lastIndexOf(`knn-test: ${name}`);
	assert.ok(at >= 0, `marker ${name} in the kernel log`);
	return log.slice(at);
}

async function mark(name: string): Promise<void> {
	await guest(`echo 'knn-test: ${name}' > /dev/kmsg`);
}

async function modelId(module: string): Promise<number> {
	return Number((await guest(`cat /sys/module/${module}/parameters/model_id`)).trim());
}

async function list(): Promise<AppStatus> {
	const lines = (await guest(`${TOOL} list --app fixture`)).trim().split("\n");
	assert.equal(lines.length, 1, lines.join("\n"));
	return JSON.parse(lines[0]) as AppStatus;
}

const UNTOUCHED = "7fa00000,7fa00000";
const ENODATA = -61;
const ERANGE = -34;
const ENOENT = -2;

describe("knn_core in the sandbox VM's kernel, driven by fixture modules", { skip: noHeaders }, () => {
	let haveTool = false;
	let first = 0;
	let second = 0;

	before(async () => {
		if (sandbox.unavailable) return;
		const kdir = HEADERS.find((d) => d.endsWith(sandbox.info().kernelRelease)) ?? HEADERS[0];
		const core = buildCore(kdir).dir;
		const fixtures = scratchDir("rtfix");
		for (const file of FIXTURE_FILES) fs.copyFileSync(path.join(FIXTURE_DIR, file), path.join(fixtures, file));
		make(fixtures, [`KDIR=${kdir}`, `KNN_CORE_DIR=${core}`]);
		await guest(`for m in knn_fix_double knn_fix_nan knn_fix_app knn_core; do rmmod $m 2>/dev/null; done; rm -rf ${GUEST}; mkdir -p ${GUEST}`);
		const uploads: [string, string][] = [[path.join(core, "knn_core.ko"), "knn_core.ko"], ...["knn_fix_app", "knn_fix_double", "knn_fix_nan"].map((m): [string, string] => [path.join(fixtures, `${m}.ko`), `${m}.ko`])];
		// The user-space bridge is written alongside; use it once it is in the tree.
		haveTool = fs.existsSync(CHANNEL_TOOL);
		if (haveTool) {
			const binary = path.join(fixtures, "knn-channel");
			execFileSync("gcc", ["-O2", "-static", "-o", binary, CHANNEL_TOOL, `-I${CORE_DIR}`], { stdio: "pipe" });
			uploads.push([binary, "knn-channel"]);
		}
		for (const [from, to] of uploads) {
			const result = await sandbox.ssh(`cat > ${GUEST}/${to} && chmod +x ${GUEST}/${to}`, { input: fs.readFileSync(from) });
			assert.equal(result.code, 0, result.stderr);
		}
	});

	it("an application with no model answers -ENODATA and leaves the output untouched", async (t) => {
		if (!needSandbox(t)) return;
		await mark("load");
		await guest(`insmod ${GUEST}/knn_core.ko && insmod ${GUEST}/knn_fix_app.ko`);
		assert.equal(await infer(1.5, -3), `ret=${ENODATA} out=${UNTOUCHED} ok=0`);
		assert.match(await logSince("load"), /knn_core: app fixture registered by knn_fix_app: input 8 bytes of float32, output 8 bytes of float32\n/);
	});

	it("a model registers into the standby slot, stays inactive until activated, then gives 2*input from process and softirq context", async (t) => {
		if (!needSandbox(t)) return;
		await mark("double");
		await guest(`insmod ${GUEST}/knn_fix_double.ko`);
		first = await modelId("knn_fix_double");
		assert.ok(first > 0);
		assert.equal(await infer(1.5, -3), `ret=${ENODATA} out=${UNTOUCHED} ok=0`);
		assert.equal(await fixture("activate", String(first)), "ret=0");
		assert.equal(await infer(1.5, -3), `ret=0 out=${bits(3)},${bits(-6)} ok=1`);
		assert.equal(await infer(0.25, 100, "softirq_infer"), `ret=0 out=${bits(0.5)},${bits(200)} ok=1`);
		const log = await logSince("double");
		assert.match(log, new RegExp(`knn_core: app fixture: model ${first} \\(fix_double, module knn_fix_double\\) registered in standby slot 0\n`));
		assert.match(log, new RegExp(`knn_core: app fixture: model ${first} \\(fix_double\\) activated, was none 0\n`));
	});

	it("a second model goes to the other slot; a NaN output is withheld (-ERANGE), the guard rolls back to the first model and marks the second failed", async (t) => {
		if (!needSandbox(t)) return;
		await mark("nan");
		await guest(`insmod ${GUEST}/knn_fix_nan.ko`);
		second = await modelId("knn_fix_nan");
		assert.ok(second > first);
		assert.equal(await infer(1, 2), `ret=0 out=${bits(2)},${bits(4)} ok=1`, "the first model stays active");
		assert.equal(await fixture("activate", String(second)), "ret=0");
		assert.equal(await infer(1, 2), `ret=0 out=${bits(3)},${bits(6)} ok=1`);
		assert.equal(await infer(200, 1), `ret=${ERANGE} out=${UNTOUCHED} ok=0`);
		assert.equal(await infer(1.5, -3), `ret=0 out=${bits(3)},${bits(-6)} ok=1`, "back on the first model");
		assert.equal(await fixture("rollback", "1"), `ret=${ENOENT}`, "no rollback onto a model that failed the guard");
		const log = await logSince("nan");
		assert.match(log, new RegExp(`knn_core: app fixture: model ${second} \\(fix_nan, module knn_fix_nan\\) registered in standby slot 1\n`));
		assert.match(log, new RegExp(`knn_core: app fixture: guard rolled back model ${second} \\(nan\\) to model ${first}\n`));
		if (!haveTool) return;
		const status = await list();
		assert.equal(status.activeId, first);
		const failed = status.slots.find((s) => s.modelId === second);
		assert.equal(failed?.failed, "nan");
		assert.equal(failed?.rollbacks, 1);
		assert.equal(failed?.errors, 1);
		assert.equal(failed?.inferences, 2);
		assert.equal(failed?.usesFpu, true);
		const healthy = status.slots.find((s) => s.modelId === first);
		assert.deepEqual([healthy?.active, healthy?.failed, healthy?.inferences, healthy?.index], [true, "none", 4, 0]);
		assert.ok(healthy!.latencyP50Ns > 0 && healthy!.latencyP50Ns <= healthy!.latencyP99Ns && healthy!.latencyP99Ns <= healthy!.latencyMaxNs, JSON.stringify(healthy));
	});

	it("an explicit activate clears the failed mark; activations from the channel racing 200000 inferences never lose one", async (t) => {
		if (!needSandbox(t)) return;
		assert.equal(await fixture("activate", String(second)), "ret=0");
		assert.equal(await infer(1, 2), `ret=0 out=${bits(3)},${bits(6)} ok=1`);
		assert.equal(await fixture("rollback", "1"), "ret=0");
		assert.equal(await infer(1, 2), `ret=0 out=${bits(2)},${bits(4)} ok=1`);
		if (!haveTool) return;
		// sysfs writes to the fixture serialise on its parameter lock, so the swaps come over netlink
		const swaps = `(for i in $(seq 200); do ${TOOL} activate --app fixture --model ${first} >/dev/null; ${TOOL} activate --app fixture --model ${second} >/dev/null; done) & `;
		const started = Date.now();
		const result = (await guest(`${swaps} echo 200000 > ${PARAMS}/repeat; echo ${bits(1)},${bits(2)} > ${PARAMS}/infer; echo 1 > ${PARAMS}/repeat; cat ${PARAMS}/result; wait`)).trim();
		assert.match(result, /^ret=0 out=\S+ ok=200000$/);
		console.log(`200000 inferences racing 400 activations: ${Date.now() - started} ms`);
		assert.equal(await fixture("activate", String(first)), "ret=0");
	});

	it("knn-channel lists the application, streams events and records, and its guard command trips the latency guard", async (t) => {
		if (!needSandbox(t)) return;
		if (!haveTool) {
			t.skip(`${path.relative(ROOT, CHANNEL_TOOL)} is not in the tree yet`);
			return;
		}
		const status = await list();
		assert.deepEqual([status.app, status.owner, status.inputType, status.outputType, status.inputBytes, status.outputBytes, status.activeId], ["fixture", "knn_fix_app", "float32", "float32", 8, 8, first]);
		assert.deepEqual(status.slots.map((s) => [s.index, s.modelId, s.name, s.module]), [[0, first, "fix_double", "knn_fix_double"], [1, second, "fix_nan", "knn_fix_nan"]]);

		// records: 10 inferences of (1, 2) through the first model
		const stream = `${TOOL} stream --app fixture --records-only --count 10 --seconds 20 > ${GUEST}/records.json & sleep 1; `;
		await guest(`${stream} echo 10 > ${PARAMS}/repeat; echo ${bits(1)},${bits(2)} > ${PARAMS}/infer; echo 1 > ${PARAMS}/repeat; wait`);
		const records = (await guest(`cat ${GUEST}/records.json`)).trim().split("\n").map((l) => JSON.parse(l) as ChannelLine);
		assert.equal(records.length, 10, JSON.stringify(records));
		for (const [i, r] of records.entries()) {
			assert.equal(r.kind, "record");
			if (r.kind !== "record") continue;
			assert.deepEqual([r.app, r.modelId, r.input, r.output], ["fixture", first, [1, 2], [2, 4]]);
			assert.equal(r.seq, records[0].kind === "record" ? records[0].seq + i : -1, "consecutive seq");
			assert.ok(r.latencyNs > 0);
		}

		// events: a slow model trips the latency guard at the end of a 5-inference window
		await guest(`echo 200 > /sys/module/knn_fix_nan/parameters/spin_us`);
		assert.equal(JSON.parse(await guest(`${TOOL} guard --app fixture --window 5 --latency-ns 50000`)).ok, true);
		const events = `${TOOL} stream --app fixture --events-only --count 2 --seconds 20 > ${GUEST}/events.json & sleep 1; `;
		await guest(`${events} ${TOOL} activate --app fixture --model ${second}; echo 5 > ${PARAMS}/repeat; echo ${bits(1)},${bits(2)} > ${PARAMS}/infer; echo 1 > ${PARAMS}/repeat; wait`);
		const lines = (await guest(`cat ${GUEST}/events.json`)).trim().split("\n").map((l) => JSON.parse(l) as ChannelLine);
		assert.deepEqual(lines.map((e) => e.kind === "event" ? [e.event, e.reason, e.fromId, e.toId] : e.kind), [["activate", "none", first, second], ["guard", "latency", second, first]]);
		assert.equal(await infer(1, 2), `ret=0 out=${bits(2)},${bits(4)} ok=1`, "back on the fast model");
		const after = await list();
		assert.equal(after.slots.find((s) => s.modelId === second)?.failed, "latency");
		assert.ok(after.slots.find((s) => s.modelId === second)!.latencyMaxNs >= 200_000, JSON.stringify(after.slots));
		assert.ok(after.recordsSent >= 10);
		await guest(`echo 0 > /sys/module/knn_fix_nan/parameters/spin_us`);
		assert.equal(JSON.parse(await guest(`${TOOL} guard --app fixture --window 1000 --latency-ns 0`)).ok, true);

		// user-made applications: added and deleted from the channel; module-owned ones cannot be deleted
		assert.equal(JSON.parse(await guest(`${TOOL} app-add --app scratch --input-type int8 --output-type int32 --input-bytes 16 --output-bytes 4`)).ok, true);
		assert.equal(JSON.parse((await guest(`${TOOL} list --app scratch`)).trim()).owner, "knn_core");
		const refused = await sandbox.ssh(`${TOOL} app-del --app fixture`);
		assert.notEqual(refused.code, 0);
		assert.match(refused.stdout, /fixture/);
		assert.equal(JSON.parse(await guest(`${TOOL} app-del --app scratch`)).ok, true);
	});

	it("rmmod of the active model rolls back to the other and is always possible; the last one leaves no model", async (t) => {
		if (!needSandbox(t)) return;
		await mark("unload");
		// activating clears a guard failure the latency test may have left on the second model
		assert.equal(await fixture("activate", String(second)), "ret=0");
		assert.equal(await fixture("activate", String(first)), "ret=0");
		await guest("rmmod knn_fix_double");
		assert.equal(await infer(1, 2), `ret=0 out=${bits(3)},${bits(6)} ok=1`);
		await guest("rmmod knn_fix_nan");
		assert.equal(await infer(1, 2), `ret=${ENODATA} out=${UNTOUCHED} ok=0`);
		const log = await logSince("unload");
		assert.match(log, new RegExp(`knn_core: app fixture: active model ${first} \\(fix_double\\) unregistered, rolled back to model ${second} \\(fix_nan\\)\n`));
		assert.match(log, new RegExp(`knn_core: app fixture: active model ${second} \\(fix_nan\\) unregistered, no model is active now\n`));
	});

	it("once unloaded, a model for a missing application or of the wrong size is refused at insmod, with a log line naming both sides", async (t) => {
		if (!needSandbox(t)) return;
		await mark("refuse");
		const missing = await sandbox.ssh(`insmod ${GUEST}/knn_fix_double.ko app=nosuch`);
		assert.notEqual(missing.code, 0);
		if (haveTool) {
			assert.equal(JSON.parse(await guest(`${TOOL} app-add --app wide --input-type float32 --output-type float32 --input-bytes 16 --output-bytes 8`)).ok, true);
			const wrong = await sandbox.ssh(`insmod ${GUEST}/knn_fix_double.ko app=wide`);
			assert.notEqual(wrong.code, 0);
			assert.equal(JSON.parse(await guest(`${TOOL} app-del --app wide`)).ok, true);
		}
		const log = await logSince("refuse");
		assert.match(log, /knn_core: model fix_double \(module knn_fix_double\): no app nosuch: load the application's module/);
		if (haveTool) assert.match(log, /knn_core: app wide: model fix_double \(module knn_fix_double\) takes 8 bytes of float32 but the application feeds 16 bytes of float32/);
	});

	it("knn_core is pinned while an application uses it, unloads after it, and the kernel log has no WARNING or BUG", async (t) => {
		if (!needSandbox(t)) return;
		assert.notEqual((await sandbox.ssh("rmmod knn_core")).code, 0, "an application module pins knn_core");
		await guest("rmmod knn_fix_app && rmmod knn_core");
		assert.doesNotMatch(await guest("cat /proc/modules"), /^knn_/m);
		const log = await logSince("load");
		assert.doesNotMatch(log, /WARNING:|BUG:|Oops|general protection|RCU detected stall|lockdep/);
		assert.match(log, /knn_core: unloaded\n/);
		assert.equal(Number(await guest("cat /proc/sys/kernel/tainted")) & (128 | 512), 0, "no D (oops) or W (warning) taint");
	});
});
