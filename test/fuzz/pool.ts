// Runs cases in child processes so that a case that blows up cannot take the runner down: each child's resident
// memory is watched from outside and the child is killed past the memory or time bound, then replaced.
import { type ChildProcess, fork } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type CaseOptions, type FuzzFormat, makeCase } from "./cases";
import { type Stage, type StageOutcome, type StageResult, caseOutcome } from "./pipeline";
import type { CaseRequest, WorkerMessage } from "./worker";

export type Outcome = StageOutcome | "over-time" | "over-memory" | "crash";

export interface CaseReport {
	format: FuzzFormat;
	index: number;
	outcome: Outcome;
	/** Wall time of all stages, or how long the case had run when it was killed; each stage is bounded on its own. */
	ms: number;
	peakRssMb: number;
	seedModel?: string;
	mutations?: string[];
	stages?: StageResult[];
	/** For a killed or crashed child: what happened, and the end of its stderr. */
	detail?: string;
}

export interface PoolOptions {
	jobs: number;
	runSeed: number;
	caseOptions: CaseOptions;
	timeLimitMs: number;
	memoryLimitMb: number;
	onReport: (report: CaseReport) => void;
}

const POLL_MS = 20;
// Starting a child (tsx compiles the sources) and making a long-chain case take seconds, not minutes.
const GENERATION_LIMIT_MS = 60_000;

function rssMb(pid: number): number {
	try {
		const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
		return match ? Number(match[1]) / 1024 : 0;
	} catch {
		return 0;
	}
}

/** One child and the case it is running. */
class CaseRunner {
	private child?: ChildProcess;
	private stderr = "";

	constructor(private readonly options: PoolOptions) {}

	run(request: CaseRequest): Promise<CaseReport> {
		const child = this.child ?? this.spawn();
		const base = { format: request.format, index: request.index };
		return new Promise((resolve) => {
			const sentAt = performance.now();
			let startedAt: number | undefined;
			let stage: { name: Stage; at: number } | undefined;
			let peak = 0;
			const finish = (report: CaseReport) => {
				clearInterval(watch);
				child.off("message", onMessage);
				child.off("exit", onExit);
				resolve(report);
			};
			const kill = (outcome: Outcome, detail: string) => {
				const ms = startedAt === undefined ? 0 : performance.now() - startedAt;
				child.kill("SIGKILL");
				this.child = undefined;
				finish({ ...base, ...this.describe(request), outcome, ms, peakRssMb: peak, detail: `${stage ? `${stage.name}: ` : ""}${detail}` });
			};
			const onMessage = (message: WorkerMessage) => {
				if (message.kind === "stage") {
					stage = { name: message.stage, at: performance.now() };
					startedAt ??= stage.at;
					return;
				}
				if (message.kind === "generator") {
					finish({ ...base, outcome: "crash", ms: 0, peakRssMb: peak, detail: `the fuzzer could not make the case: ${message.message}` });
					return;
				}
				const outcome: Outcome = message.stages.some((s) => s.ms > this.options.timeLimitMs) ? "over-time"
					: Math.max(message.peakRssMb, peak) > this.options.memoryLimitMb ? "over-memory" : caseOutcome(message.stages);
				finish({ ...base, outcome, ms: message.ms, peakRssMb: Math.max(message.peakRssMb, peak), seedModel: message.seedModel, mutations: message.mutations, stages: message.stages });
			};
			const onExit = (code: number | null, signal: string | null) => {
				this.child = undefined;
				const heap = /heap out of memory|Allocation failed/.test(this.stderr);
				finish({ ...base, ...this.describe(request), outcome: heap ? "over-memory" : "crash", ms: startedAt === undefined ? 0 : performance.now() - startedAt, peakRssMb: peak, detail: `child exited (${signal ?? code}): ${this.stderr.slice(-600)}` });
			};
			const watch = setInterval(() => {
				const rss = rssMb(child.pid!);
				peak = Math.max(peak, rss);
				if (rss > this.options.memoryLimitMb) kill("over-memory", `resident memory reached ${rss.toFixed(0)} MiB`);
				else if (stage && performance.now() - stage.at > this.options.timeLimitMs) kill("over-time", `still running after ${this.options.timeLimitMs} ms`);
				else if (startedAt === undefined && performance.now() - sentAt > GENERATION_LIMIT_MS) kill("crash", "the case was not made within a minute (a generator problem, not a finding)");
			}, POLL_MS);
			child.on("message", onMessage);
			child.on("exit", onExit);
			this.stderr = "";
			child.send(request);
		});
	}

	/** What the killed child was running, made again here (cases are cheap to make and deterministic). */
	private describe(request: CaseRequest): { seedModel?: string; mutations?: string[] } {
		try {
			const c = makeCase(request.format, request.index, request.runSeed, request.options);
			return { seedModel: c.seedModel, mutations: c.mutations };
		} catch {
			return {};
		}
	}

	close(): void {
		this.child?.kill("SIGKILL");
		this.child = undefined;
	}

	private spawn(): ChildProcess {
		const child = fork(path.join(__dirname, "worker.ts"), [], {
			execArgv: ["--import", "tsx", "--expose-gc"],
			stdio: ["ignore", "ignore", "pipe", "ipc"],
			serialization: "advanced",
		});
		child.stderr!.on("data", (chunk: Buffer) => {
			this.stderr = (this.stderr + chunk.toString()).slice(-4000);
		});
		child.on("error", (error) => {
			this.stderr += `\n${error.message}`;
		});
		this.child = child;
		return child;
	}
}

/** Runs every request, `jobs` at a time, calling onReport as each ends (in completion order). */
export async function runCases(requests: Iterable<{ format: FuzzFormat; index: number }>, options: PoolOptions): Promise<void> {
	const queue = requests[Symbol.iterator]();
	const runners = Array.from({ length: Math.max(1, options.jobs) }, () => new CaseRunner(options));
	await Promise.all(runners.map(async (runner) => {
		try {
			for (let next = queue.next(); !next.done; next = queue.next()) {
				options.onReport(await runner.run({ ...next.value, runSeed: options.runSeed, options: options.caseOptions }));
			}
		} finally {
			runner.close();
		}
	}));
}
