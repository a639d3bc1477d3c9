// Full-integer TFLite models (int8, uint8 and int16 16x8 tensors in and out, no QUANTIZE/DEQUANTIZE, as the
// converter writes them with inference_input_type=int8) end to end: the C in user space and `knn deploy` into the
// sandbox kernel, with and without --no-fpu, a 4-row data set each, against the real TFLite runtime (WebAssembly)
// running the same file on the same integers. FULLY_CONNECTED is exact in TFLite's arithmetic, so every value must be equal.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import type { DeployReport } from "../../extension/core/deploy/deploy";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { loadTfliteBytes } from "../../extension/core/frontends/tflite/load";
import { BuiltinOperator, TensorType } from "../../extension/core/frontends/tflite/types";
import { parseInputName } from "../../extension/core/graph/graph";
import { type DType, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { knn, tempDir } from "../support/cli";
import { buildHost, gccMissing, runHostBlocks } from "../support/hostBuild";
import { mulberry32 } from "../support/random";
import { withSandbox } from "../support/sandbox";
import { TfliteBuilder } from "../support/tfliteBuilder";
import { runTflite, tfliteRuntimeMissing } from "../support/tfliteOracle";

interface Variant {
	dtype: DType;
	type: TensorType;
	/** uint8 zero points are int8's plus 128; int16 (16x8) has zero points 0 and finer scales. */
	zeroShift: number;
	lowest: number;
	highest: number;
	scaleFactor: number;
}

const VARIANTS: Variant[] = [
	{ dtype: "int8", type: TensorType.INT8, zeroShift: 0, lowest: -128, highest: 127, scaleFactor: 1 },
	{ dtype: "uint8", type: TensorType.UINT8, zeroShift: 128, lowest: 0, highest: 255, scaleFactor: 1 },
	{ dtype: "int16", type: TensorType.INT16, zeroShift: 0, lowest: -32768, highest: 32767, scaleFactor: 1 / 256 },
];
const INPUTS = 8;
const HIDDEN = 16;
const OUTPUTS = 4;
const ROWS = 4;
const sandbox = withSandbox("integer-deploy");

/** x [1,8] -> FULLY_CONNECTED + fused RELU [1,16] -> FULLY_CONNECTED [1,4], every activation of the variant's type. */
function fullyIntegerModel(v: Variant): Uint8Array {
	const random = mulberry32(7);
	const b = new TfliteBuilder(`full-integer ${v.dtype} FULLY_CONNECTED+RELU -> FULLY_CONNECTED`);
	const sixteen = v.dtype === "int16";
	const weightType = v.dtype === "uint8" ? TensorType.UINT8 : TensorType.INT8;
	const biasType = sixteen ? TensorType.INT64 : TensorType.INT32;
	const zero = (z: number) => (sixteen ? 0 : z + v.zeroShift);
	const weightZero = v.dtype === "uint8" ? 128 : 0;
	const weights = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 255) - 127 + weightZero);
	const biases = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 2001) - 1000);
	const [inScale, hiddenScale, outScale] = [0.05, 0.03, 0.05].map((s) => s * v.scaleFactor);
	const [w1Scale, w2Scale] = [0.004, 0.006];
	const x = b.input("x", v.type, [1, INPUTS], { scale: inScale, zeroPoint: zero(-3) });
	const w1 = b.constant("w1", weightType, [HIDDEN, INPUTS], weights(HIDDEN * INPUTS), { scale: w1Scale, zeroPoint: weightZero });
	const b1 = b.constant("b1", biasType, [HIDDEN], biases(HIDDEN), { scale: inScale * w1Scale });
	const h = b.tensor("h", v.type, [1, HIDDEN], { scale: hiddenScale, zeroPoint: zero(-128) });
	const w2 = b.constant("w2", weightType, [OUTPUTS, HIDDEN], weights(OUTPUTS * HIDDEN), { scale: w2Scale, zeroPoint: weightZero });
	const b2 = b.constant("b2", biasType, [OUTPUTS], biases(OUTPUTS), { scale: hiddenScale * w2Scale });
	const y = b.tensor("y", v.type, [1, OUTPUTS], { scale: outScale, zeroPoint: zero(10) });
	b.op(BuiltinOperator.FULLY_CONNECTED, [x, w1, b1], [h], { options: { fusedActivationFunction: 1 } });
	b.op(BuiltinOperator.FULLY_CONNECTED, [h, w2, b2], [y]);
	return b.output(y).build();
}

/** Integers spread over the variant's whole range. */
function dataRows(v: Variant): number[][] {
	const random = mulberry32(11);
	return Array.from({ length: ROWS }, () => Array.from({ length: INPUTS }, () => v.lowest + Math.floor(random() * (v.highest - v.lowest + 1))));
}

/** The runtime's output per row, each row in a fresh run. */
async function runtimeRows(bytes: Uint8Array, rows: number[][]): Promise<number[][]> {
	const out: number[][] = [];
	for (const row of rows) {
		const [y] = await runTflite(bytes, [row]);
		out.push(y.data);
	}
	return out;
}

describe("full-integer TFLite models: the C on the host equals the TFLite runtime", { skip: tfliteRuntimeMissing() ?? gccMissing }, () => {
	for (const v of VARIANTS) {
		for (const noFpu of [false, true]) {
			it(`${v.dtype} in, ${v.dtype} out${noFpu ? " (--no-fpu)" : ""}: the user-space driver gives the runtime's integers on all ${ROWS} rows`, async () => {
				const bytes = fullyIntegerModel(v);
				const rows = dataRows(v);
				const expected = await runtimeRows(bytes, rows);
				const model = loadTfliteBytes(bytes, `fc_${v.dtype}.tflite`);
				const input = model.graphInputs![0];
				const { config } = buildConfig(model.graph, [{ ref: parseInputName(input.tensor).ref, shape: input.shape }], [{ ref: parseInputName(model.graphOutputs![0].tensor).ref }]);
				const compiled = compileModel(model.graph, config, `fc_${v.dtype}`, `fc_${v.dtype}.tflite`, { noFpu });
				assert.equal(compiled.program.arguments[0].dtype, v.dtype);
				assert.equal(compiled.program.results[0].dtype, v.dtype);
				const binary = buildHost(compiled, tempDir(`integer-host-${v.dtype}`));
				const blocks = rows.map((row) => [makeTensor(v.dtype, [1, INPUTS], row)]);
				const results = runHostBlocks(binary, compiled, blocks, ROWS);
				assert.deepEqual(results.map(([y]) => Array.from(numbers(y))), expected);
			});
		}
	}
});

describe("full-integer TFLite models deployed to the sandbox VM's kernel", { skip: tfliteRuntimeMissing() ?? false }, () => {
	const dir = tempDir("integer-deploy");
	const files = new Map<DType, { model: string; config: string; inputs: string; expected: number[][] }>();

	before(async () => {
		for (const v of VARIANTS) {
			const bytes = fullyIntegerModel(v);
			const rows = dataRows(v);
			const model = path.join(dir, `fc_${v.dtype}.tflite`);
			fs.writeFileSync(model, bytes);
			const inputs = path.join(dir, `fc_${v.dtype}.inputs.json`);
			fs.writeFileSync(inputs, JSON.stringify({ feedsPerStep: rows.map((row) => ({ x: [row] })) }));
			files.set(v.dtype, { model, config: path.join(dir, `fc_${v.dtype}.config.pbtxt`), inputs, expected: await runtimeRows(bytes, rows) });
		}
	});

	for (const v of VARIANTS) {
		it(`knn config fc_${v.dtype}.tflite with no feeds or fetches configures the file's ${v.dtype} input and output`, () => {
			const { model, config } = files.get(v.dtype)!;
			const result = knn("config", model, "--out", config);
			assert.equal(result.status, 0, result.stderr);
			const text = fs.readFileSync(config, "utf8");
			assert.match(text, new RegExp(`node_name: "x"[^]*type: DT_${v.dtype.toUpperCase()}`));
			assert.match(text, /fetch \{\n {2}id \{\n {4}node_name: "y"/);
		});

		for (const noFpu of [false, true]) {
			const prefix = `fc_${v.dtype}${noFpu ? "_nofpu" : ""}`;
			it(`knn deploy ${noFpu ? "--no-fpu " : ""}fc_${v.dtype}.tflite: one load runs the ${ROWS}-row data set, every ${v.dtype} output equal to the runtime's, and the log shows them as integers`, { skip: sandbox.unavailable }, async () => {
				const { model, config, inputs, expected } = files.get(v.dtype)!;
				const result = knn("deploy", model, "--config", config, ...(noFpu ? ["--no-fpu"] : []), "--target", "sandbox", "--sandbox-dir", sandbox.dir,
					"--inputs", inputs, "--prefix", prefix, "--json");
				assert.equal(result.status, 0, result.stdout + result.stderr);
				const report = JSON.parse(result.stdout) as DeployReport;
				assert.ok(report.ok, `${report.error}\n${JSON.stringify(report.stages)}`);
				assert.equal(report.stages.filter((s) => s.name === "load").length, 1);
				assert.equal(report.stages.some((s) => s.name === "check no FPU"), noFpu);
				assert.deepEqual(report.kernel.steps.map((step) => (step.y as number[][])[0]), expected);
				assert.equal(report.maxAbsError, 0);
				// The first row's line, as a person reads the kernel log: the result's own integers after values=.
				const log = await sandbox.ssh(`dmesg | grep 'knn-selftest ${prefix} step=0 result=0 ' | tail -n 1`);
				assert.match(log.stdout, new RegExp(` offset=0 count=${(OUTPUTS * (v.dtype === "int16" ? 2 : 1)) / 4} bits=[0-9a-f,]+ values=${expected[0].join(",")}\\s*$`));
			});
		}
	}
});
