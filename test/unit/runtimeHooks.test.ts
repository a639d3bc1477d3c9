import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type TestContext, before, describe, it } from "node:test";
import { installedHeaderVersions } from "../../extension/core/kmod/kernelHeaders";
import { checkNoFloatInstructions } from "../../extension/core/kmod/objectCheck";
import { tempDir } from "../support/cli";
import { gccMissing } from "../support/hostBuild";
import { HOOKS, type HookBuild, RUNTIME_DIR, buildHooks } from "../support/runtime/hooks/buildHooks";
import { type NetfilterPacket, TCP, UDP, features, verdict } from "../support/runtime/hooks/netfilterFeatures";
import { withSandbox } from "../support/sandbox";

const sandbox = withSandbox("runtimehooks");
const HARNESS = path.resolve(__dirname, "../support/runtime/hooks/hookHarness.c");

// One build per kernel tree: the VM's kernel is usually one of the lines built below.
const builds = new Map<string, Promise<HookBuild>>();
function buildOnce(kdir: string): Promise<HookBuild> {
	if (!builds.has(kdir)) builds.set(kdir, buildHooks(kdir, tempDir("hooks")));
	return builds.get(kdir)!;
}

/** Headers of one kernel line (6.1 = Debian 12, 6.12 = bookworm-backports), newest first, or undefined. */
function headersFor(line: string): string | undefined {
	return installedHeaderVersions().find((v) => v.startsWith(`${line}.`));
}

function bitsOf(values: Float32Array | number[]): string[] {
	const f = Float32Array.from(values);
	return Array.from(new Uint32Array(f.buffer), (w) => w.toString(16).padStart(8, "0"));
}

function hexOf(value: number): string {
	return bitsOf([value])[0];
}

/** Warning lines of a build that concern the hooks (knn_core's own warnings are its tests' business). */
function hookWarnings(build: HookBuild): string[] {
	const lines = HOOKS.flatMap((h) => build.output[h.folder].split("\n"));
	return lines.filter((l) => /warning/i.test(l)).filter((l) => build.withCore || !/modpost: "knn_core_\w+" \[.*\] undefined!/.test(l));
}

describe("knn_tcp and knn_nf build as out-of-tree modules", () => {
	for (const line of ["6.1", "6.12"]) {
		const kver = headersFor(line);
		const skip = kver ? false : `no /usr/src/linux-headers-${line}.*-amd64 (Debian: apt-get install linux-headers-${line === "6.1" ? "amd64" : "amd64/bookworm-backports"})`;
		it(`against ${line} headers: both hooks compile with no warning and no FP/SIMD instruction, and depend on knn_core`, { skip }, async () => {
			const build = await buildOnce(`/usr/src/linux-headers-${kver}`);
			assert.deepEqual(hookWarnings(build), [], Object.values(build.output).join("\n"));
			for (const hook of HOOKS) {
				const ko = build.modules[hook.name];
				assert.ok(fs.existsSync(ko), `${ko} was not built`);
				const report = await checkNoFloatInstructions(path.join(path.dirname(ko), `${hook.name}.o`));
				assert.deepEqual(report.floatInstructions, [], `${hook.name}.o is built without FPU flags and must not touch FP state`);
				const modinfo = spawnSync("modinfo", ["-F", "depends", ko], { encoding: "utf8" });
				if (build.withCore) assert.equal(modinfo.stdout.trim(), "knn_core", `${hook.name}: modinfo depends`);
				const license = spawnSync("modinfo", ["-F", "license", ko], { encoding: "utf8" });
				assert.equal(license.stdout.trim(), "GPL");
			}
			if (!build.withCore) console.log(`kmod/runtime/core has no Kbuild yet: the hooks were built with KBUILD_MODPOST_WARN=1 against ${kver}`);
		});
	}
});

describe("the hooks' integer float32 arithmetic, run in user space", { skip: gccMissing }, () => {
	let harness: string;
	before(() => {
		harness = path.join(tempDir("hook-harness"), "harness");
		const flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I", path.join(RUNTIME_DIR, "tcp"), "-I", path.join(RUNTIME_DIR, "netfilter"),
			"-I", path.join(RUNTIME_DIR, "..", "templates", "common")];
		const result = spawnSync("gcc", [...flags, HARNESS, "-o", harness], { encoding: "utf8" });
		assert.equal(result.status, 0, result.stderr);
	});

	function ask(requests: string[]): string[][] {
		const result = spawnSync(harness, { input: requests.join("\n") + "\n", encoding: "utf8" });
		assert.equal(result.status, 0, `harness exit ${result.status}: ${result.stderr}`);
		return result.stdout.trim().split("\n").map((l) => l.split(" "));
	}

	function nfRequest(p: NetfilterPacket): string {
		return `nf ${p.protocol} ${p.srcPort} ${p.dstPort} ${p.length} ${p.ttl} ${p.syn ? 1 : 0} ${Number(p.dstAddr.split(".")[3])}`;
	}

	it("knn_nf's features of a TCP SYN, a UDP datagram and an ICMP echo equal the table's closed forms, bit for bit", () => {
		const syn: NetfilterPacket = { protocol: TCP, srcPort: 40000, dstPort: 443, length: 60, ttl: 64, syn: true, dstAddr: "10.9.0.7" };
		const dns: NetfilterPacket = { protocol: UDP, srcPort: 53, dstPort: 65535, length: 1500, ttl: 255, syn: true, dstAddr: "192.168.1.255" };
		const ping: NetfilterPacket = { protocol: 1, srcPort: 1234, dstPort: 80, length: 84, ttl: 1, syn: true, dstAddr: "127.0.0.1" };
		const expected = [
			[1, 0, 40000 / 65536, 443 / 65536, 60 / 65536, 64 / 256, 1, 7 / 256],
			// UDP has no SYN: the flag is ignored
			[0, 1, 53 / 65536, 65535 / 65536, 1500 / 65536, 255 / 256, 0, 255 / 256],
			// neither TCP nor UDP: no ports and no SYN
			[0, 0, 0, 0, 84 / 65536, 1 / 256, 0, 1 / 256],
		];
		const kernel = ask([syn, dns, ping].map(nfRequest));
		expected.forEach((row, i) => assert.deepEqual(kernel[i], bitsOf(row), `packet ${i}`));
		assert.deepEqual([syn, dns, ping].map((p) => bitsOf(features(p))), expected.map((row) => bitsOf(row)), "the host helper");
	});

	it("knn_nf's features equal the host helper's for 500 random TCP, UDP and other packets", () => {
		let seed = 12345;
		const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
		const packets: NetfilterPacket[] = Array.from({ length: 500 }, () => ({
			protocol: [TCP, UDP, 1, 47][next(4)], srcPort: next(65536), dstPort: next(65536), length: 20 + next(65516),
			ttl: next(256), syn: next(2) === 1, dstAddr: `10.${next(256)}.${next(256)}.${next(256)}`,
		}));
		const kernel = ask(packets.map(nfRequest));
		packets.forEach((p, i) => assert.deepEqual(kernel[i], bitsOf(features(p)), JSON.stringify(p)));
	});

	it("knn_nf drops only when the drop score is strictly greater: ties, -0 against +0 and NaN accept", () => {
		const cases: [number, number][] = [[1, 2], [2, 1], [1, 1], [-0, 0], [0, -0], [-3, -2.5], [-1e-45, 0], [Number.NaN, 1], [1, Number.NaN], [-Infinity, 3.4e38]];
		const kernel = ask(cases.map(([a, d]) => `drop ${hexOf(a)} ${hexOf(d)}`));
		cases.forEach(([a, d], i) => {
			const drop = !Number.isNaN(a) && !Number.isNaN(d) && Math.fround(d) > Math.fround(a);
			assert.equal(kernel[i][0], drop ? "1" : "0", `accept ${a}, drop ${d}`);
			assert.equal(verdict([a, d]), drop ? "drop" : "accept", `the host helper on accept ${a}, drop ${d}`);
		});
	});

	it("knn_tcp's 9 inputs are Indigo's normalised features rounded to float32 and the one-hot of the previous action", () => {
		// delay ns, delivery bit/s, send bit/s, cwnd, previous action
		const cases: [number, number, number, number, number][] = [
			[1_234_567, 5_000_000, 0, 10, 4], [0, 0, 0, 2, 0], [200_000_000, 200_000_000, 400_000_000, 5000, 2],
			[17_000_001, 123_456_789_012, 987_654_321, 65535, 1], [3, 7, 11, 4_000_000_000, 3],
		];
		const kernel = ask(cases.map((c) => `tcpin ${c.join(" ")}`));
		cases.forEach(([delay, delivery, send, cwnd, prev], i) => {
			const expected = [delay / 200e6, delivery / 200e6, send / 200e6, cwnd / 5000, ...[0, 1, 2, 3, 4].map((a) => (a === prev ? 1 : 0))];
			assert.deepEqual(kernel[i], bitsOf(expected), `case ${i}`);
		});
	});

	it("knn_tcp picks the first of equal scores, treats -0 as +0, refuses NaN, and keeps cwnd within [2, min(clamp, 2^20)]", () => {
		const scores: [number[], number][] = [
			[[0.1, 0.2, 0.3, 0.3, 0.1], 2], [[-0, 0, -1, -2, -3], 0], [[-5, -4, -3, -2, -1], 4], [[1, Number.NaN, 0, 0, 0], -1], [[Number.NEGATIVE_INFINITY, -3.4e38, -3.4e38, -1e-45, -1e-45], 3],
		];
		const argmax = ask(scores.map(([s]) => `argmax ${s.map(hexOf).join(" ")}`));
		scores.forEach(([s, action], i) => assert.equal(Number(argmax[i][0]), action, s.join(" ")));
		// cwnd, action, clamp -> Indigo's "/2", "-10", "+0", "+10", "*2", at least 2, at most max(min(clamp, 2^20), 2):
		// the kernel's tcp_snd_cwnd_set() warns at a window of INT_MAX and above.
		const windows: [number, number, number, number][] = [
			[10, 0, 100, 5], [3, 0, 100, 2], [15, 1, 100, 5], [11, 1, 100, 2], [40, 2, 100, 40], [95, 3, 100, 100],
			[60, 4, 100, 100], [20, 4, 100, 40], [5, 3, 1, 2], [3_000_000_000, 4, 4_294_967_295, 1_048_576], [600_000, 4, 4_294_967_295, 1_048_576],
			[1_048_570, 3, 4_294_967_295, 1_048_576],
		];
		const next = ask(windows.map(([c, a, clamp]) => `cwnd ${c} ${a} ${clamp}`));
		windows.forEach(([c, a, clamp, expected], i) => assert.equal(Number(next[i][0]), expected, `cwnd ${c}, action ${a}, clamp ${clamp}`));
	});
});

/** key -> value of /proc/net/knn_tcp or knn_nf */
function counters(text: string): Record<string, number> {
	return Object.fromEntries(text.trim().split("\n").map((l) => l.split(" ")).filter((w) => w.length === 2).map(([k, v]) => [k, Number(v)]));
}

describe("knn_core, knn_tcp and knn_nf in the sandbox VM", () => {
	let build: HookBuild | undefined;
	let why: string | undefined;
	let dmesgStart = 0;

	/** Under CI a missing VM or core fails the test; elsewhere the test says why it did not run. */
	function ready(t: TestContext): boolean {
		const reason = sandbox.unavailable ?? why;
		if (!reason) return true;
		if (process.env.CI === "true") assert.fail(`CI=true and the runtime hooks cannot run in the VM: ${reason}`);
		t.skip(reason);
		return false;
	}

	async function vm(command: string, timeoutMs = 60_000): Promise<string> {
		const result = await sandbox.ssh(command, { timeoutMs });
		assert.equal(result.code, 0, `in the VM: ${command}\nexit ${result.code}\n${result.stdout}${result.stderr}`);
		return result.stdout;
	}

	before(async () => {
		if (sandbox.unavailable) return;
		const info = sandbox.info();
		if (!info.buildKdir) {
			why = `the sandbox has no kernel headers to build for ${info.kernelRelease}`;
			return;
		}
		build = await buildOnce(info.buildKdir);
		if (!build.withCore) {
			why = "kmod/runtime/core has no Kbuild yet: knn_core.ko cannot be built";
			return;
		}
		await vm("rmmod knn_nf 2>/dev/null; rmmod knn_tcp 2>/dev/null; rmmod knn_core 2>/dev/null; mkdir -p /tmp/knn-hooks");
		for (const [name, ko] of Object.entries(build.modules)) {
			const upload = await sandbox.ssh(`cat > /tmp/knn-hooks/${name}.ko`, { input: fs.readFileSync(ko) });
			assert.equal(upload.code, 0, upload.stderr);
		}
		dmesgStart = Number((await vm("dmesg | wc -l")).trim());
	});

	it("with knn_core loaded, knn_tcp adds the congestion control knn and knn_nf hooks no packet of the initial namespace", async (t) => {
		if (!ready(t)) return;
		await vm("insmod /tmp/knn-hooks/knn_core.ko && insmod /tmp/knn-hooks/knn_tcp.ko && insmod /tmp/knn-hooks/knn_nf.ko");
		const available = (await vm("cat /proc/sys/net/ipv4/tcp_available_congestion_control")).trim().split(/\s+/);
		assert.ok(available.includes("knn"), `tcp_available_congestion_control: ${available.join(" ")}`);
		// this very SSH session arrives in the initial namespace: init_netns=0 leaves it alone
		const nf = counters(await vm("cat /proc/net/knn_nf"));
		assert.equal(nf.hooked, 0);
		assert.equal(nf.packets, 0);
		assert.equal((await vm("cat /sys/module/knn_nf/parameters/init_netns")).trim(), "N");
	});

	it("a 4 MiB TCP transfer over loopback with tcp_congestion_control=knn completes with no model: every step falls back to Reno", async (t) => {
		if (!ready(t)) return;
		const before = counters(await vm("cat /proc/net/knn_tcp"));
		const bytes = 4 * 1024 * 1024;
		// the receiver's stdin stays open (sleep) so that it reads until the sender closes
		const out = await vm([
			"prev=$(cat /proc/sys/net/ipv4/tcp_congestion_control)", "sysctl -qw net.ipv4.tcp_congestion_control=knn",
			"(sleep 20 | nc -l -p 5001 | wc -c > /tmp/knn-hooks/received) > /dev/null 2>&1 & sleep 0.5",
			`dd if=/dev/zero bs=65536 count=${bytes / 65536} 2>/dev/null | timeout 30 nc 127.0.0.1 5001; sent=$?`,
			"sysctl -qw net.ipv4.tcp_congestion_control=$prev", "sleep 0.5", "echo sent $sent", "echo received $(cat /tmp/knn-hooks/received)",
		].join("; "), 90_000);
		assert.match(out, /^sent 0$/m);
		assert.match(out, new RegExp(`^received ${bytes}$`, "m"));
		const after = counters(await vm("cat /proc/net/knn_tcp"));
		const delta = (k: string) => after[k] - before[k];
		console.log(`knn_tcp over 4 MiB: ${delta("sockets")} sockets, ${delta("steps")} steps, ${delta("fallback_no_model")} fallbacks for no model, ${delta("decisions")} model decisions`);
		assert.ok(delta("sockets") >= 2, "both ends of the connection ran knn");
		assert.ok(delta("steps") > 0, "at least one 10 ms step");
		assert.equal(delta("fallback_no_model"), delta("steps"));
		assert.equal(delta("fallbacks"), delta("steps"));
		assert.equal(delta("decisions"), 0);
	});

	it("knn_nf hooks a new network namespace and, with no model, accepts its 3 pings and 3 replies, counting all 6 as failed open", async (t) => {
		if (!ready(t)) return;
		const out = await vm(`unshare -n sh -c 'ip link set lo up && ping -c 3 -W 2 127.0.0.1 > /dev/null && cat /proc/net/knn_nf'`);
		const nf = counters(out);
		assert.deepEqual({ hooked: nf.hooked, packets: nf.packets, failed_open: nf.failed_open, failed_no_model: nf.failed_no_model, scored: nf.scored, dropped: nf.dropped },
			{ hooked: 1, packets: 6, failed_open: 6, failed_no_model: 6, scored: 0, dropped: 0 });
	});

	it("both hooks unload during live traffic: knn_nf at once, knn_tcp once no socket and no default uses knn, with no WARNING in dmesg", async (t) => {
		if (!ready(t)) return;
		const out = await vm([
			"prev=$(cat /proc/sys/net/ipv4/tcp_congestion_control)", "sysctl -qw net.ipv4.tcp_congestion_control=knn",
			// zeros both ways on a loopback connection in this namespace (congestion control knn) ...
			"nc -l -p 5002 < /dev/zero > /dev/null 2>&1 & srv=$!", "sleep 0.5", "nc 127.0.0.1 5002 < /dev/zero > /dev/null 2>&1 & cli=$!", "sleep 1",
			"echo refs_open $(awk '$1==\"knn_tcp\" {print $3}' /proc/modules)",
			// ... and in a new namespace, through knn_nf's hook, while it unloads
			"unshare -n sh -c 'ip link set lo up; nc -l -p 5003 < /dev/zero > /dev/null 2>&1 & s=$!; sleep 0.5; nc 127.0.0.1 5003 < /dev/zero > /dev/null 2>&1 & c=$!; sleep 1; rmmod knn_nf; echo rmmod_nf $?; kill $s $c'",
			"rmmod knn_tcp 2>/dev/null; echo rmmod_tcp_in_use $?",
			"sysctl -qw net.ipv4.tcp_congestion_control=$prev", "kill $srv $cli",
			"for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do rmmod knn_tcp 2>/dev/null && break; sleep 0.25; done",
			"echo knn_tcp_loaded $(grep -c '^knn_tcp ' /proc/modules)", "rmmod knn_core; echo rmmod_core $?",
			"echo tainted $(cat /proc/sys/kernel/tainted)",
		].join("; "), 120_000);
		const words = Object.fromEntries(out.trim().split("\n").map((l) => l.split(" ")).filter((w) => w.length === 2));
		assert.ok(Number(words.refs_open) >= 3, `knn_tcp's refcount with the default and two sockets on it: ${out}`);
		assert.equal(words.rmmod_nf, "0", out);
		assert.notEqual(words.rmmod_tcp_in_use, "0", `rmmod knn_tcp must refuse while sockets use it: ${out}`);
		assert.equal(words.knn_tcp_loaded, "0", out);
		assert.equal(words.rmmod_core, "0", out);
		// D (128, oops) and W (512, warning) must not be set; O and E (out-of-tree, unsigned) are expected
		assert.equal(Number(words.tainted) & (128 | 512), 0, `taint ${words.tainted}`);
		const log = await vm(`dmesg | tail -n +${dmesgStart + 1}`);
		assert.doesNotMatch(log, /WARNING|BUG:|Oops|refcount_t|list_del corruption/, log);
	});
});
