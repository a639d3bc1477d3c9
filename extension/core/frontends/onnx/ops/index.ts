// The op translators, assembled from their family files (one per group of ONNX ops) into one map by op type.
import type { OnnxTranslator, TranslatorFamily } from "../translator";
import { CONV_TRANSLATORS } from "./conv";
import { ELEMENTWISE_TRANSLATORS } from "./elementwise";
import { LAYOUT_TRANSLATORS } from "./layout";
import { MATMUL_TRANSLATORS } from "./matmul";
import { NORM_TRANSLATORS } from "./norm";
import { RECURRENT_TRANSLATORS } from "./recurrent";
import { REDUCE_TRANSLATORS } from "./reduce";

/** Each family by the name its ops are counted under in test tables and reports. */
export const TRANSLATOR_FAMILIES: Readonly<Record<string, TranslatorFamily>> = {
	elementwise: ELEMENTWISE_TRANSLATORS,
	reduce: REDUCE_TRANSLATORS,
	conv: CONV_TRANSLATORS,
	norm: NORM_TRANSLATORS,
	layout: LAYOUT_TRANSLATORS,
	matmul: MATMUL_TRANSLATORS,
	recurrent: RECURRENT_TRANSLATORS,
};

/** Op types more than one family registers (the first wins); a test keeps this empty. */
export const DUPLICATE_TRANSLATORS: string[] = [];

const FAMILY_OF = new Map<string, string>();

function assemble(): ReadonlyMap<string, OnnxTranslator> {
	const all = new Map<string, OnnxTranslator>();
	for (const [familyName, family] of Object.entries(TRANSLATOR_FAMILIES)) {
		for (const [opType, translate] of family) {
			if (all.has(opType)) {
				DUPLICATE_TRANSLATORS.push(opType);
			} else {
				all.set(opType, translate);
				FAMILY_OF.set(opType, familyName);
			}
		}
	}
	return all;
}

/** Translators of the default ONNX domain, by op type. */
export const TRANSLATORS: ReadonlyMap<string, OnnxTranslator> = assemble();

/** The family that translates an op type ("constant" for Constant, which the driver reads itself). */
export function translatorFamily(opType: string): string | undefined {
	return opType === "Constant" ? "constant" : FAMILY_OF.get(opType);
}
