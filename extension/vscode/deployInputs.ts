// Inputs for a deploy when the user has no inputs file: zeros of each feed's shape, and recurrent state fed back
// from fetches that look like it. No `vscode` here.
import { type StepInputs, stepCount } from "../core/model/steps";

export interface TensorSignature {
	/** "node" or "node:1", as in the config. */
	name: string;
	shape: number[];
}

/** Nested arrays of zeros of a shape; a scalar for []. */
export function zerosOfShape(shape: readonly number[]): unknown {
	if (shape.length === 0) return 0;
	const [first, ...rest] = shape;
	return Array.from({ length: first }, () => zerosOfShape(rest));
}

/**
 * Guesses recurrent state: each feed takes the first unused fetch of exactly its shape. At least one feed stays a
 * real input (the first), since a model whose every input is fed back would have no input at all.
 */
export function guessFeedback(feeds: readonly TensorSignature[], fetches: readonly TensorSignature[]): Record<string, string> {
	const used = new Set<number>();
	const feedback: Record<string, string> = {};
	const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
	for (const feed of feeds) {
		const index = fetches.findIndex((fetch, i) => !used.has(i) && same(fetch.shape, feed.shape));
		if (index < 0) continue;
		used.add(index);
		feedback[feed.name] = fetches[index].name;
	}
	if (feeds.length > 0 && feeds.every((feed) => feed.name in feedback)) delete feedback[feeds[0].name];
	return feedback;
}

/** Zeros for every feed that is not fed back (those start at zero anyway); `steps` runs. */
export function zeroInputs(feeds: readonly TensorSignature[], feedback: Record<string, string>, steps: number): StepInputs {
	const given = feeds.filter((feed) => !(feed.name in feedback));
	return {
		feeds: Object.fromEntries(given.map((feed) => [feed.name, zerosOfShape(feed.shape)])),
		steps,
		...(Object.keys(feedback).length > 0 ? { feedback } : {}),
	};
}

/** "global/Placeholder_1 ← global/rnn/while/Exit_2, ..." for a quick pick's detail. */
export function describeFeedback(feedback: Record<string, string>): string {
	return Object.entries(feedback).map(([feed, fetch]) => `${feed} ← ${fetch}`).join(", ");
}

/** "60 step(s) from feedsPerStep, feeds input/Ob" for a quick pick's description. */
export function describeInputs(inputs: StepInputs): string {
	const entries = inputs.feedsPerStep;
	const names = new Set([...Object.keys(inputs.feeds), ...(entries ?? []).flatMap((entry) => Object.keys(entry))]);
	const source = entries ? ` from feedsPerStep (${entries.length} entries)` : "";
	return `${stepCount(inputs)} step(s)${source}, feeds ${[...names].join(", ")}`;
}
