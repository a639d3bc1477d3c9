// graph.config.pbtxt from the feeds and fetches picked in the inspector. No `vscode` here.
import { type Checkpoint, openCheckpoint } from "../../core/frontends/tf/checkpoint/bundle";
import { ConfigError, buildConfig, formatConfig } from "../../core/frontends/tf/tf2xlaConfig";
import { freezeGraph } from "../../core/frontends/tf/freeze";
import { type Graph, parseInputName } from "../../core/graph/graph";
import { isVariable } from "../../core/ops/variables";
import type { LoadedModel } from "../../core/frontends";
import { modelCommentLine } from "../configModelRef";

export interface PickedFeed {
	/** "node" or "node:N". */
	name: string;
	/** Omitted: the placeholder's declared shape, which must then be fully static. */
	shape?: number[];
}

/**
 * The text of graph.config.pbtxt for the picks, in pick order (the generated code's argument and result order).
 * The first line names the model relative to the config so that validation finds it. A model whose fetches read
 * variables is frozen with its checkpoint first, so that the picks are checked against the graph that will run.
 * Throws ConfigError with a sentence naming the node when a pick cannot work.
 */
export function pickedConfigText(model: LoadedModel, feeds: readonly PickedFeed[], fetches: readonly string[], modelRelativePath: string,
	checkpoint: () => Checkpoint | undefined = () => (model.checkpointPrefix ? openCheckpoint(model.checkpointPrefix) : undefined)): string {
	if (fetches.length === 0) throw new ConfigError("pick at least one fetch (\"Use as fetch\"): a config without fetches computes nothing");
	const feedRequests = feeds.map((feed) => {
		const { ref, control } = parseInputName(feed.name);
		if (control) throw new ConfigError(`feed "${feed.name}": a control input cannot be fed; pick the node without "^"`);
		if (feed.shape?.some((d) => !Number.isInteger(d) || d < 0)) {
			throw new ConfigError(`feed "${feed.name}": shape [${feed.shape.join(",")}] must be whole numbers of zero or more, e.g. 1x9`);
		}
		return { ref, ...(feed.shape ? { shape: feed.shape } : {}) };
	});
	const fetchRequests = fetches.map((fetch) => ({ ref: parseInputName(fetch).ref }));
	for (const { ref } of [...feedRequests, ...fetchRequests]) {
		if (!model.graph.has(ref.node)) throw new ConfigError(`"${ref.node}" names no node of ${model.file}`);
	}
	const graph = graphToCheck(model, fetchRequests.map((f) => f.ref.node), feedRequests.map((f) => f.ref.node), checkpoint);
	const { config, inference } = buildConfig(graph, feedRequests, fetchRequests);
	return `${modelCommentLine(modelRelativePath)}\n${formatConfig(config, inference)}`;
}

function graphToCheck(model: LoadedModel, fetchNodes: string[], feedNodes: string[], checkpoint: () => Checkpoint | undefined): Graph {
	const needed = model.graph.ancestors(fetchNodes, new Set(feedNodes));
	const variables = [...needed].filter((name) => isVariable(model.graph.node(name).op));
	if (variables.length === 0) return model.graph;
	const opened = checkpoint();
	if (!opened) {
		throw new ConfigError(`the fetches read variable "${variables[0]}"${variables.length > 1 ? ` and ${variables.length - 1} more` : ""}, ` +
			`and no checkpoint sits beside ${model.file}: put its .index and .data files beside the model, or freeze it first (knn freeze)`);
	}
	// Feeds are kept even when no fetch reads them, so that they are reported as such rather than as missing.
	return freezeGraph(model.graph, opened, [...new Set([...fetchNodes, ...feedNodes])], { metaGraph: model.metaGraph }).graph;
}
