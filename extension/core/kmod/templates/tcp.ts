import { PrefixError } from "../modulePrefix";
import { type ModuleLayout, type ModuleProjectOptions, ModuleProjectError, type ModuleTemplateDefinition, type ProjectFile, validateStateFeedback } from "./template";

// The standalone tcp template: the module is a TCP congestion control named after the prefix, driven by the model as
// Indigo drives its LSTM (kmod/templates/tcp/README.md.in). It builds against 6.1 and 6.10+ (cong_control's signatures).

/** TCP_CA_NAME_MAX is 16 bytes with the NUL, and the congestion control is named after the prefix. */
export const TCP_PREFIX_MAX = 11;
const TCP_INPUT_BYTES = 9 * 4;
const TCP_ACTION_BYTES = 5 * 4;

function validateTcp(options: ModuleProjectOptions): void {
	const { prefix, arguments: args, results } = options;
	if (options.noFpu) {
		throw new ModuleProjectError("The tcp template builds float32 inputs and compares float32 action scores; an integer-only (--no-fpu) model needs the selftest template.");
	}
	if (prefix.length > TCP_PREFIX_MAX) {
		throw new PrefixError(`The prefix "${prefix}" is too long for a TCP congestion control: "knn_${prefix}" must fit Linux's 15-character `
			+ `limit, so use a prefix of at most ${TCP_PREFIX_MAX} characters.`);
	}
	if (args[0].bytes !== TCP_INPUT_BYTES) {
		throw new ModuleProjectError(`The tcp template feeds argument 0 with 9 float32 values (4 link features + a one-hot of 5 actions, as Indigo), `
			+ `but argument 0 (${JSON.stringify(args[0].name)}) has ${args[0].bytes} bytes instead of ${TCP_INPUT_BYTES}.`);
	}
	if (results[0].bytes !== TCP_ACTION_BYTES) {
		throw new ModuleProjectError(`The tcp template picks the argmax of 5 action scores in result 0, but result 0 (${JSON.stringify(results[0].name)}) `
			+ `has ${results[0].bytes} bytes instead of ${TCP_ACTION_BYTES}.`);
	}
	validateStateFeedback(options, "The tcp template");
}

export const tcpTemplate: ModuleTemplateDefinition = {
	name: "tcp",
	summary: "registers a TCP congestion control named after the prefix, whose cwnd the model's argmax action changes",
	parameters: [{ name: "simd", description: "auto, sse2 or avx2: the SIMD level, chosen once at load", floatOnly: true }],
	validate: validateTcp,
	files(layout: ModuleLayout): ProjectFile[] {
		return [
			{ source: "templates/tcp/tcp_main.c.in", target: layout.mainSource },
			{ source: "templates/tcp/README.md.in", target: "README.md" },
		];
	},
	values() {
		return {};
	},
};
