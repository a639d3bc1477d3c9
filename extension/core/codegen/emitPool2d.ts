import { attrInts } from "../graph/graph";
import { isChannelsFirst } from "../interp/kernels/conv3d";
import type { EmitContext } from "./emitKernels";
import type { KernelStep } from "./program";
import { type Lanes, perWidth } from "./vectorLibrary";
import { type Window2d, fail, indent, pixelWalk, window2d } from "./window2d";

// MaxPool and AvgPool with TensorFlow's semantics: max keeps the running value unless a tap is greater (so NaN taps
// are skipped, as `if (v > best)` does), the average divides by the taps inside the input only. Channels-last pools
// put channels in the lanes; channels-first ones put neighbouring output columns in the lanes where the stride along
// the width is 1 or 2, else run scalar. Taps are checked against the input only outside the inside region, and a
// block keeps several independent accumulators so that the max or add of one tap need not wait for the previous one.

/** Independent accumulators per block: the chain of taps of each would otherwise wait on the compare's latency. */
const CHAINS = 4;

interface Pool {
	g: Window2d;
	max: boolean;
}

export function pool(step: KernelStep, ctx: EmitContext): string[] {
	const { node } = step;
	const x = step.inputs[0];
	if (x.dtype !== "float32") fail(node, `${x.dtype} pooling is not supported by the compiler (float32 is)`);
	const ksize = attrInts(node, "ksize");
	if (ksize.length !== 4) fail(node, `ksize must have 4 elements, got [${ksize.join(",")}]`);
	const nchw = isChannelsFirst(node);
	const [kb, kc, kh, kw] = nchw ? ksize : [ksize[0], ksize[3], ksize[1], ksize[2]];
	if (kb !== 1 || kc !== 1) fail(node, "pooling across batch or channels is not supported by the compiler");
	const p: Pool = { g: window2d(node, x.shape, kh, kw), max: node.op === "MaxPool" };
	const { g } = p;
	ctx.vector();
	const lines = [`const float *const x = ${ctx.addr(x)};`, `float *const out = ${ctx.addr(step.outputs[0], true)};`];
	if (!g.nchw) {
		const walk = (L: Lanes) => {
			const P = Math.max(1, Math.min(Math.floor(CHAINS / channelBlock(g, L)), g.x1 - g.x0));
			return pixelWalk(g, P, channelPixels(p, L, P, false), channelPixels(p, L, 1, true));
		};
		return [...lines, `for (int b = 0; b < ${g.B}; ++b) for (int oy = 0; oy < ${g.OH}; ++oy) {`, ...indent(perWidth(walk)), "}"];
	}
	// With stride 2 a tile reads 2L columns from its first tap (one past its last tap): the inside ends earlier.
	const vectorEnd = Math.min(g.x1, Math.floor((g.W - g.sw - (g.KW - 1) * g.dw + g.left) / g.sw) + 1);
	const walk = (L: Lanes) => {
		if (g.sw > 2 || vectorEnd - g.x0 < L) return pixelWalk(g, 1, scalarPixel(p, "gx", false), scalarPixel(p, "ox", true));
		const T = Math.min(4, Math.floor((vectorEnd - g.x0) / L));
		return pixelWalk({ ...g, x1: vectorEnd }, T * L, columnTiles(p, L, T), scalarPixel(p, "ox", true));
	};
	return [...lines, `for (int b = 0; b < ${g.B}; ++b) for (int c = 0; c < ${g.C}; ++c) for (int oy = 0; oy < ${g.OH}; ++oy) {`,
		`\tconst float *const xp = x + (b * ${g.C} + c) * ${g.H * g.W};`, `\tfloat *const op = out + ((b * ${g.C} + c) * ${g.OH} + oy) * ${g.OW};`,
		...indent(perWidth(walk)), "}"];
}

/**
 * The window loops around `body`, with `row` after each row's iy; checked loops skip taps outside the input and,
 * for an average, count the others.
 */
function taps(p: Pool, column: string, checked: boolean, body: string[], row: string[] = []): string[] {
	const { g } = p;
	return [`for (int ky = 0; ky < ${g.KH}; ++ky) {`, `\tconst int iy = oy * ${g.sh} + ky * ${g.dh} - ${g.top};`,
		...(checked ? [`\tif (iy < 0 || iy >= ${g.H}) continue;`] : []), ...indent(row),
		`\tfor (int kx = 0; kx < ${g.KW}; ++kx) {`,
		...(checked ? [`\t\tconst int ix = ${column} * ${g.sw} + kx * ${g.dw} - ${g.left};`, `\t\tif (ix < 0 || ix >= ${g.W}) continue;`, ...(p.max ? [] : ["\t\t++count;"])] : []),
		...indent(body, 2), "\t}", "}"];
}

/** The divisor of an average: the count of taps inside the input (never 0: an empty window's sum stays 0). */
function divisor(g: Window2d, checked: boolean): string {
	return checked ? "(float)(count > 0 ? count : 1)" : `${g.KH * g.KW}.0f`;
}

const initial = (max: boolean) => `knn_splat(${max ? "-knn_infinity()" : "0.0f"})`;
const update = (max: boolean, acc: string, v: string) => (max ? `${acc} = knn_vmax(${v}, ${acc});` : `${acc} += ${v};`);

/** Whole channel vectors per block of a channels-last pool: up to 4, dividing the whole vectors. */
function channelBlock(g: Window2d, L: Lanes): number {
	const full = Math.floor(g.C / L);
	for (let K = Math.min(4, full); K > 1; K--) if (full % K === 0) return K;
	return 1;
}

/** P output pixels of a channels-last pool from gx (or the one pixel ox, checked): whole channel vectors in blocks, then the rest. */
function channelPixels(p: Pool, L: Lanes, P: number, checked: boolean): string[] {
	const { g } = p;
	const full = Math.floor(g.C / L);
	const K = channelBlock(g, L);
	const block = (base: string, vectors: number, lanes: number) => channelVectors(p, L, P, checked, base, vectors, lanes);
	return [
		...(full === 0 ? [] : full === K ? block("0", K, L) : [`for (int c = 0; c < ${full * L}; c += ${K * L}) {`, ...indent(block("c", K, L)), "}"]),
		...(full * L < g.C ? block(String(full * L), 1, g.C - full * L) : []),
	];
}

function channelVectors(p: Pool, L: Lanes, P: number, checked: boolean, base: string, vectors: number, lanes: number): string[] {
	const { g, max } = p;
	const acc = (q: number, k: number) => `a${q}_${k}`;
	const pixels = Array.from({ length: P }, (_, q) => q);
	const ks = Array.from({ length: vectors }, (_, k) => k);
	const column = checked ? "ox" : "gx";
	const ix = checked ? "ix" : `gx * ${g.sw} + kx * ${g.dw} - ${g.left}`;
	const load = (at: string) => (lanes === L ? `knn_vload(${at})` : `knn_vload_part(${at}, ${lanes})`);
	const body = [`const float *const xp = x + ((b * ${g.H} + iy) * ${g.W} + ${ix}) * ${g.C} + ${base};`,
		...pixels.flatMap((q) => ks.map((k) => update(max, acc(q, k), load(`xp + ${q * g.sw * g.C + k * L}`))))];
	const lines = [`knn_vf ${pixels.flatMap((q) => ks.map((k) => `${acc(q, k)} = ${initial(max)}`)).join(", ")};`,
		...(checked && !max ? ["int count = 0;"] : []), ...taps(p, column, checked, body)];
	// Lanes leave a partial vector through one array: indexing each accumulator by a variable would give each a stack slot.
	if (lanes < L) lines.push(`float lane[${L}];`);
	for (const q of pixels) {
		for (const k of ks) {
			const a = acc(q, k);
			if (!max) lines.push(`${a} = ${a} / knn_splat(${divisor(g, checked)});`);
			const at = `out + ((b * ${g.OH} + oy) * ${g.OW} + ${column} + ${q}) * ${g.C} + ${base} + ${k * L}`;
			lines.push(...(lanes === L ? [`knn_vstore(${at}, ${a});`] : [`knn_vstore(lane, ${a});`, `for (int j = 0; j < ${lanes}; ++j) (${at})[j] = lane[j];`]));
		}
	}
	return ["{", ...indent(lines), "}"];
}

/**
 * T tiles of L neighbouring output columns of a channels-first pool from gx, all taps inside the input: with stride 1
 * one load per tile and tap, with stride 2 two loads and their even lanes (GCC turns the constructor into shuffles).
 */
function columnTiles(p: Pool, L: Lanes, T: number): string[] {
	const { g, max } = p;
	const tiles = Array.from({ length: T }, (_, t) => t);
	const evens = (u: string, v: string) => [u, v].flatMap((w) => Array.from({ length: L / 2 }, (_, j) => `${w}[${2 * j}]`)).join(", ");
	const body = tiles.flatMap((t) => {
		const at = `xr + kx * ${g.dw} + ${t * L * g.sw}`;
		return g.sw === 1
			? [update(max, `a${t}`, `knn_vload(${at})`)]
			: ["{", `\tconst knn_vf u0 = knn_vload(${at}), u1 = knn_vload(${at} + ${L});`, `\tconst knn_vf v = { ${evens("u0", "u1")} };`, `\t${update(max, `a${t}`, "v")}`, "}"];
	});
	return ["{", `\tknn_vf ${tiles.map((t) => `a${t} = ${initial(max)}`).join(", ")};`,
		...indent(taps(p, "gx", false, body, [`const float *const xr = xp + iy * ${g.W} + gx * ${g.sw} - ${g.left};`])),
		...tiles.flatMap((t) => [...(max ? [] : [`\ta${t} = a${t} / knn_splat(${divisor(g, false)});`]), `\tknn_vstore(op + gx + ${t * L}, a${t});`]), "}"];
}

/** One output value of a channels-first pool at `column`. */
function scalarPixel(p: Pool, column: string, checked: boolean): string[] {
	const { g, max } = p;
	const ix = checked ? "ix" : `${column} * ${g.sw} + kx * ${g.dw} - ${g.left}`;
	return ["{", `\tfloat acc = ${max ? "-knn_infinity()" : "0.0f"};`, ...(checked && !max ? ["\tint count = 0;"] : []),
		...indent(taps(p, column, checked, [`const float v = xp[iy * ${g.W} + ${ix}];`, max ? "if (v > acc) acc = v;" : "acc += v;"])),
		`\top[${column}] = ${max ? "acc" : `acc / ${divisor(g, checked)}`};`, "}"];
}
