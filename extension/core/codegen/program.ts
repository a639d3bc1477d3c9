import type { GraphNode } from "../graph/graph";
import type { DType, Tensor } from "../graph/tensor";
import type { KernelEmitter } from "./emitKernels";

/** Where a buffer's bytes live in the generated code. */
export type BufferKind =
	| "argument" // caller-written input region of the arena
	| "result" // caller-read output region of the arena
	| "weight" // static const data
	| "temp" // arena space, reused once dead
	| "state"; // arena space kept between runs: loop variables, TensorArrays, random generators, the status counter

export interface Buffer {
	id: number;
	dtype: DType;
	shape: number[];
	size: number;
	kind: BufferKind;
	/** For weights: the value. */
	value?: Tensor;
	/** For arguments and results: position in the API. */
	index?: number;
	/** The tensor it holds, for comments and error messages. */
	label: string;
	/** Set for views (Reshape, Identity, ...): the buffer whose storage this one shares, with its own shape. */
	aliasOf?: Buffer;
	/** For views of a contiguous part (a Split or Slice of whole rows): where it starts in its storage, in elements. */
	viewOffset?: number;
}

/** The buffer that owns a view's storage. */
export function storageOf(buffer: Buffer): Buffer {
	return buffer.aliasOf ?? buffer;
}

/** One operation of the generated code. */
export type Step = KernelStep | CopyStep | LoopStep;

export interface KernelStep {
	kind: "kernel";
	node: GraphNode;
	/** The op as emitted (MatMul may carry a fused BiasAdd and activation). */
	op: string;
	inputs: Buffer[];
	outputs: Buffer[];
	/** Nodes folded into this step (fused BiasAdd, activation). */
	fused: GraphNode[];
	/** Writes the step's C: the op table's emitter for the op. */
	emit: KernelEmitter;
	/** For a Merge outside loops (tf.cond): which data input to copy, by the predicates read as further inputs. */
	choices?: MergeChoice[];
	/** For fused elementwise steps: the ops computed in one pass over the elements. */
	chain?: ElementwiseChain;
}

/**
 * Float elementwise ops computed together, 8 elements at a time, with intermediate values in registers. Operand
 * k >= 0 is the step's input k; operand -1 - j is the value of ops[j].
 */
export interface ElementwiseChain {
	ops: { node: GraphNode; operands: number[] }[];
	/** For each output of the step, the op whose value it receives. */
	stores: number[];
}

/** Copy data input `input` when every predicate input `when[k].predicate` (an input position) equals `when[k].value`. */
export interface MergeChoice {
	input: number;
	when: { predicate: number; value: boolean }[];
}

/**
 * out[i] = concat(inputs)[table[i]] (or `fill` where table[i] < 0): every layout op (Reshape, Transpose,
 * Concat, Slice, StridedSlice, Pack, Tile, Pad, Gather with constant indices, TensorArray scatter/gather)
 * lowers to this, with the table computed at compile time by the reference interpreter's own kernels.
 */
export interface CopyStep {
	kind: "copy";
	label: string;
	inputs: Buffer[];
	output: Buffer;
	table: Int32Array;
	fill?: number;
	/** Set for TensorArray reads and writes: the element offset is runtime index * stride, bounds-checked. */
	dynamic?: { index: Buffer; stride: number; limit: number; side: "read" | "write" };
}

export interface LoopStep {
	kind: "loop";
	frame: string;
	trips: number;
	/** Loop variables: initialised before the loop, updated from `next` after each iteration. */
	carried: { variable: Buffer; initial: Buffer; next: Buffer }[];
	body: Step[];
}

export interface Program {
	steps: Step[];
	buffers: Buffer[];
	arguments: Buffer[];
	results: Buffer[];
	/** API names of arguments and results, as the config spells them. */
	argumentNames: string[];
	resultNames: string[];
	/**
	 * An int32 state buffer counting the runtime Gather indices clamped into range during the last run; set when
	 * the program has such a Gather. The first step resets it.
	 */
	status?: Buffer;
}
