import type { Graph } from "../graph/graph";
import type { DType } from "../graph/tensor";
import type { MetaGraphDef } from "./tf/proto/types";
import { codedError } from "../util/errors";

export type ModelFormat = "GraphDef" | "GraphDef (text)" | "MetaGraphDef" | "MetaGraphDef (text)" | "SavedModel" | "ONNX" | "TFLite";

/** A model as read from disk: the graph in the IR plus what came with it. */
export interface LoadedModel {
	file: string;
	format: ModelFormat;
	graph: Graph;
	metaGraph?: MetaGraphDef;
	/** Checkpoint prefix found beside the model (`X.meta` -> `X`, SavedModel -> `variables/variables`). */
	checkpointPrefix?: string;
	/** The model's named entry points (a SavedModel's SignatureDefs), sorted by key; empty when it declares none. */
	signatures?: ModelSignature[];
	/** The inputs and outputs a format declares by name (ONNX, TFLite), in graph order, keyed by the format's own names. */
	graphInputs?: SignatureTensor[];
	graphOutputs?: SignatureTensor[];
	/** The file's own op types with node counts, most first, where they differ from the IR's (ONNX, TFLite). */
	sourceOps?: { op: string; count: number }[];
}

/** A named entry point of a model: which tensors it takes and gives, each under a key. */
export interface ModelSignature {
	key: string;
	/** What the entry point is for, e.g. "tensorflow/serving/predict". */
	methodName?: string;
	/** Sorted by key: the order of the feeds and fetches of a config written from this signature. */
	inputs: SignatureTensor[];
	outputs: SignatureTensor[];
}

export interface SignatureTensor {
	key: string;
	/** The graph tensor, "node:index"; "" when the signature describes it some other way (e.g. a sparse tensor). */
	tensor: string;
	/** Undefined when the type is not given or not one Kernel NN knows. */
	dtype?: DType;
	/** Undefined for unknown rank; -1 for an unknown dimension. */
	shape?: number[];
}

/** Raised when a file is not a model Kernel NN can read; names the file and what it looked like. */
export class ModelLoadError extends codedError("model", "ModelLoadError") {}
