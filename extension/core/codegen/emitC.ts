import { createHash } from "node:crypto";
import { formatShape, numbers } from "../graph/tensor";
import { cComment, cString } from "./cText";
import { type EmitContext, cType, emitKernel, floatLiteral } from "./emitKernels";
import { CompileError } from "./lower";
import { Q_PRIMITIVES_C } from "./cint/primitives";
import { quantizedFidelityNotes } from "./cint/fidelityNotes";
import { type NoFpuEdges, noFpuHeaderNotes, qFormat } from "./cint/noFpu";
import { type MathFunction, mathErrorSummary, mathLibrarySource } from "./mathLibrary";
import { VECTOR_PRELUDE } from "./vectorLibrary";
import { type VectorMathFunction, vectorMathErrorSummary, vectorMathSource } from "./vectorMath";
import { type MemoryPlan, bufferBytes } from "./memoryPlan";
import { runtimeStateApi, runtimeStateNotes } from "./runtimeState";
import { type Buffer, type CopyStep, type LoopStep, type Program, type Step, storageOf } from "./program";

export interface GeneratedSource {
	header: string;
	source: string;
	mathFunctions: MathFunction[];
	weightBytes: number;
}

function hex32(value: number): string {
	return `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}

/** Rows of at most `perLine` values, indented, for array initialisers. */
function rows(values: string[], perLine: number): string {
	const lines: string[] = [];
	for (let i = 0; i < values.length; i += perLine) lines.push(`\t${values.slice(i, i + perLine).join(", ")},`);
	return lines.join("\n");
}

/** One static const array of the model unit, shared by every constant with the same element type and bytes. */
interface PooledConstant {
	name: string;
	bytes: Uint8Array;
	/** The tensors stored here, for the comment above the array; empty for index tables. */
	labels: string[];
	declaration: string;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

/** The bytes of `values` as the C array of `type` holds them. */
function elementBytes(type: string, values: ArrayLike<number>): Uint8Array {
	const typed = type === "float" ? Float32Array.from(values) : type === "int" ? Int32Array.from(values)
		: type === "unsigned int" ? Uint32Array.from(values) : type === "short" ? Int16Array.from(values)
			: type === "unsigned short" ? Uint16Array.from(values) : type === "signed char" ? Int8Array.from(values) : Uint8Array.from(values);
	return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

class SourceWriter implements EmitContext {
	readonly mathUsed = new Set<MathFunction>();
	readonly vectorMathUsed = new Set<VectorMathFunction>();
	vectorUsed = false;
	/** Functions holding chunks of steps, each defined before its caller. */
	readonly parts: string[] = [];
	weightBytes = 0;
	private readonly weightNames = new Map<Buffer, string>();
	// By element type and content hash: an unrolled RNN's cells read the same (or identical copies of the same) weights.
	private readonly pool = new Map<string, PooledConstant[]>();
	private constants: PooledConstant[] = [];
	private counter = 0;

	constructor(private readonly prefix: string, private readonly plan: MemoryPlan) {}

	addr(buffer: Buffer, writable = false): string {
		if (buffer.kind === "weight") {
			if (writable) throw new CompileError(`internal: weight ${buffer.label} would be written`);
			return buffer.viewOffset ? `(${this.weight(storageOf(buffer))} + ${buffer.viewOffset})` : this.weight(storageOf(buffer));
		}
		const storage = this.plan.offsets.get(storageOf(buffer));
		if (storage === undefined) throw new CompileError(`internal: ${buffer.label} has no place in the arena`);
		const offset = storage + (buffer.viewOffset ?? 0) * bufferBytes({ ...buffer, size: 1 });
		return `((${writable ? "" : "const "}${cType(buffer.dtype, buffer.label)} *)(arena + ${offset}))`;
	}

	private weight(buffer: Buffer): string {
		let name = this.weightNames.get(buffer);
		if (name) return name;
		const values = numbers(buffer.value!, buffer.label);
		name = this.constant(cType(buffer.dtype, buffer.label), values, `${buffer.label} ${buffer.dtype} ${formatShape(buffer.shape)}`);
		this.weightNames.set(buffer, name);
		return name;
	}

	table(values: Int32Array): string {
		return this.constant("int", values);
	}

	floats(values: Float32Array, label: string): string {
		return this.constant("float", values, `${label} float32 [${values.length}]`);
	}

	math(fn: MathFunction): string {
		this.mathUsed.add(fn);
		return `knn_${fn}f`;
	}

	vector(): void {
		this.vectorUsed = true;
	}

	vmath(fn: VectorMathFunction): string {
		this.vectorUsed = true;
		this.vectorMathUsed.add(fn);
		return `knn_v${fn}`;
	}

	/** Defines a noinline function running `lines` on the arena and returns its name. */
	part(lines: string[]): string {
		const name = `${this.prefix}_run_${this.parts.length}`;
		this.parts.push(`static __attribute__((__noinline__)) void ${name}(unsigned char *const arena)\n{\n\t(void)arena;\n${indent(lines, 1).join("\n")}\n}`);
		return name;
	}

	/** The C name of a static const array holding `values`, reusing an earlier array with the same bytes. */
	private constant(type: string, values: ArrayLike<number>, label?: string): string {
		const bytes = elementBytes(type, values);
		const key = `${type} ${createHash("sha256").update(bytes).digest("base64")}`;
		const candidates = this.pool.get(key) ?? [];
		let constant = candidates.find((c) => sameBytes(c.bytes, bytes));
		if (!constant) {
			const base = `${this.prefix}_${label === undefined ? "t" : "w"}${this.counter++}`;
			const size = Math.max(1, values.length);
			const declaration = type === "float"
				? `static const union { unsigned int u[${size}]; float f[${size}]; } ${base}_bits = { {\n${rows(Array.from(values.length ? new Uint32Array(bytes.buffer, bytes.byteOffset, values.length) : [0], hex32), 8)}\n} };`
				: `static const ${type} ${base}[${size}] = {\n${rows(Array.from(values.length ? values : [0], String), type === "int" && label === undefined ? 16 : 12)}\n};`;
			constant = { name: type === "float" ? `${base}_bits.f` : base, bytes, labels: [], declaration };
			candidates.push(constant);
			this.pool.set(key, candidates);
			this.constants.push(constant);
		}
		if (label !== undefined && !constant.labels.includes(label)) constant.labels.push(label);
		return constant.name;
	}

	/**
	 * Keeps the arrays `code` refers to: an emitter may ask for a table and then find a plainer index expression,
	 * and an unused static const is a warning the kernel build turns into an error. Sets `weightBytes` from them.
	 */
	keepUsedConstants(code: string): void {
		const identifiers = new Set(code.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);
		this.constants = this.constants.filter((c) => identifiers.has(c.name.replace(/\.f$/, "")));
		this.weightBytes = this.constants.reduce((sum, c) => sum + (c.labels.length > 0 ? c.bytes.length : 0), 0);
	}

	/** The static const arrays in first-use order, each with a comment naming the tensors it holds. */
	statics(): string[] {
		return this.constants.map((c) => {
			if (c.labels.length === 0) return c.declaration;
			const others = c.labels.length > 1 ? `; also ${c.labels.length - 1} identical constant(s): ${c.labels.slice(1, 4).join(", ")}${c.labels.length > 4 ? ", ..." : ""}` : "";
			return `/* ${cComment(`${c.labels[0]}${others}`)} */\n${c.declaration}`;
		});
	}
}

function indent(lines: string[], depth: number): string[] {
	return lines.map((l) => (l === "" ? l : `${"\t".repeat(depth)}${l}`));
}

function emitCopy(step: CopyStep, ctx: SourceWriter): string[] {
	const out = step.output;
	const type = cType(out.dtype, step.label);
	const lines = [`${type} *const out = ${ctx.addr(out, true)};`];
	step.inputs.forEach((input, k) => lines.push(`const ${cType(input.dtype, step.label)} *const in${k} = ${ctx.addr(input)};`));
	if (step.dynamic) {
		const { index, stride, limit, side } = step.dynamic;
		// A runtime index outside the TensorArray must not touch memory outside it: reads give zeros, writes are dropped.
		lines.push(`const int row = ${ctx.addr(index)}[0];`, `if (row >= 0 && row < ${limit}) {`,
			side === "read" ? `\tfor (int j = 0; j < ${stride}; ++j) out[j] = in0[row * ${stride} + j];` : `\tfor (int j = 0; j < ${stride}; ++j) out[row * ${stride} + j] = in0[j];`,
			...(side === "read" ? ["} else {", `\tfor (int j = 0; j < ${stride}; ++j) out[j] = 0;`] : []), "}");
		return lines;
	}
	// Runs of consecutive elements from one input become plain loops; scattered layouts use an index table.
	const bounds = [0];
	for (const input of step.inputs) bounds.push(bounds[bounds.length - 1] + input.size);
	const sourceOf = (t: number) => bounds.findIndex((b, k) => k + 1 < bounds.length && t >= b && t < bounds[k + 1]);
	const runs: { out: number; input: number; src: number; length: number }[] = [];
	const { table } = step;
	for (let i = 0; i < table.length;) {
		const t = table[i];
		if (t === -2) { i++; continue; }
		const input = t < 0 ? -1 : sourceOf(t);
		let length = 1;
		while (i + length < table.length && (t < 0 ? table[i + length] === -1 : table[i + length] === t + length && sourceOf(t + length) === input)) length++;
		runs.push({ out: i, input, src: t < 0 ? 0 : t - bounds[input], length });
		i += length;
	}
	const fill = type === "float" ? floatLiteral(step.fill ?? 0) : String(step.fill ?? 0);
	if (runs.length <= 16) {
		for (const run of runs) {
			const from = run.input < 0 ? fill : `in${run.input}[${run.src} + j]`;
			lines.push(run.length === 1 ? `out[${run.out}] = ${from.replace(" + j", "")};` : `for (int j = 0; j < ${run.length}; ++j) out[${run.out} + j] = ${from};`);
		}
		// An input no element comes from (an empty slice or concat operand) is still declared; silence -Wunused.
		if (runs.length === 0) lines.push("(void)out;");
		step.inputs.forEach((_, k) => {
			if (!runs.some((run) => run.input === k)) lines.push(`(void)in${k};`);
		});
		return lines;
	}
	const name = ctx.table(table);
	const pick = step.inputs.length === 1 ? "in0[t]" : step.inputs.map((_, k) => (k + 1 < step.inputs.length ? `t < ${bounds[k + 1]} ? in${k}[t - ${bounds[k]}] : ` : `in${k}[t - ${bounds[k]}]`)).join("");
	lines.push(`for (int i = 0; i < ${table.length}; ++i) {`, `\tconst int t = ${name}[i];`,
		...(table.includes(-2) ? ["\tif (t == -2) continue;"] : []), `\tout[i] = ${table.includes(-1) ? `t < 0 ? ${fill} : ` : ""}${pick};`, "}");
	return lines;
}

function emitLoop(step: LoopStep, ctx: SourceWriter, depth: number): string[] {
	const variables = new Set(step.carried.map((c) => storageOf(c.variable)));
	const same = (a: Buffer, b: Buffer) => storageOf(a) === storageOf(b);
	for (const c of step.carried) {
		if (!same(c.next, c.variable) && variables.has(storageOf(c.next))) throw new CompileError(`loop "${step.frame}": loop variables that swap values are not supported by the compiler`);
	}
	const copy = (from: Buffer, to: Buffer) => {
		const type = cType(to.dtype, to.label);
		return [`{`, `\tconst ${type} *const src = ${ctx.addr(from)};`, `\t${type} *const dst = ${ctx.addr(to, true)};`, `\tfor (int j = 0; j < ${to.size}; ++j) dst[j] = src[j];`, "}"];
	};
	const lines = [`/* while loop "${cComment(step.frame)}": ${step.trips} iteration(s), static */`];
	for (const c of step.carried) if (!same(c.initial, c.variable)) lines.push(...copy(c.initial, c.variable));
	lines.push(`for (int it${depth} = 0; it${depth} < ${step.trips}; ++it${depth}) {`);
	lines.push(...indent(emitSteps(step.body, ctx, depth + 1), 1));
	for (const c of step.carried) if (!same(c.next, c.variable)) lines.push(...indent(copy(c.next, c.variable), 1));
	lines.push("}");
	return lines;
}

function emitStep(step: Step, ctx: SourceWriter, depth: number): string[] {
	if (step.kind === "loop") return emitLoop(step, ctx, depth);
	const label = step.kind === "kernel"
		? `${step.node.op}${step.fused.map((f) => `+${f.op}`).join("")} "${step.node.name}" -> ${formatShape(step.outputs[0].shape)}`
		: `${step.label} -> ${formatShape(step.output.shape)}`;
	return [`/* ${cComment(label)} */`, "{", ...indent(step.kind === "kernel" ? emitKernel(step, ctx) : emitCopy(step, ctx), 1), "}"];
}

// In one long function GCC keeps values and spill slots live across many steps, so the frame grows with the
// model (the kernel allows 512 bytes); long step lists become noinline functions of about this many lines.
// The __noinline__ spelling survives the kernel's `#define noinline`.
const CHUNK_LINES = 200;

/**
 * The code of a list of steps: the steps themselves when short, else calls to functions holding consecutive
 * chunks of them (a longer single step stands alone). Loop bodies go through here too.
 */
function emitSteps(steps: Step[], ctx: SourceWriter, depth: number): string[] {
	const perStep = steps.map((step) => emitStep(step, ctx, depth));
	if (perStep.reduce((n, lines) => n + lines.length, 0) <= CHUNK_LINES) return perStep.flat();
	const chunks: string[][] = [];
	let current: string[] = [];
	for (const lines of perStep) {
		if (current.length > 0 && current.length + lines.length > CHUNK_LINES) {
			chunks.push(current);
			current = [];
		}
		current.push(...lines);
	}
	if (current.length > 0) chunks.push(current);
	return chunks.map((lines) => `${ctx.part(lines)}(arena);`);
}

// Float-free helpers every model unit may use; static inline so unused ones cost nothing and warn nothing.
const PRELUDE = `static inline float knn_infinity(void)
{
	const union { unsigned int u; float f; } bits = { 0x7f800000u };
	return bits.f;
}

static inline float knn_floorf(float x)
{
	if (!(x > -8388608.0f && x < 8388608.0f))
		return x;
	{
		const float t = (float)(int)x;
		return t > x ? t - 1.0f : t;
	}
}

/* TensorFlow's float to int32 cast truncates; out-of-range values and NaN give INT_MIN, as on x86. */
static inline int knn_float_to_int(float x)
{
	if (!(x > -2147483904.0f && x < 2147483648.0f))
		return (int)(-2147483647 - 1);
	return (int)x;
}`;

/** The header's machine-readable side of --no-fpu: the switch for the module templates and each edge's format. */
function noFpuDefines(prefix: string, edges: NoFpuEdges): string {
	const lines = [`#define ${prefix}_NO_FPU 1`];
	edges.arguments.forEach((bits, i) => { if (bits !== undefined) lines.push(`#define ${prefix}_ARG${i}_FRAC_BITS ${bits}`); });
	edges.results.forEach((bits, i) => { if (bits !== undefined) lines.push(`#define ${prefix}_RESULT${i}_FRAC_BITS ${bits}`); });
	return `${lines.join("\n")}
`;
}

function apiFunctions(prefix: string, program: Program, plan: MemoryPlan, noFpu: boolean): string {
	// An integer-only model's tensors are int32 fixed point or quantized integers, never float.
	const pointer = noFpu ? "void" : "float";
	const accessor = (kind: "argument" | "result", buffers: Buffer[], names: string[]) => {
		const cases = (body: (b: Buffer, i: number) => string) => buffers.map((b, i) => `\tcase ${i}: ${body(b, i)}`).join("\n");
		return `static inline ${pointer} *${prefix}_get_address_for_${kind}(struct ${prefix} *self, int index)
{
	switch (index) {
${cases((b) => `return (${pointer} *)(self->arena + ${plan.offsets.get(b)});`)}
	default: return 0;
	}
}

static inline int ${prefix}_get_${kind}_size_bytes(int index)
{
	switch (index) {
${cases((b) => `return ${bufferBytes(b)};`)}
	default: return -1;
	}
}

static inline const char *${prefix}_${kind}_name(int index)
{
	switch (index) {
${cases((_, i) => `return ${cString(names[i])};`)}
	default: return 0;
	}
}`;
	};
	return `static inline int ${prefix}_constructor(struct ${prefix} *self)
{
	for (int i = 0; i < ${prefix}_ARENA_BYTES; ++i)
		self->arena[i] = 0;
	return 0;
}

static inline void ${prefix}_destructor(struct ${prefix} *self)
{
	(void)self;
}

${accessor("argument", program.arguments, program.argumentNames)}

${accessor("result", program.results, program.resultNames)}`;
}

/** Whether any step is a quantized (Q*) op, whose C needs TFLite's fixed-point primitives. */
function usesQuantizedOps(steps: Step[]): boolean {
	return steps.some((step) => (step.kind === "loop" ? usesQuantizedOps(step.body) : step.kind === "kernel" && /^Q[A-Z]/.test(step.op)));
}

export function emitSources(prefix: string, program: Program, plan: MemoryPlan, origin: string, noFpu?: NoFpuEdges): GeneratedSource {
	const writer = new SourceWriter(prefix, plan);
	const body = emitSteps(program.steps, writer, 0);
	writer.keepUsedConstants([...body, ...writer.parts].join("\n"));
	const mathFunctions = [...writer.mathUsed].sort();
	const vectorFunctions = [...writer.vectorMathUsed].sort();
	const guard = `${prefix.toUpperCase()}_H`;
	const fixed = (bits: number | undefined) => (bits === undefined ? "" : `, ${qFormat(bits)} fixed point: value = raw / 2^${bits}`);
	const describe = (buffers: Buffer[], names: string[], bits: (number | undefined)[] = []) => buffers.map((b, i) => ` *   ${i}  ${cComment(names[i])}  ${b.dtype} ${formatShape(b.shape)}, ${bufferBytes(b)} bytes${fixed(bits[i])}`).join("\n");
	const header = `/*
 * ${prefix}.h: ${cComment(origin)}
 * Generated by Kernel NN. Do not edit; regenerate with knn compile.
 *
 * The tf_converter C API: allocate a struct ${prefix} (kzalloc, vzalloc or static), call
 * ${prefix}_constructor(), write the arguments at ${prefix}_get_address_for_argument(), call
 * ${prefix}_run(), read the results at ${prefix}_get_address_for_result(). Arguments and results are
 * numbered in the order of the config's feeds and fetches.
 *
 * Arguments:
${describe(program.arguments, program.argumentNames, noFpu?.arguments)}
 * Results:
${describe(program.results, program.resultNames, noFpu?.results)}
 *
 * Memory: one arena of ${plan.arenaBytes} bytes inside struct ${prefix}: arguments ${plan.argumentBytes}, results
 * ${plan.resultBytes}, loop state ${plan.stateBytes}, temporaries ${plan.tempBytes} (${plan.tempBytesUnshared} without liveness-based reuse).
 * Weights: ${writer.weightBytes} bytes of static const data. No allocation, no libc, no libm.
${runtimeStateNotes(prefix, program)} *
${noFpu ? noFpuHeaderNotes(prefix, program) : ` * Floating point: ${prefix}_run() lives in ${prefix}_model.c, which must be compiled with the FPU enabled
 * (Kbuild: CFLAGS_${prefix}_model.o), and may only be called between kernel_fpu_begin() and
 * kernel_fpu_end(). Every other function here is inline and uses no floating point.
${quantizedFidelityNotes(program)}`}${mathFunctions.length ? ` *\n * Math functions (own implementations; worst error measured against glibc):\n${mathErrorSummary(mathFunctions).map((l) => ` * ${cComment(l.trim())}`).join("\n")}\n` : ""}${vectorFunctions.length ? ` *\n * Vector math functions (8 lanes with AVX, 4 with SSE2; branch-free; worst error measured against glibc):\n${vectorMathErrorSummary(vectorFunctions).map((l) => ` * ${cComment(l.trim())}`).join("\n")}\n` : ""} */
#ifndef ${guard}
#define ${guard}

#define ${prefix}_NUM_ARGUMENTS ${program.arguments.length}
#define ${prefix}_NUM_RESULTS ${program.results.length}
#define ${prefix}_ARENA_BYTES ${plan.arenaBytes}
${noFpu ? noFpuDefines(prefix, noFpu) : ""}
struct ${prefix} {
	unsigned char arena[${prefix}_ARENA_BYTES] __attribute__((aligned(64)));
};

${apiFunctions(prefix, program, plan, noFpu !== undefined)}

${runtimeStateApi(prefix, program, plan)}

/* Runs the model once. ${noFpu ? "Integer only: callable in any context that may take its time." : "Call only between kernel_fpu_begin() and kernel_fpu_end()."} */
void ${prefix}_run(struct ${prefix} *self);

#endif /* ${guard} */
`;
	const source = `/*
 * ${prefix}_model.c: ${cComment(origin)}
${noFpu ? ` * Generated by Kernel NN. Integer only (--no-fpu): compile it with the kernel's own no-FPU flags.
` : ` * Generated by Kernel NN. The floating-point translation unit of ${prefix}: compile it with the FPU
 * enabled and call ${prefix}_run() only between kernel_fpu_begin() and kernel_fpu_end().
`} */
#include "${prefix}.h"

${noFpu ? "" : PRELUDE}

${mathFunctions.length ? `${mathLibrarySource(mathFunctions)}\n` : ""}${writer.vectorUsed ? `${VECTOR_PRELUDE}\n\n${vectorMathSource(vectorFunctions)}\n` : ""}${usesQuantizedOps(program.steps) ? `${Q_PRIMITIVES_C}\n` : ""}${writer.statics().join("\n\n")}

${writer.parts.map((part) => `${part}\n\n`).join("")}void ${prefix}_run(struct ${prefix} *self)
{
	unsigned char *const arena = self->arena;

	(void)arena;
${indent(body, 1).join("\n")}
}
`;
	return { header, source, mathFunctions, weightBytes: writer.weightBytes };
}
