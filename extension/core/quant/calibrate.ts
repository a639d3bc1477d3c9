// Calibration data for post-training quantization: samples read from a .npy array or an inputs.json file, and
// the float model run over each of them with every intermediate tensor kept, so ranges and errors can be measured.
import * as fs from "node:fs";
import { type Graph, type TensorRef, parseInputName, refKey } from "../graph/graph";
import { type Tensor, formatShape, fromNested, makeTensor, shapeSize } from "../graph/tensor";
import type { FeedSpec } from "../interp/infer";
import { runGraph } from "../interp/executor";
import { codedError } from "../util/errors";

/** A calibration file that cannot be read or does not fit the config's feeds; names the file and what to fix. */
export class CalibrationError extends codedError("quantize", "CalibrationError") {}

/** One calibration sample: a value for every feed, keyed by refKey. */
export type Sample = Map<string, Tensor>;

/** Reads calibration samples: a .npy array (one row per sample, for a single feed) or an inputs.json file. */
export function readCalibration(file: string, feeds: readonly FeedSpec[]): Sample[] {
	const bytes = fs.readFileSync(file);
	if (bytes.subarray(0, 6).toString("latin1") === "\x93NUMPY") return npySamples(bytes, file, feeds);
	let json: unknown;
	try {
		json = JSON.parse(bytes.toString("utf8"));
	} catch (error) {
		throw new CalibrationError(`${file}: neither a .npy array nor valid JSON (${error instanceof Error ? error.message : String(error)})`);
	}
	return jsonSamples(json, file, feeds);
}

function npySamples(bytes: Buffer, file: string, feeds: readonly FeedSpec[]): Sample[] {
	if (feeds.length !== 1) throw new CalibrationError(`${file}: a .npy array calibrates a model with one feed, but the config has ${feeds.length}; use an inputs.json with "feedsPerStep"`);
	const { rows, values } = readNpy(bytes, file);
	const feed = feeds[0];
	const size = shapeSize(feed.shape);
	const rowSize = values.length / rows;
	if (rowSize !== size) {
		throw new CalibrationError(`${file}: each of its ${rows} rows has ${rowSize} values, but feed "${refKey(feed.ref)}" ${formatShape(feed.shape)} needs ${size}`);
	}
	return Array.from({ length: rows }, (_, r) => new Map([[refKey(feed.ref), makeTensor("float32", feed.shape, values.subarray(r * size, (r + 1) * size))]]));
}

/** A little-endian float32/float64 .npy array in C order; its first dimension counts the samples. */
function readNpy(bytes: Buffer, file: string): { rows: number; values: Float64Array } {
	const major = bytes[6];
	const headerStart = major === 1 ? 10 : 12;
	const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
	const header = bytes.subarray(headerStart, headerStart + headerLength).toString("latin1");
	const descr = /'descr':\s*'([<|]f[48])'/.exec(header)?.[1];
	if (!descr) throw new CalibrationError(`${file}: expected a little-endian float32 or float64 array, the header says ${header.trim()}`);
	if (!/'fortran_order':\s*False/.test(header)) throw new CalibrationError(`${file}: the array is in Fortran order; save it in C order (numpy.ascontiguousarray)`);
	const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "";
	const shape = shapeText.split(",").map((d) => d.trim()).filter((d) => d !== "").map(Number);
	if (shape.length === 0) throw new CalibrationError(`${file}: a scalar is not a data set; expected one row per sample`);
	const width = descr.endsWith("8") ? 8 : 4;
	const count = shapeSize(shape);
	const data = bytes.subarray(headerStart + headerLength);
	if (data.length < count * width) throw new CalibrationError(`${file}: ${formatShape(shape)} needs ${count * width} bytes of data, the file has ${data.length}`);
	const values = new Float64Array(count);
	for (let i = 0; i < count; i++) values[i] = width === 8 ? data.readDoubleLE(i * 8) : data.readFloatLE(i * 4);
	return { rows: shape[0], values };
}

/** inputs.json: each "feedsPerStep" entry is a sample (feeds it leaves out come from "feeds"), else "feeds" is one. */
function jsonSamples(json: unknown, file: string, feeds: readonly FeedSpec[]): Sample[] {
	const record = (typeof json === "object" && json !== null && !Array.isArray(json) ? json : {}) as Record<string, unknown>;
	const base = objectField(record.feeds, file, "feeds") ?? {};
	const perStep = record.feedsPerStep;
	if (perStep !== undefined && !Array.isArray(perStep)) throw new CalibrationError(`${file}: "feedsPerStep" must be an array of objects mapping feed names to values`);
	const entries = perStep ? perStep.map((entry, i) => objectField(entry, file, `feedsPerStep[${i}]`) ?? {}) : [{}];
	if (entries.length === 0) throw new CalibrationError(`${file}: "feedsPerStep" is empty; give at least one sample`);
	return entries.map((entry, i) => {
		const given = new Map(Object.entries({ ...base, ...entry }).map(([name, value]) => [refKey(parseInputName(name).ref), value]));
		return new Map(feeds.map((feed) => {
			const key = refKey(feed.ref);
			const value = given.get(key);
			if (value === undefined) throw new CalibrationError(`${file}: sample ${i} has no value for feed "${key}" ${formatShape(feed.shape)}`);
			const tensor = fromNested(value, "float32", `${file}: sample ${i}, feed "${key}"`);
			if (shapeSize(tensor.shape) !== shapeSize(feed.shape)) {
				throw new CalibrationError(`${file}: sample ${i}, feed "${key}" has shape ${formatShape(tensor.shape)}, but the config says ${formatShape(feed.shape)}`);
			}
			return [key, { ...tensor, shape: feed.shape }];
		}));
	});
}

function objectField(value: unknown, file: string, field: string): Record<string, unknown> | undefined {
	if (value === undefined) return undefined;
	if (typeof value !== "object" || value === null || Array.isArray(value)) throw new CalibrationError(`${file}: "${field}" must be an object mapping feed names to values`);
	return value as Record<string, unknown>;
}

/** Output 0 of every node the fetches need, per sample, as float64 values: what ranges and errors are measured on. */
export function runFloat(graph: Graph, samples: readonly Sample[], fetches: readonly TensorRef[]): Map<string, Float64Array>[] {
	return samples.map((sample) => {
		const values = new Map<string, Float64Array>();
		runGraph(graph, sample, fetches, {
			onNodeOutputs: (node, outputs) => {
				const first = outputs[0];
				if (first && (first.dtype === "float32" || first.dtype === "float64")) values.set(node.name, Float64Array.from(first.data as ArrayLike<number>));
			},
		});
		for (const [key, tensor] of sample) values.set(key.replace(/:0$/, ""), Float64Array.from(tensor.data as ArrayLike<number>));
		return values;
	});
}
