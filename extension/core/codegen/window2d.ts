import type { GraphNode } from "../graph/graph";
import { isChannelsFirst, windowNd } from "../interp/kernels/conv3d";
import { CompileError } from "./compileError";

// What the vectorised 2-D window kernels (emitConv2d.ts, emitPool2d.ts) share: the window's geometry with the output
// ranges that need no bounds checks, and the walks over those ranges.

/** A 2-D window op's geometry, in the node's layout. */
export interface Window2d {
	nchw: boolean;
	B: number;
	H: number;
	W: number;
	C: number;
	KH: number;
	KW: number;
	OH: number;
	OW: number;
	sh: number;
	sw: number;
	dh: number;
	dw: number;
	top: number;
	left: number;
	/** Output rows [y0, y1) and columns [x0, x1) whose every tap lies inside the input: no bounds checks there. */
	y0: number;
	y1: number;
	x0: number;
	x1: number;
}

export function fail(node: GraphNode, detail: string): never {
	throw new CompileError(`node "${node.name}" (${node.op}): ${detail}`);
}

/** Outputs [lo, hi) of one axis whose taps o * stride - before + k * dilation (k < kernel) all fall in [0, size). */
function insideRange(size: number, out: number, kernel: number, stride: number, dilation: number, before: number): [number, number] {
	const lo = Math.min(out, Math.max(0, Math.ceil(before / stride)));
	const hi = Math.min(out, Math.floor((size - 1 - (kernel - 1) * dilation + before) / stride) + 1);
	return hi > lo ? [lo, hi] : [lo, lo];
}

/** The geometry of a 2-D window of KH x KW taps over the 4-D `shape` of the node's input, the interpreter's own. */
export function window2d(node: GraphNode, shape: readonly number[], KH: number, KW: number): Window2d {
	if (shape.length !== 4) fail(node, `the input must be 4-D, got shape [${shape.join(",")}]`);
	const nchw = isChannelsFirst(node);
	const w = windowNd(node, shape, [KH, KW]);
	const [H, W] = w.sizes;
	const [OH, OW] = w.out;
	const [sh, sw] = w.strides;
	const [dh, dw] = w.dilations;
	const [top, left] = w.before;
	const [y0, y1] = insideRange(H, OH, KH, sh, dh, top);
	const [x0, x1] = insideRange(W, OW, KW, sw, dw, left);
	return { nchw, B: w.batch, H, W, C: w.channels, KH, KW, OH, OW, sh, sw, dh, dw, top, left, y0, y1, x0, x1 };
}

export function indent(lines: string[], depth = 1): string[] {
	return lines.map((line) => `${"\t".repeat(depth)}${line}`);
}

/**
 * The walk over the output pixels of one row `oy` for kernels that compute `P` neighbouring pixels at once: the
 * inside columns go in groups starting at `gx` (the last group shifted left to end at x1, recomputing a few pixels),
 * every other pixel `ox` alone through `single`, which checks its taps. Rows outside [y0, y1) are all single.
 */
export function pixelWalk(g: Window2d, P: number, group: string[], single: string[]): string[] {
	const grouped = g.y1 > g.y0 && g.x1 - g.x0 >= P;
	const inside = g.y0 === 0 && g.y1 === g.OH ? "" : `oy >= ${g.y0} && oy < ${g.y1} && `;
	return [`for (int ox = 0; ox < ${g.OW}; ++ox) {`,
		...(grouped ? [`\tif (${inside}ox == ${g.x0}) {`, ...indent(insideGroups(g, P, group), 2), `\t\tox = ${g.x1 - 1};`, "\t\tcontinue;", "\t}"] : []),
		...indent(single), "}"];
}

/** The inside columns of one output row in groups of `width` starting at `gx`, the last group shifted left to end at x1. */
export function insideGroups(g: Window2d, width: number, group: string[]): string[] {
	return [`for (int q = ${g.x0}; q < ${g.x1}; q += ${width}) {`, `\tconst int gx = q + ${width} <= ${g.x1} ? q : ${g.x1 - width};`, ...indent(group), "}"];
}

/** The columns `ox` of one output row outside [x0, x1), each through `single`. */
export function borderColumns(g: Window2d, single: string[]): string[] {
	if (g.x0 === 0 && g.x1 === g.OW) return [];
	return [`for (int ox = 0; ox < ${g.OW}; ++ox) {`, ...(g.x1 > g.x0 ? [`\tif (ox == ${g.x0}) {`, `\t\tox = ${g.x1 - 1};`, "\t\tcontinue;", "\t}"] : []),
		...indent(single), "}"];
}
