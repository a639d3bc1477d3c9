import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KmsgCursor, KmsgSplitter, formatRecord, parseKmsgRecord } from "../../extension/core/kernelLog/kmsg";
import { SelftestParseError, assembleSelftest, parseModuleLine } from "../../extension/core/kernelLog/selftestOutput";

// The example record from the kernel's Documentation/ABI/testing/dev-kmsg.
const ABI_EXAMPLE = "7,160,424069,-;pci_root PNP0A03:00: host bridge window [io  0x0000-0x0cf7] (ignored)\n SUBSYSTEM=acpi\n DEVICE=+acpi:PNP0A03:00\n";

function record(seq: number, message: string, priority = 6): string {
	return `${priority},${seq},${1000 + seq},-;${message}\n`;
}

function bitsOf(values: number[]): string {
	return Array.from(new Uint32Array(new Float32Array(values).buffer), (b) => b.toString(16).padStart(8, "0")).join(",");
}

describe("kernel log records (/dev/kmsg)", () => {
	it("parses the ABI document's example: level, facility, sequence, time, message and properties", () => {
		const parsed = parseKmsgRecord(ABI_EXAMPLE.trimEnd())!;
		assert.deepEqual({ ...parsed }, {
			seq: 160, level: 7, facility: 0, timestampUs: 424069, continuation: false,
			message: "pci_root PNP0A03:00: host bridge window [io  0x0000-0x0cf7] (ignored)",
			properties: { SUBSYSTEM: "acpi", DEVICE: "+acpi:PNP0A03:00" },
		});
		assert.equal(formatRecord(parsed, true), "[    0.424069] debug: pci_root PNP0A03:00: host bridge window [io  0x0000-0x0cf7] (ignored)");
	});

	it("splits a stream cut at arbitrary points into whole records, properties attached", () => {
		const stream = ABI_EXAMPLE + record(161, "knn: loaded") + "14,162,5000,c;continued \\x7f text\n";
		for (const cut of [1, 7, 40, 90, 120]) {
			const splitter = new KmsgSplitter();
			const records = [...splitter.push(stream.slice(0, cut)), ...splitter.push(stream.slice(cut)), ...splitter.end()];
			assert.deepEqual(records.map((r) => r.seq), [160, 161, 162], `cut at ${cut}`);
			assert.equal(records[0].properties.DEVICE, "+acpi:PNP0A03:00");
			assert.deepEqual([records[2].level, records[2].facility, records[2].continuation, records[2].message], [6, 1, true, "continued \x7f text"]);
		}
	});

	it("resumes after a reconnect without repeating records, and counts records lost in between", () => {
		const cursor = new KmsgCursor();
		const parse = (seqs: number[]) => seqs.map((s) => parseKmsgRecord(record(s, `m${s}`).trimEnd())!);
		assert.deepEqual(cursor.accept(parse([1, 2, 3])).fresh.map((r) => r.seq), [1, 2, 3]);
		// Reopening /dev/kmsg replays from the oldest record still in the ring buffer.
		const replay = cursor.accept(parse([1, 2, 3, 4, 5]));
		assert.deepEqual(replay.fresh.map((r) => r.seq), [4, 5]);
		assert.equal(replay.lost, 0);
		const overwritten = cursor.accept(parse([9, 10]));
		assert.deepEqual([overwritten.fresh.map((r) => r.seq), overwritten.lost], [[9, 10], 3]);
	});
});

describe("the module's self-test lines", () => {
	// Result bytes: three and two float32 values.
	const sizes = [12, 8];
	const lines = (status = 0) => [
		"some other driver: hello",
		`knn-selftest indigo step=0 result=0 offset=0 count=2 bits=${bitsOf([0.5, -1])} values=5.0000000e-01,-1.0000000e+00`,
		`knn-selftest indigo step=0 result=0 offset=2 count=1 bits=${bitsOf([0.25])} values=2.5000000e-01`,
		`knn-selftest indigo step=0 result=1 offset=0 count=2 bits=${bitsOf([3, 4])} values=3.0000000e+00,4.0000000e+00`,
		`knn-selftest other step=0 result=0 offset=0 count=1 bits=${bitsOf([9])} values=9.0000000e+00`,
		`knn-selftest indigo done steps=1 status=${status}`,
	];

	it("assembles chunks into exact float32 results, ignoring other modules' lines", () => {
		const { steps, done } = assembleSelftest(lines(), "indigo", sizes);
		assert.deepEqual(done, { module: "indigo", steps: 1, status: 0 });
		assert.deepEqual(steps.map((s) => s.map((r) => Array.from(new Float32Array(r.buffer, r.byteOffset, r.length / 4)))), [[[0.5, -1, 0.25], [3, 4]]]);
	});

	it("keeps only the last run when a load was retried, and reports a failed self-test by its status", () => {
		const retried = [...lines(-22).slice(0, 2), "knn-selftest indigo done steps=1 status=-22", ...lines()];
		assert.equal(assembleSelftest(retried, "indigo", sizes).steps.length, 1);
		assert.equal(assembleSelftest(lines(-22), "indigo", sizes).done.status, -22);
	});

	it("says which word is missing when a line was lost, and when no done line came", () => {
		const lost = lines().filter((l) => !l.includes("offset=2"));
		assert.throws(() => assembleSelftest(lost, "indigo", sizes), (e: Error) => e instanceof SelftestParseError && /step 0 result 0 word 2 \(bytes 8 to 11\)/.test(e.message));
		assert.throws(() => assembleSelftest(lines().slice(0, -1), "indigo", sizes), /printed no "knn-selftest indigo done" line/);
	});

	it("reads the benchmark line", () => {
		assert.deepEqual(parseModuleLine("knn-bench indigo calls=100000 median_ns=850 p99_ns=1900 min_ns=700"), {
			kind: "bench", bench: { module: "indigo", calls: 100000, medianNs: 850, p99Ns: 1900, minNs: 700 },
		});
	});
});
