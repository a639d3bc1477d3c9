// Workspaces for the tests and for `npm start`: the sample LSTM (generated), Indigo's and Aurora's files when ../shared has them,
// and Kernel NN settings.
import * as fs from "node:fs";
import * as path from "node:path";
import { type SampleFiles, writeSampleModel } from "../makeSampleModel";
import { ROOT } from "./codeServer";

const SHARED_MODELS = path.resolve(ROOT, "..", "shared", "models");
export const INDIGO_DIR = path.join(SHARED_MODELS, "indigo");
/** The real models copied into a workspace when ../shared has them: folder, files to copy, the model file to open. */
const SHARED_COPIES = {
	indigo: { files: ["model.meta", "model.index", "model.data-00000-of-00001", "README.md"], model: "model.meta" },
	aurora: { files: ["saved_model.pbtxt", "variables/variables.index", "variables/variables.data-00000-of-00001", "README.md", "aurora_int_quan_model.tflite", "representative_dataset.npy"], model: "saved_model.pbtxt" },
};

export interface PreparedWorkspace {
	dir: string;
	lstm: SampleFiles;
	/** Indigo's model.meta inside the workspace, when ../shared/models/indigo exists. */
	indigo?: string;
	/** Aurora's saved_model.pbtxt (a text SavedModel) inside the workspace, when ../shared/models/aurora exists. */
	aurora?: string;
}

/**
 * Fills `dir`: a copy of `fixture` (if given), `lstm/` with the sample model, `indigo/` and `aurora/` with the real models, and
 * `settings` merged into .vscode/settings.json.
 */
export function prepareWorkspace(dir: string, options: { fixture?: string; settings?: Record<string, unknown>; keepExisting?: boolean } = {}): PreparedWorkspace {
	fs.mkdirSync(dir, { recursive: true });
	if (options.fixture) fs.cpSync(options.fixture, dir, { recursive: true });
	const lstmDir = path.join(dir, "lstm");
	// `npm start` keeps what the user changed in the sample since the last start.
	const lstm = options.keepExisting && fs.existsSync(path.join(lstmDir, "model.pb"))
		? { model: path.join(lstmDir, "model.pb"), config: path.join(lstmDir, "graph.config.pbtxt"), inputs: path.join(lstmDir, "inputs.json") }
		: writeSampleModel(lstmDir);
	const [indigo, aurora] = (["indigo", "aurora"] as const).map((name) => copySharedModel(dir, name, options.keepExisting ?? false));
	const settingsFile = path.join(dir, ".vscode", "settings.json");
	const current = fs.existsSync(settingsFile) ? JSON.parse(fs.readFileSync(settingsFile, "utf8")) as Record<string, unknown> : {};
	fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
	fs.writeFileSync(settingsFile, `${JSON.stringify({ ...current, ...options.settings }, null, "\t")}\n`);
	return { dir, lstm, indigo, aurora };
}

/** Copies a real model from ../shared/models into `dir/NAME`; the path of its model file, or undefined when absent. */
function copySharedModel(dir: string, name: keyof typeof SHARED_COPIES, keepExisting: boolean): string | undefined {
	const { files, model } = SHARED_COPIES[name];
	const target = path.join(dir, name);
	if (keepExisting && fs.existsSync(path.join(target, model))) return path.join(target, model);
	if (!fs.existsSync(path.join(SHARED_MODELS, name, model))) return undefined;
	for (const file of files) {
		const from = path.join(SHARED_MODELS, name, file);
		const to = path.join(target, file);
		// ../shared is read-only: the copies must be writable so a rerun can replace them.
		if (fs.existsSync(from)) {
			fs.mkdirSync(path.dirname(to), { recursive: true });
			fs.rmSync(to, { force: true });
			fs.copyFileSync(from, to);
			fs.chmodSync(to, 0o644);
		}
	}
	return path.join(target, model);
}
