import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { CheckpointError, OBJECT_GRAPH_KEY, openCheckpoint } from "../../extension/core/frontends/tf/checkpoint/bundle";
import { crc32c, maskCrc, unmaskCrc } from "../../extension/core/frontends/tf/checkpoint/crc32c";
import { readTable, TableError } from "../../extension/core/frontends/tf/checkpoint/table";
import { decodeBundleEntry, encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";

const INDIGO = path.resolve(__dirname, "../../../shared/models/indigo");
const INDIGO_PREFIX = path.join(INDIGO, "model");
const indigoSkip = fs.existsSync(`${INDIGO_PREFIX}.index`) && fs.existsSync(`${INDIGO_PREFIX}.data-00000-of-00001`)
	? false
	: `../shared/models/indigo is absent: expected ${INDIGO_PREFIX}.index and .data-00000-of-00001 (the real Indigo checkpoint)`;

const KERNEL = "global/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel";
const DT_FLOAT = 1;
const DT_INT32 = 3;
const DT_STRING = 7;
const DT_INT64 = 9;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "knn-checkpoint-test-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));
let scratchCount = 0;
function scratchPrefix(): string {
	return path.join(scratch, `ckpt${scratchCount++}`, "model");
}

// A minimal LevelDB table writer, so the reader is tested against layouts the Indigo file does not have
// (several blocks, restart intervals > 1, long shared prefixes).

function varint(n: number): number[] {
	const out: number[] = [];
	while (n >= 0x80) {
		out.push((n % 0x80) | 0x80);
		n = Math.floor(n / 0x80);
	}
	out.push(n);
	return out;
}

function u32(n: number): number[] {
	return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function buildBlock(entries: [Uint8Array, Uint8Array][], restartInterval: number): Uint8Array {
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

interface TableOptions {
	blockSize?: number;
	restartInterval?: number;
	compression?: number;
}

function writeTable(pairs: [string, Uint8Array][], options: TableOptions = {}): Uint8Array {
	const { blockSize = 4096, restartInterval = 16, compression = 0 } = options;
	const sorted = pairs.map(([k, v]) => [Buffer.from(k, "utf8"), v] as [Uint8Array, Uint8Array]).sort((a, b) => Buffer.compare(a[0], b[0]));
	const file: number[] = [];
	const emit = (contents: Uint8Array): number[] => {
		const offset = file.length;
		const typed = Uint8Array.from([...contents, compression]);
		file.push(...typed, ...u32(maskCrc(crc32c(typed))));
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
	return Uint8Array.from(file);
}

// A TensorBundle writer on top of it, following tensor_bundle.cc (masked CRCs, string layout).

interface TensorSpec {
	key: string;
	dtype: number;
	shape: number[];
	bytes?: Uint8Array;
	strings?: Uint8Array[];
	shard?: number;
	slices?: object[];
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

function writeCheckpoint(prefix: string, tensors: TensorSpec[], header: { num_shards?: number; endianness?: number } = {}): void {
	const numShards = header.num_shards ?? 1;
	fs.mkdirSync(path.dirname(prefix), { recursive: true });
	const shards: number[][] = Array.from({ length: numShards }, () => []);
	const pairs: [string, Uint8Array][] = [["", encodeMessage(types.BundleHeaderProto, { num_shards: numShards, ...header })]];
	for (const t of tensors) {
		const shard = t.shard ?? 0;
		const { bytes, crc } = t.strings ? encodeStrings(t.strings) : { bytes: t.bytes ?? new Uint8Array(0), crc: crc32c(t.bytes ?? new Uint8Array(0)) };
		const entry = {
			dtype: t.dtype, shape: { dim: t.shape.map((size) => ({ size })) }, shard_id: shard,
			offset: shards[shard].length, size: bytes.length, crc32c: maskCrc(crc), slices: t.slices ?? [],
		};
		shards[shard].push(...bytes);
		pairs.push([t.key, encodeMessage(types.BundleEntryProto, entry)]);
	}
	fs.writeFileSync(`${prefix}.index`, writeTable(pairs, { blockSize: 64, restartInterval: 2 }));
	shards.forEach((bytes, i) => {
		fs.writeFileSync(`${prefix}.data-${String(i).padStart(5, "0")}-of-${String(numShards).padStart(5, "0")}`, Uint8Array.from(bytes));
	});
}

function floats(values: number[]): Uint8Array {
	return new Uint8Array(Float32Array.from(values).buffer);
}

function copyIndigo(): string {
	const prefix = scratchPrefix();
	fs.mkdirSync(path.dirname(prefix), { recursive: true });
	fs.copyFileSync(`${INDIGO_PREFIX}.index`, `${prefix}.index`);
	fs.copyFileSync(`${INDIGO_PREFIX}.data-00000-of-00001`, `${prefix}.data-00000-of-00001`);
	return prefix;
}

function throwsCheckpointError(fn: () => unknown, pattern: RegExp): void {
	assert.throws(fn, (error: unknown) => {
		assert.ok(error instanceof CheckpointError, `expected a CheckpointError, got ${String(error)}`);
		assert.match(error.message, pattern);
		return true;
	});
}

describe("crc32c", () => {
	test("matches the published CRC-32C check values", () => {
		assert.equal(crc32c(Buffer.from("123456789", "ascii")), 0xe3069283);
		assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
		assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
		assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
		assert.equal(crc32c(new Uint8Array(0)), 0);
	});

	test("extends a CRC across concatenated chunks like LevelDB's crc32c::Extend", () => {
		const data = Buffer.from("hello, checkpoint world");
		assert.equal(crc32c(data.subarray(7), crc32c(data.subarray(0, 7))), crc32c(data));
	});

	test("unmaskCrc inverts maskCrc and masking changes the value", () => {
		for (const crc of [0, 1, 0xe3069283, 0xffffffff, 0x80000000]) {
			assert.equal(unmaskCrc(maskCrc(crc)), crc);
		}
		assert.notEqual(maskCrc(0xe3069283), 0xe3069283);
		assert.equal(maskCrc(0), 0xa282ead8);
	});
});

describe("readTable", () => {
	test("reads every pair of a table with many blocks, restart points and prefix-compressed keys", () => {
		const pairs: [string, Uint8Array][] = [];
		for (let i = 0; i < 300; i++) {
			pairs.push([`layer_${String(i % 7).padStart(2, "0")}/weights/${String(i).padStart(4, "0")}`, Uint8Array.from([i & 0xff, i >> 8])]);
		}
		pairs.push(["", Uint8Array.from([42])]);
		const bytes = writeTable(pairs, { blockSize: 100, restartInterval: 3 });
		const table = readTable(bytes, "/tmp/hand-built.index");
		assert.equal(table.size, pairs.length);
		for (const [key, value] of pairs) assert.deepEqual(table.get(key), value, key);
		assert.deepEqual([...table.keys()], pairs.map(([k]) => k).sort());
	});

	test("reads an empty table", () => {
		assert.equal(readTable(writeTable([]), "empty.index").size, 0);
	});

	test("rejects snappy-compressed blocks with a clear message", () => {
		const bytes = writeTable([["a", Uint8Array.from([1])]], { compression: 1 });
		assert.throws(() => readTable(bytes, "/x/snappy.index"), (e: unknown) => e instanceof TableError && /\/x\/snappy\.index.*snappy-compressed tables are not supported/.test(e.message));
	});

	test("rejects a restart entry that shares key bytes with its predecessor", () => {
		// Two entries, the second declared a restart point although it is prefix-compressed.
		const block = Uint8Array.from([0, 2, 1, 0x61, 0x62, 1, 1, 1, 1, 0x63, 2, ...u32(0), ...u32(6), ...u32(2)]);
		const file: number[] = [];
		const typed = Uint8Array.from([...block, 0]);
		file.push(...typed, ...u32(maskCrc(crc32c(typed))));
		const dataHandle = [0, block.length];
		const indexBlock = buildBlock([[Buffer.from("z"), Uint8Array.from(dataHandle)]], 1);
		const indexOffset = file.length;
		const typedIndex = Uint8Array.from([...indexBlock, 0]);
		file.push(...typedIndex, ...u32(maskCrc(crc32c(typedIndex))));
		const footer = [0, 0, ...varint(indexOffset), ...varint(indexBlock.length)];
		while (footer.length < 40) footer.push(0);
		file.push(...footer, ...u32(0x8b80fb57), ...u32(0xdb477524));
		assert.throws(() => readTable(Uint8Array.from(file), "bad.index"), (e: unknown) => e instanceof TableError && /restart point 6 .*must share none/.test(e.message));
	});

	test("rejects varints longer than 10 bytes in the footer", () => {
		const bytes = writeTable([["a", Uint8Array.from([1])]]);
		bytes.fill(0x80, bytes.length - 48, bytes.length - 8);
		assert.throws(() => readTable(bytes, "long.index"), (e: unknown) => e instanceof TableError && /longer than 10 bytes/.test(e.message));
	});
});

describe("Indigo checkpoint", () => {
	test("lists the five variables with their dtypes and shapes, 22,168 bytes in total", { skip: indigoSkip }, () => {
		const ckpt = openCheckpoint(INDIGO_PREFIX);
		assert.equal(ckpt.prefix, INDIGO_PREFIX);
		assert.deepEqual(ckpt.keys(), [
			"global/cnt",
			"global/fully_connected/biases",
			"global/fully_connected/weights",
			"global/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias",
			KERNEL,
		]);
		const shapes = Object.fromEntries(ckpt.keys().map((k) => [k, ckpt.entry(k)!.shape]));
		assert.deepEqual(shapes, {
			"global/cnt": [],
			"global/fully_connected/biases": [5],
			"global/fully_connected/weights": [32, 5],
			"global/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias": [128],
			[KERNEL]: [41, 128],
		});
		for (const key of ckpt.keys()) assert.equal(ckpt.entry(key)!.dtype, "float32");
		assert.equal(ckpt.keys().reduce((sum, k) => sum + ckpt.entry(k)!.size, 0), 22168);
		assert.equal(ckpt.entry("no/such/variable"), undefined);
		assert.equal(ckpt.objectGraphKeys(), undefined);
	});

	test("reads every tensor with its CRC verified and finite values", { skip: indigoSkip }, () => {
		const ckpt = openCheckpoint(INDIGO_PREFIX);
		for (const key of ckpt.keys()) {
			const tensor = ckpt.read(key);
			assert.ok(tensor.data instanceof Float32Array, key);
			for (const v of tensor.data) assert.ok(Number.isFinite(v), `${key} holds ${v}`);
		}
		const kernel = ckpt.read(KERNEL);
		assert.deepEqual(kernel.shape, [41, 128]);
		assert.equal(kernel.data.length, 41 * 128);
	});

	test("stores masked CRC-32C values of the tensor bytes in its entries", { skip: indigoSkip }, () => {
		const table = readTable(fs.readFileSync(`${INDIGO_PREFIX}.index`), `${INDIGO_PREFIX}.index`);
		const data = fs.readFileSync(`${INDIGO_PREFIX}.data-00000-of-00001`);
		for (const [key, value] of table) {
			if (key === "") continue;
			const entry = decodeBundleEntry(value);
			const crc = crc32c(data.subarray(entry.offset ?? 0, (entry.offset ?? 0) + (entry.size ?? 0)));
			assert.equal(entry.crc32c, maskCrc(crc), key);
		}
	});

	test("opens from the .index path or a .data path as well as the prefix", { skip: indigoSkip }, () => {
		assert.equal(openCheckpoint(`${INDIGO_PREFIX}.index`).prefix, INDIGO_PREFIX);
		assert.equal(openCheckpoint(`${INDIGO_PREFIX}.data-00000-of-00001`).prefix, INDIGO_PREFIX);
	});

	test("a corrupted block of the .index file fails its CRC check, naming the file and the block", { skip: indigoSkip }, () => {
		const prefix = copyIndigo();
		const bytes = fs.readFileSync(`${prefix}.index`);
		bytes[20] ^= 0x01;
		fs.writeFileSync(`${prefix}.index`, bytes);
		throwsCheckpointError(() => openCheckpoint(prefix), new RegExp(`${prefix}\\.index: data block 0 .*fails its CRC check`));
	});

	test("a bad magic number says the file is not a V2 checkpoint index", { skip: indigoSkip }, () => {
		const prefix = copyIndigo();
		const bytes = fs.readFileSync(`${prefix}.index`);
		bytes[bytes.length - 1] ^= 0xff;
		fs.writeFileSync(`${prefix}.index`, bytes);
		throwsCheckpointError(() => openCheckpoint(prefix), /model\.index does not end with the LevelDB table magic number/);
	});

	test("a truncated shard fails on read, naming the shard, the needed range and its size", { skip: indigoSkip }, () => {
		const prefix = copyIndigo();
		fs.truncateSync(`${prefix}.data-00000-of-00001`, 10000);
		const ckpt = openCheckpoint(prefix);
		assert.equal(ckpt.read("global/cnt").data.length, 1);
		throwsCheckpointError(() => ckpt.read(KERNEL), /needs bytes 1176 to 22168 of .*model\.data-00000-of-00001, which is only 10000 bytes long.*truncated/);
	});

	test("a flipped bit in the shard fails the tensor's CRC check", { skip: indigoSkip }, () => {
		const prefix = copyIndigo();
		const file = `${prefix}.data-00000-of-00001`;
		const bytes = fs.readFileSync(file);
		bytes[2000] ^= 0x10;
		fs.writeFileSync(file, bytes);
		const ckpt = openCheckpoint(prefix);
		ckpt.read("global/fully_connected/weights");
		throwsCheckpointError(() => ckpt.read(KERNEL), /basic_lstm_cell\/kernel.*fails its CRC check/);
	});

	test("an unknown key names the index and suggests similar names", { skip: indigoSkip }, () => {
		const ckpt = openCheckpoint(INDIGO_PREFIX);
		throwsCheckpointError(() => ckpt.read("kernel"), new RegExp(`${INDIGO_PREFIX}\\.index has no tensor named "kernel"\\. Similar names: ${KERNEL}`));
	});
});

describe("openCheckpoint", () => {
	test("a missing checkpoint lists the index file it looked for", () => {
		const prefix = path.join(scratch, "nowhere", "model");
		throwsCheckpointError(() => openCheckpoint(prefix), new RegExp(`looked for the index file ${prefix}\\.index, which does not exist`));
		throwsCheckpointError(() => openCheckpoint(`${prefix}.data-00000-of-00001`), new RegExp(`${prefix}\\.index`));
	});

	test("a directory argument points at the checkpoints inside it", () => {
		const prefix = scratchPrefix();
		writeCheckpoint(prefix, []);
		throwsCheckpointError(() => openCheckpoint(path.dirname(prefix)), /is a directory; pass a checkpoint inside it, e.g. .*model \(found model\.index\)/);
	});

	test("a missing data shard is named when a tensor is read", () => {
		const prefix = scratchPrefix();
		writeCheckpoint(prefix, [{ key: "w", dtype: DT_FLOAT, shape: [2], bytes: floats([1, 2]) }]);
		fs.rmSync(`${prefix}.data-00000-of-00001`);
		const ckpt = openCheckpoint(prefix);
		throwsCheckpointError(() => ckpt.read("w"), /the data shard .*model\.data-00000-of-00001 is missing/);
	});

	test("reads tensors from several shards and several dtypes", () => {
		const prefix = scratchPrefix();
		const int64 = new Uint8Array(16);
		new DataView(int64.buffer).setBigInt64(0, -5n, true);
		new DataView(int64.buffer).setBigInt64(8, 1n << 40n, true);
		writeCheckpoint(prefix, [
			{ key: "a/w", dtype: DT_FLOAT, shape: [2, 2], bytes: floats([1, 2, 3, 4]), shard: 1 },
			{ key: "a/b", dtype: DT_INT32, shape: [3], bytes: new Uint8Array(Int32Array.from([7, -8, 9]).buffer), shard: 0 },
			{ key: "step", dtype: DT_INT64, shape: [2], bytes: int64, shard: 1 },
		], { num_shards: 2 });
		const ckpt = openCheckpoint(prefix);
		assert.deepEqual(ckpt.keys(), ["a/b", "a/w", "step"]);
		assert.deepEqual(ckpt.entry("a/w"), { key: "a/w", dtype: "float32", shape: [2, 2], shard: 1, offset: 0, size: 16 });
		assert.deepEqual([...ckpt.read("a/w").data as Float32Array], [1, 2, 3, 4]);
		assert.deepEqual([...ckpt.read("a/b").data as Int32Array], [7, -8, 9]);
		assert.deepEqual([...ckpt.read("step").data as Float64Array], [-5, 2 ** 40]);
	});

	test("maps variable names to checkpoint keys through the TF2 object graph", () => {
		const prefix = scratchPrefix();
		const graph = encodeMessage(types.TrackableObjectGraph, {
			nodes: [
				{ children: [{ node_id: 1, local_name: "layer" }] },
				{
					attributes: [
						{ name: "VARIABLE_VALUE", full_name: "dense/kernel", checkpoint_key: "layer/kernel/.ATTRIBUTES/VARIABLE_VALUE" },
						{ name: "VARIABLE_VALUE", full_name: "dense/bias", checkpoint_key: "layer/bias/.ATTRIBUTES/VARIABLE_VALUE" },
					],
				},
			],
		});
		writeCheckpoint(prefix, [
			{ key: OBJECT_GRAPH_KEY, dtype: DT_STRING, shape: [], strings: [graph] },
			{ key: "layer/kernel/.ATTRIBUTES/VARIABLE_VALUE", dtype: DT_FLOAT, shape: [1, 2], bytes: floats([0.5, -0.5]) },
			{ key: "layer/bias/.ATTRIBUTES/VARIABLE_VALUE", dtype: DT_FLOAT, shape: [2], bytes: floats([0, 1]) },
		]);
		const ckpt = openCheckpoint(prefix);
		assert.deepEqual(ckpt.objectGraphKeys(), new Map([
			["dense/kernel", "layer/kernel/.ATTRIBUTES/VARIABLE_VALUE"],
			["dense/bias", "layer/bias/.ATTRIBUTES/VARIABLE_VALUE"],
		]));
		const kernelKey = ckpt.objectGraphKeys()!.get("dense/kernel")!;
		assert.deepEqual([...ckpt.read(kernelKey).data as Float32Array], [0.5, -0.5]);
	});

	test("decodes string tensors in TensorFlow's length/checksum/bytes layout", () => {
		const prefix = scratchPrefix();
		const strings = ["", "a", "hello", "x".repeat(300)].map((s) => Buffer.from(s));
		writeCheckpoint(prefix, [{ key: "names", dtype: DT_STRING, shape: [2, 2], strings }]);
		const tensor = openCheckpoint(prefix).read("names");
		assert.equal(tensor.dtype, "string");
		assert.deepEqual((tensor.data as Uint8Array[]).map((s) => Buffer.from(s).toString()), strings.map(String));
	});

	test("rejects a string entry too small for its element count before allocating anything", () => {
		const prefix = scratchPrefix();
		fs.mkdirSync(path.dirname(prefix), { recursive: true });
		const entry = encodeMessage(types.BundleEntryProto, { dtype: DT_STRING, shape: { dim: [{ size: 2 ** 40 }] }, size: 0 });
		fs.writeFileSync(`${prefix}.index`, writeTable([["", encodeMessage(types.BundleHeaderProto, { num_shards: 1 })], ["huge", entry]]));
		throwsCheckpointError(() => openCheckpoint(prefix), /"huge".*stores 1099511627776 strings in 0 bytes/);
	});

	test("rejects a corrupted string length checksum", () => {
		const prefix = scratchPrefix();
		writeCheckpoint(prefix, [{ key: "names", dtype: DT_STRING, shape: [1], strings: [Buffer.from("abc")] }]);
		const file = `${prefix}.data-00000-of-00001`;
		const bytes = fs.readFileSync(file);
		bytes[1] ^= 0xff;
		fs.writeFileSync(file, bytes);
		throwsCheckpointError(() => openCheckpoint(prefix).read("names"), /"names".*checksum of its string lengths does not match/);
	});

	test("rejects big-endian checkpoints with a clear message", () => {
		const prefix = scratchPrefix();
		writeCheckpoint(prefix, [], { endianness: 1 });
		throwsCheckpointError(() => openCheckpoint(prefix), /big-endian checkpoints are not supported/);
	});

	test("reports partitioned variables as not supported when read", () => {
		const prefix = scratchPrefix();
		writeCheckpoint(prefix, [
			{ key: "part", dtype: DT_FLOAT, shape: [4], slices: [{ extent: [{ start: 0, length: 2 }] }, { extent: [{ start: 2, length: 2 }] }] },
		]);
		const ckpt = openCheckpoint(prefix);
		assert.deepEqual(ckpt.entry("part")?.shape, [4]);
		throwsCheckpointError(() => ckpt.read("part"), /"part" .*partitioned variable saved in 2 slices; partitioned variables are not supported/);
	});

	test("rejects an index without a bundle header", () => {
		const prefix = scratchPrefix();
		fs.mkdirSync(path.dirname(prefix), { recursive: true });
		fs.writeFileSync(`${prefix}.index`, writeTable([["w", encodeMessage(types.BundleEntryProto, { dtype: DT_FLOAT })]]));
		throwsCheckpointError(() => openCheckpoint(prefix), /has no bundle header/);
	});

	test("rejects an entry whose byte size disagrees with its dtype and shape", () => {
		const prefix = scratchPrefix();
		writeCheckpoint(prefix, [{ key: "w", dtype: DT_FLOAT, shape: [3], bytes: floats([1, 2]) }]);
		throwsCheckpointError(() => openCheckpoint(prefix), /"w".*float32 \[3\] \(12 bytes\) but stores 8 bytes/);
	});

	test("turns every mutation of a small checkpoint into a CheckpointError or a valid read", () => {
		const prefix = scratchPrefix();
		writeCheckpoint(prefix, [
			{ key: OBJECT_GRAPH_KEY, dtype: DT_STRING, shape: [], strings: [Buffer.from("\x0a\x00")] },
			{ key: "a/weights", dtype: DT_FLOAT, shape: [3], bytes: floats([1, 2, 3]) },
			{ key: "a/bias", dtype: DT_INT32, shape: [1], bytes: new Uint8Array(4) },
		]);
		const index = fs.readFileSync(`${prefix}.index`);
		const data = fs.readFileSync(`${prefix}.data-00000-of-00001`);
		let seed = 1;
		const random = (n: number): number => {
			seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
			return seed % n;
		};
		for (let i = 0; i < 300; i++) {
			const badIndex = Buffer.from(index);
			const badData = Buffer.from(data);
			if (i % 3 === 0) badIndex[random(badIndex.length)] = random(256);
			if (i % 3 === 1) badData[random(badData.length)] ^= 1 << random(8);
			fs.writeFileSync(`${prefix}.index`, i % 3 === 2 ? badIndex.subarray(0, random(badIndex.length)) : badIndex);
			fs.writeFileSync(`${prefix}.data-00000-of-00001`, i % 5 === 4 ? badData.subarray(0, random(badData.length)) : badData);
			try {
				const ckpt = openCheckpoint(prefix);
				for (const key of ckpt.keys()) ckpt.read(key);
				ckpt.objectGraphKeys();
			} catch (error) {
				assert.ok(error instanceof CheckpointError, `mutation ${i} threw ${String(error)}`);
			}
		}
	});
});
