import type { Kernel } from "../../kernel";
import { Q_CONV_KERNELS } from "./conv";
import { Q_FULLY_CONNECTED_KERNELS } from "./fullyConnected";
import { Q_LSTM_KERNELS } from "./lstm";
import { Q_MEAN_KERNELS } from "./mean";
import { Q_POOL_KERNELS } from "./pool";
import { Q_TRANSPOSE_CONV_KERNELS } from "./transposeConv";

/** The quantized filter, window and reduction kernels (group A of the Q ops), with TFLite's integer arithmetic. */
export const QUANTIZED_KERNELS_A: Map<string, Kernel> = new Map([
	...Q_FULLY_CONNECTED_KERNELS, ...Q_CONV_KERNELS, ...Q_TRANSPOSE_CONV_KERNELS, ...Q_POOL_KERNELS, ...Q_MEAN_KERNELS,
	...Q_LSTM_KERNELS,
]);
