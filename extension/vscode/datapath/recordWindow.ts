// The statistics the Datapath panel shows: record rate, latency percentiles and histograms of the last N seconds of
// the stream, and the inference counter's rate between two status reads. No `vscode` here.
import type { AppStatus, ChannelLine } from "../../core/runtime/types";

type RecordLine = Extract<ChannelLine, { kind: "record" }>;

export interface Histogram {
	/** The lowest and highest finite value seen; the bins split [lo, hi] evenly. */
	lo: number;
	hi: number;
	counts: number[];
	/** NaN and ±Inf values, which have no bin. */
	nonFinite: number;
	total: number;
}

/**
 * The nearest-rank percentile of values sorted ascending: the smallest value with at least p% of the values at or
 * below it. NaN for no values.
 */
export function percentile(sorted: readonly number[], p: number): number {
	if (sorted.length === 0) return NaN;
	const rank = Math.ceil((Math.min(100, Math.max(0, p)) / 100) * sorted.length);
	return sorted[Math.max(0, rank - 1)];
}

/** Counts values into `bins` equal bins between their finite minimum and maximum; the maximum goes in the last bin. */
export function histogram(values: Iterable<number>, bins: number): Histogram {
	const finite: number[] = [];
	let nonFinite = 0;
	for (const value of values) {
		if (Number.isFinite(value)) finite.push(value);
		else nonFinite++;
	}
	const total = finite.length + nonFinite;
	if (finite.length === 0) return { lo: NaN, hi: NaN, counts: [], nonFinite, total };
	let lo = Infinity;
	let hi = -Infinity;
	for (const value of finite) {
		if (value < lo) lo = value;
		if (value > hi) hi = value;
	}
	// One value (or all equal) needs one bin: an even split of an empty range means nothing.
	const count = lo === hi ? 1 : Math.max(1, Math.floor(bins));
	const counts = new Array<number>(count).fill(0);
	const width = (hi - lo) / count;
	for (const value of finite) counts[lo === hi ? 0 : Math.min(count - 1, Math.floor((value - lo) / width))]++;
	return { lo, hi, counts, nonFinite, total };
}

/** The rate of a monotonic counter between successive reads; undefined for the first read and after a reset. */
export class CounterRate {
	private last: { value: number; atMs: number } | undefined;

	update(value: number, atMs: number): number | undefined {
		const previous = this.last;
		this.last = { value, atMs };
		// A smaller total means a model left its slot or knn_core was reloaded: no rate across that.
		if (!previous || value < previous.value || atMs <= previous.atMs) return undefined;
		return ((value - previous.value) * 1000) / (atMs - previous.atMs);
	}
}

/** Inferences of an application: the sum over its slots. */
export function appInferences(app: AppStatus): number {
	return app.slots.reduce((sum, slot) => sum + slot.inferences, 0);
}

export interface RecordWindowSnapshot {
	windowSeconds: number;
	/** Records that arrived per second over the window (or since the stream started, when that is shorter). */
	recordsPerSecond: number;
	/** Records the window holds (the newest, at most the window's capacity). */
	records: number;
	/** Records the kernel reported lost in the window. */
	dropped: number;
	latency: { p50Ns: number; p99Ns: number; maxNs: number; histogram: Histogram };
	/** One histogram per output index, at most `maxOutputs`; `outputCount` says how many the records have. */
	outputs: Histogram[];
	outputCount: number;
	/** Records per model id in the window, for a panel that shows a swap happening. */
	perModel: { modelId: number; records: number }[];
}

interface Kept {
	atMs: number;
	modelId: number;
	latencyNs: number;
	output: number[];
}

/**
 * The last `windowSeconds` of records of one application. Arrivals are counted per host second (records come in
 * batches, and the target's clock is not ours); the records themselves are kept up to `capacity`, newest first out.
 */
export class RecordWindow {
	private readonly kept: Kept[] = [];
	private head = 0;
	private readonly arrivals = new Map<number, number>();
	private readonly drops = new Map<number, number>();
	private startedMs: number | undefined;

	constructor(
		readonly windowSeconds = 10,
		readonly capacity = 20_000,
	) {}

	add(line: ChannelLine, atMs: number): void {
		this.startedMs ??= atMs;
		const second = Math.floor(atMs / 1000);
		if (line.kind === "dropped") {
			this.drops.set(second, (this.drops.get(second) ?? 0) + line.count);
			return;
		}
		if (line.kind !== "record") return;
		this.arrivals.set(second, (this.arrivals.get(second) ?? 0) + 1);
		this.keep(line, atMs);
	}

	/** Forgets what is older than the window; the next snapshot starts a new rate after `reset`. */
	reset(): void {
		this.kept.length = 0;
		this.head = 0;
		this.arrivals.clear();
		this.drops.clear();
		this.startedMs = undefined;
	}

	snapshot(nowMs: number, bins = 20, maxOutputs = 16): RecordWindowSnapshot {
		this.prune(nowMs);
		const records = this.kept.slice(this.head);
		const sum = (map: Map<number, number>) => [...map.values()].reduce((a, b) => a + b, 0);
		// Arrivals are counted in whole host seconds: the span runs from the first second counted (the window's or
		// the stream's) to now, the current second being partly over.
		const firstSecond = Math.max(Math.floor((nowMs - this.windowSeconds * 1000) / 1000), Math.floor((this.startedMs ?? nowMs) / 1000));
		const spanMs = Math.max(1000, nowMs - firstSecond * 1000);
		const latencies = records.map((r) => r.latencyNs).sort((a, b) => a - b);
		const outputCount = records.reduce((max, r) => Math.max(max, r.output.length), 0);
		const outputs = Array.from({ length: Math.min(outputCount, maxOutputs) }, (_, i) => histogram(outputValues(records, i), bins));
		const perModel = new Map<number, number>();
		for (const record of records) perModel.set(record.modelId, (perModel.get(record.modelId) ?? 0) + 1);
		return {
			windowSeconds: this.windowSeconds,
			recordsPerSecond: (sum(this.arrivals) * 1000) / spanMs,
			records: records.length,
			dropped: sum(this.drops),
			latency: {
				p50Ns: percentile(latencies, 50), p99Ns: percentile(latencies, 99),
				maxNs: latencies.length > 0 ? latencies[latencies.length - 1] : NaN, histogram: histogram(latencies, bins),
			},
			outputs, outputCount,
			perModel: [...perModel].map(([modelId, count]) => ({ modelId, records: count })).sort((a, b) => a.modelId - b.modelId),
		};
	}

	private keep(line: RecordLine, atMs: number): void {
		this.kept.push({ atMs, modelId: line.modelId, latencyNs: line.latencyNs, output: line.output });
		if (this.kept.length - this.head > this.capacity) this.head++;
		this.compact();
	}

	private prune(nowMs: number): void {
		const oldest = nowMs - this.windowSeconds * 1000;
		while (this.head < this.kept.length && this.kept[this.head].atMs < oldest) this.head++;
		this.compact();
		const oldestSecond = Math.floor(oldest / 1000);
		for (const map of [this.arrivals, this.drops]) {
			for (const second of map.keys()) if (second < oldestSecond) map.delete(second);
		}
	}

	/** Drops the consumed front of the array once it is as large as the live part, so memory stays bounded. */
	private compact(): void {
		if (this.head > 1024 && this.head * 2 > this.kept.length) {
			this.kept.splice(0, this.head);
			this.head = 0;
		}
	}
}

function* outputValues(records: readonly Kept[], index: number): Iterable<number> {
	for (const record of records) {
		// JSON has no NaN: the tool writes a non-finite output as null.
		if (index < record.output.length) yield record.output[index] ?? NaN;
	}
}
