// The Datapath panel of one application: models and their counters, inference rate, latency, output histograms
// and events, with Activate and Rollback. Starts empty and posts `ready`; the host sends the whole state about once
// a second. Names come from the kernel: they only ever go in through textContent.
import "./datapath.css";
import type { DatapathEventView, DatapathSlotView, DatapathState, DatapathWebviewToHost, HistogramView, HostToDatapathWebview } from "./protocol";
import { appRoot, el, fillPlaceholders, icon } from "../shared/dom";
import { DATAPATH_STRINGS, type DatapathStringKey } from "./strings";

declare function acquireVsCodeApi(): { postMessage(message: DatapathWebviewToHost): void };

const vscode = acquireVsCodeApi();
/** Rate samples kept for the sparkline: one per state message, about a minute. */
const RATE_HISTORY = 60;

let strings: Record<string, string> = {};
let state: DatapathState | undefined;
const rateHistory: number[] = [];
/** What the slot table was drawn from; it is rebuilt only when it changes, so buttons keep their focus. */
let slotsKey = "";

function t(key: DatapathStringKey, ...args: (string | number)[]): string {
	return fillPlaceholders(strings[key] ?? DATAPATH_STRINGS[key], args);
}

/** Messages are JSON: NaN and Infinity arrive as null. */
function isNumber(value: unknown): value is number {
	return typeof value === "number" && Number.isFinite(value);
}

function formatNs(ns: number | null | undefined): string {
	if (!isNumber(ns)) return "—";
	if (ns < 1_000) return `${Math.round(ns)} ns`;
	if (ns < 1_000_000) return `${Number((ns / 1_000).toPrecision(3))} µs`;
	if (ns < 1_000_000_000) return `${Number((ns / 1_000_000).toPrecision(3))} ms`;
	return `${Number((ns / 1_000_000_000).toPrecision(3))} s`;
}

function formatCount(n: number): string {
	return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function formatRate(n: number | undefined): string {
	if (!isNumber(n)) return "—";
	return n >= 100 ? formatCount(n) : String(Number(n.toPrecision(3)));
}

function formatValue(value: number | null): string {
	if (!isNumber(value)) return "—";
	return String(Number(value.toPrecision(4)));
}

function button(id: string, text: string, iconName: string, onClick: () => void, secondary = false): HTMLElement {
	const b = document.createElement("vscode-button");
	b.id = id;
	b.setAttribute("icon", iconName);
	if (secondary) b.setAttribute("secondary", "");
	b.textContent = text;
	b.addEventListener("click", () => { if (!b.hasAttribute("disabled")) onClick(); });
	return b;
}

function section(id: string, heading: string): HTMLElement {
	const s = el("section", id);
	s.id = id;
	s.append(el("h2", undefined, heading));
	return s;
}

/** Bars whose heights are the counts; the label reads the histogram out for screen readers. */
function histogramBars(h: HistogramView, label: string, format: (v: number | null) => string): HTMLElement {
	const box = el("div", "histogram");
	const bars = el("div", "bars");
	const max = Math.max(1, ...h.counts);
	h.counts.forEach((count, i) => {
		const bar = el("div", "bar");
		bar.style.height = `${count === 0 ? 0 : Math.max(2, (100 * count) / max)}%`;
		const width = (h.hi - h.lo) / h.counts.length;
		bar.title = `${format(h.lo + i * width)} … ${format(h.lo + (i + 1) * width)}: ${count}`;
		bars.append(bar);
	});
	bars.setAttribute("role", "img");
	bars.setAttribute("aria-label", t("histogramLabel", label, h.total, format(h.lo), format(h.hi)));
	const axis = el("div", "axis");
	axis.append(el("span", undefined, format(h.lo)), el("span", undefined, format(h.hi)));
	box.append(bars, axis);
	if (h.nonFinite > 0) box.append(el("div", "non-finite", t("nonFinite", h.nonFinite)));
	return box;
}

function slotState(slot: DatapathSlotView): string {
	if (slot.active) return t("slotActive");
	return slot.failed !== "none" ? t("slotFailed", slot.failed) : t("slotStandby");
}

function slotsTable(view: DatapathState): HTMLElement {
	const s = section("slots", t("slots"));
	const slots = view.slots ?? [];
	if (slots.length === 0) {
		s.append(el("p", "note", view.slots ? t("noSlots") : t("waiting")));
		return s;
	}
	const table = el("table", "slot-table");
	const head = el("tr");
	for (const key of ["colSlot", "colModel", "colState", "colInferences", "colErrors", "colRollbacks", "colLatency"] as const) head.append(el("th", undefined, t(key)));
	head.append(el("th"));
	table.append(el("thead"), el("tbody"));
	table.tHead?.append(head);
	for (const slot of slots) {
		const row = el("tr", `slot ${slot.active ? "active" : slot.failed !== "none" ? "failed" : "standby"}`);
		row.dataset.modelId = String(slot.modelId);
		const name = el("td", "model");
		name.append(el("span", "model-name", slot.name), el("span", "muted", ` #${slot.modelId} · ${slot.module}`));
		const stateCell = el("td", "state");
		stateCell.append(icon(slot.active ? "pass-filled" : slot.failed !== "none" ? "error" : "circle-large-outline"), el("span", undefined, ` ${slotState(slot)}`));
		const actions = el("td", "actions");
		if (!slot.active) actions.append(button(`activate-${slot.modelId}`, t("activate"), "play", () => vscode.postMessage({ type: "activate", modelId: slot.modelId })));
		row.append(
			el("td", "num", String(slot.index)), name, stateCell, el("td", "num inferences", formatCount(slot.inferences)),
			el("td", "num errors", formatCount(slot.errors)), el("td", "num rollbacks", formatCount(slot.rollbacks)),
			el("td", "num latency", `${formatNs(slot.latencyP50Ns)} / ${formatNs(slot.latencyP99Ns)}`), actions,
		);
		table.tBodies[0].append(row);
	}
	s.append(table);
	return s;
}

function header(view: DatapathState): HTMLElement {
	const h = el("header", "summary");
	const title = el("div", "title-row");
	title.append(el("h1", "app", view.app), el("span", "muted target", t("onTarget", view.target)));
	const stream = el("span", `stream-badge ${view.stream.state}`);
	const streamText = view.stream.state === "failed" ? t("streamFailed", view.stream.error ?? "") : t(
		view.stream.state === "connecting" ? "streamConnecting" : view.stream.state === "streaming" ? "streamStreaming" : "streamStopped");
	stream.append(icon(view.stream.state === "streaming" ? "broadcast" : view.stream.state === "failed" ? "error" : "circle-slash"), el("span", undefined, streamText));
	title.append(stream);
	const actions = el("div", "actions");
	const rollback = button("rollback", view.busy ? t("busy") : t("rollback"), "history", () => vscode.postMessage({ type: "rollback" }), true);
	const canRollback = (view.slots ?? []).some((slot) => !slot.active);
	if (view.busy || !canRollback) rollback.setAttribute("disabled", "");
	actions.append(rollback);
	h.append(title, actions);
	if (view.statusError) h.append(el("p", "error-text", t("statusFailed", view.statusError)));
	return h;
}

function rateSection(view: DatapathState): HTMLElement {
	const s = section("rate", t("rate"));
	const figures = el("div", "figures");
	figures.append(
		el("div", "figure records-rate", t("recordsPerSecond", formatRate(view.recordsPerSecond))),
		el("div", "figure inference-rate", isNumber(view.inferencesPerSecond) ? t("inferencesPerSecond", formatRate(view.inferencesPerSecond)) : t("inferencesPending")),
	);
	s.append(figures);
	const spark = el("div", "sparkline");
	const max = Math.max(1, ...rateHistory);
	for (const value of rateHistory) {
		const bar = el("div", "bar");
		bar.style.height = `${(100 * value) / max}%`;
		spark.append(bar);
	}
	spark.setAttribute("aria-hidden", "true");
	s.append(spark);
	if (view.droppedInWindow > 0) s.append(el("p", "warning-text", t("dropped", formatCount(view.droppedInWindow), view.windowSeconds)));
	return s;
}

function latencySection(view: DatapathState): HTMLElement {
	const s = section("latency", t("latency"));
	if (view.statusLatency) s.append(el("p", "status-latency", t("statusLatency", formatNs(view.statusLatency.p50Ns), formatNs(view.statusLatency.p99Ns))));
	const r = view.recordLatency;
	if (view.recordsInWindow === 0) {
		s.append(el("p", "note", t("noRecords", view.windowSeconds)));
		return s;
	}
	s.append(el("p", "record-latency", t("recordLatency", view.windowSeconds, formatCount(view.recordsInWindow), formatNs(r.p50Ns), formatNs(r.p99Ns), formatNs(r.maxNs))));
	s.append(histogramBars(r.histogram, t("latency"), formatNs));
	return s;
}

function outputsSection(view: DatapathState): HTMLElement {
	const s = section("outputs", t("outputs"));
	if (view.outputs.length === 0) {
		s.append(el("p", "note", t("noRecords", view.windowSeconds)));
		return s;
	}
	if (view.outputs.length < view.outputCount) s.append(el("p", "note", t("outputsTruncated", view.outputs.length, view.outputCount)));
	const grid = el("div", "output-grid");
	view.outputs.forEach((h, i) => {
		const cell = el("div", "output");
		cell.dataset.index = String(i);
		cell.append(el("h3", undefined, t("outputHeading", i)), histogramBars(h, t("outputHeading", i), formatValue));
		grid.append(cell);
	});
	s.append(grid);
	return s;
}

const EVENT_ICONS: Record<string, string> = { register: "add", unregister: "remove", activate: "play", rollback: "history", guard: "shield" };

function eventsSection(events: readonly DatapathEventView[]): HTMLElement {
	const s = section("events", t("events"));
	if (events.length === 0) {
		s.append(el("p", "note", t("noEvents")));
		return s;
	}
	const list = el("ol", "event-list");
	for (const event of events) {
		const item = el("li", `event ${event.event}`);
		const time = isNumber(event.timeMs) ? new Date(event.timeMs).toLocaleTimeString() : "";
		item.append(
			icon(EVENT_ICONS[event.event] ?? "circle-small"), el("span", "event-time", time), el("span", "event-kind", event.event),
			...(event.reason !== "none" ? [el("span", "event-reason", event.reason)] : []),
			el("span", "event-ids", event.fromId !== event.toId ? `#${event.fromId} → #${event.toId}` : `#${event.modelId}`),
			el("span", "event-message", event.message),
		);
		list.append(item);
	}
	s.append(list);
	return s;
}

const root = appRoot;

function replaceSection(main: HTMLElement, fresh: HTMLElement): void {
	const old = main.querySelector(`#${fresh.id}`);
	if (old) old.replaceWith(fresh);
	else main.append(fresh);
}

function render(view: DatapathState): void {
	const main = root();
	main.querySelector(".placeholder")?.remove();
	const head = header(view);
	const oldHead = main.querySelector("header.summary");
	if (oldHead) oldHead.replaceWith(head);
	else main.prepend(head);
	const key = JSON.stringify([view.busy, (view.slots ?? []).map((s) => [s.modelId, s.name, s.module, s.active, s.failed]), view.slots === undefined]);
	if (key !== slotsKey || !main.querySelector("#slots")) {
		slotsKey = key;
		replaceSection(main, slotsTable(view));
	} else {
		// Same slots: only the counters change, the buttons stay (and keep the keyboard focus).
		for (const slot of view.slots ?? []) {
			const row = main.querySelector<HTMLElement>(`tr.slot[data-model-id="${slot.modelId}"]`);
			if (!row) continue;
			row.querySelector(".inferences")!.textContent = formatCount(slot.inferences);
			row.querySelector(".errors")!.textContent = formatCount(slot.errors);
			row.querySelector(".rollbacks")!.textContent = formatCount(slot.rollbacks);
			row.querySelector(".latency")!.textContent = `${formatNs(slot.latencyP50Ns)} / ${formatNs(slot.latencyP99Ns)}`;
		}
	}
	for (const fresh of [rateSection(view), latencySection(view), outputsSection(view), eventsSection(view.events)]) replaceSection(main, fresh);
}

/** What the page shows, read from the DOM: the host's tests read the rendered state this way. */
function renderedSummary(): unknown {
	return {
		app: document.querySelector("h1.app")?.textContent ?? "",
		slots: Array.from(document.querySelectorAll("tr.slot"), (row) => ({
			name: row.querySelector(".model-name")?.textContent ?? "", active: row.classList.contains("active"),
			inferences: row.querySelector(".inferences")?.textContent ?? "",
		})),
		events: Array.from(document.querySelectorAll("li.event"), (item) => item.querySelector(".event-kind")?.textContent ?? ""),
		outputs: document.querySelectorAll(".output-grid .output").length,
		recordsRate: document.querySelector(".records-rate")?.textContent ?? "",
		stream: document.querySelector(".stream-badge")?.textContent ?? "",
	};
}

window.addEventListener("message", (event: MessageEvent<HostToDatapathWebview>) => {
	const message = event.data;
	try {
		switch (message.type) {
			case "state":
				strings = message.strings;
				state = message.state;
				rateHistory.push(isNumber(state.recordsPerSecond) ? state.recordsPerSecond : 0);
				if (rateHistory.length > RATE_HISTORY) rateHistory.shift();
				render(state);
				break;
			case "query":
				vscode.postMessage({ type: "answer", requestId: message.requestId, value: renderedSummary() });
				break;
		}
	} catch (error) {
		vscode.postMessage({ type: "error", message: error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error) });
	}
});

window.addEventListener("error", (event) => vscode.postMessage({ type: "error", message: `${event.message} (${event.filename}:${event.lineno})` }));

root().replaceChildren(el("p", "placeholder", t("waiting")));
vscode.postMessage({ type: "ready" });
