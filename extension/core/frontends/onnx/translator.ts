// The seam between the ONNX front end's driver (which reads the ModelProto and walks its nodes in order) and the op
// translators (ops/*.ts), which turn one ONNX node into IR nodes in TensorFlow's op vocabulary (see graph/attr.ts).
// The interpreter and the compiler then run them as they run TensorFlow graphs; no ONNX op name reaches them.

import type { AttrValue } from "../../graph/attr";
import type { DType, Tensor } from "../../graph/tensor";

/** An ONNX attribute, decoded: exactly one of the fields is set, as the AttributeProto's `type` says. */
export interface OnnxAttribute {
	name: string;
	f?: number;
	i?: number;
	s?: string;
	t?: Tensor;
	floats?: number[];
	ints?: number[];
	strings?: string[];
	/** A subgraph (If/Loop/Scan bodies); translators that take one say so. */
	g?: unknown;
}

/** One ONNX node as translators see it. */
export interface OnnxNode {
	/** The node's name, or a name the driver made up from its first output when the file gives none. */
	name: string;
	opType: string;
	/** "" (the default ai.onnx domain) or e.g. "com.microsoft". */
	domain: string;
	/** ONNX tensor names; "" marks an optional input that is left out. */
	inputs: string[];
	outputs: string[];
	attributes: ReadonlyMap<string, OnnxAttribute>;
}

/**
 * What a translator gets: the node, the opset it is read under, the IR tensors, static shapes and constant values of
 * its inputs, and ways to add IR nodes. Shapes and values come from running every IR node the driver has added so far
 * on the graph inputs' declared shapes (dynamic dimensions as 1): a node whose inputs are all constant has its real
 * value, others hold zeros of the right shape and are not constant.
 */
export interface TranslateContext {
	readonly node: OnnxNode;
	/** The opset version of the node's domain, from the model's opset_import. */
	readonly opset: number;
	/** How many inputs the node has, counting left-out optional ones (""). */
	readonly inputCount: number;
	/** Whether input i is given (present and not ""). */
	has(index: number): boolean;
	/** The IR tensor ("node" or "node:N") holding input i; fails naming the node when it is absent. */
	input(index: number): string;
	/** Static shape of input i (dynamic dimensions of graph inputs taken as 1). */
	shape(index: number): number[];
	dtype(index: number): DType;
	/** The value of input i when it is a constant (initializer, Constant node, or computed only from constants). */
	constant(index: number): Tensor | undefined;

	attrInt(name: string, fallback?: number): number;
	attrFloat(name: string, fallback?: number): number;
	attrInts(name: string, fallback?: number[]): number[];
	attrFloats(name: string, fallback?: number[]): number[];
	attrString(name: string, fallback?: string): string;
	attrTensor(name: string): Tensor;
	hasAttr(name: string): boolean;

	/**
	 * Adds an IR node named `<onnx node name>/<suffix>` (made unique) and returns its name; its outputs are
	 * "name", "name:1", ... It runs at once, so shape()/constant() of what reads it are known.
	 */
	add(op: string, suffix: string, inputs: string[], attr?: Record<string, AttrValue>): string;
	/** Adds a Const node holding `value` and returns its name. */
	addConst(suffix: string, value: Tensor): string;
	/** Static shape and dtype of an IR tensor added so far (e.g. one `add` returned). */
	shapeOf(tensor: string): number[];
	dtypeOf(tensor: string): DType;
	/** Binds ONNX output i of the node to an IR tensor. Every output a later node or the graph reads must be bound. */
	output(index: number, tensor: string): void;
	/** Throws the front end's typed error naming the model file, the node and its op, with `detail` and what to do. */
	fail(detail: string): never;
}

/** Translates one ONNX node; registered per op type in ops/index.ts. */
export type OnnxTranslator = (ctx: TranslateContext) => void;

/** A family of translators (one file under ops/), by ONNX op type of the default domain. */
export type TranslatorFamily = ReadonlyMap<string, OnnxTranslator>;
