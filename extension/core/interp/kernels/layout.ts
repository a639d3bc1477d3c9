import { type GraphNode, attrInt, attrString } from "../../graph/graph";
import { type Tensor, allocate, checkTensorSize, formatShape, shapeSize } from "../../graph/tensor";
import type { Kernel } from "../kernel";
import {
	arity, axisIn, broadcastOffsets, cells, checkIndexTable, copyGather, fail, gatherOffsets, intScalar, intVector, ints, iota, newTensor, reshaped, sameDType,
	sameShape, strides, values,
} from "./util";

const transpose: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	const [x, permT] = inputs;
	const rank = x.shape.length;
	const perm = intVector(node, permT, "the permutation", rank);
	const seen = new Set(perm);
	if (seen.size !== rank || perm.some((p) => p < 0 || p >= rank)) {
		fail(node, `[${perm.join(",")}] is not a permutation of the ${rank} dimensions of shape ${formatShape(x.shape)}`);
	}
	const inStrides = strides(x.shape);
	const shape = perm.map((p) => x.shape[p]);
	return [copyGather(x, gatherOffsets(shape.map((d) => iota(d)), perm.map((p) => inStrides[p])), shape)];
};

/** Concatenation along `axis` as copies of contiguous blocks: each input contributes one block per outer index. */
function concat(node: GraphNode, tensors: Tensor[], axisValue: number): Tensor {
	if (tensors.length === 0) fail(node, "needs at least one tensor to concatenate");
	sameDType(node, tensors);
	const first = tensors[0];
	const rank = first.shape.length;
	if (rank === 0) fail(node, "cannot concatenate scalars; use Pack to stack them");
	const axis = axisIn(node, axisValue, rank);
	let total = 0;
	for (const t of tensors) {
		if (t.shape.length !== rank || t.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
			fail(node, `cannot concatenate shapes ${formatShape(first.shape)} and ${formatShape(t.shape)} along axis ${axis}: the other dimensions must match`);
		}
		total += t.shape[axis];
	}
	const shape = [...first.shape];
	shape[axis] = total;
	const outer = shapeSize(first.shape.slice(0, axis));
	const inner = shapeSize(first.shape.slice(axis + 1));
	const { tensor } = newTensor(first.dtype, shape);
	const out = cells(tensor);
	let w = 0;
	for (let o = 0; o < outer; o++) {
		for (const t of tensors) {
			const block = t.shape[axis] * inner;
			const src = cells(t);
			for (let i = o * block; i < (o + 1) * block; i++) out[w++] = src[i];
		}
	}
	return tensor;
}

/** Pieces of `x` along `axis` with the given sizes, in order. */
function split(x: Tensor, axis: number, sizes: readonly number[]): Tensor[] {
	const outer = shapeSize(x.shape.slice(0, axis));
	const inner = shapeSize(x.shape.slice(axis + 1));
	const row = x.shape[axis] * inner;
	const src = cells(x);
	let at = 0;
	return sizes.map((size) => {
		const shape = [...x.shape];
		shape[axis] = size;
		const { tensor } = newTensor(x.dtype, shape);
		const out = cells(tensor);
		const block = size * inner;
		let w = 0;
		for (let o = 0; o < outer; o++) {
			const base = o * row + at;
			for (let i = 0; i < block; i++) out[w++] = src[base + i];
		}
		at += block;
		return tensor;
	});
}

const pack: Kernel = (inputs, node) => {
	arity(node, inputs, 1, Infinity);
	const first = inputs[0];
	for (const t of inputs) {
		if (!sameShape(t.shape, first.shape)) fail(node, `all inputs must have the same shape, got ${formatShape(first.shape)} and ${formatShape(t.shape)}`);
	}
	const rank = first.shape.length;
	const axis = axisIn(node, attrInt(node, "axis", 0), rank + 1);
	const expanded = [...first.shape.slice(0, axis), 1, ...first.shape.slice(axis)];
	return [concat(node, inputs.map((t) => reshaped(t, expanded)), axis)];
};

const unpack: Kernel = (inputs, node) => {
	arity(node, inputs, 1);
	const x = inputs[0];
	const rank = x.shape.length;
	if (rank === 0) fail(node, "cannot unpack a scalar");
	const axis = axisIn(node, attrInt(node, "axis", 0), rank);
	const count = x.shape[axis];
	const num = attrInt(node, "num", count);
	if (num !== count) fail(node, `num is ${num} but dimension ${axis} of shape ${formatShape(x.shape)} has ${count} elements`);
	const shape = x.shape.filter((_, i) => i !== axis);
	return split(x, axis, new Array<number>(count).fill(1)).map((t) => reshaped(t, shape));
};

const splitKernel: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	const [axisT, x] = inputs;
	const rank = x.shape.length;
	const axis = axisIn(node, intScalar(node, axisT, "the split dimension"), rank);
	const num = attrInt(node, "num_split");
	if (num < 1) fail(node, `num_split must be positive, got ${num}`);
	if (x.shape[axis] % num !== 0) fail(node, `dimension ${axis} of shape ${formatShape(x.shape)} (size ${x.shape[axis]}) does not divide into ${num} equal pieces`);
	return split(x, axis, new Array<number>(num).fill(x.shape[axis] / num));
};

const splitV: Kernel = (inputs, node) => {
	arity(node, inputs, 3);
	const [x, sizesT, axisT] = inputs;
	const rank = x.shape.length;
	const axis = axisIn(node, intScalar(node, axisT, "the split dimension"), rank);
	const sizes = intVector(node, sizesT, "size_splits");
	const dim = x.shape[axis];
	const unknown = sizes.indexOf(-1);
	if (sizes.filter((s) => s === -1).length > 1 || sizes.some((s) => s < -1)) {
		fail(node, `size_splits [${sizes.join(",")}] may hold one -1 and otherwise non-negative sizes`);
	}
	const known = sizes.reduce((a, s) => (s === -1 ? a : a + s), 0);
	if (unknown >= 0 && known <= dim) sizes[unknown] = dim - known;
	else if (known !== dim) fail(node, `size_splits [${sizes.join(",")}] must add up to ${dim}, the size of dimension ${axis} of ${formatShape(x.shape)}`);
	return split(x, axis, sizes);
};

const slice: Kernel = (inputs, node) => {
	arity(node, inputs, 3);
	const [x, beginT, sizeT] = inputs;
	const rank = x.shape.length;
	const begin = intVector(node, beginT, "begin", rank);
	const size = intVector(node, sizeT, "size", rank);
	const shape = size.map((s, d) => (s === -1 ? x.shape[d] - begin[d] : s));
	for (let d = 0; d < rank; d++) {
		if (begin[d] < 0 || shape[d] < 0 || begin[d] + shape[d] > x.shape[d]) {
			fail(node, `slice begin [${begin.join(",")}] size [${size.join(",")}] does not fit shape ${formatShape(x.shape)} (dimension ${d})`);
		}
	}
	return [copyGather(x, gatherOffsets(shape.map((s, d) => iota(s, begin[d])), strides(x.shape)), shape)];
};

const tile: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	const [x, multiplesT] = inputs;
	const multiples = intVector(node, multiplesT, "multiples", x.shape.length);
	if (multiples.some((m) => m < 0)) fail(node, `multiples must not be negative, got [${multiples.join(",")}]`);
	const shape = x.shape.map((d, i) => d * multiples[i]);
	checkTensorSize(x.dtype, shape);
	const perDim = shape.map((n, i) => {
		checkIndexTable(n);
		const coords = new Int32Array(n);
		for (let k = 0; k < n; k++) coords[k] = k % x.shape[i];
		return coords;
	});
	return [copyGather(x, gatherOffsets(perDim, strides(x.shape)), shape)];
};

function paddings(node: GraphNode, x: Tensor, t: Tensor): [number, number][] {
	const rank = x.shape.length;
	if (t.shape.length !== 2 || t.shape[0] !== rank || t.shape[1] !== 2) {
		fail(node, `paddings must have shape [${rank},2] for an input of rank ${rank}, got ${formatShape(t.shape)}`);
	}
	const flat = ints(node, t, "paddings");
	const out: [number, number][] = [];
	for (let d = 0; d < rank; d++) {
		if (flat[2 * d] < 0 || flat[2 * d + 1] < 0) fail(node, `paddings must not be negative, got [${flat[2 * d]},${flat[2 * d + 1]}] for dimension ${d}`);
		out.push([flat[2 * d], flat[2 * d + 1]]);
	}
	return out;
}

const pad: Kernel = (inputs, node) => {
	arity(node, inputs, node.op === "PadV2" ? 3 : 2);
	const x = inputs[0];
	const pads = paddings(node, x, inputs[1]);
	let constant: unknown = 0;
	if (node.op === "PadV2") {
		const c = inputs[2];
		sameDType(node, [x, c], "the input and constant_values");
		if (shapeSize(c.shape) !== 1 || c.shape.length > 0) fail(node, `constant_values must be a scalar, got shape ${formatShape(c.shape)}`);
		constant = cells(c)[0];
	}
	const shape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
	const out = allocate(x.dtype, shapeSize(shape)) as unknown as unknown[];
	if (constant !== 0) out.fill(constant);
	// Where each input element lands in the output.
	const target = gatherOffsets(x.shape.map((d, i) => iota(d, pads[i][0])), strides(shape));
	const src = cells(x);
	for (let i = 0; i < target.length; i++) out[target[i]] = src[i];
	return [{ dtype: x.dtype, shape, data: out as Tensor["data"] }];
};

const mirrorPad: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	const x = inputs[0];
	const pads = paddings(node, x, inputs[1]);
	const mode = attrString(node, "mode");
	if (mode !== "REFLECT" && mode !== "SYMMETRIC") fail(node, `mode "${mode}" is not supported (expected REFLECT or SYMMETRIC)`);
	const edge = mode === "REFLECT" ? 1 : 0;
	const perDim = x.shape.map((d, i) => {
		const [before, after] = pads[i];
		if (before > d - edge || after > d - edge) {
			fail(node, `${mode} padding of [${before},${after}] is too large for dimension ${i} of size ${d} (at most ${d - edge})`);
		}
		checkIndexTable(d + before + after);
		const coords = new Int32Array(d + before + after);
		for (let k = 0; k < coords.length; k++) {
			const j = k - before;
			coords[k] = j < 0 ? -j - 1 + edge : j >= d ? 2 * d - 1 - edge - j : j;
		}
		return coords;
	});
	const shape = perDim.map((c) => c.length);
	return [copyGather(x, gatherOffsets(perDim, strides(x.shape)), shape)];
};

function reverse(x: Tensor, flip: readonly boolean[]): Tensor {
	const perDim = x.shape.map((d, i) => (flip[i] ? iota(d, d - 1, -1) : iota(d)));
	return copyGather(x, gatherOffsets(perDim, strides(x.shape)), x.shape);
}

const reverseV1: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	const [x, dimsT] = inputs;
	if (dimsT.dtype !== "bool") fail(node, `dims must be a bool vector, got ${dimsT.dtype}`);
	if (dimsT.shape.length !== 1 || dimsT.shape[0] !== x.shape.length) {
		fail(node, `dims must be a bool vector with one entry per dimension of ${formatShape(x.shape)}, got shape ${formatShape(dimsT.shape)}`);
	}
	return [reverse(x, Array.from(values(node, dimsT), (b) => b !== 0))];
};

const reverseV2: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	const [x, axesT] = inputs;
	const rank = x.shape.length;
	const flip = new Array<boolean>(rank).fill(false);
	for (const a of intVector(node, axesT, "the axes")) {
		const axis = axisIn(node, a, rank);
		if (flip[axis]) fail(node, `axis ${axis} is listed more than once`);
		flip[axis] = true;
	}
	return [reverse(x, flip)];
};

/** BroadcastTo: numpy broadcasting of x to a given shape; x's dimensions must be 1 or match. */
const broadcastTo: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	const [x, shapeT] = inputs;
	const shape = intVector(node, shapeT, "the shape");
	const lead = shape.length - x.shape.length;
	if (lead < 0 || x.shape.some((d, i) => d !== 1 && d !== shape[lead + i])) {
		fail(node, `cannot broadcast ${formatShape(x.shape)} to ${formatShape(shape)}`);
	}
	const offsets = broadcastOffsets(x.shape, shape);
	return [offsets ? copyGather(x, offsets, shape) : reshaped(x, shape)];
};

export const LAYOUT_KERNELS: ReadonlyMap<string, Kernel> = new Map<string, Kernel>([
	["Transpose", transpose],
	["BroadcastTo", broadcastTo],
	["ConcatV2", (inputs, node) => {
		arity(node, inputs, 2, Infinity);
		return [concat(node, inputs.slice(0, -1), intScalar(node, inputs[inputs.length - 1], "the axis"))];
	}],
	["Concat", (inputs, node) => {
		arity(node, inputs, 2, Infinity);
		return [concat(node, inputs.slice(1), intScalar(node, inputs[0], "the axis"))];
	}],
	["Pack", pack],
	["Unpack", unpack],
	["Split", splitKernel],
	["SplitV", splitV],
	["Slice", slice],
	["Tile", tile],
	["Pad", pad],
	["PadV2", pad],
	["MirrorPad", mirrorPad],
	["Reverse", reverseV1],
	["ReverseV2", reverseV2],
]);
