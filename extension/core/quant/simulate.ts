// Runs a candidate quantization on the calibration data through the real path: the plan written as a .tflite file,
// read back by the TFLite front end and run by the interpreter's quantized kernels (which equal TFLite's runtime
// exactly or within one step). The quantizer measures every choice with it; no op's arithmetic lives in quant/.
import { writeTflite } from "../frontends/tflite/write";
import { loadTfliteBytes } from "../frontends/tflite/load";
import { NameAllocator, irNodeName } from "../frontends/onnx/names";
import { type Graph, type TensorRef, parseInputName } from "../graph/graph";
import { type Tensor, makeTensor } from "../graph/tensor";
import { runGraph } from "../interp/executor";
import { type QuantPlan, QuantizeError } from "./plan";
import { planToTflite } from "./toTflite";

export interface SimulationResult {
	/** Dequantized model outputs, per sample, in plan.outputs order. */
	outputs: Float64Array[][];
	/** Quantized values of the requested plan tensors, per sample, by tensor index. */
	tensors: Map<number, Int32Array[]>;
}

/** A candidate read back from its .tflite bytes, ready to run on many samples. */
export interface Candidate {
	graph: Graph;
	feeds: string[];
	fetches: TensorRef[];
	/** The IR node carrying each plan tensor (the front end names nodes by the tensors they produce). */
	nodeOf: string[];
}

const FILE = "knn quantize candidate";

/** Writes the plan as TFLite bytes and reads them back with the TFLite front end. */
export function loadCandidate(plan: QuantPlan): Candidate {
	const loaded = loadTfliteBytes(writeTflite(planToTflite(plan, FILE)), FILE);
	const names = new NameAllocator();
	const nodeOf = plan.tensors.map((t, i) => names.take(irNodeName(t.name || `tensor_${i}`)));
	return {
		graph: loaded.graph,
		feeds: loaded.graphInputs!.map((input) => parseInputName(input.tensor).ref.node),
		fetches: loaded.graphOutputs!.map((output) => parseInputName(output.tensor).ref),
		nodeOf,
	};
}

/**
 * Runs the plan on every sample; `inputs[s][k]` is sample s's value of the plan's k-th input. `wanted` names plan
 * tensors (int8 activations) whose quantized values are returned too, from the same runs.
 */
export function simulate(plan: QuantPlan, inputs: readonly Float64Array[][], wanted: readonly number[] = []): SimulationResult {
	const candidate = loadCandidate(plan);
	const watched = new Map(wanted.map((t) => [candidate.nodeOf[t], t]));
	const tensors = new Map<number, Int32Array[]>(wanted.map((t) => [t, []]));
	const outputs = inputs.map((sample) => {
		const feeds = new Map<string, Tensor>(candidate.feeds.map((name, k) => [name, makeTensor("float32", plan.tensors[plan.inputs[k]].shape, Float32Array.from(sample[k]))]));
		const results = runGraph(candidate.graph, feeds, candidate.fetches, {
			onNodeOutputs: watched.size === 0 ? undefined : (node, values) => {
				const t = watched.get(node.name);
				if (t !== undefined && values[0]) tensors.get(t)!.push(Int32Array.from(values[0].data as ArrayLike<number>));
			},
		});
		return results.map((result, k) => {
			if (result.dtype !== "float32") throw new QuantizeError(`the candidate's output ${k} is ${result.dtype}, not the float32 a DEQUANTIZE gives`);
			return Float64Array.from(result.data as Float32Array);
		});
	});
	return { outputs, tensors };
}
