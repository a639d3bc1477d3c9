import * as path from "node:path";
import * as vscode from "vscode";
import { type ConfigFile, type ConfigProblem, TextFormatError, configRef, parseConfig, validateConfig } from "../core/frontends/tf/tf2xlaConfig";
import type { Graph } from "../core/graph/graph";
import { hasCode } from "../core/util/errors";
import { ConfigCheckWorker } from "./configCheckClient";
import { type ComponentLog, errorMessage } from "./log";
import { findModelForConfig, readGraphFor } from "./modelFiles";
import { type UriArg, activeResource, toUri } from "./pickers";

export const CONFIG_LANGUAGE = "kernelnn-config";
const DEBOUNCE_MS = 300;

export interface ConfigCheck {
	problems: ConfigProblem[];
	/** The model validated against, and how it was found; absent when there was none. */
	model?: { uri: vscode.Uri; how: string };
	/** Why there is no model check (no model found, or it failed to load). */
	note?: string;
}

/** Checks a config text against its model; syntax errors and a missing model are reported as problems too. */
export async function checkConfig(configUri: vscode.Uri, text: string, modelArg: UriArg, graphs: GraphCache): Promise<ConfigCheck> {
	const file = configUri.fsPath;
	let parsed: ConfigFile;
	try {
		parsed = parseConfig(text, file);
	} catch (error) {
		if (!(error instanceof TextFormatError)) throw error;
		const position = { line: error.line, column: error.column, endLine: error.line, endColumn: error.column + 1 };
		return { problems: [{ file, message: error.detail, position, severity: "error" }] };
	}
	const model = modelArg ? { uri: toUri(modelArg), how: "the model given" } : await findModelForConfig(configUri, text);
	if (!model) {
		return { problems: [], note: `no model found for ${path.basename(file)}: add a line "# model: path/to/model.pb" or put the model beside it` };
	}
	if (model.uri.scheme === "file") return checkInWorker(graphs.worker, file, text, model);
	const fetchNodes = parsed.config.fetch.map((f) => configRef(f).node).filter((n) => n !== "");
	let graph: Graph;
	try {
		graph = await graphs.get(model.uri, fetchNodes);
	} catch (error) {
		return { problems: [], model, note: `could not read the model ${model.uri.fsPath} (found by ${model.how}): ${errorMessage(error)}` };
	}
	return { problems: validateConfig(graph, parsed), model };
}

// Loading and running the model happen in the worker; over the budget or the time is an error on the config.
async function checkInWorker(worker: ConfigCheckWorker, file: string, text: string, model: { uri: vscode.Uri; how: string }): Promise<ConfigCheck> {
	try {
		return { problems: await worker.check(model.uri.fsPath, file, text), model };
	} catch (error) {
		if (hasCode(error, "budget") || hasCode(error, "timeout")) {
			return { problems: [{ file, message: errorMessage(error), position: { line: 1, column: 1, endLine: 1, endColumn: 1 }, severity: "error" }], model };
		}
		return { problems: [], model, note: `could not read the model ${model.uri.fsPath} (found by ${model.how}): ${errorMessage(error)}` };
	}
}

/**
 * Models read for validation, kept while the file is unchanged (validation runs on every edit). Files on disk
 * are checked by `worker`, off the extension host's thread; the cache serves other file systems.
 */
export class GraphCache {
	readonly worker = new ConfigCheckWorker();
	private readonly entries = new Map<string, { mtime: number; graph: Promise<Graph> }>();

	async get(uri: vscode.Uri, fetchNodes: readonly string[]): Promise<Graph> {
		const key = `${uri.toString()}\n${[...fetchNodes].sort().join("\n")}`;
		const mtime = (await vscode.workspace.fs.stat(uri)).mtime;
		const cached = this.entries.get(key);
		if (cached && cached.mtime === mtime) return cached.graph;
		if (this.entries.size > 16) this.entries.clear();
		const graph = readGraphFor(uri, fetchNodes).then((read) => read.graph);
		this.entries.set(key, { mtime, graph });
		graph.catch(() => this.entries.delete(key));
		return graph;
	}
}

export function toDiagnostic(problem: ConfigProblem): vscode.Diagnostic {
	const { line, column, endLine, endColumn } = problem.position;
	const start = new vscode.Position(Math.max(0, line - 1), Math.max(0, column - 1));
	const end = new vscode.Position(Math.max(0, endLine - 1), Math.max(0, endColumn - 1));
	const range = end.isAfter(start) ? new vscode.Range(start, end) : new vscode.Range(start, start.translate(0, 1));
	const diagnostic = new vscode.Diagnostic(range, problem.message, problem.severity === "error" ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
	diagnostic.source = "Kernel NN";
	return diagnostic;
}

/** Problems of kernelnn-config documents in the Problems view while typing (debounced), cleared on close. */
export function registerConfigDiagnostics(graphs: GraphCache, log: ComponentLog): vscode.Disposable {
	const collection = vscode.languages.createDiagnosticCollection(CONFIG_LANGUAGE);
	const timers = new Map<string, NodeJS.Timeout>();
	const versions = new Map<string, number>();
	const run = async (document: vscode.TextDocument) => {
		const key = document.uri.toString();
		const version = document.version;
		versions.set(key, version);
		try {
			const check = await checkConfig(document.uri, document.getText(), undefined, graphs);
			if (versions.get(key) !== version || document.isClosed) return;
			const diagnostics = check.problems.map(toDiagnostic);
			if (check.note) {
				const note = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), check.note, vscode.DiagnosticSeverity.Information);
				note.source = "Kernel NN";
				diagnostics.push(note);
			}
			collection.set(document.uri, diagnostics);
		} catch (error) {
			log.warn(`validating ${document.uri.fsPath}: ${errorMessage(error)}`);
		}
	};
	const schedule = (document: vscode.TextDocument, delay = DEBOUNCE_MS) => {
		if (document.languageId !== CONFIG_LANGUAGE) return;
		const key = document.uri.toString();
		clearTimeout(timers.get(key));
		timers.set(key, setTimeout(() => {
			timers.delete(key);
			void run(document);
		}, delay));
	};
	for (const document of vscode.workspace.textDocuments) schedule(document, 0);
	return vscode.Disposable.from(
		collection,
		vscode.workspace.onDidOpenTextDocument((document) => schedule(document, 0)),
		vscode.workspace.onDidChangeTextDocument((event) => schedule(event.document)),
		vscode.workspace.onDidCloseTextDocument((document) => {
			clearTimeout(timers.get(document.uri.toString()));
			collection.delete(document.uri);
		}),
		// A changed model changes the verdict on every config that uses it.
		vscode.workspace.onDidSaveTextDocument((document) => { if (document.languageId !== CONFIG_LANGUAGE) vscode.workspace.textDocuments.forEach((d) => schedule(d)); }),
		{ dispose: () => timers.forEach((timer) => clearTimeout(timer)) },
	);
}

/**
 * kernelNN.validateConfig: validates the active config (or `args.config`) against `args.model`, its `# model:`
 * line or the nearest model, says which model was used, and returns the problems.
 */
export async function validateConfigCommand(graphs: GraphCache, log: ComponentLog, args?: { config?: UriArg; model?: UriArg }): Promise<ConfigProblem[]> {
	const active = activeResource();
	const configUri = args?.config ? toUri(args.config) : active?.languageId === CONFIG_LANGUAGE || active?.uri.path.endsWith(".pbtxt") ? active?.uri : undefined;
	if (!configUri) throw new Error("No graph.config.pbtxt to validate: open one, or pass { config: PATH }");
	const document = await vscode.workspace.openTextDocument(configUri);
	const check = await checkConfig(configUri, document.getText(), args?.model, graphs);
	const name = path.basename(configUri.fsPath);
	const errors = check.problems.filter((p) => p.severity === "error").length;
	const against = check.model ? ` against ${vscode.workspace.asRelativePath(check.model.uri)} (found by ${check.model.how})` : "";
	log.info(`${name}: ${check.problems.length} problem(s)${against}${check.note ? `; ${check.note}` : ""}`);
	for (const problem of check.problems) log.info(`  ${problem.position.line}:${problem.position.column}: ${problem.severity}: ${problem.message}`);
	const interactive = args === undefined;
	if (check.problems.length === 0 && !check.note) {
		void vscode.window.showInformationMessage(`Kernel NN: ${name} is valid${against}.`);
	} else if (check.problems.length === 0) {
		void vscode.window.showWarningMessage(`Kernel NN: ${name} parses, but it was not checked against a model: ${check.note}.`);
	} else {
		const message = `Kernel NN: ${name} has ${errors} error(s) and ${check.problems.length - errors} warning(s)${against}.`;
		void (errors > 0 ? vscode.window.showErrorMessage : vscode.window.showWarningMessage)(message, "Show Problems").then((choice) => {
			if (choice === "Show Problems") void vscode.commands.executeCommand("workbench.actions.view.problems");
		});
		if (interactive) void vscode.commands.executeCommand("workbench.actions.view.problems");
	}
	return check.problems;
}
