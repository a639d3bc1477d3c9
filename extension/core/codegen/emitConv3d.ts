import { attrInts } from "../graph/graph";
import { type WindowNd, isChannelsFirst, windowNd } from "../interp/kernels/conv3d";
import { type EmitContext, cType } from "./emitKernels";
import type { KernelStep } from "./program";

// Conv3D, MaxPool3D, AvgPool3D and Conv3DBackpropInputV2 (channels last), as nested loops over the spatial axes
// written out per axis, so the C reads like the 2-D kernels with one more level.

const AXES = ["z", "y", "x", "u", "v"];

/** `for` headers over the batch and the output's spatial axes. */
function outerLoops(w: WindowNd, extents: readonly number[]): string {
	return [`for (int b = 0; b < ${w.batch}; ++b)`, ...extents.map((n, d) => `for (int o${AXES[d]} = 0; o${AXES[d]} < ${n}; ++o${AXES[d]})`)].join(" ");
}

/** Row-major flat index over `extents` of the per-axis expressions `coords`. */
function flat(extents: readonly (number | string)[], coords: readonly string[]): string {
	return coords.reduce((acc, c, d) => (d === 0 ? c : `(${acc}) * ${extents[d]} + ${c}`), "");
}

/** C index of element (b, channel, coords...) of a buffer with spatial `extents`, in either layout. */
function elementAt(first: boolean, extents: readonly number[], channels: number, coords: readonly string[], channel: string): string {
	return first ? flat([0, channels, ...extents], ["b", channel, ...coords]) : `(${flat([0, ...extents], ["b", ...coords])}) * ${channels} + ${channel}`;
}

/**
 * Loops over the kernel taps of a forward window; `body` runs with i<axis> the input coordinate of each tap inside the
 * input. Returns the lines, indented below the opening level `depth`.
 */
function tapLoops(w: WindowNd, depth: number, body: string[]): string[] {
	const lines: string[] = [];
	const tab = (n: number) => "\t".repeat(n);
	w.kernel.forEach((k, d) => {
		const a = AXES[d];
		lines.push(`${tab(depth + d)}for (int k${a} = 0; k${a} < ${k}; ++k${a}) {`,
			`${tab(depth + d + 1)}const int i${a} = o${a} * ${w.strides[d]} + k${a} * ${w.dilations[d]} - ${w.before[d]};`,
			`${tab(depth + d + 1)}if (i${a} < 0 || i${a} >= ${w.sizes[d]}) continue;`);
	});
	lines.push(...body.map((line) => `${tab(depth + w.kernel.length)}${line}`));
	for (let d = w.kernel.length - 1; d >= 0; d--) lines.push(`${tab(depth + d)}}`);
	return lines;
}

export function conv3d(step: KernelStep, ctx: EmitContext): string[] {
	const [x, f] = step.inputs;
	const out = step.outputs[0];
	const kernel = f.shape.slice(0, -2);
	const [C, M] = f.shape.slice(-2);
	const w = windowNd(step.node, x.shape, kernel);
	const axes = kernel.map((_, d) => AXES[d]);
	const first = isChannelsFirst(step.node);
	const inAt = elementAt(first, w.sizes, C, axes.map((a) => `i${a}`), "ic");
	const filterAt = `((${flat(kernel, axes.map((a) => `k${a}`))}) * ${C} + ic) * ${M} + oc`;
	const outAt = elementAt(first, w.out, M, axes.map((a) => `o${a}`), "oc");
	return [`const float *const x = ${ctx.addr(x)};`, `const float *const w = ${ctx.addr(f)};`, `float *const out = ${ctx.addr(out, true)};`,
		`${outerLoops(w, w.out)} for (int oc = 0; oc < ${M}; ++oc) {`, "\tfloat acc = 0.0f;",
		...tapLoops(w, 1, [`for (int ic = 0; ic < ${C}; ++ic) acc += x[${inAt}] * w[${filterAt}];`]),
		`\tout[${outAt}] = (float)acc;`, "}"];
}

export function pool3d(step: KernelStep, ctx: EmitContext): string[] {
	const x = step.inputs[0];
	const out = step.outputs[0];
	const max = step.node.op === "MaxPool3D";
	const first = isChannelsFirst(step.node);
	const ksize = attrInts(step.node, "ksize");
	const w = windowNd(step.node, x.shape, first ? ksize.slice(2) : ksize.slice(1, -1));
	const C = w.channels;
	const type = cType(x.dtype, `node "${step.node.name}"`);
	const axes = w.kernel.map((_, d) => AXES[d]);
	const inAt = elementAt(first, w.sizes, C, axes.map((a) => `i${a}`), "c");
	const outAt = elementAt(first, w.out, C, axes.map((a) => `o${a}`), "c");
	return [`const ${type} *const x = ${ctx.addr(x)};`, `${type} *const out = ${ctx.addr(out, true)};`,
		`${outerLoops(w, w.out)} for (int c = 0; c < ${C}; ++c) {`,
		...(max ? ["\tfloat best = -knn_infinity();"] : ["\tdouble sum = 0.0;", "\tint count = 0;"]),
		...tapLoops(w, 1, max ? [`if (x[${inAt}] > best) best = x[${inAt}];`] : [`sum += x[${inAt}];`, "++count;"]),
		`\tout[${outAt}] = ${max ? "best" : "count > 0 ? (float)(sum / count) : 0.0f"};`, "}"];
}

/** The transposed 3-D convolution as a gather: each result element sums the inputs whose window covered it. */
export function convTranspose3d(step: KernelStep, ctx: EmitContext): string[] {
	const [, f, g] = step.inputs;
	const out = step.outputs[0];
	const kernel = f.shape.slice(0, -2);
	const [C, M] = f.shape.slice(-2);
	const w = windowNd(step.node, out.shape, kernel);
	const first = isChannelsFirst(step.node);
	const gradSizes = first ? g.shape.slice(2) : g.shape.slice(1, -1);
	const axes = kernel.map((_, d) => AXES[d]);
	const tab = (n: number) => "\t".repeat(n);
	const lines: string[] = [];
	kernel.forEach((k, d) => {
		const a = AXES[d];
		const s = w.strides[d];
		lines.push(`${tab(d + 1)}for (int k${a} = 0; k${a} < ${k}; ++k${a}) {`,
			`${tab(d + 2)}const int t${a} = o${a} + ${w.before[d]} - k${a} * ${w.dilations[d]};`,
			`${tab(d + 2)}if (t${a} < 0${s > 1 ? ` || t${a} % ${s} != 0` : ""} || t${a} / ${s} >= ${gradSizes[d]}) continue;`,
			`${tab(d + 2)}const int i${a} = t${a} / ${s};`);
	});
	const gradAt = elementAt(first, gradSizes, M, axes.map((a) => `i${a}`), "m");
	const filterAt = `((${flat(kernel, axes.map((a) => `k${a}`))}) * ${C} + oc) * ${M} + m`;
	lines.push(`${tab(kernel.length + 1)}for (int m = 0; m < ${M}; ++m) acc += x[${gradAt}] * w[${filterAt}];`);
	for (let d = kernel.length - 1; d >= 0; d--) lines.push(`${tab(d + 1)}}`);
	const outAt = elementAt(first, w.sizes, C, axes.map((a) => `o${a}`), "oc");
	return [`const float *const x = ${ctx.addr(g)};`, `const float *const w = ${ctx.addr(f)};`, `float *const out = ${ctx.addr(out, true)};`,
		`${outerLoops(w, w.sizes)} for (int oc = 0; oc < ${C}; ++oc) {`, "\tfloat acc = 0.0f;", ...lines,
		`\tout[${outAt}] = (float)acc;`, "}"];
}
