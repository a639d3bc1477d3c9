// Aurora (LiteFlow's policy, ../shared/models/aurora): its representative dataset and the float64 policy the
// tests compare with, written from the README's description of the network and the checkpoint's weights.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { openCheckpoint } from "../../extension/core/frontends/tf/checkpoint/bundle";
import { numbers } from "../../extension/core/graph/tensor";
import { AURORA_DIR } from "./shared";

export const AURORA_ROWS_FILE = path.join(AURORA_DIR, "representative_dataset.npy");
export const AURORA_TFLITE = path.join(AURORA_DIR, "aurora_int_quan_model.tflite");

/** A numpy .npy file of little-endian float64 in C order (format versions 1 to 3), as rows. */
export function readNpyFloat64Matrix(file: string): number[][] {
	const bytes = fs.readFileSync(file);
	if (bytes.subarray(0, 6).toString("latin1") !== "\x93NUMPY") throw new Error(`${file}: not a .npy file`);
	const major = bytes[6];
	const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
	const headerStart = major === 1 ? 10 : 12;
	const header = bytes.subarray(headerStart, headerStart + headerLength).toString("latin1");
	assert.match(header, /'descr':\s*'<f8'/, `${file}: expected little-endian float64`);
	assert.match(header, /'fortran_order':\s*False/, `${file}: expected C order`);
	const dims = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(header);
	if (!dims) throw new Error(`${file}: expected a 2-D shape in ${header}`);
	const [rows, cols] = [Number(dims[1]), Number(dims[2])];
	const data = bytes.subarray(headerStart + headerLength);
	assert.equal(data.length, rows * cols * 8, `${file}: ${rows}x${cols} float64 needs ${rows * cols * 8} bytes`);
	return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => data.readDoubleLE((r * cols + c) * 8)));
}

/** The 60 x 30 rows of the representative dataset. */
export function auroraRows(): number[][] {
	return readNpyFloat64Matrix(AURORA_ROWS_FILE);
}

/** The policy mean in float64: tanh(tanh(x W0 + b0) W1 + b1) W2 + b2, weights from the checkpoint (README). */
export function auroraFloatPolicy(rows: number[][]): number[] {
	const checkpoint = openCheckpoint(path.join(AURORA_DIR, "variables", "variables"));
	const layer = (name: string) => {
		const w = checkpoint.read(`${name}/w`);
		return { w: Array.from(numbers(w)), cols: w.shape[1], b: Array.from(numbers(checkpoint.read(`${name}/b`))) };
	};
	const dense = (x: number[], { w, cols, b }: ReturnType<typeof layer>) => b.map((bias, j) => x.reduce((sum, v, k) => sum + v * w[k * cols + j], bias));
	const [fc0, fc1, pi] = [layer("model/pi_fc0"), layer("model/pi_fc1"), layer("model/pi")];
	return rows.map((x) => dense(dense(dense(x, fc0).map(Math.tanh), fc1).map(Math.tanh), pi)[0]);
}

/** An inputs.json data set: one `feedsPerStep` entry per row, each a [1, N] value of `feed`. */
export function rowsAsDataSet(feed: string, rows: number[][]): { feedsPerStep: Record<string, number[][]>[] } {
	return { feedsPerStep: rows.map((row) => ({ [feed]: [row] })) };
}
