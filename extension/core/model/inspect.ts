import { type Graph, attrType, hasAttr } from "../graph/graph";
import type { LoadedModel } from "../frontends";
import { type DType, formatShape } from "../graph/tensor";
import { declaredShape } from "../interp/infer";
import { interpreterOps } from "../interp/executor";

export interface InspectReport {
	file: string;
	format: string;
	nodeCount: number;
	producer: number;
	ops: { op: string; count: number }[];
	placeholders: { name: string; dtype?: DType; shape: string }[];
	variables: string[];
	candidateOutputs: string[];
	unsupportedOps: { op: string; count: number }[];
	checkpointPrefix?: string;
}

// Sinks that are bookkeeping of training, saving or summaries, never what a user deploys.
const NOT_AN_OUTPUT = /^(NoOp|Assign.*|Save.*|Restore.*|MergeV2Checkpoints|.*Summary.*|Queue.*|Apply.*|ResourceApply.*|Variable.*|VarHandleOp|Const|Placeholder.*|.*Queue.*|StackPush.*|ControlTrigger|TensorArrayCloseV3|Print.*|Assert)$/;

export function inspectModel(model: LoadedModel): InspectReport {
	const graph = model.graph;
	const histogram = new Map<string, number>();
	for (const node of graph.nodes) histogram.set(node.op, (histogram.get(node.op) ?? 0) + 1);
	const ops = [...histogram].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
	const supported = interpreterOps();
	return {
		file: model.file,
		format: model.format,
		nodeCount: graph.nodes.length,
		producer: graph.producer,
		ops,
		placeholders: graph.nodes.filter((n) => n.op === "Placeholder" || n.op === "PlaceholderV2" || n.op === "PlaceholderWithDefault").map((n) => ({
			name: n.name,
			dtype: hasAttr(n, "dtype") ? attrType(n, "dtype") : undefined,
			shape: formatShape(declaredShape(n)),
		})),
		variables: graph.nodes.filter((n) => n.op === "VariableV2" || n.op === "Variable" || n.op === "VarHandleOp").map((n) => n.name),
		candidateOutputs: candidateOutputs(graph),
		unsupportedOps: ops.filter((o) => !supported.has(o.op) && !/^(VariableV2|Variable|VarHandleOp|ReadVariableOp)$/.test(o.op)),
		checkpointPrefix: model.checkpointPrefix,
	};
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
		`  variables     ${report.variables.length}${report.checkpointPrefix ? ` (checkpoint ${report.checkpointPrefix})` : ""}`,
		`  outputs       ${report.candidateOutputs.length === 0 ? "none found" : ""}`,
		...report.candidateOutputs.slice(0, 40).map((name) => `    ${name}`),
		...(report.candidateOutputs.length > 40 ? [`    ... ${report.candidateOutputs.length - 40} more`] : []),
		`  ops           ${report.ops.length} distinct`,
		...report.ops.map((o) => `    ${String(o.count).padStart(7)}  ${o.op}`),
		`  unsupported   ${report.unsupportedOps.length === 0 ? "none" : report.unsupportedOps.map((o) => `${o.op} (${o.count})`).join(", ")}`,
	];
	return lines.join("\n");
}
