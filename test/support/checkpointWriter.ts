// Writes TensorFlow V2 checkpoints (TensorBundle: a LevelDB table `P.index` plus `P.data-*` shards) the way
// tensor_bundle.cc and table_builder.cc do, so tests can build checkpoints TensorFlow would have written,
// including the layouts the Indigo file lacks: several blocks, restart intervals > 1, snappy blocks, and
// TF2's object graph.

import * as fs from "node:fs";
import * as path from "node:path";
import * as snappy from "snappyjs";
import { crc32c, maskCrc } from "../../extension/core/frontends/tf/checkpoint/crc32c";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { type Tensor, dtypeToEnum, tensorToBytes } from "../../extension/core/graph/tensor";

export const OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH";
const DT_STRING = 7;
const BLOCK_TYPE_NONE = 0;
const BLOCK_TYPE_SNAPPY = 1;

export function varint(n: number): number[] {
	const out: number[] = [];
	while (n >= 0x80) {
		out.push((n % 0x80) | 0x80);
		n = Math.floor(n / 0x80);
	}
	out.push(n);
	return out;
}

export function u32(n: number): number[] {
	return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** One LevelDB block: prefix-compressed entries, restart offsets, restart count. */
export function buildBlock(entries: [Uint8Array, Uint8Array][], restartInterval: number): Uint8Array {
	const out: number[] = [];
	const restarts: number[] = [];
	let previous: Uint8Array = new Uint8Array(0);
	entries.forEach(([key, value], i) => {
		let shared = 0;
		if (i % restartInterval === 0) {
			restarts.push(out.length);
		} else {
			while (shared < previous.length && shared < key.length && previous[shared] === key[shared]) shared++;
		}
		out.push(...varint(shared), ...varint(key.length - shared), ...varint(value.length), ...key.subarray(shared), ...value);
		previous = key;
	});
	if (restarts.length === 0) restarts.push(0);
	for (const r of restarts) out.push(...u32(r));
	out.push(...u32(restarts.length));
	return Uint8Array.from(out);
}

export interface TableOptions {
	blockSize?: number;
	restartInterval?: number;
	/** "snappy" compresses each block and keeps it only when it saves 12.5%, as table_builder.cc does. */
	compression?: "none" | "snappy";
	/** Writes this raw trailer type byte on every block, uncompressed contents included (for error tests). */
	forceBlockType?: number;
}

export interface WrittenTable {
	bytes: Uint8Array;
	/** Offsets, sizes and trailer types of every block in file order (data blocks, metaindex, index). */
	blocks: { offset: number; size: number; type: number }[];
}

export function writeTableWithLayout(pairs: [string, Uint8Array][], options: TableOptions = {}): WrittenTable {
	const { blockSize = 4096, restartInterval = 16, compression = "none" } = options;
	const sorted = pairs.map(([k, v]) => [Buffer.from(k, "utf8"), v] as [Uint8Array, Uint8Array]).sort((a, b) => Buffer.compare(a[0], b[0]));
	const file: number[] = [];
	const blocks: WrittenTable["blocks"] = [];
	const emit = (raw: Uint8Array): number[] => {
		let contents = raw;
		let type = BLOCK_TYPE_NONE;
		if (compression === "snappy") {
			const compressed = snappy.compress(raw);
			if (compressed.length < raw.length - Math.floor(raw.length / 8)) {
				contents = compressed;
				type = BLOCK_TYPE_SNAPPY;
			}
		}
		if (options.forceBlockType !== undefined) type = options.forceBlockType;
		const offset = file.length;
		const typed = Uint8Array.from([...contents, type]);
		file.push(...typed, ...u32(maskCrc(crc32c(typed))));
		blocks.push({ offset, size: contents.length, type });
		return [...varint(offset), ...varint(contents.length)];
	};
	const index: [Uint8Array, Uint8Array][] = [];
	let pending: [Uint8Array, Uint8Array][] = [];
	let pendingBytes = 0;
	const flush = (): void => {
		if (pending.length === 0) return;
		// The last key of a block is a valid separator: >= its keys and < the next block's.
		index.push([pending[pending.length - 1][0], Uint8Array.from(emit(buildBlock(pending, restartInterval)))]);
		pending = [];
		pendingBytes = 0;
	};
	for (const pair of sorted) {
		pending.push(pair);
		pendingBytes += pair[0].length + pair[1].length + 3;
		if (pendingBytes >= blockSize) flush();
	}
	flush();
	const metaHandle = emit(buildBlock([], 1));
	const indexHandle = emit(buildBlock(index, 1));
	const footer = [...metaHandle, ...indexHandle];
	while (footer.length < 40) footer.push(0);
	file.push(...footer, ...u32(0x8b80fb57), ...u32(0xdb477524));
	return { bytes: Uint8Array.from(file), blocks };
}

export function writeTable(pairs: [string, Uint8Array][], options: TableOptions = {}): Uint8Array {
	return writeTableWithLayout(pairs, options).bytes;
}

/** A tensor given by its raw TensorFlow dtype enum and bytes, for layouts a Tensor cannot express. */
export interface TensorSpec {
	key: string;
	dtype: number;
	shape: number[];
	bytes?: Uint8Array;
	strings?: Uint8Array[];
	shard?: number;
	slices?: object[];
}

/** A tensor given as the IR's Tensor. */
export interface CheckpointTensor {
	key: string;
	value: Tensor;
	shard?: number;
}

/** TrackableObjectGraph as a plain object with snake_case fields, as protobufjs's fromObject takes it. */
export interface TrackableObjectGraphObject {
	nodes: {
		children?: { node_id: number; local_name: string }[];
		attributes?: { name: string; full_name?: string; checkpoint_key: string }[];
		slot_variables?: { original_variable_node_id: number; slot_name: string; slot_variable_node_id: number }[];
		registered_saver?: { name: string; object_name: string };
		has_checkpoint_values?: { value: boolean };
	}[];
}

export interface CheckpointOptions {
	compression?: "none" | "snappy";
	/** Stored as the `_CHECKPOINTABLE_OBJECT_GRAPH` DT_STRING scalar holding the serialised graph, as TF2 does. */
	objectGraph?: TrackableObjectGraphObject;
	numShards?: number;
	/** BundleHeaderProto.endianness: 0 little, 1 big. */
	endianness?: number;
	blockSize?: number;
	restartInterval?: number;
}

export interface WrittenCheckpoint {
	indexFile: string;
	dataFiles: string[];
	/** Trailer types of the index file's blocks, so tests can check snappy was really used. */
	blockTypes: number[];
}

function encodeStrings(strings: Uint8Array[]): { bytes: Uint8Array; crc: number } {
	const lengths: number[] = [];
	let crc = 0;
	for (const s of strings) {
		lengths.push(...varint(s.length));
		crc = crc32c(Uint8Array.from(u32(s.length)), crc);
	}
	const checksum = Uint8Array.from(u32(maskCrc(crc)));
	crc = crc32c(checksum, crc);
	for (const s of strings) crc = crc32c(s, crc);
	return { bytes: Uint8Array.from([...lengths, ...checksum, ...strings.flatMap((s) => [...s])]), crc };
}

function toSpec(tensor: TensorSpec | CheckpointTensor): TensorSpec {
	if (!("value" in tensor)) return tensor;
	const { key, value, shard } = tensor;
	if (value.dtype === "string") return { key, dtype: DT_STRING, shape: value.shape, strings: value.data as Uint8Array[], shard };
	return { key, dtype: dtypeToEnum(value.dtype), shape: value.shape, bytes: tensorToBytes(value), shard };
}

export function shardFile(prefix: string, shard: number, numShards: number): string {
	return `${prefix}.data-${String(shard).padStart(5, "0")}-of-${String(numShards).padStart(5, "0")}`;
}

/** Writes `prefix.index` and its data shards; entries follow tensor_bundle.cc (masked CRCs, string layout). */
export function writeCheckpoint(prefix: string, tensors: (TensorSpec | CheckpointTensor)[], options: CheckpointOptions = {}): WrittenCheckpoint {
	const numShards = options.numShards ?? 1;
	fs.mkdirSync(path.dirname(prefix), { recursive: true });
	const specs = tensors.map(toSpec);
	if (options.objectGraph) {
		const graph = encodeMessage(types.TrackableObjectGraph, options.objectGraph);
		specs.push({ key: OBJECT_GRAPH_KEY, dtype: DT_STRING, shape: [], strings: [graph] });
	}
	const shards: number[][] = Array.from({ length: numShards }, () => []);
	const header: Record<string, number> = { num_shards: numShards };
	if (options.endianness !== undefined) header.endianness = options.endianness;
	const pairs: [string, Uint8Array][] = [["", encodeMessage(types.BundleHeaderProto, header)]];
	for (const t of specs) {
		const shard = t.shard ?? 0;
		const { bytes, crc } = t.strings ? encodeStrings(t.strings) : { bytes: t.bytes ?? new Uint8Array(0), crc: crc32c(t.bytes ?? new Uint8Array(0)) };
		const entry = {
			dtype: t.dtype, shape: { dim: t.shape.map((size) => ({ size })) }, shard_id: shard,
			offset: shards[shard].length, size: bytes.length, crc32c: maskCrc(crc), slices: t.slices ?? [],
		};
		for (const byte of bytes) shards[shard].push(byte);
		pairs.push([t.key, encodeMessage(types.BundleEntryProto, entry)]);
	}
	const table = writeTableWithLayout(pairs, {
		blockSize: options.blockSize ?? 64,
		restartInterval: options.restartInterval ?? 2,
		compression: options.compression ?? "none",
	});
	const indexFile = `${prefix}.index`;
	fs.writeFileSync(indexFile, table.bytes);
	const dataFiles = shards.map((bytes, i) => {
		const file = shardFile(prefix, i, numShards);
		fs.writeFileSync(file, Uint8Array.from(bytes));
		return file;
	});
	return { indexFile, dataFiles, blockTypes: table.blocks.map((b) => b.type) };
}
