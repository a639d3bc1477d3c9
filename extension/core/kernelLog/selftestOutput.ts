import { codedError } from "../util/errors";

/**
 * One `knn-selftest NAME step=S result=R offset=O count=C bits=... values=...` line of a module's self-test:
 * C little-endian 32-bit words of the result's bytes from word O (the last word zero-padded). `values` shows the
 * elements in their own type for people; the words are exact.
 */
export interface SelftestChunk {
	module: string;
	step: number;
	result: number;
	offset: number;
	bits: number[];
}

export interface SelftestDone {
	module: string;
	steps: number;
	status: number;
}

export interface BenchLine {
	module: string;
	calls: number;
	medianNs: number;
	p99Ns: number;
	minNs: number;
	/** The SIMD level that ran (sse2, avx2, none for an integer-only model); absent from modules built before it. */
	simd?: string;
}

/** `knn-selftest NAME simd=LEVEL`: the self-test's first line, the SIMD level the module picked at load. */
export interface SimdLine {
	module: string;
	level: string;
}

export type ModuleLine = { kind: "chunk"; chunk: SelftestChunk } | { kind: "done"; done: SelftestDone } | { kind: "bench"; bench: BenchLine }
	| { kind: "simd"; simd: SimdLine };

/** Parses a line our module printed; undefined for any other kernel log line. */
export function parseModuleLine(message: string): ModuleLine | undefined {
	const chunk = /^knn-selftest (\S+) step=(\d+) result=(\d+) offset=(\d+) count=(\d+) bits=([0-9a-f,]+) values=\S*$/.exec(message);
	if (chunk) {
		const bits = chunk[6].split(",").map((h) => parseInt(h, 16) >>> 0);
		if (bits.length !== Number(chunk[5])) return undefined;
		return { kind: "chunk", chunk: { module: chunk[1], step: Number(chunk[2]), result: Number(chunk[3]), offset: Number(chunk[4]), bits } };
	}
	const done = /^knn-selftest (\S+) done steps=(\d+) status=(-?\d+)$/.exec(message);
	if (done) return { kind: "done", done: { module: done[1], steps: Number(done[2]), status: Number(done[3]) } };
	const bench = /^knn-bench (\S+) calls=(\d+) median_ns=(\d+) p99_ns=(\d+) min_ns=(\d+)(?: simd=(\w+))?$/.exec(message);
	if (bench) {
		const line: BenchLine = { module: bench[1], calls: Number(bench[2]), medianNs: Number(bench[3]), p99Ns: Number(bench[4]), minNs: Number(bench[5]) };
		if (bench[6] !== undefined) line.simd = bench[6];
		return { kind: "bench", bench: line };
	}
	const simd = /^knn-selftest (\S+) simd=(\w+)$/.exec(message);
	if (simd) return { kind: "simd", simd: { module: simd[1], level: simd[2] } };
	return undefined;
}

export class SelftestParseError extends codedError("kernel-log", "SelftestParseError") {}

/**
 * Assembles a module's self-test output into per-step results as bytes, checking every word arrived exactly once.
 * `resultBytes` are the results' sizes in bytes; the padding of a last word is dropped. A load that was retried
 * prints its lines again; only the run that ends with the last `done` line counts.
 */
export function assembleSelftest(messages: readonly string[], module: string, resultBytes: readonly number[]): { steps: Uint8Array[][]; done: SelftestDone; simd?: string } {
	const lines = messages.map(parseModuleLine).filter((l): l is ModuleLine => l !== undefined && moduleOf(l) === module);
	const lastDone = lines.map((l) => l.kind).lastIndexOf("done");
	if (lastDone < 0) throw new SelftestParseError(`module ${module} printed no "knn-selftest ${module} done" line: it did not run its self-test (is it the self-test template?)`);
	const done = (lines[lastDone] as { kind: "done"; done: SelftestDone }).done;
	const previousDone = lines.slice(0, lastDone).map((l) => l.kind).lastIndexOf("done");
	const run = lines.slice(previousDone + 1, lastDone);
	const simdLine = run.find((l) => l.kind === "simd");
	const simd = simdLine?.kind === "simd" ? { simd: simdLine.simd.level } : {};
	if (done.status !== 0) return { steps: [], done, ...simd };
	const words = resultBytes.map((bytes) => Math.ceil(bytes / 4));
	const padded = Array.from({ length: done.steps }, () => words.map((n) => new Uint32Array(n)));
	const seen = Array.from({ length: done.steps }, () => words.map((n) => new Uint8Array(n)));
	for (const line of run) {
		if (line.kind !== "chunk") continue;
		const { step, result, offset, bits } = line.chunk;
		if (step >= done.steps || result >= words.length || offset + bits.length > words[result]) {
			throw new SelftestParseError(`module ${module} printed step ${step} result ${result} words ${offset} to ${offset + bits.length - 1}, outside ${done.steps} steps of ${words.length} results of ${words.join(", ")} words`);
		}
		bits.forEach((b, i) => {
			padded[step][result][offset + i] = b;
			seen[step][result][offset + i]++;
		});
	}
	seen.forEach((results, step) => results.forEach((marks, result) => {
		const missing = marks.indexOf(0);
		if (missing >= 0) throw new SelftestParseError(`module ${module} printed no value for step ${step} result ${result} word ${missing} (bytes ${4 * missing} to ${4 * missing + 3}): kernel log lines were lost`);
	}));
	const steps = padded.map((results) => results.map((view, r) => littleEndianBytes(view).subarray(0, resultBytes[r])));
	return { steps, done, ...simd };
}

/** The words' bytes, least significant first whatever the host's byte order. */
function littleEndianBytes(words: Uint32Array): Uint8Array {
	const bytes = new Uint8Array(words.length * 4);
	const view = new DataView(bytes.buffer);
	words.forEach((word, i) => view.setUint32(4 * i, word, true));
	return bytes;
}

function moduleOf(line: ModuleLine): string {
	switch (line.kind) {
		case "chunk": return line.chunk.module;
		case "done": return line.done.module;
		case "bench": return line.bench.module;
		case "simd": return line.simd.module;
	}
}
