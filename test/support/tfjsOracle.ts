import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { type GraphModel, loadGraphModelSync } from "@tensorflow/tfjs-converter";
import { type DType, type Tensor, dtypeFromEnum, dtypeTfName, numbers, tensorFromProto } from "../../extension/core/graph/tensor";
import type { AttrValue, GraphDef, TensorShapeProto } from "../../extension/core/frontends/tf/proto/types";
import { has } from "../../extension/core/frontends/tf/proto/types";

// An independent executor for tests: runs our GraphDefs through tfjs-converter on the CPU backend. tfjs reads
// the graph as the JSON the Python converter writes (camelCase, int64 as decimal strings, enums by name,
// bytes as base64) and Const values from a separate weights blob, so the graph is translated into that form.

type TfjsDType = "float32" | "int32" | "bool";

interface WeightSpec {
	name: string;
	shape: number[];
	dtype: TfjsDType | "string";
}

let ready: Promise<void> | undefined;

function init(): Promise<void> {
	if (!ready) {
		// PROD silences the "install tfjs-node" banner and skips debug-mode checks.
		tf.env().set("PROD", true);
		ready = tf.setBackend("cpu").then((ok) => {
			if (!ok) throw new Error("tfjs could not start its CPU backend");
		});
	}
	return ready;
}

function base64(bytes: Uint8Array): string {
	return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

// tfjs computes with float32, int32 and bool only; the Python converter narrows the rest the same way.
function tfjsDType(dtype: DType, where: string): TfjsDType {
	switch (dtype) {
		case "float32": case "float64": case "float16": case "bfloat16": return "float32";
		case "int8": case "int16": case "int32": case "int64": case "uint8": case "uint16": case "uint32": case "uint64": return "int32";
		case "bool": return "bool";
		default: throw new Error(`${where}: tfjs cannot hold ${dtype} tensors`);
	}
}

function shapeJson(shape: TensorShapeProto): Record<string, unknown> {
	if (shape.unknown_rank) return { unknownRank: true };
	return { dim: (shape.dim ?? []).map((d) => ({ size: String(d.size ?? 0) })) };
}

function typeJson(value: number): string {
	try {
		return dtypeTfName(dtypeFromEnum(value, "attribute"));
	} catch {
		// Types Kernel NN does not model (quantized, references to them) are never computed with by tfjs either.
		return "DT_INVALID";
	}
}

function attrJson(value: AttrValue): Record<string, unknown> {
	if (has(value, "list")) {
		const list = value.list!;
		const json: Record<string, unknown> = {};
		if (list.i) json.i = list.i.map(String);
		if (list.f) json.f = [...list.f];
		if (list.b) json.b = [...list.b];
		if (list.s) json.s = list.s.map(base64);
		if (list.type) json.type = list.type.map(typeJson);
		if (list.shape) json.shape = list.shape.map(shapeJson);
		return { list: json };
	}
	if (has(value, "s")) return { s: base64(value.s!) };
	if (has(value, "i")) return { i: String(value.i) };
	if (has(value, "f")) return { f: value.f };
	if (has(value, "b")) return { b: value.b };
	if (has(value, "type")) return { type: typeJson(value.type!) };
	if (has(value, "shape")) return { shape: shapeJson(value.shape!) };
	if (has(value, "tensor")) {
		const t = value.tensor!;
		return { tensor: { dtype: typeJson(t.dtype ?? 0), tensorShape: shapeJson(t.tensor_shape ?? {}) } };
	}
	if (has(value, "func")) return { func: { name: value.func!.name } };
	return {};
}

function toTfjs(t: Tensor, where: string): tf.Tensor {
	const dtype = tfjsDType(t.dtype, where);
	const values = numbers(t, where);
	const data = dtype === "float32" ? Float32Array.from(values) : dtype === "int32" ? Int32Array.from(values) : Uint8Array.from(values);
	return tf.tensor(data, t.shape, dtype);
}

function fromTfjs(t: tf.Tensor, where: string): Tensor {
	const values = t.dataSync();
	switch (t.dtype) {
		case "float32": return { dtype: "float32", shape: [...t.shape], data: Float32Array.from(values as Float32Array) };
		case "int32": return { dtype: "int32", shape: [...t.shape], data: Int32Array.from(values as Int32Array) };
		case "bool": return { dtype: "bool", shape: [...t.shape], data: Uint8Array.from(values as Uint8Array) };
		default: throw new Error(`${where}: tfjs returned a ${t.dtype} tensor, which the oracle does not convert`);
	}
}

/** A Const value in tfjs's weights encoding; strings are each a little-endian uint32 length and the bytes. */
function weightBytes(value: Tensor, dtype: WeightSpec["dtype"], where: string): Uint8Array {
	if (dtype === "string") {
		const strings = value.data as Uint8Array[];
		const out = new Uint8Array(strings.reduce((n, b) => n + 4 + b.length, 0));
		const view = new DataView(out.buffer);
		let at = 0;
		for (const bytes of strings) {
			view.setUint32(at, bytes.length, true);
			out.set(bytes, at + 4);
			at += 4 + bytes.length;
		}
		return out;
	}
	const values = numbers(value, where);
	const typed = dtype === "float32" ? Float32Array.from(values) : dtype === "int32" ? Int32Array.from(values) : Uint8Array.from(values);
	return new Uint8Array(typed.buffer);
}

/** The graph as tfjs model artifacts: topology JSON plus every Const value moved into the weights blob. */
function artifacts(graph: GraphDef): { topology: Record<string, unknown>; specs: WeightSpec[]; weights: ArrayBuffer } {
	const specs: WeightSpec[] = [];
	const chunks: Uint8Array[] = [];
	const nodes = graph.node.map((node) => {
		const attr: Record<string, unknown> = {};
		for (const [key, value] of Object.entries(node.attr ?? {})) {
			if (node.op === "Const" && key === "value") continue;
			attr[key] = attrJson(value);
		}
		if (node.op === "Const") {
			const where = `Const "${node.name}"`;
			const valueAttr = node.attr?.value;
			if (!valueAttr?.tensor) throw new Error(`${where} has no value`);
			const value = tensorFromProto(valueAttr.tensor, where);
			const dtype = value.dtype === "string" ? "string" : tfjsDType(value.dtype, where);
			specs.push({ name: node.name, shape: [...value.shape], dtype });
			chunks.push(weightBytes(value, dtype, where));
			// tfjs types the weight from the spec, but keep the attribute consistent with it.
			attr.dtype = { type: dtypeTfName(dtype) };
			attr.value = { tensor: { dtype: dtypeTfName(dtype), tensorShape: { dim: value.shape.map((d) => ({ size: String(d) })) } } };
		}
		const json: Record<string, unknown> = { name: node.name, op: node.op, input: [...(node.input ?? [])], attr };
		if (node.device) json.device = node.device;
		return json;
	});
	const total = chunks.reduce((n, c) => n + c.byteLength, 0);
	const weights = new Uint8Array(total);
	let at = 0;
	for (const chunk of chunks) {
		weights.set(chunk, at);
		at += chunk.byteLength;
	}
	const topology = { node: nodes, versions: { producer: graph.versions?.producer ?? 0, minConsumer: graph.versions?.min_consumer ?? 0 } };
	return { topology, specs, weights: weights.buffer };
}

// tfjs classifies the graph itself: execute() refuses graphs with control flow or dynamic shapes, and
// executeAsync() warns on graphs without them, so try the synchronous path first.
async function execute(model: GraphModel<tf.io.IOHandlerSync>, inputs: Record<string, tf.Tensor>, fetches: string[]): Promise<tf.Tensor | tf.Tensor[]> {
	try {
		return model.execute(inputs, fetches);
	} catch (error) {
		if (error instanceof Error && /executeAsync/.test(error.message)) return model.executeAsync(inputs, fetches);
		throw error;
	}
}

/**
 * Runs a GraphDef with tfjs-converter on the CPU backend. Feeds and fetches are tensor names ("node" or
 * "node:N"). int64 and narrow integer tensors go in as int32 and float64 as float32, as tfjs holds them; results
 * come back as float32, int32 or bool tensors. Executes asynchronously so TF1 control flow and TensorArrays work.
 */
export async function runTfjs(graph: GraphDef, feeds: Record<string, Tensor>, fetches: string[]): Promise<Tensor[]> {
	if ((graph.library?.function?.length ?? 0) > 0) {
		throw new Error("the tfjs oracle does not translate function libraries; inline the functions first");
	}
	await init();
	const { topology, specs, weights } = artifacts(graph);
	const model = loadGraphModelSync({ modelTopology: topology, weightSpecs: specs, weightData: weights, format: "graph-model" });
	const inputs: Record<string, tf.Tensor> = {};
	try {
		for (const [name, value] of Object.entries(feeds)) inputs[name] = toTfjs(value, `feed "${name}"`);
		const result = await execute(model, inputs, fetches);
		const list = Array.isArray(result) ? result : [result as tf.Tensor];
		try {
			return list.map((t, i) => fromTfjs(t, `fetch "${fetches[i]}"`));
		} finally {
			tf.dispose(list);
		}
	} finally {
		tf.dispose(Object.values(inputs));
		model.dispose();
	}
}

/** Mean wall time of one tfjs execution of the graph (loaded once, warmed up), in nanoseconds. */
export async function timeTfjs(graph: GraphDef, feeds: Record<string, Tensor>, fetches: string[], runs: number): Promise<number> {
	await init();
	const { topology, specs, weights } = artifacts(graph);
	const model = loadGraphModelSync({ modelTopology: topology, weightSpecs: specs, weightData: weights, format: "graph-model" });
	const inputs: Record<string, tf.Tensor> = {};
	for (const [name, value] of Object.entries(feeds)) inputs[name] = toTfjs(value, `feed "${name}"`);
	const once = async () => tf.dispose(await execute(model, inputs, fetches));
	try {
		for (let i = 0; i < Math.max(3, runs / 10); i++) await once();
		const start = process.hrtime.bigint();
		for (let i = 0; i < runs; i++) await once();
		return Number(process.hrtime.bigint() - start) / runs;
	} finally {
		tf.dispose(Object.values(inputs));
		model.dispose();
	}
}
