import { attrBool } from "../graph/graph";
import { numbers } from "../graph/tensor";
import { type EmitContext, unaryExpression } from "./emitKernels";
import { vectorActivation } from "./emitElementwise";
import type { GraphNode } from "../graph/graph";
import type { KernelStep } from "./program";
import { type Lanes, VECTOR_WIDTH, perWidth } from "./vectorLibrary";

// Float matrix products as register-blocked panels: each output row block keeps up to 8 vectors of accumulators
// in registers while k runs, reading the constant right-hand side from a copy packed at compile time so each k
// step loads consecutive vectors. Float accumulation in k order, as TensorFlow's, XLA's and onnxruntime's CPU
// kernels do; a multiply-add may be contracted to one FMA where the target has it.

/** Accumulator vectors one block may hold: half the 16 vector registers, leaving room for loads and the broadcast. */
const MAX_ACCUMULATORS = 8;
/** Panels are this many times VECTOR_WIDTH columns wide. */
const PANEL_VECTORS = 4;

interface Geometry {
	M: number;
	N: number;
	K: number;
	/** Element (m, k) of A as a C expression of `m` and `k`. */
	aAt: (m: string, k: string) => string;
}

/**
 * Packs the [K, N] (or, transposed, [N, K]) constant into panels of PANEL_VECTORS * 8 columns: panel p holds
 * rows k = 0..K-1 of its columns, zero-padded past N, so the microkernel reads it front to back. Every panel but
 * the last is full width; the last is as wide as its columns rounded up to whole vectors.
 */
function packPanels(values: ArrayLike<number>, K: number, N: number, transposed: boolean): Float32Array {
	const span = PANEL_VECTORS * VECTOR_WIDTH;
	const packed = new Float32Array(K * Math.ceil(N / VECTOR_WIDTH) * VECTOR_WIDTH);
	let at = 0;
	for (let column = 0; column < N; column += span) {
		const columns = Math.min(span, Math.ceil((N - column) / VECTOR_WIDTH) * VECTOR_WIDTH);
		for (let k = 0; k < K; k++) {
			for (let j = 0; j < columns; j++) {
				const n = column + j;
				packed[at++] = n < N ? values[transposed ? n * K + k : k * N + n] : 0;
			}
		}
	}
	return packed;
}

/** A panel: where its rows start (C pointer expression), its first column (C expression), and its widths. */
interface Panel {
	at: string;
	column: string;
	/** Floats per row of the panel (a multiple of 8), and how many of its columns exist (the rest is padding). */
	columns: number;
	valid: number;
	rowStride: string;
}

/**
 * One block: `rows` rows from m by the panel's vectors of `lanes` floats, k = 0..K-1, then bias, activation and
 * stores.
 */
function block(g: Geometry, lanes: Lanes, rows: number, panel: Panel, bias: boolean, activation: GraphNode | undefined, ctx: EmitContext): string[] {
	const width = Math.ceil(panel.valid / lanes);
	// With few accumulators, each would wait on its own previous multiply-add (4 cycles, 2 issued a cycle): k then
	// goes round-robin to up to 4 sets (8 accumulators in all), added together at the end.
	const phases = Math.max(1, Math.min(4, g.K, Math.floor(MAX_ACCUMULATORS / (rows * width))));
	const acc = (r: number, v: number, phase = 0) => `acc${r}_${v}${phase ? `_${phase}` : ""}`;
	const lines: string[] = [];
	for (let phase = 0; phase < phases; phase++) for (let r = 0; r < rows; r++) for (let v = 0; v < width; v++) lines.push(`knn_vf ${acc(r, v, phase)} = knn_splat(0.0f);`);
	const step = (k: string, phase: number, indent: string) => {
		for (let v = 0; v < width; v++) lines.push(`${indent}const knn_vf w${v}${phase ? `_${phase}` : ""} = knn_vload(${panel.at} + (${k}) * ${panel.rowStride} + ${v * lanes});`);
		for (let r = 0; r < rows; r++) {
			lines.push(`${indent}{`, `${indent}\tconst knn_vf x = knn_splat(${g.aAt(`(m + ${r})`, k)});`);
			for (let v = 0; v < width; v++) lines.push(`${indent}\t${acc(r, v, phase)} += x * w${v}${phase ? `_${phase}` : ""};`);
			lines.push(`${indent}}`);
		}
	};
	const paired = g.K - (g.K % phases);
	lines.push(`for (int k = 0; k < ${paired}; k += ${phases}) {`);
	for (let phase = 0; phase < phases; phase++) step(phase ? `k + ${phase}` : "k", phase, "\t");
	lines.push("}");
	if (paired < g.K) {
		lines.push(`for (int k = ${paired}; k < ${g.K}; ++k) {`);
		step("k", 0, "\t");
		lines.push("}");
	}
	for (let phase = 1; phase < phases; phase++) for (let r = 0; r < rows; r++) for (let v = 0; v < width; v++) lines.push(`${acc(r, v)} += ${acc(r, v, phase)};`);
	for (let r = 0; r < rows; r++) {
		for (let v = 0; v < width; v++) {
			const n = `${panel.column} + ${v * lanes}`;
			const name = acc(r, v);
			if (bias) lines.push(`${name} += knn_vload(bias + ${n});`);
			lines.push(...vectorActivation(activation, name, ctx, lanes));
			const live = Math.min(lanes, panel.valid - v * lanes);
			const at = `out + (m + ${r}) * ${g.N} + ${n}`;
			lines.push(live === lanes ? `knn_vstore(${at}, ${name});` : `knn_vstore_part(${at}, ${name}, ${live});`);
		}
	}
	return lines;
}

/** Rows per block for panels of `width` vectors: as many as keep the accumulators in half the 16 registers. */
function rowsPerBlock(M: number, width: number): number {
	return Math.max(1, Math.min(M, 4, Math.floor(MAX_ACCUMULATORS / width)));
}

/** All rows of one panel: full row blocks in a loop, then the remaining rows; for both widths. */
function panelRows(g: Geometry, panel: Panel, bias: boolean, activation: GraphNode | undefined, ctx: EmitContext): string[] {
	return perWidth((lanes) => {
		const rows = rowsPerBlock(g.M, Math.ceil(panel.valid / lanes));
		const full = Math.floor(g.M / rows) * rows;
		const lines: string[] = [];
		const body = block(g, lanes, rows, panel, bias, activation, ctx);
		if (full === rows) lines.push("{", "\tconst int m = 0;", ...body.map((l) => `\t${l}`), "}");
		else lines.push(`for (int m = 0; m < ${full}; m += ${rows}) {`, ...body.map((l) => `\t${l}`), "}");
		if (full < g.M) {
			const tail = block(g, lanes, 1, panel, bias, activation, ctx);
			lines.push(`for (int m = ${full}; m < ${g.M}; ++m) {`, ...tail.map((l) => `\t${l}`), "}");
		}
		return lines;
	});
}

/**
 * Every panel: the full ones in one C loop (the code stays one panel long whatever N is), then the last, partly
 * padded one. `base` is the right-hand side's pointer, `panelStride` the floats from one panel's start to the next.
 */
function allPanels(g: Geometry, base: string, panelStride: number, rowStride: (columns: number) => string, bias: boolean, activation: GraphNode | undefined, ctx: EmitContext): string[] {
	const span = PANEL_VECTORS * VECTOR_WIDTH;
	const fullPanels = Math.floor(g.N / span);
	const rest = g.N - fullPanels * span;
	const lines: string[] = [];
	if (fullPanels > 0) {
		const panel: Panel = { at: `(${base} + p * ${panelStride})`, column: `p * ${span}`, columns: span, valid: span, rowStride: rowStride(span) };
		const body = panelRows(g, panel, bias, activation, ctx).map((l) => `\t${l}`);
		lines.push(`/* columns 0..${fullPanels * span - 1}, ${span} at a time */`, fullPanels === 1 ? "{" : `for (int p = 0; p < ${fullPanels}; ++p) {`,
			...(fullPanels === 1 ? ["\tconst int p = 0;"] : []), ...body, "}");
	}
	if (rest > 0) {
		const columns = Math.ceil(rest / VECTOR_WIDTH) * VECTOR_WIDTH;
		const panel: Panel = { at: `(${base} + ${fullPanels * panelStride})`, column: String(fullPanels * span), columns, valid: rest, rowStride: rowStride(columns) };
		lines.push(`/* columns ${fullPanels * span}..${g.N - 1} */`, "{", ...panelRows(g, panel, bias, activation, ctx).map((l) => `\t${l}`), "}");
	}
	return lines;
}

/** MatMul with an optional fused bias (BiasAdd or an Add of a constant row) and activation. */
export function matMul(step: KernelStep, ctx: EmitContext): string[] {
	const { node } = step;
	const [a, b, bias] = step.inputs;
	const ta = attrBool(node, "transpose_a", false);
	const tb = attrBool(node, "transpose_b", false);
	const [M, K] = ta ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
	const N = tb ? b.shape[0] : b.shape[1];
	const g: Geometry = { M, N, K, aAt: (m, k) => (ta ? `a[${k} * ${M} + ${m}]` : `a[${m} * ${K} + ${k}]`) };
	const activation = step.fused.find((f) => f.op !== "BiasAdd" && f.op !== "Add" && f.op !== "AddV2");
	if (M * N === 0) return [];
	ctx.vector();
	// The memory plan never gives a step's output the space of one of its inputs.
	const lines = [`const float *const restrict a = ${ctx.addr(a)};`, `float *const restrict out = ${ctx.addr(step.outputs[0], true)};`];
	if (bias) {
		// Padded to whole vectors so the last one loads no further than the array.
		const padded = new Float32Array(Math.ceil(N / VECTOR_WIDTH) * VECTOR_WIDTH);
		padded.set(numbers(bias.value!).subarray(0, N));
		lines.push(`const float *const bias = ${ctx.floats(padded, `${bias.label} padded`)};`);
	}
	if (b.value) {
		const packed = packPanels(numbers(b.value), K, N, tb);
		lines.push(`const float *const w = ${ctx.floats(packed, `${b.label} packed in panels`)};`);
		return [...lines, ...allPanels(g, "w", K * PANEL_VECTORS * VECTOR_WIDTH, (columns) => String(columns), bias !== undefined, activation, ctx)];
	}
	if (!tb && N % VECTOR_WIDTH === 0) {
		// A runtime right-hand side in [K, N] rows is read in place, a panel of columns at a time.
		lines.push(`const float *const b = ${ctx.addr(b)};`);
		return [...lines, ...allPanels(g, "b", PANEL_VECTORS * VECTOR_WIDTH, () => String(N), bias !== undefined, activation, ctx)];
	}
	// Other runtime right-hand sides: scalar, float accumulation in k order.
	const bAt = tb ? `b[n * ${K} + k]` : `b[k * ${N} + n]`;
	const scalarActivation = activation ? unaryExpression(activation, "v", ctx) : "v";
	lines.push(`const float *const b = ${ctx.addr(b)};`, `for (int m = 0; m < ${M}; ++m) {`, `\tfor (int n = 0; n < ${N}; ++n) {`, "\t\tfloat v = 0.0f;",
		`\t\tfor (int k = 0; k < ${K}; ++k) v += ${g.aAt("m", "k")} * ${bAt};`, ...(bias ? ["\t\tv = v + bias[n];"] : []),
		`\t\tout[m * ${N} + n] = ${scalarActivation};`, "\t}", "}");
	return lines;
}
