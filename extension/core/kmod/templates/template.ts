import type { DType } from "../../graph/tensor";
import { codedError } from "../../util/errors";
import type { ModuleTemplate } from "./index";

// What a module template is to the project writer: its files under kmod/, its checks of the model, the module
// parameters it takes and the @KEY@ values its files need beyond the common ones (moduleProject.ts renders both).

/** A module project that cannot be written: missing templates, tensors a module cannot hold, a template misfit. */
export class ModuleProjectError extends codedError("build", "ModuleProjectError") {}

export interface TensorBytes {
	name: string;
	bytes: number;
	/** The element type the self-test prints in values=; float32 when absent. */
	dtype?: DType;
}

export interface ModuleProjectOptions {
	/** The compiler's prefix: a C identifier, used for `NAME.h`, `struct NAME` and `NAME_run`. */
	prefix: string;
	template: ModuleTemplate;
	/** In the model's argument order; their bytes concatenated are what the module reads and writes. */
	arguments: TensorBytes[];
	results: TensorBytes[];
	/** The model's FP translation units in the project directory, e.g. ["NAME.c"]. */
	modelFiles: string[];
	/** An integer-only model (knn compile --no-fpu): every unit keeps the kernel's no-FPU flags, no kernel_fpu_begin. */
	noFpu?: boolean;
	/** The app template: the knn_core application the module registers into by default (its app= parameter). */
	app?: string;
}

/** File names of a project, so the build and deploy steps need not repeat the naming scheme. */
export interface ModuleLayout {
	/** The module's name (the prefix): the misc device `/dev/NAME` and the TCP congestion control's name. */
	moduleName: string;
	koFile: string;
	mainSource: string;
	/** Objects built with the kernel's no-FPU flags. */
	plainObjects: string[];
	/** Objects built with SSE/SSE2 or AVX2, whose code may run only inside kernel_fpu_begin/end. */
	fpObjects: string[];
	/** A float model's wrapper units: each model file once per SIMD level; none for an integer-only model. */
	levelUnits: LevelUnit[];
}

export interface LevelUnit {
	level: "sse2" | "avx2";
	modelFile: string;
	/** `NAME_model_avx2.c`, which includes the model file under the level's function name. */
	source: string;
	object: string;
}

/** One file of a project: rendered from a template (every @KEY@ replaced) or copied as it is. */
export interface ProjectFile {
	/** Relative to kmod/, e.g. "templates/tcp/tcp_main.c.in" or "runtime/core/knn_core.h". */
	source: string;
	/** Its name in the project folder. */
	target: string;
	/** Copied byte for byte: a file shared with another build (knn_core's headers) has no placeholders. */
	verbatim?: boolean;
}

/** A module parameter as `insmod NAME.ko name=value` takes it. */
export interface ModuleParameter {
	name: string;
	/** One line: what it does, for usage texts and checks of deploy's extra parameters. */
	description: string;
	/** Declared only by a float model's module (simd=, in knn_fpu.h). */
	floatOnly?: boolean;
}

export interface ModuleTemplateDefinition {
	name: ModuleTemplate;
	/** One line: what the module does once loaded. */
	summary: string;
	parameters: readonly ModuleParameter[];
	/** Throws ModuleProjectError (PrefixError for a prefix) naming the tensor or option that does not fit. */
	validate(options: ModuleProjectOptions): void;
	/** The template's own files (main, README, headers), beside the common Kbuild, Makefile and helpers. */
	files(layout: ModuleLayout): ProjectFile[];
	/** The @KEY@ values of its files beyond the common ones; called after validate. */
	values(options: ModuleProjectOptions): Record<string, string>;
}

/** The common check of templates whose arguments 1.. are recurrent state fed from results 1.. of the same size. */
export function validateStateFeedback(options: ModuleProjectOptions, what: string): void {
	const { arguments: args, results } = options;
	for (let i = 1; i < args.length; i++) {
		if (i >= results.length || results[i].bytes !== args[i].bytes) {
			throw new ModuleProjectError(`${what} feeds argument ${i} (${JSON.stringify(args[i].name)}, recurrent state) from result ${i}, `
				+ `which ${i >= results.length ? "does not exist" : `has ${results[i].bytes} bytes instead of ${args[i].bytes}`}: `
				+ "order the fetches so that each state output has the index of its state input.");
		}
	}
}

/** The bytes of arguments 1..: the recurrent state a caller keeps per flow or socket. */
export function stateBytes(options: Pick<ModuleProjectOptions, "arguments">): number {
	return options.arguments.slice(1).reduce((total, t) => total + t.bytes, 0);
}
