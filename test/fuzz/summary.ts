// Counts per format and outcome, the slowest and the largest case, findings grouped by where they come from, and
// each failing case written out as files `knn` itself can be run on.
import * as fs from "node:fs";
import * as path from "node:path";
import { type CaseOptions, FORMATS, type FuzzFormat, makeCase } from "./cases";
import type { CaseReport, Outcome } from "./pool";

export const OUTCOMES: Outcome[] = ["ok", "typed", "uncoded", "untyped", "over-time", "over-memory", "crash"];
/** Outcomes that fail a run: anything but finishing or a refusal the CLI maps to an exit status. */
export const FAILING: ReadonlySet<Outcome> = new Set(["untyped", "over-time", "over-memory", "crash"]);

export interface Finding {
	key: string;
	count: number;
	example: CaseReport;
}

export class FuzzSummary {
	readonly counts = new Map<FuzzFormat, Map<Outcome, number>>(FORMATS.map((f) => [f, new Map(OUTCOMES.map((o) => [o, 0]))]));
	readonly findings = new Map<string, Finding>();
	/** Unmutated seeds that did not finish every stage: the harness, not the model, is wrong. */
	readonly brokenSeeds: CaseReport[] = [];
	slowest?: CaseReport;
	/** The slowest single stage (one command's work), and its case. */
	slowestStage?: { report: CaseReport; stage: string; ms: number };
	largest?: CaseReport;
	total = 0;

	add(report: CaseReport): void {
		this.total++;
		const counts = this.counts.get(report.format)!;
		counts.set(report.outcome, counts.get(report.outcome)! + 1);
		if (!this.slowest || report.ms > this.slowest.ms) this.slowest = report;
		for (const stage of report.stages ?? []) {
			if (!this.slowestStage || stage.ms > this.slowestStage.ms) this.slowestStage = { report, stage: stage.stage, ms: stage.ms };
		}
		if (!this.largest || report.peakRssMb > this.largest.peakRssMb) this.largest = report;
		if (report.mutations?.length === 0 && report.outcome !== "ok") this.brokenSeeds.push(report);
		if (FAILING.has(report.outcome) || report.outcome === "uncoded") {
			const key = findingKey(report);
			const finding = this.findings.get(key);
			if (finding) finding.count++;
			else this.findings.set(key, { key, count: 1, example: report });
		}
	}

	count(outcome: Outcome): number {
		return [...this.counts.values()].reduce((n, c) => n + c.get(outcome)!, 0);
	}

	format(): string {
		const pad = (s: string | number, n: number) => String(s).padStart(n);
		const lines = [`${"format".padEnd(8)}${OUTCOMES.map((o) => pad(o, 12)).join("")}${pad("total", 9)}`];
		for (const [format, counts] of this.counts) {
			const total = [...counts.values()].reduce((a, b) => a + b, 0);
			lines.push(`${format.padEnd(8)}${OUTCOMES.map((o) => pad(counts.get(o)!, 12)).join("")}${pad(total, 9)}`);
		}
		if (this.slowest) lines.push(`slowest case: ${describe(this.slowest)} ${this.slowest.ms.toFixed(0)} ms`);
		if (this.slowestStage) lines.push(`slowest stage: ${this.slowestStage.stage} of ${describe(this.slowestStage.report)} ${this.slowestStage.ms.toFixed(0)} ms`);
		if (this.largest) lines.push(`largest: ${describe(this.largest)} peak ${this.largest.peakRssMb.toFixed(0)} MiB resident`);
		for (const finding of [...this.findings.values()].sort((a, b) => b.count - a.count)) {
			lines.push(`finding x${finding.count}: ${finding.key}\n    e.g. ${describe(finding.example)}: ${exampleMessage(finding.example)}`);
		}
		for (const seed of this.brokenSeeds) lines.push(`unmutated seed did not finish: ${describe(seed)}: ${exampleMessage(seed)}`);
		return lines.join("\n");
	}
}

function failingStage(report: CaseReport) {
	return report.stages?.find((s) => s.outcome === "untyped") ?? report.stages?.find((s) => s.outcome === "uncoded");
}

/** Where a finding comes from: the stage, the error and the first frame in our code, so one bug counts once. */
export function findingKey(report: CaseReport): string {
	const stage = failingStage(report);
	// A killed child has no stack: the stage it was in and the mutations' kinds say where to look.
	if (!stage) return `${report.outcome} in ${report.detail?.split(":")[0] ?? "?"} after ${(report.mutations ?? []).map((m) => m.split(":")[0].replace(/ \S+$/, "")).join(", ") || "no mutation"}`;
	return `${report.outcome} in ${stage.stage}: ${stage.errorName} at ${stage.stackTop ?? "?"}`;
}

function describe(report: CaseReport): string {
	return `${report.format}:${report.index} (${report.seedModel ?? "?"}; ${(report.mutations ?? []).join("; ") || "unmutated"})`;
}

function exampleMessage(report: CaseReport): string {
	const stage = failingStage(report) ?? report.stages?.find((s) => s.outcome !== "ok");
	return (stage?.message ?? report.detail ?? report.outcome).replace(/\s+/g, " ").slice(0, 240);
}

/** Writes the case's model, config and inputs, and what happened, to DIR/FORMAT-INDEX/. */
export function saveCase(dir: string, report: CaseReport, runSeed: number, options: CaseOptions): string {
	const folder = path.join(dir, `${report.format}-${report.index}`);
	fs.mkdirSync(folder, { recursive: true });
	try {
		const c = makeCase(report.format, report.index, runSeed, options);
		fs.writeFileSync(path.join(folder, c.modelFile), c.model);
		fs.writeFileSync(path.join(folder, "graph.config.pbtxt"), c.config);
		fs.writeFileSync(path.join(folder, "inputs.json"), c.inputs);
	} catch {
		// A case the generator cannot make (reported as such) has only its report.
	}
	const replay = `npm run fuzz -- --replay ${report.format}:${report.index} --seed ${runSeed} --max-chain ${options.maxChain}`;
	fs.writeFileSync(path.join(folder, "case.json"), JSON.stringify({ replay, ...report }, null, 2));
	return folder;
}
