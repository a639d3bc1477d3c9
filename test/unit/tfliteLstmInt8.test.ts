// int8 UNIDIRECTIONAL_SEQUENCE_LSTM (TFLite's 8x8_16 integer kernel): models shaped as the converter writes them for
// a Keras LSTM (int8 weights per tensor, int32 biases, an int16 cell state at 2^-11, an int8 output state, five
// intermediates) run in TFLite's own runtime (a fresh interpreter per run, so the state starts at zero), in the
// interpreter and as compiled integer C. The interpreter must be within the steps codegen/cint/fidelityA.ts claims
// of the runtime, and the C must equal the interpreter bit for bit.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Q_FIDELITY_A } from "../../extension/core/codegen/cint/fidelityA";
import { compileModel } from "../../extension/core/codegen/compile";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { loadTfliteBytes } from "../../extension/core/frontends/tflite/load";
import { BuiltinOperator, TensorType } from "../../extension/core/frontends/tflite/types";
import { parseInputName } from "../../extension/core/graph/graph";
import { makeTensor, numbers } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { logistic16, tanh16 } from "../../extension/core/interp/kernels/quantized/lstmFixedPoint";
import { tempDir } from "../support/cli";
import { buildHost, gccMissing, runHost } from "../support/hostBuild";
import { mulberry32 } from "../support/random";
import { TfliteBuilder } from "../support/tfliteBuilder";
import { runTflite, tfliteRuntimeMissing } from "../support/tfliteOracle";

const skip = tfliteRuntimeMissing() ?? gccMissing;
const OP = "QUnidirectionalSequenceLstm";

interface LstmCase {
	batch: number;
	steps: number;
	inputs: number;
	cells: number;
	timeMajor: boolean;
	/** Cell clip in real units, 0 for none. */
	cellClip: number;
	/** Multiplies the weight scales: large gains saturate the gates and drive the cell state to its limits. */
	gain?: number;
	/** Drop the input gate (CIFG), which Kernel NN refuses. */
	cifg?: boolean;
}

function ints(random: () => number, count: number, min: number, max: number): number[] {
	return Array.from({ length: count }, () => min + Math.floor(random() * (max - min + 1)));
}

/** An int8 sequence LSTM as the TFLite converter quantizes a Keras LSTM; returns the bytes and the input's shape. */
function int8Lstm(random: () => number, c: LstmCase): { bytes: Uint8Array; shape: number[] } {
	const { batch, steps, inputs, cells } = c;
	const b = new TfliteBuilder();
	const inQ = { scale: 3 / 127, zeroPoint: 4 };
	const stateQ = { scale: 1 / 128, zeroPoint: -3 };
	const shape = c.timeMajor ? [steps, batch, inputs] : [batch, steps, inputs];
	const x = b.input("sequence", TensorType.INT8, shape, inQ);
	const gates = c.cifg ? [1, 2, 3] : [0, 1, 2, 3];
	const weights = (kind: string, columns: number, scaleOf: number) => [0, 1, 2, 3].map((g) => {
		if (!gates.includes(g)) return -1;
		const scale = ((0.3 + random() * 0.5) * (c.gain ?? 1)) / 127;
		const index = b.constant(`${kind}_${"ifco"[g]}`, TensorType.INT8, [cells, columns], ints(random, cells * columns, -127, 127), { scale });
		return { index, scale: scale * scaleOf };
	});
	const w = weights("input_to", inputs, inQ.scale);
	const r = weights("recurrent_to", cells, stateQ.scale);
	const biases = w.map((entry, g) => (entry === -1 ? -1 : b.constant(`bias_${"ifco"[g]}`, TensorType.INT32, [cells], ints(random, cells, -Math.round(0.4 / entry.scale), Math.round(0.4 / entry.scale)), { scale: entry.scale })));
	const h = b.tensor("output_state", TensorType.INT8, [batch, cells], stateQ);
	const cellState = b.tensor("cell_state", TensorType.INT16, [batch, cells], { scale: 2 ** -11, zeroPoint: 0 });
	const tensors = b.toModel().subgraphs[0].tensors;
	tensors[h].isVariable = true;
	tensors[cellState].isVariable = true;
	const intermediates = [
		...[0, 1, 2, 3].map((g) => b.tensor(`intermediate_${"ifco"[g]}`, TensorType.INT16, [], { scale: 2 ** -12, zeroPoint: 0 })),
		// TFLite's integer LSTM subtracts the hidden intermediate's zero point (no projection): its negation makes
		// the output carry the output state's quantization.
		b.tensor("intermediate_hidden", TensorType.INT8, [], { scale: stateQ.scale, zeroPoint: -stateQ.zeroPoint }),
	];
	const y = b.tensor("lstm", TensorType.INT8, c.timeMajor ? [steps, batch, cells] : [batch, steps, cells], stateQ);
	const index = (entry: number | { index: number }) => (typeof entry === "number" ? entry : entry.index);
	b.op(BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM, [x, ...w.map(index), ...r.map(index), -1, -1, -1, ...biases, -1, -1, h, cellState, -1, -1, -1, -1], [y], {
		options: { fusedActivationFunction: 4, cellClip: c.cellClip, projClip: 0, timeMajor: c.timeMajor },
		intermediates,
	});
	b.output(y);
	return { bytes: b.build(), shape };
}

/** Largest difference between two int8 outputs, in quantization steps. */
function stepsApart(got: ArrayLike<number>, want: ArrayLike<number>): number {
	assert.equal(got.length, want.length);
	return Array.from(got).reduce((worst, g, i) => Math.max(worst, Math.abs(g - want[i])), 0);
}

/** Runtime vs interpreter (within the claim) and C vs interpreter (equal); returns the steps measured. */
async function check(name: string, prefix: string, c: LstmCase): Promise<number> {
	const random = mulberry32(c.batch * 1000 + c.steps * 100 + c.cells * 10 + (c.timeMajor ? 1 : 0));
	const { bytes, shape } = int8Lstm(random, c);
	const data = ints(random, shape.reduce((a, b) => a * b, 1), -128, 127);
	const [expected] = await runTflite(bytes, [data]);
	const model = loadTfliteBytes(bytes, `${prefix}.tflite`);
	assert.ok(model.graph.nodes.some((node) => node.op === OP), `${name}: the front end made no ${OP} node`);
	const graphInputs = model.graphInputs ?? [];
	const input = makeTensor("int8", shape, data);
	const fetches = (model.graphOutputs ?? []).map((output) => parseInputName(output.tensor).ref);
	const [interpreted] = runGraph(model.graph, new Map([[graphInputs[0].tensor, input]]), fetches);
	assert.deepEqual(interpreted.shape, expected.shape, `${name}: output shape`);
	const steps = stepsApart(numbers(interpreted), expected.data);
	const allowed = Q_FIDELITY_A[OP] === "exact" ? 0 : 1;
	assert.ok(steps <= allowed, `${name}: the interpreter is ${steps} steps from TFLite's runtime (claimed: ${Q_FIDELITY_A[OP]})`);
	const { config } = buildConfig(model.graph, [{ ref: parseInputName(graphInputs[0].tensor).ref, shape }], fetches.map((ref) => ({ ref })));
	const compiled = compileModel(model.graph, config, prefix, `${prefix}.tflite`);
	const source = compiled.files.find((f) => f.name.endsWith("_model.c"))?.text ?? "";
	const kernels = source.slice(source.indexOf("TFLite's fixed-point arithmetic")).replace(/\/\*[^]*?\*\//g, "");
	const floatUse = /.{0,80}\b(float|double)\b.{0,40}/.exec(kernels);
	assert.equal(floatUse, null, `${name}: the LSTM's C uses floating point: ${floatUse?.[0]}`);
	const binary = buildHost(compiled, tempDir(`tflite-${prefix}`));
	const [results] = runHost(binary, compiled, [input], 1);
	assert.deepEqual(numbers(results[0]), numbers(interpreted), `${name}: the C differs from the interpreter`);
	return steps;
}

const CASES: LstmCase[] = [
	{ batch: 1, steps: 5, inputs: 3, cells: 4, timeMajor: false, cellClip: 0 },
	{ batch: 2, steps: 6, inputs: 5, cells: 8, timeMajor: false, cellClip: 0 },
	{ batch: 2, steps: 4, inputs: 4, cells: 6, timeMajor: true, cellClip: 0 },
	{ batch: 1, steps: 8, inputs: 6, cells: 16, timeMajor: true, cellClip: 0.75 },
	{ batch: 2, steps: 12, inputs: 2, cells: 3, timeMajor: false, cellClip: 2 },
	{ batch: 2, steps: 10, inputs: 7, cells: 5, timeMajor: false, cellClip: 0, gain: 12 },
	{ batch: 1, steps: 6, inputs: 3, cells: 4, timeMajor: true, cellClip: 3, gain: 6 },
];

describe("int8 UNIDIRECTIONAL_SEQUENCE_LSTM matches TFLite's integer runtime, in the interpreter and in integer C", { skip }, () => {
	for (const [k, c] of CASES.entries()) {
		const label = `batch ${c.batch}, ${c.steps} steps, ${c.inputs} inputs, ${c.cells} cells, ${c.timeMajor ? "time-major" : "batch-major"}${c.cellClip ? `, cell clip ${c.cellClip}` : ""}${c.gain ? `, weights x${c.gain} (saturating gates)` : ""}`;
		it(label, async () => {
			await check(label, `lstm${k}`, c);
		});
	}

	it("the gates' fixed-point sigmoid and tanh stay within 4e-4 of the exact functions over every int16 input", () => {
		for (const integerBits of [3, 4, 5, 6]) {
			let worst = 0;
			for (let x = -32768; x <= 32767; x++) {
				const real = x / 2 ** (15 - integerBits);
				worst = Math.max(worst, Math.abs(logistic16(x, integerBits) / 32768 - 1 / (1 + Math.exp(-real))), Math.abs(tanh16(x, integerBits) / 32768 - Math.tanh(real)));
			}
			assert.ok(worst < 4e-4, `Q${integerBits}.${15 - integerBits}: worst error ${worst}`);
		}
	});

	it("refuses an integer LSTM without an input gate (CIFG), naming the node and what is missing", () => {
		const c: LstmCase = { batch: 1, steps: 3, inputs: 2, cells: 3, timeMajor: false, cellClip: 0, cifg: true };
		const { bytes, shape } = int8Lstm(mulberry32(9), c);
		const model = loadTfliteBytes(bytes, "cifg.tflite");
		const fetches = (model.graphOutputs ?? []).map((output) => parseInputName(output.tensor).ref);
		const feeds = new Map([[(model.graphInputs ?? [])[0].tensor, makeTensor("int8", shape, new Array<number>(6).fill(0))]]);
		assert.throws(() => runGraph(model.graph, feeds, fetches), /QUnidirectionalSequenceLstm.*CIFG/);
	});
});
