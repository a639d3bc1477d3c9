// AttrValue constructors for IR nodes (what front ends add, and what tests build), spelled like the AttrValue oneof fields.
import type { AttrValue } from "./attr";
import { type DType, type Tensor, dtypeToEnum, shapeToProto, tensorToProto } from "./tensor";

export const irAttr = {
	i: (value: number): AttrValue => ({ i: value }),
	f: (value: number): AttrValue => ({ f: value }),
	b: (value: boolean): AttrValue => ({ b: value }),
	s: (value: string): AttrValue => ({ s: new TextEncoder().encode(value) }),
	type: (dtype: DType): AttrValue => ({ type: dtypeToEnum(dtype) }),
	shape: (shape: readonly number[] | undefined): AttrValue => ({ shape: shapeToProto(shape) }),
	tensor: (value: Tensor): AttrValue => ({ tensor: tensorToProto(value) }),
	ints: (values: readonly number[]): AttrValue => ({ list: { i: [...values] } }),
	floats: (values: readonly number[]): AttrValue => ({ list: { f: [...values] } }),
	types: (dtypes: readonly DType[]): AttrValue => ({ list: { type: dtypes.map(dtypeToEnum) } }),
};
