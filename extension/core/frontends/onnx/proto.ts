// onnx.proto's messages with their real field numbers (onnx/onnx, IR version 10), read with protobufjs reflection.
import * as protobuf from "protobufjs";

// int64 fields decode as plain numbers, as in the TensorFlow schemas: shapes and offsets fit in 2^53.
protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message AttributeProto {
	enum AttributeType {
		UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; SPARSE_TENSOR = 11; TYPE_PROTO = 13;
		FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10; SPARSE_TENSORS = 12; TYPE_PROTOS = 14;
	}
	optional string name = 1;
	optional string ref_attr_name = 21;
	optional string doc_string = 13;
	optional AttributeType type = 20;
	optional float f = 2;
	optional int64 i = 3;
	optional bytes s = 4;
	optional TensorProto t = 5;
	optional GraphProto g = 6;
	optional SparseTensorProto sparse_tensor = 22;
	optional TypeProto tp = 14;
	repeated float floats = 7;
	repeated int64 ints = 8;
	repeated bytes strings = 9;
	repeated TensorProto tensors = 10;
	repeated GraphProto graphs = 11;
	repeated SparseTensorProto sparse_tensors = 23;
	repeated TypeProto type_protos = 15;
}

message ValueInfoProto {
	optional string name = 1;
	optional TypeProto type = 2;
	optional string doc_string = 3;
	repeated StringStringEntryProto metadata_props = 4;
}

message NodeProto {
	repeated string input = 1;
	repeated string output = 2;
	optional string name = 3;
	optional string op_type = 4;
	optional string domain = 7;
	optional string overload = 8;
	repeated AttributeProto attribute = 5;
	optional string doc_string = 6;
	repeated StringStringEntryProto metadata_props = 9;
}

message ModelProto {
	optional int64 ir_version = 1;
	repeated OperatorSetIdProto opset_import = 8;
	optional string producer_name = 2;
	optional string producer_version = 3;
	optional string domain = 4;
	optional int64 model_version = 5;
	optional string doc_string = 6;
	optional GraphProto graph = 7;
	repeated StringStringEntryProto metadata_props = 14;
}

message StringStringEntryProto {
	optional string key = 1;
	optional string value = 2;
}

message GraphProto {
	repeated NodeProto node = 1;
	optional string name = 2;
	repeated TensorProto initializer = 5;
	repeated SparseTensorProto sparse_initializer = 15;
	optional string doc_string = 10;
	repeated ValueInfoProto input = 11;
	repeated ValueInfoProto output = 12;
	repeated ValueInfoProto value_info = 13;
}

message TensorProto {
	message Segment {
		optional int64 begin = 1;
		optional int64 end = 2;
	}
	enum DataLocation { DEFAULT = 0; EXTERNAL = 1; }
	repeated int64 dims = 1;
	optional int32 data_type = 2;
	optional Segment segment = 3;
	repeated float float_data = 4 [packed = true];
	repeated int32 int32_data = 5 [packed = true];
	repeated bytes string_data = 6;
	repeated int64 int64_data = 7 [packed = true];
	optional string name = 8;
	optional string doc_string = 12;
	optional bytes raw_data = 9;
	repeated StringStringEntryProto external_data = 13;
	optional DataLocation data_location = 14;
	repeated double double_data = 10 [packed = true];
	repeated uint64 uint64_data = 11 [packed = true];
}

message SparseTensorProto {
	optional TensorProto values = 1;
	optional TensorProto indices = 2;
	repeated int64 dims = 3;
}

message TensorShapeProto {
	message Dimension {
		oneof value {
			int64 dim_value = 1;
			string dim_param = 2;
		}
		optional string denotation = 3;
	}
	repeated Dimension dim = 1;
}

message TypeProto {
	message Tensor {
		optional int32 elem_type = 1;
		optional TensorShapeProto shape = 2;
	}
	message Sequence { optional TypeProto elem_type = 1; }
	message Optional { optional TypeProto elem_type = 1; }
	message SparseTensor {
		optional int32 elem_type = 1;
		optional TensorShapeProto shape = 2;
	}
	oneof value {
		Tensor tensor_type = 1;
		Sequence sequence_type = 4;
		Optional optional_type = 9;
		SparseTensor sparse_tensor_type = 8;
	}
	optional string denotation = 6;
}

message OperatorSetIdProto {
	optional string domain = 1;
	optional int64 version = 2;
}
`;

const root = new protobuf.Root();
protobuf.parse(ONNX_PROTO, root, { keepCase: true });
root.resolveAll();

export const onnxTypes = {
	ModelProto: root.lookupType("onnx.ModelProto"),
	GraphProto: root.lookupType("onnx.GraphProto"),
	NodeProto: root.lookupType("onnx.NodeProto"),
	TensorProto: root.lookupType("onnx.TensorProto"),
};

/** AttributeProto.AttributeType values. */
export const ATTRIBUTE_TYPE = {
	UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9,
	GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

// The decoded messages, as protobufjs gives them with keepCase (unset repeated fields are empty arrays).

export interface OnnxStringEntry { key?: string; value?: string }

export interface OnnxTensorProto {
	dims?: number[];
	data_type?: number;
	segment?: { begin?: number; end?: number };
	float_data?: number[];
	int32_data?: number[];
	string_data?: Uint8Array[];
	int64_data?: number[];
	name?: string;
	doc_string?: string;
	raw_data?: Uint8Array;
	external_data?: OnnxStringEntry[];
	data_location?: number;
	double_data?: number[];
	uint64_data?: number[];
}

export interface OnnxSparseTensorProto { values?: OnnxTensorProto; indices?: OnnxTensorProto; dims?: number[] }

export interface OnnxDimension { dim_value?: number; dim_param?: string; denotation?: string }

export interface OnnxTypeProto {
	tensor_type?: { elem_type?: number; shape?: { dim?: OnnxDimension[] } };
	sequence_type?: { elem_type?: OnnxTypeProto };
	optional_type?: { elem_type?: OnnxTypeProto };
	sparse_tensor_type?: { elem_type?: number; shape?: { dim?: OnnxDimension[] } };
	denotation?: string;
}

export interface OnnxValueInfoProto { name?: string; type?: OnnxTypeProto; doc_string?: string }

export interface OnnxAttributeProto {
	name?: string;
	ref_attr_name?: string;
	type?: number;
	f?: number;
	i?: number;
	s?: Uint8Array;
	t?: OnnxTensorProto;
	g?: OnnxGraphProto;
	sparse_tensor?: OnnxSparseTensorProto;
	floats?: number[];
	ints?: number[];
	strings?: Uint8Array[];
	tensors?: OnnxTensorProto[];
	graphs?: OnnxGraphProto[];
}

export interface OnnxNodeProto {
	input?: string[];
	output?: string[];
	name?: string;
	op_type?: string;
	domain?: string;
	attribute?: OnnxAttributeProto[];
	doc_string?: string;
}

export interface OnnxGraphProto {
	node?: OnnxNodeProto[];
	name?: string;
	initializer?: OnnxTensorProto[];
	sparse_initializer?: OnnxSparseTensorProto[];
	doc_string?: string;
	input?: OnnxValueInfoProto[];
	output?: OnnxValueInfoProto[];
	value_info?: OnnxValueInfoProto[];
}

export interface OnnxOpsetId { domain?: string; version?: number }

export interface OnnxModelProto {
	ir_version?: number;
	opset_import?: OnnxOpsetId[];
	producer_name?: string;
	producer_version?: string;
	domain?: string;
	model_version?: number;
	doc_string?: string;
	graph?: OnnxGraphProto;
	metadata_props?: OnnxStringEntry[];
}

export function decodeModelProto(bytes: Uint8Array): OnnxModelProto {
	return onnxTypes.ModelProto.decode(bytes) as unknown as OnnxModelProto;
}

export function decodeTensorProto(bytes: Uint8Array): OnnxTensorProto {
	return onnxTypes.TensorProto.decode(bytes) as unknown as OnnxTensorProto;
}

/** Serialises a plain object (snake_case fields) as the given ONNX message; tests build models with it. */
export function encodeOnnx(type: protobuf.Type, value: object): Uint8Array {
	return type.encode(type.fromObject(value as Record<string, unknown>)).finish();
}
