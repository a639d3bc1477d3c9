// CRC-32C (Castagnoli), as used by LevelDB tables and TensorFlow's tensor bundles.

const POLYNOMIAL = 0x82f63b78;
const MASK_DELTA = 0xa282ead8;

const TABLE = ((): Uint32Array => {
	const table = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
		table[n] = c >>> 0;
	}
	return table;
})();

/**
 * CRC-32C of `bytes`. `initial` is the CRC of the data that precedes `bytes`, so
 * `crc32c(b, crc32c(a))` equals the CRC of a followed by b (LevelDB's crc32c::Extend).
 */
export function crc32c(bytes: Uint8Array, initial = 0): number {
	let crc = ~initial >>> 0;
	for (let i = 0; i < bytes.length; i++) {
		crc = TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
	}
	return ~crc >>> 0;
}

/**
 * Stored CRCs are masked because a CRC computed over data that itself embeds CRCs
 * is weak; LevelDB and TensorFlow both store `maskCrc(crc)`.
 */
export function maskCrc(crc: number): number {
	return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

export function unmaskCrc(masked: number): number {
	const rot = (masked - MASK_DELTA) >>> 0;
	return ((rot >>> 17) | (rot << 15)) >>> 0;
}
