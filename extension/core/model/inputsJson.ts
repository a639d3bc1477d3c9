import { MAX_RANK } from "../graph/tensor";
import { StepInputError } from "./steps";

/** The deepest inputs file: a tensor of the largest rank inside "feedsPerStep" (object, array, entry object). */
export const MAX_INPUTS_DEPTH = MAX_RANK + 3;

/**
 * Reads an inputs file's JSON text. Its nesting is measured on the text first, so a file nested a million deep is
 * a StepInputError naming the file and the depth, not a stack overflow; malformed JSON stays a SyntaxError.
 */
export function parseInputsJson(text: string, file: string): unknown {
	const depth = jsonTextDepth(text);
	if (depth > MAX_INPUTS_DEPTH) {
		throw new StepInputError(`${file}: the JSON is nested ${depth} levels deep, more than the ${MAX_INPUTS_DEPTH} an inputs file can need (a tensor has at most ${MAX_RANK} dimensions); give each feed as nested arrays of its shape`);
	}
	try {
		return JSON.parse(text);
	} catch (error) {
		if (error instanceof RangeError) throw new StepInputError(`${file}: the JSON cannot be read (${error.message}); give each feed as nested arrays of its shape`);
		throw error;
	}
}

/** The deepest nesting of arrays and objects in JSON text, skipping strings; linear, and it never recurses. */
export function jsonTextDepth(text: string): number {
	let depth = 0;
	let deepest = 0;
	let inString = false;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (inString) {
			if (c === 0x5c) i++;
			else if (c === 0x22) inString = false;
		} else if (c === 0x22) {
			inString = true;
		} else if (c === 0x5b || c === 0x7b) {
			depth++;
			if (depth > deepest) deepest = depth;
		} else if (c === 0x5d || c === 0x7d) {
			depth--;
		}
	}
	return deepest;
}
