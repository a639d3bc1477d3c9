// Generated C on 8-, 16- and 32-bit integer tensors and the division family: expected values are closed forms written
// here from the inputs (Python's floor division and modulo, C's truncation, exact powers), never the compiler's output.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadOnnxBytes } from "../../extension/core/frontends/onnx/load";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { parseInputName } from "../../extension/core/graph/graph";
import { type DType, type Tensor, makeTensor } from "../../extension/core/graph/tensor";
import { buildByteHost, runByteHost } from "../support/byteHost";
import { buildOnnxModel } from "../support/onnxBuilder";

/** Compiles a one-node ONNX model z = op(x, y) and runs it as C on `x` and `y`. */
async function runBinaryAsC(op: string, dtype: DType, x: number[], y: number[], attrs: Record<string, number> = {}): Promise<Tensor> {
	const shape = [x.length];
	const bytes = buildOnnxModel({
		inputs: [{ name: "x", dtype, shape }, { name: "y", dtype, shape }],
		outputs: [{ name: "z", dtype, shape }],
		nodes: [{ op, inputs: ["x", "y"], outputs: ["z"], attrs }],
	});
	const model = loadOnnxBytes(bytes, `${op}.onnx`);
	const feeds = (model.graphInputs ?? []).map((input) => ({ ref: parseInputName(input.tensor).ref, shape }));
	const fetches = (model.graphOutputs ?? []).map((output) => ({ ref: parseInputName(output.tensor).ref }));
	const { config } = buildConfig(model.graph, feeds, fetches);
	const program = compileModel(model.graph, config, "m0", op);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "knn-dtypes-"));
	try {
		const binary = await buildByteHost([program], dir);
		const [z] = await runByteHost(binary, 0, program, [makeTensor(dtype, shape, x), makeTensor(dtype, shape, y)]);
		return z;
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

const floorMod = (a: number, b: number): number => a - Math.floor(a / b) * b;

describe("compiled integer and modulo arithmetic", () => {
	it("int8 Max and int16 Min compile and keep their element types", async () => {
		const max = await runBinaryAsC("Max", "int8", [-128, 5, 127, -3, 0], [127, -6, -128, -3, 1]);
		assert.equal(max.dtype, "int8");
		assert.deepEqual(Array.from(max.data as Int8Array), [127, 5, 127, -3, 1]);
		const min = await runBinaryAsC("Min", "int16", [-32768, 300, 32767], [1, -301, 2]);
		assert.deepEqual(Array.from(min.data as Int16Array), [-32768, -301, 2]);
	});

	it("uint16 and uint32 Max compare as unsigned numbers", async () => {
		const u16 = await runBinaryAsC("Max", "uint16", [65535, 1, 3], [0, 40000, 2]);
		assert.deepEqual(Array.from(u16.data as Uint16Array), [65535, 40000, 3]);
		const u32 = await runBinaryAsC("Max", "uint32", [4294967295, 1], [0, 3000000000]);
		assert.deepEqual(Array.from(u32.data as Uint32Array), [4294967295, 3000000000]);
	});

	it("int32 Mod follows Python's floor modulo and gives 0 for a zero divisor instead of trapping", async () => {
		const x = [7, -7, 7, -7, -2147483648, 5, 0];
		const y = [3, 3, -3, -3, -1, 0, 4];
		const z = await runBinaryAsC("Mod", "int32", x, y);
		// A zero divisor has no closed form; the generated C defines it as 0 so a kernel module never traps.
		const expected = x.map((a, i) => (y[i] === 0 ? 0 : floorMod(a, y[i]) + 0));
		assert.deepEqual(Array.from(z.data as Int32Array), expected);
	});

	it("int8 Mod with fmod=1 takes the dividend's sign, as C's remainder does", async () => {
		const x = [7, -7, 7, -7, -128];
		const y = [3, 3, -3, -3, 3];
		const z = await runBinaryAsC("Mod", "int8", x, y, { fmod: 1 });
		assert.deepEqual(Array.from(z.data as Int8Array), x.map((a, i) => a - Math.trunc(a / y[i]) * y[i]));
	});

	it("float32 Mod with fmod=1 is the exact remainder fmod gives, including far-apart magnitudes", async () => {
		const x = [5.5, -5.5, 1e30, 0.3, -0];
		const y = [2, 2, 3, 0.1, 1];
		const z = await runBinaryAsC("Mod", "float32", x, y, { fmod: 1 });
		// The exact remainder of the float32 operands, from their exact decimal values in float64 (all exact here).
		const f = x.map(Math.fround);
		const g = y.map(Math.fround);
		const expected = f.map((a, i) => Math.fround(a % g[i]));
		assert.deepEqual(Array.from(z.data as Float32Array), expected);
	});

	it("uint8 Div truncates and a zero divisor gives 0", async () => {
		const z = await runBinaryAsC("Div", "uint8", [255, 7, 9], [2, 0, 3]);
		assert.deepEqual(Array.from(z.data as Uint8Array), [127, 0, 3]);
	});

	it("int32 Pow is exact exponentiation, wrapping modulo 2^32 like a 32-bit multiply", async () => {
		const x = [2, -3, 7, 3, 1, -1];
		const y = [10, 3, 0, 21, -4, -3];
		const z = await runBinaryAsC("Pow", "int32", x, y);
		const exact = x.map((a, i) => (y[i] < 0 ? (Math.abs(a) === 1 ? a ** y[i] : 0) : Number(BigInt.asIntN(32, BigInt(a) ** BigInt(y[i])))));
		assert.deepEqual(Array.from(z.data as Int32Array), exact);
	});
});
