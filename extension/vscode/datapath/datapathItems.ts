// The Datapath tree's items, built from what knn_core reports (AppStatus[]). No `vscode` here: the tree provider
// turns each item into a TreeItem as it is.
import type { AppStatus, GuardReason, SlotStatus } from "../../core/runtime/types";

/** contextValue of the items the menus in package.json match. */
export const CONTEXT = {
	target: "kernelNN.datapath.target",
	app: "kernelNN.datapath.app",
	activeSlot: "kernelNN.datapath.slot.active",
	standbySlot: "kernelNN.datapath.slot.standby",
	counter: "kernelNN.datapath.counter",
	message: "kernelNN.datapath.message",
} as const;

export interface ItemAction {
	title: string;
	command: string;
	arguments?: unknown[];
}

export interface DatapathItem {
	/** Stable across refreshes, so the tree keeps what was expanded. */
	id: string;
	kind: "target" | "app" | "slot" | "counter" | "message";
	label: string;
	description?: string;
	tooltip?: string;
	/** A codicon id, optionally with a theme colour id. */
	icon?: { id: string; color?: string };
	contextValue?: string;
	collapsible: "none" | "collapsed" | "expanded";
	/** What clicking the item does. */
	action?: ItemAction;
	target: string;
	app?: string;
	modelId?: number;
	children?: DatapathItem[];
}

const REASON_TEXT: Record<GuardReason, string> = {
	none: "healthy",
	nan: "a NaN or Inf output",
	range: "an output out of the guard's range",
	latency: "mean latency over the budget",
	error: "run() returned an error",
};

/** Why the guard took a model out, as a sentence fragment ("rolled back after ..."). */
export function guardReasonText(reason: GuardReason): string {
	return REASON_TEXT[reason] ?? reason;
}

/** Nanoseconds as a person reads them: 850 ns, 1.25 µs, 3.4 ms, 1.2 s. */
export function formatNs(ns: number): string {
	if (!Number.isFinite(ns)) return "—";
	if (ns < 1_000) return `${Math.round(ns)} ns`;
	if (ns < 1_000_000) return `${Number((ns / 1_000).toPrecision(3))} µs`;
	if (ns < 1_000_000_000) return `${Number((ns / 1_000_000).toPrecision(3))} ms`;
	return `${Number((ns / 1_000_000_000).toPrecision(3))} s`;
}

/** A counter with thousands separators (1,234,567), the same in every locale so tests and screenshots agree. */
export function formatCount(n: number): string {
	return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** "name (#id)": how notifications and descriptions name a model. */
export function modelLabel(slot: Pick<SlotStatus, "name" | "modelId"> | undefined): string {
	return slot ? `${slot.name} (#${slot.modelId})` : "no model";
}

export function activeSlot(app: AppStatus): SlotStatus | undefined {
	return app.slots.find((slot) => slot.active) ?? app.slots.find((slot) => slot.modelId === app.activeId && app.activeId !== 0);
}

function slotItem(target: string, app: AppStatus, slot: SlotStatus): DatapathItem {
	const state = slot.active ? "active" : slot.failed !== "none" ? `failed: ${slot.failed}` : "standby";
	const icon = slot.active
		? { id: "pass-filled", color: "testing.iconPassed" }
		: slot.failed !== "none" ? { id: "error", color: "errorForeground" } : { id: "circle-large-outline" };
	const tooltip = [
		`${slot.name} (#${slot.modelId}) in slot ${slot.index} of ${app.app}`,
		`module ${slot.module}${slot.usesFpu ? ", uses the FPU" : ", integer only"}`,
		slot.active ? "active: every inference runs it" : "standby: resident, activated with one click",
		...(slot.failed !== "none" ? [`taken out by the guard: ${guardReasonText(slot.failed)}`] : []),
		...(slot.registeredMs > 0 ? [`registered ${new Date(slot.registeredMs).toISOString()}`] : []),
	].join("\n");
	const id = `${target}/${app.app}/slot${slot.index}`;
	const counter = (key: string, label: string, description: string, iconId: string): DatapathItem => ({
		id: `${id}/${key}`, kind: "counter", label, description, icon: { id: iconId }, contextValue: CONTEXT.counter,
		collapsible: "none", target, app: app.app, modelId: slot.modelId,
	});
	return {
		id, kind: "slot", label: slot.name, description: `#${slot.modelId} · ${state}`, tooltip, icon,
		contextValue: slot.active ? CONTEXT.activeSlot : CONTEXT.standbySlot,
		collapsible: "collapsed", target, app: app.app, modelId: slot.modelId,
		children: [
			counter("inferences", "inferences", formatCount(slot.inferences), "pulse"),
			counter("errors", "errors", `${formatCount(slot.errors)}${slot.skipped > 0 ? ` · ${formatCount(slot.skipped)} skipped (FPU not usable)` : ""}`, "warning"),
			counter("rollbacks", "rollbacks", formatCount(slot.rollbacks), "history"),
			counter("latency", "latency", `p50 ${formatNs(slot.latencyP50Ns)} · p99 ${formatNs(slot.latencyP99Ns)} · max ${formatNs(slot.latencyMaxNs)}`, "watch"),
		],
	};
}

/** One item per application, its slots (in slot order) as children, each slot with its counters. */
export function appItems(target: string, apps: readonly AppStatus[]): DatapathItem[] {
	if (apps.length === 0) {
		return [messageItem(target, "no-apps", "No applications: load knn_tcp, knn_nf or deploy a model with --app", "info")];
	}
	return [...apps].sort((a, b) => a.app.localeCompare(b.app)).map((app) => {
		const active = activeSlot(app);
		const tooltip = [
			`${app.app}, registered by ${app.owner}`,
			`input ${app.inputBytes} bytes of ${app.inputType}, output ${app.outputBytes} bytes of ${app.outputType}${app.stateBytes > 0 ? `, state ${app.stateBytes} bytes per flow` : ""}`,
			`records sent ${formatCount(app.recordsSent)}, dropped ${formatCount(app.recordsDropped)}`,
			`guard: window ${app.guard.window} inferences, latency budget ${app.guard.latencyNs > 0 ? formatNs(app.guard.latencyNs) : "off"}`
				+ (app.guard.min !== undefined || app.guard.max !== undefined ? `, outputs in [${app.guard.min ?? "-∞"}, ${app.guard.max ?? "∞"}]` : ""),
		].join("\n");
		return {
			id: `${target}/${app.app}`, kind: "app", label: app.app,
			description: active ? `runs ${modelLabel(active)}` : app.slots.length > 0 ? "no active model" : "no model registered",
			tooltip, icon: { id: active ? "circuit-board" : "circle-slash" }, contextValue: CONTEXT.app,
			collapsible: "expanded", target, app: app.app,
			action: { title: "Open Datapath Panel", command: "kernelNN.datapath.openPanel", arguments: [{ target, app: app.app }] },
			children: [...app.slots].sort((a, b) => a.index - b.index).map((slot) => slotItem(target, app, slot)),
		} satisfies DatapathItem;
	});
}

export function messageItem(target: string, key: string, label: string, severity: "info" | "error", action?: ItemAction, tooltip?: string): DatapathItem {
	return {
		id: `${target}/!${key}`, kind: "message", label, tooltip: tooltip ?? label, action,
		icon: severity === "error" ? { id: "error", color: "errorForeground" } : { id: "info" },
		contextValue: CONTEXT.message, collapsible: "none", target,
	};
}

export function targetItem(target: string, selected: boolean, expanded: boolean): DatapathItem {
	return {
		id: target, kind: "target", label: target, description: selected ? "selected target" : undefined,
		icon: { id: target === "sandbox" ? "vm" : target === "local" ? "device-desktop" : "remote" },
		contextValue: CONTEXT.target, collapsible: expanded ? "expanded" : "collapsed", target,
	};
}

/** What a failure to reach the runtime means to the user, and the one action that helps most. */
export interface FailureAdvice {
	message: string;
	action?: { title: string; command: string };
	/** The runtime is missing: the tree shows an Install item rather than an error. */
	notInstalled: boolean;
}

// What the runtime client says when knn_core is not loaded or its channel tool is not on the target.
const NOT_INSTALLED = /knn_core is not loaded|knn runtime install|runtime is not installed/i;

export function failureAdvice(target: string, message: string, code?: string): FailureAdvice {
	if (code === "not-installed" || NOT_INSTALLED.test(message)) {
		return {
			message: `The datapath runtime is not installed on ${target} (${message.replace(/\.$/, "")}). Install it with Install Runtime, or knn runtime install --target ${target}.`,
			action: { title: "Install Runtime", command: "kernelNN.runtimeInstall" }, notInstalled: true,
		};
	}
	if (target === "sandbox" && /sandbox VM is not running/i.test(message)) {
		return { message, action: { title: "Start Sandbox Target", command: "kernelNN.startSandbox" }, notInstalled: false };
	}
	return { message: `Reading the datapath runtime on ${target} failed: ${message}`, action: { title: "Show Log", command: "kernelNN.datapath.showLog" }, notInstalled: false };
}

/** The notification after Activate: which model now runs the app, which stays resident for rollback. */
export function activationNotice(target: string, app: string, before: AppStatus | undefined, after: AppStatus | undefined): string {
	const now = after ? activeSlot(after) : undefined;
	const previous = before ? activeSlot(before) : undefined;
	if (!now) return `Kernel NN: activated a model of ${app} on ${target}, but ${app} now reports no active model.`;
	if (previous && previous.modelId !== now.modelId) {
		return `Kernel NN: ${app} on ${target} now runs ${modelLabel(now)}; ${modelLabel(previous)} stays resident for rollback.`;
	}
	return `Kernel NN: ${app} on ${target} runs ${modelLabel(now)}.`;
}

/** The notification after Rollback: from which model back to which. */
export function rollbackNotice(target: string, app: string, before: AppStatus | undefined, after: AppStatus | undefined): string {
	const now = after ? activeSlot(after) : undefined;
	const previous = before ? activeSlot(before) : undefined;
	const from = previous ? ` from ${modelLabel(previous)}` : "";
	return now
		? `Kernel NN: rolled ${app} on ${target} back${from} to ${modelLabel(now)}.`
		: `Kernel NN: rolled ${app} on ${target} back${from}; no model is active now.`;
}
