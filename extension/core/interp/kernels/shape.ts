import { type GraphNode, attrInts, attrType, hasAttr } from "../../graph/graph";
import { type DType, type Tensor, formatShape, isFloatDType, isIntDType, shapeSize } from "../../graph/tensor";
import type { Kernel } from "../kernel";
import { arity, cells, fail, intScalar, intVector, newTensor, numScalar, requireNumeric, reshaped, rounder, values } from "./util";

const passThrough: Kernel = (inputs, node) => {
	arity(node, inputs, 1);
	return [inputs[0]];
};

const identityN: Kernel = (inputs) => [...inputs];

const noOp: Kernel = () => [];

function shapeTensor(dtype: DType, dims: readonly number[]): Tensor {
	const { tensor, data } = newTensor(dtype, [dims.length]);
	data.set(dims);
	return tensor;
}

function outType(node: GraphNode): DType {
	const dtype = attrType(node, "out_type", "int32");
	if (dtype !== "int32" && dtype !== "int64") fail(node, `out_type must be int32 or int64, got ${dtype}`);
	return dtype;
}

const reshape: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	const [x, shapeT] = inputs;
	const dims = shapeT.shape.length === 0 ? [intScalar(node, shapeT, "the shape")] : intVector(node, shapeT, "the shape");
	const size = shapeSize(x.shape);
	let unknown = -1;
	let known = 1;
	dims.forEach((d, i) => {
		if (d === -1) {
			if (unknown >= 0) fail(node, `the shape [${dims.join(",")}] has more than one -1`);
			unknown = i;
		} else if (d < -1) {
			fail(node, `the shape [${dims.join(",")}] has a negative dimension ${d}`);
		} else {
			known *= d;
		}
	});
	if (unknown >= 0) {
		if (known === 0 || size % known !== 0) {
			fail(node, `cannot reshape a tensor of shape ${formatShape(x.shape)} (${size} elements) into [${dims.join(",")}]`);
		}
		dims[unknown] = size / known;
	} else if (known !== size) {
		fail(node, `cannot reshape a tensor of shape ${formatShape(x.shape)} (${size} elements) into [${dims.join(",")}] (${known} elements)`);
	}
	return [reshaped(x, dims)];
};

const squeeze: Kernel = (inputs, node) => {
	arity(node, inputs, 1);
	const x = inputs[0];
	const rank = x.shape.length;
	const axes = attrInts(node, "squeeze_dims", hasAttr(node, "axis") ? attrInts(node, "axis") : []);
	const drop = new Set<number>();
	for (const a of axes) {
		if (a < -rank || a >= rank) fail(node, `squeeze dimension ${a} is out of range for a tensor of rank ${rank}`);
		const d = a < 0 ? a + rank : a;
		if (x.shape[d] !== 1) fail(node, `cannot squeeze dimension ${d} of shape ${formatShape(x.shape)}: its size is ${x.shape[d]}, not 1`);
		drop.add(d);
	}
	const shape = x.shape.filter((d, i) => (axes.length === 0 ? d !== 1 : !drop.has(i)));
	return [reshaped(x, shape)];
};

const expandDims: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	const [x, axisT] = inputs;
	const rank = x.shape.length;
	const axis = intScalar(node, axisT, "the axis");
	if (axis < -rank - 1 || axis > rank) fail(node, `axis ${axis} is out of range for inserting into a tensor of rank ${rank} (expected ${-rank - 1} to ${rank})`);
	const at = axis < 0 ? axis + rank + 1 : axis;
	return [reshaped(x, [...x.shape.slice(0, at), 1, ...x.shape.slice(at)])];
};

const fill: Kernel = (inputs, node) => {
	arity(node, inputs, 2);
	const [dimsT, value] = inputs;
	const dims = intVector(node, dimsT, "the dimensions");
	if (dims.some((d) => d < 0)) fail(node, `dimensions must not be negative, got [${dims.join(",")}]`);
	if (shapeSize(value.shape) !== 1 || value.shape.length > 0) fail(node, `the value must be a scalar, got shape ${formatShape(value.shape)}`);
	const { tensor } = newTensor(value.dtype, dims);
	const out = cells(tensor);
	const v = cells(value)[0];
	for (let i = 0; i < out.length; i++) out[i] = v;
	return [tensor];
};

function constantLike(one: boolean): Kernel {
	return (inputs, node) => {
		arity(node, inputs, 1);
		const x = inputs[0];
		if (!isFloatDType(x.dtype) && !isIntDType(x.dtype) && x.dtype !== "bool") fail(node, `${node.op} is not defined for ${x.dtype} tensors`);
		const { tensor, data } = newTensor(x.dtype, x.shape);
		if (one) data.fill(1);
		return [tensor];
	};
}

const range: Kernel = (inputs, node) => {
	arity(node, inputs, 3);
	const [startT, limitT, deltaT] = inputs;
	const dtype = hasAttr(node, "Tidx") ? attrType(node, "Tidx") : startT.dtype;
	const start = numScalar(node, startT, "start");
	const limit = numScalar(node, limitT, "limit");
	const delta = numScalar(node, deltaT, "delta");
	for (const [what, v] of [["start", start], ["limit", limit], ["delta", delta]] as const) {
		if (!Number.isFinite(v)) fail(node, `${what} is ${v}; a range needs finite start, limit and delta`);
	}
	if (delta === 0) fail(node, "delta must not be 0");
	if (delta > 0 ? start > limit : start < limit) {
		fail(node, `with delta ${delta} the range from ${start} to ${limit} is empty the wrong way round (start must be ${delta > 0 ? "<=" : ">="} limit)`);
	}
	const r = rounder(dtype);
	const size = isIntDType(dtype)
		? Math.floor((Math.abs(limit - start) + Math.abs(delta) - 1) / Math.abs(delta))
		: Math.ceil(Math.abs(r(r(limit - start) / delta)));
	const { tensor, data } = newTensor(dtype, [size]);
	// TensorFlow accumulates `value += delta` in the output type rather than computing start + i * delta.
	let value = start;
	for (let i = 0; i < size; i++) {
		data[i] = value;
		value = r(value + delta);
	}
	return [tensor];
};

const INT_LIMITS: Partial<Record<DType, [number, number]>> = {
	int32: [-(2 ** 31), 2 ** 31 - 1],
	int64: [-(2 ** 63), 2 ** 63],
};

const cast: Kernel = (inputs, node) => {
	arity(node, inputs, 1);
	const x = inputs[0];
	const dst = attrType(node, "DstT");
	if (dst === x.dtype) return [x];
	if (x.dtype !== "bool") requireNumeric(node, x);
	if (!isFloatDType(dst) && !isIntDType(dst) && dst !== "bool") fail(node, `casting to ${dst} is not supported`);
	const src = values(node, x);
	const { tensor, data } = newTensor(dst, x.shape);
	if (dst === "bool") {
		for (let i = 0; i < src.length; i++) data[i] = src[i] !== 0 ? 1 : 0;
	} else if (isIntDType(dst) && isFloatDType(x.dtype)) {
		// C++ casts truncate toward zero; NaN and out-of-range values become the lowest value, as on x86.
		const limits = INT_LIMITS[dst];
		for (let i = 0; i < src.length; i++) {
			const t = Math.trunc(src[i]);
			data[i] = limits && !(t >= limits[0] && t <= limits[1]) ? limits[0] : t;
		}
	} else {
		// Narrower integers wrap, as typed-array stores do; float64 to float32 rounds to nearest.
		data.set(src);
	}
	return [tensor];
};

export const SHAPE_KERNELS: ReadonlyMap<string, Kernel> = new Map<string, Kernel>([
	["Identity", passThrough],
	["Snapshot", passThrough],
	["StopGradient", passThrough],
	["PreventGradient", passThrough],
	["IdentityN", identityN],
	["NoOp", noOp],
	["Reshape", reshape],
	["Squeeze", squeeze],
	["ExpandDims", expandDims],
	["Shape", (inputs, node) => {
		arity(node, inputs, 1);
		return [shapeTensor(outType(node), inputs[0].shape)];
	}],
	["ShapeN", (inputs, node) => {
		arity(node, inputs, 1, Infinity);
		const dtype = outType(node);
		return inputs.map((t) => shapeTensor(dtype, t.shape));
	}],
	["Size", (inputs, node) => {
		arity(node, inputs, 1);
		return [shapeTensor(outType(node), [shapeSize(inputs[0].shape)])].map((t) => reshaped(t, []));
	}],
	["Rank", (inputs, node) => {
		arity(node, inputs, 1);
		return [reshaped(shapeTensor("int32", [inputs[0].shape.length]), [])];
	}],
	["Fill", fill],
	["ZerosLike", constantLike(false)],
	["OnesLike", constantLike(true)],
	["Range", range],
	["Cast", cast],
]);
