import assert from "node:assert/strict";
import { type TestContext, before, describe, it } from "node:test";
import { type GuestShell, clearRate, limitRate, parseIperfJson, runIperf, runUdpProbe, setupNetns, startIperfServer } from "../support/traffic";
import { withSandbox } from "../support/sandbox";

describe("iperf3's JSON as the traffic helpers read it", () => {
	it("takes per-interval throughput and the sender's congestion control, and surfaces iperf3's own error", () => {
		const json = {
			intervals: [{ sum: { bits_per_second: 1.5e6 } }, { sum: { bits_per_second: 2e6 } }],
			end: { sum_sent: { bits_per_second: 1.75e6, retransmits: 3 }, sum_received: { bits_per_second: 1.7e6 }, sender_tcp_congestion: "cubic" },
		};
		assert.deepEqual(parseIperfJson(JSON.stringify(json)), {
			intervals: [1.5e6, 2e6], congestion: "cubic", senderBitsPerSecond: 1.75e6, receiverBitsPerSecond: 1.7e6, retransmits: 3,
		});
		assert.throws(() => parseIperfJson(JSON.stringify({ error: "unable to connect to server: Connection refused" })), /iperf3: unable to connect/);
		assert.throws(() => parseIperfJson("iperf3: parameter error"), /printed no JSON/);
	});
});

describe("real traffic between two network namespaces inside the sandbox VM", () => {
	const sandbox = withSandbox("traffic");
	const sh: GuestShell = (command, options) => sandbox.ssh(command, options);
	const ready = (t: TestContext): boolean => {
		if (!sandbox.unavailable) return true;
		if (process.env.CI === "true") assert.fail(`CI=true and the sandbox VM did not start: ${sandbox.unavailable}`);
		t.skip(sandbox.unavailable);
		return false;
	};

	before(async () => {
		if (sandbox.unavailable) return;
		// Twice: the second run must find everything in place and change nothing.
		await setupNetns(sh);
		await setupNetns(sh);
		await startIperfServer(sh);
	});

	it("joins knn-a (10.77.0.1) and knn-b (10.77.0.2) with a veth pair that passes pings", async (t) => {
		if (!ready(t)) return;
		const ping = await sandbox.ssh("/usr/local/sbin/ip netns exec knn-a ping -c 2 -W 5 10.77.0.2");
		assert.equal(ping.code, 0, ping.stdout + ping.stderr);
		assert.match(ping.stdout, /2 packets transmitted, 2 (packets )?received/);
	});

	it("a 5 s iperf3 flow with cubic moves data in every 1 s interval and reports cubic as its congestion control", async (t) => {
		if (!ready(t)) return;
		const result = await runIperf(sh, { seconds: 5, congestion: "cubic" });
		t.diagnostic(`Mbit/s per interval: ${result.intervals.map((b) => (b / 1e6).toFixed(1)).join(" ")}; retransmits ${result.retransmits}`);
		assert.equal(result.intervals.length, 5);
		for (const [i, bits] of result.intervals.entries()) assert.ok(bits > 0, `interval ${i} moved nothing`);
		assert.equal(result.congestion, "cubic");
		assert.ok(result.receiverBitsPerSecond > 0);
	});

	it("a 20mbit token bucket on knn-a caps what knn-b receives at 20 Mbit/s", async (t) => {
		if (!ready(t)) return;
		await limitRate(sh, "20mbit");
		try {
			const result = await runIperf(sh, { seconds: 3, congestion: "cubic" });
			t.diagnostic(`received ${(result.receiverBitsPerSecond / 1e6).toFixed(1)} Mbit/s under the limit`);
			// tbf's rate is exact; the 32 kB bucket adds at most 256 kbit over the whole flow.
			assert.ok(result.receiverBitsPerSecond > 0);
			assert.ok(result.receiverBitsPerSecond <= 20e6 * 1.05, `${result.receiverBitsPerSecond} bit/s exceeds 20 Mbit/s`);
		} finally {
			await clearRate(sh);
		}
	});

	it("udpprobe: every datagram sent from knn-a to three ports of knn-b arrives, counted per port", async (t) => {
		if (!ready(t)) return;
		const ports = [5001, 5002, 5003];
		const { sent, received } = await runUdpProbe(sh, { ports, count: 300 });
		assert.deepEqual(sent, { 5001: 300, 5002: 300, 5003: 300 });
		assert.deepEqual(received, sent);
	});
});
