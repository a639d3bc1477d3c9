import * as path from "node:path";
import * as vscode from "vscode";
import { type DeployReport, type StageReport, deploy, deployStages } from "../core/deploy/deploy";
import type { StepInputs } from "../core/model/steps";
import { abortSignalFor } from "./cancellation";
import { prefixFromModelName } from "./configModelRef";
import { type ComponentLog, errorMessage } from "./log";
import { localPath } from "./modelFiles";
import { type InputsArg, type UriArg, resolveInputs, resolveModelAndConfig } from "./pickers";
import { readSettings } from "./settings";
import type { TargetHandle, TargetService } from "./targets";
import { requireTrust } from "./trust";

/** kernelNN.deploy's optional argument: everything given means no UI at all (tests, tasks, other extensions). */
export interface DeployArgs {
	model?: UriArg;
	config?: UriArg;
	inputs?: InputsArg;
	/** A kernelNN.target value; default the selected target. */
	target?: string;
	prefix?: string;
	keep?: boolean;
	buildOn?: "local" | "target";
	/** Integer-only module; default the kernelNN.noFpu setting. */
	noFpu?: boolean;
}

export interface DeployRequest {
	model: vscode.Uri;
	config: vscode.Uri;
	inputs: StepInputs;
	target: string;
	prefix: string;
	keep: boolean;
	buildOn?: "local" | "target";
	/** Default the kernelNN.noFpu setting of the config's folder. */
	noFpu?: boolean;
}

export interface DeployHooks {
	signal?: AbortSignal;
	onStage?: (stage: StageReport, phase: "start" | "end") => void;
	onLine?: (line: string) => void;
}

/** Runs the core deploy pipeline against a target and records the report (which fires onDidDeploy). */
export class Deployer {
	constructor(
		private readonly targets: TargetService,
		private readonly record: (report: DeployReport) => void,
		private readonly log: ComponentLog,
	) {}

	async run(request: DeployRequest, hooks: DeployHooks = {}): Promise<DeployReport> {
		const settings = readSettings(request.config);
		const modelPath = localPath(request.model, "The model");
		const configPath = localPath(request.config, "The config");
		this.log.info(`deploying ${request.prefix}: ${modelPath} with ${configPath} to ${request.target}`);
		const connect: StageReport = { name: "connect", ms: 0, ok: false };
		hooks.onStage?.(connect, "start");
		const started = performance.now();
		let handle: TargetHandle;
		try {
			handle = await this.targets.open(request.target, hooks.signal);
			connect.ok = true;
		} catch (error) {
			connect.error = errorMessage(error);
			const report = failedBeforeDeploy(request, settings.tolerance, connect);
			this.finish(report);
			return report;
		} finally {
			connect.ms = Math.round(performance.now() - started);
			hooks.onStage?.(connect, "end");
		}
		try {
			const report = await deploy({
				modelPath, configPath, inputs: request.inputs, target: handle.target, prefix: request.prefix,
				buildOn: request.buildOn ?? settings.buildOn, kdir: settings.kernelHeadersDir, remoteBuild: handle.remoteBuild,
				keep: request.keep, tolerance: settings.tolerance, noFpu: request.noFpu ?? settings.noFpu, signal: hooks.signal,
				onStage: (stage, phase) => {
					if (phase === "end") this.log.info(`${stage.ok ? "ok  " : "FAIL"} ${stage.name} (${stage.ms} ms)${stage.error ? `: ${stage.error}` : ""}`);
					hooks.onStage?.(stage, phase);
				},
				onLine: (line) => {
					this.log.info(`  ${line}`);
					hooks.onLine?.(line);
				},
			});
			this.finish(report);
			return report;
		} finally {
			await handle.release();
		}
	}

	private finish(report: DeployReport): void {
		if (report.ok) this.log.info(`deployed ${report.module} on ${report.target}: max abs error ${report.maxAbsError} (tolerance ${report.tolerance}); target left with ${report.finalState}`);
		else this.log.error(`deploy of ${report.module} to ${report.target} failed: ${report.error ?? "unknown error"}; target left with ${report.finalState}`);
		this.record(report);
	}
}

function failedBeforeDeploy(request: DeployRequest, tolerance: number, stage: StageReport): DeployReport {
	return {
		ok: false, module: request.prefix, target: request.target, stages: [stage], kernel: { steps: [] }, reference: { steps: [] },
		maxAbsError: NaN, maxRelError: NaN, tolerance, finalState: "nothing loaded", error: stage.error,
	};
}

/**
 * kernelNN.deploy: pick model, config and inputs (or take them from the argument), then deploy to the selected
 * target with a cancellable notification that names each stage. Returns the report.
 */
export async function deployCommand(
	deployer: Deployer, targets: TargetService, log: vscode.LogOutputChannel, generate: (model: vscode.Uri) => Promise<vscode.Uri>,
	args: DeployArgs | undefined, interactive: boolean,
): Promise<DeployReport | undefined> {
	requireTrust("Deploying a model");
	const { model, config } = await resolveModelAndConfig(args, interactive, generate);
	await saveIfDirty(config);
	const { inputs, description } = await resolveInputs(model, config, args?.inputs, interactive);
	const target = args?.target ?? targets.current;
	const prefix = args?.prefix ?? prefixFromModelName(path.basename(model.path));
	const request: DeployRequest = { model, config, inputs, target, prefix, keep: args?.keep ?? false, buildOn: args?.buildOn, noFpu: args?.noFpu };

	// One more than deploy()'s own stages: the connection is ours.
	const settings = readSettings(config);
	const stageCount = deployStages({ buildOn: request.buildOn ?? settings.buildOn, noFpu: request.noFpu ?? settings.noFpu, keep: request.keep }).length + 1;
	const report = await vscode.window.withProgress(
		{ location: vscode.ProgressLocation.Notification, title: `Kernel NN: deploying ${prefix} to ${target}`, cancellable: true },
		async (progress, token) => {
			const abort = abortSignalFor(token);
			try {
				progress.report({ message: `inputs: ${description}` });
				return await deployer.run(request, {
					signal: abort.signal,
					onStage: (stage, phase) => { if (phase === "start") progress.report({ message: `${stage.name}...`, increment: 100 / stageCount }); },
				});
			} finally {
				abort.dispose();
			}
		},
	);
	if (interactive) void announce(report, log);
	else if (!report.ok) log.show(true);
	return report;
}

async function announce(report: DeployReport, log: vscode.LogOutputChannel): Promise<void> {
	if (report.ok) {
		const choice = await vscode.window.showInformationMessage(
			`Kernel NN: ${report.module} ran on ${report.target}${report.kernelRelease ? ` (${report.kernelRelease})` : ""} and matches the reference (max abs error ${report.maxAbsError.toExponential(2)}, tolerance ${report.tolerance}).`,
			"Compare Outputs", "Show Log",
		);
		if (choice === "Compare Outputs") await vscode.commands.executeCommand("kernelNN.compareOutputs");
		if (choice === "Show Log") log.show();
		return;
	}
	log.show(true);
	const failed = report.stages.find((stage) => !stage.ok);
	const cancelled = /cancelled/i.test(report.error ?? "");
	const summary = cancelled ? "was cancelled" : `failed${failed ? ` at "${failed.name}"` : ""}: ${(report.error ?? "").split("\n")[0]}`;
	// A model over the memory or work budget needs the budget raised, which is a setting here, not a flag.
	const overBudget = /memory budget|work budget/.test(report.error ?? "");
	const actions = overBudget ? ["Raise Budget", "Show Log"] : ["Show Log", "Compare Outputs"];
	const choice = await (cancelled ? vscode.window.showInformationMessage : vscode.window.showErrorMessage)(
		`Kernel NN: deploying ${report.module} to ${report.target} ${summary} (target left with ${report.finalState}).${overBudget ? " Raise kernelNN.maxMemory or kernelNN.maxWork if the model really needs it." : ""}`,
		...actions,
	);
	if (choice === "Raise Budget") await vscode.commands.executeCommand("workbench.action.openSettings", "kernelNN.max");
	if (choice === "Show Log") log.show();
	if (choice === "Compare Outputs") await vscode.commands.executeCommand("kernelNN.compareOutputs");
}

/** Deploy reads the config from disk: an edited config is saved first so what is deployed is what is shown. */
export async function saveIfDirty(uri: vscode.Uri): Promise<void> {
	const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
	if (document?.isDirty) await document.save();
}
