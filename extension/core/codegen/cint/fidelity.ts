import { Q_FIDELITY as EDGES } from "./edges";
import { Q_FIDELITY_A } from "./fidelityA";
import { Q_FIDELITY_B } from "./fidelityB";

// Each integer emitter's claim against TFLite's runtime, for the header's comment: every cint emitter file
// exporting a Q_FIDELITY adds it here.
const CLAIMS: Record<string, "exact" | "within 1 step"> = { ...EDGES, ...Q_FIDELITY_A, ...Q_FIDELITY_B };

export function qFidelity(op: string): "exact" | "within 1 step" | undefined {
	return CLAIMS[op];
}
