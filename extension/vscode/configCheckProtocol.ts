import type { ConfigProblem } from "../core/frontends/tf/tf2xlaConfig";

/** Checks one config text against the model file at `modelPath`, under `maxMemory` bytes and `maxWork` operations. */
export interface ConfigCheckRequest {
	id: number;
	modelPath: string;
	configPath: string;
	text: string;
	maxMemory: number;
	maxWork: number;
}

/** The problems found, or why the model could not be checked (`code`: the KnnError code, when there was one). */
export type ConfigCheckResponse =
	| { id: number; ok: true; problems: ConfigProblem[] }
	| { id: number; ok: false; message: string; code?: string };
