// The seeded choices every mutator makes, and the boundary values they pick from, so a case replays from its seed.
import { mulberry32 } from "../support/random";

/** A seeded source of choices. */
export class Rng {
	private readonly next: () => number;

	constructor(seed: number) {
		this.next = mulberry32(seed);
	}

	float(): number {
		return this.next();
	}

	/** An integer in [0, n). */
	int(n: number): number {
		return Math.floor(this.next() * n);
	}

	chance(p: number): boolean {
		return this.next() < p;
	}

	pick<T>(items: readonly T[]): T {
		return items[this.int(items.length)];
	}
}

/** One 32-bit seed per (run seed, format, case index): any case can be made again on its own. */
export function caseSeed(runSeed: number, format: string, index: number): number {
	let h = (runSeed ^ 0x9e3779b9) >>> 0;
	for (const c of `${format}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
	return h;
}

/** Dimensions that break size arithmetic: negative, zero, past int32 and int64, and past 2^53. */
export const EXTREME_DIMS = [-1, -2, -2147483648, 0, 2147483647, 2147483648, 4294967296, 2 ** 53, 2 ** 62, 9223372036854775807, 1e9, 65536];

/** Element counts a small file can ask a Fill, Tile, Range or ConstantOfShape to make. */
export const HUGE_COUNTS = [1e9, 2e9, 2147483647, 65536, 1e12, 2 ** 31, 2 ** 40];

/** Floating-point values weights should survive or be refused for. */
export const EXTREME_FLOATS = [NaN, Infinity, -Infinity, -0, 3.4e38, -3.4e38, 1e-45, 1e308];

/** Integers for enums, indices, counts and attributes: out of range on either side. */
export const EXTREME_INTS = [-1, -2147483648, 2147483647, 2147483648, 99, 255, 1000, 65535, 2 ** 53, -(2 ** 53)];
