// The op translators, assembled from their family files into one map by builtin operator code.
import { BuiltinOperator } from "../types";
import type { OpTranslator } from "./common";
import { ELEMENTWISE_TRANSLATORS } from "./elementwise";
import { INDEXING_TRANSLATORS } from "./indexing";
import { LAYOUT_TRANSLATORS } from "./layout";
import { LSTM_TRANSLATORS } from "./lstm";
import { MATH_TRANSLATORS } from "./math";
import { NN_TRANSLATORS } from "./nn";
import { REDUCE_TRANSLATORS } from "./reduce";

function assemble(): ReadonlyMap<number, OpTranslator> {
	const all = new Map<number, OpTranslator>();
	for (const family of [NN_TRANSLATORS, ELEMENTWISE_TRANSLATORS, LAYOUT_TRANSLATORS, LSTM_TRANSLATORS, INDEXING_TRANSLATORS, MATH_TRANSLATORS, REDUCE_TRANSLATORS]) {
		for (const [code, translate] of family) {
			if (all.has(code)) throw new Error(`two TFLite translator families handle operator code ${code}`);
			all.set(code, translate);
		}
	}
	return all;
}

/** Translators by builtin operator code (max(builtin_code, deprecated_builtin_code)). */
export const TRANSLATORS: ReadonlyMap<number, OpTranslator> = assemble();

const NAMES = new Map<number, string>(Object.entries(BuiltinOperator).map(([name, code]) => [code, name]));

/** The schema's name of an operator code, e.g. FULLY_CONNECTED; a custom op by its custom code. */
export function opName(code: number, customCode?: string): string {
	if (code === BuiltinOperator.CUSTOM) return customCode ? `CUSTOM(${customCode})` : "CUSTOM";
	return NAMES.get(code) ?? `BUILTIN_${code}`;
}
