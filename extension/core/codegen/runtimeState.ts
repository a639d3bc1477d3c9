import { opEntry } from "../ops/table";
import type { MemoryPlan } from "./memoryPlan";
import type { Program, Step } from "./program";

function randomNodes(steps: Step[]): string[] {
	return steps.flatMap((step) => (step.kind === "loop" ? randomNodes(step.body) : step.kind === "kernel" && opEntry(step.op)?.interpreter === "random" ? [step.node.name] : []));
}

/** The status accessor of the generated API: always present, so callers need not know whether the model gathers. */
export function runtimeStateApi(prefix: string, program: Program, plan: MemoryPlan): string {
	const offset = program.status ? plan.offsets.get(program.status) : undefined;
	return `/* Runtime Gather indices clamped into range during the last ${prefix}_run(); 0 when all were in range. */
static inline int ${prefix}_clamped_indices(const struct ${prefix} *self)
{
	${offset === undefined ? "(void)self;\n\treturn 0;" : `const int *const status = (const int *)(self->arena + ${offset});\n\treturn status[0];`}
}`;
}

/** Header comment lines on the state a model keeps between runs; empty when it keeps none. */
export function runtimeStateNotes(prefix: string, program: Program): string {
	const random = randomNodes(program.steps);
	const lines: string[] = [];
	if (random.length > 0) {
		lines.push(`Random ops (${random.length}): each keeps its generator state (xorshift128, 16 bytes) in the arena's state region.`,
			`It is seeded from the op's seed attributes on the first ${prefix}_run() after ${prefix}_constructor() and carried on`,
			"from run to run, so successive runs draw fresh numbers; calling the constructor again restarts the sequences.",
			"Two instances of the struct draw independently (there is no global state).");
	}
	if (program.status) {
		lines.push(`Gather with runtime indices: an index outside its table is clamped to the nearest row (never read out of`,
			`bounds) and counted; ${prefix}_clamped_indices() returns the count for the last run.`);
	}
	return lines.length ? ` *\n${lines.map((l) => ` * ${l}`).join("\n")}\n` : "";
}
