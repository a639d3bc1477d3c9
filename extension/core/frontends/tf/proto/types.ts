// TypeScript views of the decoded messages in schemas.ts (snake_case field names, int64 as number).
// Decoded messages carry defaults on their prototype, so presence is tested with hasOwnProperty.
import type { AttrValue, GraphDef, NodeDef, TensorProto, TensorShapeProto, VersionDef } from "../../../graph/attr";

export type { AttrListValue, AttrValue, GraphDef, NameAttrList, NodeDef, TensorProto, TensorShapeProto, VersionDef } from "../../../graph/attr";
export { has } from "../../../graph/attr";

/** google.protobuf.Any: a serialised message of the type named by type_url's last path segment. */
export interface AnyProto {
	type_url?: string;
	value?: Uint8Array;
}

export interface FullTypeDef {
	type_id?: number;
	args?: FullTypeDef[];
	s?: string;
	i?: number;
}

export interface ArgDef {
	name?: string;
	description?: string;
	type?: number;
	type_attr?: string;
	number_attr?: string;
	type_list_attr?: string;
	handle_data?: { dtype?: number; shape?: TensorShapeProto }[];
	is_ref?: boolean;
	experimental_full_type?: FullTypeDef;
}

export interface AttrDef {
	name?: string;
	type?: string;
	default_value?: AttrValue;
	description?: string;
	has_minimum?: boolean;
	minimum?: number;
	allowed_values?: AttrValue;
}

export interface OpDef {
	name?: string;
	input_arg?: ArgDef[];
	output_arg?: ArgDef[];
	control_output?: string[];
	attr?: AttrDef[];
	deprecation?: { version?: number; explanation?: string };
	summary?: string;
	description?: string;
	is_commutative?: boolean;
	is_aggregate?: boolean;
	is_stateful?: boolean;
	allows_uninitialized_input?: boolean;
	is_distributed_communication?: boolean;
}

export interface FunctionDef {
	signature?: OpDef;
	attr?: Record<string, AttrValue>;
	/** Keyed by argument index. */
	arg_attr?: Record<string, { attr?: Record<string, AttrValue> }>;
	resource_arg_unique_id?: Record<string, number>;
	node_def?: NodeDef[];
	ret?: Record<string, string>;
	control_ret?: Record<string, string>;
}

export interface FunctionDefLibrary {
	function?: FunctionDef[];
	gradient?: { function_name?: string; gradient_func?: string }[];
	registered_gradients?: { gradient_func?: string; registered_op_type?: string }[];
}

export interface TensorSpecProto {
	name?: string;
	shape?: TensorShapeProto;
	dtype?: number;
}

export interface TypeSpecProto {
	type_spec_class?: number;
	type_state?: StructuredValue;
	type_spec_class_name?: string;
	num_flat_components?: number;
}

/** struct.proto: a Python value (None, numbers, strings, specs, lists, tuples, dicts, namedtuples); one field is set. */
export interface StructuredValue {
	none_value?: Record<string, never>;
	float64_value?: number;
	int64_value?: number;
	string_value?: string;
	bool_value?: boolean;
	tensor_shape_value?: TensorShapeProto;
	tensor_dtype_value?: number;
	tensor_spec_value?: TensorSpecProto;
	type_spec_value?: TypeSpecProto;
	bounded_tensor_spec_value?: TensorSpecProto & { minimum?: TensorProto; maximum?: TensorProto };
	list_value?: { values?: StructuredValue[] };
	tuple_value?: { values?: StructuredValue[] };
	dict_value?: { fields?: Record<string, StructuredValue> };
	named_tuple_value?: { name?: string; values?: { key?: string; value?: StructuredValue }[] };
	tensor_value?: TensorProto;
	numpy_value?: TensorProto;
}

export interface TensorInfo {
	name?: string;
	coo_sparse?: { values_tensor_name?: string; indices_tensor_name?: string; dense_shape_tensor_name?: string };
	composite_tensor?: { type_spec?: TypeSpecProto; components?: TensorInfo[] };
	dtype?: number;
	tensor_shape?: TensorShapeProto;
}

export interface SignatureDef {
	inputs: Record<string, TensorInfo>;
	outputs: Record<string, TensorInfo>;
	method_name?: string;
	defaults?: Record<string, TensorProto>;
}

export interface ObjectReference {
	node_id?: number;
	local_name?: string;
}

export interface SlotVariableReference {
	original_variable_node_id?: number;
	slot_name?: string;
	slot_variable_node_id?: number;
}

export interface FunctionSpec {
	fullargspec?: StructuredValue;
	is_method?: boolean;
	input_signature?: StructuredValue;
	jit_compile?: number;
}

export interface SavedVariable {
	dtype?: number;
	shape?: TensorShapeProto;
	trainable?: boolean;
	synchronization?: number;
	aggregation?: number;
	name?: string;
	device?: string;
	experimental_distributed_variable_components?: SavedVariable[];
}

/** One object of a SavedModel's object graph; its index is the node id, shared with the checkpoint's object graph. */
export interface SavedObject {
	children?: ObjectReference[];
	dependencies?: ObjectReference[];
	slot_variables?: SlotVariableReference[];
	user_object?: { identifier?: string; version?: VersionDef; metadata?: string };
	asset?: { asset_file_def_index?: number };
	function?: { concrete_functions?: string[]; function_spec?: FunctionSpec };
	variable?: SavedVariable;
	bare_concrete_function?: { concrete_function_name?: string; argument_keywords?: string[]; allowed_positional_arguments?: number; function_spec?: FunctionSpec };
	constant?: { operation?: string };
	resource?: { device?: string };
	captured_tensor?: { name?: string; concrete_function?: string };
	saveable_objects?: Record<string, { save_function?: number; restore_function?: number }>;
	registered_name?: string;
	serialized_user_proto?: AnyProto;
	registered_saver?: string;
}

export interface SavedConcreteFunction {
	/** Node ids of the SavedObjects (variables, resources, assets) appended to the caller's inputs. */
	bound_inputs?: number[];
	canonicalized_input_signature?: StructuredValue;
	output_signature?: StructuredValue;
}

export interface SavedObjectGraph {
	nodes?: SavedObject[];
	concrete_functions?: Record<string, SavedConcreteFunction>;
}

export interface CollectionDef {
	node_list?: { value?: string[] };
	bytes_list?: { value?: Uint8Array[] };
	int64_list?: { value?: number[] };
	float_list?: { value?: number[] };
	any_list?: { value?: AnyProto[] };
}

/** SaverDef.CheckpointFormatVersion. */
export const CHECKPOINT_FORMAT = { LEGACY: 0, V1: 1, V2: 2 } as const;

export interface SaverDef {
	filename_tensor_name?: string;
	save_tensor_name?: string;
	restore_op_name?: string;
	max_to_keep?: number;
	sharded?: boolean;
	keep_checkpoint_every_n_hours?: number;
	version?: number;
}

export interface MetaInfoDef {
	meta_graph_version?: string;
	stripped_op_list?: { op?: OpDef[] };
	any_info?: AnyProto;
	tags?: string[];
	tensorflow_version?: string;
	tensorflow_git_version?: string;
	stripped_default_attrs?: boolean;
	function_aliases?: Record<string, string>;
}

export interface MetaGraphDef {
	meta_info_def?: MetaInfoDef;
	graph_def?: GraphDef;
	saver_def?: SaverDef;
	collection_def: Record<string, CollectionDef>;
	signature_def: Record<string, SignatureDef>;
	asset_file_def?: { tensor_info?: TensorInfo; filename?: string }[];
	object_graph_def?: SavedObjectGraph;
}

export interface SavedModel {
	saved_model_schema_version?: number;
	meta_graphs: MetaGraphDef[];
}

export interface BundleHeaderProto {
	num_shards?: number;
	endianness?: number;
}

export interface BundleEntryProto {
	dtype?: number;
	shape?: TensorShapeProto;
	shard_id?: number;
	offset?: number;
	size?: number;
	crc32c?: number;
	slices?: unknown[];
}

export interface SerializedTensor {
	name?: string;
	full_name?: string;
	checkpoint_key?: string;
	optional_restore?: boolean;
}

export interface TrackableObject {
	children?: ObjectReference[];
	attributes?: SerializedTensor[];
	slot_variables?: SlotVariableReference[];
	registered_saver?: { name?: string; object_name?: string };
	has_checkpoint_values?: { value?: boolean };
}

export interface TrackableObjectGraph {
	nodes?: TrackableObject[];
}

export interface TensorId {
	node_name?: string;
	output_index?: number;
}

export interface Tf2xlaFeed {
	id?: TensorId;
	shape?: TensorShapeProto;
	name?: string;
	type?: number;
}

export interface Tf2xlaFetch {
	id?: TensorId;
	name?: string;
	shape?: TensorShapeProto;
	type?: number;
}

export interface Tf2xlaConfig {
	feed: Tf2xlaFeed[];
	fetch: Tf2xlaFetch[];
	variable: { node_name?: string; name?: string; shape?: TensorShapeProto; type?: number; readonly?: boolean }[];
}

