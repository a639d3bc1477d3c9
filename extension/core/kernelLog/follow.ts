import { type Target, cancelledError } from "../targets/target";
import { type KernelLogRecord, KmsgCursor, KmsgSplitter } from "./kmsg";
import { codedError } from "../util/errors";

// /dev/kmsg never reports end-of-log to a blocking reader, so a snapshot reads for a moment and stops;
// one read(2) per record also rules out shell `read`, which reads byte by byte and gets EINVAL.
const SNAPSHOT_SCRIPT = "cat /dev/kmsg & reader=$!; sleep 0.5; kill $reader 2>/dev/null; wait $reader 2>/dev/null; exit 0";

/** A kernel log that cannot be read at all (as opposed to a dropped connection, which is retried). */
export class KernelLogError extends codedError("kernel-log", "KernelLogError") {}

/** The kernel log records currently in the target's ring buffer, oldest first. */
export async function readKernelLog(target: Target, signal?: AbortSignal): Promise<KernelLogRecord[]> {
	const result = await target.run("sh", ["-c", SNAPSHOT_SCRIPT], { signal });
	if (result.code !== 0) throw new KernelLogError(`${target.description}: could not read /dev/kmsg: ${result.stderr.trim() || `exit ${result.code}`}`);
	const splitter = new KmsgSplitter();
	return [...splitter.push(result.stdout), ...splitter.end()];
}

export interface FollowOptions {
	signal: AbortSignal;
	/** Start after this sequence number (-1: the whole ring buffer). */
	afterSeq?: number;
	onRecords(records: KernelLogRecord[]): void;
	/** Told when the connection dropped and when records were lost while it was down. */
	onStatus?(status: { kind: "disconnected"; error: Error; retryInMs: number } | { kind: "reconnected"; lost: number }): void;
	/** Longest wait between reconnection attempts. */
	maxBackoffMs?: number;
}

/**
 * Follows the kernel log until the signal aborts, reconnecting after a dropped connection. Records are
 * delivered once each, in order: a reconnect replays the ring buffer and the cursor drops what was seen.
 */
export async function followKernelLog(target: Target, options: FollowOptions): Promise<void> {
	const cursor = new KmsgCursor();
	cursor.lastSeq = options.afterSeq ?? -1;
	let backoff = 250;
	let reconnecting = false;
	while (!options.signal.aborted) {
		const splitter = new KmsgSplitter();
		let sawData = false;
		// A record and its property lines come from one read(2) of /dev/kmsg, so a pause means the record is whole.
		let idle: NodeJS.Timeout | undefined;
		const deliver = (records: KernelLogRecord[]) => {
			const { fresh, lost } = cursor.accept(records);
			if (reconnecting && (fresh.length > 0 || records.length > 0)) {
				options.onStatus?.({ kind: "reconnected", lost });
				reconnecting = false;
			}
			if (fresh.length > 0) options.onRecords(fresh);
		};
		try {
			// A pty makes closing the channel end the remote cat, so nothing keeps reading after we stop.
			const result = await target.run("cat", ["/dev/kmsg"], {
				pty: true,
				buffer: false,
				signal: options.signal,
				onLine: (line) => {
					sawData = true;
					deliver(splitter.push(`${line.replace(/\r$/, "")}\n`));
					clearTimeout(idle);
					idle = setTimeout(() => deliver(splitter.end()), 50);
				},
			});
			clearTimeout(idle);
			deliver(splitter.end());
			if (options.signal.aborted) return;
			if (!sawData && result.code !== 0) {
				throw new KernelLogError(`${target.description}: cannot read /dev/kmsg (${(result.stderr || result.stdout).trim() || `exit ${result.code}`}); it needs root or CAP_SYSLOG`);
			}
			// The reader ended on its own (its session dropped): resume after the last record, as for any drop.
			throw new Error("the kernel log reader ended");
		} catch (error) {
			clearTimeout(idle);
			if (error instanceof KernelLogError) throw error;
			deliver(splitter.end());
			if (options.signal.aborted) return;
			if (sawData) backoff = 250;
			const retryInMs = backoff;
			options.onStatus?.({ kind: "disconnected", error: error instanceof Error ? error : new Error(String(error)), retryInMs });
			reconnecting = true;
			await delay(retryInMs, options.signal);
			backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 5000);
		}
	}
}

/**
 * Follows the kernel log from after `afterSeq` until a record for which `isLast` holds, and returns the records up
 * to and including it. Fails when the signal aborts first.
 */
export async function followUntil(target: Target, afterSeq: number, isLast: (record: KernelLogRecord) => boolean, signal: AbortSignal, onRecord?: (record: KernelLogRecord) => void): Promise<KernelLogRecord[]> {
	const found = new AbortController();
	const records: KernelLogRecord[] = [];
	await followKernelLog(target, {
		signal: AbortSignal.any([signal, found.signal]),
		afterSeq,
		onRecords: (batch) => {
			for (const record of batch) {
				if (found.signal.aborted) return;
				records.push(record);
				onRecord?.(record);
				if (isLast(record)) found.abort();
			}
		},
	});
	if (!found.signal.aborted) throw cancelledError(target.description, "following the kernel log");
	return records;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		const timer = setTimeout(resolve, ms);
		signal.addEventListener("abort", () => {
			clearTimeout(timer);
			resolve();
		}, { once: true });
	});
}
