// UNIDIRECTIONAL_SEQUENCE_LSTM. Float: unrolled over its static sequence length into MatMul, BiasAdd, Split,
// activations and Pack, with TFLite's gate order (input, forget, cell, output), CIFG, peepholes, projection and both
// clips. Quantized: one QUnidirectionalSequenceLstm node carrying the inputs that are present. The state tensors
// (inputs 18 and 19) are variables the runtime keeps between invocations; here every invocation starts from their
// initial value, as a fresh interpreter does.
import { type Tensor, makeTensor, numbers } from "../../../graph/tensor";
import { irAttr } from "../../../graph/irAttr";
import { BuiltinOperator } from "../types";
import type { OpContext } from "./context";
import { tensorQuant } from "./context";
import { type OpTranslator, floatActivation, floatConstant, fusedActivation } from "./common";
import { addQuantized } from "./quantized";

const INPUT = {
	x: 0, inputWeights: [1, 2, 3, 4], recurrentWeights: [5, 6, 7, 8], peepholes: [9, 10, 11], biases: [12, 13, 14, 15],
	projection: 16, projectionBias: 17, outputState: 18, cellState: 19, layerNorm: [20, 21, 22, 23],
} as const;
const F32 = { T: irAttr.type("float32") };

function constantRows(ctx: OpContext, positions: readonly number[], what: string): Tensor {
	const parts = positions.map((p) => {
		const value = floatConstant(ctx, p);
		if (!value) ctx.fail(`its ${what} (input ${p}, "${ctx.tensor(p).name}") is computed at run time; Kernel NN needs LSTM weights constant`);
		return value;
	});
	const rows = parts.reduce((n, t) => n + t.shape[0], 0);
	const data = new Float32Array(parts.reduce((n, t) => n + numbers(t).length, 0));
	let at = 0;
	for (const part of parts) {
		data.set(numbers(part), at);
		at += numbers(part).length;
	}
	return makeTensor("float32", [rows, ...parts[0].shape.slice(1)], data);
}

const quantizedLstm = (ctx: OpContext): void => {
	const positions = Array.from({ length: ctx.inputCount }, (_, i) => i).filter((i) => ctx.has(i));
	const intermediates = (ctx.op.intermediates ?? []).map((index) => tensorQuant(ctx.graph.tensors[index]));
	const attr = {
		input_positions: irAttr.ints(positions),
		cell_activation: irAttr.s(fusedActivation(ctx)),
		cell_clip: irAttr.f(ctx.num("cellClip", 0)),
		proj_clip: irAttr.f(ctx.num("projClip", 0)),
		time_major: irAttr.b(ctx.bool("timeMajor")),
		intermediate_scale: irAttr.floats(intermediates.map((q) => Math.fround(q?.scale[0] ?? 0))),
		intermediate_zero_point: irAttr.ints(intermediates.map((q) => q?.zeroPoint[0] ?? 0)),
	};
	ctx.output(0, addQuantized(ctx, "QUnidirectionalSequenceLstm", positions, attr, { activation: "NONE" }));
};

const lstm: OpTranslator = (ctx) => {
	if (["int8", "int16"].includes(ctx.dtype(INPUT.x))) {
		quantizedLstm(ctx);
		return;
	}
	for (const p of INPUT.layerNorm) if (ctx.has(p)) ctx.fail(`it has layer normalization (input ${p}, "${ctx.tensor(p).name}"), which Kernel NN does not read for LSTM`);
	const xShape = ctx.shape(INPUT.x);
	if (xShape.length !== 3) ctx.fail(`its input has shape [${xShape.join(",")}]; the sequence LSTM takes a rank-3 input`);
	const timeMajor = ctx.bool("timeMajor");
	const [steps, batch] = timeMajor ? [xShape[0], xShape[1]] : [xShape[1], xShape[0]];
	const cifg = !ctx.has(INPUT.inputWeights[0]);
	const gates = cifg ? [1, 2, 3] : [0, 1, 2, 3];
	const cells = ctx.shape(INPUT.inputWeights[1])[0];
	const w = ctx.addConst("W", constantRows(ctx, gates.map((g) => INPUT.inputWeights[g]), "input weights"));
	const r = ctx.addConst("R", constantRows(ctx, gates.map((g) => INPUT.recurrentWeights[g]), "recurrent weights"));
	const b = ctx.addConst("B", constantRows(ctx, gates.map((g) => INPUT.biases[g]), "gate biases"));
	const peephole = (k: number): string | undefined => (ctx.has(INPUT.peepholes[k]) ? ctx.addConst(`peephole${"ifo"[k]}`, constantRows(ctx, [INPUT.peepholes[k]], "peephole weights")) : undefined);
	const [peepI, peepF, peepO] = [0, 1, 2].map(peephole);
	const projection = ctx.has(INPUT.projection) ? ctx.addConst("projection", constantRows(ctx, [INPUT.projection], "projection weights")) : undefined;
	const projectionBias = ctx.has(INPUT.projectionBias) ? ctx.addConst("projection_bias", constantRows(ctx, [INPUT.projectionBias], "projection bias")) : undefined;
	const outputs = projection ? ctx.shape(INPUT.projection)[0] : cells;
	const activation = fusedActivation(ctx);
	const cellClip = ctx.num("cellClip", 0);
	const projClip = ctx.num("projClip", 0);
	const scalar = (suffix: string, value: number) => ctx.addConst(suffix, makeTensor("float32", [], [value]));
	const mul = (suffix: string, a: string, c: string) => ctx.add("Mul", suffix, [a, c], F32);
	const add = (suffix: string, a: string, c: string) => ctx.add("AddV2", suffix, [a, c], F32);
	const matMulT = (suffix: string, a: string, m: string) => ctx.add("MatMul", suffix, [a, m], { ...F32, transpose_a: irAttr.b(false), transpose_b: irAttr.b(true) });
	const clip = (suffix: string, x: string, limit: number) => (limit > 0
		? ctx.add("Minimum", `${suffix}/clip`, [ctx.add("Maximum", `${suffix}/clip_low`, [x, scalar(`${suffix}/-clip`, -limit)], F32), scalar(`${suffix}/+clip`, limit)], F32)
		: x);
	const initial = (p: number, size: number, suffix: string): string => {
		const value = ctx.has(p) ? floatConstant(ctx, p) : undefined;
		return ctx.addConst(suffix, value ? makeTensor("float32", [batch, size], numbers(value)) : makeTensor("float32", [batch, size]));
	};
	let h = initial(INPUT.outputState, outputs, "h0");
	let c = initial(INPUT.cellState, cells, "c0");
	const timeAxis = timeMajor ? 0 : 1;
	const unpacked = ctx.add("Unpack", "steps", [ctx.input(INPUT.x)], { ...F32, num: irAttr.i(steps), axis: irAttr.i(timeAxis) });
	const splitAxis = ctx.ints32("split_axis", [1], []);
	const results: string[] = [];
	for (let t = 0; t < steps; t++) {
		const at = `t${t}`;
		const x = t === 0 ? unpacked : `${unpacked}:${t}`;
		const sum = add(`${at}/gates_sum`, matMulT(`${at}/input`, x, w), matMulT(`${at}/recurrent`, h, r));
		const pre = ctx.add("BiasAdd", `${at}/gates`, [sum, b], { ...F32, data_format: irAttr.s("NHWC") });
		const split = ctx.add("Split", `${at}/split`, [splitAxis, pre], { ...F32, num_split: irAttr.i(gates.length) });
		const part = (k: number) => (k === 0 ? split : `${split}:${k}`);
		const [iPre, fPre, gPre, oPre] = cifg ? [undefined, part(0), part(1), part(2)] : [part(0), part(1), part(2), part(3)];
		const withPeephole = (suffix: string, x0: string, weights: string | undefined, cell: string) => (weights ? add(`${suffix}/peephole`, x0, mul(`${suffix}/peephole_mul`, cell, weights)) : x0);
		const forget = ctx.add("Sigmoid", `${at}/f`, [withPeephole(`${at}/f`, fPre, peepF, c)], F32);
		const input = iPre
			? ctx.add("Sigmoid", `${at}/i`, [withPeephole(`${at}/i`, iPre, peepI, c)], F32)
			: ctx.add("Sub", `${at}/i`, [scalar(`${at}/one`, 1), forget], F32);
		const candidate = floatActivation(ctx, gPre, activation);
		c = clip(`${at}/C`, add(`${at}/C`, mul(`${at}/C/keep`, forget, c), mul(`${at}/C/write`, input, candidate)), cellClip);
		const output = ctx.add("Sigmoid", `${at}/o`, [withPeephole(`${at}/o`, oPre, peepO, c)], F32);
		h = mul(`${at}/H`, output, floatActivation(ctx, c, activation));
		if (projection) {
			const projected = matMulT(`${at}/projection`, h, projection);
			h = clip(`${at}/projected`, projectionBias ? ctx.add("BiasAdd", `${at}/projection_bias`, [projected, projectionBias], { ...F32, data_format: irAttr.s("NHWC") }) : projected, projClip);
		}
		results.push(h);
	}
	ctx.output(0, ctx.add("Pack", "Pack", results, { ...F32, N: irAttr.i(steps), axis: irAttr.i(timeAxis) }));
};

export const LSTM_TRANSLATORS: ReadonlyMap<number, OpTranslator> = new Map([[BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM, lstm]]);
