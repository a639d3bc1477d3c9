// onnxruntime (CPU) as the oracle for ONNX models the tests build: an implementation independent of Kernel NN's.
import * as ort from "onnxruntime-node";
import { type DType, type Tensor, makeTensor } from "../../extension/core/graph/tensor";

const ORT_TYPE: Partial<Record<DType, ort.Tensor.Type>> = {
	float32: "float32", float64: "float64", int32: "int32", int64: "int64", int8: "int8", uint8: "uint8", bool: "bool",
	int16: "int16", uint16: "uint16", uint32: "uint32", uint64: "uint64",
};

function toOrt(value: Tensor): ort.Tensor {
	const type = ORT_TYPE[value.dtype];
	if (!type) throw new Error(`onnxruntime oracle: ${value.dtype} inputs are not supported`);
	const source = value.data as ArrayLike<number>;
	let data: ort.Tensor.DataType;
	switch (type) {
		case "int64": data = BigInt64Array.from(Array.from(source, (v) => BigInt(Math.trunc(v)))); break;
		case "uint64": data = BigUint64Array.from(Array.from(source, (v) => BigInt(Math.trunc(v)))); break;
		case "bool": data = Uint8Array.from(source); break;
		default: data = source as ort.Tensor.DataType;
	}
	return new ort.Tensor(type, data, value.shape);
}

function fromOrt(value: ort.Tensor): Tensor {
	const shape = [...value.dims];
	switch (value.type) {
		case "float32": return makeTensor("float32", shape, value.data as Float32Array);
		case "float64": return makeTensor("float64", shape, value.data as Float64Array);
		case "int32": return makeTensor("int32", shape, value.data as Int32Array);
		case "int64": return makeTensor("int64", shape, Array.from(value.data as BigInt64Array, Number));
		case "bool": return makeTensor("bool", shape, value.data as Uint8Array);
		case "uint8": return makeTensor("uint8", shape, value.data as Uint8Array);
		case "int8": return makeTensor("int8", shape, value.data as Int8Array);
		default: throw new Error(`onnxruntime oracle: ${value.type} outputs are not supported`);
	}
}

/** Runs a model (its bytes) once on the CPU; returns every output, by ONNX name. */
export async function runOrt(model: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
	const session = await ort.InferenceSession.create(model, { executionProviders: ["cpu"], graphOptimizationLevel: "disabled" });
	try {
		const results = await session.run(Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toOrt(t)])));
		return Object.fromEntries(Object.entries(results).map(([name, t]) => [name, fromOrt(t)]));
	} finally {
		await session.release();
	}
}

/** Runs a recurrent model for `steps` steps, feeding outputs back as inputs (`feedback`: input name -> output name). */
export async function runOrtSteps(model: Uint8Array, first: Record<string, Tensor>, steps: number, feedback: Record<string, string>, perStep: (step: number) => Record<string, Tensor> = () => ({})): Promise<Record<string, Tensor>[]> {
	const session = await ort.InferenceSession.create(model, { executionProviders: ["cpu"], graphOptimizationLevel: "disabled" });
	try {
		const outputs: Record<string, Tensor>[] = [];
		let feeds = { ...first };
		for (let step = 0; step < steps; step++) {
			feeds = { ...feeds, ...perStep(step) };
			const raw = await session.run(Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toOrt(t)])));
			const result = Object.fromEntries(Object.entries(raw).map(([name, t]) => [name, fromOrt(t)]));
			outputs.push(result);
			for (const [input, output] of Object.entries(feedback)) feeds[input] = result[output];
		}
		return outputs;
	} finally {
		await session.release();
	}
}
