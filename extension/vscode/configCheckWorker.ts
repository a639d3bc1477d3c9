// The config check's worker thread: loading, freezing and running a model happen here, never on the extension
// host's thread, so a hostile or huge model cannot freeze the editor (the host terminates this thread on a timeout).
import * as fs from "node:fs";
import { parentPort } from "node:worker_threads";
import { type LoadedModel, loadModel } from "../core/frontends";
import { configRef, parseConfig, validateConfig } from "../core/frontends/tf/tf2xlaConfig";
import { freezeForFetches } from "../core/model/prepare";
import { withMemoryLimit, withWorkLimit } from "../core/util/budget";
import { knnErrorCode } from "../core/util/errors";
import type { ConfigCheckRequest, ConfigCheckResponse } from "./configCheckProtocol";

// Validation runs on every edit: a model is read again only when its file changes.
const models = new Map<string, { mtimeMs: number; model: LoadedModel }>();

function modelAt(file: string): LoadedModel {
	const mtimeMs = fs.statSync(file).mtimeMs;
	const cached = models.get(file);
	if (cached && cached.mtimeMs === mtimeMs) return cached.model;
	if (models.size >= 4) models.clear();
	const model = loadModel(file);
	models.set(file, { mtimeMs, model });
	return model;
}

/** The problems of one config text, as `knn config --check` finds them. */
export function checkConfigInWorker(request: ConfigCheckRequest): ConfigCheckResponse {
	try {
		return withMemoryLimit(request.maxMemory, () => withWorkLimit(request.maxWork, () => {
			const parsed = parseConfig(request.text, request.configPath);
			const model = modelAt(request.modelPath);
			const named = [...parsed.config.fetch, ...parsed.config.feed].map((f) => configRef(f).node).filter((n) => model.graph.has(n));
			const graph = named.length > 0 ? freezeForFetches(model, named).graph : model.graph;
			return { id: request.id, ok: true, problems: validateConfig(graph, parsed) };
		}));
	} catch (error) {
		return { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error), code: knnErrorCode(error) };
	}
}

parentPort?.on("message", (request: ConfigCheckRequest) => {
	parentPort!.postMessage(checkConfigInWorker(request));
});
