// The long fuzz run: `npm run fuzz -- --cases 100000 [--jobs 2] [--seed 1]`. Prints counts per format and outcome,
// the slowest and the largest case and every finding; writes failing cases to test-results/fuzz/. Exit 1 on a finding.
import * as path from "node:path";
import { parseArgs } from "node:util";
import { FORMATS, type FuzzFormat } from "./cases";
import { runCases } from "./pool";
import { FAILING, FuzzSummary, saveCase } from "./summary";

const USAGE = `npm run fuzz -- [--cases N] [--seed S] [--jobs J] [--formats tf,onnx,tflite] [--max-chain N]
             [--time-limit SECONDS] [--memory-limit MIB] [--out DIR] [--replay FORMAT:INDEX]`;

function numberOption(text: string | undefined, fallback: number, flag: string): number {
	if (text === undefined) return fallback;
	const value = Number(text);
	if (!Number.isFinite(value) || value < 0) throw new Error(`${flag} must be a non-negative number, not "${text}"\n${USAGE}`);
	return value;
}

async function main(): Promise<number> {
	const { values } = parseArgs({
		options: {
			cases: { type: "string" }, seed: { type: "string" }, jobs: { type: "string" }, formats: { type: "string" },
			"max-chain": { type: "string" }, "time-limit": { type: "string" }, "memory-limit": { type: "string" },
			out: { type: "string" }, replay: { type: "string" }, help: { type: "boolean" },
		},
	});
	if (values.help) {
		console.log(USAGE);
		return 0;
	}
	const runSeed = numberOption(values.seed, 1, "--seed");
	const formats = (values.formats ?? FORMATS.join(",")).split(",") as FuzzFormat[];
	const unknown = formats.filter((f) => !FORMATS.includes(f));
	if (unknown.length > 0) throw new Error(`--formats: unknown ${unknown.join(", ")} (use ${FORMATS.join(", ")})`);
	const caseOptions = { maxChain: numberOption(values["max-chain"], 10_000, "--max-chain") };
	const out = path.resolve(values.out ?? "test-results/fuzz");
	let requests: { format: FuzzFormat; index: number }[];
	if (values.replay) {
		const [format, index] = values.replay.split(":");
		requests = [{ format: format as FuzzFormat, index: Number(index) }];
	} else {
		const total = numberOption(values.cases, 3000, "--cases");
		requests = Array.from({ length: total }, (_, i) => ({ format: formats[i % formats.length], index: Math.floor(i / formats.length) }));
	}
	const summary = new FuzzSummary();
	const start = performance.now();
	await runCases(requests, {
		jobs: numberOption(values.jobs, 1, "--jobs"), runSeed, caseOptions,
		timeLimitMs: numberOption(values["time-limit"], 10, "--time-limit") * 1000,
		memoryLimitMb: numberOption(values["memory-limit"], 1024, "--memory-limit"),
		onReport: (report) => {
			summary.add(report);
			if (FAILING.has(report.outcome)) console.error(`${report.outcome}: ${report.format}:${report.index} -> ${saveCase(out, report, runSeed, caseOptions)}`);
			if (values.replay) console.log(JSON.stringify(report, null, 2));
			if (summary.total % 1000 === 0) {
				console.error(`${summary.total}/${requests.length} cases, ${((performance.now() - start) / 1000).toFixed(0)} s, ${summary.findings.size} distinct findings`);
			}
		},
	});
	console.log(summary.format());
	console.log(`${summary.total} cases in ${((performance.now() - start) / 1000).toFixed(0)} s (seed ${runSeed}); failing cases in ${out}`);
	return [...FAILING].some((o) => summary.count(o) > 0) ? 1 : 0;
}

main().then((code) => {
	process.exitCode = code;
}, (error: unknown) => {
	// The driver failing is a bug of the driver: keep its stack.
	console.error(error instanceof Error ? error.stack ?? error.message : String(error));
	process.exitCode = 2;
});
