import { type GraphNode, attrBool, attrFloat, attrString, attrType } from "../graph/graph";
import { type DType, isIntDType, numbers, shapeSize } from "../graph/tensor";
import { CompileError } from "./compileError";
import { floatModuloStatements, integerStatements, wrappingExpression } from "./emitIntegerMath";
import type { MathFunction } from "./mathLibrary";
import type { VectorMathFunction } from "./vectorMath";
import { type Lanes, perWidth } from "./vectorLibrary";
import type { Buffer, KernelStep } from "./program";

/** What op emitters need from the source being written: buffer addresses, static tables, math functions. */
export interface EmitContext {
	/** C expression of a buffer's element pointer (const unless `writable`). */
	addr(buffer: Buffer, writable?: boolean): string;
	/** Name of a static const int table holding `values`. */
	table(values: Int32Array): string;
	/** Name of a static const float array holding `values` (derived weights such as transposed matrices). */
	floats(values: Float32Array, label: string): string;
	/** C name of a math function, pulling it into the source. */
	math(fn: MathFunction): string;
	/** Pulls the vector types and helpers (vectorLibrary.ts) into the source. */
	vector(): void;
	/** C name of a vector math function (knn_vf -> knn_vf), pulling it and the vector types into the source. */
	vmath(fn: VectorMathFunction): string;
}

/** Writes the C statements of one kernel step (inside its own block). */
export type KernelEmitter = (step: KernelStep, ctx: EmitContext) => string[];

export function cType(dtype: DType, where: string): string {
	switch (dtype) {
		case "float32": return "float";
		case "int32": return "int";
		case "bool": case "uint8": return "unsigned char";
		case "int8": return "signed char";
		case "int16": return "short";
		case "uint16": return "unsigned short";
		case "uint32": return "unsigned int";
		default: throw new CompileError(`${where}: ${dtype} tensors are not supported by the compiler (float32, bool and 8-, 16- and 32-bit integers are)`);
	}
}

/** An exact C literal for a float32 value. */
export function floatLiteral(value: number): string {
	const v = Math.fround(value);
	if (!Number.isFinite(v)) throw new CompileError(`cannot write ${v} as a C float literal`);
	const text = v.toPrecision(9);
	return `${/[.e]/.test(text) ? text : `${text}.0`}f`;
}

function fail(node: GraphNode, detail: string): never {
	throw new CompileError(`node "${node.name}" (${node.op}): ${detail}`);
}

/** How element i of the output reads a (possibly broadcast) input: a C index expression. */
function broadcastIndex(input: number[], output: number[], ctx: EmitContext): string {
	const inSize = shapeSize(input);
	const outSize = shapeSize(output);
	if (inSize === outSize) return "i";
	if (inSize === 1) return "0";
	const rank = output.length;
	const padded = [...Array(rank - input.length).fill(1), ...input];
	const table = new Int32Array(outSize);
	const outStrides = output.map((_, d) => shapeSize(output.slice(d + 1)));
	const inStrides = padded.map((_, d) => shapeSize(padded.slice(d + 1)));
	let modulo = true;
	let divide = true;
	const divisor = outSize / inSize;
	for (let i = 0; i < outSize; i++) {
		let offset = 0;
		for (let d = 0; d < rank; d++) if (padded[d] !== 1) offset += (Math.floor(i / outStrides[d]) % output[d]) * inStrides[d];
		table[i] = offset;
		if (offset !== i % inSize) modulo = false;
		if (offset !== Math.floor(i / divisor)) divide = false;
	}
	if (modulo) return `i % ${inSize}`;
	if (divide) return `i / ${divisor}`;
	return `${ctx.table(table)}[i]`;
}

const BINARY: Record<string, (a: string, b: string, ctx: EmitContext) => string> = {
	Add: (a, b) => `${a} + ${b}`, AddV2: (a, b) => `${a} + ${b}`, Sub: (a, b) => `${a} - ${b}`, Mul: (a, b) => `${a} * ${b}`,
	RealDiv: (a, b) => `${a} / ${b}`, Div: (a, b) => `${a} / ${b}`,
	Maximum: (a, b) => `${a} > ${b} ? ${a} : ${b}`, Minimum: (a, b) => `${a} < ${b} ? ${a} : ${b}`,
	SquaredDifference: (a, b) => `(${a} - ${b}) * (${a} - ${b})`, Pow: (a, b, ctx) => `${ctx.math("pow")}(${a}, ${b})`,
	Less: (a, b) => `${a} < ${b}`, LessEqual: (a, b) => `${a} <= ${b}`, Greater: (a, b) => `${a} > ${b}`,
	GreaterEqual: (a, b) => `${a} >= ${b}`, Equal: (a, b) => `${a} == ${b}`, NotEqual: (a, b) => `${a} != ${b}`,
	LogicalAnd: (a, b) => `${a} && ${b}`, LogicalOr: (a, b) => `${a} || ${b}`,
};
// Add, Sub and Mul wrap (emitIntegerMath.ts); these read the same on every integer type.
const INT_BINARY: Record<string, (a: string, b: string, ctx: EmitContext) => string> = {
	Maximum: BINARY.Maximum, Minimum: BINARY.Minimum, Less: BINARY.Less, LessEqual: BINARY.LessEqual, Greater: BINARY.Greater,
	GreaterEqual: BINARY.GreaterEqual, Equal: BINARY.Equal, NotEqual: BINARY.NotEqual,
};

/** The float expression of an activation or unary op applied to `x`. */
export function unaryExpression(node: GraphNode, x: string, ctx: EmitContext): string {
	switch (node.op) {
		case "Sigmoid": return `${ctx.math("sigmoid")}(${x})`;
		case "Tanh": return `${ctx.math("tanh")}(${x})`;
		case "Relu": return `${x} > 0.0f ? ${x} : 0.0f`;
		case "Relu6": return `${x} > 0.0f ? (${x} < 6.0f ? ${x} : 6.0f) : 0.0f`;
		case "Elu": return `${x} > 0.0f ? ${x} : ${ctx.math("expm1")}(${x})`;
		case "Selu": return `${x} > 0.0f ? 1.05070098f * ${x} : 1.75809932f * ${ctx.math("expm1")}(${x})`;
		case "Exp": return `${ctx.math("exp")}(${x})`;
		case "Expm1": return `${ctx.math("expm1")}(${x})`;
		case "Log": return `${ctx.math("log")}(${x})`;
		case "Log1p": return `${ctx.math("log1p")}(${x})`;
		case "Sqrt": return `${ctx.math("sqrt")}(${x})`;
		case "Rsqrt": return `${ctx.math("rsqrt")}(${x})`;
		case "Softplus": return `${ctx.math("softplus")}(${x})`;
		case "Erf": return `${ctx.math("erf")}(${x})`;
		case "Sin": return `${ctx.math("sin")}(${x})`;
		case "Cos": return `${ctx.math("cos")}(${x})`;
		case "Neg": return `-${x}`;
		case "Abs": return `${x} < 0.0f ? -${x} : ${x}`;
		case "Square": return `${x} * ${x}`;
		case "Reciprocal": case "Inv": return `1.0f / ${x}`;
		case "Sign": return `(float)((${x} > 0.0f) - (${x} < 0.0f))`;
		case "LeakyRelu": return `${x} > 0.0f ? ${x} : ${x} * ${floatLiteral(attrFloat(node, "alpha", 0.2))}`;
		case "Floor": return `knn_floorf(${x})`;
		case "Ceil": return `-knn_floorf(-${x})`;
		default: return fail(node, "is not an elementwise op the compiler knows");
	}
}

export function elementwise(step: KernelStep, ctx: EmitContext): string[] {
	const { node } = step;
	const out = step.outputs[0];
	const type = cType(out.dtype, `node "${node.name}"`);
	const ins = step.inputs.map((b, k) => ({ b, ptr: `in${k}`, index: broadcastIndex(b.shape, out.shape, ctx) }));
	const decls = ins.map(({ b, ptr }) => `const ${cType(b.dtype, `node "${node.name}"`)} *const ${ptr} = ${ctx.addr(b)};`);
	let expression: string;
	if (node.op === "Cast") {
		const to = attrType(node, "DstT");
		const from = ins[0].b.dtype;
		const x = `${ins[0].ptr}[${ins[0].index}]`;
		expression = to === "bool" ? `${x} != 0` : `(${type})${x}`;
		// Float to integer truncates; out-of-range values and NaN never reach a C conversion (undefined behaviour).
		if (isIntDType(to) && from === "float32") {
			expression = to === "uint32"
				? `${x} > -1.0f && ${x} < 4294967296.0f ? (unsigned int)${x} : (unsigned int)knn_float_to_int(${x})`
				: `(${type})knn_float_to_int(${x})`;
		}
	} else if (node.op === "LogicalNot") {
		expression = `!${ins[0].ptr}[${ins[0].index}]`;
	} else if (node.op === "Select" || node.op === "SelectV2") {
		const [c, a, b] = ins.map(({ ptr, index }) => `${ptr}[${index}]`);
		expression = `${c} ? ${a} : ${b}`;
	} else if (node.op === "AddN") {
		return [...decls, `${type} *const out = ${ctx.addr(out, true)};`, `for (int i = 0; i < ${out.size}; ++i) {`,
			`\t${type} v = ${ins[0].ptr}[${ins[0].index}];`, ...ins.slice(1).map(({ ptr, index }) => `\tv = v + ${ptr}[${index}];`), "\tout[i] = v;", "}"];
	} else if (ins.length === 2) {
		const operands = ins.map(({ ptr, index }) => `${ptr}[${index}]`) as [string, string];
		const operandType = step.inputs[0].dtype;
		const integer = isIntDType(operandType);
		const statements = integer
			? integerStatements(node.op, operandType, type, operands[0], operands[1])
			: operandType === "float32" ? floatModuloStatements(node.op, operands[0], operands[1]) : undefined;
		if (statements) {
			return [...decls, `${type} *const out = ${ctx.addr(out, true)};`, `for (int i = 0; i < ${out.size}; ++i) {`,
				...statements.map((line) => `\t${line}`), "}"];
		}
		const wrapped = integer ? wrappingExpression(node.op, type, operands[0], operands[1]) : undefined;
		const make = integer ? INT_BINARY[node.op] : BINARY[node.op];
		if (!wrapped && !make) fail(node, `is not supported on ${operandType} by the compiler`);
		expression = wrapped ?? make(operands[0], operands[1], ctx);
	} else {
		expression = unaryExpression(node, `${ins[0].ptr}[${ins[0].index}]`, ctx);
	}
	const activation = step.fused.map((f) => f).pop();
	const body = activation ? [`\tconst float v = ${expression};`, `\tout[i] = ${unaryExpression(activation, "v", ctx)};`] : [`\tout[i] = ${expression};`];
	return [...decls, `${type} *const out = ${ctx.addr(out, true)};`, `for (int i = 0; i < ${out.size}; ++i) {`, ...body, "}"];
}

export function biasAdd(step: KernelStep, ctx: EmitContext): string[] {
	const [x, bias] = step.inputs;
	const out = step.outputs[0];
	const channels = bias.size;
	const nchw = attrString(step.node, "data_format", "NHWC") === "NCHW";
	const inner = nchw ? shapeSize(x.shape.slice(2)) : 1;
	const index = nchw ? `(i / ${inner}) % ${channels}` : `i % ${channels}`;
	const activation = step.fused[0];
	return [`const float *const x = ${ctx.addr(x)};`, `const float *const bias = ${ctx.addr(bias)};`, `float *const out = ${ctx.addr(out, true)};`,
		`for (int i = 0; i < ${out.size}; ++i) {`, `\tconst float v = x[i] + bias[${index}];`,
		`\tout[i] = ${activation ? unaryExpression(activation, "v", ctx) : "v"};`, "}"];
}

/**
 * Softmax and LogSoftmax over the last dimension, in float as TensorFlow's CPU kernel: the row's maximum, then
 * exp(x - max) 8 at a time with the vector exp, their sum, then a division (or, for LogSoftmax, x - max - log(sum)).
 */
/**
 * Softmax and LogSoftmax over the last dimension, in float as TensorFlow's CPU kernel: the row's maximum, then
 * exp(x - max) a vector at a time with the vector exp, their sum, then a division (or, for LogSoftmax,
 * x - max - log(sum)).
 */
export function softmax(step: KernelStep, ctx: EmitContext): string[] {
	const x = step.inputs[0];
	const cols = x.shape[x.shape.length - 1];
	const rows = x.size / cols;
	const log = step.node.op === "LogSoftmax";
	const exp = ctx.vmath("exp");
	const body = (lanes: Lanes) => {
		const full = cols - (cols % lanes);
		const chunk = (count: number) => [
			`\t\tknn_vf e = ${exp}(${count === lanes ? "knn_vload(row + c)" : `knn_vload_part(row + c, ${count})`} - knn_splat(max));`,
			// The partial vector's lanes past the row's end must not add to the sum.
			...(count === lanes ? [] : [`\t\tfor (int j = ${count}; j < ${lanes}; ++j) e[j] = 0.0f;`]),
			...(log ? [] : [count === lanes ? "\t\tknn_vstore(y + c, e);" : `\t\tknn_vstore_part(y + c, e, ${count});`]),
			"\t\tsum += e;",
		];
		return [...(full > 0 ? [`\tfor (int c = 0; c < ${full}; c += ${lanes}) {`, ...chunk(lanes), "\t}"] : []),
			...(full < cols ? ["\t{", `\t\tconst int c = ${full};`, ...chunk(cols - full), "\t}"] : [])];
	};
	return [`const float *const x = ${ctx.addr(x)};`, `float *const out = ${ctx.addr(step.outputs[0], true)};`,
		`for (int r = 0; r < ${rows}; ++r) {`, `\tconst float *const row = x + r * ${cols};`, `\tfloat *const y = out + r * ${cols};`,
		"\tfloat max = row[0];", "\tfloat total = 0.0f;", "\tknn_vf sum = knn_splat(0.0f);",
		`\tfor (int c = 1; c < ${cols}; ++c) if (row[c] > max) max = row[c];`,
		...perWidth(body),
		"\tfor (int j = 0; j < KNN_LANES; ++j) total += sum[j];",
		...(log
			? [`\tconst float lse = ${ctx.math("log")}(total);`, `\tfor (int c = 0; c < ${cols}; ++c) y[c] = (row[c] - max) - lse;`]
			: [`\tfor (int c = 0; c < ${cols}; ++c) y[c] = y[c] / total;`]),
		"}"];
}

const INT_LIMITS: Partial<Record<DType, [string, string]>> = {
	int8: ["-128", "127"], uint8: ["0", "255"], int16: ["-32768", "32767"], uint16: ["0", "65535"], int32: ["(-2147483647 - 1)", "2147483647"],
};

export function reduction(step: KernelStep, ctx: EmitContext): string[] {
	const { node } = step;
	const [x, axesBuffer] = step.inputs;
	if (!axesBuffer.value) fail(node, "its reduction axes must be constant");
	const rank = x.shape.length;
	const axes = new Set(Array.from(numbers(axesBuffer.value)).map((a) => (a < 0 ? a + rank : a)));
	const out = step.outputs[0];
	const strides = x.shape.map((_, d) => shapeSize(x.shape.slice(d + 1)));
	const kept = x.shape.map((_, d) => d).filter((d) => !axes.has(d));
	const keptStrides = kept.map((_, k) => shapeSize(kept.slice(k + 1).map((d) => x.shape[d])));
	const map = new Int32Array(x.size);
	for (let i = 0; i < x.size; i++) {
		let o = 0;
		kept.forEach((d, k) => (o += (Math.floor(i / strides[d]) % x.shape[d]) * keptStrides[k]));
		map[i] = o;
	}
	const count = x.size / Math.max(1, out.size);
	let index = `${ctx.table(map)}[i]`;
	if (map.every((o, i) => o === Math.floor(i / count))) index = `i / ${count}`;
	const op = node.op;
	const init = op === "Prod" ? "1.0" : op === "Max" || op === "Min" ? null : "0.0";
	if (init === null && isIntDType(x.dtype)) {
		// Max and Min of integers (quantized ones included: order-preserving) compare in their own type.
		const type = cType(x.dtype, `node "${node.name}"`);
		return [`const ${type} *const x = ${ctx.addr(x)};`, `${type} *const out = ${ctx.addr(out, true)};`,
			`for (int o = 0; o < ${out.size}; ++o) out[o] = ${INT_LIMITS[x.dtype]?.[op === "Max" ? 0 : 1] ?? fail(node, `${op} of ${x.dtype} is not supported by the compiler`)};`,
			`for (int i = 0; i < ${x.size}; ++i) if (x[i] ${op === "Max" ? ">" : "<"} out[${index}]) out[${index}] = x[i];`];
	}
	if (init !== null && isIntDType(x.dtype)) return integerReduction(step, ctx, index, count);
	const lines = [`const float *const x = ${ctx.addr(x)};`, `float *const out = ${ctx.addr(out, true)};`];
	if (init === null) {
		const better = op === "Max" ? ">" : "<";
		lines.push(`for (int o = 0; o < ${out.size}; ++o) out[o] = ${op === "Max" ? "-" : ""}knn_infinity();`,
			`for (int i = 0; i < ${x.size}; ++i) if (x[i] ${better} out[${index}] || x[i] != x[i]) out[${index}] = x[i];`);
		return lines;
	}
	lines.push(`for (int o = 0; o < ${out.size}; ++o) {`, `\tdouble acc = ${init};`,
		count === x.size / out.size && index === `i / ${count}`
			? `\tfor (int i = o * ${count}; i < (o + 1) * ${count}; ++i) acc ${op === "Prod" ? "*=" : "+="} x[i];`
			: `\tfor (int i = 0; i < ${x.size}; ++i) if (${index} == o) acc ${op === "Prod" ? "*=" : "+="} x[i];`,
		`\tout[o] = (float)(acc${op === "Mean" ? ` / ${count}.0` : ""});`, "}");
	return lines;
}

/**
 * Sum, Prod and Mean of integers in their own type, wrapping as TensorFlow's and TFLite's kernels do (and the
 * interpreter): the accumulator is unsigned because C's signed overflow is undefined. Mean truncates toward zero.
 */
function integerReduction(step: KernelStep, ctx: EmitContext, index: string, count: number): string[] {
	const { node } = step;
	const [x] = step.inputs;
	const out = step.outputs[0];
	const type = cType(x.dtype, `node "${node.name}"`);
	const wide = x.dtype === "int64" || x.dtype === "uint64";
	const accType = wide ? "unsigned long long" : "unsigned int";
	const operator = node.op === "Prod" ? "*=" : "+=";
	const contiguous = index === `i / ${count}`;
	let result = `(${type})acc`;
	if (node.op === "Mean") {
		// The wrapped sum read back as the signed (or unsigned) type, then C's truncating division.
		const sumType = /^u/.test(x.dtype) ? accType : wide ? "long long" : "int";
		result = count === 0 ? "0" : `(${type})((${sumType})acc / ${count})`;
	}
	return [`const ${type} *const x = ${ctx.addr(x)};`, `${type} *const out = ${ctx.addr(out, true)};`,
		`for (int o = 0; o < ${out.size}; ++o) {`, `\t${accType} acc = ${node.op === "Prod" ? "1u" : "0u"};`,
		contiguous
			? `\tfor (int i = o * ${count}; i < (o + 1) * ${count}; ++i) acc ${operator} (${accType})x[i];`
			: `\tfor (int i = 0; i < ${x.size}; ++i) if (${index} == o) acc ${operator} (${accType})x[i];`,
		`\tout[o] = ${result};`, "}"];
}

/** Inference-mode batch normalisation, folded at compile time into one multiply-add per channel. */
export function batchNorm(step: KernelStep, ctx: EmitContext): string[] {
	const { node } = step;
	const [x, scale, offset, mean, variance] = step.inputs;
	if (attrBool(node, "is_training", true) && mean.size === 0) fail(node, "training-mode batch normalisation is not supported by the compiler");
	for (const b of [scale, offset, mean, variance]) if (!b.value) fail(node, "its scale, offset, mean and variance must be constants");
	const eps = attrFloat(node, "epsilon", 0.0001);
	const C = scale.size;
	const s = new Float32Array(C);
	const t = new Float32Array(C);
	const [sv, ov, mv, vv] = [scale, offset, mean, variance].map((b) => numbers(b.value!));
	for (let c = 0; c < C; c++) {
		s[c] = sv[c] / Math.sqrt(vv[c] + eps);
		t[c] = ov[c] - mv[c] * s[c];
	}
	return [`const float *const x = ${ctx.addr(x)};`, `const float *const s = ${ctx.floats(s, `${node.name} scale`)};`,
		`const float *const t = ${ctx.floats(t, `${node.name} shift`)};`, `float *const out = ${ctx.addr(step.outputs[0], true)};`,
		`for (int i = 0; i < ${x.size}; ++i) out[i] = x[i] * s[i % ${C}] + t[i % ${C}];`];
}

/** ZerosLike and OnesLike where they did not fold away (inside loops): a fill of the output. */
export function fillLike(step: KernelStep, ctx: EmitContext): string[] {
	const out = step.outputs[0];
	const type = cType(out.dtype, `node "${step.node.name}"`);
	const value = step.node.op === "OnesLike" ? (type === "float" ? "1.0f" : "1") : (type === "float" ? "0.0f" : "0");
	return [`${type} *const out = ${ctx.addr(out, true)};`, `for (int i = 0; i < ${out.size}; ++i) out[i] = ${value};`];
}

/** The C statements of a kernel step, from the emitter the op table gave it. */
export function emitKernel(step: KernelStep, ctx: EmitContext): string[] {
	return step.emit(step, ctx);
}
