// QUnidirectionalSequenceLstm in integer C: TFLite's 8x8_16 LSTM step by step, per batch and per cell (a cell's four
// gates need only this step's input and the previous step's output row, so the output buffer holds the hidden
// state, and one int16 row in the arena, lowered as the step's second output, holds the cell state). The gemmlowp sigmoid and tanh are written out inline, statement for
// statement as interp/kernels/quantized/lstmFixedPoint.ts computes them; multipliers are folded at compile time.
import { type QLstmPlan, qLstmPlan } from "../../interp/kernels/quantized/lstm";
import { EXP_BARREL, constant16, wrap16 } from "../../interp/kernels/quantized/lstmFixedPoint";
import { CompileError } from "../compileError";
import type { EmitContext } from "../emitKernels";
import type { KernelStep } from "../program";
import { asTensor } from "./filterCommon";

/** Writes C statements; temporaries get fresh names, declared together up front (the kernel's C style). */
class FixedPointWriter {
	readonly lines: string[] = [];
	readonly declared: string[] = [];
	private count = 0;

	fresh(stem: string): string {
		return `fp_${stem}${this.count++}`;
	}

	let(stem: string, expression: string): string {
		const name = this.fresh(stem);
		this.declared.push(name);
		this.lines.push(`${name} = ${expression};`);
		return name;
	}

	/** The declarations of every temporary, a few per line. */
	declarations(): string[] {
		const rows: string[] = [];
		for (let i = 0; i < this.declared.length; i += 12) rows.push(`int ${this.declared.slice(i, i + 12).join(", ")};`);
		return rows;
	}
}

/** gemmlowp's int16 SaturatingRoundingDoublingHighMul of two variables or literals. */
function srdhm16(a: string, b: string): string {
	return `((${a}) == -32768 && (${b}) == -32768 ? 32767 : (short)(((${a}) * (${b}) + ((${a}) * (${b}) >= 0 ? 16384 : -16383)) / 32768))`;
}

function rdpot16(x: string, exponent: number): string {
	if (exponent === 0) return x;
	const mask = (1 << exponent) - 1;
	return `((${x} >> ${exponent}) + ((${x} & ${mask}) > (${mask >> 1} + (${x} < 0)) ? 1 : 0))`;
}

function saturatingPOT16(x: string, exponent: number): string {
	if (exponent <= 0) return rdpot16(x, -exponent);
	const threshold = (1 << (15 - exponent)) - 1;
	return `(${x} > ${threshold} ? 32767 : ${x} < -${threshold} ? -32768 : (short)(${x} * ${1 << exponent}))`;
}

function expOnInterval(w: FixedPointWriter, a: string): string {
	const constantTerm = constant16(1895147668);
	const x = w.let("x", `(short)(${a} + 4096)`);
	const x2 = w.let("x", srdhm16(x, x));
	const x3 = w.let("x", srdhm16(x2, x));
	const x4 = w.let("x", srdhm16(x2, x2));
	const quarter = w.let("p", saturatingPOT16(x4, -2));
	const sum = w.let("p", `(short)(${quarter} + ${x3})`);
	const third = w.let("p", srdhm16(sum, String(constant16(715827883))));
	const withSquare = w.let("p", `(short)(${third} + ${x2})`);
	const polynomial = w.let("p", saturatingPOT16(withSquare, -1));
	const shifted = w.let("p", `(short)(${x} + ${polynomial})`);
	return w.let("e", `knn_q_clamp(${constantTerm} + ${srdhm16(String(constantTerm), shifted)}, -32768, 32767)`);
}

function expOnNegativeValues(w: FixedPointWriter, a: string, integerBits: number): string {
	const fractionalBits = 15 - integerBits;
	const oneQuarter = 1 << (fractionalBits - 2);
	const modQuarter = w.let("q", `(short)((${a} & ${wrap16(oneQuarter - 1)}) - ${oneQuarter})`);
	const scaled = w.let("q", saturatingPOT16(modQuarter, integerBits));
	const result = w.let("r", expOnInterval(w, scaled));
	const remainder = w.let("q", `(short)(${modQuarter} - ${a})`);
	for (const [exponent, multiplier] of EXP_BARREL) {
		if (integerBits > exponent) {
			w.lines.push(`if (${remainder} & ${wrap16(1 << (fractionalBits + exponent))}) ${result} = ${srdhm16(result, String(constant16(multiplier)))};`);
		}
	}
	if (integerBits > 5) w.lines.push(`if (${a} < ${constant16(-(2 ** (36 - integerBits)))}) ${result} = 0;`);
	return w.let("r", `${a} == 0 ? 32767 : ${result}`);
}

function newtonRaphson(w: FixedPointWriter, a: string): string {
	const halfSum = w.let("h", `${a} + 32767`);
	const half = w.let("h", `(short)((${halfSum} + (${halfSum} >= 0 ? 1 : -1)) / 2)`);
	const x = w.let("n", `(short)(${constant16(1515870810)} + ${srdhm16(half, String(constant16(-1010580540)))})`);
	const oneMinus = w.fresh("n");
	const product = w.fresh("n");
	w.lines.push(
		`for (int i = 0; i < 3; ++i) {`,
		`\tconst int ${oneMinus} = (short)(8192 - ${srdhm16(half, x)});`,
		`\tconst int ${product} = ${srdhm16(x, oneMinus)};`,
		`\t${x} = (short)(${x} + ${saturatingPOT16(product, 2)});`,
		"}",
	);
	return x;
}

/** C statements computing gemmlowp::logistic of `a` (Q`integerBits`); returns the variable holding it. */
function logisticC(w: FixedPointWriter, a: string, integerBits: number): string {
	const magnitude = w.let("s", `${a} > 0 ? ${a} : (short)(-${a})`);
	const negated = w.let("s", `(short)(-${magnitude})`);
	const reciprocal = newtonRaphson(w, expOnNegativeValues(w, negated, integerBits));
	const positive = w.let("s", saturatingPOT16(reciprocal, 1));
	return w.let("s", `${a} == 0 ? ${constant16(1 << 30)} : ${a} > 0 ? ${positive} : (short)(32767 - ${positive})`);
}

/** C statements computing gemmlowp::tanh of `a` (Q`integerBits`); returns the variable holding it. */
function tanhC(w: FixedPointWriter, a: string, integerBits: number): string {
	const negative = w.let("t", `${a} < 0 ? ${a} : (short)(-${a})`);
	const ratio = newtonRaphson(w, expOnNegativeValues(w, negative, integerBits + 1));
	const shifted = w.let("t", `(short)(${ratio} - 8192)`);
	const t = w.let("t", saturatingPOT16(shifted, 2));
	return w.let("t", `${a} == 0 ? 0 : ${a} < 0 ? (short)(-${t}) : ${t}`);
}

/** The row index of (b, t) in the sequence, as a C expression of `b` and `time`. */
function rowExpression(plan: QLstmPlan, time: string): string {
	return plan.timeMajor ? `(${time}) * ${plan.batch} + b` : `b * ${plan.steps} + (${time})`;
}

export function qUnidirectionalSequenceLstm(step: KernelStep, ctx: EmitContext): string[] {
	const plan = qLstmPlan(step.node, step.inputs.map(asTensor));
	const { cells, inputSize } = plan;
	const cellRow = step.outputs[1];
	if (!cellRow || cellRow.dtype !== "int16" || cellRow.size !== cells) {
		throw new CompileError(`node "${step.node.name}" (${step.op}): the lowering gave no int16 cell state row of ${cells} values in the arena`);
	}
	const buffer = (position: number) => step.inputs[plan.at.get(position)!];
	const w = new FixedPointWriter();
	const gateLines = plan.gates.map((gate, g) => {
		const wx = ctx.addr(buffer([1, 2, 3, 4][g]));
		const wh = ctx.addr(buffer([5, 6, 7, 8][g]));
		const name = `gate${g}`;
		return [
			"{",
			`\tint acc = ${ctx.table(gate.inputBias)}[u];`,
			`\tint v;`,
			`\tfor (int d = 0; d < ${inputSize}; ++d) acc += xt[d] * ${wx}[u * ${inputSize} + d];`,
			`\tv = knn_q_clamp(knn_q_mul(acc, ${gate.inputScale.multiplier}, ${gate.inputScale.shift}), -32768, 32767);`,
			`\tacc = ${ctx.table(gate.recurrentBias)}[u];`,
			`\tfor (int d = 0; d < ${cells}; ++d) acc += hp[d] * ${wh}[u * ${cells} + d];`,
			`\t${name} = knn_q_clamp(knn_q_mul(acc, ${gate.recurrentScale.multiplier}, ${gate.recurrentScale.shift}) + v, -32768, 32767);`,
			"}",
		];
	});
	const inputGate = logisticC(w, "gate0", 3);
	const forgetGate = logisticC(w, "gate1", 3);
	const cellGate = tanhC(w, "gate2", 3);
	const outputGate = logisticC(w, "gate3", 3);
	w.lines.push(
		`kept = (short)knn_q_rdpot(${forgetGate} * cell[u], 15);`,
		`written = (short)knn_q_rdpot(${inputGate} * ${cellGate}, ${30 + plan.cellScaleLog2});`,
		"next = knn_q_clamp(kept + written, -32768, 32767);",
		...(plan.cellClip > 0 ? [`next = knn_q_clamp(next, -${plan.cellClip}, ${plan.cellClip});`] : []),
		"cell[u] = (short)next;",
	);
	const hidden = tanhC(w, "next", 15 + plan.cellScaleLog2);
	w.lines.push(`ht[u] = (signed char)knn_q_clamp(knn_q_mul(${outputGate} * ${hidden}, ${plan.hidden.multiplier}, ${plan.hidden.shift}) + ${plan.hiddenOffset}, -128, 127);`);
	return [
		`const signed char *const x = ${ctx.addr(buffer(0))};`,
		`const signed char *const h0 = ${ctx.addr(buffer(18))};`,
		`const short *const c0 = ${ctx.addr(buffer(19))};`,
		`signed char *const out = ${ctx.addr(step.outputs[0], true)};`,
		`short *const cell = ${ctx.addr(cellRow, true)};`,
		`for (int b = 0; b < ${plan.batch}; ++b) {`,
		`\tfor (int u = 0; u < ${cells}; ++u) cell[u] = c0[b * ${cells} + u];`,
		`\tfor (int time = 0; time < ${plan.steps}; ++time) {`,
		`\t\tconst signed char *const xt = x + (${rowExpression(plan, "time")}) * ${inputSize};`,
		`\t\tconst signed char *const hp = time == 0 ? h0 + b * ${cells} : out + (${rowExpression(plan, "time - 1")}) * ${cells};`,
		`\t\tsigned char *const ht = out + (${rowExpression(plan, "time")}) * ${cells};`,
		`\t\tfor (int u = 0; u < ${cells}; ++u) {`,
		...["int gate0, gate1, gate2, gate3, kept, written, next;", ...w.declarations(), ...gateLines.flat(), ...w.lines].map((line) => `\t\t\t${line}`),
		"\t\t}",
		"\t}",
		"}",
	];
}
