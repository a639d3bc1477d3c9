// Models for knn_core's applications in the sandbox tests, each written as ONNX with its config and self-test inputs:
// an LSTM policy for the tcp application (as torch.onnx.export writes one), a policy whose outputs turn NaN once the
// congestion window passes a few packets (the guard must take it out), and a packet classifier for the netfilter
// application, trained here by gradient descent on labelled packets.
import * as fs from "node:fs";
import * as path from "node:path";
import { loadOnnxBytes } from "../../extension/core/frontends/onnx/load";
import { buildConfig, formatConfig } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { parseInputName } from "../../extension/core/graph/graph";
import { buildOnnxModel, f32 } from "./onnxBuilder";
import { recurrentPolicy } from "./onnxPolicy";
import { mulberry32 } from "./random";

export interface ModelFiles {
	model: string;
	config: string;
	inputs: string;
	bytes: Uint8Array;
}

/** Writes NAME.onnx, its config over every graph input and output in order, and the self-test inputs. */
export function writeOnnxModel(dir: string, name: string, bytes: Uint8Array, inputs: object): ModelFiles {
	fs.mkdirSync(dir, { recursive: true });
	const model = path.join(dir, `${name}.onnx`);
	fs.writeFileSync(model, bytes);
	const loaded = loadOnnxBytes(bytes, model);
	const { config } = buildConfig(loaded.graph, (loaded.graphInputs ?? []).map((input) => ({ ref: parseInputName(input.tensor).ref, shape: input.shape })),
		(loaded.graphOutputs ?? []).map((output) => ({ ref: parseInputName(output.tensor).ref })));
	const configPath = path.join(dir, `${name}.config.pbtxt`);
	fs.writeFileSync(configPath, formatConfig(config));
	const inputsPath = path.join(dir, `${name}.inputs.json`);
	fs.writeFileSync(inputsPath, JSON.stringify(inputs));
	return { model, config: configPath, inputs: inputsPath, bytes };
}

/** An observation as the tcp application builds one: 4 link features and the one-hot of the previous action. */
export function tcpObservation(features: [number, number, number, number], previousAction: number): number[] {
	return [...features.map(Math.fround), ...Array.from({ length: 5 }, (_, i) => (i === previousAction ? 1 : 0))];
}

/** The LSTM policy for the tcp application: obs [1,1,9], h0/c0 [1,1,32] -> probs [1,5], hn, cn. */
export function lstmTcpPolicy(dir: string, name: string, seed: number): ModelFiles {
	return writeOnnxModel(dir, name, recurrentPolicy("LSTM", seed), {
		feeds: { obs: [[tcpObservation([0.01, 0.05, 0.05, 0.002], 4)]] }, steps: 3, feedback: { h0: "hn", c0: "cn" },
	});
}

/** cwnd / 5000 above this makes every output NaN: sqrt of a negative number. */
export const NAN_CWND_RATIO = 0.0003;

/**
 * probs = sqrt(0.0003 - obs[3]) in all 5 outputs: finite for the self-test's observation (cwnd 0), NaN in traffic,
 * where the window is never below 2 packets (0.0004).
 */
export function nanTcpPolicy(dir: string, name: string): ModelFiles {
	const weights = new Float32Array(9 * 5);
	for (let j = 0; j < 5; j++) weights[3 * 5 + j] = 1;
	const bytes = buildOnnxModel({
		inputs: [{ name: "obs", shape: [1, 9] }],
		outputs: [{ name: "probs", shape: [1, 5] }],
		initializers: [{ name: "pick_cwnd", value: f32([9, 5], weights) }, { name: "limit", value: f32([1, 5], new Array(5).fill(NAN_CWND_RATIO)) }],
		nodes: [
			{ op: "MatMul", inputs: ["obs", "pick_cwnd"], outputs: ["cwnd"] },
			{ op: "Sub", inputs: ["limit", "cwnd"], outputs: ["room"] },
			{ op: "Sqrt", inputs: ["room"], outputs: ["probs"] },
		],
	});
	return writeOnnxModel(dir, name, bytes, { feeds: { obs: [tcpObservation([0.01, 0.05, 0.05, 0], 2)] }, steps: 1 });
}

/** A packet as the netfilter application sees it (see kmod/runtime/netfilter/README.md for the features). */
export interface Packet {
	protocol: "tcp" | "udp";
	srcPort: number;
	dstPort: number;
	/** IP total length in bytes. */
	length: number;
	ttl: number;
	syn: boolean;
	/** Last octet of the destination IPv4 address. */
	dstOctet: number;
}

/** The 8 float32 features, as the netfilter application computes them from the packet. */
export function packetFeatures(p: Packet): number[] {
	return [p.protocol === "tcp" ? 1 : 0, p.protocol === "udp" ? 1 : 0, p.srcPort / 65536, p.dstPort / 65536, p.length / 65536, p.ttl / 256, p.syn ? 1 : 0, p.dstOctet / 256].map(Math.fround);
}

/** Ports at and above this are labelled "drop" in the classifier's training data. */
export const DROP_FROM_PORT = 6000;

/**
 * A two-class softmax regression on the 8 features, trained on UDP packets to ports 1024..11023 labelled drop from
 * DROP_FROM_PORT: scores [1,2] = features [1,8] x W + b; the netfilter application drops when score 1 > score 0.
 */
export function trainedPacketClassifier(dir: string, name: string, template: Omit<Packet, "dstPort">): ModelFiles {
	const random = mulberry32(13);
	const samples = Array.from({ length: 400 }, () => {
		const port = 1024 + Math.floor(random() * 10000);
		return { x: packetFeatures({ ...template, dstPort: port }), label: port >= DROP_FROM_PORT ? 1 : 0 };
	});
	// Standardise the features that vary, train, then fold the scaling back into W and b.
	const mean = new Array(8).fill(0);
	const scale = new Array(8).fill(1);
	for (let k = 0; k < 8; k++) {
		const values = samples.map((s) => s.x[k]);
		mean[k] = values.reduce((a, b) => a + b, 0) / values.length;
		const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean[k]) ** 2, 0) / values.length);
		scale[k] = sd > 0 ? sd : 1;
	}
	const w = Array.from({ length: 8 }, () => [0, 0]);
	const b = [0, 0];
	for (let epoch = 0; epoch < 300; epoch++) {
		const gw = Array.from({ length: 8 }, () => [0, 0]);
		const gb = [0, 0];
		for (const { x, label } of samples) {
			const z = (x.map((v, k) => (v - mean[k]) / scale[k]));
			const s = [0, 1].map((c) => b[c] + z.reduce((a, v, k) => a + v * w[k][c], 0));
			const m = Math.max(...s);
			const e = s.map((v) => Math.exp(v - m));
			const p = e.map((v) => v / (e[0] + e[1]));
			for (let c = 0; c < 2; c++) {
				const d = p[c] - (c === label ? 1 : 0);
				gb[c] += d;
				for (let k = 0; k < 8; k++) gw[k][c] += d * z[k];
			}
		}
		for (let c = 0; c < 2; c++) {
			b[c] -= (0.5 * gb[c]) / samples.length;
			for (let k = 0; k < 8; k++) w[k][c] -= (0.5 * gw[k][c]) / samples.length;
		}
	}
	const weights = new Float32Array(16);
	const bias = new Float32Array(2);
	for (let c = 0; c < 2; c++) {
		bias[c] = b[c] - mean.reduce((a, m, k) => a + (w[k][c] * m) / scale[k], 0);
		for (let k = 0; k < 8; k++) weights[k * 2 + c] = w[k][c] / scale[k];
	}
	const bytes = buildOnnxModel({
		inputs: [{ name: "features", shape: [1, 8] }],
		outputs: [{ name: "scores", shape: [1, 2] }],
		initializers: [{ name: "W", value: f32([8, 2], weights) }, { name: "b", value: f32([2], bias) }],
		nodes: [{ op: "MatMul", inputs: ["features", "W"], outputs: ["xw"] }, { op: "Add", inputs: ["xw", "b"], outputs: ["scores"] }],
	});
	return writeOnnxModel(dir, name, bytes, { feeds: { features: [packetFeatures({ ...template, dstPort: 2000 })] }, steps: 2 });
}
