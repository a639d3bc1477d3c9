import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { Q_PRIMITIVES_C } from "../../extension/core/codegen/cint/primitives";
import {
	activationRange, multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierInt64, quantizeMultiplier,
} from "../../extension/core/quant/arith";
import { MODEL_CFLAGS, gccMissing } from "../support/hostBuild";

// Expected values: TFLite's own tests (tensorflow/lite/kernels/internal/quantization_util_test.cc, default build).
const MULTIPLIERS: [number, number, number][] = [
	[0.25, 1073741824, -1], [0.5 - 5e-9, 2147483627, -1], [0.5 - 1e-10, 1073741824, 0], [0.5, 1073741824, 0],
	[0.75, 1610612736, 0], [1 - 1e-9, 2147483646, 0], [1 + 1e-11, 1073741824, 1], [1.25, 1342177280, 1],
	[1.5, 1610612736, 1], [1.75, 1879048192, 1], [2 - 1e-9, 2147483647, 1], [2 - 1e-11, 1073741824, 2], [2, 1073741824, 2],
	[2 ** -31, 1073741824, -30], [2 ** -32, 1073741824, -31], [Math.fround(0.99) * 2 ** -32, 0, 0], [2 ** -33, 0, 0],
	[-4, -1073741824, 3], [-0.125, -1073741824, -2], [0, 0, 0], [0.125, 1073741824, -2], [4, 1073741824, 3],
];
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const PRODUCTS: [number, number, number][] = [
	[0, 0.1, 0], [1, 0, 0], [10000, 0.00097656, 10], [-10000, 0.00097656, -10], [INT32_MIN, 0.00001, -21475],
	[INT32_MAX, 0.00001, 21475], [10000, -0.00097656, -10], [-10000, -0.00097656, 10], [INT32_MIN, -0.00001, 21475],
	[INT32_MAX, -0.00001, -21475],
];
const PRODUCTS64: [bigint, number, number][] = [
	[0n, 0.1, 0], [1n, 0, 0], [10000n, 0.00097656, 10], [-10000n, 0.00097656, -10], [-(1n << 47n), 0.00001, -1407385600],
	[(1n << 47n) - 1n, 0.00001, 1407385600],
];

describe("TFLite's fixed-point arithmetic (TS and the generated C) against TFLite's own test values", () => {
	it("quantizes multipliers as QuantizeMultiplier does, at the power-of-two edges and in underflow", () => {
		for (const [real, multiplier, shift] of MULTIPLIERS) assert.deepEqual(quantizeMultiplier(real), { multiplier, shift }, `multiplier ${real}`);
	});

	it("multiplies int32 and int64 accumulators by quantized multipliers with TFLite's rounding", () => {
		for (const [x, real, expected] of PRODUCTS) {
			const { multiplier, shift } = quantizeMultiplier(real);
			assert.equal(multiplyByQuantizedMultiplier(x, multiplier, shift), expected, `${x} * ${real}`);
		}
		const max = INT32_MAX;
		const exact = Math.round((max * max) / 2 ** 34);
		assert.equal(multiplyByQuantizedMultiplier(max, max, -3), exact);
		assert.equal(multiplyByQuantizedMultiplier(-max, max, -3), -exact);
		for (const [x, real, expected] of PRODUCTS64) {
			const { multiplier, shift } = quantizeMultiplier(real);
			assert.equal(multiplyByQuantizedMultiplierInt64(x, multiplier, shift), expected, `${x} * ${real}`);
		}
		assert.equal(multiplyByQuantizedMultiplierInt64((1n << 47n) - 1n, INT32_MAX, -31), 65534);
		assert.equal(multiplyByQuantizedMultiplierInt64(-((1n << 47n) - 1n), INT32_MAX, -31), -65534);
	});

	it("clamps fused activations in the output's quantized domain", () => {
		// scale 6/255 with zero point -128 puts 0 at -128 and 6 at 127 (int8 ReLU6 as the TFLite converter writes it).
		assert.deepEqual(activationRange("RELU6", 6 / 255, -128, "int8"), { min: -128, max: 127 });
		assert.deepEqual(activationRange("RELU", 0.1, 10, "int8"), { min: 10, max: 127 });
		assert.deepEqual(activationRange("RELU_N1_TO_1", 0.01, 0, "int8"), { min: -100, max: 100 });
		assert.deepEqual(activationRange("NONE", 0.5, 3, "uint8"), { min: 0, max: 255 });
	});

	it("computes the same products in C, with integer instructions only", { skip: !process.env.CI && gccMissing }, () => {
		const cases: [number, number, number, number][] = [...PRODUCTS, [INT32_MAX, 0, 0]].map(([x, real, expected]) => {
			const { multiplier, shift } = quantizeMultiplier(real);
			return [x, multiplier, shift, expected];
		});
		cases.push([INT32_MAX, INT32_MAX, -3, Math.round((INT32_MAX * INT32_MAX) / 2 ** 34)]);
		const wide = PRODUCTS64.map(([x, real, expected]) => ({ x, ...quantizeMultiplier(real), expected }));
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "knn-qarith-"));
		try {
			const source = `${Q_PRIMITIVES_C}
int printf(const char *, ...);
int main(void)
{
${cases.map(([x, m, s]) => `\tprintf("%d\\n", knn_q_mul(${x === INT32_MIN ? "(-2147483647 - 1)" : x}, ${m}, ${s}));`).join("\n")}
${wide.map((w) => `\tprintf("%d\\n", knn_q_mul64(${w.x}LL, ${w.multiplier}, ${w.shift}));`).join("\n")}
	return 0;
}
`;
			fs.writeFileSync(path.join(dir, "arith.c"), source);
			const flags = MODEL_CFLAGS.filter((f) => f !== "-ffreestanding");
			execFileSync("gcc", [...flags, "-mgeneral-regs-only", "-o", path.join(dir, "arith"), path.join(dir, "arith.c")]);
			const printed = execFileSync(path.join(dir, "arith"), { encoding: "utf8" }).trim().split("\n").map(Number);
			assert.deepEqual(printed, [...cases.map((c) => c[3]), ...wide.map((w) => w.expected)]);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});
