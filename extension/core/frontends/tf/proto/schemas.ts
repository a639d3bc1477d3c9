// TensorFlow's protobuf schemas with TensorFlow's own field numbers, complete for everything a GraphDef,
// MetaGraphDef, SavedModel or checkpoint can hold (tensorflow/core/framework/*.proto, core/protobuf/meta_graph.proto,
// saver.proto, struct.proto, saved_object_graph.proto, trackable_object_graph.proto, saved_model.proto,
// core/protobuf/tensor_bundle.proto, compiler/tf2xla/tf2xla.proto), so text files read without unknown fields.
// Binary decoding skips fields not listed; the text reader refuses them, so a field missing here fails loudly.

/** google/protobuf/any.proto and wrappers.proto (only the wrappers TensorFlow uses). */
export const GOOGLE_PROTO = /* proto */ `
syntax = "proto3";
package google.protobuf;

message Any { string type_url = 1; bytes value = 2; }
message BoolValue { bool value = 1; }
`;

/** tensorflow/core/framework: types, shapes, tensors, attrs, nodes, graphs, ops, functions. */
export const FRAMEWORK_PROTO = /* proto */ `
syntax = "proto3";
package tensorflow;

enum DataType {
	DT_INVALID = 0; DT_FLOAT = 1; DT_DOUBLE = 2; DT_INT32 = 3; DT_UINT8 = 4; DT_INT16 = 5; DT_INT8 = 6;
	DT_STRING = 7; DT_COMPLEX64 = 8; DT_INT64 = 9; DT_BOOL = 10; DT_QINT8 = 11; DT_QUINT8 = 12; DT_QINT32 = 13;
	DT_BFLOAT16 = 14; DT_QINT16 = 15; DT_QUINT16 = 16; DT_UINT16 = 17; DT_COMPLEX128 = 18; DT_HALF = 19;
	DT_RESOURCE = 20; DT_VARIANT = 21; DT_UINT32 = 22; DT_UINT64 = 23; DT_FLOAT8_E5M2 = 24; DT_FLOAT8_E4M3FN = 25;
	DT_FLOAT8_E4M3FNUZ = 26; DT_FLOAT8_E4M3B11FNUZ = 27; DT_FLOAT8_E5M2FNUZ = 28; DT_INT4 = 29; DT_UINT4 = 30;
	DT_INT2 = 31; DT_UINT2 = 32;
	DT_FLOAT_REF = 101; DT_DOUBLE_REF = 102; DT_INT32_REF = 103; DT_UINT8_REF = 104; DT_INT16_REF = 105;
	DT_INT8_REF = 106; DT_STRING_REF = 107; DT_COMPLEX64_REF = 108; DT_INT64_REF = 109; DT_BOOL_REF = 110;
	DT_QINT8_REF = 111; DT_QUINT8_REF = 112; DT_QINT32_REF = 113; DT_BFLOAT16_REF = 114; DT_QINT16_REF = 115;
	DT_QUINT16_REF = 116; DT_UINT16_REF = 117; DT_COMPLEX128_REF = 118; DT_HALF_REF = 119; DT_RESOURCE_REF = 120;
	DT_VARIANT_REF = 121; DT_UINT32_REF = 122; DT_UINT64_REF = 123; DT_FLOAT8_E5M2_REF = 124;
	DT_FLOAT8_E4M3FN_REF = 125; DT_FLOAT8_E4M3FNUZ_REF = 126; DT_FLOAT8_E4M3B11FNUZ_REF = 127;
	DT_FLOAT8_E5M2FNUZ_REF = 128; DT_INT4_REF = 129; DT_UINT4_REF = 130; DT_INT2_REF = 131; DT_UINT2_REF = 132;
}

enum FullTypeId {
	TFT_UNSET = 0; TFT_VAR = 1; TFT_ANY = 2; TFT_PRODUCT = 3; TFT_NAMED = 4; TFT_FOR_EACH = 20; TFT_CALLABLE = 100;
	TFT_TENSOR = 1000; TFT_ARRAY = 1001; TFT_OPTIONAL = 1002; TFT_LITERAL = 1003; TFT_ENCODED = 1004;
	TFT_SHAPE_TENSOR = 1005; TFT_BOOL = 200; TFT_UINT8 = 201; TFT_UINT16 = 202; TFT_UINT32 = 203; TFT_UINT64 = 204;
	TFT_INT8 = 205; TFT_INT16 = 206; TFT_INT32 = 207; TFT_INT64 = 208; TFT_HALF = 209; TFT_FLOAT = 210;
	TFT_DOUBLE = 211; TFT_BFLOAT16 = 215; TFT_COMPLEX64 = 212; TFT_COMPLEX128 = 213; TFT_STRING = 214;
	TFT_DATASET = 10102; TFT_RAGGED = 10103; TFT_ITERATOR = 10104; TFT_MUTEX_LOCK = 10202; TFT_LEGACY_VARIANT = 10203;
}

message FullTypeDef {
	FullTypeId type_id = 1;
	repeated FullTypeDef args = 2;
	oneof attr { string s = 3; int64 i = 4; }
}

message TensorShapeProto {
	message Dim { int64 size = 1; string name = 2; }
	repeated Dim dim = 2;
	bool unknown_rank = 3;
}

message ResourceHandleProto {
	message DtypeAndShape { DataType dtype = 1; TensorShapeProto shape = 2; }
	string device = 1; string container = 2; string name = 3; uint64 hash_code = 4; string maybe_type_name = 5;
	repeated DtypeAndShape dtypes_and_shapes = 6;
}

message VariantTensorDataProto {
	string type_name = 1;
	bytes metadata = 2;
	repeated TensorProto tensors = 3;
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
	repeated VariantTensorDataProto variant_val = 15;
	repeated uint32 uint32_val = 16;
	repeated uint64 uint64_val = 17;
	bytes float8_val = 18;
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
	message ExperimentalDebugInfo {
		repeated string original_node_names = 1;
		repeated string original_func_names = 2;
	}
	string name = 1;
	string op = 2;
	repeated string input = 3;
	string device = 4;
	map<string, AttrValue> attr = 5;
	ExperimentalDebugInfo experimental_debug_info = 6;
	FullTypeDef experimental_type = 7;
}

message VersionDef {
	int32 producer = 1;
	int32 min_consumer = 2;
	repeated int32 bad_consumers = 3;
}

message OpDef {
	message ArgDef {
		string name = 1;
		string description = 2;
		DataType type = 3;
		string type_attr = 4;
		string number_attr = 5;
		string type_list_attr = 6;
		repeated ResourceHandleProto.DtypeAndShape handle_data = 7;
		bool is_ref = 16;
		FullTypeDef experimental_full_type = 17;
	}
	message AttrDef {
		string name = 1;
		string type = 2;
		AttrValue default_value = 3;
		string description = 4;
		bool has_minimum = 5;
		int64 minimum = 6;
		AttrValue allowed_values = 7;
	}
	string name = 1;
	repeated ArgDef input_arg = 2;
	repeated ArgDef output_arg = 3;
	repeated string control_output = 20;
	repeated AttrDef attr = 4;
	OpDeprecation deprecation = 8;
	string summary = 5;
	string description = 6;
	bool is_commutative = 18;
	bool is_aggregate = 16;
	bool is_stateful = 17;
	bool allows_uninitialized_input = 19;
	bool is_distributed_communication = 21;
}

message OpDeprecation {
	int32 version = 1;
	string explanation = 2;
}

message OpList { repeated OpDef op = 1; }

message FunctionDef {
	message ArgAttrs { map<string, AttrValue> attr = 1; }
	OpDef signature = 1;
	map<string, AttrValue> attr = 5;
	map<uint32, ArgAttrs> arg_attr = 7;
	map<uint32, uint32> resource_arg_unique_id = 8;
	repeated NodeDef node_def = 3;
	map<string, string> ret = 4;
	map<string, string> control_ret = 6;
}

message GradientDef {
	string function_name = 1;
	string gradient_func = 2;
}

message RegisteredGradient {
	string gradient_func = 1;
	string registered_op_type = 2;
}

message FunctionDefLibrary {
	repeated FunctionDef function = 1;
	repeated GradientDef gradient = 2;
	repeated RegisteredGradient registered_gradients = 3;
}

message GraphDebugInfo {
	message FileLineCol { int32 file_index = 1; int32 line = 2; int32 col = 3; string func = 4; string code = 5; }
	message StackTrace { repeated FileLineCol file_line_cols = 1; repeated fixed64 frame_id = 2; }
	repeated string files = 1;
	map<fixed64, FileLineCol> frames_by_id = 4;
	map<fixed64, StackTrace> traces_by_id = 6;
	map<string, StackTrace> traces = 2;
	map<string, fixed64> name_to_trace_id = 5;
}

message GraphDef {
	repeated NodeDef node = 1;
	VersionDef versions = 4;
	int32 version = 3;
	FunctionDefLibrary library = 2;
	GraphDebugInfo debug_info = 5;
}

enum VariableSynchronization {
	VARIABLE_SYNCHRONIZATION_AUTO = 0; VARIABLE_SYNCHRONIZATION_NONE = 1; VARIABLE_SYNCHRONIZATION_ON_WRITE = 2;
	VARIABLE_SYNCHRONIZATION_ON_READ = 3;
}

enum VariableAggregation {
	VARIABLE_AGGREGATION_NONE = 0; VARIABLE_AGGREGATION_SUM = 1; VARIABLE_AGGREGATION_MEAN = 2;
	VARIABLE_AGGREGATION_ONLY_FIRST_REPLICA = 3;
}

message SaveSliceInfoDef {
	string full_name = 1;
	repeated int64 full_shape = 2;
	repeated int64 var_offset = 3;
	repeated int64 var_shape = 4;
}

message VariableDef {
	string variable_name = 1;
	string initial_value_name = 6;
	string initializer_name = 2;
	string snapshot_name = 3;
	SaveSliceInfoDef save_slice_info_def = 4;
	bool is_resource = 5;
	bool trainable = 7;
	VariableSynchronization synchronization = 8;
	VariableAggregation aggregation = 9;
}
`;

/** tensorflow/core/protobuf: MetaGraphDef, SavedModel, object graphs, structured values, checkpoint bundles. */
export const PROTOBUF_PROTO = /* proto */ `
syntax = "proto3";
package tensorflow;

message MetaGraphDef {
	message MetaInfoDef {
		string meta_graph_version = 1;
		OpList stripped_op_list = 2;
		google.protobuf.Any any_info = 3;
		repeated string tags = 4;
		string tensorflow_version = 5;
		string tensorflow_git_version = 6;
		bool stripped_default_attrs = 7;
		map<string, string> function_aliases = 8;
	}
	MetaInfoDef meta_info_def = 1;
	GraphDef graph_def = 2;
	SaverDef saver_def = 3;
	map<string, CollectionDef> collection_def = 4;
	map<string, SignatureDef> signature_def = 5;
	repeated AssetFileDef asset_file_def = 6;
	SavedObjectGraph object_graph_def = 7;
}

message SaverDef {
	enum CheckpointFormatVersion { LEGACY = 0; V1 = 1; V2 = 2; }
	string filename_tensor_name = 1;
	string save_tensor_name = 2;
	string restore_op_name = 3;
	int32 max_to_keep = 4;
	bool sharded = 5;
	float keep_checkpoint_every_n_hours = 6;
	CheckpointFormatVersion version = 7;
}

message CollectionDef {
	message NodeList { repeated string value = 1; }
	message BytesList { repeated bytes value = 1; }
	message Int64List { repeated int64 value = 1 [packed = true]; }
	message FloatList { repeated float value = 1 [packed = true]; }
	message AnyList { repeated google.protobuf.Any value = 1; }
	oneof kind {
		NodeList node_list = 1;
		BytesList bytes_list = 2;
		Int64List int64_list = 3;
		FloatList float_list = 4;
		AnyList any_list = 5;
	}
}

message TensorInfo {
	message CooSparse {
		string values_tensor_name = 1;
		string indices_tensor_name = 2;
		string dense_shape_tensor_name = 3;
	}
	message CompositeTensor {
		TypeSpecProto type_spec = 1;
		repeated TensorInfo components = 2;
	}
	oneof encoding {
		string name = 1;
		CooSparse coo_sparse = 4;
		CompositeTensor composite_tensor = 5;
	}
	DataType dtype = 2;
	TensorShapeProto tensor_shape = 3;
}

message SignatureDef {
	map<string, TensorInfo> inputs = 1;
	map<string, TensorInfo> outputs = 2;
	string method_name = 3;
	map<string, TensorProto> defaults = 4;
}

message AssetFileDef {
	TensorInfo tensor_info = 1;
	string filename = 2;
}

message SavedModel {
	int64 saved_model_schema_version = 1;
	repeated MetaGraphDef meta_graphs = 2;
}

message StructuredValue {
	oneof kind {
		NoneValue none_value = 1;
		double float64_value = 11;
		sint64 int64_value = 12;
		string string_value = 13;
		bool bool_value = 14;
		TensorShapeProto tensor_shape_value = 31;
		DataType tensor_dtype_value = 32;
		TensorSpecProto tensor_spec_value = 33;
		TypeSpecProto type_spec_value = 34;
		BoundedTensorSpecProto bounded_tensor_spec_value = 35;
		ListValue list_value = 51;
		TupleValue tuple_value = 52;
		DictValue dict_value = 53;
		NamedTupleValue named_tuple_value = 54;
		TensorProto tensor_value = 55;
		TensorProto numpy_value = 56;
	}
}

message NoneValue {}
message ListValue { repeated StructuredValue values = 1; }
message TupleValue { repeated StructuredValue values = 1; }
message DictValue { map<string, StructuredValue> fields = 1; }
message PairValue { string key = 1; StructuredValue value = 2; }
message NamedTupleValue { string name = 1; repeated PairValue values = 2; }

message TensorSpecProto {
	string name = 1;
	TensorShapeProto shape = 2;
	DataType dtype = 3;
}

message BoundedTensorSpecProto {
	string name = 1;
	TensorShapeProto shape = 2;
	DataType dtype = 3;
	TensorProto minimum = 4;
	TensorProto maximum = 5;
}

message TypeSpecProto {
	enum TypeSpecClass {
		UNKNOWN = 0; SPARSE_TENSOR_SPEC = 1; INDEXED_SLICES_SPEC = 2; RAGGED_TENSOR_SPEC = 3; TENSOR_ARRAY_SPEC = 4;
		DATA_DATASET_SPEC = 5; DATA_ITERATOR_SPEC = 6; OPTIONAL_SPEC = 7; PER_REPLICA_SPEC = 8; VARIABLE_SPEC = 9;
		ROW_PARTITION_SPEC = 10; REGISTERED_TYPE_SPEC = 12; EXTENSION_TYPE_SPEC = 13;
	}
	TypeSpecClass type_spec_class = 1;
	StructuredValue type_state = 2;
	string type_spec_class_name = 3;
	int32 num_flat_components = 4;
}

message SavedObjectGraph {
	repeated SavedObject nodes = 1;
	map<string, SavedConcreteFunction> concrete_functions = 2;
}

message SavedObject {
	repeated TrackableObjectGraph.TrackableObject.ObjectReference children = 1;
	repeated TrackableObjectGraph.TrackableObject.ObjectReference dependencies = 15;
	repeated TrackableObjectGraph.TrackableObject.SlotVariableReference slot_variables = 3;
	oneof kind {
		SavedUserObject user_object = 4;
		SavedAsset asset = 5;
		SavedFunction function = 6;
		SavedVariable variable = 7;
		SavedBareConcreteFunction bare_concrete_function = 8;
		SavedConstant constant = 9;
		SavedResource resource = 10;
		CapturedTensor captured_tensor = 12;
	}
	map<string, SaveableObject> saveable_objects = 11;
	string registered_name = 13;
	google.protobuf.Any serialized_user_proto = 14;
	string registered_saver = 16;
}

message SavedUserObject {
	string identifier = 1;
	VersionDef version = 2;
	string metadata = 3;
}

message SavedAsset { int32 asset_file_def_index = 1; }

message SavedFunction {
	repeated string concrete_functions = 1;
	FunctionSpec function_spec = 2;
}

message CapturedTensor {
	string name = 1;
	string concrete_function = 2;
}

message SavedConcreteFunction {
	repeated int32 bound_inputs = 2;
	StructuredValue canonicalized_input_signature = 3;
	StructuredValue output_signature = 4;
}

message SavedBareConcreteFunction {
	string concrete_function_name = 1;
	repeated string argument_keywords = 2;
	int64 allowed_positional_arguments = 3;
	FunctionSpec function_spec = 4;
}

message SavedConstant { string operation = 1; }

message SavedVariable {
	DataType dtype = 1;
	TensorShapeProto shape = 2;
	bool trainable = 3;
	VariableSynchronization synchronization = 4;
	VariableAggregation aggregation = 5;
	string name = 6;
	string device = 7;
	repeated SavedVariable experimental_distributed_variable_components = 8;
}

message FunctionSpec {
	enum JitCompile { DEFAULT = 0; ON = 1; OFF = 2; }
	StructuredValue fullargspec = 1;
	bool is_method = 2;
	StructuredValue input_signature = 5;
	JitCompile jit_compile = 6;
}

message SavedResource { string device = 1; }

message SaveableObject {
	int32 save_function = 2;
	int32 restore_function = 3;
}

message TrackableObjectGraph {
	message TrackableObject {
		message ObjectReference { int32 node_id = 1; string local_name = 2; }
		message SerializedTensor { string name = 1; string full_name = 2; string checkpoint_key = 3; bool optional_restore = 4; }
		message SlotVariableReference { int32 original_variable_node_id = 1; string slot_name = 2; int32 slot_variable_node_id = 3; }
		repeated ObjectReference children = 1;
		repeated SerializedTensor attributes = 2;
		repeated SlotVariableReference slot_variables = 3;
		RegisteredSaver registered_saver = 4;
		google.protobuf.BoolValue has_checkpoint_values = 5;
	}
	repeated TrackableObject nodes = 1;
}

message RegisteredSaver {
	string name = 1;
	string object_name = 2;
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
