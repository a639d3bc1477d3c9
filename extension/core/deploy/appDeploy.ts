import type { CompiledModel } from "../codegen/compile";
import { bufferBytes } from "../codegen/memoryPlan";
import type { Buffer } from "../codegen/program";
import { addApp, runtimeStatus } from "../runtime/client";
import { coreSymvers } from "../runtime/install";
import type { AppStatus, ElementType } from "../runtime/types";
import type { Target } from "../targets/target";
import { KnnError, codedError } from "../util/errors";

export { parseAppLine } from "../kmod/templates/app";

// The "runtime" stage of `knn deploy --app`: knn_core must be loaded on the target, the application must exist (an
// application of the user's own is created with the model's sizes) and take the model's tensors, and the module is
// linked against the knn_core build that runs there.

/** A deploy into a knn_core application that cannot go ahead; nothing was loaded. */
export class AppDeployError extends codedError("deploy", "AppDeployError") {}

const BUILT_IN_APPS = new Set(["tcp", "netfilter"]);

/** What the model gives an application: argument 0 in, result 0 out, arguments 1.. as recurrent state. */
export function modelContract(model: CompiledModel): { inputType: ElementType; outputType: ElementType; inputBytes: number; outputBytes: number; stateBytes: number } {
	const { arguments: args, results } = model.program;
	return {
		inputType: elementType(args[0], "argument 0"),
		outputType: elementType(results[0], "result 0"),
		inputBytes: bufferBytes(args[0]),
		outputBytes: bufferBytes(results[0]),
		stateBytes: args.slice(1).reduce((sum, buffer) => sum + bufferBytes(buffer), 0),
	};
}

function elementType(buffer: Buffer, what: string): ElementType {
	const types: Partial<Record<string, ElementType>> = { float32: "float32", int8: "int8", uint8: "uint8", int16: "int16", int32: "int32" };
	const type = types[buffer.dtype];
	if (!type) throw new AppDeployError(`the model's ${what} is ${buffer.dtype}; a knn_core application takes float32, int8, uint8, int16 or int32 tensors`);
	return type;
}

/**
 * Checks (or creates) the application on the target and returns knn_core's Module.symvers for `release`. Errors
 * name the application, the model's tensor and both sizes.
 */
export async function prepareApplication(target: Target, app: string, model: CompiledModel, release: string,
	options: { runtimeCacheDir?: string; kdir?: string }, signal?: AbortSignal): Promise<string> {
	if (!options.runtimeCacheDir) throw new AppDeployError(`--app ${app}: no knn_core build folder was given; run knn runtime install --target first`);
	let apps: AppStatus[];
	try {
		apps = await runtimeStatus(target, { signal });
	} catch (error) {
		if (error instanceof KnnError) throw new AppDeployError(`${error.message}; knn runtime install --target loads knn_core and its applications`, { cause: error });
		throw error;
	}
	const contract = modelContract(model);
	const found = apps.find((a) => a.app === app);
	if (!found) {
		if (BUILT_IN_APPS.has(app)) throw new AppDeployError(`knn_core on ${target.description} has no ${app} application: knn runtime install --target loads it`);
		await addApp(target, { app, ...contract }, signal);
	} else {
		const mismatch = ([["input", "inputBytes", "inputType"], ["output", "outputBytes", "outputType"]] as const)
			.filter(([, bytes, type]) => found[bytes] !== contract[bytes] || found[type] !== contract[type])
			.map(([what, bytes, type]) => `its ${what} is ${found[bytes]} bytes of ${found[type]} but the model's is ${contract[bytes]} bytes of ${contract[type]}`);
		if (contract.stateBytes > found.stateBytes) mismatch.push(`the model keeps ${contract.stateBytes} bytes of recurrent state, more than the ${found.stateBytes} the application holds per flow`);
		if (mismatch.length > 0) throw new AppDeployError(`the model does not fit knn_core's ${app} application on ${target.description}: ${mismatch.join("; ")}`);
	}
	return coreSymvers(options.runtimeCacheDir, release, { kdir: options.kdir, signal });
}
