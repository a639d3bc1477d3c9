import type { ModuleLayout, ModuleParameter, ModuleTemplateDefinition, ProjectFile } from "./template";

// The self-test template: the module checks its parameters at load, runs the model on the given steps in a stoppable
// thread printing `knn-selftest` lines (kernelLog/selftestOutput.ts parses them), then serves /dev/NAME.

/** The self-test's parameters; the app template takes them too, since it runs the same self-test. */
export const SELFTEST_PARAMETERS: readonly ModuleParameter[] = [
	{ name: "inputs", description: "the arguments' bytes as 32-bit hex words, one block per step" },
	{ name: "steps", description: "self-test steps to run (default 1)" },
	{ name: "max_steps", description: "the most steps= accepts (default 1000000)" },
	{ name: "feedback", description: "A:R pairs: result R is copied into argument A after each step" },
	{ name: "given", description: "S:A pairs: step S's block sets fed-back argument A" },
	{ name: "bench", description: "times this many model calls after the self-test" },
	{ name: "fail_selftest", description: "ends the self-test with -EINVAL, to test a deploy's roll-back" },
	{ name: "simd", description: "auto, sse2 or avx2: the SIMD level, chosen once at load", floatOnly: true },
];

/** The self-test part, shared with the app template: its header is the thread, the parameters and /dev/NAME. */
export const SELFTEST_HEADER: ProjectFile = { source: "templates/selftest/knn_selftest.h.in", target: "knn_selftest.h" };

export const selftestTemplate: ModuleTemplateDefinition = {
	name: "selftest",
	summary: "runs the model on the inputs= steps at load, prints every result, then serves /dev/NAME",
	parameters: SELFTEST_PARAMETERS,
	validate() {
		// Any model a module can hold: the common checks (tensor sizes, model files, prefix) are all it needs.
	},
	files(layout: ModuleLayout): ProjectFile[] {
		return [
			SELFTEST_HEADER,
			{ source: "templates/selftest/selftest_main.c.in", target: layout.mainSource },
			{ source: "templates/selftest/README.md.in", target: "README.md" },
		];
	},
	values() {
		return {};
	},
};
