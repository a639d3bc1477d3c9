import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileModel } from "../../extension/core/codegen/compile";
import { loadOnnxBytes } from "../../extension/core/frontends/onnx/load";
import { buildConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { parseInputName } from "../../extension/core/graph/graph";
import type { Tensor } from "../../extension/core/graph/tensor";
import { tempDir } from "../support/cli";
import { buildHost, gccMissing, runHost } from "../support/hostBuild";
import { buildOnnxModel, f32 } from "../support/onnxBuilder";
import { mulberry32 } from "../support/random";

// Tan, Atan, Asin, Acos, Sinh, Cosh, Asinh, Acosh and Atanh compiled to C and run on the host, against JavaScript's
// Math functions (double precision, rounded to float here): every result within one float of the correctly rounded
// one, and exact where the result is a float (zeros with their sign, infinities, NaN for arguments out of domain).


const REFERENCE: Record<string, (x: number) => number> = {
	Tan: Math.tan, Atan: Math.atan, Asin: Math.asin, Acos: Math.acos, Sinh: Math.sinh, Cosh: Math.cosh, Asinh: Math.asinh, Acosh: Math.acosh, Atanh: Math.atanh,
};

const f = Math.fround;
const FLT_MAX = f(3.4028234663852886e38);
const EDGES = [
	0, 1, f(1 - 2 ** -24), f(1 + 2 ** -23), 0.5, 2, f(Math.PI / 2), f(Math.PI), f(Math.PI / 4), 2 ** -149, 2 ** -126, 2 ** -24, 1e-8, 1e-4, 0.35,
	f(Math.tan(Math.PI / 8)), 0.41421356, 10, 88.7, 89.4, 89.5, 90, 100, 710, 2 ** 24, 2 ** 25, f(2 ** 25 + 4), 1e10, 1e20, f(1e30), FLT_MAX, Infinity,
];

/** Edge cases of both signs, NaN, and random floats: uniform in [-1, 1] and [-10, 10], and spread over every binade. */
function argumentsToTry(): Float32Array {
	const random = mulberry32(91);
	const values = [...EDGES.flatMap((v) => [v, -v]), NaN];
	for (let i = 0; i < 2000; i++) values.push(random() * 2 - 1, random() * 20 - 10);
	for (let i = 0; i < 2000; i++) values.push((random() < 0.5 ? -1 : 1) * (1 + random()) * 2 ** Math.floor(random() * 254 - 126));
	return Float32Array.from(values);
}

/** Distance in floats between two float32 values; 0 for two NaNs, far for a NaN and a number. */
function floatDistance(a: number, b: number): number {
	if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
	const order = (v: number): number => {
		const bits = new Uint32Array(Float32Array.of(v).buffer)[0];
		return bits & 0x80000000 ? -(bits & 0x7fffffff) : bits;
	};
	return Math.abs(order(a) - order(b));
}

describe("trigonometric and hyperbolic ops in the generated C", { skip: gccMissing }, () => {
	it("Tan, Atan, Asin, Acos, Sinh, Cosh, Asinh, Acosh and Atanh match JavaScript's Math within one float, exactly on zeros, infinities and NaN", () => {
		const x = argumentsToTry();
		const ops = Object.keys(REFERENCE);
		const bytes = buildOnnxModel({
			opset: 17,
			inputs: [{ name: "x", dtype: "float32", shape: [x.length] }],
			outputs: ops.map((op) => ({ name: op.toLowerCase(), dtype: "float32" })),
			nodes: ops.map((op) => ({ op, inputs: ["x"], outputs: [op.toLowerCase()], name: op.toLowerCase() })),
		});
		const model = loadOnnxBytes(bytes, "trig.onnx");
		const fetches = (model.graphOutputs ?? []).map((o) => parseInputName(o.tensor).ref);
		const feeds = (model.graphInputs ?? []).map((input) => ({ ref: parseInputName(input.tensor).ref, shape: [x.length] }));
		const { config } = buildConfig(model.graph, feeds, fetches.map((ref) => ({ ref })));
		const compiled = compileModel(model.graph, config, "trig", "trig.onnx");
		const source = compiled.files.map((file) => file.text).join("\n");
		for (const op of ops) assert.match(source, new RegExp(`knn_${op.toLowerCase()}f\\(`), `the C has no knn_${op.toLowerCase()}f for ${op}`);
		const binary = buildHost(compiled, tempDir("trig"));
		const input: Tensor = f32([x.length], x);
		const [results] = runHost(binary, compiled, [input], 1);
		const failures: string[] = [];
		ops.forEach((op, k) => {
			const got = results[k].data as Float32Array;
			let exact = 0;
			for (let i = 0; i < x.length; i++) {
				const want = f(REFERENCE[op](x[i]));
				const d = floatDistance(got[i], want);
				if (d === 0 && Object.is(got[i], want)) exact++;
				// A result that is itself a float (0, -0, infinity, NaN) must come out exactly, sign included.
				const mustBeExact = want === 0 || !Number.isFinite(want);
				if (mustBeExact ? !Object.is(got[i], want) && !(Number.isNaN(got[i]) && Number.isNaN(want)) : d > 1) {
					failures.push(`${op}(${x[i]}) = ${got[i]}, Math gives ${want}`);
				}
			}
			// Math's functions are within an ulp of a double; nearly every float result rounds the same.
			assert.ok(exact >= 0.999 * x.length, `${op}: only ${exact} of ${x.length} results equal Math's rounded to float`);
		});
		assert.deepEqual(failures, []);
	});
});
