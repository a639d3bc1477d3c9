import { configFeeds, configRef } from "../frontends/tf/tf2xlaConfig";
import { type Graph, parseInputName, refKey } from "../graph/graph";
import { type Tensor, allocate, formatShape, fromNested, shapeSize, toNested } from "../graph/tensor";
import { runGraph } from "../interp/executor";
import type { Tf2xlaConfig } from "../frontends/tf/proto/types";

/** The `knn run` inputs file: initial feeds, number of steps, and recurrent state copied from fetch to feed. */
export interface StepInputs {
	feeds: Record<string, unknown>;
	steps?: number;
	feedback?: Record<string, string>;
}

export type StepOutputs = Record<string, unknown>[];

export class StepInputError extends Error {}

/** Checks the shape of an inputs file read from JSON, naming the field that is wrong. */
export function parseStepInputs(value: unknown, file: string): StepInputs {
	if (typeof value !== "object" || value === null || Array.isArray(value)) throw new StepInputError(`${file}: expected an object with "feeds"`);
	const record = value as Record<string, unknown>;
	if (typeof record.feeds !== "object" || record.feeds === null || Array.isArray(record.feeds)) {
		throw new StepInputError(`${file}: "feeds" must be an object mapping feed names to nested arrays`);
	}
	if (record.steps !== undefined && (!Number.isInteger(record.steps) || (record.steps as number) < 1)) {
		throw new StepInputError(`${file}: "steps" must be a positive integer`);
	}
	const feedback = record.feedback ?? {};
	if (typeof feedback !== "object" || feedback === null || Object.values(feedback).some((v) => typeof v !== "string")) {
		throw new StepInputError(`${file}: "feedback" must map feed names to fetch names`);
	}
	return { feeds: record.feeds as Record<string, unknown>, steps: record.steps as number | undefined, feedback: feedback as Record<string, string> };
}

/**
 * Runs the graph `steps` times. After each step each feedback fetch is copied into its feed, which is how
 * recurrent state (an LSTM's c and h) is carried from one inference to the next. Feedback feeds not given start at zero.
 */
export function runSteps(graph: Graph, config: Tf2xlaConfig, inputs: StepInputs, where = "inputs"): Tensor[][] {
	const feeds = configFeeds(graph, config);
	const fetches = config.fetch.map(configRef);
	const fetchKeys = fetches.map(refKey);
	const feedback = Object.entries(inputs.feedback ?? {}).map(([feed, fetch]) => {
		const feedKey = refKey(parseInputName(feed).ref);
		const fetchIndex = fetchKeys.indexOf(refKey(parseInputName(fetch).ref));
		if (!feeds.some((f) => refKey(f.ref) === feedKey)) throw new StepInputError(`${where}: feedback target "${feed}" is not a feed of the config`);
		if (fetchIndex < 0) throw new StepInputError(`${where}: feedback source "${fetch}" is not a fetch of the config`);
		return { feedKey, fetchIndex };
	});
	const given = new Map(Object.entries(inputs.feeds).map(([name, value]) => [refKey(parseInputName(name).ref), value]));
	for (const name of given.keys()) {
		if (!feeds.some((f) => refKey(f.ref) === name)) throw new StepInputError(`${where}: "${name}" is not a feed of the config (feeds: ${feeds.map((f) => refKey(f.ref)).join(", ")})`);
	}
	const current = new Map<string, Tensor>();
	for (const feed of feeds) {
		const key = refKey(feed.ref);
		const value = given.get(key);
		let tensor: Tensor;
		if (value === undefined) {
			if (!feedback.some((f) => f.feedKey === key)) throw new StepInputError(`${where}: no value for feed "${key}" ${formatShape(feed.shape)}`);
			tensor = { dtype: feed.dtype!, shape: feed.shape, data: allocate(feed.dtype!, shapeSize(feed.shape)) };
		} else {
			tensor = fromNested(value, feed.dtype!, `${where}: feeds["${key}"]`);
			if (tensor.shape.join(",") !== feed.shape.join(",")) {
				throw new StepInputError(`${where}: feed "${key}" has shape ${formatShape(tensor.shape)} but the config says ${formatShape(feed.shape)}`);
			}
		}
		current.set(key, tensor);
	}
	const results: Tensor[][] = [];
	// Random ops continue their sequences from step to step, as the compiled model's state does between runs.
	const randomState = new Map<string, Uint32Array>();
	for (let step = 0; step < (inputs.steps ?? 1); step++) {
		const outputs = runGraph(graph, current, fetches, { randomState });
		results.push(outputs);
		for (const { feedKey, fetchIndex } of feedback) current.set(feedKey, outputs[fetchIndex]);
	}
	return results;
}

/** The `knn run --json` form: one object per step, fetch name to nested array. */
export function stepsToJson(config: Tf2xlaConfig, results: Tensor[][]): { steps: StepOutputs } {
	const names = config.fetch.map((f) => refKey(configRef(f)));
	return { steps: results.map((outputs) => Object.fromEntries(outputs.map((t, i) => [names[i], toNested(t)]))) };
}
