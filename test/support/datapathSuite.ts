import assert from "node:assert/strict";
import { type TestContext, before, describe, it } from "node:test";
import { debugBootOptions } from "../../extension/core/sandbox/debugOptions";
import { makeTensor } from "../../extension/core/graph/tensor";
import { tempDir } from "./cli";
import { type ModelFiles, type Packet, lstmTcpPolicy, nanTcpPolicy, packetFeatures, trainedPacketClassifier } from "./datapathModels";
import { Datapath, assertNoStall, installedRelease, kernelConfig } from "./datapathScenario";
import { runOrt } from "./ortOracle";
import { withSandbox } from "./sandbox";
import { type GuestShell, NETNS, limitRate, runUdpProbe, setupNetns, startIperf, startIperfServer } from "./traffic";

// knn_core on one kernel, booted with every memory debug check that kernel has (SLUB debugging, KFENCE, page
// poisoning, debug_pagealloc where configured): models deployed into the tcp application while an
// iperf3 flow runs through it, a NaN model taken out by the guard, 1,000 swaps under traffic, and the netfilter
// application dropping the packets its model says to drop.

const SWAPS = 1000;
const UDP: Omit<Packet, "dstPort"> = { protocol: "udp", srcPort: 40000, length: 0, ttl: 64, syn: false, dstOctet: 2 };

/**
 * The whole datapath story on one kernel series ("6.1.", "6.12."): one VM booted with every memory debug check its
 * config has. A machine without that series' headers runs the suite on the default kernel and says so.
 */
export function describeDatapath(series: string): void {
	const RELEASE = installedRelease(series);
	const DEBUG = RELEASE ? debugBootOptions(kernelConfig(RELEASE)) : { append: [], checks: [] };
	const sandbox = withSandbox(`datapath-${series.replace(/\W/g, "")}`, { kernelRelease: RELEASE, append: DEBUG.append, memoryMiB: 1024, bootTimeoutMs: 180_000 });
	const dp = new Datapath(sandbox);

	/** Under CI a sandbox that cannot start fails the test; elsewhere the test says why it did not run. */
	function needSandbox(t: TestContext): boolean {
		if (process.env.CI === "true" && !RELEASE) assert.fail(`CI=true and no ${series}x kernel headers are installed: scripts/setup.sh installs them`);
		if (!sandbox.unavailable) return true;
		if (process.env.CI === "true") assert.fail(`CI=true and the sandbox VM did not start: ${sandbox.unavailable}`);
		t.skip(sandbox.unavailable);
		return false;
	}

	describe(`knn_core in the sandbox VM on ${RELEASE ?? `the default kernel (no ${series}x headers here)`}, under real traffic`, () => {
		let sh: GuestShell;
		const models: Record<string, ModelFiles> = {};
		const ids: Record<string, number> = {};

		before(async () => {
			const dir = tempDir("datapath");
			models.lstmA = lstmTcpPolicy(dir, "lstm_a", 2024);
			models.lstmB = lstmTcpPolicy(dir, "lstm_b", 7);
			models.lstmC = lstmTcpPolicy(dir, "lstm_c", 11);
			models.nan = nanTcpPolicy(dir, "nan_policy");
			models.classifier = trainedPacketClassifier(dir, "packets", UDP);
			if (sandbox.unavailable) return;
			console.log(`debug checks of this kernel:\n  ${DEBUG.checks.join("\n  ")}`);
			sh = (command, options) => sandbox.ssh(command, options);
			await setupNetns(sh);
			await limitRate(sh, "20mbit");
			await startIperfServer(sh);
		});

		it("knn runtime install loads knn_core with the tcp and netfilter applications, each with no model", async (t) => {
			if (!needSandbox(t)) return;
			const result = await dp.install();
			console.log(`knn runtime install: ${Math.round(result.ms)} ms`);
			const apps = await dp.status();
			for (const name of ["tcp", "netfilter"]) {
				const app = apps.find((a) => a.app === name);
				assert.ok(app, `status lists no ${name} application: ${JSON.stringify(apps)}`);
				assert.equal(app.activeId, 0);
				assert.equal(app.slots.length, 0);
			}
			assert.deepEqual((await dp.app("tcp")).inputBytes, 36);
		});

		it("a model deployed into tcp while an iperf3 flow runs on it is activated: its inferences rise, 0 errors, no interval without throughput", async (t) => {
			if (!needSandbox(t)) return;
			ids.a = (await dp.deploy(models.lstmA, "tcp", "tcp_a")).runtime.modelId;
			// Long enough to outlast B's whole deploy (compile, build, load, self-test, compare) on a busy 2-core machine.
			const flow = startIperf(sh, { seconds: 90, congestion: "knn" });
			const first = await dp.waitFor("tcp", "model A infers", (s) => (s.slots.find((x) => x.modelId === ids.a)?.inferences ?? 0) > 20, 30_000);
			assert.equal(first.activeId, ids.a);
			const deployed = await dp.deploy(models.lstmB, "tcp", "tcp_b");
			ids.b = deployed.runtime.modelId;
			const before = await dp.slot("tcp", ids.b);
			const after = await dp.waitFor("tcp", "model B's inferences rise under traffic",
				(s) => (s.slots.find((x) => x.modelId === ids.b)?.inferences ?? 0) > before.inferences + 20, 20_000);
			const b = after.slots.find((s) => s.modelId === ids.b);
			assert.ok(b);
			assert.equal(after.activeId, ids.b, "the new model is the active one");
			assert.equal(b.errors, 0, "no inference errors on the new model");
			assert.ok(after.slots.some((s) => s.modelId === ids.a && !s.active), "the previous model stays resident in the other slot");
			const result = await flow.result;
			assert.equal(result.congestion, "knn");
			assertNoStall(result.intervals, "the flow across the swap");
			console.log(`tcp: A ${ids.a} -> B ${ids.b} under traffic; B ${b.inferences} inferences, p50 ${b.latencyP50Ns} ns, p99 ${b.latencyP99Ns} ns; `
				+ `flow ${result.intervals.map((bps) => (bps / 1e6).toFixed(1)).join(" ")} Mbit/s`);
		});

		it("a model whose outputs turn NaN, activated under traffic, is rolled back by the guard on its own: the event is in knn runtime stream and in status", async (t) => {
			if (!needSandbox(t)) return;
			const stream = dp.stream("tcp");
			const flow = startIperf(sh, { seconds: 40, congestion: "knn" });
			await new Promise((resolve) => setTimeout(resolve, 2000));
			ids.nan = (await dp.deploy(models.nan, "tcp", "tcp_nan")).runtime.modelId;
			const status = await dp.waitFor("tcp", "the guard rolled back to B", (s) => s.activeId === ids.b, 20_000);
			const bad = status.slots.find((s) => s.modelId === ids.nan);
			assert.ok(bad, "the failed model stays in its slot");
			assert.equal(bad.failed, "nan");
			assert.ok(bad.rollbacks >= 1, `the failed model counts its rollback: ${bad.rollbacks}`);
			await new Promise((resolve) => setTimeout(resolve, 2000));
			const lines = await stream.stop();
			const guard = lines.find((l) => l.kind === "event" && l.event === "guard");
			assert.ok(guard && guard.kind === "event", `knn runtime stream shows the guard's rollback: ${JSON.stringify(lines.filter((l) => l.kind === "event"))}`);
			assert.equal(guard.reason, "nan");
			assert.equal(guard.fromId, ids.nan);
			assert.equal(guard.toId, ids.b);
			const activated = lines.find((l) => l.kind === "event" && l.event === "activate" && l.toId === ids.nan);
			assertNoStall((await flow.result).intervals, "the flow across the guard's rollback");
			const inWindow = bad.inferences + bad.errors;
			console.log(`guard: model ${ids.nan} (NaN) rolled back to ${ids.b} after ${bad.errors} bad outputs of ${inWindow} calls`
				+ `${activated?.kind === "event" && guard.kind === "event" ? `, ${guard.timeMs - activated.timeMs} ms after activation` : ""}; `
				+ `${lines.filter((l) => l.kind === "record").length} records streamed`);
		});

		it(`${SWAPS} swaps between two models under traffic: no warning, oops or memory debug report in the kernel log, no stalled interval, 0 errors`, async (t) => {
			if (!needSandbox(t)) return;
			ids.c = (await dp.deploy(models.lstmC, "tcp", "tcp_c")).runtime.modelId;
			// C went into the standby slot; the swaps alternate between it and the model in the other slot.
			const other = (await dp.app("tcp")).slots.find((s) => s.modelId !== ids.c);
			assert.ok(other && other.failed === "none", `the tcp application's other slot holds a healthy model: ${JSON.stringify(other)}`);
			ids.b = other.modelId;
			const flow = startIperf(sh, { seconds: 45, congestion: "knn" });
			await new Promise((resolve) => setTimeout(resolve, 2000));
			const tool = "/tmp/knn/runtime/knn-channel";
			const loop = await sh([
				"set -e", `start=$(cut -d' ' -f1 /proc/uptime)`, "i=0",
				`while [ $i -lt ${SWAPS} ]; do if [ $((i % 2)) -eq 0 ]; then id=${ids.b}; else id=${ids.c}; fi; ${tool} activate --app tcp --model $id > /tmp/knn-swap.out || { echo "swap $i to model $id: $(cat /tmp/knn-swap.out)" >&2; exit 1; }; i=$((i + 1)); done`,
				`end=$(cut -d' ' -f1 /proc/uptime)`, "echo $start $end",
			].join("\n"), { timeoutMs: 600_000 });
			assert.equal(loop.code, 0, `the swap loop failed: ${loop.stderr}`);
			const [start, end] = loop.stdout.trim().split(" ").map(Number);
			const result = await flow.result;
			assertNoStall(result.intervals, "the flow during the swaps");
			const status = await dp.app("tcp");
			for (const id of [ids.b, ids.c]) {
				const slot = status.slots.find((s) => s.modelId === id);
				assert.ok(slot, `model ${id} is still in a slot`);
				assert.equal(slot.errors, 0, `model ${id} had no inference errors`);
				assert.ok(slot.inferences > 0);
			}
			assert.equal(status.activeId, SWAPS % 2 === 0 ? ids.c : ids.b);
			assert.deepEqual(await dp.kernelProblems(), [], "the kernel log has no warning, oops or debug report");
			console.log(`${SWAPS} swaps in ${(end - start).toFixed(2)} s of guest time: ${(((end - start) / SWAPS) * 1e3).toFixed(2)} ms per activate command (tool start, netlink round trip and the swap), `
				+ `flow ${result.intervals.map((bps) => (bps / 1e6).toFixed(1)).join(" ")} Mbit/s`);
		});

		it("the netfilter application drops exactly the packets its trained model says to drop: the receiver's and the kernel's counts agree with onnxruntime", async (t) => {
			if (!needSandbox(t)) return;
			const candidates = [2000, 3000, 4000, 5000, 5500, 6500, 7000, 8000, 9000, 10000];
			const decisions = new Map<number, boolean>();
			for (const port of candidates) {
				const features = packetFeatures({ ...UDP, dstPort: port });
				const scores = (await runOrt(models.classifier.bytes, { features: makeTensor("float32", [1, 8], features) })).scores.data as Float32Array;
				// Only ports far from the boundary: summation order may move a score by an ulp, never by this much.
				if (Math.abs(scores[1] - scores[0]) > 1e-3) decisions.set(port, scores[1] > scores[0]);
			}
			const ports = [...decisions.keys()];
			assert.ok([...decisions.values()].filter((d) => d).length >= 2 && [...decisions.values()].filter((d) => !d).length >= 2,
				`the trained model should drop some ports and accept others: ${JSON.stringify([...decisions])}`);
			await dp.deploy(models.classifier, "netfilter", "nf_packets");
			const counters = async () => Object.fromEntries((await sh(`${"/usr/local/sbin/ip"} netns exec ${NETNS.server.ns} cat /proc/net/knn_nf`)).stdout.trim().split("\n")
				.map((line) => line.split(" ")).map(([k, v]) => [k, Number(v)])) as Record<string, number>;
			const before = await counters();
			const count = 50;
			const probe = await runUdpProbe(sh, { ports, count, sourcePort: UDP.srcPort, seconds: 30 });
			const after = await counters();
			let expectedDrops = 0;
			for (const port of ports) {
				assert.equal(probe.sent[port], count, `udpprobe sent ${count} datagrams to ${port}`);
				const drop = decisions.get(port) as boolean;
				if (drop) expectedDrops += count;
				assert.equal(probe.received[port], drop ? 0 : count, `port ${port}: onnxruntime says ${drop ? "drop" : "accept"}`);
			}
			assert.equal(after.dropped - before.dropped, expectedDrops, "the kernel counted the same drops");
			assert.equal(after.failed_open - before.failed_open, 0, "no packet was let through for a failed inference");
			console.log(`netfilter: ${ports.length} ports x ${count} datagrams, ${expectedDrops} dropped as onnxruntime predicts (${JSON.stringify(Object.fromEntries(decisions))})`);
		});

		it("every model module, the hooks and knn_core unload afterwards, leaving a clean kernel log", async (t) => {
			if (!needSandbox(t)) return;
			const unload = await sh("pkill -f 'iperf3 -c' ; sleep 1; for m in tcp_a tcp_b tcp_nan tcp_c nf_packets knn_nf knn_tcp knn_core; do rmmod $m || exit 1; done; cat /proc/modules | cut -d' ' -f1");
			assert.equal(unload.code, 0, `rmmod failed: ${unload.stderr}`);
			assert.ok(!/knn_/.test(unload.stdout), `still loaded: ${unload.stdout}`);
			assert.deepEqual(await dp.kernelProblems(), []);
		});
	});
}
