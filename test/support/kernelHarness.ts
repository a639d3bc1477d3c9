import assert from "node:assert/strict";
import { type DType, type Tensor, formatShape, isFloatDType, makeTensor, shapeSize } from "../../extension/core/graph/tensor";
import { KernelError } from "../../extension/core/interp/kernel";
import { KERNELS } from "../../extension/core/interp/kernels";
import type { AttrValue, GraphDef } from "../../extension/core/frontends/tf/proto/types";
import { GraphBuilder, attr, out } from "./graphBuilder";
import { runTfjs } from "./tfjsOracle";

// Shared machinery for checking kernels against tfjs: a seeded PRNG, random tensors, a graph under construction
// that remembers the value behind each input, and comparisons with tfjs's results.

/** mulberry32: small, fast and reproducible, so a failing case can be replayed from its seed. */
export class Rng {
	private state: number;

	constructor(seed: number) {
		this.state = seed >>> 0;
	}

	next(): number {
		this.state = (this.state + 0x6d2b79f5) >>> 0;
		let t = this.state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	}

	float(lo: number, hi: number): number {
		return lo + (hi - lo) * this.next();
	}

	/** Inclusive of both ends. */
	int(lo: number, hi: number): number {
		return lo + Math.floor(this.next() * (hi - lo + 1));
	}

	bool(p = 0.5): boolean {
		return this.next() < p;
	}

	pick<T>(items: readonly T[]): T {
		return items[Math.floor(this.next() * items.length)];
	}

	shape(rank: number, lo = 1, hi = 4): number[] {
		return Array.from({ length: rank }, () => this.int(lo, hi));
	}

	shuffle<T>(items: readonly T[]): T[] {
		const out = [...items];
		for (let i = out.length - 1; i > 0; i--) {
			const j = this.int(0, i);
			[out[i], out[j]] = [out[j], out[i]];
		}
		return out;
	}

	/** Random values of a dtype: floats in [lo, hi) rounded to float32, integers in [lo, hi], bools. */
	tensor(dtype: DType, shape: readonly number[], lo = -2, hi = 2): Tensor {
		const n = shapeSize(shape);
		const v = new Array<number>(n);
		for (let i = 0; i < n; i++) {
			if (dtype === "bool") v[i] = this.bool() ? 1 : 0;
			else if (isFloatDType(dtype)) v[i] = Math.fround(this.float(lo, hi));
			else v[i] = this.int(Math.ceil(lo), Math.floor(hi));
		}
		return makeTensor(dtype, shape, v);
	}

	/** Shapes that broadcast together: leading dimensions dropped and some dimensions set to 1. */
	broadcastShapes(count: number, maxRank = 4): number[][] {
		const full = this.shape(this.int(0, maxRank));
		return Array.from({ length: count }, () => full.slice(this.int(0, full.length)).map((d) => (this.bool(0.3) ? 1 : d)));
	}

	broadcastPair(maxRank = 4): [number[], number[]] {
		const [a, b] = this.broadcastShapes(2, maxRank);
		return [a, b];
	}
}

/** The `T` attribute most ops carry. */
export const attrT = (dtype: DType): Record<string, AttrValue> => ({ T: attr.type(dtype) });

/** A graph for one op under test, remembering the tensor behind every placeholder and constant. */
export class Case {
	readonly g = new GraphBuilder();
	readonly feeds: Record<string, Tensor> = {};
	private readonly values = new Map<string, Tensor>();

	/** A placeholder fed with `value`. */
	input(name: string, value: Tensor): string {
		this.values.set(name, value);
		this.feeds[name] = value;
		return this.g.placeholder(name, value.dtype, value.shape);
	}

	/** A Const node holding `value`. */
	konst(name: string, value: Tensor): string {
		this.values.set(name, value);
		return this.g.const(name, value);
	}

	ints(name: string, values: readonly number[], dtype: DType = "int32", shape: readonly number[] = [values.length]): string {
		return this.konst(name, makeTensor(dtype, shape, values));
	}

	op(op: string, name: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
		return this.g.op(op, name, inputs, attrs);
	}

	/** Runs our kernel for node `name` directly, its inputs taken from the recorded values. */
	run(name: string): Tensor[] {
		const node = this.g.node(name);
		const inputs = node.inputs.map((ref) => {
			const value = this.values.get(ref.node);
			if (!value || ref.index !== 0) throw new Error(`input ${ref.node}:${ref.index} of "${name}" is not a recorded value`);
			return value;
		});
		const kernel = KERNELS.get(node.op);
		if (!kernel) throw new Error(`no kernel for ${node.op}`);
		return kernel(inputs, node);
	}
}

export interface CheckOptions {
	/** A graph for tfjs to run instead of the case's own, for ops tfjs lacks or interprets differently. */
	tfjsGraph?: GraphDef;
	/** Names tfjs fetches instead of `name:i`, one per compared output. */
	fetches?: string[];
	/** How many of our outputs to compare (tfjs returns fewer for some ops). */
	outputs?: number;
	tolerance?: number;
	/** Allow tfjs to return float32 where TensorFlow returns integers (tfjs's ShapeN). */
	looseDType?: boolean;
}

/** Ops compared against tfjs or a closed form; the suite checks that every kernel appears here. */
export const checkedOps = new Set<string>();

function tfjsDType(dtype: DType): DType {
	if (isFloatDType(dtype)) return "float32";
	return dtype === "bool" ? "bool" : "int32";
}

/** Compares element by element: floats within |d| <= tol * (1 + |expected|), everything else exactly. */
export function assertClose(actual: Tensor, expected: Tensor, where: string, tolerance = 1e-5, looseDType = false): void {
	assert.deepEqual(actual.shape, expected.shape, `${where}: shape ${formatShape(actual.shape)} vs tfjs ${formatShape(expected.shape)}`);
	if (!looseDType) assert.equal(tfjsDType(actual.dtype), expected.dtype, `${where}: dtype ${actual.dtype} vs tfjs ${expected.dtype}`);
	const a = actual.data as ArrayLike<number>;
	const e = expected.data as ArrayLike<number>;
	const exact = !isFloatDType(actual.dtype);
	for (let i = 0; i < e.length; i++) {
		if (Number.isNaN(e[i]) && Number.isNaN(a[i])) continue;
		const ok = exact ? a[i] === e[i] : Math.abs(a[i] - e[i]) <= tolerance * (1 + Math.abs(e[i])) || a[i] === e[i];
		if (!ok) assert.fail(`${where}: element ${i} of ${formatShape(actual.shape)} is ${a[i]}, tfjs says ${e[i]}`);
	}
}

/** Runs node `name` through our kernel and through tfjs and compares every output. */
export async function check(c: Case, name: string, label: string, options: CheckOptions = {}): Promise<Tensor[]> {
	const ours = c.run(name);
	const count = options.outputs ?? ours.length;
	const fetches = options.fetches ?? Array.from({ length: count }, (_, i) => out(name, i));
	const theirs = await runTfjs(options.tfjsGraph ?? c.g.def(), c.feeds, fetches).catch((error: unknown) => {
		throw new Error(`${label}: tfjs failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
	});
	checkedOps.add(c.g.nodeDef(name).op);
	for (let i = 0; i < count; i++) {
		assertClose(ours[i], theirs[i], `${label}, output ${i}`, options.tolerance, options.looseDType);
	}
	return ours;
}

/** For ops tfjs lacks or gets wrong: compare with a value computed independently in float64. */
export function checkClosedForm(c: Case, name: string, label: string, expected: Tensor[]): void {
	const ours = c.run(name);
	checkedOps.add(c.g.nodeDef(name).op);
	assert.equal(ours.length, expected.length, `${label}: ${ours.length} outputs, expected ${expected.length}`);
	ours.forEach((t, i) => assertClose(t, { ...expected[i], dtype: tfjsDType(expected[i].dtype) }, `${label}, output ${i}`));
}

/** The case's graph with node `name` given another op, for tfjs aliases of ops it does not know. */
export function renamed(c: Case, name: string, op: string, attrs: Record<string, AttrValue> = {}): GraphDef {
	const def = c.g.def();
	def.node = def.node.map((n) => (n.name === name ? { ...n, op, attr: { ...n.attr, ...attrs } } : n));
	return def;
}

/** Asserts that running node `name` fails with a KernelError that names the node and says `pattern`. */
export function assertKernelError(c: Case, name: string, pattern: RegExp): void {
	assert.throws(() => c.run(name), (error: unknown) => {
		assert.ok(error instanceof KernelError, `expected a KernelError, got ${String(error)}`);
		assert.match(error.message, new RegExp(`node "${name}"`));
		assert.match(error.message, pattern);
		return true;
	});
}
