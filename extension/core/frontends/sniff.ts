// Recognises a model file by its content (as Netron does), never by its name, and says which front end reads it.

/** The TensorFlow kinds the TF front end reads. */
export type TfKind = "GraphDef" | "MetaGraphDef" | "SavedModel" | "text";

/** What a file is: one a front end reads, or a description of what it looked like. */
export type Sniffed = { frontend: "tf"; kind: TfKind } | { frontend: "onnx" } | { frontend: "tflite" } | { frontend: undefined; looksLike: string };

const tf = (kind: TfKind): Sniffed => ({ frontend: "tf", kind });
const other = (looksLike: string): Sniffed => ({ frontend: undefined, looksLike });

/** Identifies a file from its first bytes and its top-level protobuf fields, as Netron does. */
export function sniff(bytes: Uint8Array): Sniffed {
	if (bytes.length === 0) return other("an empty file");
	const head = new TextDecoder("latin1").decode(bytes.subarray(0, 16));
	if (head.startsWith("PK\x03\x04")) return other("a ZIP archive (a Keras .keras or PyTorch .pt file?)");
	if (head.startsWith("\x89HDF")) return other("an HDF5 file (a Keras .h5 model?)");
	if (head.slice(4, 8) === "TFL3") return { frontend: "tflite" };
	if (head.startsWith("\x7fELF")) return other("an ELF binary");
	if (isText(bytes)) {
		const trimmed = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
		if (trimmed.startsWith("{") || trimmed.startsWith("[")) return other("JSON (a tfjs model.json?)");
		return tf("text");
	}
	const fields = topLevelFields(bytes);
	if (!fields) return other("binary data that is not a protobuf message");
	const count = (n: number, wire?: number) => fields.filter((f) => f.number === n && (wire === undefined || f.wire === wire)).length;
	const only = (allowed: Record<number, number>) => fields.every((f) => allowed[f.number] === f.wire);
	if (only({ 1: 0, 2: 2 }) && count(2) > 0) return tf("SavedModel");
	if (only({ 1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 2, 7: 2 }) && count(1) <= 1 && count(2) === 1 && fields.find((f) => f.number === 2)!.firstByte === 0x0a) {
		return tf("MetaGraphDef");
	}
	if (only({ 1: 2, 2: 2, 3: 0, 4: 2, 5: 2 }) && (count(1) > 0 || count(4) > 0)) return tf("GraphDef");
	// ModelProto: ir_version (1, varint) and one graph (7); opset_import (8) and metadata are messages or strings.
	if (count(1, 0) === 1 && count(7, 2) === 1 && only({ 1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2 })) return { frontend: "onnx" };
	return other("a protobuf message of another kind");
}

function isText(bytes: Uint8Array): boolean {
	const n = Math.min(bytes.length, 1024);
	for (let i = 0; i < n; i++) {
		const b = bytes[i];
		if (b < 0x09 || (b > 0x0d && b < 0x20) || b === 0x7f) return false;
	}
	// The sample may end inside a multi-byte character, so allow up to three bytes of it to be cut off.
	for (let cut = 0; cut < 4 && cut < n; cut++) {
		try {
			new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, n - cut));
			return true;
		} catch {
			if (n === bytes.length && cut === 0) return false;
		}
	}
	return false;
}

interface TopField { number: number; wire: number; firstByte: number }

/** The sequence of top-level field tags, or undefined when the bytes are not a well-formed message. */
function topLevelFields(bytes: Uint8Array): TopField[] | undefined {
	const fields: TopField[] = [];
	let pos = 0;
	const varint = (): number | undefined => {
		let result = 0;
		for (let shift = 0; shift < 64; shift += 7) {
			if (pos >= bytes.length) return undefined;
			const b = bytes[pos++];
			result += (b & 0x7f) * 2 ** shift;
			if ((b & 0x80) === 0) return result;
		}
		return undefined;
	};
	while (pos < bytes.length) {
		const tag = varint();
		if (tag === undefined) return undefined;
		const number = Math.floor(tag / 8);
		const wire = tag % 8;
		if (number === 0) return undefined;
		let firstByte = -1;
		if (wire === 0) {
			if (varint() === undefined) return undefined;
		} else if (wire === 1) {
			pos += 8;
		} else if (wire === 2) {
			const length = varint();
			if (length === undefined || pos + length > bytes.length) return undefined;
			firstByte = length > 0 ? bytes[pos] : -1;
			pos += length;
		} else if (wire === 5) {
			pos += 4;
		} else {
			return undefined;
		}
		if (pos > bytes.length) return undefined;
		fields.push({ number, wire, firstByte });
	}
	return fields;
}
