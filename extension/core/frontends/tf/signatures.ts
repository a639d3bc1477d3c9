// A SavedModel's SignatureDefs: read into the neutral ModelSignature, and turned into the feeds and fetches of a
// tf2xla config, so that a model with `serving_default` needs no hand-picked node names.
import { parseInputName, refKey } from "../../graph/graph";
import { type DType, dtypeFromEnum, shapeFromProto } from "../../graph/tensor";
import { declaredShape } from "../../interp/infer";
import type { LoadedModel, ModelSignature, SignatureTensor } from "../model";
import { ConfigError, type FeedRequest, type FetchRequest } from "./tf2xlaConfig";
import type { MetaGraphDef, TensorInfo } from "./proto/types";

/** The signatures of a MetaGraphDef, sorted by key, each with its inputs and outputs sorted by key. */
export function signaturesOf(meta: MetaGraphDef): ModelSignature[] {
	return Object.entries(meta.signature_def ?? {}).sort(([a], [b]) => compareKeys(a, b)).map(([key, def]) => ({
		key,
		...(def.method_name ? { methodName: def.method_name } : {}),
		inputs: signatureTensors(def.inputs),
		outputs: signatureTensors(def.outputs),
	}));
}

// Code point order, as TensorFlow's sorted maps (and Python's sorted()) have it, independent of the locale.
function compareKeys(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

function signatureTensors(map: Record<string, TensorInfo> | undefined): SignatureTensor[] {
	return Object.entries(map ?? {}).sort(([a], [b]) => compareKeys(a, b)).map(([key, info]) => {
		const dtype = knownDType(info.dtype);
		const shape = shapeFromProto(info.tensor_shape ?? undefined);
		return { key, tensor: info.name ?? "", ...(dtype ? { dtype } : {}), ...(shape ? { shape } : {}) };
	});
}

function knownDType(value: number | undefined): DType | undefined {
	if (!value) return undefined;
	try {
		return dtypeFromEnum(value, "signature");
	} catch {
		return undefined;
	}
}

/** The signature named `key`, or a ConfigError naming the ones the model has. */
export function findSignature(model: LoadedModel, key: string): ModelSignature {
	const signatures = model.signatures ?? [];
	const found = signatures.find((s) => s.key === key);
	if (found) return found;
	if (signatures.length === 0) {
		throw new ConfigError(`${model.file} has no signatures (only a SavedModel or MetaGraphDef declares them): name the feeds and fetches with --feed and --fetch instead`);
	}
	throw new ConfigError(`${model.file} has no signature "${key}"; it has ${signatures.map((s) => `"${s.key}"`).join(", ")}`);
}

/**
 * The feeds and fetches of a config for a signature: its inputs then its outputs in key order, each named by its
 * key. Unknown dimensions (the batch, usually) become `batch`; an input of unknown rank takes the placeholder's
 * declared shape.
 */
export function signatureRequests(model: LoadedModel, key: string, batch = 1): { feeds: FeedRequest[]; fetches: FetchRequest[] } {
	const signature = findSignature(model, key);
	if (signature.outputs.length === 0) throw new ConfigError(`signature "${key}" of ${model.file} has no outputs: there is nothing to fetch`);
	const feeds = signature.inputs.map((input): FeedRequest => {
		const ref = tensorRef(model, signature, input, "input");
		const shape = input.shape ?? declaredShape(model.graph.node(ref.node));
		if (!shape) {
			throw new ConfigError(`signature "${key}" input "${input.key}" (${refKey(ref)}) has unknown rank, and so has the graph: ` +
				`give the feeds yourself, e.g. --feed ${refKey(ref)}=1x9 with the dimensions the model expects`);
		}
		return { ref, shape: shape.map((d) => (d < 0 ? batch : d)), name: input.key };
	});
	const fetches = signature.outputs.map((output): FetchRequest => ({ ref: tensorRef(model, signature, output, "output"), name: output.key }));
	return { feeds, fetches };
}

function tensorRef(model: LoadedModel, signature: ModelSignature, tensor: SignatureTensor, kind: "input" | "output") {
	const where = `signature "${signature.key}" ${kind} "${tensor.key}"`;
	if (tensor.tensor === "") {
		throw new ConfigError(`${where} names no tensor (a sparse or composite ${kind}?); Kernel NN takes dense tensors: use --feed and --fetch with node names`);
	}
	const { ref, control } = parseInputName(tensor.tensor);
	if (control || !model.graph.has(ref.node)) {
		throw new ConfigError(`${where} is tensor "${tensor.tensor}", which names no node of ${model.file}; the signature does not match its graph`);
	}
	return ref;
}
