import * as vscode from "vscode";
import type { KernelNNApi } from "./vscode/api";
import { registerComparePanel, webviewSummary } from "./vscode/compare/register";
import { datapathItems, datapathPanelSummary, registerDatapath } from "./vscode/datapath/register";
import { registerCommands } from "./vscode/commands";
import { GraphCache, registerConfigDiagnostics } from "./vscode/configLanguage";
import { Deployer } from "./vscode/deployCommand";
import { generateConfigInteractively } from "./vscode/generateConfig";
import { pressSignature, registerGraphInspector, nodeDetails, renderedNodes, webviewRenderedNodeCount, writeConfig } from "./vscode/graphInspector/register";
import { KernelLogTerminals } from "./vscode/kernelLogTerminal";
import { componentLog } from "./vscode/log";
import { SandboxMonitor, registerSandboxCommands } from "./vscode/sandboxCommands";
import { SshSecrets } from "./vscode/secrets";
import { createServices } from "./vscode/serviceHost";
import { applyBudgetSettings } from "./vscode/settings";
import { registerStatusBar } from "./vscode/statusBar";
import { KernelNNTasks, TASK_TYPE } from "./vscode/taskProvider";
import { TargetService } from "./vscode/targets";

/** Registers Kernel NN's parts; all work happens in the core modules and in the parts' own files. */
export function activate(context: vscode.ExtensionContext): KernelNNApi {
	const shared = createServices(context);
	const { services, recordDeploy } = shared;
	const log = services.log;
	const targets = new TargetService(context, new SshSecrets(context.secrets, componentLog(log, "ssh")), componentLog(log, "target"));
	const sandbox = new SandboxMonitor(context);
	const kernelLogs = new KernelLogTerminals(targets, sandbox, componentLog(log, "kernel log"));
	const deployer = new Deployer(targets, recordDeploy, componentLog(log, "deploy"));
	const tasks = new KernelNNTasks(context, deployer, componentLog(log, "build"), (model) => generateConfigInteractively(componentLog(log, "config"), model));
	const graphs = new GraphCache();
	context.subscriptions.push(
		applyBudgetSettings((message) => log.warn(message)),
		shared, targets, sandbox, kernelLogs, tasks,
		vscode.tasks.registerTaskProvider(TASK_TYPE, tasks),
		registerCommands({ log, targets, deployer, kernelLogs, tasks, graphs }),
		registerSandboxCommands(context, sandbox, componentLog(log, "sandbox")),
		registerConfigDiagnostics(graphs, componentLog(log, "config")),
		registerStatusBar(targets, sandbox),
		registerGraphInspector(services),
		registerComparePanel(services),
		registerDatapath(context, targets, componentLog(log, "datapath"), log),
	);
	return {
		lastDeployReport: () => services.lastReport(),
		graphInspector: { webviewRenderedNodeCount, renderedNodes, nodeDetails, pressSignature, writeConfig },
		comparePanel: { webviewSummary },
		datapath: { items: datapathItems, panelSummary: datapathPanelSummary },
		kernelLog: { terminalLines: (target) => kernelLogs.lines(target) },
	};
}

export function deactivate(): void {}
