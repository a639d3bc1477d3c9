// Feed and fetch picks as data, and what a signature stands for as picks. No DOM here, so the host's tests run it.
import type { SignatureView } from "../shared/protocol";

export interface FeedPick {
	name: string;
	/** As typed: "1x32", "[1,32]", "[]" for a scalar, or "" for the placeholder's declared shape. */
	shapeText: string;
}

export interface Picks {
	feeds: FeedPick[];
	fetches: string[];
}

/** A starting shape from the declared one: unknown dimensions (usually the batch) become 1. */
export function defaultShapeText(shape: string | undefined): string {
	// Anything but "[d,d,...]" is an unknown rank: leave it to the placeholder's declared shape.
	if (!shape || !shape.startsWith("[")) return "";
	const inner = shape.replace(/^\[|\]$/g, "");
	if (inner === "") return "[]";
	return inner.split(",").map((d) => (d === "?" ? "1" : d)).join("x");
}

/** The picks a signature stands for: its inputs as feeds (unknown dimensions as 1), its outputs as fetches. */
export function signaturePicks(signature: SignatureView): Picks {
	return {
		feeds: signature.feeds.map((feed) => ({ name: feed.name, shapeText: defaultShapeText(feed.shape) })),
		fetches: signature.fetches.map((fetch) => fetch.name),
	};
}

/** The signature the picks are exactly, if any: its button shows as pressed. */
export function matchingSignature(picks: Picks, signatures: readonly SignatureView[]): string | undefined {
	const same = (a: Picks, b: Picks) => JSON.stringify(a) === JSON.stringify(b);
	return signatures.find((signature) => same(signaturePicks(signature), picks))?.key;
}

/** "ob = input/Ob [?,30] -> act = model/pi/add [?,1]": a signature's inputs and outputs, for its button's tooltip. */
export function describeSignature(signature: SignatureView): string {
	const list = (tensors: SignatureView["feeds"]) => tensors.map((tensor) => `${tensor.key} = ${tensor.name} ${tensor.shape}`).join(", ");
	return `${list(signature.feeds) || "()"} -> ${list(signature.fetches)}`;
}
