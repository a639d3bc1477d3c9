import type { Graph } from "../graph/graph";
import type { MetaGraphDef } from "./tf/proto/types";

export type ModelFormat = "GraphDef" | "GraphDef (text)" | "MetaGraphDef" | "MetaGraphDef (text)" | "SavedModel";

/** A model as read from disk: the graph in the IR plus what came with it. */
export interface LoadedModel {
	file: string;
	format: ModelFormat;
	graph: Graph;
	metaGraph?: MetaGraphDef;
	/** Checkpoint prefix found beside the model (`X.meta` -> `X`, SavedModel -> `variables/variables`). */
	checkpointPrefix?: string;
}

/** Raised when a file is not a model Kernel NN can read; names the file and what it looked like. */
export class ModelLoadError extends Error {}
