import { type Graph } from "../graph/graph";
import type { Tf2xlaConfig } from "../frontends/tf/proto/types";
import { validatePrefix as checkPrefix } from "../kmod/moduleProject";
import { emitSources } from "./emitC";
import { CompileError, lowerGraph } from "./lower";
import { planMemory } from "./memoryPlan";
import type { Program, Step } from "./program";

export interface CompiledModel {
	prefix: string;
	files: { name: string; text: string }[];
	program: Program;
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

/** Compiles a frozen graph and its config to NAME.h and NAME_model.c. */
export function compileModel(graph: Graph, config: Tf2xlaConfig, prefix: string, origin: string): CompiledModel {
	validatePrefix(prefix);
	const program = lowerGraph(graph, config);
	const plan = planMemory(program);
	const generated = emitSources(prefix, program, plan, origin);
	return {
		prefix,
		files: [{ name: `${prefix}.h`, text: generated.header }, { name: `${prefix}_model.c`, text: generated.source }],
		program,
		report: {
			arenaBytes: plan.arenaBytes, tempBytes: plan.tempBytes, tempBytesUnshared: plan.tempBytesUnshared,
			weightBytes: generated.weightBytes, ...countSteps(program.steps), mathFunctions: generated.mathFunctions,
		},
	};
}
