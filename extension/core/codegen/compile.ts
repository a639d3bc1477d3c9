import { type Graph } from "../graph/graph";
import type { Tf2xlaConfig } from "../frontends/tf/proto/types";
import { validatePrefix as checkPrefix } from "../kmod/moduleProject";
import { type NoFpuEdges, floatTokensIn, rewriteForNoFpu } from "./cint/noFpu";
import { emitSources } from "./emitC";
import { fuseElementwise } from "./fuseElementwise";
import { CompileError, lowerGraph } from "./lower";
import { planMemory } from "./memoryPlan";
import type { Program, Step } from "./program";

export interface CompiledModel {
	prefix: string;
	files: { name: string; text: string }[];
	program: Program;
	/** Set by --no-fpu: each argument's and result's int32 fixed-point fractional bits (undefined: unchanged). */
	noFpu?: NoFpuEdges;
	report: {
		arenaBytes: number;
		tempBytes: number;
		tempBytesUnshared: number;
		weightBytes: number;
		kernels: number;
		loops: number;
		mathFunctions: string[];
	};
}

/** A C identifier short enough for Kbuild object names and symbol prefixes. */
export function validatePrefix(prefix: string): string {
	try {
		checkPrefix(prefix);
	} catch (error) {
		throw new CompileError(error instanceof Error ? error.message : String(error));
	}
	return prefix;
}

function countSteps(steps: Step[]): { kernels: number; loops: number } {
	let kernels = 0;
	let loops = 0;
	for (const step of steps) {
		if (step.kind === "loop") {
			loops++;
			const inner = countSteps(step.body);
			kernels += inner.kernels;
			loops += inner.loops;
		} else {
			kernels++;
		}
	}
	return { kernels, loops };
}

export interface CompileOptions {
	/** Integer-only code: float edges become int32 fixed point; anything else in float is refused. */
	noFpu?: boolean;
}

/** Compiles a frozen graph and its config to NAME.h and NAME_model.c. */
export function compileModel(graph: Graph, config: Tf2xlaConfig, prefix: string, origin: string, options: CompileOptions = {}): CompiledModel {
	validatePrefix(prefix);
	const integerOnly = options.noFpu ? rewriteForNoFpu(graph, config) : undefined;
	const program = integerOnly ? lowerGraph(integerOnly.graph, integerOnly.config) : lowerGraph(graph, config);
	if (!integerOnly) fuseElementwise(program);
	const plan = planMemory(program);
	const generated = emitSources(prefix, program, plan, origin, integerOnly?.edges);
	if (integerOnly) {
		const floats = floatTokensIn(`${generated.header}\n${generated.source}`);
		if (floats.length > 0) throw new CompileError(`internal: the --no-fpu code of ${prefix} still uses ${floats.join(", ")}; please report this with the model`);
	}
	return {
		prefix,
		files: [{ name: `${prefix}.h`, text: generated.header }, { name: `${prefix}_model.c`, text: generated.source }],
		program,
		...(integerOnly ? { noFpu: integerOnly.edges } : {}),
		report: {
			arenaBytes: plan.arenaBytes, tempBytes: plan.tempBytes, tempBytesUnshared: plan.tempBytesUnshared,
			weightBytes: generated.weightBytes, ...countSteps(program.steps), mathFunctions: generated.mathFunctions,
		},
	};
}
