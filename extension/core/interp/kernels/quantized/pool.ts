// QAveragePool2D and QMaxPool2D: reference_integer_ops::AveragePool / MaxPool (int8, int16) and reference_ops's
// uint8 versions. TFLite requires equal input and output quantization, so values pass through unscaled; the
// average rounds half away from zero by integer division, and the fused activation clamps.
import type { GraphNode } from "../../../graph/graph";
import { type Tensor, formatShape } from "../../../graph/tensor";
import { activationRange, clamp, quantizedRange } from "../../../quant/arith";
import { quantAttrs } from "../../../quant/params";
import type { Kernel } from "../../kernel";
import { arity, fail, newTensor, values } from "../util";
import { type Axis, pair, paddingOf, quantizedType, tapRanges, windowAxis } from "./window";

export interface PoolPlan {
	batch: number;
	channels: number;
	rows: Axis;
	cols: Axis;
	rowTaps: Int32Array;
	colTaps: Int32Array;
	type: "int8" | "uint8" | "int16";
	min: number;
	max: number;
	/** The smallest value of the type: where a max starts. */
	lowest: number;
}

export function poolPlan(node: GraphNode, input: Tensor): PoolPlan {
	if (input.shape.length !== 4) fail(node, `the input must be 4-D (NHWC), got shape ${formatShape(input.shape)}`);
	const type = quantizedType(node, input.dtype, "input");
	const q = quantAttrs(node);
	const [batch, height, width, channels] = input.shape;
	const [kernelH, kernelW] = pair(node, "ksize");
	const [strideH, strideW] = pair(node, "strides");
	const padding = paddingOf(node);
	const rows = windowAxis(height, kernelH, strideH, 1, padding);
	const cols = windowAxis(width, kernelW, strideW, 1, padding);
	if (rows.out < 1 || cols.out < 1) fail(node, `the ${kernelH}x${kernelW} window does not fit the ${height}x${width} input with ${padding} padding`);
	const { min, max } = activationRange(q.activation, q.outScale, q.outZeroPoint, type);
	return { batch, channels, rows, cols, rowTaps: tapRanges(rows), colTaps: tapRanges(cols), type, min, max, lowest: quantizedRange(type).min };
}

function pool(inputs: Tensor[], node: GraphNode, average: boolean): Tensor[] {
	arity(node, inputs, 1);
	const p = poolPlan(node, inputs[0]);
	const { rows, cols, channels: C } = p;
	const x = values(node, inputs[0]);
	const { tensor, data } = newTensor(p.type, [p.batch, rows.out, cols.out, C]);
	for (let n = 0; n < p.batch; n++) {
		for (let oy = 0; oy < rows.out; oy++) {
			const y0 = oy * rows.stride - rows.before;
			for (let ox = 0; ox < cols.out; ox++) {
				const x0 = ox * cols.stride - cols.before;
				for (let c = 0; c < C; c++) {
					let acc = average ? 0 : p.lowest;
					let count = 0;
					for (let ky = p.rowTaps[2 * oy]; ky < p.rowTaps[2 * oy + 1]; ky++) {
						for (let kx = p.colTaps[2 * ox]; kx < p.colTaps[2 * ox + 1]; kx++) {
							const v = x[((n * rows.size + y0 + ky) * cols.size + x0 + kx) * C + c];
							if (average) acc += v;
							else if (v > acc) acc = v;
							count++;
						}
					}
					if (average) acc = Math.trunc(acc > 0 ? (acc + Math.trunc(count / 2)) / count : (acc - Math.trunc(count / 2)) / count);
					data[((n * rows.out + oy) * cols.out + ox) * C + c] = clamp(acc, p.min, p.max);
				}
			}
		}
	}
	return [tensor];
}

export const Q_POOL_KERNELS = new Map<string, Kernel>([
	["QAveragePool2D", (inputs, node) => pool(inputs, node, true)],
	["QMaxPool2D", (inputs, node) => pool(inputs, node, false)],
]);
