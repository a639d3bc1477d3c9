import { formatDuration } from "../targets/target";
import { codedError } from "../util/errors";

/** A deploy stage that ran past its time; the deploy has already unloaded what it loaded. */
export class StageTimeoutError extends codedError("timeout", "StageTimeoutError") {}

/**
 * How long each stage that waits on the target or on a tool may take. compile, write module project and compare
 * run here, synchronously: the memory budget bounds them, a timer could not interrupt them.
 */
export const STAGE_TIMEOUTS_MS: Readonly<Record<string, number>> = {
	"target kernel": 60_000,
	build: 20 * 60_000,
	upload: 5 * 60_000,
	"check no FPU": 2 * 60_000,
	"check vermagic": 60_000,
	load: 2 * 60_000,
	keep: 60_000,
	unload: 2 * 60_000,
};

/** How long rmmod may take while putting the target back: it waits for the running self-test step to end. */
export const UNLOAD_TIMEOUT_MS = 60_000;

/** The most steps a deploy asks of the module: the self-test template's default max_steps. */
export const MAX_DEPLOY_STEPS = 1_000_000;

// The self-test prints every result of every step through printk: a second per 200 steps covers a slow VM (TCG).
const SELFTEST_BASE_MS = 30_000;
const SELFTEST_MS_PER_STEP = 5;

/** The self-test stage's default timeout for a number of steps, and how it was reckoned, for messages. */
export function selftestTimeout(steps: number, benchCalls = 0): { ms: number; reckoning: string } {
	const ms = SELFTEST_BASE_MS + SELFTEST_MS_PER_STEP * (steps + benchCalls);
	return { ms, reckoning: `${SELFTEST_BASE_MS / 1000} s + ${SELFTEST_MS_PER_STEP} ms per step${benchCalls ? " and benchmark call" : ""}` };
}

/**
 * Runs work with a signal that aborts when the parent does or when timeoutMs passes; on expiry it fails with a
 * StageTimeoutError saying what ran out of time, whether or not work honours the signal.
 */
export async function withTimeout<T>(what: string, timeoutMs: number | undefined, parent: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>, hint = ""): Promise<T> {
	const controller = new AbortController();
	const signal = parent ? AbortSignal.any([parent, controller.signal]) : controller.signal;
	if (timeoutMs === undefined) return work(signal);
	let timer: NodeJS.Timeout | undefined;
	const expired = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			controller.abort();
			reject(new StageTimeoutError(`${what} did not finish within ${formatDuration(timeoutMs)}${hint ? ` (${hint})` : ""}`));
		}, timeoutMs);
	});
	try {
		return await Promise.race([work(signal), expired]);
	} finally {
		clearTimeout(timer);
	}
}
