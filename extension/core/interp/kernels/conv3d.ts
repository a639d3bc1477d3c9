import { type GraphNode, attrInts, attrString } from "../../graph/graph";
import { type Tensor, formatShape, shapeSize } from "../../graph/tensor";
import type { Kernel } from "../kernel";
import { channelsFirst } from "./channelsFirst";
import { arity, fail, intVector, newTensor, requireFloat, requireNumeric, values } from "./util";

/**
 * The window of a channels-last op over any number of spatial axes (N, spatial..., C), as TensorFlow's 3-D ops
 * (Conv3D, MaxPool3D, AvgPool3D, Conv3DBackpropInputV2) use it; the code generator reads the same geometry.
 * Beyond TensorFlow, padding may be EXPLICIT (explicit_paddings: before and after per dimension).
 */
export interface WindowNd {
	batch: number;
	/** Sizes of the spatial axes of the window's input (of the result, for the backprop op). */
	sizes: number[];
	channels: number;
	kernel: number[];
	strides: number[];
	dilations: number[];
	/** Output size and leading padding per spatial axis. */
	out: number[];
	before: number[];
}

/** Whether a window op's data_format puts channels first (NCHW, NCDHW; only the code generator sees these). */
export function isChannelsFirst(node: GraphNode): boolean {
	const format = attrString(node, "data_format", "NDHWC");
	if (!["NDHWC", "NHWC", "NCDHW", "NCHW"].includes(format)) fail(node, `data_format "${format}" is not supported`);
	return format.startsWith("NC");
}

function spatialList(node: GraphNode, name: string, list: readonly number[], rank: number, first: boolean): number[] {
	const fixed = first ? [0, 1] : [0, rank - 1];
	if (list.length !== rank || fixed.some((d) => list[d] !== 1) || list.some((v) => v < 1)) {
		fail(node, `attribute "${name}" must have ${rank} positive elements with 1 in the batch and channel dimensions, got [${list.join(",")}]`);
	}
	return first ? list.slice(2) : list.slice(1, -1);
}

/** The geometry of a window over `shape` (in the node's layout); `kernel` lists the spatial window sizes. */
export function windowNd(node: GraphNode, shape: readonly number[], kernel: readonly number[]): WindowNd {
	const first = isChannelsFirst(node);
	const rank = shape.length;
	const strides = spatialList(node, "strides", attrInts(node, "strides"), rank, first);
	const dilations = spatialList(node, "dilations", attrInts(node, "dilations", new Array<number>(rank).fill(1)), rank, first);
	const padding = attrString(node, "padding");
	const explicit = padding === "EXPLICIT" ? attrInts(node, "explicit_paddings", []) : new Array<number>(2 * rank).fill(0);
	if (explicit.length !== 2 * rank) fail(node, `EXPLICIT padding needs ${2 * rank} explicit_paddings, got ${explicit.length}`);
	if (padding !== "SAME" && padding !== "VALID" && padding !== "EXPLICIT") fail(node, `padding "${padding}" is not supported (expected SAME, VALID or EXPLICIT)`);
	const sizes = first ? shape.slice(2) : shape.slice(1, -1);
	const dim = (d: number) => (first ? d + 2 : d + 1);
	const out: number[] = [];
	const before: number[] = [];
	sizes.forEach((size, d) => {
		const effective = (kernel[d] - 1) * dilations[d] + 1;
		if (padding === "SAME") {
			out.push(Math.ceil(size / strides[d]));
			before.push(Math.floor(Math.max((out[d] - 1) * strides[d] + effective - size, 0) / 2));
		} else {
			out.push(Math.floor((size + explicit[2 * dim(d)] + explicit[2 * dim(d) + 1] - effective) / strides[d]) + 1);
			before.push(explicit[2 * dim(d)]);
		}
		if (out[d] < 1) fail(node, `the window of ${kernel[d]} (dilated to ${effective}) does not fit spatial size ${size} with ${padding} padding`);
	});
	return { batch: shape[0], sizes, channels: first ? shape[1] : shape[rank - 1], kernel: [...kernel], strides, dilations, out, before };
}

/** Row-major coordinates of flat index `flat` in `extents`. */
function coordinates(flat: number, extents: readonly number[], into: number[]): void {
	for (let d = extents.length - 1; d >= 0; d--) {
		into[d] = flat % extents[d];
		flat = Math.floor(flat / extents[d]);
	}
}

/** Flat spatial index of the input tap for output `o` and kernel tap `k`, or -1 when it falls in the padding. */
function tapIndex(w: WindowNd, o: readonly number[], k: readonly number[]): number {
	let flat = 0;
	for (let d = 0; d < w.sizes.length; d++) {
		const i = o[d] * w.strides[d] - w.before[d] + k[d] * w.dilations[d];
		if (i < 0 || i >= w.sizes[d]) return -1;
		flat = flat * w.sizes[d] + i;
	}
	return flat;
}

function conv3d(inputs: Tensor[], node: GraphNode): Tensor[] {
	arity(node, inputs, 2);
	const [input, filter] = inputs;
	requireFloat(node, input);
	const rank = input.shape.length;
	if (filter.shape.length !== rank) fail(node, `the filter must have rank ${rank} (spatial..., in_channels, out_channels), got ${formatShape(filter.shape)}`);
	const w = windowNd(node, input.shape, filter.shape.slice(0, -2));
	const [filterIn, outC] = filter.shape.slice(-2);
	if (filterIn !== w.channels) fail(node, `the input has ${w.channels} channels but the filter expects ${filterIn}`);
	const x = values(node, input);
	const f = values(node, filter);
	const outSpatial = shapeSize(w.out);
	const taps = shapeSize(w.kernel);
	const inSpatial = shapeSize(w.sizes);
	const { tensor, data } = newTensor(input.dtype, [w.batch, ...w.out, outC]);
	const o: number[] = [];
	const k: number[] = [];
	const acc = new Float64Array(outC);
	for (let b = 0; b < w.batch; b++) {
		for (let p = 0; p < outSpatial; p++) {
			coordinates(p, w.out, o);
			acc.fill(0);
			for (let t = 0; t < taps; t++) {
				coordinates(t, w.kernel, k);
				const at = tapIndex(w, o, k);
				if (at < 0) continue;
				const inBase = (b * inSpatial + at) * w.channels;
				for (let c = 0; c < w.channels; c++) {
					const v = x[inBase + c];
					const fBase = (t * w.channels + c) * outC;
					for (let m = 0; m < outC; m++) acc[m] += v * f[fBase + m];
				}
			}
			data.set(acc, (b * outSpatial + p) * outC);
		}
	}
	return [tensor];
}

/** Max and average pooling; the average divides by the taps inside the input (padding does not count). */
function pool3d(max: boolean): Kernel {
	return (inputs, node) => {
		arity(node, inputs, 1);
		const [input] = inputs;
		if (max) requireNumeric(node, input);
		else requireFloat(node, input);
		const rank = input.shape.length;
		const w = windowNd(node, input.shape, spatialList(node, "ksize", attrInts(node, "ksize"), rank, false));
		const x = values(node, input);
		const C = w.channels;
		const outSpatial = shapeSize(w.out);
		const taps = shapeSize(w.kernel);
		const inSpatial = shapeSize(w.sizes);
		const { tensor, data } = newTensor(input.dtype, [w.batch, ...w.out, C]);
		const o: number[] = [];
		const k: number[] = [];
		const acc = new Float64Array(C);
		for (let b = 0; b < w.batch; b++) {
			for (let p = 0; p < outSpatial; p++) {
				coordinates(p, w.out, o);
				acc.fill(max ? -Infinity : 0);
				let count = 0;
				for (let t = 0; t < taps; t++) {
					coordinates(t, w.kernel, k);
					const at = tapIndex(w, o, k);
					if (at < 0) continue;
					count++;
					const base = (b * inSpatial + at) * C;
					for (let c = 0; c < C; c++) acc[c] = max ? Math.max(acc[c], x[base + c]) : acc[c] + x[base + c];
				}
				const outBase = (b * outSpatial + p) * C;
				for (let c = 0; c < C; c++) data[outBase + c] = max ? acc[c] : acc[c] / count;
			}
		}
		return [tensor];
	};
}

/**
 * The gradient of Conv3D with respect to its input (a transposed convolution): each result element gathers the
 * out_backprop elements whose forward window covered it.
 */
function conv3dBackpropInput(inputs: Tensor[], node: GraphNode): Tensor[] {
	arity(node, inputs, 3);
	const [sizesT, filter, grad] = inputs;
	requireFloat(node, grad, "out_backprop");
	const rank = grad.shape.length;
	const resultShape = intVector(node, sizesT, "input_sizes", rank);
	const kernel = filter.shape.slice(0, -2);
	const [resultC, gradC] = filter.shape.slice(-2);
	if (resultShape[rank - 1] !== resultC || grad.shape[rank - 1] !== gradC || grad.shape[0] !== resultShape[0]) {
		fail(node, `input_sizes [${resultShape.join(",")}], filter ${formatShape(filter.shape)} and out_backprop ${formatShape(grad.shape)} do not agree`);
	}
	// The forward window runs over the result; out_backprop has its output's extent (not checked, as ONNX allows more).
	const w = windowNd(node, resultShape, kernel);
	const gradSizes = grad.shape.slice(1, -1);
	const x = values(node, grad);
	const f = values(node, filter);
	const resultSpatial = shapeSize(w.sizes);
	const gradSpatial = shapeSize(gradSizes);
	const taps = shapeSize(kernel);
	const { tensor, data } = newTensor(grad.dtype, resultShape);
	const y: number[] = [];
	const k: number[] = [];
	const acc = new Float64Array(resultC);
	for (let b = 0; b < w.batch; b++) {
		for (let p = 0; p < resultSpatial; p++) {
			coordinates(p, w.sizes, y);
			acc.fill(0);
			for (let t = 0; t < taps; t++) {
				coordinates(t, kernel, k);
				let at = 0;
				for (let d = 0; d < kernel.length && at >= 0; d++) {
					const shifted = y[d] + w.before[d] - k[d] * w.dilations[d];
					const i = shifted / w.strides[d];
					at = shifted < 0 || !Number.isInteger(i) || i >= gradSizes[d] ? -1 : at * gradSizes[d] + i;
				}
				if (at < 0) continue;
				const gBase = (b * gradSpatial + at) * gradC;
				for (let c = 0; c < resultC; c++) {
					const fBase = (t * resultC + c) * gradC;
					let sum = 0;
					for (let m = 0; m < gradC; m++) sum += x[gBase + m] * f[fBase + m];
					acc[c] += sum;
				}
			}
			data.set(acc, (b * resultSpatial + p) * resultC);
		}
	}
	return [tensor];
}

export const CONV3D_KERNELS: ReadonlyMap<string, Kernel> = new Map<string, Kernel>([
	["Conv3D", channelsFirst(conv3d)],
	["MaxPool3D", channelsFirst(pool3d(true))],
	["AvgPool3D", channelsFirst(pool3d(false))],
	["Conv3DBackpropInputV2", channelsFirst(conv3dBackpropInput, 2, 0)],
]);
