import { type GraphNode, attrInt, attrType } from "../../graph/graph";
import type { Tensor } from "../../graph/tensor";
import { arity, fail, intVector, newTensor } from "./util";

/**
 * The generator behind RandomUniform, RandomStandardNormal and TruncatedNormal, in the interpreter and in the
 * generated C alike: Marsaglia's xorshift128 (four 32-bit words of state), one state per op, seeded from the
 * op's seed and seed2 attributes (from its name when both are 0). It does not reproduce TensorFlow's Philox
 * streams; it reproduces itself exactly, so the compiled model and the interpreter draw the same numbers.
 */
export type RandomState = Uint32Array;

/** One random op run: inputs, node, and its generator state (advanced in place). */
export type RandomKernel = (inputs: Tensor[], node: GraphNode, state: RandomState) => Tensor[];

// splitmix32's finaliser: spreads any seed pair over all four state words.
function mix(x: number): number {
	x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
	x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
	return (x ^ (x >>> 16)) >>> 0;
}

function nameHash(name: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
	return h >>> 0;
}

/** The state a random op starts from; never all zero (the generated C takes all zero to mean "not yet seeded"). */
export function initialRandomState(node: GraphNode): RandomState {
	const seed = attrInt(node, "seed", 0);
	const seed2 = attrInt(node, "seed2", 0);
	let x = seed === 0 && seed2 === 0 ? nameHash(node.name) : (Math.imul(seed >>> 0, 0x9e3779b9) ^ (seed2 >>> 0)) >>> 0;
	const state = new Uint32Array(4);
	for (let k = 0; k < 4; k++) {
		x = (x + 0x9e3779b9) >>> 0;
		state[k] = mix(x);
	}
	state[0] |= 1;
	return state;
}

/** The next 32 random bits; the same statements as the C emitted for random ops. */
export function nextRandomWord(s: RandomState): number {
	const t = (s[0] ^ (s[0] << 11)) >>> 0;
	s[0] = s[1];
	s[1] = s[2];
	s[2] = s[3];
	s[3] = (s[3] ^ (s[3] >>> 19) ^ t ^ (t >>> 8)) >>> 0;
	return s[3];
}

const bitsView = new DataView(new ArrayBuffer(4));

/** A float32 in [0, 1): 23 random mantissa bits under exponent 0, minus one, as TensorFlow builds its uniforms. */
export function nextUniform(s: RandomState): number {
	bitsView.setUint32(0, ((nextRandomWord(s) >>> 9) | 0x3f800000) >>> 0);
	return Math.fround(bitsView.getFloat32(0) - 1);
}

const TWO_PI = Math.fround(2 * Math.PI);

/** A standard normal by Box-Muller (cosine branch), rounded to float32 at each step as the C computes it. */
export function nextNormal(s: RandomState): number {
	const u1 = Math.fround(1 - nextUniform(s));
	const u2 = nextUniform(s);
	const radius = Math.fround(Math.sqrt(Math.fround(-2 * Math.fround(Math.log(u1)))));
	return Math.fround(radius * Math.fround(Math.cos(Math.fround(TWO_PI * u2))));
}

/** A standard normal redrawn until it lies within two standard deviations, as TensorFlow's TruncatedNormal. */
export function nextTruncatedNormal(s: RandomState): number {
	for (;;) {
		const z = nextNormal(s);
		if (z > -2 && z < 2) return z;
	}
}

function randomKernel(draw: (s: RandomState) => number): RandomKernel {
	return (inputs, node, state) => {
		arity(node, inputs, 1);
		const shape = intVector(node, inputs[0], "the shape");
		if (shape.some((d) => d < 0)) fail(node, `the shape [${shape.join(",")}] has a negative dimension`);
		const dtype = attrType(node, "dtype", "float32");
		if (dtype !== "float32" && dtype !== "float64") fail(node, `random ${dtype} tensors are not supported (float32 and float64 are)`);
		const { tensor, data } = newTensor(dtype, shape);
		for (let i = 0; i < data.length; i++) data[i] = draw(state);
		return [tensor];
	};
}

/** Random ops by TensorFlow op name; the executor keeps their states, not the kernels. */
export const RANDOM_KERNELS: ReadonlyMap<string, RandomKernel> = new Map<string, RandomKernel>([
	["RandomUniform", randomKernel(nextUniform)],
	["RandomStandardNormal", randomKernel(nextNormal)],
	["TruncatedNormal", randomKernel(nextTruncatedNormal)],
]);
