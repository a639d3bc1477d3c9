import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { type TestContext, before, describe, it } from "node:test";
import { type DeployReport, deploy } from "../../extension/core/deploy/deploy";
import { buildConfig, formatConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { loadFrozen } from "../../extension/core/model/prepare";
import { openTarget } from "../../extension/core/targets/openTarget";
import { parseTarget } from "../../extension/core/targets/targetSpec";
import { tempDir } from "../support/cli";
import { withSandbox } from "../support/sandbox";
import { INDIGO_DIR, indigoMissing, publishedIndigoInput, publishedIndigoOutputs, truncateTo5 } from "../support/shared";

const sandbox = withSandbox("simd");
const FETCHES = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];
const INPUTS = {
	feeds: { "global/Placeholder": publishedIndigoInput() }, steps: 10,
	feedback: { "global/Placeholder_1": "global/rnn/while/Exit_2", "global/Placeholder_2": "global/rnn/while/Exit_3" },
};
const CALLS = 100_000;

/** Under CI a sandbox that cannot start fails the test; elsewhere the test says why it did not run. */
function needSandbox(t: TestContext): boolean {
	if (!sandbox.unavailable) return true;
	if (process.env.CI === "true") assert.fail(`CI=true and the sandbox VM did not start: ${sandbox.unavailable}`);
	t.skip(sandbox.unavailable);
	return false;
}

describe("SIMD levels in the sandbox VM's kernel: Indigo deployed with bench=100000", { skip: indigoMissing }, () => {
	let configPath: string;
	let guestLevel: "avx2" | "sse2";
	const reports: Record<string, DeployReport> = {};

	before(async () => {
		const { graph } = loadFrozen(path.join(INDIGO_DIR, "model.meta"), FETCHES, path.join(INDIGO_DIR, "model"));
		const feeds = [["global/Placeholder", [1, 1, 9]], ["global/Placeholder_1", [1, 32]], ["global/Placeholder_2", [1, 32]]] as const;
		const { config } = buildConfig(graph, feeds.map(([node, shape]) => ({ ref: { node, index: 0 }, shape: [...shape] })), FETCHES.map((node) => ({ ref: { node, index: 0 } })));
		configPath = path.join(tempDir("simd-sandbox"), "graph.config.pbtxt");
		fs.writeFileSync(configPath, formatConfig(config));
		if (sandbox.unavailable) return;
		// The guest's own word on its CPU: QEMU's TCG "-cpu max" decides what it emulates.
		const flags = (await sandbox.ssh("grep -m1 '^flags' /proc/cpuinfo")).stdout.split(/\s+/);
		guestLevel = flags.includes("avx2") && flags.includes("fma") ? "avx2" : "sse2";
		console.log(`guest CPU: ${(await sandbox.ssh("grep -m1 'model name' /proc/cpuinfo")).stdout.trim()}; avx2 ${flags.includes("avx2")}, fma ${flags.includes("fma")}`);
	});

	async function deployIndigo(prefix: string, parameters: string[], keep = false): Promise<DeployReport> {
		const { target, remoteBuild } = openTarget(parseTarget("sandbox"), { sandboxDir: sandbox.dir });
		try {
			return await deploy({
				modelPath: path.join(INDIGO_DIR, "model.meta"), checkpoint: path.join(INDIGO_DIR, "model"), configPath, inputs: INPUTS, target, prefix,
				buildOn: "local", remoteBuild, keep, tolerance: 1e-6, extraParameters: [`bench=${CALLS}`, ...parameters],
			});
		} finally {
			await target.close();
		}
	}

	function checkReport(report: DeployReport, level: string): void {
		assert.ok(report.ok, `${report.error}\n${JSON.stringify(report.stages)}`);
		const published = publishedIndigoOutputs();
		report.kernel.steps.forEach((step, i) => {
			const row = (step["global/Softmax"] as number[][])[0];
			assert.deepEqual(row.map(truncateTo5), published[i], `kernel step ${i} at ${level}: ${row.join(" ")}`);
		});
		assert.ok(report.maxAbsError <= 1e-6, `kernel vs reference ${report.maxAbsError} at ${level}`);
		assert.equal(report.simd, level);
		assert.equal(report.bench?.simd, level);
		assert.equal(report.bench?.calls, CALLS);
		assert.equal(report.userBench?.simd, level);
		assert.equal(report.userBench?.calls, CALLS);
		for (const bench of [report.bench!, report.userBench!]) assert.ok(bench.minNs > 0 && bench.minNs <= bench.medianNs && bench.medianNs <= bench.p99Ns, JSON.stringify(bench));
		assert.deepEqual(report.stages.map((s) => s.name).slice(-3), ["compare", "user-space bench", report.finalState === "new module kept" ? "keep" : "unload"]);
	}

	it("simd=auto picks the best level the guest's CPU offers; the self-test, the in-kernel and the user-space latency name it, and the outputs still equal the published figures", async (t) => {
		if (!needSandbox(t)) return;
		const report = await deployIndigo("indigo_simd", [], true);
		reports.auto = report;
		checkReport(report, guestLevel);
		assert.equal(report.kernelHealth?.ok, true, JSON.stringify(report.kernelHealth));
		console.log(`simd=auto (${report.simd}): in-kernel median ${report.bench?.medianNs} ns (p99 ${report.bench?.p99Ns}, min ${report.bench?.minNs}); `
			+ `user space median ${report.userBench?.medianNs} ns (p99 ${report.userBench?.p99Ns}, min ${report.userBench?.minNs}); max abs error ${report.maxAbsError.toExponential(2)}; `
			+ report.stages.map((s) => `${s.name} ${s.ms} ms`).join(", "));
	});

	it("insmod refuses simd=bogus with an error naming the parameter and its values, and loads with simd=sse2 saying so", async (t) => {
		if (!needSandbox(t)) return;
		const ko = "/tmp/knn/indigo_simd/indigo_simd.ko.kept";
		try {
			assert.equal((await sandbox.ssh(`rmmod indigo_simd && test -f ${ko}`)).code, 0, "the kept module is there");
			const bad = await sandbox.ssh(`insmod ${ko} simd=bogus`);
			assert.notEqual(bad.code, 0);
			const log = (await sandbox.ssh("dmesg | tail -n 20")).stdout;
			assert.match(log, /indigo_simd: simd=bogus: use auto, sse2 or avx2/);
			assert.doesNotMatch((await sandbox.ssh("cat /proc/modules")).stdout, /^indigo_simd /m);
			const good = await sandbox.ssh(`insmod ${ko} simd=sse2 && sleep 1 && cat /sys/module/indigo_simd/parameters/simd && dmesg | grep 'knn-selftest indigo_simd simd=' | tail -n 1`);
			assert.equal(good.code, 0, good.stderr);
			assert.match(good.stdout, /^sse2\n.*knn-selftest indigo_simd simd=sse2$/m);
		} finally {
			await sandbox.ssh("rmmod indigo_simd 2>/dev/null; rm -rf /tmp/knn/indigo_simd; true");
		}
	});

	it("simd=sse2 forces the baseline for comparison: the kernel and the same C in user space both run sse2, with the same outputs", async (t) => {
		if (!needSandbox(t)) return;
		const report = await deployIndigo("indigo_sse2", ["simd=sse2"]);
		checkReport(report, "sse2");
		const auto = reports.auto;
		console.log(`simd=sse2: in-kernel median ${report.bench?.medianNs} ns (p99 ${report.bench?.p99Ns}, min ${report.bench?.minNs}); `
			+ `user space median ${report.userBench?.medianNs} ns (p99 ${report.userBench?.p99Ns}, min ${report.userBench?.minNs}); max abs error ${report.maxAbsError.toExponential(2)}`
			+ (auto?.bench && auto.userBench ? `; ${auto.simd} / sse2 median: kernel ${(auto.bench.medianNs / report.bench!.medianNs).toFixed(2)}, user space ${(auto.userBench.medianNs / report.userBench!.medianNs).toFixed(2)}` : ""));
	});
});
