// TypeScript views of the decoded messages in schemas.ts (snake_case field names, int64 as number).
// Decoded messages carry defaults on their prototype, so presence is tested with hasOwnProperty.
import type { GraphDef, TensorShapeProto } from "../../../graph/attr";

export type { AttrListValue, AttrValue, GraphDef, NameAttrList, NodeDef, TensorProto, TensorShapeProto, VersionDef } from "../../../graph/attr";
export { has } from "../../../graph/attr";

export interface TensorInfo {
	name?: string;
	dtype?: number;
	tensor_shape?: TensorShapeProto;
}

export interface SignatureDef {
	inputs: Record<string, TensorInfo>;
	outputs: Record<string, TensorInfo>;
	method_name?: string;
}

export interface MetaGraphDef {
	meta_info_def?: { meta_graph_version?: string; tags?: string[]; tensorflow_version?: string };
	graph_def?: GraphDef;
	saver_def?: { filename_tensor_name?: string; restore_op_name?: string; version?: number };
	collection_def: Record<string, { node_list?: { value: string[] }; bytes_list?: { value: Uint8Array[] } }>;
	signature_def: Record<string, SignatureDef>;
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

export interface TrackableObjectGraph {
	nodes: { attributes: { name?: string; full_name?: string; checkpoint_key?: string }[] }[];
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

