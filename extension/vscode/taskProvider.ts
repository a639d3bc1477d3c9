import * as path from "node:path";
import * as vscode from "vscode";
import { isConfigFileName, prefixFromModelName } from "./configModelRef";
import type { Deployer } from "./deployCommand";
import { toTerminalText } from "./kernelLogFormat";
import { type ComponentLog, errorMessage } from "./log";
import { findModelForConfig, localPath } from "./modelFiles";
import { type ModuleBuildResult, buildModule, chooseKernelBuildDir, moduleBuildDir } from "./moduleBuild";
import { terminalText } from "../core/util/terminalText";
import { type UriArg, resolveInputs, resolveModelAndConfig } from "./pickers";
import { readSettings, sandboxDir } from "./settings";
import { requireTrust } from "./trust";

export const TASK_TYPE = "kernelnn";

/** A "kernelnn" task in tasks.json; paths relative to the workspace folder or absolute. */
export interface KernelNNTaskDefinition extends vscode.TaskDefinition {
	type: typeof TASK_TYPE;
	action: "build" | "deploy";
	model: string;
	config: string;
	prefix?: string;
	/** deploy: an inputs JSON; default zeros with guessed recurrent state. */
	inputs?: string;
	/** A kernelNN.target value (deploy: where to; build: whose kernel to build for); default the selected target. */
	target?: string;
	/** Integer-only module (knn --no-fpu); default the kernelNN.noFpu setting. */
	noFpu?: boolean;
}

function isDefinition(value: vscode.TaskDefinition): value is KernelNNTaskDefinition {
	return value.type === TASK_TYPE && (value.action === "build" || value.action === "deploy") && typeof value.model === "string" && typeof value.config === "string";
}

/** A task's terminal: runs `work`, which writes lines, and closes with its exit code; closing it cancels. */
class TaskTerminal implements vscode.Pseudoterminal {
	private readonly writer = new vscode.EventEmitter<string>();
	private readonly closer = new vscode.EventEmitter<number>();
	readonly onDidWrite = this.writer.event;
	readonly onDidClose = this.closer.event;
	private readonly controller = new AbortController();

	constructor(private readonly work: (write: (line: string) => void, signal: AbortSignal) => Promise<number>) {}

	open(): void {
		const write = (line: string) => this.writer.fire(toTerminalText(`${line}\n`));
		this.work(write, this.controller.signal).then(
			(code) => this.closer.fire(code),
			(error: unknown) => {
				write(`\x1b[31m${terminalText(errorMessage(error))}\x1b[0m`);
				this.closer.fire(1);
			},
		);
	}

	close(): void {
		this.controller.abort();
	}
}

/** The "kernelnn" task type (build and deploy) and the Build Module command that runs the build task. */
export class KernelNNTasks implements vscode.TaskProvider, vscode.Disposable {
	private readonly built = new vscode.EventEmitter<ModuleBuildResult>();

	constructor(
		private readonly context: vscode.ExtensionContext,
		private readonly deployer: Deployer,
		private readonly log: ComponentLog,
		private readonly generate: (model: vscode.Uri) => Promise<vscode.Uri>,
	) {}

	async provideTasks(): Promise<vscode.Task[]> {
		const tasks: vscode.Task[] = [];
		const configs = (await vscode.workspace.findFiles("**/*.pbtxt", "**/{node_modules,.kernelnn,.git}/**", 200)).filter((uri) => isConfigFileName(path.basename(uri.path))).slice(0, 20);
		for (const config of configs) {
			const folder = vscode.workspace.getWorkspaceFolder(config);
			if (!folder) continue;
			const model = await findModelForConfig(config, new TextDecoder().decode(await vscode.workspace.fs.readFile(config)));
			if (!model) continue;
			const relative = (uri: vscode.Uri) => path.relative(folder.uri.fsPath, uri.fsPath);
			for (const action of ["build", "deploy"] as const) {
				tasks.push(this.createTask(folder, { type: TASK_TYPE, action, model: relative(model.uri), config: relative(config) }));
			}
		}
		return tasks;
	}

	resolveTask(task: vscode.Task): vscode.Task | undefined {
		if (!isDefinition(task.definition)) return undefined;
		const scope = task.scope === undefined || typeof task.scope === "number" ? vscode.workspace.workspaceFolders?.[0] : task.scope;
		return scope ? this.createTask(scope, task.definition) : undefined;
	}

	createTask(folder: vscode.WorkspaceFolder, definition: KernelNNTaskDefinition): vscode.Task {
		const prefix = definition.prefix ?? prefixFromModelName(path.basename(definition.model));
		const execution = new vscode.CustomExecution(async (resolved) => {
			const current = isDefinition(resolved) ? resolved : definition;
			return new TaskTerminal((write, signal) => (current.action === "build" ? this.runBuild(folder, current, write, signal) : this.runDeploy(folder, current, write, signal)));
		});
		const task = new vscode.Task(definition, folder, `${definition.action} ${prefix}`, TASK_TYPE, execution, "$gcc");
		if (definition.action === "build") task.group = vscode.TaskGroup.Build;
		task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, clear: true };
		return task;
	}

	/** kernelNN.buildModule: runs the build task (errors land in Problems) and returns where the module is. */
	async buildModuleCommand(args: { model?: UriArg; config?: UriArg; prefix?: string; target?: string; noFpu?: boolean } | undefined, interactive: boolean): Promise<ModuleBuildResult> {
		requireTrust("Building a kernel module");
		const { model, config } = await resolveModelAndConfig(args, interactive, this.generate);
		const folder = vscode.workspace.getWorkspaceFolder(config) ?? vscode.workspace.workspaceFolders?.[0];
		if (!folder) throw new Error("Building a module needs an open folder: the module project goes to .kernelnn/build in it");
		const definition: KernelNNTaskDefinition = {
			type: TASK_TYPE, action: "build", model: localPath(model, "The model"), config: localPath(config, "The config"),
			...(args?.prefix ? { prefix: args.prefix } : {}), ...(args?.target ? { target: args.target } : {}),
			...(args?.noFpu !== undefined ? { noFpu: args.noFpu } : {}),
		};
		const outDir = this.outDir(folder, definition);
		const task = this.createTask(folder, definition);
		const result = new Promise<ModuleBuildResult>((resolve) => {
			const listeners: vscode.Disposable[] = [];
			const done = (value: ModuleBuildResult) => {
				listeners.forEach((l) => l.dispose());
				resolve(value);
			};
			listeners.push(
				this.built.event((built) => { if (path.dirname(built.koPath) === outDir) done(built); }),
				vscode.tasks.onDidEndTask((event) => {
					// The terminal reports first; a task that ended without a report was stopped before it ran.
					if (event.execution.task.name === task.name && event.execution.task.definition.model === definition.model) {
						setTimeout(() => done({ ok: false, koPath: path.join(outDir, `${path.basename(outDir)}.ko`), error: "the build task ended without building" }), 500);
					}
				}),
			);
		});
		await vscode.tasks.executeTask(task);
		const built = await result;
		if (interactive && !built.ok) {
			void vscode.window.showErrorMessage(`Kernel NN: building ${path.basename(outDir)} failed: ${built.error ?? "see the task terminal"}.`, "Show Problems").then((choice) => {
				if (choice === "Show Problems") void vscode.commands.executeCommand("workbench.actions.view.problems");
			});
		}
		return built;
	}

	dispose(): void {
		this.built.dispose();
	}

	private outDir(folder: vscode.WorkspaceFolder, definition: KernelNNTaskDefinition): string {
		return moduleBuildDir(folder.uri.fsPath, definition.prefix ?? prefixFromModelName(path.basename(definition.model)));
	}

	private resolvePath(folder: vscode.WorkspaceFolder, file: string): string {
		return path.isAbsolute(file) ? file : path.join(folder.uri.fsPath, file);
	}

	private async runBuild(folder: vscode.WorkspaceFolder, definition: KernelNNTaskDefinition, write: (line: string) => void, signal: AbortSignal): Promise<number> {
		requireTrust("Building a kernel module");
		const settings = readSettings(folder);
		const outDir = this.outDir(folder, definition);
		const prefix = path.basename(outDir);
		let result: ModuleBuildResult;
		try {
			const target = definition.target ?? settings.target;
			const { kdir, why } = chooseKernelBuildDir({ kernelHeadersDir: settings.kernelHeadersDir, target, sandboxDir: sandboxDir(this.context) });
			const noFpu = definition.noFpu ?? settings.noFpu;
			write(`building ${noFpu ? "an integer-only module " : ""}for ${why}${kdir ? ` (${kdir})` : ""}`);
			result = await buildModule({
				modelPath: this.resolvePath(folder, definition.model), configPath: this.resolvePath(folder, definition.config), prefix, outDir, kdir, noFpu, signal,
				onLine: (line) => write(terminalText(line)),
			});
		} catch (error) {
			result = { ok: false, koPath: path.join(outDir, `${prefix}.ko`), error: terminalText(errorMessage(error)) };
		}
		write(result.ok ? `\x1b[32mbuilt ${result.koPath}\x1b[0m` : `\x1b[31mbuild failed: ${result.error}\x1b[0m`);
		this.log.info(result.ok ? `built ${result.koPath}` : `build of ${prefix} failed: ${result.error}`);
		this.built.fire(result);
		return result.ok ? 0 : 1;
	}

	private async runDeploy(folder: vscode.WorkspaceFolder, definition: KernelNNTaskDefinition, write: (line: string) => void, signal: AbortSignal): Promise<number> {
		requireTrust("Deploying a model");
		const model = vscode.Uri.file(this.resolvePath(folder, definition.model));
		const config = vscode.Uri.file(this.resolvePath(folder, definition.config));
		const { inputs, description } = await resolveInputs(model, config, definition.inputs ? this.resolvePath(folder, definition.inputs) : undefined, false);
		const target = definition.target ?? readSettings(folder).target;
		const prefix = definition.prefix ?? prefixFromModelName(path.basename(model.path));
		write(`deploying ${prefix} to ${target} with inputs: ${description}`);
		const report = await this.deployer.run({ model, config, inputs, target, prefix, keep: false, noFpu: definition.noFpu }, {
			signal,
			onStage: (stage, phase) => write(phase === "start" ? `\x1b[2m${stage.name}...\x1b[0m` : `${stage.ok ? "\x1b[32mok\x1b[0m  " : "\x1b[31mFAIL\x1b[0m"} ${stage.name} (${stage.ms} ms)${stage.error ? `: ${terminalText(stage.error)}` : ""}`),
			onLine: (line) => write(terminalText(line)),
		});
		if (Number.isFinite(report.maxAbsError)) write(`kernel vs reference: max abs error ${report.maxAbsError.toExponential(2)} (tolerance ${report.tolerance})`);
		write(`target left with: ${report.finalState}`);
		return report.ok ? 0 : 1;
	}
}
