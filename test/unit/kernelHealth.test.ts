import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkKernelHealth, describeKernelHealth, kernelBaseline, kernelProblems, newTaints, parseTainted, taintFlags } from "../../extension/core/kernelLog/kernelHealth";
import { StageTimeoutError, selftestTimeout, withTimeout } from "../../extension/core/deploy/stageTimeouts";
import type { RunResult, Target } from "../../extension/core/targets/target";
import { hasCode } from "../../extension/core/util/errors";

// Kernel log lines as reported in public bug reports (timestamps and syslog prefixes removed, as /dev/kmsg gives them).
const OOPS_REPORT = [
	"mcp2210_init",
	"mcp2210_probe",
	"BUG: unable to handle kernel NULL pointer dereference at 00000000000000d8",
	"IP: [<ffffffff81471251>] __dev_printk+0x11/0x90",
	"PGD 0 ",
	"Oops: 0000 [#1] SMP ",
	"CPU: 0 PID: 2934 Comm: insmod Tainted: PF          O 3.11.0-14-generic #",
];
const WARNING_REPORT = [
	"writing to auto_msgmni has no effect",
	"------------[ cut here ]------------",
	"refcount_t hit zero at __nft_mt_tg_destroy+0x20/0x30 [nft_compat] in kworker/u4:4[103], uid/euid: 0/0",
	"WARNING: CPU: 1 PID: 103 at kernel/panic.c:677 refcount_error_report+0x9b/0xab",
	"Modules linked in: nft_counter xt_mark nft_compat nf_tables",
];
const ORDINARY = [
	"indigo: loading out-of-tree module taints kernel.",
	"indigo: module verification failed: signature and/or required key missing - tainting kernel",
	"knn-selftest indigo step=0 result=0 offset=0 count=2 bits=3e290d6b,bf800000 values=1.6509025e-01,-1.0000000e+00",
	"knn-selftest indigo done steps=10 status=0",
	"CPU: 64 PID: 1 Comm: swapper/0 Not tainted 5.15.0-56-generic #62-Ubuntu",
];

describe("kernel health after a deploy: taint flags and oops reports", () => {
	it("reads /proc/sys/kernel/tainted as the documented flags: 512 is W, 64 is U, P with O is 4097", () => {
		assert.deepEqual(taintFlags(512).map((f) => f.letter), ["W"]);
		assert.deepEqual(taintFlags(64).map((f) => f.letter), ["U"]);
		assert.deepEqual(taintFlags(4097).map((f) => f.letter), ["P", "O"]);
		assert.deepEqual(taintFlags(0), []);
		assert.equal(taintFlags(2 ** 30)[0].meaning, "taint bit 30");
		assert.equal(parseTainted("12288\n"), 12288);
		assert.equal(parseTainted("cat: /proc/sys/kernel/tainted: No such file"), undefined);
	});

	it("loading an out-of-tree unsigned module (O and E) is no damage; a new D or W is, and one set before the deploy is not new", () => {
		assert.deepEqual(newTaints(0, 4096 + 8192), []);
		assert.deepEqual(newTaints(4096 + 8192, 4096 + 8192 + 128).map((f) => f.letter), ["D"]);
		assert.deepEqual(newTaints(0, 512 + 4096).map((f) => f.letter), ["W"]);
		assert.deepEqual(newTaints(512, 512), []);
	});

	it("finds the first line of an oops, a BUG and a WARNING in real reports, and nothing in a module's ordinary lines", () => {
		assert.deepEqual(kernelProblems(OOPS_REPORT), [
			"BUG: unable to handle kernel NULL pointer dereference at 00000000000000d8",
			"Oops: 0000 [#1] SMP ",
		]);
		assert.deepEqual(kernelProblems(WARNING_REPORT), ["WARNING: CPU: 1 PID: 103 at kernel/panic.c:677 refcount_error_report+0x9b/0xab"]);
		assert.deepEqual(kernelProblems([
			"kernel BUG at mm/slub.c:415!",
			"watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [stoptest:123]",
			"INFO: task insmod:123 blocked for more than 120 seconds.",
			"general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI",
		]).length, 4);
		assert.deepEqual(kernelProblems(ORDINARY), []);
	});

	it("compares the target's taint and the log records printed since the baseline, and reports a target that cannot be asked as unhealthy", async () => {
		const state = { tainted: "0\n", log: ORDINARY.slice(0, 2).map((m, i) => `6,${i + 1},1000,-;${m}`), failing: false };
		const target = fakeTarget(state);
		const baseline = await kernelBaseline(target);
		assert.deepEqual(baseline, { tainted: 0, lastSeq: 2 });
		state.tainted = `${4096 + 8192}\n`;
		assert.equal((await checkKernelHealth(target, baseline)).ok, true);

		state.tainted = `${4096 + 8192 + 128 + 512}\n`;
		state.log.push(...[...OOPS_REPORT, ...WARNING_REPORT].map((m, i) => `4,${i + 3},2000,-;${m}`));
		const damaged = await checkKernelHealth(target, baseline);
		assert.equal(damaged.ok, false);
		assert.deepEqual(damaged.newTaints.map((f) => f.letter), ["D", "W"]);
		assert.equal(damaged.problems.length, 3);
		assert.match(describeKernelHealth(damaged), /new taint D \(kernel died recently \(oops or BUG\)\), W .*3 report\(s\) in the kernel log, first "BUG: unable to handle/);

		state.failing = true;
		const unreachable = await checkKernelHealth(target, baseline);
		assert.equal(unreachable.ok, false);
		assert.match(unreachable.error ?? "", /could not read \/proc\/sys\/kernel\/tainted/);
	});
});

describe("deploy stage timeouts", () => {
	it("fail with a timeout-coded error naming the stage, its limit and why, and abort the work's signal", async () => {
		let aborted = false;
		const never = (signal: AbortSignal) => new Promise<never>(() => signal.addEventListener("abort", () => (aborted = true)));
		await assert.rejects(withTimeout("the self-test stage", 50, undefined, never, "30 s + 5 ms per step for 3 steps"),
			(error: Error) => error instanceof StageTimeoutError && hasCode(error, "timeout") && error.message === "the self-test stage did not finish within 50 ms (30 s + 5 ms per step for 3 steps)");
		assert.ok(aborted);
		assert.equal(await withTimeout("quick", 1000, undefined, async () => 7), 7);
	});

	it("give the self-test 30 s plus 5 ms a step: 1,000,000 steps get 5,030 s", () => {
		assert.equal(selftestTimeout(1_000_000).ms, 5_030_000);
		assert.equal(selftestTimeout(10, 100_000).ms, 530_050);
	});
});

/** A target that answers the two commands the health check runs from `state`. */
function fakeTarget(state: { tainted: string; log: string[]; failing: boolean }): Target {
	const result = (stdout: string, code = 0): RunResult => ({ code, stdout, stderr: code ? "connection lost" : "" });
	return {
		description: "fake",
		async run(command, args) {
			if (state.failing) return result("", 255);
			if (command === "cat" && args[0] === "/proc/sys/kernel/tainted") return result(state.tainted);
			if (command === "sh") return result(state.log.map((l) => `${l}\n`).join(""));
			throw new Error(`unexpected command ${command} ${args.join(" ")}`);
		},
		async upload() {},
		async download() {},
		async close() {},
		dispose() {},
	};
}
