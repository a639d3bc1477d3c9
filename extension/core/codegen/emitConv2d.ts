import { type GraphNode, attrString } from "../graph/graph";
import { formatShape, numbers } from "../graph/tensor";
import { type EmitContext, unaryExpression } from "./emitKernels";
import { vectorActivation } from "./emitElementwise";
import type { Buffer, KernelStep } from "./program";
import { type Lanes, VECTOR_WIDTH, perWidth } from "./vectorLibrary";
import { type Window2d, borderColumns, fail, indent, insideGroups, pixelWalk, window2d } from "./window2d";

export { pool } from "./emitPool2d";

// Conv2D and DepthwiseConv2dNative as float kernels on knn_vf vectors, accumulating in float in an order GCC keeps
// in registers without -ffast-math. Two shapes of kernel, chosen per vector width from compile-time estimates:
// - channel lanes: output channels in the lanes, a few neighbouring pixels at once, one input value broadcast per
//   pixel and tap against packed filter vectors; any layout, stride and dilation;
// - width lanes (NCHW, stride 1 along the width): neighbouring output columns in the lanes, a few such tiles and
//   output channels at once, one contiguous input load per tile and tap against broadcast filter values; the
//   columns whose taps leave the input go through channel lanes.
// Both split the output into pixels whose taps all lie inside the input (no bounds checks) and the border.

/** Vector registers of x86-64 (SSE2 and AVX2): a block's accumulators, loaded operands and broadcast value must fit. */
const REGISTERS = 16;
/** Accumulators per block: enough independent sums to hide the multiply-add latency. */
const ACCUMULATORS = 12;

/** Ops the lowering may fuse into a convolution as its per-channel bias (its values are the step's input 2). */
const BIAS_OPS = new Set(["BiasAdd", "Add", "AddV2"]);

interface Convolution {
	g: Window2d;
	depthwise: boolean;
	/** Output channels per input channel (depthwise) or 1. */
	M: number;
	OC: number;
	x: Buffer;
	w: Buffer;
	bias?: Buffer;
	out: Buffer;
	activation?: GraphNode;
	/** Whether `bias` holds whole vectors (a constant, padded); else its last vector is read in part. */
	biasPadded: boolean;
}

/** One width's code: its lanes, and the packed filter's row stride (OC, or OC padded to whole vectors). */
interface Plan {
	L: Lanes;
	stride: number;
}

function convolution(step: KernelStep): Convolution {
	const { node } = step;
	const [x, w] = step.inputs;
	const out = step.outputs[0];
	if (x.dtype !== "float32" || w.dtype !== "float32") fail(node, `${x.dtype} convolutions are not supported by the compiler (float32 ones are)`);
	if (w.shape.length !== 4) fail(node, `the filter must be 4-D [height, width, in_channels, out_channels], got shape ${formatShape(w.shape)}`);
	const [KH, KW, filterIn, filterOut] = w.shape;
	const g = window2d(node, x.shape, KH, KW);
	if (filterIn !== g.C) fail(node, `the input has ${g.C} channels but the filter expects ${filterIn} (filter shape ${formatShape(w.shape)}); grouped convolutions are not supported by the compiler`);
	const depthwise = node.op === "DepthwiseConv2dNative";
	const OC = depthwise ? g.C * filterOut : filterOut;
	const expected = g.nchw ? [g.B, OC, g.OH, g.OW] : [g.B, g.OH, g.OW, OC];
	if (expected.join(",") !== out.shape.join(",")) fail(node, `internal: the output shape ${formatShape(out.shape)} is not the window's ${formatShape(expected)}`);
	const biasNode = step.fused.find((f) => BIAS_OPS.has(f.op));
	const bias = biasNode ? step.inputs[2] : undefined;
	if (biasNode && bias?.size !== OC) fail(node, `internal: the fused bias "${biasNode.name}" has ${bias?.size ?? 0} values for ${OC} output channels`);
	// A BiasAdd adds along its own data_format's channel axis, which must be the convolution's.
	if (biasNode?.op === "BiasAdd" && (attrString(biasNode, "data_format", "NHWC") === "NCHW") !== g.nchw) {
		fail(node, `internal: the fused BiasAdd "${biasNode.name}" is in another layout than the convolution`);
	}
	const activation = step.fused.find((f) => !BIAS_OPS.has(f.op));
	return { g, depthwise, M: depthwise ? filterOut : 1, OC, x, w, bias, out, activation, biasPadded: bias?.value !== undefined };
}

export function conv2d(step: KernelStep, ctx: EmitContext): string[] {
	const conv = convolution(step);
	ctx.vector();
	const lines = [`const float *const x = ${ctx.addr(conv.x)};`, `float *const out = ${ctx.addr(conv.out, true)};`];
	if (conv.bias?.value) {
		const padded = new Float32Array(Math.ceil(conv.OC / VECTOR_WIDTH) * VECTOR_WIDTH);
		padded.set(numbers(conv.bias.value).subarray(0, conv.OC));
		lines.push(`const float *const bias = ${ctx.floats(padded, `${conv.bias.label} padded`)};`);
	} else if (conv.bias) {
		lines.push(`const float *const bias = ${ctx.addr(conv.bias)};`);
	}
	// Both widths read the one packed filter, so neither build of the unit leaves it unused.
	const packed = packedFilter(conv, ctx);
	lines.push(`const float *const wp = ${packed.name};`);
	return [...lines, ...perWidth((L) => {
		const plan = { L, stride: packed.stride };
		return [...(useWidthLanes(conv, L) ? widthLanes(conv, ctx, plan) : channelLanes(conv, ctx, plan)), ...activationPass(conv, ctx, L)];
	})];
}

/** Relu and Relu6 act on the accumulators; other activations (a vector math function each) act afterwards. */
function inRegisters(activation: GraphNode | undefined): GraphNode | undefined {
	return activation?.op === "Relu" || activation?.op === "Relu6" ? activation : undefined;
}

/**
 * An activation other than Relu and Relu6 as one pass over the output: inlined once instead of once per
 * accumulator, which would grow the stack frame past the kernel's limit.
 */
function activationPass(conv: Convolution, ctx: EmitContext, L: Lanes): string[] {
	if (!conv.activation || inRegisters(conv.activation)) return [];
	const size = conv.out.size;
	const whole = size - (size % L);
	return [
		...(whole > 0 ? [`for (int i = 0; i < ${whole}; i += ${L}) {`, "\tknn_vf v = knn_vload(out + i);", ...indent(vectorActivation(conv.activation, "v", ctx, L)),
			"\tknn_vstore(out + i, v);", "}"] : []),
		...(whole < size ? [`for (int i = ${whole}; i < ${size}; ++i) {`, "\tconst float v = out[i];", `\tout[i] = ${unaryExpression(conv.activation, "v", ctx)};`, "}"] : []),
	];
}

/**
 * The filter as both kernels read it: per tap and input channel (per tap for depthwise) a row of the output
 * channels, zero-padded to whole vectors when the filter is a constant; a runtime filter is read in place (rows of OC).
 */
function packedFilter(conv: Convolution, ctx: EmitContext): { name: string; stride: number } {
	const { g, OC, w } = conv;
	if (!w.value) return { name: ctx.addr(w), stride: OC };
	const rows = g.KH * g.KW * (conv.depthwise ? 1 : g.C);
	const stride = Math.ceil(OC / VECTOR_WIDTH) * VECTOR_WIDTH;
	const source = numbers(w.value);
	const packed = new Float32Array(rows * stride);
	for (let r = 0; r < rows; r++) packed.set(source.subarray(r * OC, (r + 1) * OC), r * stride);
	return { name: ctx.floats(packed, `${w.label} in rows of ${stride}`), stride };
}

/** ` + n` or ` - n` to append to a C expression, nothing for 0. */
function offset(n: number): string {
	return n === 0 ? "" : n > 0 ? ` + ${n}` : ` - ${-n}`;
}

const zeros = (names: string[]) => `knn_vf ${names.map((n) => `${n} = knn_splat(0.0f)`).join(", ")};`;

// ---- choosing the kernel ----

/**
 * Vectors per channel block V (dividing the whole vectors) and pixels per group P, for a block that fits in
 * registers; depthwise loads an input vector per multiply-add, so fewer accumulators keep it busy and unspilled.
 */
function channelBlocking(conv: Convolution, L: Lanes): { V: number; P: number } {
	const full = Math.floor(conv.OC / L);
	const V = full > 0 && full % 3 === 0 ? 3 : full > 0 && full % 2 === 0 ? 2 : 1;
	const accumulators = conv.depthwise ? 8 : ACCUMULATORS;
	const fits = Math.min(8, Math.floor(accumulators / V), Math.floor((REGISTERS - 1 - V) / V));
	return { V, P: Math.max(1, Math.min(fits, conv.g.x1 - conv.g.x0)) };
}

/**
 * Tiles per group T and output channels per block R (depthwise: the multiplier) for the fewest cycles over the
 * inside columns, then the fewest tiles computed twice, then the most accumulators.
 */
function widthBlocking(conv: Convolution, L: Lanes): { T: number; R: number } {
	const { g, OC } = conv;
	const inside = g.x1 - g.x0;
	const maxTiles = Math.max(1, Math.min(6, Math.floor(inside / L)));
	const fits = (T: number, R: number) => T * R <= ACCUMULATORS && T * R + T + 1 <= REGISTERS;
	// Per tap, a group of T tiles and R channels loads T vectors and R filter values and does T * R multiply-adds,
	// and each accumulator waits about 4 cycles for the previous multiply-add.
	const work = (T: number, R: number) => Math.max(T + R, T * R, 8);
	let best = { T: 1, R: 1, cost: Infinity, tiles: Infinity };
	for (let T = 1; T <= maxTiles; T++) {
		for (let R = conv.depthwise ? conv.M : 1; R <= (conv.depthwise ? conv.M : OC) && fits(T, R); R++) {
			const groups = Math.ceil(inside / (L * T));
			const rest = conv.depthwise ? 0 : OC % R;
			const cost = groups * (Math.floor(OC / R) * work(T, R) + (rest > 0 ? work(T, rest) : 0));
			const better = cost < best.cost || (cost === best.cost && (groups * T < best.tiles || (groups * T === best.tiles && T * R > best.T * best.R)));
			if (better) best = { T, R, cost, tiles: groups * T };
		}
	}
	return { T: best.T, R: best.R };
}

/**
 * Width lanes need contiguous input columns (stride 1) and a tile of inside columns; they win where the output is
 * wide enough for few idle lanes, as the estimates below say (in cycles, at 2 vector operations a cycle).
 */
function useWidthLanes(conv: Convolution, L: Lanes): boolean {
	const { g } = conv;
	if (!g.nchw || g.sw !== 1 || g.x1 - g.x0 < L || (conv.depthwise && conv.M > ACCUMULATORS)) return false;
	return widthCost(conv, L) <= channelCost(conv, L);
}

/** Multiply-add taps per output value: the window times the input channels it sums (1 for depthwise). */
function tapsPerOutput(conv: Convolution): number {
	return conv.g.KH * conv.g.KW * (conv.depthwise ? 1 : conv.g.C);
}

/** One pixel alone through channel lanes, with bounds checks (gathered inputs cost a load per lane). */
function singlePixelCost(conv: Convolution, L: Lanes): number {
	const gathers = conv.depthwise && (conv.g.nchw || conv.M > 1);
	return Math.ceil(conv.OC / L) * tapsPerOutput(conv) * (gathers ? L + 1 : 2) / 2 + (conv.g.nchw ? 1.5 * conv.OC : 0);
}

function widthCost(conv: Convolution, L: Lanes): number {
	const { g, OC } = conv;
	const { T, R } = widthBlocking(conv, L);
	const groups = Math.ceil((g.x1 - g.x0) / (L * T));
	const perRow = (OC / R) * tapsPerOutput(conv) * groups * Math.max(T + R, T * R, 8) / 2;
	return g.B * g.OH * (perRow + (g.OW - (g.x1 - g.x0)) * singlePixelCost(conv, L));
}

function channelCost(conv: Convolution, L: Lanes): number {
	const { g, OC } = conv;
	const { V, P } = channelBlocking(conv, L);
	const blocks = Math.ceil(OC / L) / V;
	const inside = (g.y1 - g.y0) * Math.ceil((g.x1 - g.x0) / P);
	const single = g.OH * g.OW - (g.y1 - g.y0) * (g.x1 - g.x0);
	// Depthwise reads an input vector per multiply-add: a load, or (channels-first, multipliers) a load per lane.
	const gathers = conv.depthwise && (g.nchw || conv.M > 1);
	const perTap = Math.max(conv.depthwise ? P * V * (gathers ? L + 1 : 2) + V : Math.max(V + P, V * P), 8);
	const stores = g.nchw ? 1.5 * P * OC : 0;
	return g.B * (inside * (blocks * tapsPerOutput(conv) * perTap / 2 + stores) + single * singlePixelCost(conv, L));
}

// ---- channel lanes ----

function channelLanes(conv: Convolution, ctx: EmitContext, plan: Plan): string[] {
	const { g } = conv;
	const { P } = channelBlocking(conv, plan.L);
	return [`for (int b = 0; b < ${g.B}; ++b) for (int oy = 0; oy < ${g.OH}; ++oy) {`,
		...indent(pixelWalk(g, P, channelBlocks(conv, ctx, plan, P, false), channelBlocks(conv, ctx, plan, 1, true))), "}"];
}

/** P pixels from gx (or the one pixel ox, checked): the whole vectors of output channels in blocks of V, then the tail. */
function channelBlocks(conv: Convolution, ctx: EmitContext, plan: Plan, P: number, checked: boolean): string[] {
	const { L } = plan;
	const full = Math.floor(conv.OC / L);
	const tail = conv.OC % L;
	const { V } = channelBlocking(conv, L);
	const block = (base: string, vectors: number, lanes: number) => channelBlock(conv, ctx, plan, { P, checked, base, vectors, lanes });
	return [
		...(full === 0 ? [] : full === V ? block("0", V, L) : [`for (int v = 0; v < ${full * L}; v += ${V * L}) {`, ...indent(block("v", V, L)), "}"]),
		...(tail === 0 ? [] : block(String(full * L), 1, tail)),
	];
}

interface ChannelBlock {
	/** Pixels at gx + p (or the one pixel ox, with bounds checks). */
	P: number;
	checked: boolean;
	/** C expression of the block's first output channel. */
	base: string;
	vectors: number;
	/** Lanes in use per vector: L, or the tail's channel count. */
	lanes: number;
}

function channelBlock(conv: Convolution, ctx: EmitContext, plan: Plan, block: ChannelBlock): string[] {
	const { g, OC, M } = conv;
	const { L, stride } = plan;
	const { P, checked, base, vectors, lanes } = block;
	const acc = (p: number, k: number) => `a${p}_${k}`;
	const all = Array.from({ length: P }, (_, p) => Array.from({ length: vectors }, (_, k) => acc(p, k))).flat();
	const pixel = (p: number) => (checked ? "ox" : `gx + ${p}`);
	// Between neighbouring pixels of a group: sw pixels, of C floats (NHWC) or 1 (NCHW).
	const pixelStep = g.sw * (g.nchw ? 1 : g.C);
	const channelStep = g.nchw ? g.H * g.W : 1;
	const load = (at: string, whole: boolean) => (whole || lanes === L ? `knn_vload(${at})` : `knn_vload_part(${at}, ${lanes})`);
	const ix = checked ? "ix" : `gx * ${g.sw} + kx * ${g.dw} - ${g.left}`;
	const pixelAt = g.nchw ? `(b * ${g.C * g.H} + iy) * ${g.W} + ${ix}` : `((b * ${g.H} + iy) * ${g.W} + ${ix}) * ${g.C}`;
	const filter = (row: string) => `const knn_vf ${Array.from({ length: vectors }, (_, k) => `w${k} = ${load(`wt + ${row}${k * L}`, stride !== OC)}`).join(", ")};`;
	const taps: string[] = [`const float *const xp = x + ${pixelAt};`];
	if (conv.depthwise) {
		taps.push(`const float *const wt = wp + (ky * ${g.KW} + kx) * ${stride} + ${base};`, filter(""));
		for (let p = 0; p < P; p++) {
			for (let k = 0; k < vectors; k++) {
				const first = `${base} + ${k * L}`;
				if (!g.nchw && M === 1) {
					taps.push(`${acc(p, k)} += ${load(`xp + ${p * pixelStep} + ${first}`, false)} * w${k};`);
				} else {
					// Output channel oc reads input channel oc / M: gathered lane by lane.
					taps.push("{", "\tknn_vf xv = knn_splat(0.0f);",
						`\tfor (int j = 0; j < ${lanes}; ++j) xv[j] = xp[${p * pixelStep} + ((${first} + j) / ${M}) * ${channelStep}];`,
						`\t${acc(p, k)} += xv * w${k};`, "}");
				}
			}
		}
	} else {
		taps.push(`const float *const wt = wp + (ky * ${g.KW} + kx) * ${g.C * stride} + ${base};`, `for (int ic = 0; ic < ${g.C}; ++ic) {`,
			`\t${filter(`ic * ${stride} + `)}`);
		for (let p = 0; p < P; p++) {
			taps.push("\t{", `\t\tconst knn_vf s = knn_splat(xp[ic * ${channelStep} + ${p * pixelStep}]);`,
				...Array.from({ length: vectors }, (_, k) => `\t\t${acc(p, k)} += s * w${k};`), "\t}");
		}
		taps.push("}");
	}
	const lines = [zeros(all),
		`for (int ky = 0; ky < ${g.KH}; ++ky) {`, `\tconst int iy = oy * ${g.sh} + ky * ${g.dh} - ${g.top};`,
		...(checked ? [`\tif (iy < 0 || iy >= ${g.H}) continue;`] : []),
		`\tfor (int kx = 0; kx < ${g.KW}; ++kx) {`,
		...(checked ? [`\t\tconst int ix = ox * ${g.sw} + kx * ${g.dw} - ${g.left};`, `\t\tif (ix < 0 || ix >= ${g.W}) continue;`] : []),
		...indent(taps, 2), "\t}", "}"];
	// Lanes leave through one array: indexing each accumulator by a variable would give each its own stack slot.
	if (g.nchw || lanes < L) lines.push(`float lane[${L}];`);
	for (let k = 0; k < vectors; k++) {
		const first = `${base} + ${k * L}`;
		if (conv.bias) lines.push(`const knn_vf bias${k} = ${load(`bias + ${first}`, conv.biasPadded)};`);
		for (let p = 0; p < P; p++) {
			const a = acc(p, k);
			if (conv.bias) lines.push(`${a} += bias${k};`);
			lines.push(...vectorActivation(inRegisters(conv.activation), a, ctx, L));
			if (g.nchw) {
				lines.push(`knn_vstore(lane, ${a});`, `for (int j = 0; j < ${lanes}; ++j) out[((b * ${OC} + ${first} + j) * ${g.OH} + oy) * ${g.OW} + ${pixel(p)}] = lane[j];`);
			} else {
				const at = `out + ((b * ${g.OH} + oy) * ${g.OW} + ${pixel(p)}) * ${OC} + ${first}`;
				lines.push(...(lanes === L ? [`knn_vstore(${at}, ${a});`] : [`knn_vstore(lane, ${a});`, `for (int j = 0; j < ${lanes}; ++j) (${at})[j] = lane[j];`]));
			}
		}
	}
	return ["{", ...indent(lines), "}"];
}

// ---- width lanes (NCHW, stride 1 along the width) ----

function widthLanes(conv: Convolution, ctx: EmitContext, plan: Plan): string[] {
	const { g, OC } = conv;
	const { L } = plan;
	const { T, R } = widthBlocking(conv, L);
	const groups = (R: number) => insideGroups(g, L * T, widthBlock(conv, ctx, plan, T, R));
	const lines: string[] = [];
	if (conv.depthwise) {
		lines.push(`for (int ic = 0; ic < ${g.C}; ++ic) {`, `\tconst int oc0 = ic * ${conv.M};`, ...indent(groups(R)), "}");
	} else {
		const main = OC - (OC % R);
		if (main > 0) lines.push(`for (int oc0 = 0; oc0 < ${main}; oc0 += ${R}) {`, ...indent(groups(R)), "}");
		if (main < OC) lines.push("{", `\tconst int oc0 = ${main};`, ...indent(groups(OC - main)), "}");
	}
	lines.push(...borderColumns(g, channelBlocks(conv, ctx, plan, 1, true)));
	return [`for (int b = 0; b < ${g.B}; ++b) for (int oy = 0; oy < ${g.OH}; ++oy) {`, ...indent(lines), "}"];
}

/** T tiles of L output columns from gx, all taps inside the input along the width, for R output channels from oc0. */
function widthBlock(conv: Convolution, ctx: EmitContext, { L, stride }: Plan, T: number, R: number): string[] {
	const { g, OC } = conv;
	const acc = (t: number, r: number) => `a${t}_${r}`;
	const all = Array.from({ length: T }, (_, t) => Array.from({ length: R }, (_, r) => acc(t, r))).flat();
	// Filter taps (ky, kx) are C rows (1 for depthwise) of `stride` floats, each input channel's output channels.
	const tapStride = conv.depthwise ? stride : g.C * stride;
	const rowsChecked = g.y0 > 0 || g.y1 < g.OH;
	const taps = [`const knn_vf ${Array.from({ length: T }, (_, t) => `xv${t} = knn_vload(xr + gx${offset(t * L - g.left)} + kx * ${g.dw})`).join(", ")};`,
		...Array.from({ length: R }, (_, r) => ["{", `\tconst knn_vf s = knn_splat(wt[${r}]);`, ...Array.from({ length: T }, (_, t) => `\t${acc(t, r)} += xv${t} * s;`), "}"]).flat()];
	const window = [`for (int ky = 0; ky < ${g.KH}; ++ky) {`, `\tconst int iy = oy * ${g.sh} + ky * ${g.dh} - ${g.top};`,
		...(rowsChecked ? [`\tif (iy < 0 || iy >= ${g.H}) continue;`] : []),
		`\tconst float *const xr = xp + iy * ${g.W};`,
		`\tconst float *const wr = wp + ky * ${g.KW * tapStride}${conv.depthwise ? "" : ` + ic * ${stride}`} + oc0;`,
		`\tfor (int kx = 0; kx < ${g.KW}; ++kx) {`, `\t\tconst float *const wt = wr + kx * ${tapStride};`, ...indent(taps, 2), "\t}", "}"];
	const lines = [zeros(all),
		...(conv.depthwise
			? [`const float *const xp = x + (b * ${g.C} + ic) * ${g.H * g.W};`, ...window]
			: [`for (int ic = 0; ic < ${g.C}; ++ic) {`, `\tconst float *const xp = x + (b * ${g.C} + ic) * ${g.H * g.W};`, ...indent(window), "}"])];
	for (let r = 0; r < R; r++) {
		if (conv.bias) lines.push(`const knn_vf bias${r} = knn_splat(bias[oc0 + ${r}]);`);
		for (let t = 0; t < T; t++) {
			const a = acc(t, r);
			if (conv.bias) lines.push(`${a} += bias${r};`);
			lines.push(...vectorActivation(inRegisters(conv.activation), a, ctx, L));
			lines.push(`knn_vstore(out + ((b * ${OC} + oc0 + ${r}) * ${g.OH} + oy) * ${g.OW} + gx + ${t * L}, ${a});`);
		}
	}
	return ["{", ...indent(lines), "}"];
}
