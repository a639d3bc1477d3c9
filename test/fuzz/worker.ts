// A child process that makes and runs the cases its parent names, one at a time, reporting each with the time it
// took and the peak resident memory it reached; the parent kills it when a case runs over its bounds.
import * as fs from "node:fs";
import { type CaseOptions, type FuzzCase, type FuzzFormat, makeCase } from "./cases";
import { type Stage, type StageResult, runCase } from "./pipeline";

export interface CaseRequest {
	format: FuzzFormat;
	index: number;
	runSeed: number;
	options: CaseOptions;
}

export type WorkerMessage =
	| { kind: "stage"; index: number; stage: Stage }
	/** The case could not be made: a bug of the fuzzer, reported as a crash so it is seen. */
	| { kind: "generator"; index: number; message: string }
	| { kind: "done"; index: number; seedModel: string; mutations: string[]; stages: StageResult[]; ms: number; peakRssMb: number };

/** VmHWM of this process in MiB; writing 5 to clear_refs resets it, so each case reads its own peak. */
function peakRssMb(): number {
	const status = fs.readFileSync("/proc/self/status", "utf8");
	const match = /VmHWM:\s+(\d+) kB/.exec(status);
	return match ? Number(match[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

function resetPeak(): void {
	try {
		fs.writeFileSync("/proc/self/clear_refs", "5");
	} catch {
		// Without clear_refs the peak is the process's own, an upper bound: never lower than the truth.
	}
}

const collect = (globalThis as { gc?: () => void }).gc;

process.on("message", (request: CaseRequest) => {
	let fuzzCase: FuzzCase;
	try {
		fuzzCase = makeCase(request.format, request.index, request.runSeed, request.options);
	} catch (error) {
		process.send!({ kind: "generator", index: request.index, message: (error as Error)?.stack ?? String(error) } satisfies WorkerMessage);
		return;
	}
	if (collect && process.memoryUsage().rss > 400 * 2 ** 20) collect();
	resetPeak();
	const start = performance.now();
	const stages = runCase(fuzzCase, (stage) => process.send!({ kind: "stage", index: request.index, stage } satisfies WorkerMessage));
	const ms = performance.now() - start;
	process.send!({ kind: "done", index: request.index, seedModel: fuzzCase.seedModel, mutations: fuzzCase.mutations, stages, ms, peakRssMb: peakRssMb() } satisfies WorkerMessage);
});

// A parent that is gone (killed, or ended with Ctrl-C) takes its children with it.
process.on("disconnect", () => process.exit(0));
