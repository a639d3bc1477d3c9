import { initialRandomState } from "../interp/kernels/random";
import { CompileError } from "./compileError";
import { type EmitContext, floatLiteral } from "./emitKernels";
import type { KernelStep } from "./program";

// The interpreter's generator (interp/kernels/random.ts), statement for statement: xorshift128, then 23 bits
// under exponent 0 minus one for a uniform in [0, 1), Box-Muller's cosine branch for a normal.
const NEXT_WORD = "{ const unsigned int t = s[0] ^ (s[0] << 11); s[0] = s[1]; s[1] = s[2]; s[2] = s[3]; s[3] = s[3] ^ (s[3] >> 19) ^ t ^ (t >> 8); }";

function uniform(target: string): string[] {
	return [NEXT_WORD, "bits.u = (s[3] >> 9) | 0x3f800000u;", `${target} = bits.f - 1.0f;`];
}

function normal(ctx: EmitContext): string[] {
	const twoPi = floatLiteral(2 * Math.PI);
	return [...uniform("u1"), "u1 = 1.0f - u1;", ...uniform("u2"),
		`z = ${ctx.math("sqrt")}(-2.0f * ${ctx.math("log")}(u1)) * ${ctx.math("cos")}(${twoPi} * u2);`];
}

/**
 * RandomUniform, RandomStandardNormal and TruncatedNormal. The generator state is a state buffer of the arena
 * (the step's second output): zero after the constructor, seeded on first use, carried on from run to run.
 */
export function randomOp(step: KernelStep, ctx: EmitContext): string[] {
	const { node } = step;
	const [out, state] = step.outputs;
	if (out.dtype !== "float32") throw new CompileError(`node "${node.name}" (${node.op}): random ${out.dtype} tensors are not supported by the compiler (float32 is)`);
	const seed = Array.from(initialRandomState(node), (w) => `0x${w.toString(16).padStart(8, "0")}u`);
	const draw = node.op === "RandomUniform"
		? uniform("out[i]")
		: node.op === "RandomStandardNormal"
			? [...normal(ctx), "out[i] = z;"]
			: ["do {", ...normal(ctx).map((l) => `\t${l}`), "} while (!(z > -2.0f && z < 2.0f));", "out[i] = z;"];
	return [
		`float *const out = ${ctx.addr(out, true)};`,
		`unsigned int *const s = (unsigned int *)${ctx.addr(state, true)};`,
		"union { unsigned int u; float f; } bits;",
		...(node.op === "RandomUniform" ? [] : ["float u1, u2, z;"]),
		"if ((s[0] | s[1] | s[2] | s[3]) == 0) {",
		...seed.map((word, k) => `\ts[${k}] = ${word};`),
		"}",
		`for (int i = 0; i < ${out.size}; ++i) {`,
		...draw.map((l) => `\t${l}`),
		"}",
	];
}
