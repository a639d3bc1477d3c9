// A node's details as text for the inspector's details pane; weights are read only when asked for. No `vscode` here.
import { type Checkpoint, openCheckpoint } from "../../core/frontends/tf/checkpoint/bundle";
import { attrString, attrTensor, hasAttr } from "../../core/graph/graph";
import type { LoadedModel } from "../../core/frontends";
import { type Tensor, dtypeFromEnum, dtypeTfName, formatShape, shapeFromProto, tensorFromProto } from "../../core/graph/tensor";
import type { AttrValue, TensorProto } from "../../core/frontends/tf/proto/types";
import { has } from "../../core/frontends/tf/proto/types";
import type { GraphNodeView, NodeDetails } from "../../../webview/shared/protocol";
import { hintedShapes } from "./graphView";
import { isVariable } from "../../core/ops/variables";
import { describeQuantization } from "../../core/model/inspect";

/** Attribute name under which the details say why weight statistics could not be given. */
export const WEIGHTS_UNAVAILABLE = "(weights)";

const MAX_LIST_ITEMS = 16;
const MAX_INLINE_VALUES = 10;
const MAX_TEXT = 200;

export interface DetailsOptions {
	weights: boolean;
	/** The drawn node, for the shapes and dtype the view already worked out; absent for folded nodes. */
	viewNode?: GraphNodeView;
	/** Opens the model's checkpoint; injected so a caller can cache it. */
	checkpoint?: () => Checkpoint | undefined;
}

export function nodeDetails(model: LoadedModel, name: string, options: DetailsOptions): NodeDetails {
	const node = model.graph.get(name);
	if (!node) throw new Error(`${model.file}: the graph has no node named "${name}"`);
	// A quantized output reads better as one line than as the three `_quant_*` attributes it replaces.
	const quantization = describeQuantization(node);
	const shown = Object.keys(node.attr).sort().filter((key) => !(quantization && key.startsWith("_quant_")));
	const attrs = shown.map((key) => ({ name: key, value: formatAttr(node.attr[key]) }));
	if (quantization) attrs.unshift({ name: "quantization", value: quantization });
	// A folded node is not in the view: what the graph itself says about its outputs stands in.
	const known = options.viewNode ?? hintedShapes(node);
	const details: NodeDetails = { name, op: node.op, attrs, shapes: known.shapes, ...(known.dtype ? { dtype: known.dtype } : {}) };
	if (!options.weights) return details;
	try {
		const tensor = weightTensor(model, name, options.checkpoint ?? (() => defaultCheckpoint(model)));
		const stats = weightStats(tensor);
		if (stats) details.weights = stats;
		else attrs.push({ name: WEIGHTS_UNAVAILABLE, value: `${tensor.dtype} values have no statistics` });
	} catch (error) {
		attrs.push({ name: WEIGHTS_UNAVAILABLE, value: error instanceof Error ? error.message : String(error) });
	}
	return details;
}

function defaultCheckpoint(model: LoadedModel): Checkpoint | undefined {
	return model.checkpointPrefix ? openCheckpoint(model.checkpointPrefix) : undefined;
}

function weightTensor(model: LoadedModel, name: string, checkpoint: () => Checkpoint | undefined): Tensor {
	const node = model.graph.node(name);
	if (node.op === "Const") return attrTensor(node, "value");
	if (!isVariable(node.op)) throw new Error(`"${name}" is a ${node.op}, not a constant or variable: it holds no weights`);
	const opened = checkpoint();
	if (!opened) {
		throw new Error(`"${name}" is a variable and no checkpoint sits beside ${model.file} (expected its prefix's .index and .data files)`);
	}
	const sharedName = hasAttr(node, "shared_name") ? attrString(node, "shared_name") : "";
	const key = opened.entry(name) ? name : sharedName && opened.entry(sharedName) ? sharedName : name;
	return opened.read(key);
}

/** Count, range, mean and standard deviation (population) of a numeric tensor; undefined for strings and empty tensors. */
export function weightStats(tensor: Tensor): NodeDetails["weights"] | undefined {
	const data = tensor.data;
	if (tensor.dtype === "string" || data.length === 0 || typeof data[0] !== "number") return undefined;
	const values = data as ArrayLike<number>;
	let min = Infinity;
	let max = -Infinity;
	let sum = 0;
	for (let i = 0; i < values.length; i++) {
		const v = values[i];
		if (v < min) min = v;
		if (v > max) max = v;
		sum += v;
	}
	const mean = sum / values.length;
	let squares = 0;
	for (let i = 0; i < values.length; i++) squares += (values[i] - mean) ** 2;
	return { shape: formatShape(tensor.shape), count: values.length, min, max, mean, std: Math.sqrt(squares / values.length) };
}

/** An attribute as one line of text; tensors are summarised, long lists and strings cut. */
export function formatAttr(value: AttrValue): string {
	if (has(value, "s")) return formatBytes(value.s!);
	if (has(value, "i")) return String(value.i);
	if (has(value, "f")) return String(value.f);
	if (has(value, "b")) return String(value.b);
	if (has(value, "type")) return formatDType(Number(value.type));
	if (has(value, "shape")) return formatShape(shapeFromProto(value.shape));
	if (has(value, "tensor")) return formatTensor(value.tensor!);
	if (has(value, "func")) return value.func?.name ?? "";
	if (has(value, "placeholder")) return `$${value.placeholder}`;
	if (has(value, "list")) return formatList(value.list!);
	return "";
}

function formatList(list: NonNullable<AttrValue["list"]>): string {
	const items: string[] =
		list.s?.length ? list.s.map(formatBytes)
			: list.i?.length ? list.i.map(String)
				: list.f?.length ? list.f.map(String)
					: list.b?.length ? list.b.map(String)
						: list.type?.length ? list.type.map((t) => formatDType(Number(t)))
							: list.shape?.length ? list.shape.map((s) => formatShape(shapeFromProto(s)))
								: list.tensor?.length ? list.tensor.map(formatTensor)
									: list.func?.length ? list.func.map((f) => f.name ?? "")
										: [];
	const shown = items.slice(0, MAX_LIST_ITEMS).join(", ");
	return `[${shown}${items.length > MAX_LIST_ITEMS ? `, ... ${items.length - MAX_LIST_ITEMS} more` : ""}]`;
}

function formatDType(value: number): string {
	try {
		return dtypeTfName(dtypeFromEnum(value, "attribute"));
	} catch {
		return `data type ${value}`;
	}
}

function formatBytes(bytes: Uint8Array): string {
	let text: string;
	try {
		text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
	} catch {
		return `<${bytes.length} bytes>`;
	}
	if (/[\u0000-\u0008\u000e-\u001f]/.test(text)) return `<${bytes.length} bytes>`;
	return JSON.stringify(text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}...` : text);
}

function formatTensor(proto: TensorProto): string {
	let tensor: Tensor;
	try {
		tensor = tensorFromProto(proto, "attribute");
	} catch {
		return `tensor of ${formatDType(Number(proto.dtype ?? 0))} ${formatShape(shapeFromProto(proto.tensor_shape))}`;
	}
	const head = `${dtypeTfName(tensor.dtype)} ${formatShape(tensor.shape)}`;
	const data = tensor.data as ArrayLike<unknown>;
	if (data.length > MAX_INLINE_VALUES) return `${head}, ${data.length.toLocaleString("en-US")} values`;
	const values = Array.from(data, (v) => (v instanceof Uint8Array ? formatBytes(v) : String(v)));
	return `${head} = [${values.join(", ")}]`;
}
