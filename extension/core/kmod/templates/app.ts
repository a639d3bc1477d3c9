import type { DType } from "../../graph/tensor";
import type { ElementType } from "../../runtime/types";
import { PrefixError } from "../modulePrefix";
import { SELFTEST_HEADER, SELFTEST_PARAMETERS } from "./selftest";
import { type ModuleLayout, type ModuleProjectOptions, ModuleProjectError, type ModuleTemplateDefinition, type ProjectFile, type TensorBytes,
	stateBytes, validateStateFeedback } from "./template";

// The app template: a model module for a knn_core application (kmod/runtime/core/knn_core.h). It runs the selftest
// template's self-test, then registers one model instance per CPU into the application's standby slot and prints
// `knn-app NAME app=A model_id=N`. Built with knn_core's Module.symvers (make KBUILD_EXTRA_SYMBOLS=...).

/** What a built-in application feeds its models and reads back; the hooks (knn_tcp, knn_nf) are built to the same. */
export interface AppContract {
	inputType: ElementType;
	inputBytes: number;
	outputType: ElementType;
	outputBytes: number;
	/** The most recurrent-state bytes (arguments 1..) the application keeps per flow; 0: stateless models only. */
	stateBytesMax: number;
	/** One line: what the input and output hold. */
	summary: string;
}

/** The built-in applications; any other name is an application made with the model's own sizes. */
export const APP_CONTRACTS: Readonly<Record<"tcp" | "netfilter", AppContract>> = {
	tcp: {
		inputType: "float32", inputBytes: 9 * 4, outputType: "float32", outputBytes: 5 * 4, stateBytesMax: 1024,
		summary: "9 float32 in (4 link features and a one-hot of the previous of 5 actions, as Indigo), 5 float32 action scores out",
	},
	netfilter: {
		inputType: "float32", inputBytes: 8 * 4, outputType: "float32", outputBytes: 2 * 4, stateBytesMax: 0,
		summary: "8 float32 packet features in, 2 float32 scores out (accept, drop), no state",
	},
};

/** knn_channel.h's KNN_NAME_MAX is 32 bytes with the NUL, for application and model names alike. */
export const APP_NAME_MAX = 31;
const APP_NAME_PATTERN = /^[A-Za-z0-9_]{1,31}$/;

/** knn_channel.h's enum knn_element_type, for the element types an application can take. */
const KNN_TYPE: Partial<Record<DType, { type: ElementType; c: string }>> = {
	float32: { type: "float32", c: "KNN_TYPE_FLOAT32" },
	int8: { type: "int8", c: "KNN_TYPE_INT8" },
	uint8: { type: "uint8", c: "KNN_TYPE_UINT8" },
	int16: { type: "int16", c: "KNN_TYPE_INT16" },
	int32: { type: "int32", c: "KNN_TYPE_INT32" },
};

export function builtInContract(app: string): AppContract | undefined {
	return Object.hasOwn(APP_CONTRACTS, app) ? APP_CONTRACTS[app as keyof typeof APP_CONTRACTS] : undefined;
}

/** Throws ModuleProjectError unless the name is one knn_core accepts: [A-Za-z0-9_], 1 to 31 characters. */
export function validateAppName(app: string): string {
	if (!APP_NAME_PATTERN.test(app)) {
		throw new ModuleProjectError(`The application name ${JSON.stringify(app)} is not one knn_core accepts: use 1 to ${APP_NAME_MAX} ASCII letters, digits or _ `
			+ "(tcp, netfilter, or a name of your own).");
	}
	return app;
}

export interface AppLine {
	app: string;
	modelId: number;
}

const APP_LINE = /^knn-app (\S+) app=([A-Za-z0-9_]+) model_id=(\d+)\s*$/;

/** `knn-app NAME app=A model_id=N`: printed by module NAME once the model is in application A's standby slot. */
export function parseAppLine(message: string, prefix: string): AppLine | undefined {
	const match = APP_LINE.exec(message);
	if (!match || match[1] !== prefix) return undefined;
	return { app: match[2], modelId: Number(match[3]) };
}

function elementType(tensor: TensorBytes, what: string, app: string): ElementType {
	const dtype = tensor.dtype ?? "float32";
	const known = KNN_TYPE[dtype];
	if (!known) {
		throw new ModuleProjectError(`${what} (${JSON.stringify(tensor.name)}) is ${dtype}, but knn_core's application ${app} takes float32, int8, uint8, int16 `
			+ "or int32 tensors: change the model's feed or fetch type.");
	}
	return known.type;
}

function appOf(options: ModuleProjectOptions): string {
	if (options.app === undefined) {
		throw new ModuleProjectError("The app template needs the knn_core application the module registers into (tcp, netfilter or a name of your own); "
			+ "give it as the app option (knn deploy --app NAME).");
	}
	return validateAppName(options.app);
}

function validateApp(options: ModuleProjectOptions): void {
	const app = appOf(options);
	const { prefix, arguments: args, results } = options;
	if (prefix.length > APP_NAME_MAX) {
		throw new PrefixError(`The prefix "${prefix}" is too long for knn_core, which names models in ${APP_NAME_MAX} characters at most: `
			+ `choose a prefix of at most ${APP_NAME_MAX} characters.`);
	}
	const inputType = elementType(args[0], "Argument 0", app);
	const outputType = elementType(results[0], "Result 0", app);
	validateStateFeedback(options, `knn_core's application ${app}`);
	const contract = builtInContract(app);
	if (!contract) return;
	if (options.noFpu) {
		throw new ModuleProjectError(`knn_core's application ${app} feeds float32 and reads float32, but this is an integer-only (--no-fpu) model: `
			+ `compile it without --no-fpu for ${app}, or deploy it into an application of your own.`);
	}
	const fits = (what: string, tensor: TensorBytes, type: ElementType, wantType: ElementType, wantBytes: number): void => {
		if (type !== wantType || tensor.bytes !== wantBytes) {
			throw new ModuleProjectError(`knn_core's application ${app} takes ${contract.summary}, so ${what} must be ${wantBytes} bytes of ${wantType}, `
				+ `but ${what} (${JSON.stringify(tensor.name)}) is ${tensor.bytes} bytes of ${type}.`);
		}
	};
	fits("argument 0", args[0], inputType, contract.inputType, contract.inputBytes);
	fits("result 0", results[0], outputType, contract.outputType, contract.outputBytes);
	const state = stateBytes(options);
	if (state > contract.stateBytesMax) {
		throw new ModuleProjectError(contract.stateBytesMax === 0
			? `knn_core's application ${app} keeps no recurrent state, but the model has ${args.length - 1} state argument(s) after argument 0 (${state} bytes): `
				+ "fetch a stateless model, or deploy it into an application of your own."
			: `knn_core's application ${app} keeps at most ${contract.stateBytesMax} bytes of recurrent state per flow, but the model's arguments 1.. `
				+ `hold ${state} bytes: use a smaller state, or deploy it into an application of your own.`);
	}
}

export const appTemplate: ModuleTemplateDefinition = {
	name: "app",
	summary: "runs the self-test, then registers the model into a knn_core application's standby slot (app=)",
	parameters: [
		...SELFTEST_PARAMETERS,
		{ name: "app", description: "the knn_core application to register into (default: the one given at generation)" },
	],
	validate: validateApp,
	files(layout: ModuleLayout): ProjectFile[] {
		return [
			SELFTEST_HEADER,
			{ source: "templates/app/app_main.c.in", target: layout.mainSource },
			{ source: "templates/app/README.md.in", target: "README.md" },
			{ source: "runtime/core/knn_core.h", target: "knn_core.h", verbatim: true },
			{ source: "runtime/core/knn_channel.h", target: "knn_channel.h", verbatim: true },
		];
	},
	values(options: ModuleProjectOptions) {
		const app = appOf(options);
		const cType = (tensor: TensorBytes) => KNN_TYPE[tensor.dtype ?? "float32"]?.c ?? "KNN_TYPE_FLOAT32";
		const contract = builtInContract(app);
		return {
			APP: app,
			INPUT_TYPE: cType(options.arguments[0]),
			OUTPUT_TYPE: cType(options.results[0]),
			INPUT_BYTES: String(options.arguments[0].bytes),
			OUTPUT_BYTES: String(options.results[0].bytes),
			STATE_BYTES: String(stateBytes(options)),
			APP_CONTRACT: contract ? `the built-in application: ${contract.summary}` : "an application of your own, made with this model's sizes",
			MAKEFILE_CHECKS: MAKEFILE_CHECKS,
		};
	},
};

// The module calls knn_core: without its Module.symvers modpost fails with a bare "undefined!" per symbol.
const MAKEFILE_CHECKS = `
# knn_core's exports: make KBUILD_EXTRA_SYMBOLS=/path/to/knn_core/Module.symvers (knn runtime install builds it);
# a variable given on make's command line reaches Kbuild's modpost as it is.
ifeq ($(KBUILD_EXTRA_SYMBOLS)$(KBUILD_MODPOST_WARN),)
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),all)),)
$(error No KBUILD_EXTRA_SYMBOLS: this module calls knn_core, so modpost needs knn_core's Module.symvers; run make KBUILD_EXTRA_SYMBOLS=/path/to/knn_core/Module.symvers (knn runtime install builds knn_core))
endif
endif
`;
