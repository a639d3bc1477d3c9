import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import type { DeployReport } from "../../extension/core/deploy/deploy";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { buildConfig, formatConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph } from "../../extension/core/graph/graph";
import { writeCompiledModule } from "../../extension/core/kmod/moduleProject";
import { cliPath, knn, tempDir } from "../support/cli";
import { readSandboxInfo } from "../../extension/core/sandbox/sandboxVm";
import { sshRun } from "../../extension/core/sandbox/sandboxSsh";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { withSandbox } from "../support/sandbox";

const sandbox = withSandbox("selftest-stop");
const T = attr.type("float32");

// y = 2x + 1 with x fed back from y: each step doubles and adds one, exactly in float32 for these values.
function doublingGraph(width: number): Graph {
	const g = new GraphBuilder();
	const x = g.placeholder("x", "float32", [1, width]);
	const doubled = g.op("Mul", "doubled", [x, g.constOf("two", "float32", [2], [])], { T });
	g.op("AddV2", "y", [doubled, g.constOf("one", "float32", [1], [])], { T });
	return Graph.fromGraphDef(g.def());
}

function doublingConfig(graph: Graph, width: number) {
	return buildConfig(graph, [{ ref: { node: "x", index: 0 }, shape: [1, width] }], [{ ref: { node: "y", index: 0 } }]).config;
}

/** The model file, its config and an inputs file of `steps` fed-back steps, for knn deploy. */
function writeModel(width: number, steps: number): { model: string; config: string; inputs: string; x0: number[] } {
	const dir = tempDir(`selftest-stop-${width}`);
	const graph = doublingGraph(width);
	const model = path.join(dir, "doubling.pb");
	fs.writeFileSync(model, encodeMessage(types.GraphDef, graph.toGraphDef()));
	const config = path.join(dir, "doubling.config.pbtxt");
	fs.writeFileSync(config, formatConfig(doublingConfig(graph, width)));
	const x0 = Array.from({ length: width }, (_, i) => (i % 7) / 4 - 0.5);
	const inputs = path.join(dir, "inputs.json");
	fs.writeFileSync(inputs, JSON.stringify({ feeds: { x: [x0] }, steps, feedback: { x: "y" } }));
	return { model, config, inputs, x0 };
}

/** Seconds since the VM booted, from its /proc/uptime, so that timings leave out the SSH round trips. */
function uptime(text: string): number {
	return Number(text.trim().split(/\s+/)[0]);
}

async function timedInVm(command: string): Promise<{ seconds: number; code: number; output: string }> {
	const run = await sandbox.ssh(`a=$(cat /proc/uptime); ${command} >/tmp/out 2>&1; code=$?; b=$(cat /proc/uptime); echo "$a|$b|$code"; cat /tmp/out`);
	const [first, ...rest] = run.stdout.split("\n");
	const [a, b, code] = first.split("|");
	return { seconds: uptime(b) - uptime(a), code: Number(code), output: rest.join("\n") };
}

async function loaded(module: string): Promise<boolean> {
	return (await sandbox.ssh("cat /proc/modules")).stdout.split("\n").some((l) => l.split(" ")[0] === module);
}

async function logLines(pattern: string): Promise<string[]> {
	return (await sandbox.ssh(`dmesg | grep -F '${pattern}' | tail -n 50`)).stdout.split("\n").map((l) => l.replace(/^\[[^\]]*\]\s*/, "")).filter((l) => l !== "");
}

function make(dir: string, kdir: string): Promise<void> {
	return new Promise((resolve, reject) => {
		execFile("make", [`KDIR=${kdir}`], { cwd: dir, encoding: "utf8" }, (error, stdout, stderr) => (error ? reject(new Error(`make in ${dir}:\n${stdout}${stderr}`)) : resolve()));
	});
}

describe("a self-test that can always be stopped, in the sandbox VM's kernel", () => {
	const prefix = "stoptest";
	const remoteKo = `/tmp/${prefix}.ko`;

	before(async () => {
		if (sandbox.unavailable) return;
		const graph = doublingGraph(4);
		const model = compileModel(graph, doublingConfig(graph, 4), prefix, "the doubling test graph");
		const dir = path.join(tempDir("selftest-stop-build"), prefix);
		writeCompiledModule(dir, model, "selftest");
		await make(dir, `/usr/src/linux-headers-${sandbox.info().kernelRelease}`);
		const upload = await sandbox.ssh(`cat > ${remoteKo}`, { input: fs.readFileSync(path.join(dir, `${prefix}.ko`)) });
		assert.equal(upload.code, 0, upload.stderr);
	});

	it("insmod with steps=100000000 fails at once, the error naming steps= and the max_steps= cap, and leaves nothing loaded", { skip: sandbox.unavailable }, async () => {
		const run = await timedInVm(`insmod ${remoteKo} inputs=3f800000 steps=100000000`);
		assert.notEqual(run.code, 0, run.output);
		assert.ok(run.seconds < 2, `insmod took ${run.seconds} s`);
		assert.ok((await logLines(`${prefix}: steps=100000000 is more than max_steps=1000000`)).length > 0);
		assert.ok(!(await loaded(prefix)));
	});

	it("insmod with steps=100000000 and a raised max_steps returns within 2 s; rmmod during the running self-test works within 5 s and the log shows the stopped run", { skip: sandbox.unavailable }, async () => {
		try {
			const load = await timedInVm(`insmod ${remoteKo} inputs=3f800000 steps=100000000 max_steps=100000000`);
			assert.equal(load.code, 0, load.output);
			assert.ok(load.seconds < 2, `insmod took ${load.seconds} s`);
			await new Promise((resolve) => setTimeout(resolve, 1500));
			assert.ok(await loaded(prefix), "the module is loaded while its self-test runs");
			const unload = await timedInVm(`rmmod ${prefix}`);
			assert.equal(unload.code, 0, unload.output);
			assert.ok(unload.seconds < 5, `rmmod took ${unload.seconds} s`);
			assert.ok(!(await loaded(prefix)));
			// The step lines overrun the ring buffer; the run's last two lines are the newest.
			const log = await logLines(`${prefix}`);
			const done = /^knn-selftest stoptest done steps=(\d+) status=-4$/.exec(log[log.length - 1] ?? "");
			assert.ok(done, `no stopped done line at the end of:\n${log.slice(-3).join("\n")}`);
			const steps = Number(done[1]);
			assert.ok(steps > 0 && steps < 100_000_000, `steps=${steps}`);
			assert.equal(log[log.length - 2], `${prefix}: self-test stopped after ${steps} of 100000000 steps: the module is being unloaded`);
			console.log(`insmod returned in ${load.seconds.toFixed(2)} s; rmmod stopped the self-test after ${steps} steps in ${unload.seconds.toFixed(2)} s`);
		} finally {
			await sandbox.ssh(`rmmod ${prefix} 2>/dev/null; true`);
		}
	});

	it("knn deploy with steps 1e8 fails at the deploy's bound of 1,000,000 steps and loads nothing", { skip: sandbox.unavailable }, async () => {
		const files = writeModel(4, 100_000_000);
		const result = knn("deploy", files.model, "--config", files.config, "--inputs", files.inputs, "--target", "sandbox", "--sandbox-dir", sandbox.dir, "--prefix", "stopbound");
		assert.notEqual(result.status, 0);
		assert.match(result.stdout + result.stderr, /100000000 steps.*1,000,000|1,000,000.*100000000/s);
		assert.ok(!(await loaded("stopbound")));
	});

	it("knn deploy whose self-test outlasts --timeout fails in the self-test stage, saying so, with nothing left loaded and the run stopped", { skip: sandbox.unavailable }, async () => {
		// 1,024 results a step print 64 lines: 200,000 steps take far longer than the 5 s allowed.
		const files = writeModel(1024, 200_000);
		const started = performance.now();
		const result = knn("deploy", files.model, "--config", files.config, "--inputs", files.inputs, "--target", "sandbox", "--sandbox-dir", sandbox.dir,
			"--prefix", "stoplong", "--timeout", "5", "--json");
		const seconds = (performance.now() - started) / 1000;
		assert.equal(result.status, 1, result.stderr);
		const report = JSON.parse(result.stdout) as DeployReport;
		const failed = report.stages.find((s) => !s.ok);
		assert.equal(failed?.name, "self-test", JSON.stringify(report.stages));
		assert.match(failed?.error ?? "", /the self-test stage did not finish within 5 s/);
		assert.equal(report.finalState, "nothing loaded");
		assert.ok(!(await loaded("stoplong")), "nothing left loaded");
		assert.ok((await logLines("knn-selftest stoplong done steps=")).some((l) => / status=-4$/.test(l)), "the log shows the stopped run");
		assert.equal(report.kernelHealth?.ok, true, JSON.stringify(report.kernelHealth));
		console.log(`deploy with a 5 s self-test timeout failed and cleaned up in ${seconds.toFixed(1)} s: ${report.stages.map((s) => `${s.name} ${s.ms} ms`).join(", ")}`);
	});

	it("a normal knn deploy still passes: every step equal to the float64 closed form, the kernel healthy, nothing left loaded", { skip: sandbox.unavailable }, async () => {
		const files = writeModel(4, 3);
		const result = knn("deploy", files.model, "--config", files.config, "--inputs", files.inputs, "--target", "sandbox", "--sandbox-dir", sandbox.dir, "--prefix", "stopok", "--json");
		const report = JSON.parse(result.stdout) as DeployReport;
		assert.equal(result.status, 0, `${report.error}\n${result.stderr}`);
		let x = files.x0;
		report.kernel.steps.forEach((step, s) => {
			x = x.map((v) => 2 * v + 1);
			assert.deepEqual((step.y as number[][])[0], x, `step ${s}`);
		});
		assert.equal(report.kernel.steps.length, 3);
		assert.deepEqual(report.kernelHealth && { ok: report.kernelHealth.ok, newTaints: report.kernelHealth.newTaints, problems: report.kernelHealth.problems }, { ok: true, newTaints: [], problems: [] });
		assert.equal(report.finalState, "nothing loaded");
		assert.ok(!(await loaded("stopok")));
	});
});

// A module whose init warns (WARN taints the kernel with W) and then refuses to load, so nothing stays loaded.
const WARN_MODULE_C = `#include <linux/module.h>
#include <linux/bug.h>

static int __init knnwarn_init(void)
{
	WARN(1, "knnwarn: a warning on purpose, from the kernel health test");
	return -EAGAIN;
}
module_init(knnwarn_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Warns once at load, for the kernel health test");
`;

/** Runs the bundled CLI without blocking, calling `onLine` with each line of its stderr as it comes. */
function knnAsync(args: string[], onLine: (line: string) => void): Promise<{ status: number | null; stdout: string; stderr: string }> {
	return new Promise((resolve) => {
		const child = spawn(process.execPath, [cliPath(), ...args], { stdio: ["ignore", "pipe", "pipe"] });
		let stdout = "";
		let stderr = "";
		let pending = "";
		child.stdout.on("data", (chunk: Buffer) => { stdout += chunk.toString(); });
		child.stderr.on("data", (chunk: Buffer) => {
			stderr += chunk.toString();
			pending += chunk.toString();
			const lines = pending.split("\n");
			pending = lines.pop() ?? "";
			lines.forEach(onLine);
		});
		child.on("close", (status) => resolve({ status, stdout, stderr }));
	});
}

describe("a kernel damaged during a deploy, in the sandbox VM", () => {
	it("knn deploy reports the WARNING and the W taint, fails, and restarts the sandbox VM, whose fresh kernel is untainted", { skip: sandbox.unavailable }, async () => {
		const release = sandbox.info().kernelRelease;
		const dir = path.join(tempDir("kernel-health-warn"), "knnwarn");
		fs.mkdirSync(dir);
		fs.writeFileSync(path.join(dir, "knnwarn.c"), WARN_MODULE_C);
		fs.writeFileSync(path.join(dir, "Kbuild"), "obj-m := knnwarn.o\n");
		fs.writeFileSync(path.join(dir, "Makefile"), "KDIR ?= /lib/modules/$(shell uname -r)/build\nall:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules\n");
		await make(dir, `/usr/src/linux-headers-${release}`);
		const upload = await sandbox.ssh("cat > /tmp/knnwarn.ko", { input: fs.readFileSync(path.join(dir, "knnwarn.ko")) });
		assert.equal(upload.code, 0, upload.stderr);
		const bootedBefore = (await sandbox.ssh("cat /proc/sys/kernel/random/boot_id")).stdout.trim();

		const files = writeModel(4, 3);
		// The deploy reads its baseline in "target kernel" and then builds for seconds: the warning lands in between.
		let warned: Promise<unknown> | undefined;
		const result = await knnAsync(["deploy", files.model, "--config", files.config, "--inputs", files.inputs, "--target", "sandbox",
			"--sandbox-dir", sandbox.dir, "--prefix", "damaged"], (line) => {
			if (!warned && line.startsWith("knn deploy: build")) warned = sandbox.ssh("insmod /tmp/knnwarn.ko; true");
		});
		await warned;
		assert.ok(warned, `the deploy never reached its build stage:\n${result.stderr}`);
		const output = `${result.stdout}\n${result.stderr}`;
		assert.equal(result.status, 1, output);
		assert.match(output, /the kernel of .* was damaged during the deploy/);
		assert.match(output, /WARNING: CPU: \d+ PID: \d+ at .*knnwarn/);
		assert.match(output, /new taint W \(/);
		assert.match(output, /restarting the sandbox VM in /);
		assert.match(output, /the sandbox VM was restarted/);
		// A new boot: another boot id, and a kernel with no taint at all.
		const info = readSandboxInfo(sandbox.dir)!;
		const after = await sshRun(info, "cat /proc/sys/kernel/random/boot_id; cat /proc/sys/kernel/tainted");
		const [bootedAfter, tainted] = after.stdout.trim().split("\n");
		assert.notEqual(bootedAfter, bootedBefore, "the VM was not rebooted");
		assert.equal(tainted, "0");
		console.log(`deploy saw the warning, failed and restarted the sandbox: ${output.split("\n").find((l) => l.includes("target kernel:"))?.trim()}`);
	});
});
