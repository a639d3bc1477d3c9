import * as vscode from "vscode";
import { activateModel, rollbackApp, runtimeStatus } from "../../core/runtime/client";
import type { AppStatus } from "../../core/runtime/types";
import type { Target } from "../../core/targets/target";
import { type ComponentLog, errorMessage } from "../log";
import { activationNotice, failureAdvice, rollbackNotice } from "./datapathItems";

export type DatapathAction = { kind: "activate"; modelId?: number } | { kind: "rollback" };

async function appStatus(target: Target, app: string, signal?: AbortSignal): Promise<AppStatus | undefined> {
	return (await runtimeStatus(target, { app, signal })).find((status) => status.app === app);
}

/**
 * Activate or Rollback without a confirmation (both are undone by the other), then a notification naming the app
 * and the models before and after. Failures become an error message with the action that helps.
 */
export async function runDatapathAction(target: Target, spec: string, app: string, action: DatapathAction, log: ComponentLog, signal?: AbortSignal): Promise<boolean> {
	try {
		// The status before names the model being replaced; a failed read must not stop the action itself.
		const before = await appStatus(target, app, signal).catch(() => undefined);
		if (action.kind === "activate") await activateModel(target, app, action.modelId, signal);
		else await rollbackApp(target, app, signal);
		const after = await appStatus(target, app, signal).catch(() => undefined);
		const notice = action.kind === "activate" ? activationNotice(spec, app, before, after) : rollbackNotice(spec, app, before, after);
		log.info(notice.replace(/^Kernel NN: /, ""));
		void vscode.window.showInformationMessage(notice);
		return true;
	} catch (error) {
		const what = action.kind === "activate" ? `Activating ${action.modelId !== undefined ? `model #${action.modelId}` : "the standby model"} of ${app} on ${spec}` : `Rolling back ${app} on ${spec}`;
		const message = `${what} failed: ${errorMessage(error)}`;
		log.error(message);
		const advice = failureAdvice(spec, errorMessage(error), (error as { code?: string }).code);
		void showFailure(advice.notInstalled ? advice.message : `Kernel NN: ${message}`, advice.action);
		return false;
	}
}

/** An error message with one action button; picking it runs the action's command. */
export async function showFailure(message: string, action?: { title: string; command: string }): Promise<void> {
	const choice = await vscode.window.showErrorMessage(message, ...(action ? [action.title] : []));
	if (action && choice === action.title) await vscode.commands.executeCommand(action.command);
}
