import { type Graph } from "../graph/graph";
import { type Tensor, dtypeByteSize, tensorToBytes } from "../graph/tensor";
import { StepInputError, type StepInputs, resolveSteps } from "../model/steps";
import type { Tf2xlaConfig } from "../frontends/tf/proto/types";

export interface ModuleParameters {
	/** insmod arguments: inputs=..., steps=..., given=..., feedback=... */
	list: string[];
}

/**
 * The most characters of `inputs=` text a deploy passes. Linux caps each string of a command line at
 * MAX_ARG_STRLEN (128 KiB), and over SSH the whole insmod command is one such string (`sh -c`).
 */
export const MAX_INPUTS_TEXT = 120_000;

/** How a feed's value becomes the bytes of the module's argument; by default its own little-endian bytes. */
export type ArgumentEncoder = (feedIndex: number, value: Tensor) => Uint8Array;

/**
 * The self-test's module parameters for an inputs file. `inputs=` holds hex words of the arguments' bytes
 * concatenated in argument order: one step's worth, or with feedsPerStep one block per step (step s in words
 * [s*n, (s+1)*n)). Fed-back arguments keep the fetch the module copies in, except where `given=S:A` says step
 * S's block resets argument A. `feedback=` lists argument:result pairs.
 */
export function selftestParameters(graph: Graph, config: Tf2xlaConfig, inputs: StepInputs, where: string, encode?: ArgumentEncoder): ModuleParameters {
	const resolved = resolveSteps(graph, config, inputs, where);
	const encodeArgument = encode ?? elementBytes(where, resolved.feedKeys);
	const fedBack = new Set(resolved.feedback.map((f) => f.feedIndex));
	const blocks = inputs.feedsPerStep ? resolved.steps : 1;
	const words: string[] = [];
	const given: string[] = [];
	for (let step = 0; step < blocks; step++) {
		const parts = resolved.perStep[step].map((feed, i) => {
			if (step > 0 && feed.source === "entry" && fedBack.has(i)) given.push(`${step}:${i}`);
			// A fed-back argument's words are placeholders: the module keeps the copied fetch.
			const value = feed.tensor ?? resolved.perStep[0][i].tensor!;
			const bytes = encodeArgument(i, value);
			return feed.source === "feedback" ? new Uint8Array(bytes.length) : bytes;
		});
		const block = new Uint8Array(Math.ceil(parts.reduce((sum, p) => sum + p.length, 0) / 4) * 4);
		let offset = 0;
		for (const part of parts) {
			block.set(part, offset);
			offset += part.length;
		}
		const view = new DataView(block.buffer);
		for (let at = 0; at < block.length; at += 4) words.push(view.getUint32(at, true).toString(16).padStart(8, "0"));
	}
	const text = words.join(",");
	if (text.length > MAX_INPUTS_TEXT) {
		const perStep = words.length / blocks;
		throw new StepInputError(`${where}: the self-test's inputs for ${blocks} steps are ${words.length} words (${text.length} characters), more than the ${MAX_INPUTS_TEXT} characters one insmod argument can carry (Linux caps a command-line string at 128 KiB); deploy at most ${Math.max(1, Math.floor((MAX_INPUTS_TEXT + 1) / (9 * perStep)))} feedsPerStep entries at a time`);
	}
	const list = [`inputs=${text}`, `steps=${resolved.steps}`];
	if (given.length > 0) list.push(`given=${given.join(",")}`);
	if (resolved.feedback.length > 0) list.push(`feedback=${resolved.feedback.map((f) => `${f.feedIndex}:${f.fetchIndex}`).join(",")}`);
	return { list };
}

/**
 * The self-test's default argument bytes: each feed's elements in its own type, little-endian (int8 and uint8 one
 * byte each, int16 two), as the compiled model's argument holds them.
 */
function elementBytes(where: string, feedKeys: string[]): ArgumentEncoder {
	return (feedIndex, value) => {
		if (dtypeByteSize(value.dtype) === 0 || value.dtype === "float16" || value.dtype === "bfloat16" || value.dtype === "complex64") {
			throw new StepInputError(`${where}: feed "${feedKeys[feedIndex]}" is ${value.dtype}; the self-test takes numeric inputs (float32, int8, uint8, int16, int32, ...)`);
		}
		return tensorToBytes(value);
	};
}
