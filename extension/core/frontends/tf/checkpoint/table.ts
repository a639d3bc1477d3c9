// Reader for LevelDB-format SSTables, the container of TensorFlow's checkpoint `.index` files.
// Input may be corrupt or hostile: every length and offset is checked against the buffer before use,
// so a bad file ends in a TableError, never a RangeError or an oversized allocation.

import * as snappy from "snappyjs";
import { crc32c, unmaskCrc } from "./crc32c";
import { codedError } from "../../../util/errors";

export class TableError extends codedError("checkpoint", "TableError") {}

const FOOTER_SIZE = 48;
const BLOCK_TRAILER_SIZE = 5;
const MAGIC_LO = 0x8b80fb57;
const MAGIC_HI = 0xdb477524;
const MAX_VARINT64_BYTES = 10;
const MAX_VARINT32_BYTES = 5;
const BLOCK_UNCOMPRESSED = 0;
const BLOCK_SNAPPY = 1;
// A snappy copy element of 3 bytes yields at most 64 bytes, so no valid stream expands more than this.
const SNAPPY_MAX_EXPANSION = 22;
// TensorFlow's index blocks are about 4 KiB; this leaves room for huge keys without trusting any length.
const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

export interface BlockHandle {
	offset: number;
	size: number;
}

interface Cursor {
	pos: number;
}

/** Decodes a little-endian base-128 varint, refusing values that are not exact JavaScript integers. */
function readVarint(bytes: Uint8Array, cursor: Cursor, end: number, maxBytes: number, what: string, file: string): number {
	let value = 0;
	let scale = 1;
	for (let i = 0; i < maxBytes; i++) {
		if (cursor.pos >= end) {
			throw new TableError(`${file}: ${what} is cut off by the end of its data; the file is truncated or corrupt. Re-save the checkpoint.`);
		}
		const byte = bytes[cursor.pos++];
		value += (byte & 0x7f) * scale;
		if ((byte & 0x80) === 0) {
			const limit = maxBytes === MAX_VARINT32_BYTES ? 0xffffffff : Number.MAX_SAFE_INTEGER;
			if (value > limit) {
				throw new TableError(`${file}: ${what} (${value}) is out of range; the file is corrupt. Re-save the checkpoint.`);
			}
			return value;
		}
		scale *= 128;
	}
	throw new TableError(`${file}: ${what} is a varint longer than ${maxBytes} bytes; the file is corrupt. Re-save the checkpoint.`);
}

function readUint32(bytes: Uint8Array, at: number): number {
	return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

function readHandle(bytes: Uint8Array, cursor: Cursor, end: number, what: string, file: string): BlockHandle {
	const offset = readVarint(bytes, cursor, end, MAX_VARINT64_BYTES, `the offset of ${what}`, file);
	const size = readVarint(bytes, cursor, end, MAX_VARINT64_BYTES, `the size of ${what}`, file);
	return { offset, size };
}

/** Returns a block's contents after checking its bounds, compression type and CRC. */
function readBlock(bytes: Uint8Array, handle: BlockHandle, limit: number, what: string, file: string): Uint8Array {
	if (handle.offset > limit || handle.size > limit - handle.offset || BLOCK_TRAILER_SIZE > limit - handle.offset - handle.size) {
		throw new TableError(
			`${file}: ${what} (offset ${handle.offset}, ${handle.size} bytes) lies outside the ${limit} bytes before the footer; ` +
				"the file is truncated or corrupt. Re-save the checkpoint or copy the .index file again.",
		);
	}
	const contents = bytes.subarray(handle.offset, handle.offset + handle.size);
	const type = bytes[handle.offset + handle.size];
	const stored = readUint32(bytes, handle.offset + handle.size + 1);
	const actual = crc32c(bytes.subarray(handle.offset + handle.size, handle.offset + handle.size + 1), crc32c(contents));
	if (unmaskCrc(stored) !== actual) {
		throw new TableError(
			`${file}: ${what} at offset ${handle.offset} fails its CRC check (stored ${hex(unmaskCrc(stored))}, computed ${hex(actual)}); ` +
				"the file is corrupt. Copy the .index file again or re-save the checkpoint.",
		);
	}
	if (type === BLOCK_SNAPPY) return uncompressBlock(contents, what, file);
	if (type !== BLOCK_UNCOMPRESSED) {
		throw new TableError(`${file}: ${what} uses unknown compression type ${type} (TensorFlow writes 0, none, or 1, snappy); the file is corrupt or not a TensorFlow checkpoint index.`);
	}
	return contents;
}

/**
 * Decompresses a snappy block (LevelDB's kSnappyCompression). The declared length is checked against what
 * the compressed bytes can possibly expand to before anything is allocated.
 */
function uncompressBlock(compressed: Uint8Array, what: string, file: string): Uint8Array {
	const corrupt = (detail: string): TableError =>
		new TableError(`${file}: ${what} is snappy-compressed but ${detail}; the file is corrupt. Copy the .index file again or re-save the checkpoint.`);
	const cursor: Cursor = { pos: 0 };
	let declared: number;
	try {
		declared = readVarint(compressed, cursor, compressed.length, MAX_VARINT32_BYTES, "the uncompressed length", file);
	} catch {
		throw corrupt("its uncompressed length is malformed");
	}
	const bound = Math.min(MAX_BLOCK_BYTES, (compressed.length - cursor.pos) * SNAPPY_MAX_EXPANSION);
	if (declared > bound) {
		throw corrupt(`declares ${declared} uncompressed bytes, more than its ${compressed.length} compressed bytes can hold (at most ${bound})`);
	}
	// snappyjs pads a short stream with zeros and drops bytes past the end, so the stream is walked first.
	const produced = snappyOutputLength(compressed, cursor.pos);
	if (produced !== declared) {
		throw corrupt(produced < 0 ? "its compressed stream is malformed" : `decompresses to ${produced} bytes instead of the declared ${declared}`);
	}
	try {
		return snappy.uncompress(compressed, declared);
	} catch (error) {
		throw corrupt(`does not decompress (${(error as Error).message})`);
	}
}

/** Sums the output of a raw snappy stream's elements; -1 when an element is cut off or copies from before the start. */
function snappyOutputLength(stream: Uint8Array, start: number): number {
	let pos = start;
	let produced = 0;
	while (pos < stream.length) {
		const tag = stream[pos++];
		const kind = tag & 3;
		let length: number;
		if (kind === 0) {
			length = (tag >>> 2) + 1;
			if (length > 60) {
				const extra = length - 60;
				if (pos + extra > stream.length) return -1;
				length = 1;
				for (let i = 0; i < extra; i++) length += stream[pos + i] * 2 ** (8 * i);
				pos += extra;
			}
			if (length > stream.length - pos) return -1;
			pos += length;
		} else {
			const offsetBytes = kind === 1 ? 1 : kind === 2 ? 2 : 4;
			length = kind === 1 ? ((tag >>> 2) & 7) + 4 : (tag >>> 2) + 1;
			if (pos + offsetBytes > stream.length) return -1;
			let offset = kind === 1 ? (tag >>> 5) * 256 : 0;
			for (let i = 0; i < offsetBytes; i++) offset += stream[pos + i] * 2 ** (8 * i);
			pos += offsetBytes;
			if (offset === 0 || offset > produced) return -1;
		}
		produced += length;
	}
	return produced;
}

function hex(n: number): string {
	return `0x${n.toString(16).padStart(8, "0")}`;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
	const n = Math.min(a.length, b.length);
	for (let i = 0; i < n; i++) {
		if (a[i] !== b[i]) return a[i] - b[i];
	}
	return a.length - b.length;
}

/**
 * Parses the prefix-compressed entries of one block. Each entry's key shares `shared` bytes with the
 * previous key; restart points reset the sharing so readers can binary-search, which we do not need
 * but still validate, since a mismatch means the block is not what its writer meant.
 */
function parseBlock(block: Uint8Array, what: string, file: string, visit: (key: Uint8Array, value: Uint8Array) => void): void {
	if (block.length < 4) {
		throw new TableError(`${file}: ${what} is ${block.length} bytes, too short to hold its restart count; the file is corrupt.`);
	}
	const numRestarts = readUint32(block, block.length - 4);
	const maxRestarts = Math.floor((block.length - 4) / 4);
	if (numRestarts < 1 || numRestarts > maxRestarts) {
		throw new TableError(`${file}: ${what} claims ${numRestarts} restart points, but a block of ${block.length} bytes holds 1 to ${maxRestarts}; the file is corrupt.`);
	}
	const dataEnd = block.length - 4 - numRestarts * 4;
	const restarts = new Set<number>();
	let previousRestart = -1;
	for (let i = 0; i < numRestarts; i++) {
		const restart = readUint32(block, dataEnd + i * 4);
		const valid = i === 0 ? restart === 0 : restart > previousRestart && restart < dataEnd;
		if (!valid) {
			throw new TableError(`${file}: restart point ${i} of ${what} (offset ${restart}) is out of order or outside the block's ${dataEnd} bytes of entries; the file is corrupt.`);
		}
		restarts.add(restart);
		previousRestart = restart;
	}
	const cursor: Cursor = { pos: 0 };
	let key = new Uint8Array(0);
	let seenRestarts = 0;
	// Every entry consumes at least three bytes, so this loop ends within dataEnd / 3 iterations.
	while (cursor.pos < dataEnd) {
		const start = cursor.pos;
		const shared = readVarint(block, cursor, dataEnd, MAX_VARINT32_BYTES, `the shared key length at offset ${start} of ${what}`, file);
		const nonShared = readVarint(block, cursor, dataEnd, MAX_VARINT32_BYTES, `the key length at offset ${start} of ${what}`, file);
		const valueLength = readVarint(block, cursor, dataEnd, MAX_VARINT32_BYTES, `the value length at offset ${start} of ${what}`, file);
		if (restarts.has(start)) {
			seenRestarts++;
			if (shared !== 0) {
				throw new TableError(`${file}: the entry at restart point ${start} of ${what} shares ${shared} key bytes with its predecessor, but restart entries must share none; the file is corrupt.`);
			}
		}
		if (shared > key.length) {
			throw new TableError(`${file}: the entry at offset ${start} of ${what} shares ${shared} key bytes, but the previous key has only ${key.length}; the file is corrupt.`);
		}
		if (nonShared > dataEnd - cursor.pos || valueLength > dataEnd - cursor.pos - nonShared) {
			throw new TableError(`${file}: the entry at offset ${start} of ${what} runs past the end of the block's entries; the file is corrupt.`);
		}
		const next = new Uint8Array(shared + nonShared);
		next.set(key.subarray(0, shared));
		next.set(block.subarray(cursor.pos, cursor.pos + nonShared), shared);
		cursor.pos += nonShared;
		const value = block.subarray(cursor.pos, cursor.pos + valueLength);
		cursor.pos += valueLength;
		key = next;
		visit(key, value);
	}
	// An empty block still carries the single restart point 0.
	if (dataEnd > 0 && seenRestarts !== numRestarts) {
		throw new TableError(`${file}: ${numRestarts - seenRestarts} restart point(s) of ${what} do not start an entry; the file is corrupt.`);
	}
}

/**
 * Reads every key/value pair of an SSTable held in memory. Keys are decoded as UTF-8 (TensorFlow's
 * tensor names); values are views into `bytes`. `file` names the source in error messages.
 */
export function readTable(bytes: Uint8Array, file: string): Map<string, Uint8Array> {
	if (bytes.length < FOOTER_SIZE) {
		throw new TableError(
			`${file} is ${bytes.length} bytes, shorter than the ${FOOTER_SIZE}-byte table footer; the file is truncated or is not a TensorFlow checkpoint index.`,
		);
	}
	const footerStart = bytes.length - FOOTER_SIZE;
	if (readUint32(bytes, bytes.length - 8) !== MAGIC_LO || readUint32(bytes, bytes.length - 4) !== MAGIC_HI) {
		throw new TableError(
			`${file} does not end with the LevelDB table magic number, so it is not a TensorFlow V2 checkpoint index (or it is truncated). ` +
				"Pass the prefix of a checkpoint written by tf.train.Saver (V2) or tf.train.Checkpoint.",
		);
	}
	const cursor: Cursor = { pos: footerStart };
	const handleEnd = bytes.length - 8;
	readHandle(bytes, cursor, handleEnd, "the metaindex block", file);
	const indexHandle = readHandle(bytes, cursor, handleEnd, "the index block", file);
	const index = readBlock(bytes, indexHandle, footerStart, "the index block", file);

	const entries = new Map<string, Uint8Array>();
	const decoder = new TextDecoder("utf-8");
	let previousKey: Uint8Array | undefined;
	let nextBlockStart = 0;
	let blockNumber = 0;
	parseBlock(index, "the index block", file, (_separator, handleBytes) => {
		const what = `data block ${blockNumber++}`;
		const handle = readHandle(handleBytes, { pos: 0 }, handleBytes.length, `the handle of ${what}`, file);
		// Blocks are written one after another; requiring that also stops a crafted index from making us
		// re-read (and re-checksum) the same block many times.
		if (handle.offset < nextBlockStart) {
			throw new TableError(`${file}: ${what} starts at offset ${handle.offset}, overlapping the previous block; the file is corrupt.`);
		}
		const block = readBlock(bytes, handle, footerStart, what, file);
		nextBlockStart = handle.offset + handle.size + BLOCK_TRAILER_SIZE;
		parseBlock(block, what, file, (key, value) => {
			if (previousKey !== undefined && compareBytes(previousKey, key) >= 0) {
				throw new TableError(`${file}: keys in ${what} are not in strictly increasing order; the file is corrupt.`);
			}
			previousKey = key;
			const name = decoder.decode(key);
			// Distinct byte strings can decode to the same text when they are not valid UTF-8.
			if (entries.has(name)) {
				throw new TableError(`${file}: key ${JSON.stringify(name)} appears twice (its bytes are not valid UTF-8); the file is corrupt.`);
			}
			entries.set(name, value);
		});
	});
	return entries;
}
