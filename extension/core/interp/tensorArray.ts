import { type GraphNode, attrBool, attrShape, attrType } from "../graph/graph";
import { type Tensor, allocate, numbers, scalar, shapeSize } from "../graph/tensor";
import { type Kernel, KernelError } from "./kernel";
import { checkElements } from "../util/budget";

/** The state behind a TensorArrayV3 handle, as tf.nn.dynamic_rnn uses it: a list of same-shaped tensors. */
class TensorArray {
	readonly elements: (Tensor | undefined)[];

	constructor(readonly node: GraphNode, size: number, readonly dynamicSize: boolean, readonly elementShape: number[] | undefined) {
		// One reference per element, checked as a tensor of that many elements would be.
		checkElements(size, 8, `TensorArray "${node.name}" of size ${size}`, `node "${node.name}" (${node.op})`);
		this.elements = new Array(size);
	}

	write(index: number, value: Tensor, by: GraphNode): void {
		if (index < 0 || (!this.dynamicSize && index >= this.elements.length)) {
			throw new KernelError(by, `index ${index} is outside TensorArray "${this.node.name}" of size ${this.elements.length}`);
		}
		if (this.elements[index] !== undefined) {
			throw new KernelError(by, `TensorArray "${this.node.name}" element ${index} was already written`);
		}
		this.elements[index] = value;
	}

	read(index: number, by: GraphNode): Tensor {
		const value = index >= 0 ? this.elements[index] : undefined;
		if (!value) {
			if (index >= 0 && index < this.elements.length && this.elementShape && this.elementShape.every((d) => d >= 0)) {
				return zeros(attrType(this.node, "dtype"), this.elementShape);
			}
			throw new KernelError(by, `TensorArray "${this.node.name}" has no element ${index} (size ${this.elements.length})`);
		}
		return value;
	}
}

function zeros(dtype: Tensor["dtype"], shape: number[]): Tensor {
	return { dtype, shape, data: allocate(dtype, shapeSize(shape)) };
}

function handleOf(node: GraphNode, t: Tensor): TensorArray {
	const array = t.dtype === "resource" ? (t.data as unknown[])[0] : undefined;
	if (!(array instanceof TensorArray)) throw new KernelError(node, "the first input is not a TensorArray handle");
	return array;
}

function indices(node: GraphNode, t: Tensor): number[] {
	return Array.from(numbers(t, `node "${node.name}" indices`));
}

const FLOW = (): Tensor => scalar("float32", 0);

/** Splits a tensor along its first dimension. */
function unstack(t: Tensor): Tensor[] {
	const [n, ...rest] = t.shape;
	const size = shapeSize(rest);
	const source = t.data as ArrayLike<unknown> & { subarray?: (a: number, b: number) => unknown };
	return Array.from({ length: n }, (_, i) => {
		const data = allocate(t.dtype, size) as unknown[];
		for (let j = 0; j < size; j++) data[j] = (source as ArrayLike<unknown>)[i * size + j];
		return { dtype: t.dtype, shape: [...rest], data: data as Tensor["data"] };
	});
}

/** Stacks same-shaped tensors along a new first dimension. */
function stack(node: GraphNode, parts: Tensor[], dtype: Tensor["dtype"], elementShape: number[] | undefined): Tensor {
	if (parts.length === 0) {
		if (!elementShape || elementShape.some((d) => d < 0)) throw new KernelError(node, "cannot gather from an empty TensorArray without a known element_shape");
		return zeros(dtype, [0, ...elementShape]);
	}
	const shape = parts[0].shape;
	const size = shapeSize(shape);
	const data = allocate(dtype, size * parts.length) as unknown[];
	parts.forEach((part, i) => {
		if (part.shape.join(",") !== shape.join(",")) {
			throw new KernelError(node, `TensorArray elements have different shapes [${shape}] and [${part.shape}]`);
		}
		for (let j = 0; j < size; j++) data[i * size + j] = (part.data as ArrayLike<unknown>)[j];
	});
	return { dtype, shape: [parts.length, ...shape], data: data as Tensor["data"] };
}

export const TENSOR_ARRAY_OPS: ReadonlyMap<string, Kernel> = new Map<string, Kernel>([
	["TensorArrayV3", ([size], node) => {
		const array = new TensorArray(node, numbers(size)[0], attrBool(node, "dynamic_size", false), attrShape(node, "element_shape"));
		return [{ dtype: "resource", shape: [], data: [array] }, FLOW()];
	}],
	["TensorArrayWriteV3", ([handle, index, value], node) => {
		handleOf(node, handle).write(numbers(index)[0], value, node);
		return [FLOW()];
	}],
	["TensorArrayReadV3", ([handle, index], node) => [handleOf(node, handle).read(numbers(index)[0], node)]],
	["TensorArrayScatterV3", ([handle, where, value], node) => {
		const array = handleOf(node, handle);
		const at = indices(node, where);
		const parts = unstack(value);
		if (parts.length !== at.length) throw new KernelError(node, `${at.length} indices for ${parts.length} values`);
		at.forEach((i, k) => array.write(i, parts[k], node));
		return [FLOW()];
	}],
	["TensorArrayGatherV3", ([handle, where], node) => {
		const array = handleOf(node, handle);
		const parts = indices(node, where).map((i) => array.read(i, node));
		return [stack(node, parts, attrType(node, "dtype"), attrShape(node, "element_shape") ?? array.elementShape)];
	}],
	["TensorArraySizeV3", ([handle], node) => [scalar("int32", handleOf(node, handle).elements.length)]],
	["TensorArrayCloseV3", () => []],
]);

export function isTensorArrayOp(op: string): boolean {
	return TENSOR_ARRAY_OPS.has(op);
}
