import { Q_FIDELITY as ACTIVATIONS } from "./activations";
import { Q_FIDELITY as CONCAT } from "./concat";
import { Q_FIDELITY as ELEMENTWISE } from "./elementwise";
import { Q_FIDELITY as QUANTIZE } from "./quantize";
import { Q_FIDELITY as SOFTMAX } from "./softmax";

/** How the integer C of the quantized elementwise ops, activations, SOFTMAX, CONCATENATION and (DE)QUANTIZE compares with TFLite's runtime. */
export const Q_FIDELITY_B: Record<string, "exact" | "within 1 step"> = { ...ELEMENTWISE, ...ACTIVATIONS, ...SOFTMAX, ...CONCAT, ...QUANTIZE };
