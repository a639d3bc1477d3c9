import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { buildConfig, formatConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { type DeployOptions, type DeployReport, deploy } from "../../extension/core/deploy/deploy";
import { followKernelLog } from "../../extension/core/kernelLog/follow";
import type { KernelLogRecord } from "../../extension/core/kernelLog/kmsg";
import { loadFrozen } from "../../extension/core/model/prepare";
import { GUEST_BUILD_HELPER } from "../../extension/core/sandbox/sandboxTypes";
import { SshTarget } from "../../extension/core/targets/sshTarget";
import { TargetError } from "../../extension/core/targets/target";
import { knn, tempDir } from "../support/cli";
import { withSandbox } from "../support/sandbox";
import { INDIGO_DIR, indigoMissing, publishedIndigoInput, publishedIndigoOutputs, truncateTo5 } from "../support/shared";
import { TcpProxy, generateKey } from "../support/sshServer";

const sandbox = withSandbox("deploy");
const FETCHES = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];
const INPUTS = {
	feeds: { "global/Placeholder": publishedIndigoInput() }, steps: 10,
	feedback: { "global/Placeholder_1": "global/rnn/while/Exit_2", "global/Placeholder_2": "global/rnn/while/Exit_3" },
};

/** An SSH target for the sandbox VM, optionally through a proxy port (pinned with the VM's own host key). */
function sandboxTarget(port?: number): SshTarget {
	const info = sandbox.info();
	let knownHosts = info.knownHostsFile;
	if (port !== undefined) {
		knownHosts = path.join(tempDir("known-hosts"), "known_hosts");
		fs.writeFileSync(knownHosts, fs.readFileSync(info.knownHostsFile, "utf8").replace(/\[127\.0\.0\.1\]:\d+/g, `[127.0.0.1]:${port}`));
	}
	return new SshTarget({
		host: "127.0.0.1", port: port ?? info.port, user: "root", identityFiles: [info.identityFile], agent: false,
		knownHostsFiles: [knownHosts], sshConfigFile: null, keepaliveIntervalMs: 1000, keepaliveCountMax: 3,
	});
}

async function loadedModules(): Promise<string[]> {
	return (await sandbox.ssh("cat /proc/modules")).stdout.split("\n").map((l) => l.split(" ")[0]).filter((m) => m !== "");
}

describe("deploy to the sandbox VM over SSH", { skip: indigoMissing }, () => {
	let configPath: string;
	let frozenModel: string;

	before(() => {
		const dir = tempDir("deploy");
		frozenModel = path.join(INDIGO_DIR, "model.meta");
		const { graph } = loadFrozen(frozenModel, FETCHES, path.join(INDIGO_DIR, "model"));
		const feeds = [["global/Placeholder", [1, 1, 9]], ["global/Placeholder_1", [1, 32]], ["global/Placeholder_2", [1, 32]]] as const;
		const { config } = buildConfig(graph, feeds.map(([node, shape]) => ({ ref: { node, index: 0 }, shape: [...shape] })), FETCHES.map((node) => ({ ref: { node, index: 0 } })));
		configPath = path.join(dir, "graph.config.pbtxt");
		fs.writeFileSync(configPath, formatConfig(config));
	});

	const options = (target: SshTarget, prefix: string, extra: Partial<DeployOptions> = {}): DeployOptions => ({
		modelPath: frozenModel, configPath, checkpoint: path.join(INDIGO_DIR, "model"), inputs: INPUTS, target, prefix,
		buildOn: "local", keep: false, tolerance: 1e-6, remoteBuild: (dir) => ({ command: GUEST_BUILD_HELPER, args: [dir] }), ...extra,
	});

	const checkIndigo = (report: DeployReport) => {
		assert.ok(report.ok, `${report.error}\n${JSON.stringify(report.stages)}`);
		const published = publishedIndigoOutputs();
		report.kernel.steps.forEach((step, i) => {
			assert.deepEqual((step["global/Softmax"] as number[][])[0].map(truncateTo5), published[i], `kernel step ${i} (simd=${report.simd ?? "?"})`);
		});
		assert.ok(report.maxAbsError <= 1e-6, `kernel vs reference ${report.maxAbsError}`);
		assert.equal(report.kernel.steps.length, 10);
	};

	it("knn deploy --json: Indigo built locally runs in the VM's kernel, the 50 published figures, every value within 1e-6 of the interpreter", { skip: sandbox.unavailable }, () => {
		const inputs = path.join(tempDir("deploy-cli"), "inputs.json");
		fs.writeFileSync(inputs, JSON.stringify(INPUTS));
		const result = knn("deploy", frozenModel, "--checkpoint", path.join(INDIGO_DIR, "model"), "--config", configPath, "--target", "sandbox",
			"--sandbox-dir", sandbox.dir, "--inputs", inputs, "--prefix", "indigo", "--bench", "100000", "--json");
		assert.equal(result.status, 0, result.stdout + result.stderr);
		const report = JSON.parse(result.stdout) as DeployReport;
		checkIndigo(report);
		assert.equal(report.finalState, "nothing loaded");
		for (const field of ["ok", "stages", "kernel", "reference", "maxAbsError", "maxRelError", "tolerance"]) assert.ok(field in report, field);
		assert.deepEqual(report.reference.steps.length, 10);
		console.log(`deploy (build on host): ${report.stages.map((s) => `${s.name} ${s.ms} ms`).join(", ")}; max abs error ${report.maxAbsError.toExponential(2)}`);
		if (report.bench) console.log(`in-kernel latency (TCG): median ${report.bench.medianNs} ns, p99 ${report.bench.p99Ns} ns over ${report.bench.calls} calls`);
	});

	it("knn dmesg --module shows that module's lines from the target's kernel log, levels kept", { skip: sandbox.unavailable }, async () => {
		assert.ok(!(await loadedModules()).includes("indigo"), "the deploy unloaded the module");
		const result = knn("dmesg", "--target", "sandbox", "--sandbox-dir", sandbox.dir, "--module", "indigo", "--levels");
		assert.equal(result.status, 0, result.stderr);
		const lines = result.stdout.trim().split("\n");
		assert.ok(lines.some((l) => /^<info> \[\s*\d+\.\d{6}\] knn-selftest indigo done steps=10 status=0$/.test(l)), lines.slice(-5).join("\n"));
		assert.ok(lines.every((l) => /indigo/.test(l)), "only the module's lines");
	});

	it("the same with the module built on the target over SSH", { skip: sandbox.unavailable }, async () => {
		const target = sandboxTarget();
		try {
			const report = await deploy(options(target, "indigo_remote", { buildOn: "target" }));
			checkIndigo(report);
			console.log(`deploy (build on target): ${report.stages.map((s) => `${s.name} ${s.ms} ms`).join(", ")}`);
		} finally {
			await target.close();
		}
	});

	it("a module whose self-test fails is rolled back: the previous version is loaded again", { skip: sandbox.unavailable }, async () => {
		const target = sandboxTarget();
		try {
			const first = await deploy(options(target, "indigo_rb", { keep: true }));
			assert.ok(first.ok, first.error);
			assert.equal(first.finalState, "new module kept");
			const broken = await deploy(options(target, "indigo_rb", { extraParameters: ["fail_selftest=1"] }));
			assert.equal(broken.ok, false);
			assert.equal(broken.stages.find((s) => !s.ok)?.name, "self-test");
			assert.match(broken.error ?? "", /failed its self-test/);
			assert.equal(broken.finalState, "previous module restored");
			assert.ok((await loadedModules()).includes("indigo_rb"), "the previous version is loaded again");
		} finally {
			await sandbox.ssh("rmmod indigo_rb; rm -rf /tmp/knn/indigo_rb");
			await target.close();
		}
	});

	it("refuses a changed host key, naming the host and the fingerprint", { skip: sandbox.unavailable }, async () => {
		const info = sandbox.info();
		const dir = tempDir("changed-key");
		const other = generateKey(dir, "other");
		const knownHosts = path.join(dir, "known_hosts");
		fs.writeFileSync(knownHosts, `[127.0.0.1]:${info.port} ${other.publicKey}\n`);
		const target = new SshTarget({ host: "127.0.0.1", port: info.port, user: "root", identityFiles: [info.identityFile], agent: false, knownHostsFiles: [knownHosts], sshConfigFile: null });
		try {
			await assert.rejects(target.run("true", []), (e: Error) => e instanceof TargetError && e.code === "host-key-changed" && e.message.includes(knownHosts) && /SHA256:/.test(e.message));
		} finally {
			await target.close();
		}
	});

	for (const when of ["upload", "build"] as const) {
		it(`a connection killed during the ${when} fails that stage cleanly and leaves nothing loaded or half-written`, { skip: sandbox.unavailable }, async () => {
			const proxy = await TcpProxy.start(sandbox.info().port);
			const target = sandboxTarget(proxy.port);
			const prefix = `indigo_cut_${when}`;
			try {
				const report = await deploy(options(target, prefix, {
					buildOn: when === "build" ? "target" : "local",
					onStage: (stage, phase) => {
						if (phase !== "start" || stage.name !== when) return;
						if (when === "upload") void proxy.cutAfterUpload(20_000);
						else setTimeout(() => proxy.cut(), 3000);
					},
				}));
				assert.equal(report.ok, false);
				const failed = report.stages.find((s) => !s.ok);
				assert.equal(failed?.name, when, JSON.stringify(report.stages));
				assert.match(failed?.error ?? "", /disconnect|connection/i);
				assert.ok(!(await loadedModules()).includes(prefix), "nothing loaded");
				const files = (await sandbox.ssh(`ls /tmp/knn/${prefix} 2>/dev/null`)).stdout.split("\n").filter((f) => f.endsWith(".ko") || f.includes(".ko."));
				assert.deepEqual(files.filter((f) => f !== `${prefix}.ko` && !f.startsWith(`${prefix}.ko.tmp`)), [], `no final module file: ${files.join(" ")}`);
			} finally {
				await target.close();
				await proxy.close();
				await sandbox.ssh(`rm -rf /tmp/knn/${prefix}`);
			}
		});
	}

	it("a kernel log follow survives a killed connection without gaps or duplicates", { skip: sandbox.unavailable }, async () => {
		const proxy = await TcpProxy.start(sandbox.info().port);
		const target = sandboxTarget(proxy.port);
		const controller = new AbortController();
		const seen: string[] = [];
		const statuses: string[] = [];
		const marker = `knn-follow-${process.pid}`;
		const write = (i: number) => sandbox.ssh(`echo "${marker} ${i}" > /dev/kmsg`);
		const following = followKernelLog(target, {
			signal: controller.signal,
			onRecords: (records: KernelLogRecord[]) => {
				for (const r of records) if (r.message.startsWith(marker)) seen.push(r.message);
			},
			onStatus: (status) => statuses.push(status.kind),
		});
		try {
			for (let i = 0; i < 5; i++) await write(i);
			await waitFor(() => seen.length >= 5, 20_000, () => `the first markers (seen ${seen.length}, statuses ${statuses.join(",")})`);
			proxy.cut();
			for (let i = 5; i < 10; i++) await write(i);
			await waitFor(() => seen.length >= 10, 30_000, () => `the markers written while disconnected (seen ${seen.length}, statuses ${statuses.join(",")})`);
			for (let i = 10; i < 12; i++) await write(i);
			await waitFor(() => seen.length >= 12, 20_000, () => `the markers after reconnecting (seen ${seen.length})`);
			assert.deepEqual(seen, Array.from({ length: 12 }, (_, i) => `${marker} ${i}`));
			assert.ok(statuses.includes("disconnected") && statuses.includes("reconnected"), statuses.join(","));
		} finally {
			controller.abort();
			await following;
			await target.close();
			await proxy.close();
		}
	});
});

async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}
