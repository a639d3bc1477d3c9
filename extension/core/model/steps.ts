import { configFeeds, configRef } from "../frontends/tf/tf2xlaConfig";
import type { FeedSpec } from "../interp/infer";
import { type Graph, parseInputName, refKey } from "../graph/graph";
import { type Tensor, allocate, formatShape, fromNested, shapeSize, toNested } from "../graph/tensor";
import { type PreparedRun, prepareRun, runGraph } from "../interp/executor";
import { WorkBudgetError, formatOperations, overWorkMessage, withWorkMeter, workLimit } from "../util/budget";
import type { Tf2xlaConfig } from "../frontends/tf/proto/types";
import { codedError } from "../util/errors";

/**
 * The `knn run` / `knn deploy` inputs file. What a feed holds at step i, first match wins:
 * 1. `feedsPerStep[i][feed]` (a data set row; may also reset a fed-back feed);
 * 2. from step 1, the fetch that `feedback` copies into it (recurrent state);
 * 3. `feeds[feed]` (the same value at every step);
 * 4. zeros, for feedback feeds only (their step 0); any other feed without a value is an error.
 */
export interface StepInputs {
	feeds: Record<string, unknown>;
	/** Step i uses entry i; `steps` defaults to the number of entries and may not exceed it. */
	feedsPerStep?: Record<string, unknown>[];
	steps?: number;
	feedback?: Record<string, string>;
}

export type StepOutputs = Record<string, unknown>[];

export class StepInputError extends codedError("input", "StepInputError") {}

/**
 * The most steps one inputs file may ask for, in `knn run` and in deploy alike (the self-test module's own
 * max_steps parameter defaults to the same cap): every step runs the whole graph once.
 */
export const MAX_STEPS = 1_000_000;

/** Refuses a step count over `max`, naming the field and the bound. */
export function checkStepCount(steps: number, where: string, asks = "\"steps\" asks for", max = MAX_STEPS): void {
	if (steps > max) {
		const bound = String(max).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
		throw new StepInputError(`${where}: ${asks} ${steps} steps, more than the ${bound} steps one run may take; split the inputs into several runs`);
	}
}

/** Where a feed's value at one step comes from (see StepInputs); `tensor` is set for the first three. */
export interface StepFeed {
	source: "entry" | "feeds" | "zeros" | "feedback";
	tensor?: Tensor;
	/** For "feedback": the index of the fetch copied in after the previous step. */
	fetchIndex?: number;
}

/** An inputs file checked against a config: every feed's source at every step. */
export interface ResolvedSteps {
	feeds: FeedSpec[];
	feedKeys: string[];
	steps: number;
	/** [step][feed index] */
	perStep: StepFeed[][];
	/** Feed index <- fetch index, applied after every step. */
	feedback: { feedIndex: number; fetchIndex: number }[];
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Checks the shape of an inputs file read from JSON, naming the field (and entry) that is wrong. */
export function parseStepInputs(value: unknown, file: string): StepInputs {
	if (!isRecord(value)) throw new StepInputError(`${file}: expected an object with "feeds" or "feedsPerStep"`);
	const record = value;
	if (record.feeds === undefined && record.feedsPerStep === undefined) {
		throw new StepInputError(`${file}: give "feeds" (values for every step) or "feedsPerStep" (one object of values per step), or both`);
	}
	if (record.feeds !== undefined && !isRecord(record.feeds)) {
		throw new StepInputError(`${file}: "feeds" must be an object mapping feed names to nested arrays`);
	}
	let feedsPerStep: Record<string, unknown>[] | undefined;
	if (record.feedsPerStep !== undefined) {
		if (!Array.isArray(record.feedsPerStep) || record.feedsPerStep.length === 0) {
			throw new StepInputError(`${file}: "feedsPerStep" must be a non-empty array with one object of feed values per step`);
		}
		record.feedsPerStep.forEach((entry, i) => {
			if (!isRecord(entry)) throw new StepInputError(`${file}: feedsPerStep[${i}] must be an object mapping feed names to nested arrays, not ${JSON.stringify(entry)?.slice(0, 40)}`);
		});
		feedsPerStep = record.feedsPerStep as Record<string, unknown>[];
	}
	if (record.steps !== undefined && (!Number.isInteger(record.steps) || (record.steps as number) < 1)) {
		throw new StepInputError(`${file}: "steps" must be a positive integer`);
	}
	if (record.steps !== undefined) checkStepCount(record.steps as number, file);
	if (feedsPerStep) checkStepCount(feedsPerStep.length, file, "\"feedsPerStep\" has entries for");
	if (feedsPerStep && record.steps !== undefined && (record.steps as number) > feedsPerStep.length) {
		throw new StepInputError(`${file}: "steps" is ${record.steps as number} but "feedsPerStep" has only ${feedsPerStep.length} entries; give one entry per step or fewer steps`);
	}
	const feedback = record.feedback ?? {};
	if (!isRecord(feedback) || Object.values(feedback).some((v) => typeof v !== "string")) {
		throw new StepInputError(`${file}: "feedback" must map feed names to fetch names`);
	}
	return {
		feeds: (record.feeds ?? {}) as Record<string, unknown>,
		...(feedsPerStep ? { feedsPerStep } : {}),
		steps: record.steps as number | undefined,
		feedback: feedback as Record<string, string>,
	};
}

/** The number of steps an inputs file asks for. */
export function stepCount(inputs: StepInputs): number {
	return inputs.steps ?? inputs.feedsPerStep?.length ?? 1;
}

/** Checks an inputs file against the config's feeds and fetches and decides every feed's value at every step. */
export function resolveSteps(graph: Graph, config: Tf2xlaConfig, inputs: StepInputs, where = "inputs"): ResolvedSteps {
	const feeds = configFeeds(graph, config);
	const feedKeys = feeds.map((f) => refKey(f.ref));
	const fetchKeys = config.fetch.map((f) => refKey(configRef(f)));
	const keyOf = (name: string) => refKey(parseInputName(name).ref);
	const feedback = Object.entries(inputs.feedback ?? {}).map(([feed, fetch]) => {
		const feedIndex = feedKeys.indexOf(keyOf(feed));
		const fetchIndex = fetchKeys.indexOf(keyOf(fetch));
		if (feedIndex < 0) throw new StepInputError(`${where}: feedback target "${feed}" is not a feed of the config (feeds: ${feedKeys.join(", ")})`);
		if (fetchIndex < 0) throw new StepInputError(`${where}: feedback source "${fetch}" is not a fetch of the config (fetches: ${fetchKeys.join(", ")})`);
		return { feedIndex, fetchIndex };
	});
	// Each distinct value is converted once, so a long run of the same `feeds` shares its tensors.
	const convert = (values: Record<string, unknown>, field: string): Map<number, Tensor> => {
		const out = new Map<number, Tensor>();
		for (const [name, value] of Object.entries(values)) {
			const index = feedKeys.indexOf(keyOf(name));
			if (index < 0) throw new StepInputError(`${where}: ${field} names "${name}", which is not a feed of the config (feeds: ${feedKeys.join(", ")})`);
			const feed = feeds[index];
			let tensor: Tensor;
			try {
				tensor = fromNested(value, feed.dtype!, `${where}: ${field}["${name}"]`);
			} catch (error) {
				throw new StepInputError(error instanceof Error ? error.message : String(error));
			}
			if (tensor.shape.join(",") !== feed.shape.join(",")) {
				throw new StepInputError(`${where}: ${field}["${name}"] has shape ${formatShape(tensor.shape)} but the config's feed "${feedKeys[index]}" is ${formatShape(feed.shape)}`);
			}
			out.set(index, tensor);
		}
		return out;
	};
	const common = convert(inputs.feeds, "feeds");
	const steps = stepCount(inputs);
	checkStepCount(steps, where);
	const entries = inputs.feedsPerStep;
	if (entries && steps > entries.length) {
		throw new StepInputError(`${where}: "steps" is ${steps} but "feedsPerStep" has only ${entries.length} entries; give one entry per step or fewer steps`);
	}
	const zeros = new Map<number, Tensor>();
	const perStep: StepFeed[][] = [];
	for (let step = 0; step < steps; step++) {
		const entry = entries ? convert(entries[step], `feedsPerStep[${step}]`) : new Map<number, Tensor>();
		perStep.push(feeds.map((feed, i): StepFeed => {
			const own = entry.get(i);
			if (own) return { source: "entry", tensor: own };
			const fedBack = feedback.find((f) => f.feedIndex === i);
			if (fedBack && step > 0) return { source: "feedback", fetchIndex: fedBack.fetchIndex };
			const shared = common.get(i);
			if (shared) return { source: "feeds", tensor: shared };
			if (fedBack) {
				if (!zeros.has(i)) zeros.set(i, { dtype: feed.dtype!, shape: feed.shape, data: allocate(feed.dtype!, shapeSize(feed.shape)) });
				return { source: "zeros", tensor: zeros.get(i) };
			}
			const place = entries ? `feedsPerStep[${step}] or in "feeds"` : `"feeds"`;
			throw new StepInputError(`${where}: no value for feed "${feedKeys[i]}" ${formatShape(feed.shape)} at step ${step}: give it in ${place}, or feed it back from a fetch`);
		}));
	}
	return { feeds, feedKeys, steps, perStep, feedback };
}

/**
 * Runs the graph once per step with each feed's value for that step (see StepInputs): a data set row by row,
 * recurrent state (an LSTM's c and h) carried from one inference to the next, or both.
 */
export function runSteps(graph: Graph, config: Tf2xlaConfig, inputs: StepInputs, where = "inputs"): Tensor[][] {
	const resolved = resolveSteps(graph, config, inputs, where);
	const fetches = config.fetch.map(configRef);
	const prepared = prepareRun(graph, resolved.feedKeys, fetches);
	const results: Tensor[][] = [];
	// Random ops continue their sequences from step to step, as the compiled model's state does between runs.
	const randomState = new Map<string, Uint32Array>();
	return withWorkMeter((meter) => {
		refuseOverWork(prepared, resolved.steps, meter.left, meter.done, where);
		resolved.perStep.forEach((stepFeeds, step) => {
			const current = new Map<string, Tensor>();
			stepFeeds.forEach((feed, i) => current.set(resolved.feedKeys[i], feed.tensor ?? results[step - 1][feed.fetchIndex!]));
			try {
				results.push(runGraph(graph, current, fetches, { randomState, prepared }));
			} catch (error) {
				if (error instanceof WorkBudgetError && resolved.steps > 1) {
					throw new WorkBudgetError(`${where}: at step ${step + 1} of ${resolved.steps}: ${error.message}`, { cause: error });
				}
				throw error;
			}
		});
		return results;
	});
}

/** Every step runs every needed node at least once: a run that cannot fit the work budget is refused before it starts. */
function refuseOverWork(prepared: PreparedRun, steps: number, left: number, done: number, where: string): void {
	const atLeast = steps * prepared.needed.size * prepared.nodeCost;
	if (atLeast > left) {
		const what = `${formatOperations(steps)} step(s) of ${formatOperations(prepared.needed.size)} nodes each`;
		throw new WorkBudgetError(`${where}: ${overWorkMessage(what, done + atLeast)}`);
	}
}

/**
 * Refuses, before anything is built or loaded, an inputs file whose reference run could not fit the work budget
 * (deploy compares the module's results with that run after the self-test).
 */
export function checkStepsFitWorkBudget(graph: Graph, config: Tf2xlaConfig, inputs: StepInputs, where = "inputs"): void {
	const feeds = configFeeds(graph, config).map((f) => refKey(f.ref));
	refuseOverWork(prepareRun(graph, feeds, config.fetch.map(configRef)), stepCount(inputs), workLimit(), 0, where);
}

/** The `knn run --json` form: one object per step, fetch name to nested array. */
export function stepsToJson(config: Tf2xlaConfig, results: Tensor[][]): { steps: StepOutputs } {
	const names = config.fetch.map((f) => refKey(configRef(f)));
	return { steps: results.map((outputs) => Object.fromEntries(outputs.map((t, i) => [names[i], toNested(t)]))) };
}
