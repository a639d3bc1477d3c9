// Config requests from the names an ONNX graph declares: every graph input then every graph output, in graph order.
import { parseInputName, refKey } from "../../graph/graph";
import { formatShape } from "../../graph/tensor";
import { ConfigError, type FeedRequest, type FetchRequest, parseFeedArgument } from "../tf/tf2xlaConfig";
import type { LoadedModel } from "../model";

/**
 * Feeds are the graph inputs (initializers are weights, never feeds) with dynamic dimensions set to 1, except where a
 * `--feed NAME=SHAPE` gives the shape; a --feed naming no graph input feeds that tensor too. Fetches are the graph
 * outputs, or the `--fetch` list when one is given.
 */
export function graphIoRequests(model: LoadedModel, feedArgs: readonly string[], fetchArgs: readonly string[]): { feeds: FeedRequest[]; fetches: FetchRequest[] } {
	const inputs = model.graphInputs ?? [];
	const overrides = feedArgs.map(parseFeedArgument);
	const feeds = inputs.map((input): FeedRequest => {
		const ref = parseInputName(input.tensor).ref;
		const override = overrides.find((o) => refKey(o.ref) === refKey(ref) || refKey(o.ref) === input.key);
		if (override?.shape) return { ref, shape: override.shape };
		if (!input.shape) {
			throw new ConfigError(`${model.file}: graph input "${input.key}" has unknown rank ${formatShape(input.shape)}; give its shape, e.g. --feed ${input.tensor}=1x9`);
		}
		return { ref, shape: input.shape.map((d) => (d < 0 ? 1 : d)) };
	});
	for (const override of overrides) {
		const known = feeds.some((f) => refKey(f.ref) === refKey(override.ref)) || inputs.some((i) => i.key === refKey(override.ref));
		if (!known) feeds.push(override);
	}
	const fetches = fetchArgs.length > 0
		? fetchArgs.map((text): FetchRequest => ({ ref: parseInputName(text).ref }))
		: (model.graphOutputs ?? []).map((output): FetchRequest => ({ ref: parseInputName(output.tensor).ref }));
	if (fetches.length === 0) throw new ConfigError(`${model.file}: the ONNX graph declares no outputs; name what to fetch with --fetch`);
	return { feeds, fetches };
}
