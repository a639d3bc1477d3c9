import * as fs from "node:fs";
import * as path from "node:path";
import { decodeGraphDef, decodeMetaGraphDef, decodeSavedModel, types } from "./proto/registry";
import { TextFormatError, parseTextProto } from "./proto/textFormat";
import type { GraphDef, MetaGraphDef, SavedModel } from "./proto/types";
import { Graph, GraphError } from "../../graph/graph";
import { type LoadedModel, type ModelFormat, ModelLoadError } from "../model";
import type { TfKind } from "../sniff";
import { signaturesOf } from "./signatures";
import { inlineFunctions } from "./functions";

/** Reads a TensorFlow model file whose kind `sniff` recognised. */
export function loadTfBytes(bytes: Uint8Array, file: string, kind: TfKind): LoadedModel {
	try {
		switch (kind) {
			case "GraphDef":
				return withGraph(file, "GraphDef", decodeGraphDef(bytes));
			case "MetaGraphDef":
				return fromMetaGraph(file, "MetaGraphDef", decodeMetaGraphDef(bytes));
			case "SavedModel":
				return fromSavedModel(file, decodeSavedModel(bytes));
			case "text":
				return loadText(new TextDecoder().decode(bytes), file);
		}
	} catch (error) {
		if (error instanceof ModelLoadError || error instanceof TextFormatError) throw error;
		const detail = error instanceof Error ? error.message : String(error);
		throw new ModelLoadError(`${file}: looks like a ${kind === "text" ? "text protobuf" : kind} but could not be read: ${detail}`);
	}
}

function withGraph(file: string, format: ModelFormat, def: GraphDef, extra: Partial<LoadedModel> = {}): LoadedModel {
	try {
		// TF2 graphs call functions of their library; the IR has none, so every call is inlined here.
		return { file, format, graph: Graph.fromGraphDef(inlineFunctions(def)), ...extra };
	} catch (error) {
		if (error instanceof GraphError) throw new ModelLoadError(`${file}: ${error.message}`);
		throw error;
	}
}

function fromMetaGraph(file: string, format: ModelFormat, meta: MetaGraphDef, checkpointPrefix = siblingCheckpoint(file)): LoadedModel {
	if (!meta.graph_def) throw new ModelLoadError(`${file}: the MetaGraphDef has no graph_def`);
	return withGraph(file, format, meta.graph_def, { metaGraph: meta, checkpointPrefix, signatures: signaturesOf(meta) });
}

function fromSavedModel(file: string, saved: SavedModel): LoadedModel {
	const metas = saved.meta_graphs ?? [];
	if (metas.length === 0) throw new ModelLoadError(`${file}: the SavedModel has no meta graphs`);
	// Serving graphs are what gets deployed; fall back to the first one.
	const meta = metas.find((m) => (m.meta_info_def?.tags ?? []).includes("serve")) ?? metas[0];
	const prefix = path.join(path.dirname(file), "variables", "variables");
	const model = fromMetaGraph(file, "SavedModel", meta, fs.existsSync(`${prefix}.index`) ? prefix : undefined);
	return model;
}

/** The model file inside a SavedModel directory, or undefined when the directory is not one. */
export function savedModelFile(dir: string): string | undefined {
	return ["saved_model.pb", "saved_model.pbtxt"].map((name) => path.join(dir, name)).find((file) => fs.existsSync(file));
}

function siblingCheckpoint(file: string): string | undefined {
	const prefix = file.replace(/\.meta$/, "");
	return prefix !== file && fs.existsSync(`${prefix}.index`) ? prefix : undefined;
}

// Models are not edited in place, so their field positions are not worth the memory.
const NO_POSITIONS = { positions: false };

function loadText(text: string, file: string): LoadedModel {
	const first = /^(?:\s|#[^\n]*\n)*([A-Za-z_][A-Za-z0-9_]*)/.exec(text)?.[1];
	switch (first) {
		case "node": case "versions": case "library": case "version":
			return withGraph(file, "GraphDef (text)", parseTextProto<GraphDef>(text, types.GraphDef, file, NO_POSITIONS).message);
		case "meta_info_def": case "graph_def": case "saver_def": case "collection_def": case "signature_def":
			return fromMetaGraph(file, "MetaGraphDef (text)", parseTextProto<MetaGraphDef>(text, types.MetaGraphDef, file, NO_POSITIONS).message);
		case "saved_model_schema_version": case "meta_graphs":
			return fromSavedModel(file, parseTextProto<SavedModel>(text, types.SavedModel, file, NO_POSITIONS).message);
		case "feed": case "fetch":
			throw new ModelLoadError(`${file}: this is a tf2xla config (graph.config.pbtxt), not a model; pass it with --config`);
		default:
			throw new ModelLoadError(`${file}: a text file, but not a text GraphDef, MetaGraphDef or SavedModel (it starts with ${JSON.stringify(text.slice(0, 40))})`);
	}
}
