// Protobuf text format (TensorFlow's .pbtxt files and tf2xla graph.config.pbtxt), which protobufjs cannot read.
// The reader is a single forward pass over the input with one token of lookahead, so multi-megabyte GraphDefs
// parse in linear time; it recurses once per nested message, and that nesting is capped.
import * as protobuf from "protobufjs";
import { codedError } from "../../../util/errors";

/** 1-based line and column (UTF-16 code units, as editors count them); the end is exclusive. */
export interface SourcePosition {
	line: number;
	column: number;
	endLine: number;
	endColumn: number;
}

export class TextFormatError extends codedError("config", "TextFormatError") {
	constructor(
		readonly file: string,
		readonly line: number,
		readonly column: number,
		readonly detail: string,
	) {
		super(`${file}:${line}:${column}: ${detail}`);
		this.name = "TextFormatError";
	}
}

export interface ParsedText<T> {
	message: T;
	/** Keyed by dotted path: `feed[0].id.node_name`, `node[3].attr["value"].tensor.dtype`. */
	positions: Map<string, SourcePosition>;
}

export interface ParseOptions {
	/** Large GraphDefs nobody will underline can skip position bookkeeping (default true). */
	positions?: boolean;
}

export { formatTextProto } from "./textFormatWriter";
export { MAX_NESTING } from "./textFormatSchema";
import {
	ANY_TYPE_NAME, Ch, type FieldInfo, INT_RANGES, type IntKind, MAX_NESTING, type MessageInfo, anyPayloadType, defaultValue, expectation, hasOwn,
	messageInfo, nestedInfo, setOwn,
} from "./textFormatSchema";


// Token kinds.
const END = 0, IDENT = 1, INT = 2, FLOAT = 3, STRING = 4, SYMBOL = 5;


const SYMBOLS = new Set<number>([
	Ch.LeftBrace, Ch.RightBrace, Ch.Less, Ch.Greater, Ch.LeftBracket, Ch.RightBracket, Ch.Colon, Ch.Comma, Ch.Semicolon, Ch.Minus,
]);

function isDigit(c: number): boolean {
	return c >= Ch.Zero && c <= Ch.Nine;
}

function isIdentStart(c: number): boolean {
	return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === Ch.Underscore;
}

function isIdentPart(c: number): boolean {
	return isIdentStart(c) || isDigit(c);
}

function hexValue(c: number): number {
	if (c >= 48 && c <= 57) return c - 48;
	if (c >= 97 && c <= 102) return c - 87;
	if (c >= 65 && c <= 70) return c - 55;
	return -1;
}

interface Opener {
	line: number;
	column: number;
	symbol: string;
	what: string;
}

/** Growable byte buffer shared by string decoding; only the final copy escapes. */
class Bytes {
	private buffer = new Uint8Array(256);
	length = 0;
	push(byte: number): void {
		if (this.length === this.buffer.length) {
			const grown = new Uint8Array(this.buffer.length * 2);
			grown.set(this.buffer);
			this.buffer = grown;
		}
		this.buffer[this.length++] = byte;
	}
	pushCodePoint(cp: number): void {
		if (cp < 0x80) this.push(cp);
		else if (cp < 0x800) { this.push(0xc0 | (cp >> 6)); this.push(0x80 | (cp & 63)); }
		else if (cp < 0x10000) { this.push(0xe0 | (cp >> 12)); this.push(0x80 | ((cp >> 6) & 63)); this.push(0x80 | (cp & 63)); }
		else {
			this.push(0xf0 | (cp >> 18)); this.push(0x80 | ((cp >> 12) & 63));
			this.push(0x80 | ((cp >> 6) & 63)); this.push(0x80 | (cp & 63));
		}
	}
	take(): Uint8Array {
		const out = this.buffer.slice(0, this.length);
		this.length = 0;
		return out;
	}
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

class Parser {
	private pos = 0;
	line = 1;
	private lineStart = 0;
	// The current (not yet consumed) token; tokens never span lines.
	private kind = END;
	private start = 0;
	private end = 0;
	tokLine = 1;
	tokCol = 1;
	// End of the last consumed token: where a field's value ends.
	private prevLine = 1;
	private prevCol = 1;
	private readonly bytes = new Bytes();
	// Positions are recorded as a tree (parent record, path segment) and turned into dotted paths at the end:
	// a map entry's segment depends on its key, which may come after its value, and is simply filled in late.
	private readonly parents: number[] = [];
	private readonly segments: string[] = [];
	private readonly spans: number[] = [];

	constructor(
		private readonly text: string,
		private readonly file: string,
		private readonly track: boolean,
	) {
		// Editors neither show nor count a byte order mark, so it is skipped without shifting columns.
		if (text.charCodeAt(0) === 0xfeff) this.pos = this.lineStart = 1;
	}

	parse(info: MessageInfo): Record<string, unknown> {
		this.advance();
		const message: Record<string, unknown> = {};
		this.parseFields(info, message, -1, 0, -1, null);
		return message;
	}

	positions(): Map<string, SourcePosition> {
		const positions = new Map<string, SourcePosition>();
		const paths: string[] = new Array<string>(this.parents.length);
		const spans = this.spans;
		for (let i = 0; i < paths.length; i++) {
			const parent = this.parents[i];
			const path = parent < 0 ? this.segments[i] : `${paths[parent]}.${this.segments[i]}`;
			paths[i] = path;
			positions.set(path, { line: spans[4 * i], column: spans[4 * i + 1], endLine: spans[4 * i + 2], endColumn: spans[4 * i + 3] });
		}
		return positions;
	}

	/** Opens a position record before its value is read, so nested records can point at it. */
	private record(parent: number, segment: string, line: number, column: number): number {
		if (!this.track) return -1;
		this.parents.push(parent);
		this.segments.push(segment);
		this.spans.push(line, column, 0, 0);
		return this.parents.length - 1;
	}

	private finish(record: number): void {
		if (record < 0) return;
		this.spans[4 * record + 2] = this.prevLine;
		this.spans[4 * record + 3] = this.prevCol;
	}

	private fail(detail: string, line = this.tokLine, column = this.tokCol): never {
		throw new TextFormatError(this.file, line, column, detail);
	}

	private tokenText(): string {
		return this.text.slice(this.start, this.end);
	}

	private describe(): string {
		const raw = this.tokenText();
		const shown = raw.length > 40 ? `${raw.slice(0, 37)}...` : raw;
		switch (this.kind) {
			case END: return "the end of the file";
			case IDENT: return `"${shown}"`;
			case INT: case FLOAT: return `the number ${shown}`;
			case STRING: return `the string ${shown}`;
			default: return `"${shown}"`;
		}
	}

	private isSymbol(c: number): boolean {
		return this.kind === SYMBOL && this.text.charCodeAt(this.start) === c;
	}

	private advance(): void {
		this.prevLine = this.tokLine;
		this.prevCol = this.tokCol + (this.end - this.start);
		const text = this.text;
		const n = text.length;
		let pos = this.pos;
		while (pos < n) {
			const c = text.charCodeAt(pos);
			if (c === Ch.Newline) {
				pos++;
				this.line++;
				this.lineStart = pos;
			} else if (c === Ch.Space || c === Ch.Tab || c === Ch.Return || c === Ch.VTab || c === Ch.FormFeed) {
				pos++;
			} else if (c === Ch.Hash) {
				while (pos < n && text.charCodeAt(pos) !== Ch.Newline) pos++;
			} else {
				break;
			}
		}
		this.start = pos;
		this.tokLine = this.line;
		this.tokCol = pos - this.lineStart + 1;
		if (pos >= n) {
			this.kind = END;
			this.end = this.pos = pos;
			return;
		}
		const c = text.charCodeAt(pos);
		if (isIdentStart(c)) {
			pos++;
			while (pos < n && isIdentPart(text.charCodeAt(pos))) pos++;
			this.kind = IDENT;
		} else if (isDigit(c) || (c === Ch.Dot && isDigit(text.charCodeAt(pos + 1)))) {
			pos = this.scanNumber(pos);
		} else if (c === Ch.DoubleQuote || c === Ch.SingleQuote) {
			pos = this.scanString(pos, c);
			this.kind = STRING;
		} else if (SYMBOLS.has(c)) {
			pos++;
			this.kind = SYMBOL;
		} else {
			const shown = c > 32 && c < 127 ? `"${String.fromCharCode(c)}"` : `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
			this.fail(`unexpected character ${shown}; expected a field name, a value, or one of { } < > [ ] : , ;`);
		}
		this.end = this.pos = pos;
	}

	private scanNumber(pos: number): number {
		const text = this.text;
		const first = pos;
		let float = false;
		let decimal = true;
		if (text.charCodeAt(pos) === Ch.Zero && (text.charCodeAt(pos + 1) | 32) === 120) {
			pos += 2;
			while (hexValue(text.charCodeAt(pos)) >= 0) pos++;
			if (pos === first + 2) this.fail(`"${text.slice(first, pos)}" must be followed by hexadecimal digits`);
			decimal = false;
		} else if (text.charCodeAt(pos) === Ch.Zero && isDigit(text.charCodeAt(pos + 1))) {
			pos++;
			while (text.charCodeAt(pos) >= Ch.Zero && text.charCodeAt(pos) <= Ch.Seven) pos++;
			if (isDigit(text.charCodeAt(pos)) || text.charCodeAt(pos) === Ch.Dot) {
				this.fail(`"${text.slice(first, pos + 1)}" starts with 0, so it reads as octal; remove the leading zero`);
			}
			decimal = false;
		} else {
			while (isDigit(text.charCodeAt(pos))) pos++;
			if (text.charCodeAt(pos) === Ch.Dot) {
				float = true;
				pos++;
				while (isDigit(text.charCodeAt(pos))) pos++;
			}
			if ((text.charCodeAt(pos) | 32) === 101) {
				float = true;
				pos++;
				if (text.charCodeAt(pos) === Ch.Plus || text.charCodeAt(pos) === Ch.Minus) pos++;
				if (!isDigit(text.charCodeAt(pos))) this.fail(`"${text.slice(first, pos)}" is missing the digits of its exponent`);
				while (isDigit(text.charCodeAt(pos))) pos++;
			}
		}
		if (decimal && (text.charCodeAt(pos) | 32) === 102) {
			float = true;
			pos++;
		}
		if (isIdentPart(text.charCodeAt(pos)) || text.charCodeAt(pos) === Ch.Dot) {
			let stop = pos;
			while (isIdentPart(text.charCodeAt(stop)) || text.charCodeAt(stop) === Ch.Dot) stop++;
			this.fail(`"${text.slice(first, Math.min(stop, first + 40))}" is not a number; separate numbers from names with a space`);
		}
		this.kind = float ? FLOAT : INT;
		return pos;
	}

	private scanString(pos: number, quote: number): number {
		const text = this.text;
		const n = text.length;
		let p = pos + 1;
		for (;;) {
			const c = p < n ? text.charCodeAt(p) : Ch.Newline;
			if (c === quote) return p + 1;
			if (c === Ch.Newline) {
				const q = String.fromCharCode(quote);
				this.fail(`string is not closed on this line; add the closing ${q} (strings cannot span lines; use \\n and "a" "b" concatenation)`);
			}
			p += c === Ch.Backslash && p + 1 < n && text.charCodeAt(p + 1) !== Ch.Newline ? 2 : 1;
		}
	}

	private parseFields(
		info: MessageInfo, target: Record<string, unknown>, parent: number, depth: number, close: number, open: Opener | null,
	): void {
		for (;;) {
			if (this.kind === END) {
				if (open === null) return;
				const closer = String.fromCharCode(close);
				this.fail(`"${open.symbol}" opening ${open.what} is never closed; add a matching "${closer}"`, open.line, open.column);
			}
			if (this.kind === SYMBOL) {
				const c = this.text.charCodeAt(this.start);
				if (c === close) {
					this.advance();
					return;
				}
				if (open === null && (c === Ch.RightBrace || c === Ch.Greater)) {
					this.fail(`unexpected "${this.tokenText()}": no message is open here; remove it or add the missing opening brace`);
				}
				if (open !== null && (c === Ch.RightBrace || c === Ch.Greater)) {
					const closer = String.fromCharCode(close);
					this.fail(`expected "${closer}" to close ${open.what} (opened at ${open.line}:${open.column}), found "${this.tokenText()}"`);
				}
				if (c === Ch.LeftBracket) {
					if (info.name !== ANY_TYPE_NAME) this.fail(`extension fields ([...]) are not supported in ${info.name}; only google.protobuf.Any may hold a [type URL] { ... }`);
					this.parseExpandedAny(info, target, parent, depth);
					if (this.isSymbol(Ch.Comma) || this.isSymbol(Ch.Semicolon)) this.advance();
					continue;
				}
			}
			if (this.kind !== IDENT) this.fail(`expected a field name of ${info.name}, found ${this.describe()}`);
			const name = this.tokenText();
			const field = info.fields.get(name);
			if (field === undefined) {
				const names = info.declared.map((f) => f.name).join(", ");
				this.fail(`unknown field "${name}" in ${info.name} (expected one of: ${names})`);
			}
			const line = this.tokLine;
			const column = this.tokCol;
			if (!field.repeated && hasOwn(target, name)) {
				this.fail(`field "${name}" in ${info.name} is set more than once; it is not repeated, so keep only one`);
			}
			if (field.oneof !== undefined) {
				const other = info.oneofs.get(field.oneof)?.find((f) => f !== field && hasOwn(target, f.name));
				if (other) this.fail(`fields "${other.name}" and "${name}" in ${info.name} belong to oneof "${field.oneof}"; set only one of them`);
			}
			this.advance();
			this.parseField(field, info, target, parent, depth, line, column);
			if (this.isSymbol(Ch.Comma) || this.isSymbol(Ch.Semicolon)) this.advance();
		}
	}

	/**
	 * Reads an Any written expanded, `[type.googleapis.com/tensorflow.X] { ...fields of X... }`, as TensorFlow's
	 * printer writes it, and stores it as protobuf does: type_url plus the serialised message in value.
	 */
	private parseExpandedAny(info: MessageInfo, target: Record<string, unknown>, parent: number, depth: number): void {
		const line = this.tokLine;
		const column = this.tokCol;
		const close = this.text.indexOf("]", this.end);
		const newline = this.text.indexOf("\n", this.end);
		if (close < 0 || (newline >= 0 && newline < close)) this.fail(`"[" opening a type URL in ${info.name} is not closed on this line; add the closing "]"`);
		const typeUrl = this.text.slice(this.end, close).trim();
		if (hasOwn(target, "type_url") || hasOwn(target, "value")) {
			this.fail(`${info.name} holds one message: give either type_url and value or one [${typeUrl}] { ... }, not both`);
		}
		const payloadType = anyPayloadType(info.type, typeUrl);
		if (payloadType === undefined) {
			this.fail(`unknown message type "${typeUrl}" in ${info.name}; write it as type_url: "..." value: "<serialised bytes>" instead, or use a TensorFlow message type`);
		}
		this.pos = close + 1;
		this.advance();
		if (this.isSymbol(Ch.Colon)) this.advance();
		const field: FieldInfo = { name: `[${typeUrl}]`, id: 0, kind: "message", typeName: payloadType.fullName.replace(/^\./, ""), repeated: false, messageType: payloadType };
		const record = this.record(parent, `[${typeUrl}]`, line, column);
		const payload = this.parseMessage(field, info, messageInfo(payloadType), record, depth);
		this.finish(record);
		try {
			target.value = payloadType.encode(payloadType.fromObject(payload)).finish();
		} catch (error) {
			this.fail(`the [${typeUrl}] message cannot be serialised: ${(error as Error).message}`, line, column);
		}
		target.type_url = typeUrl;
	}

	private parseField(
		field: FieldInfo, info: MessageInfo, target: Record<string, unknown>, parent: number, depth: number, line: number, column: number,
	): void {
		let colon = false;
		if (this.isSymbol(Ch.Colon)) {
			colon = true;
			this.advance();
		}
		const isMessage = field.kind === "message";
		if (this.isSymbol(Ch.LeftBracket)) {
			if (!field.repeated) this.fail(`field "${field.name}" in ${info.name} is not repeated, so it cannot take a [list]; expected ${expectation(field)}`);
			if (!colon && !isMessage) this.fail(`expected ":" between field name "${field.name}" and its list in ${info.name}`);
			this.advance();
			if (this.isSymbol(Ch.RightBracket)) {
				this.advance();
				return;
			}
			for (;;) {
				this.parseOne(field, info, target, parent, depth, this.tokLine, this.tokCol);
				if (this.isSymbol(Ch.Comma)) {
					this.advance();
				} else if (this.isSymbol(Ch.RightBracket)) {
					this.advance();
					return;
				} else {
					this.fail(`expected "," or "]" in the list for field "${field.name}" in ${info.name}, found ${this.describe()}`);
				}
			}
		}
		if (!isMessage && !colon) {
			if (this.isSymbol(Ch.LeftBrace) || this.isSymbol(Ch.Less)) {
				this.fail(`field "${field.name}" in ${info.name} holds a single ${field.typeName}, not a message; write ${field.name}: value (expected ${expectation(field)})`);
			}
			this.fail(`expected ":" after field name "${field.name}" in ${info.name}, found ${this.describe()}`);
		}
		this.parseOne(field, info, target, parent, depth, line, column);
	}

	/** Reads one value (a message or scalar, or one list element) and stores it, recording its position. */
	private parseOne(
		field: FieldInfo, info: MessageInfo, target: Record<string, unknown>, parent: number, depth: number, line: number, column: number,
	): void {
		if (field.entry) {
			this.parseMapEntry(field, field.entry, info, target, parent, depth, line, column);
			return;
		}
		if (field.repeated) {
			let list = target[field.name] as unknown[] | undefined;
			if (list === undefined) target[field.name] = list = [];
			const record = this.record(parent, `${field.name}[${list.length}]`, line, column);
			list.push(this.parseValue(field, info, record, depth));
			this.finish(record);
		} else {
			const record = this.record(parent, field.name, line, column);
			target[field.name] = this.parseValue(field, info, record, depth);
			this.finish(record);
		}
	}

	private parseMapEntry(
		field: FieldInfo, entryInfo: MessageInfo, info: MessageInfo, target: Record<string, unknown>, parent: number,
		depth: number, line: number, column: number,
	): void {
		const record = this.record(parent, "", line, column);
		const entry = this.parseMessage(field, info, entryInfo, record, depth);
		const keyField = entryInfo.fields.get("key") as FieldInfo;
		const valueField = entryInfo.fields.get("value") as FieldInfo;
		const key = String(hasOwn(entry, "key") ? entry.key : defaultValue(keyField));
		let map = target[field.name] as Record<string, unknown> | undefined;
		if (map === undefined) target[field.name] = map = {};
		setOwn(map, key, hasOwn(entry, "value") ? entry.value : defaultValue(valueField));
		if (record >= 0) {
			this.segments[record] = `${field.name}[${keyField.kind === "string" ? JSON.stringify(key) : key}]`;
			this.finish(record);
		}
	}

	private parseMessage(
		field: FieldInfo, info: MessageInfo, nested: MessageInfo, parent: number, depth: number,
	): Record<string, unknown> {
		const close = this.isSymbol(Ch.LeftBrace) ? Ch.RightBrace : this.isSymbol(Ch.Less) ? Ch.Greater : -1;
		if (close < 0) {
			this.fail(`field "${field.name}" in ${info.name} is a message (${nested.name}); expected "{" or "<", found ${this.describe()}`);
		}
		if (depth >= MAX_NESTING) this.fail(`messages are nested more than ${MAX_NESTING} levels deep; the file is malformed or not a text proto`);
		const open: Opener = { line: this.tokLine, column: this.tokCol, symbol: this.tokenText(), what: `field "${field.name}" in ${info.name}` };
		this.advance();
		const message: Record<string, unknown> = {};
		this.parseFields(nested, message, parent, depth + 1, close, open);
		return message;
	}

	private parseValue(field: FieldInfo, info: MessageInfo, parent: number, depth: number): unknown {
		if (field.kind === "message") return this.parseMessage(field, info, nestedInfo(field), parent, depth);
		if (this.isSymbol(Ch.LeftBrace) || this.isSymbol(Ch.Less)) {
			this.fail(`field "${field.name}" in ${info.name} holds a single ${field.typeName}, not a message; expected ${expectation(field)}`);
		}
		switch (field.kind) {
			case "string": case "bytes": return this.readString(field, info);
			case "bool": return this.readBool(field, info);
			case "enum": return this.readEnum(field, info);
			case "float": case "double": return this.readFloat(field, info);
			default: return this.readInteger(field, info, field.kind);
		}
	}

	private wrongValue(field: FieldInfo, info: MessageInfo): never {
		this.fail(`field "${field.name}" in ${info.name} expects ${expectation(field)}, found ${this.describe()}`);
	}

	/** Reads the digits of an INT token; exact via BigInt only when they might exceed 2^53. */
	private integerMagnitude(): number | bigint {
		const raw = this.tokenText();
		if (raw.length > 1 && raw.charCodeAt(0) === Ch.Zero) {
			if ((raw.charCodeAt(1) | 32) === 120) return raw.length <= 15 ? parseInt(raw.slice(2), 16) : BigInt(raw);
			return raw.length <= 18 ? parseInt(raw.slice(1), 8) : BigInt(`0o${raw.slice(1)}`);
		}
		return raw.length <= 15 ? parseInt(raw, 10) : BigInt(raw);
	}

	private readInteger(field: FieldInfo, info: MessageInfo, kind: IntKind): number {
		const line = this.tokLine;
		const column = this.tokCol;
		const negative = this.isSymbol(Ch.Minus);
		if (negative) this.advance();
		if (this.kind !== INT) this.wrongValue(field, info);
		const raw = this.tokenText();
		const magnitude = this.integerMagnitude();
		const [low, high] = INT_RANGES[kind];
		const value = typeof magnitude === "bigint" ? (negative ? -magnitude : magnitude) : negative ? 0 - magnitude : magnitude;
		if (negative && low === 0n && value !== 0) {
			this.fail(`field "${field.name}" in ${info.name} is unsigned (${field.typeName}) and cannot be -${raw}`, line, column);
		}
		if (value < low || value > high) {
			this.fail(`${negative ? "-" : ""}${raw} is out of range for field "${field.name}" in ${info.name} (${field.typeName}: ${low} to ${high})`, line, column);
		}
		this.advance();
		return Number(value);
	}

	private readFloat(field: FieldInfo, info: MessageInfo): number {
		const negative = this.isSymbol(Ch.Minus);
		if (negative) this.advance();
		let value: number;
		if (this.kind === INT) {
			value = Number(this.integerMagnitude());
		} else if (this.kind === FLOAT) {
			const raw = this.tokenText();
			value = Number((raw.charCodeAt(raw.length - 1) | 32) === 102 ? raw.slice(0, -1) : raw);
		} else if (this.kind === IDENT) {
			const word = this.tokenText().toLowerCase();
			if (word === "inf" || word === "infinity") value = Infinity;
			else if (word === "nan") value = NaN;
			else this.wrongValue(field, info);
		} else {
			this.wrongValue(field, info);
		}
		this.advance();
		if (negative) value = -value;
		return field.kind === "float" ? Math.fround(value) : value;
	}

	private readBool(field: FieldInfo, info: MessageInfo): boolean {
		const raw = this.tokenText();
		let value: boolean | undefined;
		if (this.kind === IDENT) {
			if (raw === "true" || raw === "True" || raw === "t") value = true;
			else if (raw === "false" || raw === "False" || raw === "f") value = false;
		} else if (this.kind === INT) {
			const number = this.integerMagnitude();
			if (number === 0 || number === 1) value = number === 1;
		}
		if (value === undefined) this.wrongValue(field, info);
		this.advance();
		return value;
	}

	private readEnum(field: FieldInfo, info: MessageInfo): number {
		const enumType = field.enumType as protobuf.Enum;
		if (this.kind !== IDENT) {
			// TensorFlow's enums are proto3 (open), so any int32 number is a legal value.
			if (this.kind === INT || this.isSymbol(Ch.Minus)) return this.readInteger(field, info, "int32");
			this.wrongValue(field, info);
		}
		const name = this.tokenText();
		if (!hasOwn(enumType.values, name)) {
			const names = Object.keys(enumType.values);
			const near = closest(name, names);
			const hint = near ? `did you mean ${near}?` : `expected one of: ${names.slice(0, 8).join(", ")}${names.length > 8 ? ", ..." : ""}`;
			this.fail(`unknown ${field.typeName} value "${name}" for field "${field.name}" in ${info.name}; ${hint}`);
		}
		this.advance();
		return enumType.values[name];
	}

	/** Reads one or more adjacent string literals ("a" 'b' concatenate), decoding C escapes to bytes. */
	private readString(field: FieldInfo, info: MessageInfo): string | Uint8Array {
		if (this.kind !== STRING) this.wrongValue(field, info);
		const line = this.tokLine;
		const column = this.tokCol;
		const bytes = this.bytes;
		let plain = "";
		let simple = true;
		while (this.kind === STRING) {
			const text = this.text;
			const end = this.end - 1;
			const body = text.slice(this.start + 1, end);
			if (simple && isPlain(body, field.kind === "string")) {
				plain += body;
			} else {
				if (simple) {
					simple = false;
					for (let i = 0; i < plain.length; ) i += pushRaw(bytes, plain, i);
				}
				this.decodeLiteral(this.start + 1, end);
			}
			this.advance();
		}
		if (field.kind === "string") {
			if (simple) return plain;
			try {
				return utf8.decode(bytes.take());
			} catch {
				this.fail(`string for field "${field.name}" in ${info.name} is not valid UTF-8; escape text characters with \\u, or use a bytes field`, line, column);
			}
		}
		if (simple) {
			const out = new Uint8Array(plain.length);
			for (let i = 0; i < plain.length; i++) out[i] = plain.charCodeAt(i);
			return out;
		}
		return bytes.take();
	}

	private decodeLiteral(from: number, to: number): void {
		const text = this.text;
		const bytes = this.bytes;
		const column = (at: number): number => this.tokCol + (at - this.start);
		for (let i = from; i < to; i++) {
			if (text.charCodeAt(i) !== Ch.Backslash) {
				i += pushRaw(bytes, text, i) - 1;
				continue;
			}
			const at = i;
			const e = text.charCodeAt(++i);
			const simple = SIMPLE_ESCAPES.get(e);
			if (simple !== undefined) {
				bytes.push(simple);
			} else if (e >= Ch.Zero && e <= Ch.Seven) {
				let value = e - Ch.Zero;
				for (let k = 0; k < 2 && i + 1 < to && text.charCodeAt(i + 1) >= Ch.Zero && text.charCodeAt(i + 1) <= Ch.Seven; k++) {
					value = value * 8 + text.charCodeAt(++i) - Ch.Zero;
				}
				if (value > 255) this.fail(`octal escape "${text.slice(at, i + 1)}" is larger than \\377 (one byte)`, this.tokLine, column(at));
				bytes.push(value);
			} else if (e === 120 || e === 88) {
				let value = 0;
				let digits = 0;
				while (digits < 2 && i + 1 < to && hexValue(text.charCodeAt(i + 1)) >= 0) {
					value = value * 16 + hexValue(text.charCodeAt(++i));
					digits++;
				}
				if (digits === 0) this.fail(`"\\x" escape needs one or two hexadecimal digits`, this.tokLine, column(at));
				bytes.push(value);
			} else if (e === 117 || e === 85) {
				const width = e === 117 ? 4 : 8;
				let cp = this.hexDigits(i + 1, width, to, at);
				i += width;
				if (cp >= 0xd800 && cp <= 0xdbff && text.charCodeAt(i + 1) === Ch.Backslash && text.charCodeAt(i + 2) === 117) {
					const low = this.hexDigits(i + 3, 4, to, i + 1);
					if (low >= 0xdc00 && low <= 0xdfff) {
						cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
						i += 6;
					}
				}
				if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
					this.fail(`"${text.slice(at, at + 2 + width)}" is not a Unicode character`, this.tokLine, column(at));
				}
				bytes.pushCodePoint(cp);
			} else {
				this.fail(`unknown escape "\\${String.fromCharCode(e)}" in string; write \\\\ for a literal backslash`, this.tokLine, column(at));
			}
		}
	}

	private hexDigits(from: number, count: number, to: number, at: number): number {
		let value = 0;
		for (let k = 0; k < count; k++) {
			const digit = from + k < to ? hexValue(this.text.charCodeAt(from + k)) : -1;
			if (digit < 0) this.fail(`"${this.text.slice(at, at + 2)}" escape needs exactly ${count} hexadecimal digits`, this.tokLine, this.tokCol + (at - this.start));
			value = value * 16 + digit;
		}
		return value;
	}
}

const SIMPLE_ESCAPES = new Map<number, number>([
	[110, 10], [116, 9], [114, 13], [92, 92], [39, 39], [34, 34], [97, 7], [98, 8], [102, 12], [118, 11], [63, 63],
]);

/** True when a literal's body needs no decoding: no escapes, and nothing the UTF-8 encoder would change. */
function isPlain(body: string, text: boolean): boolean {
	for (let i = 0; i < body.length; i++) {
		const c = body.charCodeAt(i);
		if (c === Ch.Backslash || (c > 127 && (!text || (c >= 0xd800 && c <= 0xdfff)))) return false;
	}
	return true;
}

/**
 * UTF-8 encodes the raw character at i and returns how many code units it used. A lone surrogate has no
 * encoding, so it becomes U+FFFD as TextEncoder does. A literal never ends inside a pair: its closing quote is ASCII.
 */
function pushRaw(bytes: Bytes, text: string, i: number): number {
	const c = text.charCodeAt(i);
	if (c < 0xd800 || c > 0xdfff) {
		bytes.pushCodePoint(c);
		return 1;
	}
	const low = text.charCodeAt(i + 1);
	if (c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
		bytes.pushCodePoint(0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00));
		return 2;
	}
	bytes.pushCodePoint(0xfffd);
	return 1;
}

function closest(word: string, candidates: string[]): string | undefined {
	let best: string | undefined;
	let bestDistance = 3;
	for (const candidate of candidates) {
		const distance = editDistance(word.toUpperCase(), candidate.toUpperCase(), bestDistance);
		if (distance < bestDistance) {
			best = candidate;
			bestDistance = distance;
		}
	}
	return best;
}

function editDistance(a: string, b: string, limit: number): number {
	if (Math.abs(a.length - b.length) >= limit || a.length > 64) return limit;
	let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
	for (let i = 1; i <= a.length; i++) {
		const current = [i];
		for (let j = 1; j <= b.length; j++) {
			current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
		}
		previous = current;
	}
	return previous[b.length];
}

/**
 * Parses text format into a plain object shaped like protobufjs decoded output (snake_case keys; repeated fields
 * as arrays; maps as plain objects keyed by the map key; enums as numbers; int64 as number; bytes as Uint8Array;
 * nested messages as plain objects). Only fields present in the text become own properties.
 */
export function parseTextProto<T = Record<string, unknown>>(
	text: string, type: protobuf.Type, file: string, options: ParseOptions = {},
): ParsedText<T> {
	const info = messageInfo(type);
	const parser = new Parser(text, file, options.positions !== false);
	try {
		const message = parser.parse(info) as T;
		return { message, positions: parser.positions() };
	} catch (error) {
		if (error instanceof TextFormatError) throw error;
		// Callers rely on TextFormatError for any input; anything else here is a reader bug, reported where it hit.
		throw new TextFormatError(file, parser.tokLine, parser.tokCol, `internal error while reading text format: ${String(error)}`);
	}
}
