// How the integer C of the group A ops compares with TFLite's runtime, as measured by test/unit/tfliteQuantA.test.ts.
export const Q_FIDELITY_A: Record<string, "exact" | "within 1 step"> = {
	// int8/uint8: the runtime's XNNPACK delegate, whose fp32 requantization the interpreter and the C reproduce in
	// integers (per-channel int8 TRANSPOSE_CONV stays TFLite's reference kernel, as the runtime runs it).
	QFullyConnected: "exact",
	QConv2D: "exact",
	QDepthwiseConv2D: "exact",
	QTransposeConv: "exact",
	QAveragePool2D: "exact",
	QMaxPool2D: "exact",
	// The runtime rescales a mean in float where the input and output quantization differ.
	QMean: "within 1 step",
	QUnidirectionalSequenceLstm: "exact",
};
