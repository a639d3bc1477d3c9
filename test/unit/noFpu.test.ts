import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { CompileError } from "../../extension/core/codegen/compileError";
import { fracBitsFor, fromFixedPoint, rewriteForNoFpu, toFixedPoint } from "../../extension/core/codegen/cint/noFpu";
import type { Tf2xlaConfig } from "../../extension/core/frontends/tf/proto/types";
import { Graph, type TensorRef } from "../../extension/core/graph/graph";
import { type DType, makeTensor, shapeSize } from "../../extension/core/graph/tensor";
import { runGraph } from "../../extension/core/interp/executor";
import { NO_HEADERS_HINT, installedHeaderVersions } from "../../extension/core/kmod/kernelHeaders";
import { moduleLayout, writeModuleProject } from "../../extension/core/kmod/moduleProject";
import { checkNoFloatInstructions, moduleObjectsWithFloat, undefinedSymbols } from "../../extension/core/kmod/objectCheck";
import { tempDir } from "../support/cli";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { buildHost, gccMissing, runHost } from "../support/hostBuild";

const KVER = installedHeaderVersions()[0] as string | undefined;

// An int8 edge as TFLite stores it: a float32 scale and a zero point.
const IN_SCALE = Math.fround(0.0235294122248888);
const IN_ZERO_POINT = -3;
const SHAPE = [1, 64];

function quantAttrs(inScale: number, inZeroPoint: number, outScale: number, outZeroPoint: number, outType: DType) {
	return {
		in_scale: attr.floats([inScale]), in_zero_point: attr.ints([inZeroPoint]),
		out_scale: attr.f(outScale), out_zero_point: attr.i(outZeroPoint), out_type: attr.type(outType), activation: attr.s("NONE"),
	};
}

function configOf(feeds: TensorRef[], fetches: TensorRef[]): Tf2xlaConfig {
	return {
		feed: feeds.map((ref) => ({ id: { node_name: ref.node, output_index: ref.index }, shape: { dim: SHAPE.map((size) => ({ size })) } })),
		fetch: fetches.map((ref) => ({ id: { node_name: ref.node, output_index: ref.index } })),
		variable: [],
	};
}

/** x (float) -> QQuantize (int8) -> QDequantize: the two edges of an integer-only model and nothing between. */
function edgeGraph(): { graph: Graph; config: Tf2xlaConfig } {
	const b = new GraphBuilder();
	b.placeholder("x", "float32", SHAPE);
	b.op("QQuantize", "q", ["x"], quantAttrs(0, 0, IN_SCALE, IN_ZERO_POINT, "int8"));
	b.op("QDequantize", "y", ["q"], quantAttrs(IN_SCALE, IN_ZERO_POINT, 0, 0, "float32"));
	return { graph: Graph.fromGraphDef(b.def()), config: configOf([{ node: "x", index: 0 }], [{ node: "y", index: 0 }]) };
}

/** Inputs covering the int8 range, half-way points, both signs and values beyond the range (which saturate). */
function edgeInputs(): Float32Array {
	const values: number[] = [];
	for (let i = 0; i < shapeSize(SHAPE); i++) {
		const step = i - 34;
		values.push(Math.fround((step + (i % 3 === 0 ? 0.5 : i % 3 === 1 ? 0.37 : -0.21)) * IN_SCALE * (i > 60 ? 9 : 1.7)));
	}
	return Float32Array.from(values);
}

/** TFLite's QUANTIZE then DEQUANTIZE in float64, written from the scales: q = clamp(round_half_away(x / s) + zp). */
function expectedDequantized(x: number): { q: number; y: number } {
	const scaled = x / IN_SCALE;
	const rounded = scaled < 0 ? -Math.round(-scaled) : Math.round(scaled);
	const q = Math.max(-128, Math.min(127, rounded + IN_ZERO_POINT));
	return { q, y: (q - IN_ZERO_POINT) * IN_SCALE };
}

describe("--no-fpu: integer-only models with fixed-point edges", () => {
	it("chooses the most fractional bits that hold the quantized range with one bit of headroom", () => {
		// int8 with scale 1/42.5 and zero point -3: largest magnitude 131 / 42.5 = 3.08, so Q2.29 would overflow 2^30.
		const bits = fracBitsFor(IN_SCALE, IN_ZERO_POINT, "int8");
		assert.equal(bits, 28);
		assert.ok(131 * IN_SCALE * 2 ** bits <= 2 ** 30 && 131 * IN_SCALE * 2 ** (bits + 1) > 2 ** 30);
		assert.deepEqual(Array.from(toFixedPoint([1.5, -1.5, 1e12, -1e12], 4)), [24, -24, 2147483647, -2147483648]);
		assert.deepEqual(Array.from(fromFixedPoint([24, -24], 4)), [1.5, -1.5]);
	});

	it("states each edge's C type and Q format in NAME.h and leaves no float in the model unit", () => {
		const { graph, config } = edgeGraph();
		const model = compileModel(graph, config, "edges", "test graph", { noFpu: true });
		const header = model.files.find((f) => f.name === "edges.h")!.text;
		const source = model.files.find((f) => f.name === "edges_model.c")!.text;
		assert.match(header, /#define edges_NO_FPU 1/);
		assert.match(header, /#define edges_ARG0_FRAC_BITS 28/);
		assert.match(header, /#define edges_RESULT0_FRAC_BITS 28/);
		assert.match(header, /0 {2}x {2}int32 \[1,64\], 256 bytes, Q3\.28 fixed point: value = raw \/ 2\^28/);
		assert.doesNotMatch(header, /kernel_fpu_begin\(\) and\s+\* kernel_fpu_end\(\)\. Every/);
		assert.deepEqual(model.noFpu, { arguments: [28], results: [28] });
		for (const text of [header, source]) assert.doesNotMatch(text.replace(/\/\*[\s\S]*?\*\//g, ""), /\b(float|double)\b/);
	});

	it("refuses a float model, naming the node that computes in float and what to do", () => {
		const b = new GraphBuilder();
		b.placeholder("x", "float32", SHAPE);
		b.constOf("w", "float32", [0.5]);
		b.op("Mul", "scaled", ["x", "w"], { T: attr.type("float32") });
		b.op("Relu", "act", ["scaled"], { T: attr.type("float32") });
		const graph = Graph.fromGraphDef(b.def());
		const config = configOf([{ node: "x", index: 0 }], [{ node: "act", index: 0 }]);
		assert.throws(() => compileModel(graph, config, "floaty", "test graph", { noFpu: true }), (error: Error) =>
			error instanceof CompileError && /node "scaled" \(Mul\) computes the float32 tensor "scaled"/.test(error.message)
			&& /node "act" \(Relu\)/.test(error.message) && /knn quantize/.test(error.message));
	});

	it("refuses a quantized model whose result is read by a float op after its DEQUANTIZE", () => {
		const b = new GraphBuilder();
		b.placeholder("x", "float32", SHAPE);
		b.op("QQuantize", "q", ["x"], quantAttrs(0, 0, IN_SCALE, IN_ZERO_POINT, "int8"));
		b.op("QDequantize", "dq", ["q"], quantAttrs(IN_SCALE, IN_ZERO_POINT, 0, 0, "float32"));
		b.op("Tanh", "t", ["dq"], { T: attr.type("float32") });
		const graph = Graph.fromGraphDef(b.def());
		assert.throws(() => compileModel(graph, configOf([{ node: "x", index: 0 }], [{ node: "t", index: 0 }]), "tail", "test", { noFpu: true }),
			(error: Error) => error instanceof CompileError && /node "t" \(Tanh\)/.test(error.message));
	});

	describe("the generated C on the host", { skip: gccMissing }, () => {
		it("equals the interpreter on the rewritten graph bit for bit, and TFLite's quantize to within one step", () => {
			const { graph, config } = edgeGraph();
			const model = compileModel(graph, config, "edges", "test graph", { noFpu: true });
			const inputBits = model.noFpu!.arguments[0]!;
			const outputBits = model.noFpu!.results[0]!;
			const x = edgeInputs();
			const raw = toFixedPoint(x, inputBits);
			const binary = buildHost(model, tempDir("nofpu-host"));
			const host = runHost(binary, model, [makeTensor("int32", SHAPE, raw)], 1)[0][0];
			assert.equal(host.dtype, "int32");

			const rewritten = rewriteForNoFpu(graph, config).graph;
			assert.deepEqual(rewritten.nodes.map((n) => n.op), ["Placeholder", "QQuantizeFixed", "QDequantizeFixed"]);
			const interpreted = runGraph(rewritten, new Map([["x", makeTensor("int32", SHAPE, raw)]]), [{ node: "y", index: 0 }])[0];
			assert.deepEqual(Array.from(host.data as Int32Array), Array.from(interpreted.data as Int32Array));

			const y = Array.from(host.data as Int32Array, (v) => v / 2 ** outputBits);
			let exact = 0;
			x.forEach((value, i) => {
				const { q, y: want } = expectedDequantized(value);
				const step = Math.round(y[i] / IN_SCALE) + IN_ZERO_POINT;
				assert.ok(Math.abs(step - q) <= 1, `x[${i}] = ${value}: quantized to ${step}, TFLite's rounding gives ${q}`);
				// the dequantized value stands for its step to within the fixed point's last place
				assert.ok(Math.abs(y[i] - (step - IN_ZERO_POINT) * IN_SCALE) <= 2 ** -outputBits, `y[${i}] = ${y[i]}`);
				if (Math.abs(y[i] - want) <= 2 ** -outputBits) exact++;
			});
			assert.equal(exact, x.length, "every input away from a half-way point quantizes exactly as TFLite does");
		});
	});

	describe("the kernel module", { skip: KVER === undefined ? NO_HEADERS_HINT : false }, () => {
		it("builds with the kernel's own flags for every object, and objdump finds no x87/SSE/AVX instruction in any object or the .ko", async () => {
			const { graph, config } = edgeGraph();
			const model = compileModel(graph, config, "edges", "test graph", { noFpu: true });
			const dir = tempDir("nofpu-kmod");
			for (const file of model.files) fs.writeFileSync(path.join(dir, file.name), file.text);
			const bytes = (names: string[]) => names.map((name) => ({ name, bytes: 4 * shapeSize(SHAPE) }));
			writeModuleProject(dir, {
				prefix: "edges", template: "selftest", modelFiles: ["edges_model.c"], noFpu: true,
				arguments: bytes(model.program.argumentNames), results: bytes(model.program.resultNames),
			});
			assert.doesNotMatch(fs.readFileSync(path.join(dir, "Kbuild"), "utf8"), /msse|mhard-float|CFLAGS_/);
			const output = await new Promise<string>((resolve, reject) => {
				execFile("make", [`KVER=${KVER}`], { cwd: dir, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } }, (error, stdout, stderr) => {
					if (error) reject(new Error(`make in ${dir} failed:\n${stdout}${stderr}`));
					else resolve(stdout + stderr);
				});
			});
			assert.deepEqual(output.split("\n").filter((line) => /warning:/i.test(line)), [], output);
			const layout = moduleLayout("edges", ["edges_model.c"], true);
			assert.deepEqual(layout.fpObjects, []);
			const objects = fs.readdirSync(dir).filter((f) => f.endsWith(".o"));
			assert.ok(["edges_main.o", "edges_model.o", "edges.mod.o"].every((o) => objects.includes(o)), objects.join(" "));
			assert.deepEqual(await moduleObjectsWithFloat(dir, layout.koFile), []);
			// the check is not vacuous: the model unit has the fixed-point loops, 64-bit multiplies and all
			assert.ok((await checkNoFloatInstructions(path.join(dir, "edges_model.o"))).floatInstructions.length === 0);
			assert.match(fs.readFileSync(path.join(dir, "edges_model.c"), "utf8"), /long long p = /);
			const needed = await undefinedSymbols(path.join(dir, layout.koFile));
			assert.ok(!needed.some((s) => /fpu/.test(s)), needed.join(" "));
		});
	});
});
