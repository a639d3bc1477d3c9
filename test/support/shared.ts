import * as fs from "node:fs";
import * as path from "node:path";

/** ../shared beside the checkout: data that is never copied into the repository. */
export const SHARED_DIR = path.resolve(__dirname, "../../../shared");
export const INDIGO_DIR = path.join(SHARED_DIR, "models", "indigo");

/** A node:test `skip` value: false when Indigo is present, else the reason, so a missing model is reported, not hidden. */
export const indigoMissing: string | false = fs.existsSync(path.join(INDIGO_DIR, "model.meta"))
	? false
	: `the Indigo model is absent: expected ${INDIGO_DIR}/model.meta (../shared beside the checkout)`;

export const AURORA_DIR = path.join(SHARED_DIR, "models", "aurora");

/** A node:test `skip` value: false when Aurora (LiteFlow's text SavedModel) is present, else the reason. */
export const auroraMissing: string | false = fs.existsSync(path.join(AURORA_DIR, "saved_model.pbtxt"))
	? false
	: `the Aurora model is absent: expected ${AURORA_DIR}/saved_model.pbtxt (../shared beside the checkout)`;

/** The softmax outputs the in-kernel tfcompile build printed, read from the model's README (10 steps x 5 actions). */
export function publishedIndigoOutputs(): string[][] {
	const readme = fs.readFileSync(path.join(INDIGO_DIR, "README.md"), "utf8");
	const rows = [...readme.matchAll(/^Iteration (\d+): ((?:\s*-?\d+\.\d{5})+)\s*$/gm)].map((m) => m[2].trim().split(/\s+/));
	if (rows.length !== 10 || rows.some((r) => r.length !== 5)) {
		throw new Error(`${INDIGO_DIR}/README.md: expected 10 "Iteration N:" lines of 5 values, found ${rows.length}`);
	}
	return rows;
}

/** The published run's input: x[i] = 0.1 * i for i = 0..8, batch 1, time 1. */
export function publishedIndigoInput(): number[][][] {
	return [[Array.from({ length: 9 }, (_, i) => 0.1 * i)]];
}

/**
 * The module that printed the published figures formats floats by truncating after 5 decimals (0.1650951 printed
 * as 0.16509), so a 5-decimal comparison with them truncates too.
 */
export function truncateTo5(value: number): string {
	return (Math.floor(value * 1e5 + 1e-6) / 1e5).toFixed(5);
}
