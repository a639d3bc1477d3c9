// The graph inspector webview: a laid-out drawing of the host's GraphView with search, details and feed/fetch
// picking. Starts empty and posts `ready`; the host answers with the whole graph. Text from the model (node names,
// ops, attributes) only ever goes in through textContent.
import "./graph.css";
import type { ConfigPicks, GraphNodeView, GraphQuery, GraphView, GraphWebviewToHost, HostToGraphWebview } from "../shared/protocol";
import { GraphCanvas, type NodeMarks, nodeSize } from "./canvas";
import { DetailsPane } from "./details";
import { button, component, el, formatCount, icon, setStrings, t } from "./dom";
import { type Layout, layoutGraph, layoutWindow, sourceNode } from "./layout";
import { type Picks, PicksBar, parseShapeText } from "./picks";

interface VsCodeApi {
	postMessage(message: GraphWebviewToHost): void;
	getState(): unknown;
	setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface SavedState {
	file: string;
	picks: Picks;
	selected?: string;
}

const vscode = acquireVsCodeApi();

let graph: GraphView | undefined;
let byName = new Map<string, GraphNodeView>();
let consumers = new Map<string, string[]>();
let picks: Picks = { feeds: [], fetches: [] };
let selected: string | undefined;
let layout: Layout | undefined;
/** Settles when a layout is drawn; queries wait for it. A layout superseded before it is drawn leaves it pending. */
let drawn: Promise<void>;
let markDrawn: () => void = () => undefined;
let drawnSettled = true;
let nextRequestId = 1;
let matches: string[] = [];
let matchIndex = -1;

function post(message: GraphWebviewToHost): void {
	vscode.postMessage(message);
}

function resetDrawn(): void {
	if (!drawnSettled) return;
	drawnSettled = false;
	drawn = new Promise((resolve) => {
		markDrawn = () => {
			drawnSettled = true;
			resolve();
		};
	});
}
resetDrawn();

// ---- page skeleton ----

const fileLabel = el("span", "file");
const summaryLabel = el("span", "summary muted");
const searchField = component<HTMLElement & { value: string }>("vscode-textfield", { type: "search" });
searchField.classList.add("search");
const matchLabel = el("span", "match-count muted");
matchLabel.setAttribute("aria-live", "polite");
const banner = el("div", "banner");
banner.setAttribute("role", "status");
const overlay = el("div", "overlay");
const canvas = new GraphCanvas((name) => (name ? selectNode(name, false) : clearSelection()));
const details = new DetailsPane({
	node: (name) => byName.get(name),
	consumers: (name) => consumers.get(name) ?? [],
	picks: () => picks,
	setPicks,
	requestDetails: (name, weights) => {
		const requestId = nextRequestId++;
		post({ type: "requestDetails", requestId, name, weights });
		return requestId;
	},
	reveal: (name) => void revealNode(name),
	showHidden: (name) => details.show(name, hiddenOwner(name)),
});
const picksBar = new PicksBar(() => picks, setPicks, (name) => void revealNode(name), writeConfig, () => graph?.signatures ?? []);

function legendItem(className: string, label: string): HTMLElement {
	const item = el("span", "legend-item");
	item.append(el("span", `swatch ${className}`), el("span", undefined, label));
	return item;
}

/** Builds the page once the first message brought the localized strings. */
function buildPage(): void {
	document.body.replaceChildren();
	searchField.setAttribute("placeholder", t("search"));
	searchField.setAttribute("aria-label", t("search"));
	const searchIcon = icon("search");
	searchIcon.setAttribute("slot", "content-before");
	searchField.append(searchIcon);
	const toolbar = el("header", "toolbar");
	const title = el("div", "title");
	title.append(fileLabel, summaryLabel);
	const search = el("div", "search-group");
	search.append(searchField, matchLabel,
		button(t("previousMatch"), "arrow-up", () => stepMatch(-1), { iconOnly: true, secondary: true }),
		button(t("nextMatch"), "arrow-down", () => stepMatch(1), { iconOnly: true, secondary: true }));
	const zoom = el("div", "zoom-group");
	zoom.append(
		button(t("zoomOut"), "zoom-out", () => canvas.zoomBy(0.8), { iconOnly: true, secondary: true }),
		button(t("zoomIn"), "zoom-in", () => canvas.zoomBy(1.25), { iconOnly: true, secondary: true }),
		button(t("fit"), "screen-full", () => canvas.fit(), { iconOnly: true, secondary: true }),
	);
	const legend = el("div", "legend");
	legend.append(legendItem("supported", t("legendSupported")), legendItem("unsupported", t("legendUnsupported")),
		legendItem("placeholder", t("legendInput")), legendItem("output", t("legendOutput")), legendItem("folded", t("legendFolded")));
	toolbar.append(title, search, zoom, legend);

	const split = component("vscode-split-layout", { "initial-handle-position": "70%", "min-start": "30%", "min-end": "220px", class: "main" });
	const canvasHost = el("div", "canvas-host");
	canvasHost.setAttribute("slot", "start");
	canvasHost.append(canvas.element, overlay);
	const detailsHost = el("div", "details-host");
	detailsHost.setAttribute("slot", "end");
	detailsHost.append(details.element);
	split.append(canvasHost, detailsHost);

	const app = el("div", "app");
	app.append(toolbar, banner, split, picksBar.element);
	document.body.append(app);
	banner.hidden = true;
	details.clear();
	picksBar.render();
}

function showOverlay(text: string | undefined): void {
	overlay.replaceChildren();
	overlay.hidden = text === undefined;
	if (text !== undefined) overlay.append(component("vscode-progress-ring"), el("span", undefined, text));
}

function setBanner(lines: string[]): void {
	banner.replaceChildren(...lines.map((line) => {
		const row = el("div", "banner-line");
		row.append(icon("info"), el("span", undefined, line));
		return row;
	}));
	banner.hidden = lines.length === 0;
}

// ---- graph state ----

function receiveGraph(view: GraphView): void {
	graph = view;
	byName = new Map(view.nodes.map((n) => [n.name, n]));
	consumers = new Map();
	for (const node of view.nodes) {
		for (const input of [...node.inputs, ...node.controlInputs]) {
			const source = sourceNode(input);
			if (!byName.has(source)) continue;
			const list = consumers.get(source) ?? [];
			if (!list.includes(node.name)) list.push(node.name);
			consumers.set(source, list);
		}
	}
	const saved = vscode.getState() as SavedState | undefined;
	if (saved && saved.file === view.file) {
		picks = saved.picks;
		selected = saved.selected && byName.has(saved.selected) ? saved.selected : undefined;
	}
	fileLabel.textContent = view.file;
	fileLabel.title = view.file;
	const represented = view.truncated ? view.truncated.shown : view.nodeCount;
	const folded = represented - view.nodes.length;
	summaryLabel.textContent = t("summary", view.format, formatCount(view.nodeCount), formatCount(view.nodes.length)) +
		(folded > 0 ? ` · ${t("summaryFolded", formatCount(folded))}` : "");
	picksBar.render();
	// A large graph opens around what gets deployed: the first signature's output, else the first candidate output.
	const signatureOutput = view.signatures?.[0]?.fetches.map((f) => f.name).find((name) => view.nodes.some((n) => n.name === name));
	void relayout(selected ?? signatureOutput ?? view.candidateOutputs[0]);
}

function saveState(): void {
	if (graph) vscode.setState({ file: graph.file, picks, selected } satisfies SavedState);
}

function setPicks(next: Picks): void {
	picks = next;
	saveState();
	picksBar.render();
	if (layout && graph) {
		canvas.draw(layout, byName, marksOf);
		applySearch(false);
	}
}

function marksOf(node: GraphNodeView): NodeMarks {
	const hiddenInputs = node.inputs.map(sourceNode).filter((s) => !byName.has(s));
	const feedIndex = picks.feeds.findIndex((f) => f.name === node.name);
	const fetchIndex = picks.fetches.indexOf(node.name);
	return {
		placeholder: graph?.placeholders.includes(node.name) ?? false,
		output: graph?.candidateOutputs.includes(node.name) ?? false,
		hiddenInputs: [...new Set(hiddenInputs)],
		...(feedIndex >= 0 ? { feedIndex } : {}),
		...(fetchIndex >= 0 ? { fetchIndex } : {}),
	};
}

/** The drawn node that reads a hidden (folded) node, for the details pane's "Folded into". */
function hiddenOwner(name: string): string | undefined {
	return graph?.nodes.find((n) => n.inputs.some((input) => sourceNode(input) === name))?.name;
}

/** Lays out the whole graph, or the window around `focus` when it is too large; then draws it. */
async function relayout(focus: string | undefined): Promise<void> {
	if (!graph) return;
	resetDrawn();
	const view = graph;
	const window = layoutWindow(view.nodes, focus);
	const nodes = view.nodes.filter((n) => window.has(n.name));
	const lines: string[] = [];
	if (view.truncated) lines.push(view.truncated.reason);
	if (nodes.length < view.nodes.length) {
		const around = focus && window.has(focus) ? focus : nodes[nodes.length - 1]?.name ?? "";
		lines.push(t("layoutWindow", formatCount(view.nodes.length), formatCount(nodes.length), around));
	}
	setBanner(lines);
	showOverlay(t("layingOut", formatCount(nodes.length)));
	// Let the message paint before the layout holds the thread.
	await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
	if (graph !== view) return;
	try {
		layout = layoutGraph(nodes, nodeSize);
	} catch (error) {
		const message = error instanceof Error ? error.message : String(error);
		post({ type: "error", message: `layout of ${view.file}: ${message}` });
		setBanner([...lines, t("layoutFailed", message)]);
		showOverlay(undefined);
		markDrawn();
		return;
	}
	canvas.draw(layout, byName, marksOf);
	showOverlay(undefined);
	applySearch(false);
	if (selected && canvas.has(selected)) {
		canvas.select(selected, true);
		if (details.shown !== selected) details.show(selected);
	} else if (focus && canvas.has(focus) && nodes.length < view.nodes.length) {
		canvas.centreOn(focus);
	} else {
		canvas.fit();
	}
	markDrawn();
}

function selectNode(name: string, centre: boolean): void {
	selected = name;
	saveState();
	canvas.select(name, centre);
	details.show(name);
}

function clearSelection(): void {
	selected = undefined;
	saveState();
	canvas.select(undefined, false);
	details.clear();
}

/** Selects and centres a node, moving the layout window to it when it is outside. */
async function revealNode(name: string): Promise<void> {
	if (!byName.has(name)) return;
	if (canvas.has(name)) return selectNode(name, true);
	// The layout selects and centres `selected` once it is drawn.
	selected = name;
	saveState();
	await relayout(name);
}

// ---- search ----

function applySearch(reveal: boolean): void {
	const query = (searchField.value ?? "").trim().toLowerCase();
	if (!graph || query === "") {
		matches = [];
		matchIndex = -1;
		matchLabel.textContent = "";
		canvas.highlight(undefined);
		return;
	}
	matches = graph.nodes.filter((n) => n.name.toLowerCase().includes(query) || n.op.toLowerCase() === query || n.op.toLowerCase().includes(query)).map((n) => n.name);
	canvas.highlight(new Set(matches));
	if (matches.length === 0) {
		matchIndex = -1;
		matchLabel.textContent = t("searchNone");
		return;
	}
	if (reveal) {
		matchIndex = 0;
		void revealNode(matches[0]);
	}
	matchLabel.textContent = t("searchMatches", matchIndex + 1 > 0 ? matchIndex + 1 : "–", matches.length);
}

function stepMatch(direction: number): void {
	if (matches.length === 0) return;
	matchIndex = (matchIndex + direction + matches.length) % matches.length;
	matchLabel.textContent = t("searchMatches", matchIndex + 1, matches.length);
	void revealNode(matches[matchIndex]);
}

let searchTimer: ReturnType<typeof setTimeout> | undefined;
searchField.addEventListener("input", () => {
	clearTimeout(searchTimer);
	searchTimer = setTimeout(() => applySearch(false), 150);
});
searchField.addEventListener("keydown", (event: KeyboardEvent) => {
	if (event.key !== "Enter") return;
	event.preventDefault();
	clearTimeout(searchTimer);
	if (matches.length === 0) applySearch(true);
	else stepMatch(event.shiftKey ? -1 : 1);
});

// ---- config ----

function writeConfig(): void {
	post({ type: "writeConfig", ...pickedConfig() });
}

/** The picks as the host writes them into graph.config.pbtxt. */
function pickedConfig(): ConfigPicks {
	const feeds = picks.feeds.map((feed) => {
		const parsed = parseShapeText(feed.shapeText);
		return "shape" in parsed && parsed.shape ? { name: feed.name, shape: parsed.shape } : { name: feed.name };
	});
	return { feeds, fetches: [...picks.fetches] };
}

// ---- messages ----

async function answerQuery(requestId: number, what: GraphQuery): Promise<void> {
	await drawn;
	if (typeof what === "object") {
		const pressed = [...document.querySelectorAll<HTMLElement>("[data-signature]")].find((b) => b.dataset.signature === what.pressSignature);
		pressed?.click();
		post({ type: "answer", requestId, value: pressed ? pickedConfig() : null });
		return;
	}
	if (what === "renderedNodes") {
		post({ type: "answer", requestId, value: (graph?.nodes ?? []).filter((n) => canvas.has(n.name)).map((n) => ({ name: n.name, op: n.op })) });
		return;
	}
	post({ type: "answer", requestId, value: what === "renderedNodeCount" ? canvas.renderedNodeCount : selected ?? null });
}

window.addEventListener("message", (event: MessageEvent<HostToGraphWebview>) => {
	const message = event.data;
	switch (message.type) {
		case "graph":
			if (!graph) {
				setStrings(message.strings);
				buildPage();
			}
			receiveGraph(message.graph);
			break;
		case "details":
			details.setDetails(message.requestId, message.details);
			break;
		case "reveal":
			void revealNode(message.name);
			break;
		case "query":
			void answerQuery(message.requestId, message.what);
			break;
	}
});

window.addEventListener("error", (event) => post({ type: "error", message: event.message }));
window.addEventListener("unhandledrejection", (event) => post({ type: "error", message: String(event.reason) }));

document.body.append(el("p", "loading muted", t("loading")));
post({ type: "ready" });
