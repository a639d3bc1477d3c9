// One fuzz case from (format, index, run seed): a model, its config and its inputs, each possibly mutated, and a
// line per mutation saying what was done. The same three numbers always make the same case.
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { writeTflite } from "../../extension/core/frontends/tflite/write";
import { mutateBytes } from "./bytes";
import { type SeedIo, makeConfig, makeInputs } from "./configInputs";
import { encodeOnnxModel, mutateOnnx, onnxSeed } from "./onnxCases";
import { Rng, caseSeed } from "./random";
import { encodeGraphDef, mutateGraphDef, tfSeed } from "./tfCases";
import { mutateTflite, tfliteSeed } from "./tfliteCases";

export const FORMATS = ["tf", "onnx", "tflite"] as const;
export type FuzzFormat = typeof FORMATS[number];

export interface CaseOptions {
	/** The longest chain a seed may have (CI keeps it short, the long run goes further). */
	maxChain: number;
}

export interface FuzzCase {
	format: FuzzFormat;
	index: number;
	seed: number;
	/** The seed model it started from, e.g. "shapes" or "chain1000". */
	seedModel: string;
	modelFile: string;
	model: Uint8Array;
	config: string;
	inputs: string;
	/** Empty for an unmutated seed, which must go through every stage. */
	mutations: string[];
}

/** Mutates a model object with 1-3 structural changes, encodes it, and sometimes damages the bytes as well. */
function mutated<T>(model: T, mutate: (model: T, rng: Rng) => string, encode: (model: T) => Uint8Array, valid: Uint8Array, rng: Rng, mutations: string[]): Uint8Array {
	// Mostly one change, so that many cases get past loading and reach run and compile.
	const count = rng.pick([1, 1, 1, 1, 2, 2, 3]);
	for (let i = 0; i < count; i++) mutations.push(mutate(model, rng));
	let bytes: Uint8Array;
	try {
		bytes = encode(model);
	} catch (error) {
		// The writer refused the structure (e.g. a negative offset): damage the valid bytes instead.
		mutations.push(`writer refused (${(error as Error).message.slice(0, 60)}); bytes damaged instead`);
		bytes = mutateBytes(valid, rng);
	}
	if (rng.chance(0.15)) {
		mutations.push("bytes damaged after encoding");
		bytes = mutateBytes(bytes, rng);
	}
	return bytes;
}

export function makeCase(format: FuzzFormat, index: number, runSeed: number, options: CaseOptions): FuzzCase {
	const seed = caseSeed(runSeed, format, index);
	const rng = new Rng(seed);
	const pristine = rng.chance(0.05);
	const mutateModel = !pristine && rng.chance(0.75);
	const mutations: string[] = [];
	let seedModel: string;
	let io: SeedIo;
	let model: Uint8Array;
	let modelFile: string;
	if (format === "tf") {
		const s = tfSeed(rng, options.maxChain);
		({ name: seedModel, io } = s);
		const valid = encodeMessage(types.GraphDef, s.def);
		if (mutateModel) {
			const encoded = { ext: "pb" };
			model = mutated(s.def, mutateGraphDef, (def) => {
				const e = encodeGraphDef(def, rng);
				encoded.ext = e.ext;
				return e.bytes;
			}, valid, rng, mutations);
			modelFile = `model.${encoded.ext}`;
		} else {
			model = valid;
			modelFile = "model.pb";
		}
	} else if (format === "onnx") {
		const s = onnxSeed(rng, options.maxChain);
		({ name: seedModel, io } = s);
		const valid = encodeOnnxModel(s.model);
		model = mutateModel ? mutated(s.model, mutateOnnx, encodeOnnxModel, valid, rng, mutations) : valid;
		modelFile = "model.onnx";
	} else {
		const s = tfliteSeed(rng, options.maxChain);
		({ name: seedModel, io } = s);
		const valid = writeTflite(s.model);
		model = mutateModel ? mutated(s.model, mutateTflite, writeTflite, valid, rng, mutations) : valid;
		modelFile = "model.tflite";
	}
	const config = makeConfig(io, rng, pristine ? 0 : mutateModel ? 0.1 : 0.5);
	if (config.mutation) mutations.push(`config: ${config.mutation}`);
	const inputs = makeInputs(io, rng, pristine ? 0 : mutateModel ? 0.1 : 0.6);
	if (inputs.mutation) mutations.push(`inputs: ${inputs.mutation}`);
	return { format, index, seed, seedModel, modelFile, model, config: config.text, inputs: inputs.text, mutations };
}
