// TensorFlow's protobuf schemas, reduced to the fields Kernel NN reads, with TensorFlow's own field numbers
// (tensorflow/core/framework/*.proto, core/protobuf/meta_graph.proto, saved_model.proto, tensor_bundle.proto,
// trackable_object_graph.proto, compiler/tf2xla/tf2xla.proto). Fields not listed are skipped on decode.

/** tensorflow/core/framework: types, shapes, tensors, attrs, nodes, graphs. */
export const FRAMEWORK_PROTO = /* proto */ `
syntax = "proto3";
package tensorflow;

enum DataType {
	DT_INVALID = 0; DT_FLOAT = 1; DT_DOUBLE = 2; DT_INT32 = 3; DT_UINT8 = 4; DT_INT16 = 5; DT_INT8 = 6;
	DT_STRING = 7; DT_COMPLEX64 = 8; DT_INT64 = 9; DT_BOOL = 10; DT_QINT8 = 11; DT_QUINT8 = 12; DT_QINT32 = 13;
	DT_BFLOAT16 = 14; DT_QINT16 = 15; DT_QUINT16 = 16; DT_UINT16 = 17; DT_COMPLEX128 = 18; DT_HALF = 19;
	DT_RESOURCE = 20; DT_VARIANT = 21; DT_UINT32 = 22; DT_UINT64 = 23;
	DT_FLOAT_REF = 101; DT_DOUBLE_REF = 102; DT_INT32_REF = 103; DT_UINT8_REF = 104; DT_INT16_REF = 105;
	DT_INT8_REF = 106; DT_STRING_REF = 107; DT_COMPLEX64_REF = 108; DT_INT64_REF = 109; DT_BOOL_REF = 110;
	DT_BFLOAT16_REF = 114; DT_UINT16_REF = 117; DT_HALF_REF = 119; DT_RESOURCE_REF = 120; DT_VARIANT_REF = 121;
	DT_UINT32_REF = 122; DT_UINT64_REF = 123;
}

message TensorShapeProto {
	message Dim { int64 size = 1; string name = 2; }
	repeated Dim dim = 2;
	bool unknown_rank = 3;
}

message ResourceHandleProto {
	string device = 1; string container = 2; string name = 3; uint64 hash_code = 4; string maybe_type_name = 5;
}

message TensorProto {
	DataType dtype = 1;
	TensorShapeProto tensor_shape = 2;
	int32 version_number = 3;
	bytes tensor_content = 4;
	repeated int32 half_val = 13;
	repeated float float_val = 5;
	repeated double double_val = 6;
	repeated int32 int_val = 7;
	repeated bytes string_val = 8;
	repeated float scomplex_val = 9;
	repeated int64 int64_val = 10;
	repeated bool bool_val = 11;
	repeated double dcomplex_val = 12;
	repeated ResourceHandleProto resource_handle_val = 14;
	repeated uint32 uint32_val = 16;
	repeated uint64 uint64_val = 17;
}

message AttrValue {
	message ListValue {
		repeated bytes s = 2;
		repeated int64 i = 3;
		repeated float f = 4;
		repeated bool b = 5;
		repeated DataType type = 6;
		repeated TensorShapeProto shape = 7;
		repeated TensorProto tensor = 8;
		repeated NameAttrList func = 9;
	}
	oneof value {
		bytes s = 2;
		int64 i = 3;
		float f = 4;
		bool b = 5;
		DataType type = 6;
		TensorShapeProto shape = 7;
		TensorProto tensor = 8;
		ListValue list = 1;
		NameAttrList func = 10;
		string placeholder = 9;
	}
}

message NameAttrList {
	string name = 1;
	map<string, AttrValue> attr = 2;
}

message NodeDef {
	string name = 1;
	string op = 2;
	repeated string input = 3;
	string device = 4;
	map<string, AttrValue> attr = 5;
}

message VersionDef {
	int32 producer = 1;
	int32 min_consumer = 2;
	repeated int32 bad_consumers = 3;
}

message OpDef {
	string name = 1;
}

message FunctionDef {
	OpDef signature = 1;
	map<string, AttrValue> attr = 5;
	repeated NodeDef node_def = 3;
	map<string, string> ret = 4;
}

message FunctionDefLibrary {
	repeated FunctionDef function = 1;
}

message GraphDef {
	repeated NodeDef node = 1;
	VersionDef versions = 4;
	int32 version = 3;
	FunctionDefLibrary library = 2;
}
`;

/** tensorflow/core/protobuf: MetaGraphDef, SavedModel, checkpoint bundles and object graphs. */
export const PROTOBUF_PROTO = /* proto */ `
syntax = "proto3";
package tensorflow;

message OpList { repeated OpDef op = 1; }

message MetaGraphDef {
	message MetaInfoDef {
		string meta_graph_version = 1;
		OpList stripped_op_list = 2;
		repeated string tags = 4;
		string tensorflow_version = 5;
		string tensorflow_git_version = 6;
		bool stripped_default_attrs = 7;
	}
	MetaInfoDef meta_info_def = 1;
	GraphDef graph_def = 2;
	SaverDef saver_def = 3;
	map<string, CollectionDef> collection_def = 4;
	map<string, SignatureDef> signature_def = 5;
}

message SaverDef {
	string filename_tensor_name = 1;
	string save_tensor_name = 2;
	string restore_op_name = 3;
	int32 max_to_keep = 4;
	bool sharded = 5;
	float keep_checkpoint_every_n_hours = 6;
	int32 version = 7;
}

message CollectionDef {
	message NodeList { repeated string value = 1; }
	message BytesList { repeated bytes value = 1; }
	message Int64List { repeated int64 value = 1; }
	message FloatList { repeated float value = 1; }
	oneof kind {
		NodeList node_list = 1;
		BytesList bytes_list = 2;
		Int64List int64_list = 3;
		FloatList float_list = 4;
	}
}

message TensorInfo {
	oneof encoding { string name = 1; }
	DataType dtype = 2;
	TensorShapeProto tensor_shape = 3;
}

message SignatureDef {
	map<string, TensorInfo> inputs = 1;
	map<string, TensorInfo> outputs = 2;
	string method_name = 3;
}

message SavedModel {
	int64 saved_model_schema_version = 1;
	repeated MetaGraphDef meta_graphs = 2;
}

message TensorSliceProto {
	message Extent { int64 start = 1; oneof has_length { int64 length = 2; } }
	repeated Extent extent = 1;
}

message BundleHeaderProto {
	enum Endianness { LITTLE = 0; BIG = 1; }
	int32 num_shards = 1;
	Endianness endianness = 2;
	VersionDef version = 3;
}

message BundleEntryProto {
	DataType dtype = 1;
	TensorShapeProto shape = 2;
	int32 shard_id = 3;
	int64 offset = 4;
	int64 size = 5;
	fixed32 crc32c = 6;
	repeated TensorSliceProto slices = 7;
}

message TrackableObjectGraph {
	message TrackableObject {
		message ObjectReference { int32 node_id = 1; string local_name = 2; }
		message SerializedTensor { string name = 1; string full_name = 2; string checkpoint_key = 3; }
		repeated ObjectReference children = 1;
		repeated SerializedTensor attributes = 2;
	}
	repeated TrackableObject nodes = 1;
}
`;

/** tensorflow/compiler/tf2xla/tf2xla.proto: the graph.config.pbtxt schema. */
export const TF2XLA_PROTO = /* proto */ `
syntax = "proto3";
package tensorflow.tf2xla;

message TensorId {
	string node_name = 1;
	int64 output_index = 2;
}

message Feed {
	TensorId id = 1;
	tensorflow.TensorShapeProto shape = 2;
	string name = 3;
	tensorflow.DataType type = 4;
}

message Fetch {
	TensorId id = 1;
	string name = 2;
	tensorflow.TensorShapeProto shape = 3;
	tensorflow.DataType type = 4;
}

message Variable {
	string node_name = 1;
	string name = 2;
	tensorflow.TensorShapeProto shape = 3;
	tensorflow.DataType type = 4;
	bool readonly = 5;
}

message ConversionOptions {
	bool custom_fake_quant_op_calls = 1;
}

message Config {
	repeated Feed feed = 1;
	repeated Fetch fetch = 2;
	repeated Variable variable = 3;
	ConversionOptions conversion_options = 4;
}
`;
