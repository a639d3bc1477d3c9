// int16 (16x8) LOGISTIC, TANH and SOFTMAX: one-op TFLite models over the whole int16 range, run by TFLite's own
// runtime (the oracle), by Kernel NN's interpreter and by the integer C built for the host.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadTfliteBytes } from "../../extension/core/frontends/tflite/load";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { BuiltinOperator, TensorType } from "../../extension/core/frontends/tflite/types";
import { parseInputName } from "../../extension/core/graph/graph";
import { makeTensor, numbers } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { tempDir } from "../support/cli";
import { buildHost, gccMissing, runHost } from "../support/hostBuild";
import { mulberry32 } from "../support/random";
import { TfliteBuilder } from "../support/tfliteBuilder";
import { runTflite, tfliteRuntimeMissing } from "../support/tfliteOracle";

const skip = tfliteRuntimeMissing() ?? gccMissing;
const OUT_SCALE = 1 / 32768;

interface Case {
	name: string;
	code: number;
	inScale: number;
	shape: number[];
	/** Every int16 value once (LOGISTIC, TANH), else random int16 rows. */
	everyValue?: boolean;
	options?: Record<string, number>;
}

function oneOp(c: Case): Uint8Array {
	const b = new TfliteBuilder();
	const input = b.input("in", TensorType.INT16, c.shape, { scale: c.inScale, zeroPoint: 0 });
	const output = b.tensor("out", TensorType.INT16, c.shape, { scale: OUT_SCALE, zeroPoint: 0 });
	return b.op(c.code, [input], [output], { options: c.options }).output(output).build();
}

/** Elements of the interpreter differing from TFLite's runtime, and elements of the C differing from the interpreter. */
async function runCase(c: Case): Promise<{ differ: number; cDiffer: number; size: number }> {
	const bytes = oneOp(c);
	const size = c.shape.reduce((a, b) => a * b, 1);
	const random = mulberry32(41);
	const values = Array.from({ length: size }, (_, k) => (c.everyValue ? k - 32768 : Math.floor(random() * 65536) - 32768));
	const feed = makeTensor("int16", c.shape, values);
	const [expected] = await runTflite(bytes, [values]);
	const model = loadTfliteBytes(bytes, `${c.name}.tflite`);
	const input = model.graphInputs![0];
	const fetch = parseInputName(model.graphOutputs![0].tensor).ref;
	const got = numbers(runGraph(model.graph, new Map([[input.tensor, feed]]), [fetch])[0]);
	const differ = got.filter((v, i) => v !== expected.data[i]).length;
	const { config } = buildConfig(model.graph, [{ ref: parseInputName(input.tensor).ref, shape: c.shape }], [{ ref: fetch }]);
	const compiled = compileModel(model.graph, config, c.name, `${c.name}.tflite`);
	const [[fromC]] = runHost(buildHost(compiled, tempDir(`int16-${c.name}`)), compiled, [feed], 1);
	const cValues = numbers(fromC);
	return { differ, cDiffer: got.filter((v, i) => v !== cValues[i]).length, size };
}

const CASES: Case[] = [
	{ name: "logistic_int16", code: BuiltinOperator.LOGISTIC, inScale: 0.00025, shape: [65536], everyValue: true },
	{ name: "logistic_int16_fine_scale", code: BuiltinOperator.LOGISTIC, inScale: 0.00003, shape: [65536], everyValue: true },
	{ name: "tanh_int16", code: BuiltinOperator.TANH, inScale: 0.0002, shape: [65536], everyValue: true },
	{ name: "tanh_int16_fine_scale", code: BuiltinOperator.TANH, inScale: 0.000011, shape: [65536], everyValue: true },
	// Power-of-two input scales: TFLite's optimized kernels, gemmlowp's 16-bit fixed point, not the table.
	{ name: "logistic_int16_pot_scale_4096", code: BuiltinOperator.LOGISTIC, inScale: 1 / 4096, shape: [65536], everyValue: true },
	{ name: "tanh_int16_pot_scale_4096", code: BuiltinOperator.TANH, inScale: 1 / 4096, shape: [65536], everyValue: true },
	{ name: "tanh_int16_pot_scale_2048", code: BuiltinOperator.TANH, inScale: 1 / 2048, shape: [65536], everyValue: true },
	{ name: "softmax_int16", code: BuiltinOperator.SOFTMAX, inScale: 0.0003, shape: [8, 40], options: { beta: 1 } },
	{ name: "softmax_int16_beta", code: BuiltinOperator.SOFTMAX, inScale: 0.0001, shape: [4, 300], options: { beta: 0.6 } },
	{ name: "softmax_int16_wide_scale", code: BuiltinOperator.SOFTMAX, inScale: 0.004, shape: [16, 10], options: { beta: 1 } },
];

describe("int16 (16x8) LOGISTIC, TANH and SOFTMAX", { skip }, () => {
	for (const c of CASES) {
		it(`${c.name}: the interpreter equals TFLite's runtime on every element and the integer C equals the interpreter`, async () => {
			const { differ, cDiffer, size } = await runCase(c);
			assert.equal(differ, 0, `${c.name}: ${differ} of ${size} elements differ from TFLite's runtime`);
			assert.equal(cDiffer, 0, `${c.name}: ${cDiffer} of ${size} elements of the C differ from the interpreter`);
		});
	}

});
