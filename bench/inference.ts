// Inference speed of the generated C against tfjs (CPU backend) on the same graphs, and against the FLOP
// lower bound of this CPU. Run: npm run bench. Prints one table; ratios are from this one run.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compileModel } from "../extension/core/codegen/compile";
import { countFlops } from "../extension/core/codegen/flops";
import { buildConfig } from "../extension/core/frontends/tf/tf2xlaConfig";
import { Graph } from "../extension/core/graph/graph";
import { type Tensor, makeTensor } from "../extension/core/graph/tensor";
import { loadFrozen } from "../extension/core/model/prepare";
import { GraphBuilder, attr } from "../test/support/graphBuilder";
import { buildHost } from "../test/support/hostBuild";
import { mulberry32 } from "../test/support/random";
import { INDIGO_DIR } from "../test/support/shared";
import { timeTfjs } from "../test/support/tfjsOracle";

interface Case { name: string; graph: Graph; feeds: Record<string, Tensor>; fetches: string[] }

const random = mulberry32(5);
const tensor = (shape: number[]) => makeTensor("float32", shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() - 0.5));

function mlp(): Case {
	const g = new GraphBuilder();
	const T = attr.type("float32");
	let h = g.placeholder("x", "float32", [1, 64]);
	[[64, 128], [128, 128], [128, 10]].forEach(([i, o], k) => {
		const mm = g.op("MatMul", `l${k}/mm`, [h, g.const(`l${k}/W`, tensor([i, o]))], { T, transpose_a: attr.b(false), transpose_b: attr.b(false) });
		h = g.op("BiasAdd", `l${k}/b`, [mm, g.const(`l${k}/bias`, tensor([o]))], { T });
		if (k < 2) h = g.op("Relu", `l${k}/relu`, [h], { T });
	});
	g.op("Softmax", "probs", [h], { T });
	return { name: "MLP 64-128-128-10", graph: Graph.fromGraphDef(g.def()), feeds: { x: tensor([1, 64]) }, fetches: ["probs"] };
}

function indigo(): Case | undefined {
	if (!fs.existsSync(path.join(INDIGO_DIR, "model.meta"))) return undefined;
	const fetches = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];
	const { graph } = loadFrozen(path.join(INDIGO_DIR, "model.meta"), fetches, path.join(INDIGO_DIR, "model"));
	return { name: "Indigo LSTM (1 step)", graph, feeds: { "global/Placeholder": tensor([1, 1, 9]), "global/Placeholder_1": tensor([1, 32]), "global/Placeholder_2": tensor([1, 32]) }, fetches };
}

/** Single-precision FLOP/s of one core with vectorised multiply-adds: the peak the bound is taken from. */
function peakFlops(dir: string): number {
	const source = path.join(dir, "peak.c");
	fs.writeFileSync(source, `#include <stdio.h>
#include <time.h>
int main(void) {
	float acc[64]; struct timespec a, b; long n = 20000000, i; int j; float s = 0;
	for (j = 0; j < 64; ++j) acc[j] = j * 0.001f;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; ++i) for (j = 0; j < 64; ++j) acc[j] = acc[j] * 0.9999f + 0.0001f;
	clock_gettime(CLOCK_MONOTONIC, &b);
	for (j = 0; j < 64; ++j) s += acc[j];
	printf("%f %f\\n", 2.0 * 64 * n / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9), s);
	return 0;
}
`);
	execFileSync("gcc", ["-O3", "-march=native", source, "-o", path.join(dir, "peak")]);
	return Number(execFileSync(path.join(dir, "peak"), { encoding: "utf8" }).split(" ")[0]);
}

async function main(): Promise<void> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "knn-bench-"));
	const peak = peakFlops(dir);
	const cases = [indigo(), mlp()].filter((c): c is Case => c !== undefined);
	const rows: string[][] = [];
	for (const c of cases) {
		const { config } = buildConfig(c.graph, Object.entries(c.feeds).map(([node, t]) => ({ ref: { node, index: 0 }, shape: t.shape })), c.fetches.map((node) => ({ ref: { node, index: 0 } })));
		const prefix = c.name.startsWith("Indigo") ? "indigo_nn" : "mlp";
		const model = compileModel(c.graph, config, prefix, c.name);
		const binary = buildHost(model, fs.mkdtempSync(path.join(dir, `${prefix}-`)));
		const words = Object.values(c.feeds).flatMap((t) => Array.from(new Uint32Array(new Float32Array(t.data as Float32Array).buffer), (w) => w.toString(16))).join(" ");
		const runs = 200000;
		const cNs = Number(execFileSync(binary, ["bench", String(runs)], { input: words, encoding: "utf8" }).split(" ")[1]);
		const tfjsNs = await timeTfjs(c.graph.toGraphDef(), c.feeds, c.fetches, c.name.startsWith("Indigo") ? 300 : 2000);
		const flops = countFlops(model.program.steps);
		const boundNs = (flops / peak) * 1e9;
		rows.push([c.name, cNs.toFixed(0), tfjsNs.toFixed(0), (tfjsNs / cNs).toFixed(1), String(flops), boundNs.toFixed(1), (cNs / boundNs).toFixed(1)]);
	}
	const header = ["model", "generated C ns", "tfjs-cpu ns", "tfjs / C", "FLOPs", "FLOP bound ns", "C / bound"];
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
	const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
	console.log(`peak single-precision rate of one core here: ${(peak / 1e9).toFixed(1)} GFLOP/s (gcc -O3 -march=native FMA loop)`);
	console.log(line(header));
	for (const row of rows) console.log(line(row));
	fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
	console.error(error instanceof Error ? error.message : String(error));
	process.exitCode = 1;
});
