// Writes messages in TensorFlow's text format style (two-space indent, fields in field-number order).
import type * as protobuf from "protobufjs";
import {
	ANY_TYPE_NAME, Ch, type FieldInfo, MAX_NESTING, type MessageInfo, anyPayloadType, defaultValue, expectation, hasOwn, messageInfo, nestedInfo,
} from "./textFormatSchema";

const encoder = new TextEncoder();

/** Writes a plain object (same shape as above, or a protobufjs message) in TensorFlow's text style. */
export function formatTextProto(message: object, type: protobuf.Type): string {
	const out: string[] = [];
	writeMessage(out, message as Record<string, unknown>, messageInfo(type), "", 0);
	return out.join("");
}

function writeMessage(out: string[], message: Record<string, unknown>, info: MessageInfo, indent: string, depth: number): void {
	if (depth > MAX_NESTING) throw new Error(`cannot write ${info.name}: nested more than ${MAX_NESTING} levels (is the object cyclic?)`);
	if (info.name === ANY_TYPE_NAME && writeExpandedAny(out, message, info, indent, depth)) return;
	for (const field of info.byNumber) {
		// Own properties only: protobufjs messages keep defaults on the prototype, and those are unset fields.
		if (!hasOwn(message, field.name)) continue;
		const value = message[field.name];
		if (value === undefined || value === null) continue;
		if (field.entry) {
			writeMap(out, field, field.entry, value, info, indent, depth);
		} else if (field.repeated) {
			if (!Array.isArray(value)) throw new TypeError(`cannot write field "${field.name}" of ${info.name}: it is repeated, so its value must be an array`);
			for (const element of value) writeField(out, field, element, info, indent, depth);
		} else {
			writeField(out, field, value, info, indent, depth);
		}
	}
}

/** Writes an Any of a known type as `[type_url] { ... }`, as TensorFlow's printer does; false leaves it to the plain form. */
function writeExpandedAny(out: string[], message: Record<string, unknown>, info: MessageInfo, indent: string, depth: number): boolean {
	const typeUrl = message.type_url;
	const value = message.value;
	if (typeof typeUrl !== "string" || !(value instanceof Uint8Array) || /[\]\n]/.test(typeUrl)) return false;
	const payloadType = anyPayloadType(info.type, typeUrl);
	if (payloadType === undefined) return false;
	let payload: object;
	try {
		payload = payloadType.decode(value);
	} catch {
		return false;
	}
	out.push(indent, "[", typeUrl, "] {\n");
	writeMessage(out, payload as Record<string, unknown>, messageInfo(payloadType), `${indent}  `, depth + 1);
	out.push(indent, "}\n");
	return true;
}

function writeMap(out: string[], field: FieldInfo, entry: MessageInfo, value: unknown, info: MessageInfo, indent: string, depth: number): void {
	if (typeof value !== "object" || value === null) throw new TypeError(`cannot write field "${field.name}" of ${info.name}: a map must be an object`);
	const keyField = entry.fields.get("key") as FieldInfo;
	const valueField = entry.fields.get("value") as FieldInfo;
	const map = value as Record<string, unknown>;
	const numeric = keyField.kind !== "string" && keyField.kind !== "bool";
	const keys = Object.keys(map).sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
	const inner = `${indent}  `;
	for (const key of keys) {
		out.push(indent, field.name, " {\n");
		const typedKey = keyField.kind === "bool" ? key === "true" : key;
		writeField(out, keyField, typedKey, entry, inner, depth + 1);
		writeField(out, valueField, map[key] ?? defaultValue(valueField), entry, inner, depth + 1);
		out.push(indent, "}\n");
	}
}

function writeField(out: string[], field: FieldInfo, value: unknown, info: MessageInfo, indent: string, depth: number): void {
	if (field.kind !== "message") {
		out.push(indent, field.name, ": ", scalarText(field, value, info), "\n");
		return;
	}
	if (typeof value !== "object" || value === null) throw new TypeError(`cannot write field "${field.name}" of ${info.name}: expected a ${field.typeName} object`);
	out.push(indent, field.name, " {\n");
	writeMessage(out, value as Record<string, unknown>, nestedInfo(field), `${indent}  `, depth + 1);
	out.push(indent, "}\n");
}

function scalarText(field: FieldInfo, value: unknown, info: MessageInfo): string {
	const bad = (): never => {
		const shown = typeof value === "string" ? JSON.stringify(value) : typeof value;
		throw new TypeError(`cannot write field "${field.name}" of ${info.name}: expected ${expectation(field)}, got ${shown}`);
	};
	switch (field.kind) {
		case "string":
			return typeof value === "string" ? quoteString(value) : bad();
		case "bytes":
			if (value instanceof Uint8Array) return quoteBytes(value);
			if (Array.isArray(value)) return quoteBytes(Uint8Array.from(value as number[]));
			// protobufjs's own convention for bytes given as a string.
			return typeof value === "string" ? quoteBytes(Uint8Array.from(atob(value), (c) => c.charCodeAt(0))) : bad();
		case "bool":
			return typeof value === "boolean" ? String(value) : bad();
		case "enum": {
			const enumType = field.enumType as protobuf.Enum;
			if (typeof value === "string") return hasOwn(enumType.values, value) ? value : bad();
			if (typeof value !== "number" || !Number.isInteger(value)) return bad();
			return enumType.valuesById[value] ?? String(value);
		}
		case "float": case "double":
			return typeof value === "number" ? formatFloat(value, field.kind === "float") : bad();
		default:
			if (typeof value === "number" && Number.isInteger(value)) return String(value);
			if (typeof value === "bigint") return value.toString();
			return typeof value === "string" && /^-?\d+$/.test(value) ? value : bad();
	}
}

function formatFloat(value: number, single: boolean): string {
	if (Number.isNaN(value)) return "nan";
	if (value === Infinity) return "inf";
	if (value === -Infinity) return "-inf";
	if (Object.is(value, -0)) return "-0";
	if (!single) return String(value);
	// The shortest decimal that reads back to the same float32, as TensorFlow prints 0.1f as 0.1.
	const f = Math.fround(value);
	for (let precision = 1; precision < 9; precision++) {
		const candidate = Number(f.toPrecision(precision));
		if (Math.fround(candidate) === f) return String(candidate);
	}
	return String(Number(f.toPrecision(9)));
}

function quoteString(text: string): string {
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c < 32 || c > 126 || c === Ch.DoubleQuote || c === Ch.SingleQuote || c === Ch.Backslash) {
			return quoteBytes(encoder.encode(text));
		}
	}
	return `"${text}"`;
}

/** C escapes as TensorFlow's printer (CEscape) writes them: non-printable bytes as three octal digits. */
function quoteBytes(bytes: Uint8Array): string {
	const parts: string[] = ['"'];
	let run = 0;
	for (let i = 0; i < bytes.length; i++) {
		const b = bytes[i];
		let escaped: string | undefined;
		if (b === 10) escaped = "\\n";
		else if (b === 13) escaped = "\\r";
		else if (b === 9) escaped = "\\t";
		else if (b === Ch.DoubleQuote) escaped = '\\"';
		else if (b === Ch.SingleQuote) escaped = "\\'";
		else if (b === Ch.Backslash) escaped = "\\\\";
		else if (b < 32 || b > 126) escaped = `\\${b.toString(8).padStart(3, "0")}`;
		if (escaped === undefined) continue;
		if (run < i) pushAscii(parts, bytes.subarray(run, i));
		parts.push(escaped);
		run = i + 1;
	}
	if (run < bytes.length) pushAscii(parts, bytes.subarray(run));
	parts.push('"');
	return parts.join("");
}

function pushAscii(parts: string[], bytes: Uint8Array): void {
	// fromCharCode's argument list is bounded by the engine's stack, so long runs go in chunks.
	for (let i = 0; i < bytes.length; i += 8192) parts.push(String.fromCharCode(...bytes.subarray(i, i + 8192)));
}
