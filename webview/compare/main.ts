// The Compare Outputs webview: kernel against reference per output and step, with an error plot over steps.
// Starts empty and posts `ready`; the host answers with the whole comparison. Text from the model (output names,
// errors) only ever goes in through textContent.
import uPlot from "uplot";
import "./compare.css";
import { appRoot, el, fillPlaceholders, icon } from "../shared/dom";
import type { CompareWebviewToHost, ComparisonView, HostToCompareWebview } from "../shared/protocol";
import { errorPlotData } from "./errorPlot";
import { COMPARE_STRINGS, type CompareStringKey } from "./strings";
import { type ValueRow, stepRows, summarizeRows } from "./valueRows";

declare function acquireVsCodeApi(): { postMessage(message: CompareWebviewToHost): void };

const vscode = acquireVsCodeApi();
/** Tables longer than this show every failing value and the first passing ones; the CSV export has them all. */
const MAX_ROWS_PER_TABLE = 1000;

let strings: Record<string, string> = {};
let comparison: ComparisonView | undefined;
let plot: uPlot | undefined;

function t(key: CompareStringKey, ...args: (string | number)[]): string {
	return fillPlaceholders(strings[key] ?? COMPARE_STRINGS[key], args);
}

function formatValue(value: number): string {
	if (Number.isNaN(value)) return "NaN";
	if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
	return String(Number(value.toPrecision(9)));
}

function formatError(value: number): string {
	if (Number.isNaN(value)) return "NaN";
	if (value === -Infinity) return "—";
	if (!Number.isFinite(value)) return "∞";
	return value === 0 ? "0" : value.toExponential(2);
}

function formatMs(ms: number): string {
	return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function statusBadge(ok: boolean, text: string): HTMLElement {
	const badge = el("span", `status-badge ${ok ? "pass" : "fail"}`);
	badge.append(icon(ok ? "pass-filled" : "error"), el("span", undefined, text));
	return badge;
}

function header(view: ComparisonView): HTMLElement {
	const section = el("header", "summary");
	const title = el("div", "title-row");
	title.append(el("h1", "module", view.module), statusBadge(view.ok, view.ok ? t("pass") : t("fail")));

	const facts = el("dl", "facts");
	const fact = (label: string, value: string, className?: string) => {
		const item = el("div", className);
		item.append(el("dt", undefined, label), el("dd", undefined, value));
		facts.append(item);
	};
	fact(t("target"), view.target);
	const absWithin = view.maxAbsError <= view.tolerance;
	const compared = !Number.isNaN(view.maxAbsError) && view.outputs.length > 0;
	fact(t("maxAbsError"), compared ? `${formatError(view.maxAbsError)} ${absWithin ? "≤" : ">"} ${formatError(view.tolerance)}` : t("notCompared"), compared ? (absWithin ? "within" : "outside") : undefined);
	fact(t("maxRelError"), compared ? formatError(view.maxRelError) : t("notCompared"));
	fact(t("tolerance"), formatError(view.tolerance));

	const actions = el("div", "actions");
	for (const format of ["csv", "json"] as const) {
		const button = document.createElement("vscode-button");
		button.id = `export-${format}`;
		if (format === "json") button.setAttribute("secondary", "");
		button.setAttribute("icon", "save");
		button.textContent = format === "csv" ? t("exportCsv") : t("exportJson");
		button.addEventListener("click", () => vscode.postMessage({ type: "export", format }));
		if (!compared) button.setAttribute("disabled", "");
		actions.append(button);
	}
	section.append(title, facts, el("p", "rule", t("toleranceRule")), actions);
	return section;
}

function stagesSection(view: ComparisonView): HTMLElement {
	const section = el("section", "stages");
	const total = view.stages.reduce((sum, s) => sum + s.ms, 0);
	const heading = el("h2", undefined, t("stages"));
	heading.append(el("span", "muted", ` · ${t("totalTime", formatMs(total))}`));
	const list = el("ol", "stage-list");
	const longest = Math.max(1, ...view.stages.map((s) => s.ms));
	for (const stage of view.stages) {
		const item = el("li", `stage ${stage.ok ? "ok" : "failed"}`);
		const bar = el("span", "stage-bar");
		const fill = el("span", "stage-bar-fill");
		fill.style.width = `${Math.max(0.5, (100 * stage.ms) / longest)}%`;
		bar.append(fill);
		const name = el("span", "stage-name", stage.name);
		name.append(el("span", "sr-only", ` (${stage.ok ? t("stageOk") : t("stageFailed")})`));
		item.append(icon(stage.ok ? "check" : "error"), name, bar, el("span", "stage-ms", formatMs(stage.ms)));
		if (stage.error) item.append(el("pre", "stage-error", stage.error));
		list.append(item);
	}
	section.append(heading, list);
	return section;
}

function themeColor(name: string, fallback: string): string {
	return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

const SERIES_COLORS: [string, string][] = [
	["--vscode-charts-blue", "#3794ff"], ["--vscode-charts-green", "#89d185"], ["--vscode-charts-orange", "#d18616"],
	["--vscode-charts-purple", "#b180d7"], ["--vscode-charts-yellow", "#cca700"], ["--vscode-charts-red", "#f14c4c"],
];

function plotSection(view: ComparisonView): { section: HTMLElement; host: HTMLElement } {
	const section = el("section", "error-plot");
	const host = el("div", "plot-host");
	host.setAttribute("role", "img");
	host.setAttribute("aria-label", t("plotTitle"));
	section.append(el("h2", undefined, t("plotTitle")), host);
	const data = errorPlotData(view);
	if (data.floor !== undefined) section.append(el("p", "note", t("plotNoteZero", formatError(data.floor))));
	if (data.hasGaps) section.append(el("p", "note", t("plotNoteNaN")));
	return { section, host };
}

/** uPlot passes null for ticks it leaves unlabelled (between decades on a log axis), whatever its types say. */
function tickLabel(format: (value: number) => string): (value: number | null) => string {
	return (value) => (value === null || value === undefined ? "" : format(value));
}

function decadeOrNull(value: number | null): number | null {
	return value !== null && Math.abs(Math.log10(value) - Math.round(Math.log10(value))) < 1e-9 ? value : null;
}

function drawPlot(view: ComparisonView, host: HTMLElement): void {
	plot?.destroy();
	plot = undefined;
	const data = errorPlotData(view);
	const foreground = themeColor("--vscode-foreground", "#cccccc");
	const grid = themeColor("--vscode-charts-lines", "rgba(128,128,128,0.35)");
	const toleranceColor = themeColor("--vscode-charts-red", "#f14c4c");
	const family = themeColor("--vscode-font-family", "sans-serif");
	const size = themeColor("--vscode-font-size", "13px");
	const font = `${size} ${family}`;
	const axis = { stroke: foreground, font, labelFont: font, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
	const errorValue = (_: uPlot, value: number | null) => (value === null ? "—" : formatError(value));
	plot = new uPlot({
		width: Math.max(200, host.clientWidth),
		height: 260,
		scales: {
			x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] },
			y: { distr: 3, log: 10 },
		},
		axes: [
			{ ...axis, label: t("step"), incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], values: (_u, splits) => splits.map(tickLabel(String)) },
			// Grid lines at whole decades only: with one per minor log tick the grid drowned the lines.
			{ ...axis, size: 64, grid: { ...axis.grid, filter: (_u, splits) => splits.map(decadeOrNull) }, values: (_u, splits) => splits.map(tickLabel((s) => s.toExponential(0))) },
		],
		series: [
			{ label: t("step"), value: (_u, v) => (v === null ? "—" : String(v)) },
			...data.series.map((s, i) => {
				const [name, fallback] = SERIES_COLORS[i % SERIES_COLORS.length];
				const color = themeColor(name, fallback);
				return { label: s.name, stroke: color, width: 2, points: { show: true, size: 6, stroke: color, fill: color }, value: errorValue };
			}),
			{ label: t("plotTolerance"), stroke: toleranceColor, dash: [6, 4], width: 1.5, points: { show: false }, value: errorValue },
		],
		cursor: { drag: { x: false, y: false } },
	}, [data.steps, ...data.series.map((s) => s.values), data.tolerance], host);
}

function valueTable(rows: readonly ValueRow[]): HTMLTableElement {
	const table = el("table", "values");
	const head = el("thead");
	const headRow = el("tr");
	for (const key of ["colIndex", "colKernel", "colReference", "colAbsError", "colRelError", "colStatus"] as const) headRow.append(el("th", undefined, t(key)));
	head.append(headRow);
	const body = el("tbody");
	for (const row of rows) {
		const tr = el("tr", `value-row ${row.withinTolerance ? "pass" : "fail"}`);
		const status = el("td", "status");
		// Passing rows carry their status for screen readers only; the eye needs the check mark, not 690 sentences.
		status.append(icon(row.withinTolerance ? "check" : "error"), el("span", row.withinTolerance ? "sr-only" : "status-text", row.withinTolerance ? t("withinTolerance") : t("outsideTolerance")));
		tr.append(
			el("td", "index", String(row.index)), el("td", "num", formatValue(row.kernel)), el("td", "num", formatValue(row.reference)),
			el("td", "num", formatError(row.absError)), el("td", "num", formatError(row.relError)), status,
		);
		body.append(tr);
	}
	table.append(head, body);
	return table;
}

/** Every failing value, then passing ones in index order, up to MAX_ROWS_PER_TABLE. */
function shownRows(rows: ValueRow[]): ValueRow[] {
	if (rows.length <= MAX_ROWS_PER_TABLE) return rows;
	const failing = rows.filter((r) => !r.withinTolerance);
	const passing = rows.filter((r) => r.withinTolerance).slice(0, Math.max(0, MAX_ROWS_PER_TABLE - failing.length));
	return [...failing, ...passing].sort((a, b) => a.index - b.index);
}

function outputsSection(view: ComparisonView, closed: ReadonlySet<string>, onlyFailing: boolean): HTMLElement {
	const section = el("section", `outputs${onlyFailing ? " only-failing" : ""}`);
	if (view.outputs.length === 0) {
		section.append(el("p", "note", t("noComparison")));
		return section;
	}
	const filter = document.createElement("vscode-checkbox");
	filter.id = "only-failing";
	filter.setAttribute("label", t("onlyFailing"));
	if (onlyFailing) filter.setAttribute("checked", "");
	filter.addEventListener("change", () => section.classList.toggle("only-failing", (filter as HTMLElement & { checked: boolean }).checked));
	section.append(filter);

	view.outputs.forEach((output, o) => {
		const steps = output.steps.map((_, s) => stepRows(view, o, s));
		const all = summarizeRows(steps.flat());
		const details = el("details", `output ${all.failing === 0 ? "all-pass" : "has-failing"}`);
		details.dataset.output = output.name;
		details.open = !closed.has(output.name);
		const summary = el("summary");
		const valuesPerStep = Math.max(0, ...output.steps.map((s) => Math.max(s.kernel.length, s.reference.length)));
		summary.append(
			statusBadge(all.failing === 0, all.failing === 0 ? t("pass") : t("fail")),
			el("code", "output-name", output.name),
			el("span", "muted", `${t("outputSummary", valuesPerStep, output.steps.length, formatError(all.maxAbsError))} ·`),
			el("span", all.failing === 0 ? "muted" : "failing-count", all.failing === 0 ? t("allPass") : t("outsideCount", all.failing)),
		);
		details.append(summary);
		steps.forEach((rows, step) => {
			const stepSummary = summarizeRows(rows);
			const block = el("div", `step ${stepSummary.failing === 0 ? "all-pass" : "has-failing"}`);
			const heading = el("h3", undefined, t("stepHeading", step));
			heading.append(el("span", "muted", ` · ${t("stepSummary", formatError(stepSummary.maxAbsError), stepSummary.failing, stepSummary.values)}`));
			block.append(heading);
			const shown = shownRows(rows);
			if (shown.length < rows.length) block.append(el("p", "note", t("truncated", shown.length, rows.length)));
			block.append(valueTable(shown));
			details.append(block);
		});
		section.append(details);
	});
	return section;
}

const root = appRoot;

function render(view: ComparisonView): void {
	const main = root();
	const closed = new Set(Array.from(main.querySelectorAll<HTMLDetailsElement>("details.output"), (d) => (d.open ? "" : d.dataset.output ?? "")).filter((n) => n !== ""));
	const onlyFailing = main.querySelector(".outputs.only-failing") !== null;
	const { section: plotBlock, host } = plotSection(view);
	main.replaceChildren(header(view), stagesSection(view), ...(view.outputs.length > 0 ? [plotBlock] : []), outputsSection(view, closed, onlyFailing));
	if (view.outputs.length > 0) drawPlot(view, host);
	else {
		plot?.destroy();
		plot = undefined;
	}
}

function renderWaiting(): void {
	root().replaceChildren(el("p", "placeholder", t("waiting")));
}

/** What the page shows, counted from the DOM: the host's tests read the rendered state this way. */
function renderedSummary(): { rows: number; failing: number; allWithinTolerance: boolean; outputs: number; steps: number; plotted: boolean } {
	const rows = document.querySelectorAll("tr.value-row").length;
	const failing = document.querySelectorAll("tr.value-row.fail").length;
	return {
		rows, failing, allWithinTolerance: rows > 0 && failing === 0,
		outputs: document.querySelectorAll("details.output").length,
		steps: document.querySelectorAll("details.output .step").length,
		plotted: document.querySelector(".plot-host canvas") !== null,
	};
}

window.addEventListener("message", (event: MessageEvent<HostToCompareWebview>) => {
	const message = event.data;
	try {
		switch (message.type) {
			case "comparison":
				strings = message.strings;
				comparison = message.comparison;
				render(comparison);
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

// The plot draws on a canvas with colours read from the theme: redraw when the theme or the width changes.
let redrawQueued = false;
function queueRedraw(): void {
	if (redrawQueued) return;
	redrawQueued = true;
	requestAnimationFrame(() => {
		redrawQueued = false;
		const host = document.querySelector<HTMLElement>(".plot-host");
		if (comparison && host && comparison.outputs.length > 0) drawPlot(comparison, host);
	});
}
new MutationObserver(queueRedraw).observe(document.body, { attributes: true, attributeFilter: ["class"] });
new MutationObserver(queueRedraw).observe(document.documentElement, { attributes: true, attributeFilter: ["style"] });
let lastWidth = 0;
new ResizeObserver(() => {
	const host = document.querySelector<HTMLElement>(".plot-host");
	if (!host || !plot || host.clientWidth === lastWidth) return;
	lastWidth = host.clientWidth;
	plot.setSize({ width: Math.max(200, host.clientWidth), height: 260 });
}).observe(document.body);

renderWaiting();
vscode.postMessage({ type: "ready" });
