// What the text format reader and writer need to know of a protobufjs message type, computed once per type.
import * as protobuf from "protobufjs";


/** Deeper nesting than any real TensorFlow file; bounds the reader's (and writer's) recursion. */
export const MAX_NESTING = 100;

export type IntKind = "int32" | "uint32" | "int64" | "uint64";
export type Kind = "message" | "enum" | "string" | "bytes" | "bool" | "double" | "float" | IntKind;

export interface FieldInfo {
	name: string;
	id: number;
	kind: Kind;
	/** The type as the schema spells it, for error messages. */
	typeName: string;
	repeated: boolean;
	oneof?: string;
	messageType?: protobuf.Type;
	enumType?: protobuf.Enum;
	/** Map fields are read and written as repeated entries of this synthetic key/value message. */
	entry?: MessageInfo;
}

export interface MessageInfo {
	name: string;
	/** Undefined for the synthetic entry messages of map fields. */
	type?: protobuf.Type;
	fields: Map<string, FieldInfo>;
	/** Declaration order, as users read the schema: used when listing the expected field names. */
	declared: FieldInfo[];
	/** Field-number order, which is the order TensorFlow's printer uses. */
	byNumber: FieldInfo[];
	oneofs: Map<string, FieldInfo[]>;
}

const SCALAR_KINDS: Record<string, Kind> = {
	double: "double", float: "float", bool: "bool", string: "string", bytes: "bytes",
	int32: "int32", sint32: "int32", sfixed32: "int32", uint32: "uint32", fixed32: "uint32",
	int64: "int64", sint64: "int64", sfixed64: "int64", uint64: "uint64", fixed64: "uint64",
};

export const INT_RANGES: Record<IntKind, readonly [bigint, bigint]> = {
	int32: [-(2n ** 31n), 2n ** 31n - 1n],
	uint32: [0n, 2n ** 32n - 1n],
	int64: [-(2n ** 63n), 2n ** 63n - 1n],
	uint64: [0n, 2n ** 64n - 1n],
};

const infoCache = new WeakMap<protobuf.Type, MessageInfo>();

export function messageInfo(type: protobuf.Type): MessageInfo {
	const cached = infoCache.get(type);
	if (cached) return cached;
	const name = type.fullName.replace(/^\./, "");
	const declared = type.fieldsArray.map((field) => fieldInfo(field, name));
	const info = makeInfo(name, declared);
	info.type = type;
	infoCache.set(type, info);
	return info;
}

function makeInfo(name: string, declared: FieldInfo[]): MessageInfo {
	const oneofs = new Map<string, FieldInfo[]>();
	for (const field of declared) {
		if (field.oneof === undefined) continue;
		const members = oneofs.get(field.oneof) ?? [];
		members.push(field);
		oneofs.set(field.oneof, members);
	}
	return {
		name,
		fields: new Map(declared.map((field) => [field.name, field])),
		declared,
		byNumber: [...declared].sort((a, b) => a.id - b.id),
		oneofs,
	};
}

function fieldInfo(field: protobuf.Field, owner: string): FieldInfo {
	field.resolve();
	if (field instanceof protobuf.MapField) {
		const entryName = `${owner}.${field.name.replace(/(?:^|_)([a-z])/g, (_, c: string) => c.toUpperCase())}Entry`;
		const key = valueInfo("key", 1, field.keyType, null, false, entryName);
		const value = valueInfo("value", 2, field.type, field.resolvedType, false, entryName);
		return { name: field.name, id: field.id, kind: "message", typeName: entryName, repeated: true, entry: makeInfo(entryName, [key, value]) };
	}
	const info = valueInfo(field.name, field.id, field.type, field.resolvedType, field.repeated, owner);
	// proto3 `optional` fields live in synthetic oneofs named "_field"; they exclude nothing.
	if (field.partOf && !field.partOf.name.startsWith("_")) info.oneof = field.partOf.name;
	return info;
}

function valueInfo(
	name: string, id: number, typeName: string, resolved: protobuf.ReflectionObject | null, repeated: boolean, owner: string,
): FieldInfo {
	if (resolved instanceof protobuf.Type) {
		return { name, id, kind: "message", typeName: resolved.fullName.replace(/^\./, ""), repeated, messageType: resolved };
	}
	if (resolved instanceof protobuf.Enum) {
		return { name, id, kind: "enum", typeName: resolved.fullName.replace(/^\./, ""), repeated, enumType: resolved };
	}
	const kind = SCALAR_KINDS[typeName];
	if (kind === undefined) throw new Error(`field "${name}" of ${owner} has type ${typeName}, which text format support does not cover`);
	return { name, id, kind, typeName, repeated };
}

export const ANY_TYPE_NAME = "google.protobuf.Any";

/**
 * Resolves the message type an Any's type_url names ("type.googleapis.com/tensorflow.SavedModel": the part after the
 * last slash), among the schemas `anyType` was loaded with. Undefined when the type is not known.
 */
export function anyPayloadType(anyType: protobuf.Type | undefined, typeUrl: string): protobuf.Type | undefined {
	const name = typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
	if (anyType === undefined || name === "" || !/^[A-Za-z_][\w.]*$/.test(name)) return undefined;
	const found = anyType.root.lookup(name);
	return found instanceof protobuf.Type ? found : undefined;
}

export function nestedInfo(field: FieldInfo): MessageInfo {
	return field.entry ?? messageInfo(field.messageType as protobuf.Type);
}

export function hasOwn(object: object, key: string): boolean {
	return Object.prototype.hasOwnProperty.call(object, key);
}

/** A map key such as "__proto__" must become an own property, not a prototype swap. */
export function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
	if (key === "__proto__") Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
	else object[key] = value;
}

export function defaultValue(field: FieldInfo): unknown {
	switch (field.kind) {
		case "message": return {};
		case "string": return "";
		case "bytes": return new Uint8Array(0);
		case "bool": return false;
		default: return 0;
	}
}

export function expectation(field: FieldInfo): string {
	switch (field.kind) {
		case "message": return `a message in { } (${field.typeName})`;
		case "enum": return `a ${field.typeName} name or number`;
		case "string": return "a quoted string";
		case "bytes": return "a quoted string (bytes)";
		case "bool": return "true or false";
		case "double": case "float": return `a number (${field.typeName})`;
		case "uint32": case "uint64": return `a non-negative integer (${field.typeName})`;
		default: return `an integer (${field.typeName})`;
	}
}

/** Character codes the reader and writer test for. */
export enum Ch {
	Tab = 9, Newline = 10, VTab = 11, FormFeed = 12, Return = 13, Space = 32, DoubleQuote = 34, Hash = 35,
	SingleQuote = 39, Plus = 43, Comma = 44, Minus = 45, Dot = 46, Zero = 48, Seven = 55, Nine = 57, Colon = 58,
	Semicolon = 59, Less = 60, Greater = 62, LeftBracket = 91, Backslash = 92, RightBracket = 93, Underscore = 95,
	LeftBrace = 123, RightBrace = 125,
}
