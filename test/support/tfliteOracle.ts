// The real TFLite runtime (TFLite's C++ interpreter compiled to WebAssembly, from @tensorflow/tfjs-tflite) as the
// oracle for .tflite models: an implementation independent of Kernel NN's. It lives in test/oracles/tflite because it
// pins tfjs-core 4.9 (scripts/setup.sh installs it). Float models run through its XNNPACK delegate: compare with a tolerance.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";

// From test/support, or from out/integration where the integration suites run bundled.
export const TFLITE_WASM_DIR = [path.resolve(__dirname, "../oracles"), path.resolve(__dirname, "../../test/oracles")]
	.map((oracles) => path.join(oracles, "tflite/node_modules/@tensorflow/tfjs-tflite/wasm")).find((dir) => fs.existsSync(dir)) ?? path.resolve(__dirname, "../oracles/tflite/node_modules/@tensorflow/tfjs-tflite/wasm");
const LOADER = path.join(TFLITE_WASM_DIR, "tflite_web_api_cc.js");
const BINARY = path.join(TFLITE_WASM_DIR, "tflite_web_api_cc.wasm");

/** One output of a run: TFLite's dtype name ("int8", "float32", ...), its shape and its values. */
export interface TfliteOutput {
	dtype: string;
	shape: number[];
	data: number[];
}

/**
 * A node:test `skip` value: undefined when the runtime is installed, else the reason. Under CI it must be there
 * (scripts/setup.sh installs it), so there it is never a reason to skip and the tests fail instead.
 */
export function tfliteRuntimeMissing(): string | undefined {
	if (process.env.CI === "true" || (fs.existsSync(LOADER) && fs.existsSync(BINARY))) return undefined;
	return `the TFLite runtime is not installed: expected ${BINARY} (run npm ci --prefix test/oracles/tflite)`;
}

// The slice of the Emscripten module and its embind classes the oracle uses.
interface Deletable { delete(): void }
interface TensorInfo extends Deletable { dataType: string; name: string; shape: string; data(): TypedArray }
interface TensorInfoVector extends Deletable { size(): number; get(i: number): TensorInfo }
interface Runner extends Deletable { GetInputs(): TensorInfoVector; GetOutputs(): TensorInfoVector; Infer(): boolean }
interface StatusOrRunner extends Deletable { ok(): boolean; errorMessage(): string; value(): Runner }
interface TfliteWasm {
	HEAPU8: Uint8Array;
	_malloc(size: number): number;
	_free(pointer: number): void;
	TFLiteWebModelRunner: {
		CreateFromBufferAndOptions(pointer: number, size: number, options: { numThreads: number; enableProfiling: boolean; maxProfilingBufferEntries: number }): StatusOrRunner;
	};
}
type TypedArray = Int8Array | Uint8Array | Int16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

let wasm: Promise<TfliteWasm> | undefined;
/** What the runtime printed during the current call (its error reports go to stderr, not to the status). */
let printed: string[] = [];

/** Loads the module once per process: instantiating the 3 MB binary costs about 80 ms. */
function loadRuntime(): Promise<TfliteWasm> {
	if (!wasm) {
		if (!fs.existsSync(LOADER) || !fs.existsSync(BINARY)) {
			return Promise.reject(new Error(`the TFLite runtime is not installed: expected ${BINARY} (run npm ci --prefix test/oracles/tflite)`));
		}
		const factory = createRequire(__filename)(LOADER) as (options: object) => Promise<TfliteWasm>;
		// A path would make it fetch(); the bytes themselves work in Node.
		wasm = factory({ wasmBinary: fs.readFileSync(BINARY), print: (line: string) => printed.push(line), printErr: (line: string) => printed.push(line) });
	}
	return wasm;
}

const RANGES: Record<string, [number, number]> = {
	int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], int32: [-2147483648, 2147483647], uint32: [0, 4294967295], bool: [0, 1],
};

function fillInput(info: TensorInfo, values: ArrayLike<number>, index: number): void {
	const target = info.data();
	if (values.length !== target.length) {
		throw new Error(`TFLite oracle: input ${index} (${info.name}, ${info.dataType} [${info.shape}]) takes ${target.length} values, got ${values.length}`);
	}
	const range = RANGES[info.dataType];
	if (range) {
		for (let i = 0; i < values.length; i++) {
			const v = values[i];
			if (!Number.isInteger(v) || v < range[0] || v > range[1]) {
				throw new Error(`TFLite oracle: input ${index} (${info.name}) is ${info.dataType}, but value ${i} is ${v}; pass quantized integers`);
			}
		}
	}
	target.set(values);
}

function readOutput(info: TensorInfo): TfliteOutput {
	return { dtype: info.dataType, shape: info.shape === "" ? [] : info.shape.split(",").map(Number), data: Array.from(info.data()) };
}

function each<T>(vector: TensorInfoVector, use: (info: TensorInfo, i: number) => T): T[] {
	try {
		return Array.from({ length: vector.size() }, (_, i) => {
			const info = vector.get(i);
			try {
				return use(info, i);
			} finally {
				info.delete();
			}
		});
	} finally {
		vector.delete();
	}
}

/**
 * Runs a model for a sequence of steps in ONE interpreter (stateful ops such as UNIDIRECTIONAL_SEQUENCE_LSTM keep
 * their state across steps); `steps[s][i]` is input i of step s in the subgraph's input order, as float values or
 * quantized integers matching the input's type. Returns every output of every step.
 */
export async function runTfliteSteps(modelBytes: Uint8Array, steps: ArrayLike<number>[][]): Promise<TfliteOutput[][]> {
	const runtime = await loadRuntime();
	printed = [];
	const pointer = runtime._malloc(modelBytes.length);
	let status: StatusOrRunner | undefined;
	try {
		runtime.HEAPU8.set(modelBytes, pointer);
		status = runtime.TFLiteWebModelRunner.CreateFromBufferAndOptions(pointer, modelBytes.length, { numThreads: 1, enableProfiling: false, maxProfilingBufferEntries: 1024 });
		if (!status.ok()) throw new Error(`TFLite oracle: the runtime refused the model: ${status.errorMessage()} ${printed.join(" ")}`.trim());
		const runner = status.value();
		try {
			return steps.map((inputs, step) => {
				// data() views the module's heap, which can move when it grows: take fresh views on every step.
				const count = each(runner.GetInputs(), (info, i) => {
					if (i < inputs.length) fillInput(info, inputs[i], i);
					return i;
				}).length;
				if (count !== inputs.length) throw new Error(`TFLite oracle: the model takes ${count} inputs, step ${step} gave ${inputs.length}`);
				if (!runner.Infer()) throw new Error(`TFLite oracle: Invoke() failed at step ${step}: ${printed.join(" ")}`);
				return each(runner.GetOutputs(), readOutput);
			});
		} finally {
			runner.delete();
		}
	} finally {
		status?.delete();
		runtime._free(pointer);
	}
}

/** Runs a model once in a fresh interpreter; `inputs[i]` is the subgraph's input i. Returns every output in order. */
export async function runTflite(modelBytes: Uint8Array, inputs: ArrayLike<number>[]): Promise<TfliteOutput[]> {
	return (await runTfliteSteps(modelBytes, [inputs]))[0];
}
