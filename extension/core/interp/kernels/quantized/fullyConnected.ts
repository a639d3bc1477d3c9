// QFullyConnected: reference_integer_ops::FullyConnected (int8, per tensor or per channel), reference_ops's uint8
// version (filter zero point) and the 16x8 version (int64 accumulator and bias).
import { type GraphNode, attrBool } from "../../../graph/graph";
import { type Tensor, formatShape } from "../../../graph/tensor";
import type { Kernel } from "../../kernel";
import { arity, fail, newTensor, values } from "../util";
import { type OutputScaling, biasValues, outputScaling, requantize } from "./window";

export interface FullyConnectedPlan {
	batches: number;
	depth: number;
	units: number;
	outShape: number[];
	scaling: OutputScaling;
}

export function fullyConnectedPlan(node: GraphNode, input: Tensor, filter: Tensor): FullyConnectedPlan {
	if (filter.shape.length !== 2) fail(node, `the filter must be 2-D [units, depth], got shape ${formatShape(filter.shape)}`);
	const [units, depth] = filter.shape;
	const size = input.shape.reduce((a, b) => a * b, 1);
	if (depth === 0 || size % depth !== 0) fail(node, `the input of shape ${formatShape(input.shape)} does not split into rows of the filter's depth ${depth}`);
	const batches = size / depth;
	const keep = attrBool(node, "keep_num_dims", false);
	const outShape = keep ? [...input.shape.slice(0, -1), units] : [batches, units];
	return { batches, depth, units, outShape, scaling: outputScaling(node, input, units, true) };
}

function fullyConnected(inputs: Tensor[], node: GraphNode): Tensor[] {
	arity(node, inputs, 2, 3);
	const [input, filter, bias] = inputs;
	const plan = fullyConnectedPlan(node, input, filter);
	const { batches, depth, units, scaling } = plan;
	const x = values(node, input);
	const w = values(node, filter, "filter");
	const b = biasValues(node, bias, units);
	const { tensor, data } = newTensor(scaling.type, plan.outShape);
	for (let r = 0; r < batches; r++) {
		for (let u = 0; u < units; u++) {
			let acc = 0;
			for (let d = 0; d < depth; d++) acc += (w[u * depth + d] + scaling.filterOffset) * (x[r * depth + d] + scaling.inputOffset);
			if (b) acc += b[u];
			data[r * units + u] = requantize(scaling, acc, u);
		}
	}
	return [tensor];
}

export const Q_FULLY_CONNECTED_KERNELS = new Map<string, Kernel>([["QFullyConnected", fullyConnected]]);
