import type { Kernel } from "../../kernel";
import { QUANTIZED_ACTIVATION_KERNELS } from "./activations";
import { QUANTIZED_CONCAT_KERNELS } from "./concat";
import { QUANTIZED_ELEMENTWISE_KERNELS } from "./elementwise";
import { QUANTIZE_KERNELS } from "./quantize";
import { QUANTIZED_SOFTMAX_KERNELS } from "./softmax";

/** Interpreter kernels of the quantized ADD, SUB, MUL, activations, SOFTMAX, CONCATENATION, QUANTIZE, DEQUANTIZE. */
export const QUANTIZED_KERNELS_B: ReadonlyMap<string, Kernel> = new Map([
	...QUANTIZED_ELEMENTWISE_KERNELS, ...QUANTIZED_ACTIVATION_KERNELS, ...QUANTIZED_SOFTMAX_KERNELS, ...QUANTIZED_CONCAT_KERNELS, ...QUANTIZE_KERNELS,
]);
