import * as protobuf from "protobufjs";
import { FRAMEWORK_PROTO, GOOGLE_PROTO, PROTOBUF_PROTO, TF2XLA_PROTO } from "./schemas";
import type {
	BundleEntryProto, BundleHeaderProto, FunctionDefLibrary, GraphDef, MetaGraphDef, SavedModel, SavedObjectGraph, Tf2xlaConfig, TrackableObjectGraph,
} from "./types";

// int64 fields decode as plain numbers: shapes and offsets fit in 2^53, and Long objects would leak everywhere.
protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

const root = new protobuf.Root();
for (const source of [GOOGLE_PROTO, FRAMEWORK_PROTO, PROTOBUF_PROTO, TF2XLA_PROTO]) {
	protobuf.parse(source, root, { keepCase: true });
}
root.resolveAll();

/** Looks up a message type by its full name, e.g. "tensorflow.GraphDef". */
export function messageType(fullName: string): protobuf.Type {
	return root.lookupType(fullName);
}

/** Every message type of the schemas, for tools that walk them all (the text format tests do). */
export function allMessageTypes(): protobuf.Type[] {
	const found: protobuf.Type[] = [];
	const visit = (namespace: protobuf.NamespaceBase): void => {
		for (const nested of namespace.nestedArray) {
			if (nested instanceof protobuf.Type) found.push(nested);
			if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) visit(nested);
		}
	};
	visit(root);
	return found;
}

/** Looks up an enum by its full name, e.g. "tensorflow.DataType". */
export function enumType(fullName: string): protobuf.Enum {
	return root.lookupEnum(fullName);
}

export const types = {
	GraphDef: messageType("tensorflow.GraphDef"),
	NodeDef: messageType("tensorflow.NodeDef"),
	AttrValue: messageType("tensorflow.AttrValue"),
	TensorShapeProto: messageType("tensorflow.TensorShapeProto"),
	TensorProto: messageType("tensorflow.TensorProto"),
	MetaGraphDef: messageType("tensorflow.MetaGraphDef"),
	SavedModel: messageType("tensorflow.SavedModel"),
	BundleHeaderProto: messageType("tensorflow.BundleHeaderProto"),
	BundleEntryProto: messageType("tensorflow.BundleEntryProto"),
	TrackableObjectGraph: messageType("tensorflow.TrackableObjectGraph"),
	SavedObjectGraph: messageType("tensorflow.SavedObjectGraph"),
	FunctionDefLibrary: messageType("tensorflow.FunctionDefLibrary"),
	OpList: messageType("tensorflow.OpList"),
	VariableDef: messageType("tensorflow.VariableDef"),
	Any: messageType("google.protobuf.Any"),
	Config: messageType("tensorflow.tf2xla.Config"),
};

function decoder<T>(type: protobuf.Type): (bytes: Uint8Array) => T {
	return (bytes) => type.decode(bytes) as unknown as T;
}

export const decodeGraphDef = decoder<GraphDef>(types.GraphDef);
export const decodeMetaGraphDef = decoder<MetaGraphDef>(types.MetaGraphDef);
export const decodeSavedModel = decoder<SavedModel>(types.SavedModel);
export const decodeBundleHeader = decoder<BundleHeaderProto>(types.BundleHeaderProto);
export const decodeBundleEntry = decoder<BundleEntryProto>(types.BundleEntryProto);
export const decodeTrackableObjectGraph = decoder<TrackableObjectGraph>(types.TrackableObjectGraph);
export const decodeSavedObjectGraph = decoder<SavedObjectGraph>(types.SavedObjectGraph);
export const decodeFunctionDefLibrary = decoder<FunctionDefLibrary>(types.FunctionDefLibrary);
export const decodeConfig = decoder<Tf2xlaConfig>(types.Config);

/** Serialises a plain object (snake_case fields, as decoded) as the given message type. */
export function encodeMessage(type: protobuf.Type, value: object): Uint8Array {
	return type.encode(type.fromObject(value as Record<string, unknown>)).finish();
}
