// Drives one case through what `knn inspect`, `knn config --check`, `knn run` and `knn compile` do, in process,
// and says how each stage ended: finished, refused with one of our errors, or failed with anything else (a finding).
import { type LoadedModel, loadModelBytes } from "../../extension/core/frontends";
import { configRef, formatProblem, parseConfig, validateConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { compileModel } from "../../extension/core/codegen/compile";
import type { Graph } from "../../extension/core/graph/graph";
import { formatInspectReport, inspectModel } from "../../extension/core/model/inspect";
import { parseInputsJson } from "../../extension/core/model/inputsJson";
import { freezeForFetches } from "../../extension/core/model/prepare";
import { parseStepInputs, runSteps, stepsToJson } from "../../extension/core/model/steps";
import { KnnError } from "../../extension/core/util/errors";
import type { ConfigFile } from "../../extension/core/frontends/tf/tf2xlaConfig";
import type { FuzzCase } from "./cases";

export type Stage = "inspect" | "check" | "run" | "compile";

/**
 * ok: the stage finished. typed: a KnnError (a code the CLI maps to an exit status). uncoded: one of our error
 * classes without a code. untyped: a built-in or library error, or a typed one carrying a raw V8 message.
 */
export type StageOutcome = "ok" | "typed" | "uncoded" | "untyped";

export interface StageResult {
	stage: Stage;
	outcome: StageOutcome;
	ms: number;
	errorName?: string;
	code?: string;
	message?: string;
	/** The first stack frame in our code (or the first at all), where an untyped error came from. */
	stackTop?: string;
}

const BUILT_IN_ERRORS = new Set<unknown>([Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]);
// What V8 and libraries say: a user who reads it learns nothing about their model.
const RAW_MESSAGE = /Invalid typed array length|Invalid array length|Maximum call stack|Cannot read propert|Cannot set propert|is not a function|is not iterable|Array buffer allocation failed|Offset is outside the bounds|out of memory|Cannot convert|Start offset|Cannot create a string longer|Invalid string length/i;

function stackTop(error: unknown): string | undefined {
	const frames = ((error as Error)?.stack ?? "").split("\n").filter((line) => line.trimStart().startsWith("at "));
	const ours = frames.find((line) => line.includes("/extension/")) ?? frames[0];
	return ours?.trim().replace(/^at /, "").replace(/\(?\/.*\/(extension\/|node_modules\/)/, "$1").replace(/\)$/, "");
}

export function classify(stage: Stage, error: unknown, ms: number): StageResult {
	const message = error instanceof Error ? error.message : String(error);
	const errorName = error instanceof Error ? error.name || error.constructor?.name : typeof error;
	const base = { stage, ms, errorName, message: message.slice(0, 400), stackTop: stackTop(error) };
	const raw = RAW_MESSAGE.exec(message);
	// A typed error that carries a raw message was caught and rewrapped: its own stack says nothing, the text does.
	if (raw) return { ...base, outcome: "untyped", stackTop: error instanceof KnnError ? `a ${errorName} quoting "${raw[0]}"` : base.stackTop };
	if (error instanceof KnnError) return { ...base, outcome: "typed", code: error.code };
	if (error instanceof Error && !BUILT_IN_ERRORS.has(error.constructor)) return { ...base, outcome: "uncoded" };
	return { ...base, outcome: "untyped" };
}

function timed(stage: Stage, results: StageResult[], fn: () => void, onStage?: (stage: Stage) => void): boolean {
	onStage?.(stage);
	const start = performance.now();
	try {
		fn();
		results.push({ stage, outcome: "ok", ms: performance.now() - start });
		return true;
	} catch (error) {
		results.push(classify(stage, error, performance.now() - start));
		return false;
	}
}

/**
 * Runs the case's stages in the CLI's order (each one command's work, bounded on its own); run and compile both
 * follow a config that checks out. `onStage` hears each stage as it starts.
 */
export function runCase(c: FuzzCase, onStage?: (stage: Stage) => void): StageResult[] {
	const results: StageResult[] = [];
	let model: LoadedModel | undefined;
	const inspected = timed("inspect", results, () => {
		model = loadModelBytes(c.model, c.modelFile);
		const report = inspectModel(model);
		formatInspectReport(report);
		JSON.stringify(report);
	}, onStage);
	if (!inspected) return results;
	let graph: Graph | undefined;
	let parsed: ConfigFile | undefined;
	const checked = timed("check", results, () => {
		parsed = parseConfig(c.config, "graph.config.pbtxt");
		const named = [...parsed.config.fetch, ...parsed.config.feed].map((f) => configRef(f).node).filter((n) => model!.graph.has(n));
		graph = freezeForFetches(model!, named).graph;
		const errors = validateConfig(graph, parsed).filter((p) => p.severity === "error");
		// The CLI's --check prints these and exits 1: a refusal in the user's terms, as a typed error is.
		if (errors.length > 0) throw new KnnError(errors.map(formatProblem).join("\n"), "config");
	}, onStage);
	if (!checked) return results;
	timed("run", results, () => {
		let json: unknown;
		try {
			json = parseInputsJson(c.inputs, "inputs.json");
		} catch (error) {
			// `knn run` reports malformed JSON as a usage error naming the file.
			if (error instanceof SyntaxError) throw new KnnError(`inputs.json: not valid JSON (${error.message})`, "usage");
			throw error;
		}
		stepsToJson(parsed!.config, runSteps(graph!, parsed!.config, parseStepInputs(json, "inputs.json"), "inputs.json"));
	}, onStage);
	timed("compile", results, () => {
		compileModel(graph!, parsed!.config, "fuzz_model", `${c.modelFile} with graph.config.pbtxt`, { noFpu: c.seedModel === "int8" && c.seed % 2 === 0 });
	}, onStage);
	return results;
}

/** The worst stage outcome of a case. */
export function caseOutcome(results: readonly StageResult[]): StageOutcome {
	for (const outcome of ["untyped", "uncoded", "typed"] as const) {
		if (results.some((r) => r.outcome === outcome)) return outcome;
	}
	return "ok";
}
