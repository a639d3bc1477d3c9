// A recurrent policy as torch.onnx.export writes one with a fixed batch of 1: an LSTM or GRU layer whose state is a
// graph input and output, then Gemm + Softmax. Random weights, seeded.
import { type Tensor, makeTensor } from "../../extension/core/graph/tensor";
import { buildOnnxModel, i64 } from "./onnxBuilder";
import { mulberry32 } from "./random";

export const POLICY = { input: 9, hidden: 32, actions: 5 };

function uniform(random: () => number, shape: number[], scale: number): Tensor {
	const size = shape.reduce((a, b) => a * b, 1);
	return makeTensor("float32", shape, Array.from({ length: size }, () => Math.fround((random() * 2 - 1) * scale)));
}

/** The policy's ONNX bytes: inputs obs [1,1,9] and h0 (and c0 for LSTM), outputs probs, hn (and cn). */
export function recurrentPolicy(cell: "LSTM" | "GRU", seed = 2024): Uint8Array {
	const { input, hidden, actions } = POLICY;
	const random = mulberry32(seed);
	const scale = 1 / Math.sqrt(hidden);
	const gates = cell === "LSTM" ? 4 : 3;
	const state = (name: string) => ({ name, shape: [1, 1, hidden] });
	const stateIn = cell === "LSTM" ? ["h0", "c0"] : ["h0"];
	const stateOut = cell === "LSTM" ? ["hn", "cn"] : ["hn"];
	return buildOnnxModel({
		opset: 17,
		inputs: [{ name: "obs", shape: [1, 1, input] }, ...stateIn.map(state)],
		outputs: [{ name: "probs", shape: [1, actions] }, ...stateOut.map(state)],
		initializers: [
			{ name: "rnn.W", value: uniform(random, [1, gates * hidden, input], scale) },
			{ name: "rnn.R", value: uniform(random, [1, gates * hidden, hidden], scale) },
			{ name: "rnn.B", value: uniform(random, [1, 2 * gates * hidden], scale) },
			{ name: "head.weight", value: uniform(random, [actions, hidden], scale) },
			{ name: "head.bias", value: uniform(random, [actions], scale) },
			{ name: "flat_shape", value: i64([2], [1, hidden]) },
		],
		nodes: [
			{
				op: cell, name: `/rnn/${cell}`, inputs: ["obs", "rnn.W", "rnn.R", "rnn.B", "", ...stateIn], outputs: ["rnn_y", ...stateOut],
				// PyTorch's GRU applies the reset gate after the recurrent product.
				attrs: cell === "GRU" ? { hidden_size: hidden, linear_before_reset: 1 } : { hidden_size: hidden },
			},
			{ op: "Reshape", name: "/Reshape", inputs: ["hn", "flat_shape"], outputs: ["features"] },
			{ op: "Gemm", name: "/head/Gemm", inputs: ["features", "head.weight", "head.bias"], outputs: ["logits"], attrs: { transB: 1 } },
			{ op: "Softmax", name: "/Softmax", inputs: ["logits"], outputs: ["probs"], attrs: { axis: -1 } },
		],
	});
}
