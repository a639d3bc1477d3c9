import { configFeeds, configRef } from "../frontends/tf/tf2xlaConfig";
import { type Graph, parseInputName, refKey } from "../graph/graph";
import { fromNested, shapeSize } from "../graph/tensor";
import { StepInputError, type StepInputs } from "../model/steps";
import type { Tf2xlaConfig } from "../frontends/tf/proto/types";

export interface ModuleParameters {
	/** insmod arguments: inputs=..., steps=..., feedback=... */
	list: string[];
}

/**
 * The self-test's module parameters for an inputs file: every argument's float bits as hex words in argument
 * order (zeros where a recurrent feed is not given), the step count, and feedback as argument:result indexes.
 */
export function selftestParameters(graph: Graph, config: Tf2xlaConfig, inputs: StepInputs, where: string): ModuleParameters {
	const feeds = configFeeds(graph, config);
	const fetchKeys = config.fetch.map((f) => refKey(configRef(f)));
	const feedKeys = feeds.map((f) => refKey(f.ref));
	const given = new Map(Object.entries(inputs.feeds).map(([name, value]) => [refKey(parseInputName(name).ref), value]));
	const feedback = Object.entries(inputs.feedback ?? {}).map(([feed, fetch]) => {
		const argument = feedKeys.indexOf(refKey(parseInputName(feed).ref));
		const result = fetchKeys.indexOf(refKey(parseInputName(fetch).ref));
		if (argument < 0 || result < 0) throw new StepInputError(`${where}: feedback "${feed}" <- "${fetch}" does not name a feed and a fetch of the config`);
		return `${argument}:${result}`;
	});
	const words: string[] = [];
	feeds.forEach((feed, i) => {
		if (feed.dtype !== "float32") throw new StepInputError(`${where}: feed "${feedKeys[i]}" is ${feed.dtype}; the self-test takes float32 inputs`);
		const value = given.get(feedKeys[i]);
		const data = value === undefined ? new Float32Array(shapeSize(feed.shape)) : new Float32Array(fromNested(value, "float32", `${where}: feeds["${feedKeys[i]}"]`).data as Float32Array);
		if (data.length !== shapeSize(feed.shape)) throw new StepInputError(`${where}: feed "${feedKeys[i]}" needs ${shapeSize(feed.shape)} values, got ${data.length}`);
		for (const bits of new Uint32Array(data.buffer)) words.push(bits.toString(16).padStart(8, "0"));
	});
	const list = [`inputs=${words.join(",")}`, `steps=${inputs.steps ?? 1}`];
	if (feedback.length > 0) list.push(`feedback=${feedback.join(",")}`);
	return { list };
}
