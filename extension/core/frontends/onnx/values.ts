// What the driver knows of each IR tensor while it translates: dtype, static shape and a value to run the next kernel
// on. Every IR node is run as soon as it is added, with the interpreter's own kernels, so translators see real shapes.
import { type GraphNode, parseInputName, refKey } from "../../graph/graph";
import { type DType, type Tensor, allocate, shapeSize } from "../../graph/tensor";
import { opEntry } from "../../ops/table";
import { attrTensor } from "../../graph/graph";
import { codedError } from "../../util/errors";
import { checkTotal } from "../../util/budget";

/** One IR tensor as known at load time. */
export interface KnownTensor {
	dtype: DType;
	/** Static shape, dynamic dimensions of graph inputs taken as 1. */
	shape: number[];
	/** The real value when `constant`, else what the kernels compute from zeros of the graph inputs. */
	value: Tensor;
	constant: boolean;
	/** Whether the shape depends on a graph input's dynamic dimension (so it may differ once a config fixes it). */
	dynamic: boolean;
}

/** Raised when a node reads a tensor whose value the driver cannot know (the output of an unsupported op). */
export class UnknownTensorError extends codedError("model", "UnknownTensorError") {
	constructor(readonly tensor: string) {
		super(`the value of "${tensor}" is unknown`);
	}
}

/** Zeros standing for a tensor whose value depends on the feeds. */
export function zerosOf(dtype: DType, shape: readonly number[]): Tensor {
	const concrete = shape.map((d) => (d < 0 ? 1 : d));
	return { dtype, shape: concrete, data: allocate(dtype, shapeSize(concrete)) };
}

function onesOf(value: Tensor): Tensor {
	const data = allocate(value.dtype, shapeSize(value.shape));
	if (ArrayBuffer.isView(data)) (data as Float32Array).fill(1);
	return { dtype: value.dtype, shape: [...value.shape], data };
}

export class TensorValues {
	private readonly known = new Map<string, KnownTensor>();
	/** Bytes of every value held: all stay until the model is translated, so they count against the budget together. */
	private heldBytes = 0;
	private readonly counted = new WeakSet<object>();

	private hold(key: string, known: KnownTensor): void {
		const data = known.value.data as ArrayLike<number> & { byteLength?: number };
		// A view (Identity, Reshape) shares its input's storage: count each buffer once.
		const storage = (data as { buffer?: object }).buffer ?? data;
		if (!this.counted.has(storage)) {
			this.counted.add(storage);
			this.heldBytes += data.byteLength ?? data.length * 8;
		}
		checkTotal(this.heldBytes, `the values the ONNX front end runs through to infer shapes (at "${key}")`);
		this.known.set(key, known);
	}

	get(tensor: string): KnownTensor {
		const found = this.known.get(refKey(parseInputName(tensor).ref));
		if (!found) throw new UnknownTensorError(tensor);
		return found;
	}

	has(tensor: string): boolean {
		return this.known.has(refKey(parseInputName(tensor).ref));
	}

	set(tensor: string, known: KnownTensor): void {
		this.hold(tensor, known);
	}

	/** A graph input: zeros of its shape; dynamic when any dimension is. */
	setInput(name: string, dtype: DType, shape: readonly number[]): void {
		const value = zerosOf(dtype, shape);
		this.hold(name, { dtype, shape: value.shape, value, constant: false, dynamic: shape.some((d) => d < 0) });
	}

	/** Runs `node` on what is known of its inputs and records its outputs; throws what the kernel throws. */
	run(node: GraphNode): void {
		if (node.op === "Const") {
			const value = attrTensor(node, "value");
			this.hold(node.name, { dtype: value.dtype, shape: value.shape, value, constant: true, dynamic: false });
			return;
		}
		const inputs = node.inputs.map((ref) => this.get(refKey(ref)));
		const entry = opEntry(node.op);
		if (!entry?.kernel) {
			throw new Error(`the interpreter has no kernel for op ${node.op}${entry ? ` (it is run by the ${entry.interpreter})` : ""}`);
		}
		let outputs: Tensor[];
		try {
			outputs = entry.kernel(inputs.map((i) => i.value), node);
		} catch (error) {
			// Zeros stand for values not known until run time; where they trip a kernel (a division), ones stand in.
			if (inputs.every((i) => i.constant)) throw error;
			try {
				outputs = entry.kernel(inputs.map((i) => (i.constant ? i.value : onesOf(i.value))), node);
			} catch {
				throw error;
			}
		}
		const dynamic = inputs.some((i) => i.dynamic && !i.constant);
		const constant = entry.folding === "inputs" ? inputs.every((i) => i.constant) : entry.folding === "shapes" && !dynamic;
		outputs.forEach((value, index) => {
			this.hold(refKey({ node: node.name, index }), {
				dtype: value.dtype, shape: [...value.shape], value, constant, dynamic: dynamic && !constant,
			});
		});
	}
}
