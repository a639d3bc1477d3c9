import { type GraphNode, attrInt, attrType } from "../../graph/graph";
import { type Tensor, formatShape, shapeSize } from "../../graph/tensor";
import type { Kernel } from "../kernel";
import { arity, axisIn, cells, fail, intScalar, ints, newTensor, numScalar, sameDType } from "./util";

/**
 * Gather with TensorFlow's batch_dims: output = params.shape[:axis] + indices.shape[batch_dims:] +
 * params.shape[axis+1:], the first batch_dims dimensions shared by params and indices.
 */
function gather(node: GraphNode, params: Tensor, indicesT: Tensor, axisValue: number, batchValue: number): Tensor {
	const rank = params.shape.length;
	if (rank === 0) fail(node, "params must be at least 1-D, got a scalar");
	const indices = ints(node, indicesT, "the indices");
	const indexRank = indicesT.shape.length;
	const batchDims = batchValue < 0 ? batchValue + indexRank : batchValue;
	if (batchDims < 0 || batchDims > indexRank) fail(node, `batch_dims ${batchValue} is out of range for indices of rank ${indexRank}`);
	const axis = axisIn(node, axisValue, rank);
	if (batchDims > axis) fail(node, `batch_dims ${batchDims} must not exceed the axis ${axis}`);
	for (let d = 0; d < batchDims; d++) {
		if (params.shape[d] !== indicesT.shape[d]) {
			fail(node, `params ${formatShape(params.shape)} and indices ${formatShape(indicesT.shape)} must agree in the first ${batchDims} (batch) dimensions`);
		}
	}
	const batch = shapeSize(params.shape.slice(0, batchDims));
	const outer = shapeSize(params.shape.slice(batchDims, axis));
	const limit = params.shape[axis];
	const inner = shapeSize(params.shape.slice(axis + 1));
	const perBatch = shapeSize(indicesT.shape.slice(batchDims));
	const shape = [...params.shape.slice(0, axis), ...indicesT.shape.slice(batchDims), ...params.shape.slice(axis + 1)];
	const { tensor } = newTensor(params.dtype, shape);
	const out = cells(tensor);
	const src = cells(params);
	let w = 0;
	for (let b = 0; b < batch; b++) {
		for (let o = 0; o < outer; o++) {
			const base = (b * outer + o) * limit * inner;
			for (let i = 0; i < perBatch; i++) {
				const index = indices[b * perBatch + i];
				if (!(index >= 0 && index < limit)) {
					fail(node, `index ${index} (at position ${b * perBatch + i} of the indices) is out of range [0, ${limit}) for dimension ${axis} of params ${formatShape(params.shape)}`);
				}
				const from = base + index * inner;
				for (let k = 0; k < inner; k++) out[w++] = src[from + k];
			}
		}
	}
	return tensor;
}

const gatherV2: Kernel = (inputs, node) => {
	arity(node, inputs, 3);
	const [params, indices, axisT] = inputs;
	return [gather(node, params, indices, intScalar(node, axisT, "the axis"), attrInt(node, "batch_dims", 0))];
};

/** ResourceGather once frozen: its resource input has become the variable's value, so it is Gather with batch_dims. */
const resourceGather: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	if (inputs[0].dtype === "resource") fail(node, "its variable is still a resource handle; freeze the graph with its checkpoint first (knn freeze)");
	return [gather(node, inputs[0], inputs[1], 0, attrInt(node, "batch_dims", 0))];
};

const gatherV1: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	return [gather(node, inputs[0], inputs[1], 0, 0)];
};

/** OneHot puts the depth dimension at `axis` (default last); indices outside [0, depth) give all-off rows. */
const oneHot: Kernel = (inputs, node) => {
	arity(node, inputs, 4);
	const [indicesT, depthT, onT, offT] = inputs;
	const indices = ints(node, indicesT, "the indices");
	const depth = intScalar(node, depthT, "the depth");
	if (depth < 0) fail(node, `the depth must not be negative, got ${depth}`);
	sameDType(node, [onT, offT], "on_value and off_value");
	const on = numScalar(node, onT, "on_value");
	const off = numScalar(node, offT, "off_value");
	const rank = indicesT.shape.length;
	const axisValue = attrInt(node, "axis", -1);
	if (axisValue < -1 || axisValue > rank) fail(node, `axis ${axisValue} is out of range for indices of rank ${rank} (expected -1 to ${rank})`);
	const axis = axisValue === -1 ? rank : axisValue;
	const shape = [...indicesT.shape.slice(0, axis), depth, ...indicesT.shape.slice(axis)];
	const outer = shapeSize(indicesT.shape.slice(0, axis));
	const inner = shapeSize(indicesT.shape.slice(axis));
	const { tensor, data } = newTensor(onT.dtype, shape);
	data.fill(off);
	for (let o = 0; o < outer; o++) {
		for (let i = 0; i < inner; i++) {
			const index = indices[o * inner + i];
			if (index >= 0 && index < depth) data[(o * depth + index) * inner + i] = on;
		}
	}
	return [tensor];
};

/** ListDiff (tf.setdiff1d): the elements of x not in y, in x's order, and where each stands in x. */
const listDiff: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	const [x, y] = inputs;
	if (x.shape.length !== 1 || y.shape.length !== 1) fail(node, `x and y must be vectors, got ${formatShape(x.shape)} and ${formatShape(y.shape)}`);
	sameDType(node, [x, y], "x and y");
	const exclude = new Set(cells(y));
	const kept: number[] = [];
	const xs = cells(x);
	xs.forEach((v, i) => {
		if (!exclude.has(v)) kept.push(i);
	});
	const { tensor: out, data } = newTensor(x.dtype, [kept.length]);
	kept.forEach((i, k) => (data[k] = xs[i]));
	const { tensor: idx, data: idxData } = newTensor(attrType(node, "out_idx", "int32"), [kept.length]);
	kept.forEach((i, k) => (idxData[k] = i));
	return [out, idx];
};

export const GATHER_KERNELS: ReadonlyMap<string, Kernel> = new Map<string, Kernel>([
	["GatherV2", gatherV2],
	["Gather", gatherV1],
	["ResourceGather", resourceGather],
	["OneHot", oneHot],
	["ListDiff", listDiff],
]);
