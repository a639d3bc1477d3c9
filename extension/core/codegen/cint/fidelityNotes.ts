import type { KernelStep, Program, Step } from "../program";
import { qFidelity } from "./fidelity";

/** One comment line per quantized op of the model: how its C compares with TFLite's runtime on the same inputs. */
export function quantizedFidelityLines(program: Program): string[] {
	const steps = (list: Step[]): KernelStep[] => list.flatMap((s) => (s.kind === "loop" ? steps(s.body) : s.kind === "kernel" ? [s] : []));
	const claims = new Map<string, string>();
	for (const step of steps(program.steps)) {
		const claim = qFidelity(step.op);
		if (claim) claims.set(step.op, claim === "exact" ? "equals TFLite's runtime exactly" : "within 1 quantization step of TFLite's runtime");
	}
	return [...claims].sort().map(([op, claim]) => ` *   ${op}: ${claim}`);
}

/** The header comment's paragraph on the quantized ops of a (not --no-fpu) model. */
export function quantizedFidelityNotes(program: Program): string {
	const lines = quantizedFidelityLines(program);
	return lines.length ? ` *\n * Quantized ops, on the same quantized inputs:\n${lines.join("\n")}\n` : "";
}
