import { type Graph, type GraphNode, attrType, hasAttr, parseInputName } from "../graph/graph";
import type { LoadedModel } from "../frontends";
import type { SignatureTensor } from "../frontends/model";
import { type DType, formatShape } from "../graph/tensor";
import { declaredShape } from "../interp/infer";
import { unsupportedOps } from "../ops/support";
import { isVariable } from "../ops/variables";
import { tensorQuantization } from "../quant/params";

export interface InspectReport {
	file: string;
	format: string;
	nodeCount: number;
	producer: number;
	ops: { op: string; count: number }[];
	/** The file's own op types (ONNX), whose names differ from the IR's; absent for TensorFlow models. */
	sourceOps?: { op: string; count: number }[];
	placeholders: { name: string; dtype?: DType; shape: string }[];
	variables: string[];
	candidateOutputs: string[];
	/** Ops the compiler would refuse among the nodes inference needs (see `unsupportedScope`), with node counts. */
	unsupportedOps: { op: string; count: number }[];
	/** What `unsupportedOps` covers: the signatures' outputs and what they need, or the candidate outputs'. */
	unsupportedScope: string;
	/** The same over the other nodes: training, saving and summaries. */
	unsupportedOpsElsewhere: { op: string; count: number }[];
	checkpointPrefix?: string;
	/** A SavedModel's signatures, sorted by key; each input and output with its tensor, dtype and shape. */
	signatures: SignatureReport[];
	/** Quantized tensors (TFLite) in graph order, by the node producing them; absent when there are none. */
	quantized?: { tensor: string; quantization: string }[];
}

export interface SignatureReport {
	key: string;
	methodName?: string;
	inputs: SignatureTensorReport[];
	outputs: SignatureTensorReport[];
}

export interface SignatureTensorReport {
	key: string;
	/** "node:index". */
	tensor: string;
	dtype?: DType;
	shape: string;
}

// Sinks that are bookkeeping of training, saving or summaries, never what a user deploys.
const NOT_AN_OUTPUT = /^(NoOp|Assign.*|Save.*|Restore.*|MergeV2Checkpoints|.*Summary.*|Queue.*|Apply.*|ResourceApply.*|Variable.*|VarHandleOp|Const|Placeholder.*|.*Queue.*|StackPush.*|ControlTrigger|TensorArrayCloseV3|Print.*|Assert)$/;

export function inspectModel(model: LoadedModel): InspectReport {
	const graph = model.graph;
	const histogram = new Map<string, number>();
	for (const node of graph.nodes) histogram.set(node.op, (histogram.get(node.op) ?? 0) + 1);
	const ops = [...histogram].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
	const candidates = candidateOutputs(graph);
	const inference = inferenceNodes(model, candidates);
	const quantized = graph.nodes.flatMap((node) => {
		const text = describeQuantization(node);
		return text ? [{ tensor: node.name, quantization: text }] : [];
	});
	return {
		file: model.file,
		format: model.format,
		nodeCount: graph.nodes.length,
		producer: graph.producer,
		ops,
		...(model.sourceOps ? { sourceOps: model.sourceOps } : {}),
		placeholders: graph.nodes.filter((n) => n.op === "Placeholder" || n.op === "PlaceholderV2" || n.op === "PlaceholderWithDefault").map((n) => ({
			name: n.name,
			dtype: hasAttr(n, "dtype") ? attrType(n, "dtype") : undefined,
			shape: formatShape(declaredShape(n)),
		})),
		variables: graph.nodes.filter((n) => isVariable(n.op)).map((n) => n.name),
		candidateOutputs: candidates,
		// The compiler's own verdict (ops/support.ts), so "none" here means `knn compile` accepts every node it needs.
		unsupportedOps: unsupportedOps(graph.nodes.filter((n) => inference.nodes.has(n.name))),
		unsupportedScope: inference.scope,
		unsupportedOpsElsewhere: unsupportedOps(graph.nodes, (n) => !inference.nodes.has(n.name)),
		checkpointPrefix: model.checkpointPrefix,
		signatures: (model.signatures ?? []).map((signature) => ({
			key: signature.key,
			...(signature.methodName ? { methodName: signature.methodName } : {}),
			inputs: signature.inputs.map(tensorReport),
			outputs: signature.outputs.map(tensorReport),
		})),
		...(quantized.length > 0 ? { quantized } : {}),
	};
}

const significant = (x: number): string => String(Number(x.toPrecision(3)));

/**
 * A node's output quantization as one line: "scale 0.0137 zero point -3 (int8)", or per channel
 * "per-channel axis 0, 32 scales 0.0012..0.0051 (int8)"; undefined when the output is not quantized.
 */
export function describeQuantization(node: GraphNode): string | undefined {
	const q = tensorQuantization(node);
	if (!q || q.scale.length === 0) return undefined;
	const typeAttr = ["out_type", "dtype", "T"].find((name) => hasAttr(node, name));
	let dtype = "";
	try {
		dtype = typeAttr ? ` (${attrType(node, typeAttr)})` : "";
	} catch {
		// An unknown type number: the scales alone still say what a user wants to know.
	}
	if (q.scale.length === 1) return `scale ${significant(q.scale[0])} zero point ${q.zeroPoint[0] ?? 0}${dtype}`;
	const zeroPoints = new Set(q.zeroPoint);
	const zero = zeroPoints.size === 1 ? (q.zeroPoint[0] === 0 ? "" : `, zero point ${q.zeroPoint[0]}`) : `, zero points ${Math.min(...q.zeroPoint)}..${Math.max(...q.zeroPoint)}`;
	return `per-channel axis ${q.axis}, ${q.scale.length} scales ${significant(Math.min(...q.scale))}..${significant(Math.max(...q.scale))}${zero}${dtype}`;
}

/**
 * The nodes deploying the model needs: what the signatures' outputs depend on, or, without signatures, what the
 * candidate outputs depend on. A training graph's optimizer, saver and summaries are not among them.
 */
function inferenceNodes(model: LoadedModel, candidates: string[]): { nodes: Set<string>; scope: string } {
	const graph = model.graph;
	const outputs = (model.signatures ?? []).flatMap((s) => s.outputs.map((t) => parseInputName(t.tensor).ref.node)).filter((n) => graph.has(n));
	if (outputs.length > 0) return { nodes: graph.ancestors(outputs), scope: "what the signatures' outputs need" };
	return { nodes: graph.ancestors(candidates), scope: "what the candidate outputs need" };
}

function tensorReport(tensor: SignatureTensor): SignatureTensorReport {
	return { key: tensor.key, tensor: tensor.tensor, ...(tensor.dtype ? { dtype: tensor.dtype } : {}), shape: formatShape(tensor.shape) };
}

// Name scopes TensorFlow gives to training, saving and summaries; their reads do not make a tensor internal.
const TRAINING_SCOPE = /(^|\/)(gradients|save|train|Adam|summaries?|loss)(_\d+)?(\/|$)/;

/** Inference sinks: nodes nothing reads through a data edge, apart from training and saving machinery. */
export function candidateOutputs(graph: Graph): string[] {
	const read = new Set<string>();
	for (const node of graph.nodes) {
		if (TRAINING_SCOPE.test(node.name)) continue;
		for (const ref of node.inputs) read.add(ref.node);
	}
	return graph.nodes.filter((n) => !read.has(n.name) && !NOT_AN_OUTPUT.test(n.op) && !TRAINING_SCOPE.test(n.name)).map((n) => n.name);
}

export function formatInspectReport(report: InspectReport): string {
	const lines = [
		`${report.file}`,
		`  format        ${report.format} (producer ${report.producer})`,
		`  nodes         ${report.nodeCount}`,
		`  placeholders  ${report.placeholders.length === 0 ? "none" : ""}`,
		...report.placeholders.map((p) => `    ${p.name}  ${p.dtype ?? "?"} ${p.shape}`),
		`  signatures    ${report.signatures.length === 0 ? "none" : report.signatures.length}`,
		...report.signatures.flatMap(formatSignature),
		`  variables     ${report.variables.length}${report.checkpointPrefix ? ` (checkpoint ${report.checkpointPrefix})` : ""}`,
		`  outputs       ${report.candidateOutputs.length === 0 ? "none found" : ""}`,
		...report.candidateOutputs.slice(0, 40).map((name) => `    ${name}`),
		...(report.candidateOutputs.length > 40 ? [`    ... ${report.candidateOutputs.length - 40} more`] : []),
		`  ops           ${report.ops.length} distinct`,
		...report.ops.map((o) => `    ${String(o.count).padStart(7)}  ${o.op}`),
		...(report.sourceOps ? [`  ${report.format} ops`.padEnd(16) + `${report.sourceOps.length} distinct`, ...report.sourceOps.map((o) => `    ${String(o.count).padStart(7)}  ${o.op}`)] : []),
		...(report.quantized ? [`  quantized     ${report.quantized.length} tensors`, ...report.quantized.map((q) => `    ${q.tensor}  ${q.quantization}`)] : []),
		`  unsupported   ${opCounts(report.unsupportedOps)} (in ${report.unsupportedScope})`,
		...(report.unsupportedOpsElsewhere.length > 0
			? [`                elsewhere in the graph (training, saving, summaries): ${opCounts(report.unsupportedOpsElsewhere)}`]
			: []),
	];
	return lines.join("\n");
}

function opCounts(ops: { op: string; count: number }[]): string {
	return ops.length === 0 ? "none" : ops.map((o) => `${o.op} (${o.count})`).join(", ");
}

function formatSignature(signature: SignatureReport): string[] {
	const rows = [
		...signature.inputs.map((t) => ["input", t] as const),
		...signature.outputs.map((t) => ["output", t] as const),
	];
	const width = (pick: (t: SignatureTensorReport) => string) => Math.max(0, ...rows.map(([, t]) => pick(t).length));
	const keyWidth = width((t) => t.key);
	const tensorWidth = width((t) => t.tensor || "(no tensor name)");
	return [
		`    ${signature.key}${signature.methodName ? `  (${signature.methodName})` : ""}`,
		...rows.map(([kind, t]) => `      ${kind.padEnd(6)}  ${t.key.padEnd(keyWidth)}  ${(t.tensor || "(no tensor name)").padEnd(tensorWidth)}  ${t.dtype ?? "?"} ${t.shape}`),
	];
}
