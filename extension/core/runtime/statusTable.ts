import type { AppStatus, SlotStatus } from "./types";

// The human view of `knn runtime status`: one heading per application, then its slots as a table whose "*" marks
// the model answering inferences now.

const COLUMNS = ["", "slot", "id", "model", "module", "state", "inferences", "errors", "skipped", "rollbacks", "p50 us", "p99 us", "max us"];
// Numbers read best right-aligned.
const RIGHT_ALIGNED = new Set(["id", "inferences", "errors", "skipped", "rollbacks", "p50 us", "p99 us", "max us"]);

function micros(ns: number): string {
	return (ns / 1000).toFixed(1);
}

function slotState(slot: SlotStatus): string {
	if (slot.failed !== "none") return `failed (${slot.failed})`;
	return slot.active ? "active" : "standby";
}

function guardText(guard: AppStatus["guard"]): string {
	const latency = guard.latencyNs > 0 ? `mean latency <= ${micros(guard.latencyNs)} us` : "no latency budget";
	const range = guard.min !== undefined || guard.max !== undefined ? `outputs in [${guard.min ?? "-inf"}, ${guard.max ?? "inf"}]` : "any finite output";
	const bad = guard.badOutputs !== undefined ? `, rolls back at ${guard.badOutputs} bad outputs` : "";
	return `window ${guard.window}${bad}, ${latency}, ${range}`;
}

function table(rows: string[][]): string[] {
	const widths = COLUMNS.map((_, c) => Math.max(...rows.map((row) => row[c].length)));
	return rows.map((row) => row.map((cell, c) => (RIGHT_ALIGNED.has(COLUMNS[c]) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  ").trimEnd());
}

/** The applications, their slots (active one starred), counters and latency percentiles in microseconds. */
export function formatStatus(apps: AppStatus[]): string {
	if (apps.length === 0) return "knn_core is loaded but has no applications.";
	const blocks = apps.map((app) => {
		const active = app.activeId === 0 ? "no active model" : `active model ${app.activeId}`;
		const lines = [
			`${app.app} (${app.owner}): ${app.inputType} ${app.inputBytes} B in -> ${app.outputType} ${app.outputBytes} B out, state ${app.stateBytes} B; ${active}`,
			`  records ${app.recordsSent} sent, ${app.recordsDropped} dropped; guard: ${guardText(app.guard)}`,
			...(app.message ? [`  ${app.message}`] : []),
		];
		if (app.slots.length === 0) return [...lines, "  no model registered"].join("\n");
		const rows = app.slots.map((slot) => [
			slot.active ? "*" : "", String(slot.index), String(slot.modelId), slot.name, slot.module, slotState(slot),
			String(slot.inferences), String(slot.errors), String(slot.skipped), String(slot.rollbacks),
			micros(slot.latencyP50Ns), micros(slot.latencyP99Ns), micros(slot.latencyMaxNs),
		]);
		return [...lines, ...table([COLUMNS, ...rows]).map((line) => `  ${line}`)].join("\n");
	});
	return blocks.join("\n\n");
}
