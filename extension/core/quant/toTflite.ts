// A quantization plan written as a TFLite model: float32 inputs and outputs, int8 activations and weights, int32
// biases, one subgraph, so any TFLite runtime can run what knn quantize produced.
import { BuiltinOptionsType, OPTIONS_OF_OP } from "../frontends/tflite/options";
import { BuiltinOperator, type TfliteModel, type TfliteOperator, type TfliteOperatorCode, type TfliteTensor, TensorType } from "../frontends/tflite/types";
import type { PlanOpCode, QuantPlan } from "./plan";

/** The op versions TFLite's converter writes for int8 kernels (tensorflow/lite/tools/versioning/op_version.cc). */
const INT8_VERSIONS: Record<PlanOpCode, number> = {
	QUANTIZE: 2, DEQUANTIZE: 2, FULLY_CONNECTED: 4, CONV_2D: 3, DEPTHWISE_CONV_2D: 3, TANH: 2, LOGISTIC: 2, SOFTMAX: 2,
	RELU: 2, RELU6: 2, ADD: 2, SUB: 2, MUL: 2, MAX_POOL_2D: 2, AVERAGE_POOL_2D: 2, RESHAPE: 1, SQUEEZE: 1,
	CONCATENATION: 2, MEAN: 2,
};

export function planToTflite(plan: QuantPlan, description: string): TfliteModel {
	const buffers: (Uint8Array | undefined)[] = [undefined];
	const tensors: TfliteTensor[] = plan.tensors.map((t) => {
		let buffer = 0;
		const constant = t.role === "weight" || t.role === "bias" ? t.quantData : t.intData;
		if (constant) {
			const bytes = t.role === "weight" ? Int8Array.from(constant) : Int32Array.from(constant);
			buffers.push(new Uint8Array(bytes.buffer.slice(0)));
			buffer = buffers.length - 1;
		}
		const type = t.role === "input" || t.role === "output" ? TensorType.FLOAT32 : t.role === "bias" || t.role === "int32" ? TensorType.INT32 : TensorType.INT8;
		const tensor: TfliteTensor = { name: t.name, shape: t.shape, type, buffer };
		if (t.scale.length > 0) tensor.quantization = { scale: t.scale, zeroPoint: t.zeroPoint, quantizedDimension: t.scale.length > 1 ? t.channelAxis ?? 0 : 0 };
		return tensor;
	});
	const operatorCodes: TfliteOperatorCode[] = [];
	const codeIndex = new Map<PlanOpCode, number>();
	const operators: TfliteOperator[] = plan.ops.map((op) => {
		if (!codeIndex.has(op.code)) {
			codeIndex.set(op.code, operatorCodes.length);
			operatorCodes.push({ builtinCode: BuiltinOperator[op.code], version: INT8_VERSIONS[op.code] });
		}
		const table = OPTIONS_OF_OP[BuiltinOperator[op.code]];
		return {
			opcodeIndex: codeIndex.get(op.code)!, inputs: op.inputs, outputs: op.outputs,
			builtinOptionsType: table ? BuiltinOptionsType[table] : 0, builtinOptions: table ? op.options : {},
		};
	});
	return {
		version: 3, description, operatorCodes, buffers,
		subgraphs: [{ name: "main", tensors, inputs: plan.inputs, outputs: plan.outputs, operators }],
	};
}
