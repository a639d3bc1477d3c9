// Which model a graph.config.pbtxt belongs to: a `# model: path` comment, else the likeliest model file beside it.
// No `vscode` here.

/** A `# model: path` line (path relative to the config's folder, or absolute), with its 0-based line number. */
export function modelComment(text: string): { path: string; line: number } | undefined {
	const lines = text.split(/\r?\n/);
	for (let i = 0; i < lines.length; i++) {
		const match = /^\s*#\s*model\s*:\s*(.+?)\s*$/i.exec(lines[i]);
		if (match) return { path: match[1].replace(/^["']|["']$/g, ""), line: i };
	}
	return undefined;
}

/** The comment line written at the top of a generated config, so validation and deploy find the model again. */
export function modelCommentLine(relativePath: string): string {
	return `# model: ${relativePath}`;
}

const CONFIG_NAME = /(^graph\.config\.pbtxt$|\.config\.pbtxt$)/;

/** File names that may hold a TensorFlow model (content decides later; a config is never one). */
export function isModelFileName(name: string): boolean {
	return !CONFIG_NAME.test(name) && /\.(pb|pbtxt|meta|onnx|tflite)$/.test(name);
}

/** A config file's name, as the language contribution matches it. */
export function isConfigFileName(name: string): boolean {
	return CONFIG_NAME.test(name);
}

/**
 * Model files of a folder, likeliest first: one named like the config (`indigo.config.pbtxt` -> `indigo.pb`),
 * then frozen GraphDefs (.pb), a SavedModel, MetaGraphs (.meta, frozen on the fly) and text GraphDefs.
 */
export function rankModelCandidates(configName: string, names: readonly string[]): string[] {
	const stem = configName.replace(/(\.config)?\.pbtxt$/, "");
	const rank = (name: string): number => {
		if (name.replace(/\.(pb|pbtxt|meta)$/, "") === stem && stem !== "graph") return 0;
		if (name === "saved_model.pb") return 2;
		if (name.endsWith(".pb")) return 1;
		if (name.endsWith(".meta")) return 3;
		return 4;
	};
	return names.filter(isModelFileName).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** A module prefix from a model file name, as `knn deploy` derives it: a C identifier. */
export { prefixFromModelName } from "../core/kmod/modulePrefix";

/** "1x32", "1,32", "[1, 32]" or "" (a scalar) as dimensions; undefined with a reason when it is none of these. */
export function parseShapeText(text: string): { shape: number[] } | { error: string } {
	const inner = text.trim().replace(/^\[|\]$/g, "").trim();
	if (inner === "") return { shape: [] };
	const parts = inner.split(/\s*[x,×]\s*|\s+/);
	if (parts.some((p) => !/^\d+$/.test(p))) return { error: `"${text}" is not a shape: write the dimensions as 1x32 or [1, 32], each a whole number` };
	const shape = parts.map(Number);
	if (shape.some((d) => d === 0)) return { error: `"${text}" has a dimension 0; every dimension of a feed must be at least 1` };
	return { shape };
}

/** "1x32" for an InputBox's initial value; "" for a scalar. */
export function formatShapeText(shape: readonly number[] | undefined): string {
	return shape ? shape.map((d) => (d < 0 ? "?" : String(d))).join("x") : "";
}
