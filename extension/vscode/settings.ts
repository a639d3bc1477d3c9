import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { DEFAULT_MEMORY_LIMIT, DEFAULT_WORK_LIMIT, parseMemorySize, parseWorkSize, setMemoryLimit, setWorkLimit } from "../core/util/budget";

/** Kernel NN's settings, typed; paths with ~ and ${workspaceFolder} expanded. */
export interface KernelNNSettings {
	target: string;
	identityFile?: string;
	kernelHeadersDir?: string;
	buildOn: "local" | "target";
	tolerance: number;
	sandboxDir?: string;
	/** Integer-only modules (knn --no-fpu): fixed-point edges, no kernel_fpu_begin/end. */
	noFpu: boolean;
}

export function readSettings(scope?: vscode.ConfigurationScope): KernelNNSettings {
	const config = vscode.workspace.getConfiguration("kernelNN", scope);
	const optionalPath = (key: string) => {
		const value = config.get<string>(key, "").trim();
		return value === "" ? undefined : expandPath(value);
	};
	const tolerance = config.get<number>("tolerance", 1e-6);
	return {
		target: config.get<string>("target", "sandbox").trim() || "sandbox",
		identityFile: optionalPath("ssh.identityFile"),
		kernelHeadersDir: optionalPath("kernelHeadersDir"),
		buildOn: config.get<string>("buildOn", "local") === "target" ? "target" : "local",
		tolerance: Number.isFinite(tolerance) && tolerance >= 0 ? tolerance : 1e-6,
		sandboxDir: optionalPath("sandbox.dir"),
		noFpu: config.get<boolean>("noFpu", false) === true,
	};
}

function expandPath(value: string): string {
	const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? "";
	const expanded = value.replace(/\$\{workspaceFolder\}/g, folder).replace(/^~(?=$|\/)/, os.homedir());
	return path.isAbsolute(expanded) || folder === "" ? expanded : path.join(folder, expanded);
}

/**
 * The sandbox state folder: the setting, else `.sandbox` in the checkout when the extension runs from one (as
 * `knn sandbox` uses), else the extension's global storage, which survives updates.
 */
export function sandboxDir(context: vscode.ExtensionContext): string {
	const configured = readSettings().sandboxDir;
	if (configured) return configured;
	if (context.extensionMode !== vscode.ExtensionMode.Production) return path.join(context.extensionUri.fsPath, ".sandbox");
	return path.join(context.globalStorageUri.fsPath, "sandbox");
}

/**
 * Applies kernelNN.maxMemory and kernelNN.maxWork to the budgets the extension host and its config-check worker run
 * under, now and whenever they change; a value that does not parse keeps the default and is reported through `warn`.
 */
export function applyBudgetSettings(warn: (message: string) => void): vscode.Disposable {
	const apply = () => {
		const config = vscode.workspace.getConfiguration("kernelNN");
		const read = (key: string, parse: (text: string, flag: string) => number, set: (n: number) => void, fallback: number) => {
			const text = config.get<string>(key, "").trim();
			try {
				set(text === "" ? fallback : parse(text, `kernelNN.${key}`));
			} catch (error) {
				set(fallback);
				warn(error instanceof Error ? error.message : String(error));
			}
		};
		read("maxMemory", parseMemorySize, setMemoryLimit, DEFAULT_MEMORY_LIMIT);
		read("maxWork", parseWorkSize, setWorkLimit, DEFAULT_WORK_LIMIT);
	};
	apply();
	return vscode.workspace.onDidChangeConfiguration((event) => {
		if (event.affectsConfiguration("kernelNN.maxMemory") || event.affectsConfiguration("kernelNN.maxWork")) apply();
	});
}
