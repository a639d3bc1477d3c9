import * as fs from "node:fs";
import { type LoadedModel, ModelLoadError } from "./model";
import { sniff } from "./sniff";
import { loadOnnxBytes } from "./onnx/load";
import { loadTfliteBytes } from "./tflite/load";
import { loadTfBytes, savedModelFile } from "./tf/load";

export { type LoadedModel, type ModelFormat, ModelLoadError } from "./model";

/** Loads a model by its content, not its file name. `file` may be a SavedModel directory. */
export function loadModel(file: string): LoadedModel {
	let stat: fs.Stats;
	try {
		stat = fs.statSync(file);
	} catch {
		throw new ModelLoadError(`${file}: no such file or directory`);
	}
	if (stat.isDirectory()) {
		const inner = savedModelFile(file);
		if (!inner) throw new ModelLoadError(`${file}: a directory, but not a SavedModel (no saved_model.pb or saved_model.pbtxt inside)`);
		return { ...loadModelBytes(fs.readFileSync(inner), inner), format: "SavedModel" };
	}
	return loadModelBytes(fs.readFileSync(file), file);
}

/** Reads a model from its bytes; `file` names it in errors and locates what lies beside it (checkpoints). */
export function loadModelBytes(bytes: Uint8Array, file: string): LoadedModel {
	const sniffed = sniff(bytes);
	switch (sniffed.frontend) {
		case "tf":
			return loadTfBytes(bytes, file, sniffed.kind);
		case "onnx":
			return loadOnnxBytes(bytes, file);
		case "tflite":
			return loadTfliteBytes(bytes, file);
		default:
			throw new ModelLoadError(`${file}: not a model Kernel NN reads (a TensorFlow GraphDef, MetaGraphDef or SavedModel, an ONNX model or a TensorFlow Lite flatbuffer); it looks like ${sniffed.looksLike}`);
	}
}
