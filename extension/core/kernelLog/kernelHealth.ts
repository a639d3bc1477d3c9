import type { Target } from "../targets/target";
import { readKernelLog } from "./follow";

/** One bit of /proc/sys/kernel/tainted (Documentation/admin-guide/tainted-kernels.rst). */
export interface TaintFlag {
	bit: number;
	letter: string;
	meaning: string;
}

const TAINT_FLAGS: readonly TaintFlag[] = [
	{ bit: 0, letter: "P", meaning: "proprietary module loaded" },
	{ bit: 1, letter: "F", meaning: "module force-loaded" },
	{ bit: 2, letter: "S", meaning: "kernel running on an out-of-specification system" },
	{ bit: 3, letter: "R", meaning: "module force-unloaded" },
	{ bit: 4, letter: "M", meaning: "machine check exception" },
	{ bit: 5, letter: "B", meaning: "bad page referenced or unexpected page flags" },
	{ bit: 6, letter: "U", meaning: "taint requested by user space" },
	{ bit: 7, letter: "D", meaning: "kernel died recently (oops or BUG)" },
	{ bit: 8, letter: "A", meaning: "ACPI table overridden" },
	{ bit: 9, letter: "W", meaning: "kernel issued a warning" },
	{ bit: 10, letter: "C", meaning: "staging driver loaded" },
	{ bit: 11, letter: "I", meaning: "platform firmware workaround applied" },
	{ bit: 12, letter: "O", meaning: "out-of-tree module loaded" },
	{ bit: 13, letter: "E", meaning: "unsigned module loaded" },
	{ bit: 14, letter: "L", meaning: "soft lockup occurred" },
	{ bit: 15, letter: "K", meaning: "kernel live-patched" },
	{ bit: 16, letter: "X", meaning: "auxiliary taint" },
	{ bit: 17, letter: "T", meaning: "built with the struct randomization plugin" },
	{ bit: 18, letter: "N", meaning: "in-kernel test run" },
	{ bit: 19, letter: "J", meaning: "fwctl mutating debug operation used" },
];

/** Loading any out-of-tree, unsigned module (ours included) sets these; they say nothing about damage. */
const EXPECTED_TAINT_BITS = new Set([12, 13]);

/** The flags set in a /proc/sys/kernel/tainted value; bits the table does not know are named by number. */
export function taintFlags(value: number): TaintFlag[] {
	const flags: TaintFlag[] = [];
	for (let bit = 0; bit < 32; bit++) {
		if (Math.floor(value / 2 ** bit) % 2 === 0) continue;
		flags.push(TAINT_FLAGS.find((f) => f.bit === bit) ?? { bit, letter: "?", meaning: `taint bit ${bit}` });
	}
	return flags;
}

/** The taint flags set in `after` but not in `before`, other than the out-of-tree and unsigned module ones. */
export function newTaints(before: number, after: number): TaintFlag[] {
	const had = new Set(taintFlags(before).map((f) => f.bit));
	return taintFlags(after).filter((f) => !had.has(f.bit) && !EXPECTED_TAINT_BITS.has(f.bit));
}

/** Parses the text of /proc/sys/kernel/tainted; undefined if it is not a decimal number. */
export function parseTainted(text: string): number | undefined {
	const trimmed = text.trim();
	return /^\d+$/.test(trimmed) ? Number(trimmed) : undefined;
}

// The first line of each report the kernel prints when something went wrong inside it.
const PROBLEM_PATTERNS: readonly RegExp[] = [
	/^BUG: /,
	/^kernel BUG at /,
	/^Oops: /,
	/^Internal error: Oops/,
	/^WARNING: CPU: \d+ PID: \d+ at /,
	/^general protection fault/,
	/^(Unable to handle|unable to handle) kernel /,
	/^(divide error|invalid opcode|stack segment|double fault): [0-9a-f]+ \[#\d+\]/,
	/^Kernel panic - not syncing/,
	/^watchdog: BUG: soft lockup/,
	/^INFO: task \S+ blocked for more than \d+ seconds/,
	/^INFO: rcu_\w+ (self-)?detected stall/,
	/^rcu: INFO: rcu_\w+ (self-)?detected stall/,
	/^UBSAN: /,
	/^list_(add|del) corruption/,
	/^stack-protector: Kernel stack is corrupted/,
];

/** The lines of a kernel log that start a report of an oops, BUG, WARNING, lockup or stall. */
export function kernelProblems(messages: readonly string[]): string[] {
	return messages.filter((message) => PROBLEM_PATTERNS.some((pattern) => pattern.test(message)));
}

/** What a deploy did to the target's kernel, judged from its taint flags and its log. */
export interface KernelHealth {
	/** No new problem was seen, and the kernel could be asked. */
	ok: boolean;
	taintedBefore?: number;
	taintedAfter?: number;
	/** Taint flags that appeared during the deploy (out-of-tree and unsigned module taints left out). */
	newTaints: TaintFlag[];
	/** The kernel log's oops, BUG and WARNING lines printed during the deploy. */
	problems: string[];
	/** Why the kernel could not be checked (it may have crashed). */
	error?: string;
	/** What was done about it, e.g. the sandbox VM restarted. */
	action?: string;
}

/** The state a health check compares with: taint flags and the kernel log's last sequence number. */
export interface KernelBaseline {
	tainted: number;
	lastSeq: number;
}

async function readTainted(target: Target, signal?: AbortSignal): Promise<number> {
	const result = await target.run("cat", ["/proc/sys/kernel/tainted"], { signal, timeoutMs: 30_000 });
	const value = parseTainted(result.stdout);
	if (result.code !== 0 || value === undefined) {
		throw new Error(`${target.description}: could not read /proc/sys/kernel/tainted (${result.stderr.trim() || `exit ${result.code}`})`);
	}
	return value;
}

export async function kernelBaseline(target: Target, signal?: AbortSignal): Promise<KernelBaseline> {
	const tainted = await readTainted(target, signal);
	const records = await readKernelLog(target, signal);
	return { tainted, lastSeq: records.length ? records[records.length - 1].seq : -1 };
}

/** Compares the kernel with its baseline; a kernel that cannot be asked any more is reported unhealthy. */
export async function checkKernelHealth(target: Target, baseline: KernelBaseline, signal?: AbortSignal): Promise<KernelHealth> {
	try {
		const tainted = await readTainted(target, signal);
		const records = (await readKernelLog(target, signal)).filter((r) => r.seq > baseline.lastSeq);
		const taints = newTaints(baseline.tainted, tainted);
		const problems = kernelProblems(records.map((r) => r.message));
		return { ok: taints.length === 0 && problems.length === 0, taintedBefore: baseline.tainted, taintedAfter: tainted, newTaints: taints, problems };
	} catch (error) {
		return { ok: false, taintedBefore: baseline.tainted, newTaints: [], problems: [], error: error instanceof Error ? error.message : String(error) };
	}
}

/** One line for a report: what is wrong with the kernel, or that nothing is. */
export function describeKernelHealth(health: KernelHealth): string {
	if (health.ok) return "no new oops, BUG, WARNING or taint";
	const parts: string[] = [];
	if (health.error) parts.push(`could not be checked: ${health.error}`);
	if (health.newTaints.length > 0) parts.push(`new taint ${health.newTaints.map((f) => `${f.letter} (${f.meaning})`).join(", ")}`);
	if (health.problems.length > 0) parts.push(`${health.problems.length} report(s) in the kernel log, first "${health.problems[0]}"`);
	return parts.join("; ");
}
