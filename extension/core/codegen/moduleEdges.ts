import { formatShape } from "../graph/tensor";
import { CompileError } from "./compileError";
import type { Program } from "./program";

/**
 * A kernel module passes every feed and fetch as a C array, and C has no empty arrays: refuses a program with an
 * empty one, naming it, before any file of the module is written. (User-space C, the host driver, takes them.)
 */
export function assertModuleEdges(program: Program): void {
	const edges = [
		...program.arguments.map((buffer, i) => ({ buffer, what: `feed "${program.argumentNames[i]}"` })),
		...program.results.map((buffer, i) => ({ buffer, what: `fetch "${program.resultNames[i]}"` })),
	];
	const empty = edges.find((edge) => edge.buffer.size === 0);
	if (empty) {
		throw new CompileError(`${empty.what} (node "${empty.buffer.label.replace(/:\d+$/, "")}") has shape ${formatShape(empty.buffer.shape)}, which holds no elements; a kernel module cannot pass an empty array, so feed and fetch tensors with at least one element`);
	}
}
