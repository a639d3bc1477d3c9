import * as fs from "node:fs";
import { openCheckpoint } from "../frontends/tf/checkpoint/bundle";
import { type ConfigFile, type ConfigProblem, configRef, formatProblem, parseConfig, validateConfig } from "../frontends/tf/tf2xlaConfig";
import { type FreezeResult, assertSelfContained, freezeGraph } from "../frontends/tf/freeze";
import type { Graph } from "../graph/graph";
import { isVariable } from "../ops/variables";
import { type LoadedModel, ModelLoadError, loadModel } from "../frontends";
import { codedError } from "../util/errors";

/**
 * Loads a model and, when what the fetches need still holds variables, freezes it with the given checkpoint
 * (or the one found beside the model).
 */
export function loadFrozen(file: string, fetchNodes: readonly string[], checkpoint?: string): { model: LoadedModel; graph: Graph; freeze?: FreezeResult } {
	const model = loadModel(file);
	for (const fetch of fetchNodes) {
		if (!model.graph.has(fetch)) throw new ModelLoadError(`${file}: the graph has no node named "${fetch}"; knn inspect lists the nodes`);
	}
	return { model, ...freezeForFetches(model, fetchNodes, checkpoint) };
}

/**
 * The graph the fetches run on: the model's own when what they need holds no variable, else frozen with the
 * checkpoint (given, or found beside the model). The one rule the CLI, deploy and VS Code share.
 */
export function freezeForFetches(model: LoadedModel, fetchNodes: readonly string[], checkpoint?: string): { graph: Graph; freeze?: FreezeResult } {
	const needed = model.graph.ancestors(fetchNodes);
	assertSelfContained(model.graph, needed);
	const hasVariables = [...needed].some((name) => isVariable(model.graph.node(name).op));
	if (!hasVariables) return { graph: model.graph };
	const prefix = checkpoint ?? model.checkpointPrefix;
	if (!prefix) {
		throw new ModelLoadError(`${model.file}: the fetches depend on variables, but no checkpoint was found beside the model; pass it with --checkpoint PREFIX (the path without .index), or freeze the model first with knn freeze`);
	}
	const freeze = freezeGraph(model.graph, openCheckpoint(prefix), fetchNodes, { metaGraph: model.metaGraph });
	return { graph: freeze.graph, freeze };
}

/** A config whose validation against its model found errors; `problems` has each with file, line and column. */
export class ConfigMismatchError extends codedError("config", "ConfigMismatchError") {
	constructor(readonly problems: ConfigProblem[]) {
		super(problems.map(formatProblem).join("\n"));
	}
}

/**
 * Reads a graph.config.pbtxt, loads its model (frozen with the checkpoint when its fetches need variables) and
 * validates the one against the other; throws ConfigMismatchError listing every error.
 */
export function loadConfigured(modelPath: string, configPath: string, checkpoint?: string): { graph: Graph; parsed: ConfigFile } {
	const parsed = parseConfig(fs.readFileSync(configPath, "utf8"), configPath);
	const model = loadModel(modelPath);
	// Feeds are frozen along with the fetches, so that one no fetch reads is reported as unused, as `knn config --check` does.
	const named = [...parsed.config.fetch, ...parsed.config.feed].map((f) => configRef(f).node).filter((n) => model.graph.has(n));
	const { graph } = freezeForFetches(model, named, checkpoint);
	const errors = validateConfig(graph, parsed).filter((p) => p.severity === "error");
	if (errors.length > 0) throw new ConfigMismatchError(errors);
	return { graph, parsed };
}
