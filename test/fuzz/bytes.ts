// Unstructured mutations, applied on top of the structural ones: flips, boundary bytes, truncation, splices.
import type { Rng } from "./random";

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x0a, 0x12, 0x22, 0x08];
const INTERESTING_TEXT = ["{", "}", "<", ">", "[", "]", ":", "\"", "'", "\\", "#", "-", "1e999", "0x", "nan", "\n", "9999999999999999999", "node", "dim"];

/** One random byte-level mutation: bit flip, boundary byte, truncation, deletion, duplication or insertion. */
export function mutateBytes(seed: Uint8Array, rng: Rng): Uint8Array {
	const at = rng.int(seed.length);
	const out = Uint8Array.from(seed);
	switch (rng.int(6)) {
		case 0: out[at] ^= 1 << rng.int(8); return out;
		case 1: out[at] = rng.pick(INTERESTING_BYTES); return out;
		case 2: return out.subarray(0, at);
		case 3: return concat(out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + rng.int(64))));
		case 4: return concat(out.subarray(0, at), out.subarray(at, at + rng.int(64)), out.subarray(at));
		default: return concat(out.subarray(0, at), Uint8Array.from({ length: 1 + rng.int(8) }, () => rng.int(256)), out.subarray(at));
	}
}

/** One random text mutation: truncation, deletion, an interesting token inserted, or a character replaced. */
export function mutateText(seed: string, rng: Rng): string {
	const at = rng.int(seed.length);
	switch (rng.int(4)) {
		case 0: return seed.slice(0, at);
		case 1: return seed.slice(0, at) + seed.slice(at + 1 + rng.int(16));
		case 2: return seed.slice(0, at) + rng.pick(INTERESTING_TEXT) + seed.slice(at);
		default: return seed.slice(0, at) + String.fromCharCode(32 + rng.int(95)) + seed.slice(at + 1);
	}
}

function concat(...parts: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
	let offset = 0;
	for (const part of parts) {
		out.set(part, offset);
		offset += part.length;
	}
	return out;
}

/** Little-endian bytes of float32 values. */
export function float32Bytes(values: readonly number[]): Uint8Array {
	return new Uint8Array(Float32Array.from(values).buffer);
}

/** `bytes` with some float32 words replaced by `value` (NaN, Inf, ...). */
export function poisonFloats(bytes: Uint8Array, value: number, rng: Rng): Uint8Array {
	const out = Uint8Array.from(bytes);
	const words = Math.floor(out.length / 4);
	if (words === 0) return out;
	const view = new DataView(out.buffer);
	const count = rng.chance(0.5) ? words : 1 + rng.int(words);
	for (let i = 0; i < count; i++) view.setFloat32(4 * rng.int(words), value, true);
	return out;
}
