// SparseTensorProto -> dense IR Tensor (sparse initializers and Constant's sparse_value are rare, but cheap to read).
import { type Tensor, allocate, shapeSize } from "../../graph/tensor";
import { ModelLoadError } from "../model";
import type { OnnxSparseTensorProto } from "./proto";
import { type ExternalDataBase, tensorFromOnnx } from "./tensor";

/** Scatters the values at their indices: [NNZ] linear indices or [NNZ, rank] coordinates, as onnx.proto allows. */
export function sparseToDense(sparse: OnnxSparseTensorProto, where: string, base: ExternalDataBase): Tensor {
	if (!sparse.values || !sparse.indices) throw new ModelLoadError(`${where}: a sparse tensor needs both values and indices`);
	const shape = (sparse.dims ?? []).map(Number);
	const values = tensorFromOnnx(sparse.values, `${where} values`, base);
	const indices = tensorFromOnnx(sparse.indices, `${where} indices`, base);
	const size = shapeSize(shape);
	const out = allocate(values.dtype, size) as unknown[];
	const nnz = values.shape[0] ?? 0;
	const idx = indices.data as ArrayLike<number>;
	const strides = shape.map((_, d) => shapeSize(shape.slice(d + 1)));
	for (let k = 0; k < nnz; k++) {
		let at = 0;
		if (indices.shape.length === 1) at = idx[k];
		else for (let d = 0; d < shape.length; d++) at += idx[k * shape.length + d] * strides[d];
		if (!(at >= 0 && at < size)) throw new ModelLoadError(`${where}: index ${at} lies outside the tensor's ${size} elements`);
		out[at] = (values.data as ArrayLike<unknown>)[k];
	}
	return { dtype: values.dtype, shape, data: out as Tensor["data"] };
}
