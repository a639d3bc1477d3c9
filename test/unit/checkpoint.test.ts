import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { CheckpointError, OBJECT_GRAPH_KEY, openCheckpoint } from "../../extension/core/frontends/tf/checkpoint/bundle";
import { crc32c, maskCrc, unmaskCrc } from "../../extension/core/frontends/tf/checkpoint/crc32c";
import { readTable, TableError } from "../../extension/core/frontends/tf/checkpoint/table";
import { decodeBundleEntry, encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import { type TrackableObjectGraphObject, buildBlock, u32, varint, writeCheckpoint, writeTable, writeTableWithLayout } from "../support/checkpointWriter";

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

	test("reads a table whose blocks were compressed by the snappyjs package's compressor", () => {
		const pairs: [string, Uint8Array][] = [];
		for (let i = 0; i < 200; i++) pairs.push([`model/layer_with_weights-${i % 5}/kernel/.ATTRIBUTES/VARIABLE_VALUE/${i}`, new Uint8Array(24).fill(i & 0xff)]);
		const written = writeTableWithLayout(pairs, { blockSize: 1024, restartInterval: 1, compression: "snappy" });
		assert.ok(written.blocks.filter((b) => b.type === 1).length >= 3, "the test table must hold several snappy blocks");
		const table = readTable(written.bytes, "/x/snappy.index");
		assert.equal(table.size, pairs.length);
		for (const [key, value] of pairs) assert.deepEqual([...table.get(key)!], [...value], key);
	});

	test("rejects an unknown block compression type, naming the file and the block", () => {
		const bytes = writeTable([["a", Uint8Array.from([1])]], { forceBlockType: 4 });
		assert.throws(() => readTable(bytes, "/x/zstd.index"), (e: unknown) => e instanceof TableError && /\/x\/zstd\.index: the index block uses unknown compression type 4/.test(e.message));
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
		], { numShards: 2 });
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

/** Rewrites a block's masked CRC after a test changed its contents, so the reader gets past the CRC check. */
function refreshBlockCrc(file: Uint8Array, block: { offset: number; size: number }): void {
	const typed = file.subarray(block.offset, block.offset + block.size + 1);
	file.set(u32(maskCrc(crc32c(typed))), block.offset + block.size + 1);
}

// Keys shaped like a TF2 Keras checkpoint's, many enough that snappy shrinks the index blocks by more than 1/8.
function kerasTensors(layers: number): { key: string; dtype: number; shape: number[]; bytes: Uint8Array }[] {
	const tensors = [];
	for (let i = 0; i < layers; i++) {
		tensors.push({ key: `layer_with_weights-${i}/kernel/.ATTRIBUTES/VARIABLE_VALUE`, dtype: DT_FLOAT, shape: [2], bytes: floats([i, -i]) });
		tensors.push({ key: `layer_with_weights-${i}/bias/.ATTRIBUTES/VARIABLE_VALUE`, dtype: DT_FLOAT, shape: [1], bytes: floats([i / 2]) });
	}
	return tensors;
}

describe("snappy-compressed checkpoint indexes (TF2's default)", () => {
	test("reads back every tensor of an index whose blocks the snappyjs compressor wrote", () => {
		const prefix = scratchPrefix();
		const written = writeCheckpoint(prefix, kerasTensors(40), { compression: "snappy", blockSize: 512, restartInterval: 16 });
		assert.ok(written.blockTypes.filter((type) => type === 1).length >= 3, `expected snappy blocks, got block types ${written.blockTypes.join(",")}`);
		const ckpt = openCheckpoint(prefix);
		assert.equal(ckpt.keys().length, 80);
		for (let i = 0; i < 40; i++) {
			assert.deepEqual([...ckpt.read(`layer_with_weights-${i}/kernel/.ATTRIBUTES/VARIABLE_VALUE`).data as Float32Array], [i, -i]);
			assert.deepEqual([...ckpt.read(`layer_with_weights-${i}/bias/.ATTRIBUTES/VARIABLE_VALUE`).data as Float32Array], [i / 2]);
		}
	});

	test("a snappy block declaring more bytes than it can expand to fails before allocating, naming the file and block", () => {
		const prefix = scratchPrefix();
		writeCheckpoint(prefix, kerasTensors(40), { compression: "snappy", blockSize: 512 });
		const pairs = kerasTensors(40).map((t): [string, Uint8Array] => [t.key, Uint8Array.from([1])]);
		const layout = writeTableWithLayout(pairs, { compression: "snappy", blockSize: 512 });
		const block = layout.blocks.find((b) => b.type === 1)!;
		const bytes = Uint8Array.from(layout.bytes);
		// A 5-byte varint length of 0xffffffff replaces the first bytes of the stream.
		bytes.set([0xff, 0xff, 0xff, 0xff, 0x0f], block.offset);
		refreshBlockCrc(bytes, block);
		fs.writeFileSync(`${prefix}.index`, bytes);
		const started = performance.now();
		throwsCheckpointError(() => openCheckpoint(prefix), new RegExp(`${prefix}\\.index: data block 0 is snappy-compressed but declares 4294967295 uncompressed bytes`));
		assert.ok(performance.now() - started < 1000);
	});

	test("a corrupted snappy stream with a valid CRC is a CheckpointError naming the file, never a crash", () => {
		const pairs = kerasTensors(40).map((t): [string, Uint8Array] => [t.key, Uint8Array.from([1, 2, 3])]);
		const layout = writeTableWithLayout([["", encodeMessage(types.BundleHeaderProto, { num_shards: 1 })], ...pairs], { compression: "snappy", blockSize: 512 });
		const snappyBlocks = layout.blocks.filter((b) => b.type === 1);
		assert.ok(snappyBlocks.length >= 3);
		const prefix = scratchPrefix();
		fs.mkdirSync(path.dirname(prefix), { recursive: true });
		let seed = 7;
		const random = (n: number): number => {
			seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
			return seed % n;
		};
		let failures = 0;
		for (let i = 0; i < 300; i++) {
			const bytes = Uint8Array.from(layout.bytes);
			const block = snappyBlocks[random(snappyBlocks.length)];
			for (let k = 0; k <= random(3); k++) bytes[block.offset + random(block.size)] = random(256);
			refreshBlockCrc(bytes, block);
			fs.writeFileSync(`${prefix}.index`, bytes);
			try {
				openCheckpoint(prefix);
			} catch (error) {
				assert.ok(error instanceof CheckpointError, `mutation ${i} threw ${String(error)}`);
				assert.match(error.message, new RegExp(`${prefix}\\.index`));
				failures++;
			}
		}
		assert.ok(failures > 100, `only ${failures} of 300 corrupted indexes were refused`);
	});
});

// The object graph tf.keras writes for Sequential([Dense(2), Dense(1)]) after one Adam step, reduced to what
// checkpoint lookups use: the root's children include both layer_with_weights-N and layer-N names for one layer.
const KERAS_OBJECT_GRAPH: TrackableObjectGraphObject = {
	nodes: [
		{
			children: [
				{ node_id: 1, local_name: "layer_with_weights-0" },
				{ node_id: 2, local_name: "layer_with_weights-1" },
				{ node_id: 1, local_name: "layer-0" },
				{ node_id: 5, local_name: "optimizer" },
				{ node_id: 8, local_name: "odd/name.x" },
			],
			has_checkpoint_values: { value: true },
		},
		{ children: [{ node_id: 3, local_name: "kernel" }, { node_id: 4, local_name: "bias" }], has_checkpoint_values: { value: true } },
		{ children: [{ node_id: 6, local_name: "kernel" }, { node_id: 7, local_name: "bias" }] },
		{ attributes: [{ name: "VARIABLE_VALUE", full_name: "dense/kernel", checkpoint_key: "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE" }] },
		{ attributes: [{ name: "VARIABLE_VALUE", full_name: "dense/bias", checkpoint_key: "layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE" }] },
		{
			attributes: [{ name: "VARIABLE_VALUE", full_name: "Adam/iter", checkpoint_key: "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE" }],
			slot_variables: [{ original_variable_node_id: 3, slot_name: "m", slot_variable_node_id: 8 }],
			registered_saver: { name: "", object_name: "" },
		},
		{ attributes: [{ name: "VARIABLE_VALUE", full_name: "dense_1/kernel", checkpoint_key: "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE" }] },
		{ attributes: [{ name: "VARIABLE_VALUE", full_name: "dense_1/bias", checkpoint_key: "layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE" }] },
		{ attributes: [{ name: "VARIABLE_VALUE", full_name: "odd", checkpoint_key: "odd.Sname..x/.ATTRIBUTES/VARIABLE_VALUE" }] },
	],
};

function writeKerasCheckpoint(compression: "none" | "snappy" = "snappy"): string {
	const prefix = scratchPrefix();
	writeCheckpoint(prefix, [
		{ key: "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", value: { dtype: "float32", shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) } },
		{ key: "layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE", value: { dtype: "float32", shape: [2], data: Float32Array.from([0.5, -0.5]) } },
		{ key: "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE", value: { dtype: "float32", shape: [2, 1], data: Float32Array.from([7, 8]) } },
		{ key: "layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE", value: { dtype: "float32", shape: [1], data: Float32Array.from([9]) } },
		{ key: "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", value: { dtype: "int64", shape: [], data: Float64Array.from([1]) } },
		{ key: "odd.Sname..x/.ATTRIBUTES/VARIABLE_VALUE", value: { dtype: "float32", shape: [], data: Float32Array.from([3]) } },
	], { compression, objectGraph: KERAS_OBJECT_GRAPH });
	return prefix;
}

describe("TF2 object-graph checkpoints", () => {
	test("stores the object graph as TF2 does: one DT_STRING scalar under _CHECKPOINTABLE_OBJECT_GRAPH", () => {
		const ckpt = openCheckpoint(writeKerasCheckpoint());
		assert.deepEqual(ckpt.entry(OBJECT_GRAPH_KEY)?.dtype, "string");
		assert.deepEqual(ckpt.entry(OBJECT_GRAPH_KEY)?.shape, []);
		const graph = ckpt.objectGraph()!;
		assert.equal(graph.nodes?.length, 9);
		assert.deepEqual(graph.nodes?.[1].children?.map((c) => c.local_name), ["kernel", "bias"]);
		assert.deepEqual({ ...graph.nodes?.[5].slot_variables?.[0] }, { original_variable_node_id: 3, slot_name: "m", slot_variable_node_id: 8 });
		assert.equal(graph.nodes?.[0].has_checkpoint_values?.value, true);
	});

	test("variableKeyForNode gives the VARIABLE_VALUE key of a node, whose tensor holds the variable's value", () => {
		const ckpt = openCheckpoint(writeKerasCheckpoint());
		assert.equal(ckpt.variableKeyForNode(3), "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE");
		assert.deepEqual([...ckpt.read(ckpt.variableKeyForNode(7)!).data as Float32Array], [9]);
		assert.equal(ckpt.variableKeyForNode(1), undefined, "a layer is not a variable");
		throwsCheckpointError(() => ckpt.variableKeyForNode(9), /has no object 9: its object graph holds nodes 0 to 8/);
	});

	test("keyForPath walks local names from the root, through either name of a layer, and unescapes key segments", () => {
		const ckpt = openCheckpoint(writeKerasCheckpoint("none"));
		assert.equal(ckpt.keyForPath("layer_with_weights-0/kernel"), "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE");
		assert.equal(ckpt.keyForPath("layer-0/bias"), "layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE");
		assert.equal(ckpt.keyForPath("layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE"), "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE");
		assert.equal(ckpt.keyForPath("odd.Sname..x"), "odd.Sname..x/.ATTRIBUTES/VARIABLE_VALUE");
		assert.deepEqual([...ckpt.read(ckpt.keyForPath("layer-0/kernel")!).data as Float32Array], [1, 2, 3, 4, 5, 6]);
		assert.equal(ckpt.keyForPath("layer_with_weights-2/kernel"), undefined);
		assert.equal(ckpt.keyForPath("layer_with_weights-0"), undefined, "a layer has no VARIABLE_VALUE");
		assert.equal(ckpt.objectGraphKeys()?.get("dense_1/kernel"), "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE");
	});

	test("a TF1 checkpoint has no object graph, and object lookups say to look variables up by name", () => {
		const prefix = scratchPrefix();
		writeCheckpoint(prefix, [{ key: "dense/kernel", dtype: DT_FLOAT, shape: [1], bytes: floats([1]) }]);
		const ckpt = openCheckpoint(prefix);
		assert.equal(ckpt.objectGraph(), undefined);
		throwsCheckpointError(() => ckpt.variableKeyForNode(0), /name-based \(TF1\) checkpoint without an object graph.*entry\(\)/);
		throwsCheckpointError(() => ckpt.keyForPath("dense/kernel"), /name-based \(TF1\) checkpoint/);
	});

	test("an object graph whose child points outside it is refused, naming the index and the node", () => {
		const prefix = scratchPrefix();
		writeCheckpoint(prefix, [], { objectGraph: { nodes: [{ children: [{ node_id: 4, local_name: "layer" }] }] } });
		throwsCheckpointError(() => openCheckpoint(prefix).objectGraph(), new RegExp(`${prefix}\\.index has an object graph whose node 0 names child 4 \\("layer"\\), outside its 1 nodes`));
	});
});

