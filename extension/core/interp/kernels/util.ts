import type { GraphNode } from "../../graph/graph";
import { type DType, type NumericData, type Tensor, allocate, checkTensorSize, formatShape, isFloatDType, isIntDType } from "../../graph/tensor";
import { KernelError } from "../kernel";
import { checkElements } from "../../util/budget";

export function fail(node: GraphNode, detail: string): never {
	throw new KernelError(node, detail);
}

/** Checks the number of data inputs, so later code can index them without guarding. */
export function arity(node: GraphNode, inputs: Tensor[], min: number, max = min): void {
	if (inputs.length < min || inputs.length > max) {
		const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
		fail(node, `expects ${want} input${min === 1 && max === 1 ? "" : "s"}, got ${inputs.length}`);
	}
}

/** A tensor's elements as numbers; strings and resources are rejected with the input's role in the message. */
export function values(node: GraphNode, t: Tensor, what = "input"): NumericData {
	if (!ArrayBuffer.isView(t.data)) fail(node, `${what} must be a numeric tensor, got ${t.dtype}`);
	return t.data as NumericData;
}

/**
 * A tensor's elements for copying only. Layout ops move elements without looking at them, so they work for
 * every dtype, strings included; the numeric type is a convenience for indexing.
 */
export function cells(t: Tensor): number[] {
	return t.data as unknown as number[];
}

export function newTensor(dtype: DType, shape: readonly number[]): { tensor: Tensor; data: NumericData } {
	const data = allocate(dtype, checkTensorSize(dtype, shape)) as NumericData;
	return { tensor: { dtype, shape: [...shape], data }, data };
}

/** A tensor with a new shape over the same elements; tensors are never mutated once produced. */
export function reshaped(t: Tensor, shape: readonly number[]): Tensor {
	return { dtype: t.dtype, shape: [...shape], data: t.data };
}

export function requireFloat(node: GraphNode, t: Tensor, what = "input"): void {
	if (!isFloatDType(t.dtype)) fail(node, `${what} must be a floating-point tensor, got ${t.dtype}`);
}

export function requireNumeric(node: GraphNode, t: Tensor, what = "input"): void {
	if (!isFloatDType(t.dtype) && !isIntDType(t.dtype)) fail(node, `${what} must be a numeric tensor, got ${t.dtype}`);
}

export function requireBool(node: GraphNode, t: Tensor, what = "input"): void {
	if (t.dtype !== "bool") fail(node, `${what} must be a bool tensor, got ${t.dtype}`);
}

export function sameDType(node: GraphNode, tensors: readonly Tensor[], what = "inputs"): void {
	for (const t of tensors) {
		if (t.dtype !== tensors[0].dtype) fail(node, `${what} must share one type, got ${tensors[0].dtype} and ${t.dtype}`);
	}
}

/** Integer contents of an index-like input (shapes, axes, sizes), which TensorFlow types as int32 or int64. */
export function ints(node: GraphNode, t: Tensor, what: string): number[] {
	if (t.dtype !== "int32" && t.dtype !== "int64") fail(node, `${what} must be an int32 or int64 tensor, got ${t.dtype}`);
	return Array.from(t.data as NumericData);
}

export function intVector(node: GraphNode, t: Tensor, what: string, length?: number): number[] {
	if (t.shape.length !== 1) fail(node, `${what} must be a vector, got shape ${formatShape(t.shape)}`);
	const out = ints(node, t, what);
	if (length !== undefined && out.length !== length) fail(node, `${what} must have ${length} elements, got ${out.length}`);
	return out;
}

/** A scalar integer input; a one-element vector is accepted where TensorFlow accepts it too. */
export function intScalar(node: GraphNode, t: Tensor, what: string): number {
	const out = ints(node, t, what);
	if (out.length !== 1 || t.shape.length > 1) fail(node, `${what} must be a scalar, got shape ${formatShape(t.shape)}`);
	return out[0];
}

export function numScalar(node: GraphNode, t: Tensor, what: string): number {
	const data = values(node, t, what);
	if (data.length !== 1) fail(node, `${what} must be a scalar, got shape ${formatShape(t.shape)}`);
	return data[0];
}

/** Resolves a possibly negative axis against `rank`, failing outside [-rank, rank). */
export function axisIn(node: GraphNode, axis: number, rank: number, what = "axis"): number {
	if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
		fail(node, `${what} ${axis} is out of range for a tensor of rank ${rank} (expected ${-rank} to ${rank - 1})`);
	}
	return axis < 0 ? axis + rank : axis;
}

export function strides(shape: readonly number[]): number[] {
	const out = new Array<number>(shape.length);
	let stride = 1;
	for (let d = shape.length - 1; d >= 0; d--) {
		out[d] = stride;
		stride *= shape[d];
	}
	return out;
}

/** Checks an int32 index table of n entries (one per element of the tensor it builds) against the memory budget. */
export function checkIndexTable(n: number): void {
	checkElements(n, 4, "an index table");
}

export function iota(n: number, start = 0, step = 1): Int32Array {
	checkIndexTable(n);
	const out = new Int32Array(n);
	for (let i = 0; i < n; i++) out[i] = start + i * step;
	return out;
}

/**
 * Source offsets of a gather that picks, along each dimension d, the source coordinates `perDim[d]`; the
 * result lists one offset per output element in row-major order. Slices, reversals, tiling, mirror padding,
 * transposes and broadcasts are all such gathers, which keeps every layout op a flat loop.
 */
export function gatherOffsets(perDim: readonly ArrayLike<number>[], sourceStrides: readonly number[]): Int32Array {
	checkIndexTable(perDim.reduce((n, coords) => n * coords.length, 1));
	let offsets = new Int32Array(1);
	for (let d = 0; d < perDim.length; d++) {
		const coords = perDim[d];
		const stride = sourceStrides[d];
		const n = coords.length;
		const next = new Int32Array(offsets.length * n);
		let w = 0;
		for (let i = 0; i < offsets.length; i++) {
			const base = offsets[i];
			for (let k = 0; k < n; k++) next[w++] = base + coords[k] * stride;
		}
		offsets = next;
	}
	return offsets;
}

export function copyGather(t: Tensor, offsets: Int32Array, shape: readonly number[]): Tensor {
	const src = cells(t);
	const out = allocate(t.dtype, offsets.length) as unknown as number[];
	for (let i = 0; i < offsets.length; i++) out[i] = src[offsets[i]];
	return { dtype: t.dtype, shape: [...shape], data: out as unknown as Tensor["data"] };
}

/** NumPy broadcasting of two shapes, as TensorFlow's binary ops do it. */
export function broadcastShapes(node: GraphNode, a: readonly number[], b: readonly number[]): number[] {
	const rank = Math.max(a.length, b.length);
	const out = new Array<number>(rank);
	for (let i = 0; i < rank; i++) {
		const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
		const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
		if (da !== db && da !== 1 && db !== 1) {
			fail(node, `shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
		}
		out[i] = da === 1 ? db : da;
	}
	return out;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
	return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * For each element of a tensor of shape `to`, the offset of the element of `from` it reads when `from` is
 * broadcast; null when no broadcast is needed.
 */
export function broadcastOffsets(from: readonly number[], to: readonly number[]): Int32Array | null {
	if (sameShape(from, to)) return null;
	const lead = to.length - from.length;
	const fromStrides = strides(from);
	const perDim: Int32Array[] = [];
	const sourceStrides: number[] = [];
	for (let d = 0; d < to.length; d++) {
		const size = d < lead ? 1 : from[d - lead];
		if (size === 1) checkIndexTable(to[d]);
		perDim.push(size === 1 ? new Int32Array(to[d]) : iota(to[d]));
		sourceStrides.push(d < lead ? 0 : fromStrides[d - lead]);
	}
	return gatherOffsets(perDim, sourceStrides);
}

const identity = (x: number): number => x;

/**
 * Rounds to float32 for single-precision results and leaves other types alone, for intermediate values of
 * ops TensorFlow evaluates in several float32 steps.
 */
export function rounder(dtype: DType): (x: number) => number {
	return dtype === "float32" || dtype === "float16" || dtype === "bfloat16" ? Math.fround : identity;
}
