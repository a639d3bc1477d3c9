import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import type { CompiledModel } from "../../extension/core/codegen/compile";
import { emitSources } from "../../extension/core/codegen/emitC";
import { conv2d, pool } from "../../extension/core/codegen/emitConv2d";
import { hostDriverSource } from "../../extension/core/codegen/hostDriver";
import { lowerGraph } from "../../extension/core/codegen/lower";
import { planMemory } from "../../extension/core/codegen/memoryPlan";
import type { KernelStep, Program } from "../../extension/core/codegen/program";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { Graph, parseInputName } from "../../extension/core/graph/graph";
import { type Tensor, makeTensor, numbers } from "../../extension/core/graph/tensor";
import { tempDir } from "../support/cli";
import type { AttrValue } from "../../extension/core/graph/attr";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { MODEL_CFLAGS, gccMissing, runHost } from "../support/hostBuild";
import { mulberry32 } from "../support/random";
import { runTfjs } from "../support/tfjsOracle";

// The vectorised window kernels (emitConv2d.ts, emitPool2d.ts) built with gcc under the kernel build's warnings and
// frame limit, for the x86-64 baseline (SSE2) and for AVX2+FMA, against convolutions and pools written here in float64
// from TensorFlow's definitions (and, where tfjs implements the case, against tfjs).

const T = attr.type("float32");

/** Padding as TensorFlow spells it, or EXPLICIT [top, bottom, left, right]. */
type Padding = "SAME" | "VALID" | [number, number, number, number];

interface ConvCase {
	op: "Conv2D" | "DepthwiseConv2dNative";
	format: "NHWC" | "NCHW";
	/** Batch, height, width, channels, whatever the layout. */
	image: [number, number, number, number];
	kernel: [number, number];
	/** Output channels (Conv2D) or the channel multiplier (depthwise). */
	channels: number;
	strides?: [number, number];
	dilations?: [number, number];
	padding: Padding;
	activation?: "Relu" | "Relu6" | "Tanh";
	/** A per-channel BiasAdd after the convolution. */
	bias?: boolean;
	/** The filter fed at run time instead of a constant. */
	fedFilter?: boolean;
}

interface PoolCase {
	op: "MaxPool" | "AvgPool";
	format: "NHWC" | "NCHW";
	image: [number, number, number, number];
	kernel: [number, number];
	strides: [number, number];
	padding: Padding;
}

/** An attribute list of 4 in the layout's order from the height and width values. */
function spatialList(format: string, [h, w]: [number, number], fill = 1): number[] {
	return format === "NCHW" ? [fill, fill, h, w] : [fill, h, w, fill];
}

function paddingAttrs(format: string, padding: Padding): Record<string, AttrValue> {
	if (!Array.isArray(padding)) return { padding: attr.s(padding) };
	const [t, b, l, r] = padding;
	return { padding: attr.s("EXPLICIT"), explicit_paddings: attr.ints(format === "NCHW" ? [0, 0, 0, 0, t, b, l, r] : [0, 0, t, b, l, r, 0, 0]) };
}

/** Output size and leading padding of one axis, as TensorFlow's GetWindowedOutputSize defines them. */
function axis(size: number, kernel: number, stride: number, dilation: number, padding: Padding, which: 0 | 1): { out: number; before: number } {
	const span = (kernel - 1) * dilation + 1;
	if (padding === "VALID") return { out: Math.ceil((size - span + 1) / stride), before: 0 };
	if (padding === "SAME") {
		const out = Math.ceil(size / stride);
		return { out, before: Math.floor(Math.max(0, (out - 1) * stride + span - size) / 2) };
	}
	const [before, after] = which === 0 ? [padding[0], padding[1]] : [padding[2], padding[3]];
	return { out: Math.floor((size + before + after - span) / stride) + 1, before };
}

/** Flat index of (b, c, y, x) in an image of C x H x W per batch in the layout. */
function at(format: string, [C, H, W]: number[], b: number, c: number, y: number, x: number): number {
	return format === "NCHW" ? ((b * C + c) * H + y) * W + x : ((b * H + y) * W + x) * C + c;
}

function shapeIn(format: string, [n, h, w, c]: number[]): number[] {
	return format === "NCHW" ? [n, c, h, w] : [n, h, w, c];
}

/** Every index tuple of an array of the given sizes, last index fastest. */
function* grid(...sizes: number[]): Generator<number[]> {
	const index = sizes.map(() => 0);
	if (sizes.some((n) => n === 0)) return;
	for (;;) {
		yield [...index];
		let d = sizes.length - 1;
		while (d >= 0 && ++index[d] === sizes[d]) index[d--] = 0;
		if (d < 0) return;
	}
}

function randomValues(random: () => number, size: number): number[] {
	return Array.from({ length: size }, () => random() * 2 - 1);
}

const activate: Record<string, (v: number) => number> = {
	Relu: (v) => (v > 0 ? v : 0),
	Relu6: (v) => (v > 0 ? (v < 6 ? v : 6) : 0),
	Tanh: (v) => Math.tanh(v),
};

/** What a case should produce: values and, per element, the sum of the magnitudes of its terms (the rounding scale). */
interface Expected {
	values: Float64Array;
	scale: Float64Array;
}

function convReference(c: ConvCase, x: ArrayLike<number>, w: ArrayLike<number>, bias?: ArrayLike<number>): Expected {
	const [B, H, W, C] = c.image;
	const [KH, KW] = c.kernel;
	const [sh, sw] = c.strides ?? [1, 1];
	const [dh, dw] = c.dilations ?? [1, 1];
	const rows = axis(H, KH, sh, dh, c.padding, 0);
	const cols = axis(W, KW, sw, dw, c.padding, 1);
	const depthwise = c.op === "DepthwiseConv2dNative";
	const OC = depthwise ? C * c.channels : c.channels;
	const values = new Float64Array(B * rows.out * cols.out * OC);
	const scale = new Float64Array(values.length);
	for (const [b, oy, ox, oc] of grid(B, rows.out, cols.out, OC)) {
		let sum = 0;
		let magnitude = 0;
		for (const [ky, kx] of grid(KH, KW)) {
			const iy = oy * sh - rows.before + ky * dh;
			const ix = ox * sw - cols.before + kx * dw;
			if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
			const channels = depthwise ? [Math.floor(oc / c.channels)] : Array.from({ length: C }, (_, ic) => ic);
			for (const ic of channels) {
				const term = x[at(c.format, [C, H, W], b, ic, iy, ix)] * w[((ky * KW + kx) * C + ic) * c.channels + (depthwise ? oc % c.channels : oc)];
				sum += term;
				magnitude += Math.abs(term);
			}
		}
		if (bias) {
			sum += bias[oc];
			magnitude += Math.abs(bias[oc]);
		}
		const i = at(c.format, [OC, rows.out, cols.out], b, oc, oy, ox);
		values[i] = c.activation ? activate[c.activation](sum) : sum;
		scale[i] = magnitude;
	}
	return { values, scale };
}

function poolReference(c: PoolCase, x: ArrayLike<number>): Expected {
	const [B, H, W, C] = c.image;
	const [KH, KW] = c.kernel;
	const [sh, sw] = c.strides;
	const rows = axis(H, KH, sh, 1, c.padding, 0);
	const cols = axis(W, KW, sw, 1, c.padding, 1);
	const values = new Float64Array(B * rows.out * cols.out * C);
	const scale = new Float64Array(values.length);
	for (const [b, oy, ox, ch] of grid(B, rows.out, cols.out, C)) {
		// TensorFlow's max keeps the running value unless a tap is greater, so NaN taps never win.
		let best = -Infinity;
		let sum = 0;
		let magnitude = 0;
		let count = 0;
		for (const [ky, kx] of grid(KH, KW)) {
			const iy = oy * sh - rows.before + ky;
			const ix = ox * sw - cols.before + kx;
			if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
			const v = x[at(c.format, [C, H, W], b, ch, iy, ix)];
			if (v > best) best = v;
			sum += v;
			magnitude += Math.abs(v);
			count++;
		}
		const i = at(c.format, [C, rows.out, cols.out], b, ch, oy, ox);
		// The average divides by the taps inside the input only: padding does not count.
		values[i] = c.op === "MaxPool" ? best : count > 0 ? sum / count : 0;
		scale[i] = c.op === "MaxPool" ? 0 : magnitude / Math.max(count, 1);
	}
	return { values, scale };
}

interface Built {
	graph: GraphBuilder;
	feeds: Record<string, Tensor>;
	fetches: string[];
	expected: Expected[];
}

/** Adds a convolution on random values (edited by `edit`, when given) and its expected result. */
function addConv(built: Built, name: string, c: ConvCase, random: () => number, edit?: (values: number[]) => number[]): void {
	const g = built.graph;
	const [, , , C] = c.image;
	const xShape = shapeIn(c.format, c.image);
	const xValues = randomValues(random, xShape.reduce((a, b) => a * b, 1));
	const x = makeTensor("float32", xShape, edit ? edit(xValues) : xValues);
	const wShape = [...c.kernel, C, c.channels];
	const w = makeTensor("float32", wShape, randomValues(random, wShape.reduce((a, b) => a * b, 1)));
	built.feeds[`${name}/x`] = x;
	const input = g.placeholder(`${name}/x`, "float32", xShape);
	let filter: string;
	if (c.fedFilter) {
		built.feeds[`${name}/w`] = w;
		filter = g.placeholder(`${name}/w`, "float32", wShape);
	} else {
		filter = g.const(`${name}/w`, w);
	}
	let y = g.op(c.op, `${name}/conv`, [input, filter], {
		T, strides: attr.ints(spatialList(c.format, c.strides ?? [1, 1])), dilations: attr.ints(spatialList(c.format, c.dilations ?? [1, 1])),
		data_format: attr.s(c.format), ...paddingAttrs(c.format, c.padding),
	});
	const OC = c.op === "Conv2D" ? c.channels : C * c.channels;
	const bias = c.bias ? makeTensor("float32", [OC], randomValues(random, OC)) : undefined;
	if (bias) y = g.op("BiasAdd", `${name}/bias`, [y, g.const(`${name}/b`, bias)], { T, data_format: attr.s(c.format) });
	if (c.activation) y = g.op(c.activation, `${name}/${c.activation}`, [y], { T });
	built.fetches.push(y);
	built.expected.push(convReference(c, numbers(x), numbers(w), bias && numbers(bias)));
}

function addPool(built: Built, name: string, c: PoolCase, x: Tensor): void {
	built.feeds[`${name}/x`] = x;
	const input = built.graph.placeholder(`${name}/x`, "float32", x.shape);
	built.fetches.push(built.graph.op(c.op, `${name}/pool`, [input], {
		T, ksize: attr.ints(spatialList(c.format, c.kernel)), strides: attr.ints(spatialList(c.format, c.strides)),
		data_format: attr.s(c.format), ...paddingAttrs(c.format, c.padding),
	}));
	built.expected.push(poolReference(c, numbers(x)));
}

function newBuilt(): Built {
	return { graph: new GraphBuilder(), feeds: {}, fetches: [], expected: [] };
}

/**
 * Folds each BiasAdd step (with the activation fused into it) into the convolution step that alone feeds it, as the
 * lowering does for MatMul: the convolution's step then carries the bias as input 2.
 */
function fuseBiasIntoConvolutions(program: Program): void {
	const steps = program.steps;
	for (let i = 0; i + 1 < steps.length; i++) {
		const conv = steps[i];
		const add = steps[i + 1];
		if (conv.kind !== "kernel" || add.kind !== "kernel" || add.op !== "BiasAdd" || conv.fused.length > 0) continue;
		if (!["Conv2D", "DepthwiseConv2dNative"].includes(conv.op) || add.inputs[0] !== conv.outputs[0]) continue;
		conv.fused = [add.node, ...add.fused];
		conv.inputs = [...conv.inputs, add.inputs[1]];
		conv.outputs = add.outputs;
		steps.splice(i + 1, 1);
	}
}

/** Compiles the graph with this file's emitters on its window-op steps (whatever the op table holds). */
function compileWindowOps(built: Built, prefix: string, fuseBias: boolean): CompiledModel {
	const graph = Graph.fromGraphDef(built.graph.def());
	const { config } = buildConfig(graph, Object.entries(built.feeds).map(([name, t]) => ({ ref: parseInputName(name).ref, shape: t.shape })),
		built.fetches.map((f) => ({ ref: parseInputName(f).ref })));
	const program = lowerGraph(graph, config);
	if (fuseBias) fuseBiasIntoConvolutions(program);
	for (const step of program.steps) {
		if (step.kind !== "kernel") continue;
		if (step.op === "Conv2D" || step.op === "DepthwiseConv2dNative") (step as KernelStep).emit = conv2d;
		if (step.op === "MaxPool" || step.op === "AvgPool") step.emit = pool;
	}
	const plan = planMemory(program);
	const generated = emitSources(prefix, program, plan, "conv2dFast test graph");
	return {
		prefix, program, files: [{ name: `${prefix}.h`, text: generated.header }, { name: `${prefix}_model.c`, text: generated.source }],
		report: { arenaBytes: plan.arenaBytes, tempBytes: plan.tempBytes, tempBytesUnshared: plan.tempBytesUnshared, weightBytes: generated.weightBytes, kernels: 0, loops: 0, mathFunctions: generated.mathFunctions },
	};
}

const cpuFlags = (() => {
	try {
		return new Set(/^flags\s*:(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1].trim().split(/\s+/) ?? []);
	} catch {
		return new Set<string>();
	}
})();

/**
 * The builds every kernel must pass: the x86-64 baseline (SSE2: each knn_v8 is two registers) and AVX2 with FMA
 * contraction. A build for instructions this CPU lacks is compiled (warnings, frame size) but not run.
 */
const BUILDS: { label: string; flags: string[]; runs: boolean }[] = process.arch === "x64"
	? [{ label: "SSE2", flags: ["-msse2"], runs: true },
		{ label: "AVX2+FMA", flags: ["-mavx2", "-mfma", "-ffp-contract=fast"], runs: cpuFlags.has("avx2") && cpuFlags.has("fma") }]
	: [{ label: "native", flags: [], runs: true }];

/** Builds the model under each of BUILDS and returns each runnable build's results. */
function runBuilds(model: CompiledModel, inputs: Tensor[]): { label: string; results: Tensor[] }[] {
	const dir = tempDir(model.prefix);
	for (const file of model.files) fs.writeFileSync(path.join(dir, file.name), file.text);
	fs.writeFileSync(path.join(dir, `${model.prefix}_host.c`), hostDriverSource(model.prefix));
	const runs: { label: string; results: Tensor[] }[] = [];
	for (const build of BUILDS) {
		const object = path.join(dir, `${model.prefix}_${build.label}.o`);
		const binary = path.join(dir, `${model.prefix}_${build.label}`);
		try {
			execFileSync("gcc", [...MODEL_CFLAGS, ...build.flags, "-c", path.join(dir, `${model.prefix}_model.c`), "-o", object], { stdio: "pipe" });
		} catch (error) {
			const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
			assert.fail(`${build.label} build of ${dir}/${model.prefix}_model.c failed:\n${stderr.slice(0, 4000)}`);
		}
		execFileSync("gcc", ["-std=c99", "-O2", "-Wall", "-Werror", path.join(dir, `${model.prefix}_host.c`), object, "-o", binary], { stdio: "pipe" });
		if (build.runs) runs.push({ label: build.label, results: runHost(binary, model, inputs, 1)[0] });
	}
	return runs;
}

/** Every result element within 1e-5 of its terms' magnitudes (float accumulation) of the float64 value; NaN where NaN. */
function assertMatches(built: Built, model: CompiledModel, what: string, slack = 0): void {
	for (const { label, results } of runBuilds(model, Object.values(built.feeds))) {
		built.expected.forEach((expected, r) => {
			const got = numbers(results[r]);
			assert.equal(got.length, expected.values.length, `${label} ${built.fetches[r]}: size`);
			for (let i = 0; i < got.length; i++) {
				const want = expected.values[i];
				const where = `${label} ${what} ${built.fetches[r]}[${i}]: got ${got[i]}, expected ${want}`;
				if (Number.isNaN(want)) assert.ok(Number.isNaN(got[i]), where);
				else assert.ok(Math.abs(got[i] - want) <= 1e-5 * expected.scale[i] + slack || got[i] === want, where);
			}
		});
	}
}

const CONVOLUTIONS: ConvCase[] = [
	{ op: "Conv2D", format: "NHWC", image: [1, 9, 11, 3], kernel: [3, 3], channels: 5, padding: "SAME", activation: "Relu" },
	{ op: "Conv2D", format: "NHWC", image: [2, 8, 7, 5], kernel: [3, 3], channels: 17, strides: [2, 2], padding: "VALID" },
	{ op: "Conv2D", format: "NHWC", image: [1, 10, 9, 17], kernel: [2, 3], channels: 8, dilations: [2, 2], padding: "SAME", activation: "Relu6" },
	{ op: "Conv2D", format: "NHWC", image: [1, 7, 12, 4], kernel: [3, 3], channels: 24, strides: [2, 1], padding: [1, 2, 0, 1] },
	{ op: "Conv2D", format: "NHWC", image: [1, 6, 5, 3], kernel: [1, 1], channels: 64, padding: "VALID", activation: "Tanh" },
	{ op: "Conv2D", format: "NCHW", image: [1, 28, 28, 1], kernel: [3, 3], channels: 8, padding: "VALID", activation: "Relu" },
	{ op: "Conv2D", format: "NCHW", image: [1, 13, 13, 8], kernel: [3, 3], channels: 16, padding: "VALID" },
	{ op: "Conv2D", format: "NCHW", image: [2, 12, 21, 3], kernel: [3, 3], channels: 5, dilations: [2, 2], padding: "SAME", activation: "Relu6" },
	{ op: "Conv2D", format: "NCHW", image: [1, 11, 9, 5], kernel: [3, 3], channels: 17, strides: [2, 2], padding: [1, 0, 2, 1] },
	{ op: "Conv2D", format: "NCHW", image: [1, 7, 5, 4], kernel: [2, 2], channels: 3, padding: "VALID", activation: "Tanh" },
	{ op: "Conv2D", format: "NCHW", image: [1, 9, 30, 3], kernel: [5, 5], channels: 13, padding: "SAME" },
	{ op: "Conv2D", format: "NCHW", image: [1, 8, 19, 2], kernel: [3, 3], channels: 4, strides: [2, 1], padding: [2, 1, 1, 2] },
	{ op: "DepthwiseConv2dNative", format: "NHWC", image: [1, 9, 10, 5], kernel: [3, 3], channels: 1, padding: "SAME" },
	{ op: "DepthwiseConv2dNative", format: "NHWC", image: [2, 8, 9, 17], kernel: [3, 3], channels: 2, strides: [2, 2], padding: "SAME" },
	{ op: "DepthwiseConv2dNative", format: "NHWC", image: [1, 7, 7, 8], kernel: [3, 3], channels: 1, dilations: [2, 2], padding: "VALID" },
	{ op: "DepthwiseConv2dNative", format: "NCHW", image: [1, 10, 19, 3], kernel: [3, 3], channels: 2, padding: "SAME" },
	{ op: "DepthwiseConv2dNative", format: "NCHW", image: [1, 9, 9, 5], kernel: [3, 3], channels: 1, strides: [2, 2], padding: [1, 1, 0, 2] },
];

const POOLS: PoolCase[] = [
	{ op: "MaxPool", format: "NHWC", image: [1, 9, 10, 5], kernel: [3, 3], strides: [2, 2], padding: "SAME" },
	{ op: "AvgPool", format: "NHWC", image: [2, 7, 8, 17], kernel: [3, 3], strides: [1, 1], padding: "SAME" },
	{ op: "MaxPool", format: "NHWC", image: [1, 8, 8, 8], kernel: [2, 2], strides: [2, 2], padding: "VALID" },
	{ op: "AvgPool", format: "NHWC", image: [1, 6, 9, 3], kernel: [2, 3], strides: [2, 2], padding: [1, 0, 1, 1] },
	{ op: "MaxPool", format: "NHWC", image: [2, 9, 11, 24], kernel: [3, 3], strides: [2, 2], padding: "SAME" },
	{ op: "MaxPool", format: "NCHW", image: [1, 26, 26, 8], kernel: [2, 2], strides: [2, 2], padding: "VALID" },
	{ op: "AvgPool", format: "NCHW", image: [1, 12, 20, 3], kernel: [3, 3], strides: [1, 1], padding: "SAME" },
	{ op: "MaxPool", format: "NCHW", image: [2, 13, 19, 2], kernel: [3, 2], strides: [1, 1], padding: [1, 1, 1, 0] },
	{ op: "AvgPool", format: "NCHW", image: [1, 9, 11, 4], kernel: [3, 3], strides: [2, 2], padding: "SAME" },
	{ op: "MaxPool", format: "NCHW", image: [1, 5, 6, 3], kernel: [2, 2], strides: [1, 1], padding: "SAME" },
	{ op: "AvgPool", format: "NCHW", image: [1, 10, 37, 3], kernel: [3, 3], strides: [2, 2], padding: "SAME" },
	{ op: "MaxPool", format: "NCHW", image: [2, 12, 40, 2], kernel: [3, 3], strides: [2, 2], padding: "VALID" },
];

describe("vectorised convolution and pooling in the generated C", { skip: gccMissing }, () => {
	it("Conv2D and DepthwiseConv2dNative (NHWC and NCHW, strides 1 and 2, dilation 2, SAME, VALID and EXPLICIT padding, 3, 5 and 17 channels, batch 2, multiplier 2, fused Relu, Relu6 and Tanh) match a float64 convolution within 1e-5", () => {
		const random = mulberry32(12);
		const built = newBuilt();
		CONVOLUTIONS.forEach((c, k) => addConv(built, `c${k}`, c, random));
		assertMatches(built, compileWindowOps(built, "conv_grid", false), "convolutions", 1e-6);
	});

	it("a per-channel bias and an activation fused into the convolution are applied to its sums, in both layouts and for depthwise", () => {
		const random = mulberry32(13);
		const built = newBuilt();
		const cases: ConvCase[] = [
			{ op: "Conv2D", format: "NCHW", image: [1, 28, 28, 1], kernel: [3, 3], channels: 8, padding: "VALID", bias: true, activation: "Relu" },
			{ op: "Conv2D", format: "NCHW", image: [1, 10, 17, 3], kernel: [3, 3], channels: 11, padding: "SAME", bias: true, activation: "Tanh" },
			{ op: "Conv2D", format: "NHWC", image: [2, 6, 7, 5], kernel: [3, 2], channels: 13, strides: [1, 2], padding: "SAME", bias: true, activation: "Relu6" },
			{ op: "Conv2D", format: "NCHW", image: [1, 7, 6, 2], kernel: [3, 3], channels: 9, strides: [2, 2], padding: "SAME", bias: true },
			{ op: "DepthwiseConv2dNative", format: "NHWC", image: [1, 8, 8, 12], kernel: [3, 3], channels: 1, padding: "SAME", bias: true, activation: "Relu" },
			{ op: "DepthwiseConv2dNative", format: "NCHW", image: [1, 9, 16, 4], kernel: [3, 3], channels: 3, padding: "VALID", bias: true, activation: "Relu6" },
		];
		cases.forEach((c, k) => addConv(built, `b${k}`, c, random));
		const model = compileWindowOps(built, "conv_bias", true);
		const fused = model.program.steps.filter((s): s is KernelStep => s.kind === "kernel" && s.fused.some((f) => f.op === "BiasAdd"));
		assert.equal(fused.length, cases.length, "every BiasAdd folded into its convolution");
		assertMatches(built, model, "fused bias", 1e-6);
	});

	it("filters fed at run time (not constants) give the same convolutions", () => {
		const random = mulberry32(14);
		const built = newBuilt();
		const cases: ConvCase[] = [
			{ op: "Conv2D", format: "NHWC", image: [1, 6, 7, 3], kernel: [3, 3], channels: 11, padding: "SAME", fedFilter: true },
			{ op: "Conv2D", format: "NCHW", image: [1, 9, 12, 2], kernel: [3, 3], channels: 5, padding: "SAME", fedFilter: true },
			{ op: "Conv2D", format: "NCHW", image: [1, 6, 6, 3], kernel: [2, 2], channels: 19, strides: [2, 2], padding: "VALID", fedFilter: true },
			{ op: "DepthwiseConv2dNative", format: "NHWC", image: [1, 5, 6, 10], kernel: [3, 3], channels: 1, padding: "SAME", fedFilter: true },
			{ op: "DepthwiseConv2dNative", format: "NHWC", image: [1, 5, 6, 3], kernel: [2, 2], channels: 3, padding: "VALID", fedFilter: true },
		];
		cases.forEach((c, k) => addConv(built, `f${k}`, c, random));
		assertMatches(built, compileWindowOps(built, "conv_fed", false), "fed filters", 1e-6);
	});

	it("MaxPool and AvgPool (NHWC and NCHW, SAME padding at the borders, VALID, EXPLICIT, strides 1 and 2, overlapping windows) match a float64 pool; the average divides by the taps inside the input", () => {
		const random = mulberry32(15);
		const built = newBuilt();
		POOLS.forEach((c, k) => {
			const shape = shapeIn(c.format, c.image);
			addPool(built, `p${k}`, c, makeTensor("float32", shape, randomValues(random, shape.reduce((a, b) => a * b, 1))));
		});
		assertMatches(built, compileWindowOps(built, "pool_grid", false), "pools");
	});

	it("NHWC convolutions and pools that tfjs implements agree with tfjs within 1e-5", async () => {
		const random = mulberry32(17);
		const built = newBuilt();
		const convolutions = CONVOLUTIONS.filter((c) => c.format === "NHWC" && !Array.isArray(c.padding) && !(c.strides && c.dilations));
		convolutions.forEach((c, k) => addConv(built, `t${k}`, c, random));
		const pools = POOLS.filter((c) => c.format === "NHWC" && !Array.isArray(c.padding));
		pools.forEach((c, k) => {
			const shape = shapeIn(c.format, c.image);
			addPool(built, `tp${k}`, c, makeTensor("float32", shape, randomValues(random, shape.reduce((a, b) => a * b, 1))));
		});
		assert.ok(convolutions.length >= 4 && pools.length >= 3, "the tfjs comparison covers several cases");
		const reference = await runTfjs(built.graph.def(), built.feeds, built.fetches);
		for (const { label, results } of runBuilds(compileWindowOps(built, "conv_tfjs", false), Object.values(built.feeds))) {
			reference.forEach((expected, r) => {
				const want = numbers(expected);
				const got = numbers(results[r]);
				assert.equal(got.length, want.length, `${label} ${built.fetches[r]}: size`);
				for (let i = 0; i < want.length; i++) {
					const bound = 1e-5 * built.expected[r].scale[i] + 1e-6;
					assert.ok(Math.abs(got[i] - want[i]) <= bound, `${label} ${built.fetches[r]}[${i}]: got ${got[i]}, tfjs ${want[i]}`);
				}
			});
		}
	});

	it("MaxPool skips NaN taps (a window of only NaN gives -inf) and a fused Relu turns a NaN sum into 0, as the scalar kernels did", () => {
		const random = mulberry32(16);
		const built = newBuilt();
		for (const [k, format] of (["NHWC", "NCHW"] as const).entries()) {
			const c: PoolCase = { op: "MaxPool", format, image: [1, 10, 10 + 10 * k, 9], kernel: [2, 2], strides: [k + 1, k + 1], padding: "VALID" };
			const shape = shapeIn(format, c.image);
			// Every third value NaN, and input rows 2 and 3 (of the first plane, channels-first) all NaN.
			const [from, to] = format === "NHWC" ? [2 * 10 * 9, 4 * 10 * 9] : [2 * 20, 4 * 20];
			const values = randomValues(random, shape.reduce((a, b) => a * b, 1)).map((v, i) => (i % 3 === 0 || (i >= from && i < to) ? NaN : v));
			addPool(built, `n${k}`, c, makeTensor("float32", shape, values));
			assert.ok(built.expected[k].values.includes(-Infinity), `${format}: a window holds only NaN`);
		}
		for (const [k, format] of (["NCHW", "NHWC"] as const).entries()) {
			const conv: ConvCase = { op: "Conv2D", format, image: [1, 12, 12, 1], kernel: [3, 3], channels: 8, padding: "VALID", activation: "Relu" };
			addConv(built, `relu${k}`, conv, random, (values) => values.map((v, i) => (i === 5 * 12 + 5 ? NaN : v)));
		}
		assertMatches(built, compileWindowOps(built, "nan_pool", false), "NaN", 1e-6);
	});
});
