// Reader for TensorFlow V2 checkpoints (the TensorBundle format): `P.index` is an SSTable mapping tensor
// names to BundleEntryProtos, and the tensor bytes live in shards `P.data-0000i-of-0000N`.
// Shards are read on demand, range by range, so only the requested tensor is held in memory.

import * as fs from "node:fs";
import * as path from "node:path";
import type { DType, Tensor } from "../../../graph/tensor";
import { checkTensorSize, dtypeByteSize, dtypeFromEnum, formatShape, shapeFromProto, tensorFromBytes } from "../../../graph/tensor";
import { decodeBundleEntry, decodeBundleHeader, decodeTrackableObjectGraph } from "../proto/registry";
import type { BundleEntryProto, BundleHeaderProto, TrackableObjectGraph } from "../proto/types";
import { has } from "../proto/types";
import { crc32c, unmaskCrc } from "./crc32c";
import { ObjectGraphLookupError, attributeKey, fullNameKeys, keyForPath, validateObjectGraph } from "./objectGraph";
import { readTable, TableError } from "./table";
import { codedError } from "../../../util/errors";

export class CheckpointError extends codedError("checkpoint", "CheckpointError") {}

export interface CheckpointEntry {
	key: string;
	dtype: DType;
	shape: number[];
	shard: number;
	offset: number;
	size: number;
}

export interface Checkpoint {
	readonly prefix: string;
	/** Tensor names, sorted, without the "" header key. */
	keys(): string[];
	/** Undefined for unknown keys; throws CheckpointError when the entry's data type is not supported. */
	entry(key: string): CheckpointEntry | undefined;
	read(key: string): Tensor;
	/** Variable name (full_name) to checkpoint key, from the object graph of TF2 object-based checkpoints. */
	objectGraphKeys(): Map<string, string> | undefined;
	/** The TF2 object graph (_CHECKPOINTABLE_OBJECT_GRAPH), or undefined for TF1 name-based checkpoints. */
	objectGraph(): TrackableObjectGraph | undefined;
	/**
	 * The key of object `nodeId`'s VARIABLE_VALUE (node ids equal the SavedModel's SavedObjectGraph ids); undefined
	 * when that object is not a variable. Throws CheckpointError without an object graph or for an id outside it.
	 */
	variableKeyForNode(nodeId: number): string | undefined;
	/** The key of the variable at a path of local names from the root, e.g. "layer_with_weights-0/kernel". */
	keyForPath(path: string): string | undefined;
}

export const OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH";

const MAX_VARINT64_BYTES = 10;
const RE_DATA_SUFFIX = /\.data-\d{5,}-of-\d{5,}$/;

interface Slot {
	proto: BundleEntryProto;
	/** Undefined when the data type is not one we can represent; `unsupported` then says why. */
	entry?: CheckpointEntry;
	unsupported?: string;
}

export function shardFilename(prefix: string, shard: number, numShards: number): string {
	return `${prefix}.data-${String(shard).padStart(5, "0")}-of-${String(numShards).padStart(5, "0")}`;
}

/** Strips the suffix of an `.index` or `.data-*` path, so users can pass whichever file they see. */
function prefixOf(input: string): string {
	const full = path.resolve(input);
	if (full.endsWith(".index")) return full.slice(0, -".index".length);
	return full.replace(RE_DATA_SUFFIX, "");
}

function readIndexFile(input: string, prefix: string): Uint8Array {
	const indexFile = `${prefix}.index`;
	try {
		return fs.readFileSync(indexFile);
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code !== "ENOENT") {
			throw new CheckpointError(`Cannot read the checkpoint index ${indexFile}: ${(error as Error).message}. Check the path and its permissions.`);
		}
	}
	let hint = "Pass the checkpoint prefix (the path without .index or .data-...), the .index file or one of its .data files.";
	if (isDirectory(prefix)) {
		const found = safeReaddir(prefix).filter((name) => name.endsWith(".index"));
		hint = found.length > 0
			? `${prefix} is a directory; pass a checkpoint inside it, e.g. ${path.join(prefix, found[0].slice(0, -".index".length))} (found ${found.join(", ")}).`
			: `${prefix} is a directory without any .index file; pass the prefix of a checkpoint.`;
	}
	throw new CheckpointError(`No TensorFlow checkpoint at ${JSON.stringify(input)}: looked for the index file ${indexFile}, which does not exist. ${hint}`);
}

function isDirectory(file: string): boolean {
	try {
		return fs.statSync(file).isDirectory();
	} catch {
		return false;
	}
}

function safeReaddir(dir: string): string[] {
	try {
		return fs.readdirSync(dir).sort();
	} catch {
		return [];
	}
}

function decodeProto<T>(decode: (bytes: Uint8Array) => T, bytes: Uint8Array, what: string): T {
	try {
		return decode(bytes);
	} catch (error) {
		throw new CheckpointError(`${what} cannot be decoded (${(error as Error).message}); the file is corrupt. Re-save the checkpoint.`);
	}
}

function nonNegativeInteger(value: unknown): value is number {
	return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function parseHeader(table: Map<string, Uint8Array>, indexFile: string): number {
	const bytes = table.get("");
	if (bytes === undefined) {
		throw new CheckpointError(
			`${indexFile} has no bundle header (the entry with the empty key), so it is not a TensorFlow V2 checkpoint index. ` +
				"Re-save the model with tf.train.Saver (V2 format, the default) or tf.train.Checkpoint.",
		);
	}
	const header: BundleHeaderProto = decodeProto(decodeBundleHeader, bytes, `The bundle header of ${indexFile}`);
	const endianness = header.endianness ?? 0;
	if (endianness === 1) {
		throw new CheckpointError(`${indexFile} was written on a big-endian machine; big-endian checkpoints are not supported. Re-save it on a little-endian (x86 or ARM) machine.`);
	}
	if (endianness !== 0) {
		throw new CheckpointError(`${indexFile} declares unknown byte order ${endianness}; the file is corrupt or from an unsupported TensorFlow version.`);
	}
	const numShards = header.num_shards ?? 0;
	if (!nonNegativeInteger(numShards) || numShards < 1) {
		throw new CheckpointError(`${indexFile} declares ${numShards} data shards, but a checkpoint has at least one; the file is corrupt. Re-save the checkpoint.`);
	}
	return numShards;
}

/** Validates the entry's layout; only unsupported features are deferred (to entry()/read()), corruption fails now. */
function parseEntry(key: string, bytes: Uint8Array, numShards: number, indexFile: string): Slot {
	const where = `The entry for ${JSON.stringify(key)} in ${indexFile}`;
	const proto = decodeProto(decodeBundleEntry, bytes, where);
	// An absent shape message decodes as null and means a scalar.
	const shape = has(proto, "shape") && proto.shape ? shapeFromProto(proto.shape) : [];
	if (shape === undefined) {
		throw new CheckpointError(`${where} has a shape of unknown rank; the file is corrupt. Re-save the checkpoint.`);
	}
	let elements = 1;
	for (const dim of shape) {
		elements *= dim;
		if (!nonNegativeInteger(dim) || !Number.isSafeInteger(elements)) {
			throw new CheckpointError(`${where} has an invalid shape ${formatShape(shape)}; the file is corrupt. Re-save the checkpoint.`);
		}
	}
	const shard = proto.shard_id ?? 0;
	const offset = proto.offset ?? 0;
	const size = proto.size ?? 0;
	if (!nonNegativeInteger(shard) || shard >= numShards) {
		throw new CheckpointError(`${where} points at data shard ${shard}, but the checkpoint has ${numShards} shard(s); the file is corrupt. Re-save the checkpoint.`);
	}
	if (!nonNegativeInteger(offset) || !nonNegativeInteger(size) || !Number.isSafeInteger(offset + size)) {
		throw new CheckpointError(`${where} has an invalid byte range (offset ${offset}, size ${size}); the file is corrupt. Re-save the checkpoint.`);
	}
	let dtype: DType;
	try {
		dtype = dtypeFromEnum(proto.dtype ?? 0, where);
	} catch {
		return { proto, unsupported: `${where} has TensorFlow data type ${proto.dtype ?? 0}, which Kernel NN does not support.` };
	}
	const entry: CheckpointEntry = { key, dtype, shape, shard, offset, size };
	const sliced = (proto.slices?.length ?? 0) > 0;
	const width = dtypeByteSize(dtype);
	// TensorFlow always writes at least the 4-byte length checksum; requiring a byte per length also bounds
	// the element count by the file size before anything is allocated for it.
	if (!sliced && dtype === "string" && size < elements + 4) {
		throw new CheckpointError(`${where} stores ${elements} strings in ${size} bytes, too few for their lengths and checksum; the file is corrupt.`);
	}
	if (!sliced && width > 0 && size !== elements * width) {
		throw new CheckpointError(
			`${where} says ${dtype} ${formatShape(shape)} (${elements * width} bytes) but stores ${size} bytes; the file is corrupt. Re-save the checkpoint.`,
		);
	}
	return { proto, entry };
}

function readVarint64(bytes: Uint8Array, cursor: { pos: number }, what: string): number {
	let value = 0;
	let scale = 1;
	for (let i = 0; i < MAX_VARINT64_BYTES && cursor.pos < bytes.length; i++) {
		const byte = bytes[cursor.pos++];
		value += (byte & 0x7f) * scale;
		if ((byte & 0x80) === 0) {
			if (value > Number.MAX_SAFE_INTEGER) break;
			return value;
		}
		scale *= 128;
	}
	throw new CheckpointError(`${what} has a malformed string length; the data is corrupt. Re-save the checkpoint.`);
}

/**
 * Decodes TensorFlow's string tensor layout: N varint64 lengths, a masked CRC of the lengths (each taken as
 * a little-endian uint32, or uint64 above 4 GiB, not as varint bytes), then the string bytes. Returns the
 * strings and the CRC TensorFlow would compare with the entry's crc32c.
 */
function decodeStrings(bytes: Uint8Array, count: number, what: string): { strings: Uint8Array[]; crc: number } {
	const strings: Uint8Array[] = [];
	const cursor = { pos: 0 };
	const lengths: number[] = [];
	let crc = 0;
	let total = 0;
	const word = new Uint8Array(8);
	const view = new DataView(word.buffer);
	for (let i = 0; i < count; i++) {
		const length = readVarint64(bytes, cursor, what);
		lengths.push(length);
		total += length;
		const wide = length > 0xffffffff;
		view.setBigUint64(0, BigInt(length), true);
		crc = crc32c(word.subarray(0, wide ? 8 : 4), crc);
	}
	if (cursor.pos + 4 > bytes.length || total > bytes.length - cursor.pos - 4) {
		throw new CheckpointError(`${what}: its string lengths add up to more than its ${bytes.length} bytes; the data is corrupt. Re-save the checkpoint.`);
	}
	const rawChecksum = bytes.subarray(cursor.pos, cursor.pos + 4);
	const storedChecksum = new DataView(bytes.buffer, bytes.byteOffset + cursor.pos, 4).getUint32(0, true);
	if (unmaskCrc(storedChecksum) !== crc) {
		throw new CheckpointError(`${what}: the checksum of its string lengths does not match; the data is corrupt. Re-save the checkpoint.`);
	}
	crc = crc32c(rawChecksum, crc);
	cursor.pos += 4;
	for (const length of lengths) {
		const value = bytes.slice(cursor.pos, cursor.pos + length);
		crc = crc32c(value, crc);
		strings.push(value);
		cursor.pos += length;
	}
	return { strings, crc };
}

/** Reads [offset, offset + size) of a shard, refusing ranges the file does not hold before allocating. */
function readRange(file: string, offset: number, size: number, key: string, numShards: number): Uint8Array {
	let fd: number;
	try {
		fd = fs.openSync(file, "r");
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		const detail = code === "ENOENT"
			? `the data shard ${file} is missing (this checkpoint has ${numShards} shard(s), all of which must sit next to its .index file)`
			: `the data shard ${file} cannot be opened: ${(error as Error).message}`;
		throw new CheckpointError(`Cannot read ${JSON.stringify(key)}: ${detail}. Copy the complete checkpoint again.`);
	}
	try {
		const fileSize = fs.fstatSync(fd).size;
		if (offset + size > fileSize) {
			throw new CheckpointError(
				`Cannot read ${JSON.stringify(key)}: it needs bytes ${offset} to ${offset + size} of ${file}, which is only ${fileSize} bytes long. ` +
					"The shard is truncated; copy the complete checkpoint again.",
			);
		}
		const bytes = new Uint8Array(size);
		let done = 0;
		while (done < size) {
			const n = fs.readSync(fd, bytes, done, size - done, offset + done);
			if (n <= 0) {
				throw new CheckpointError(`Cannot read ${JSON.stringify(key)}: ${file} ended after ${offset + done} bytes while reading it. The shard is truncated; copy the complete checkpoint again.`);
			}
			done += n;
		}
		return bytes;
	} catch (error) {
		if (error instanceof CheckpointError) throw error;
		throw new CheckpointError(`Cannot read ${JSON.stringify(key)} from ${file}: ${(error as Error).message}. Check the file and its permissions.`);
	} finally {
		fs.closeSync(fd);
	}
}

class TensorBundle implements Checkpoint {
	// null until read; undefined when the checkpoint has no object graph (TF1 checkpoints).
	private graph: TrackableObjectGraph | undefined | null = null;

	constructor(
		readonly prefix: string,
		private readonly indexFile: string,
		private readonly numShards: number,
		private readonly slots: Map<string, Slot>,
	) {}

	keys(): string[] {
		return [...this.slots.keys()].sort();
	}

	entry(key: string): CheckpointEntry | undefined {
		const slot = this.slots.get(key);
		if (slot === undefined) return undefined;
		if (slot.entry === undefined) throw new CheckpointError(`${slot.unsupported} Leave this tensor out.`);
		return { ...slot.entry, shape: [...slot.entry.shape] };
	}

	read(key: string): Tensor {
		const slot = this.slots.get(key);
		if (slot === undefined) throw new CheckpointError(this.unknownKeyMessage(key));
		const entry = slot.entry;
		if (entry === undefined) throw new CheckpointError(`${slot.unsupported} It cannot be read.`);
		const where = `Tensor ${JSON.stringify(key)} of ${this.indexFile}`;
		const slices = slot.proto.slices?.length ?? 0;
		if (slices > 0) {
			throw new CheckpointError(`${where} is a partitioned variable saved in ${slices} slices; partitioned variables are not supported. Re-save it without a partitioner.`);
		}
		if (entry.dtype !== "string" && (dtypeByteSize(entry.dtype) === 0 || entry.dtype === "complex64")) {
			throw new CheckpointError(`${where} has data type ${entry.dtype}, which cannot be read from checkpoints. Leave this tensor out.`);
		}
		const file = shardFilename(this.prefix, entry.shard, this.numShards);
		// The declared shape against the memory budget before a byte of the shard is read.
		if (entry.dtype !== "string") checkTensorSize(entry.dtype, [...entry.shape], where);
		const bytes = readRange(file, entry.offset, entry.size, key, this.numShards);
		const elements = entry.shape.reduce((a, b) => a * b, 1);
		const located = `${where} (bytes ${entry.offset} to ${entry.offset + entry.size} of ${file})`;
		let actual: number;
		let tensor: Tensor;
		if (entry.dtype === "string") {
			const decoded = decodeStrings(bytes, elements, located);
			actual = decoded.crc;
			tensor = { dtype: "string", shape: [...entry.shape], data: decoded.strings };
		} else {
			actual = crc32c(bytes);
			try {
				tensor = tensorFromBytes(entry.dtype, [...entry.shape], bytes, located);
			} catch (error) {
				throw new CheckpointError(`${(error as Error).message}. Re-save the checkpoint.`);
			}
		}
		// TensorFlow stores crc32c::Mask(crc), checked against the Indigo checkpoint.
		if (has(slot.proto, "crc32c") && unmaskCrc(slot.proto.crc32c ?? 0) !== actual) {
			throw new CheckpointError(`${located} fails its CRC check; the shard or the index is corrupt. Copy the complete checkpoint again.`);
		}
		return tensor;
	}

	objectGraphKeys(): Map<string, string> | undefined {
		const graph = this.objectGraph();
		return graph === undefined ? undefined : fullNameKeys(graph);
	}

	objectGraph(): TrackableObjectGraph | undefined {
		if (this.graph !== null) return this.graph;
		if (!this.slots.has(OBJECT_GRAPH_KEY)) {
			this.graph = undefined;
			return undefined;
		}
		const tensor = this.read(OBJECT_GRAPH_KEY);
		if (tensor.dtype !== "string" || tensor.data.length !== 1) {
			throw new CheckpointError(`${OBJECT_GRAPH_KEY} in ${this.indexFile} should be one string but is ${tensor.dtype} ${formatShape(tensor.shape)}; the checkpoint is corrupt.`);
		}
		const graph: TrackableObjectGraph = decodeProto(decodeTrackableObjectGraph, (tensor.data as Uint8Array[])[0], `The object graph (${OBJECT_GRAPH_KEY}) of ${this.indexFile}`);
		this.objectGraphLookup(() => validateObjectGraph(graph));
		this.graph = graph;
		return graph;
	}

	variableKeyForNode(nodeId: number): string | undefined {
		const graph = this.requireObjectGraph(`object ${nodeId}`);
		return this.objectGraphLookup(() => attributeKey(graph, nodeId));
	}

	keyForPath(objectPath: string): string | undefined {
		const graph = this.requireObjectGraph(JSON.stringify(objectPath));
		return this.objectGraphLookup(() => keyForPath(graph, objectPath));
	}

	private requireObjectGraph(what: string): TrackableObjectGraph {
		const graph = this.objectGraph();
		if (graph === undefined) {
			throw new CheckpointError(
				`${this.indexFile} is a name-based (TF1) checkpoint without an object graph, so ${what} cannot be looked up by object; look its variables up by name with entry().`,
			);
		}
		return graph;
	}

	private objectGraphLookup<T>(lookup: () => T): T {
		try {
			return lookup();
		} catch (error) {
			if (error instanceof ObjectGraphLookupError) {
				throw new CheckpointError(`${this.indexFile} ${error.message}; the checkpoint does not belong to this model or is corrupt.`);
			}
			throw error;
		}
	}

	private unknownKeyMessage(key: string): string {
		const keys = this.keys();
		const leaf = key.split("/").pop() ?? key;
		const similar = keys.filter((k) => k.endsWith(`/${leaf}`) || k === leaf).slice(0, 5);
		const listed = similar.length > 0 ? ` Similar names: ${similar.join(", ")}.` : keys.length <= 8 ? ` It has: ${keys.join(", ")}.` : ` It has ${keys.length} tensors, e.g. ${keys.slice(0, 5).join(", ")}.`;
		return `${this.indexFile} has no tensor named ${JSON.stringify(key)}.${listed} Use one of its keys (list them with keys()).`;
	}
}

/** Opens a V2 checkpoint by prefix, or by the path of its `.index` or one of its `.data-*` files. */
export function openCheckpoint(input: string): Checkpoint {
	const prefix = prefixOf(input);
	const indexFile = `${prefix}.index`;
	const bytes = readIndexFile(input, prefix);
	let table: Map<string, Uint8Array>;
	try {
		table = readTable(bytes, indexFile);
	} catch (error) {
		if (error instanceof TableError) throw new CheckpointError(error.message);
		throw error;
	}
	const numShards = parseHeader(table, indexFile);
	const slots = new Map<string, Slot>();
	for (const [key, value] of table) {
		if (key !== "") slots.set(key, parseEntry(key, value, numShards, indexFile));
	}
	return new TensorBundle(prefix, indexFile, numShards, slots);
}
