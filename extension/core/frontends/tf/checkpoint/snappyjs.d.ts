// snappyjs ships no type declarations; these cover the two functions it exports.
declare module "snappyjs" {
	/** Decompresses raw snappy data; throws when it declares more than maxLength bytes or is malformed. */
	export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
	export function compress(uncompressed: Uint8Array): Uint8Array;
}
