import { configFeeds, configRef } from "../../frontends/tf/tf2xlaConfig";
import type { Tf2xlaConfig } from "../../frontends/tf/proto/types";
import type { AttrValue } from "../../graph/attr";
import { Graph, type GraphNode, type TensorRef, refKey } from "../../graph/graph";
import { irAttr } from "../../graph/irAttr";
import { type DType, dtypeToEnum } from "../../graph/tensor";
import { type Inference, inferGraph } from "../../interp/infer";
import { type QuantizedType, quantizedRange, roundHalfAway } from "../../quant/arith";
import { quantAttrs } from "../../quant/params";
import { CompileError } from "../compileError";
import type { Program } from "../program";
import { quantizedFidelityLines } from "./fidelityNotes";

// `--no-fpu`: an integer-only model. Float arguments read only by QQuantize arrive as int32 fixed point, results
// made by QDequantize leave as int32 fixed point, and anything else still computing in float is refused.

/** Per argument and result: the fractional bits of its int32 fixed-point form, or undefined where it is unchanged. */
export interface NoFpuEdges {
	arguments: (number | undefined)[];
	results: (number | undefined)[];
}

export interface NoFpuGraph {
	graph: Graph;
	config: Tf2xlaConfig;
	edges: NoFpuEdges;
}

/** A fixed-point value keeps one bit of headroom above the largest magnitude its quantized tensor can hold. */
const MAX_FIXED_MAGNITUDE = 2 ** 30;
const FLOAT_TYPES = new Set<DType>(["float32", "float64", "float16", "bfloat16"]);
const ADVICE = "quantize the model (knn quantize MODEL --config CFG --calibration DATA --out MODEL_int8.tflite) and compile that, or compile without --no-fpu";

/** Fractional bits F for a quantized tensor: the largest with (q - zp) * scale * 2^F within 2^30 for every q. */
export function fracBitsFor(scale: number, zeroPoint: number, type: QuantizedType): number {
	const { min, max } = quantizedRange(type);
	const largest = Math.max(Math.abs(min - zeroPoint), Math.abs(max - zeroPoint)) * scale;
	let bits = 31;
	while (bits > 0 && largest * 2 ** bits > MAX_FIXED_MAGNITUDE) bits--;
	return bits;
}

/** "Q7.24": integer bits (sign excluded) and fractional bits of an int32. */
export function qFormat(fracBits: number): string {
	return `Q${31 - fracBits}.${fracBits}`;
}

/** Host side: float values as int32 fixed point, rounded half away from zero, saturated to int32. */
export function toFixedPoint(values: ArrayLike<number>, fracBits: number): Int32Array {
	return Int32Array.from(values, (v) => {
		const scaled = roundHalfAway(v * 2 ** fracBits);
		return Number.isNaN(scaled) ? 0 : Math.max(-2147483648, Math.min(2147483647, scaled));
	});
}

/** Host side: int32 fixed point back to float values. */
export function fromFixedPoint(raw: ArrayLike<number>, fracBits: number): Float32Array {
	return Float32Array.from(raw, (v) => v / 2 ** fracBits);
}

function consumersOf(graph: Graph, ref: TensorRef): GraphNode[] {
	return graph.consumers(ref.node).filter((n) => n.inputs.some((r) => r.node === ref.node && r.index === ref.index));
}

/**
 * Rewrites the edges of a quantized graph to fixed point (QQuantize -> QQuantizeFixed, QDequantize ->
 * QDequantizeFixed) and checks that nothing else computes in float; throws a CompileError naming the nodes that do.
 */
export function rewriteForNoFpu(graph: Graph, config: Tf2xlaConfig): NoFpuGraph {
	const replaced = new Map<string, GraphNode>();
	const feeds = configFeeds(graph, config);
	const argumentBits = feeds.map((feed): number | undefined => {
		if (feed.dtype !== "float32") return undefined;
		const readers = consumersOf(graph, feed.ref);
		if (readers.length === 0 || readers.some((n) => n.op !== "QQuantize" || n.inputs[0].node !== feed.ref.node || n.inputs[0].index !== feed.ref.index)) return undefined;
		const bits = Math.min(...readers.map((n) => {
			const q = quantAttrs(n);
			return fracBitsFor(q.outScale, q.outZeroPoint, q.outType as QuantizedType);
		}));
		for (const reader of readers) replaced.set(reader.name, withOp(reader, "QQuantizeFixed", { frac_bits: irAttr.i(bits) }));
		const source = graph.node(feed.ref.node);
		if (feed.ref.index === 0 && source.op.startsWith("Placeholder")) replaced.set(source.name, withOp(source, source.op, { dtype: irAttr.type("int32") }));
		return bits;
	});
	const fetches = config.fetch.map(configRef);
	const dequantized = fetches.map((ref) => {
		const node = graph.node(ref.node);
		return node.op === "QDequantize" && ref.index === 0 && graph.consumers(node.name).length === 0 ? node : undefined;
	});
	for (const node of dequantized) if (node) replaced.set(node.name, withOp(node, "QDequantizeFixed", { frac_bits: irAttr.i(0), out_type: irAttr.type("int32") }));
	const rewrittenConfig: Tf2xlaConfig = {
		...config,
		feed: config.feed.map((f, i) => (argumentBits[i] === undefined ? f : { ...f, type: dtypeToEnum("int32") })),
	};
	// Dtypes do not depend on frac_bits: one run gives both the check and each QDequantize's input type.
	const inference = inferGraph(new Graph(graph.nodes.map((n) => replaced.get(n.name) ?? n), graph.producer), configFeeds(graph, rewrittenConfig), fetches);
	const resultBits = dequantized.map((node): number | undefined => {
		if (!node) return undefined;
		const q = quantAttrs(node);
		const inputType = inference.tensors.get(refKey(node.inputs[0]))?.dtype ?? "int16";
		const bits = fracBitsFor(q.inScale[0], q.inZeroPoint[0] ?? 0, (["int8", "uint8", "int16"].includes(inputType) ? inputType : "int16") as QuantizedType);
		replaced.set(node.name, withOp(node, "QDequantizeFixed", { frac_bits: irAttr.i(bits), out_type: irAttr.type("int32") }));
		return bits;
	});
	const rewritten = new Graph(graph.nodes.map((n) => replaced.get(n.name) ?? n), graph.producer);
	checkIntegerOnly(rewritten, rewrittenConfig, inference);
	return { graph: rewritten, config: rewrittenConfig, edges: { arguments: argumentBits, results: resultBits } };
}

function withOp(node: GraphNode, op: string, attrs: Record<string, AttrValue>): GraphNode {
	return { ...node, op, attr: { ...node.attr, ...attrs } };
}

/** Refuses a graph where any node the fetches need reads or makes a float tensor whose value is not static. */
export function checkIntegerOnly(graph: Graph, config: Tf2xlaConfig, inference?: Inference): void {
	const feeds = configFeeds(graph, config);
	const fetches = config.fetch.map(configRef);
	inference ??= inferGraph(graph, feeds, fetches);
	const fed = new Set(feeds.map((f) => f.ref.node));
	const tensors = inference.tensors;
	const isFloat = (ref: TensorRef) => {
		const info = tensors.get(refKey(ref));
		return info !== undefined && FLOAT_TYPES.has(info.dtype) && info.value === undefined;
	};
	const problems: string[] = [];
	for (const name of graph.ancestors(fetches.map((f) => f.node), fed)) {
		const node = graph.node(name);
		if (fed.has(name) || node.op === "Const") continue;
		const outputs = Array.from({ length: inference.outputCounts.get(name) ?? 0 }, (_, index) => ({ node: name, index }));
		const floatTensor = outputs.find(isFloat) ?? node.inputs.find(isFloat);
		if (floatTensor === undefined) continue;
		const verb = floatTensor.node === name ? "computes" : "reads";
		problems.push(`node "${name}" (${node.op}) ${verb} the ${tensors.get(refKey(floatTensor))!.dtype} tensor "${refKey(floatTensor)}"`);
	}
	if (problems.length > 0) {
		const shown = problems.slice(0, 10).join("\n  ");
		throw new CompileError(`--no-fpu compiles integer-only models, but:\n  ${shown}${problems.length > 10 ? `\n  ... and ${problems.length - 10} more` : ""}\n${ADVICE}.`);
	}
}

/** The header comment's paragraph on floating point for an integer-only model. */
export function noFpuHeaderNotes(prefix: string, program: Program): string {
	const list = quantizedFidelityLines(program).join("\n");
	return ` * No floating point (--no-fpu): ${prefix}_model.c is integer only and builds with the kernel's own no-FPU
 * flags; ${prefix}_run() needs no kernel_fpu_begin()/kernel_fpu_end() and runs in any context that may take
 * its time. Fixed-point arguments and results are int32: convert with value = raw / 2^FRAC_BITS (the
 * ${prefix}_ARGi_FRAC_BITS and ${prefix}_RESULTi_FRAC_BITS defines below); inputs beyond the range saturate.
${list ? ` * Quantized ops, on the same quantized inputs:\n${list}\n` : ""}`;
}

/** Emitted C whose tokens (comments and strings removed) include float or double: a back end that slipped. */
export function floatTokensIn(source: string): string[] {
	const code = source.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ").replace(/"(?:[^"\\\n]|\\.)*"/g, "\"\"");
	return [...new Set(code.match(/\b(?:float|double|long double|_Float\d+|__fp16)\b/g) ?? [])];
}
