// The graph inspector's webview bundle, outside VS Code: bundled as the extension bundles it, checked for what the
// webview CSP forbids, then run in headless Chromium under that CSP with a stub of the VS Code webview API that
// plays the host's part. Screenshots go to the system temp folder for a person to look at.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as esbuild from "esbuild";
import type { Browser, Page } from "playwright-core";
import { Graph } from "../../extension/core/graph/graph";
import { type LoadedModel, loadModel } from "../../extension/core/frontends";
import { buildGraphView } from "../../extension/vscode/graphInspector/graphView";
import { nodeDetails } from "../../extension/vscode/graphInspector/nodeDetails";
import { pickedConfigText } from "../../extension/vscode/graphInspector/pickedConfig";
import type { GraphView, GraphWebviewToHost, HostToGraphWebview } from "../../webview/shared/protocol";
import { GRAPH_STRINGS } from "../../webview/graph/strings";
import { LAYOUT_LIMIT } from "../../webview/graph/layout";
import { GraphBuilder, attr } from "../support/graphBuilder";
import { whileLoop } from "../support/loops";
import { INDIGO_DIR, indigoMissing } from "../support/shared";

const ROOT = path.resolve(__dirname, "../..");
const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = os.tmpdir();

function browserMissing(): string | false {
	if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
	try {
		require.resolve("playwright-core");
		return false;
	} catch {
		return "playwright-core is not installed (npm ci)";
	}
}

async function bundleWebview(outdir: string): Promise<void> {
	await esbuild.build({
		entryPoints: { graph: path.join(ROOT, "webview/graph/main.ts") },
		bundle: true,
		platform: "browser",
		format: "iife",
		target: "es2022",
		outdir,
		minify: true,
		logLevel: "silent",
	});
}

/** What VS Code puts on the page for each theme kind: a body class and --vscode-* variables (a subset). */
const THEMES: Record<string, { bodyClass: string; vars: Record<string, string> }> = {
	dark: {
		bodyClass: "vscode-dark",
		vars: {
			foreground: "#cccccc", "editor-background": "#1f1f1f", "editor-foreground": "#cccccc", descriptionForeground: "#9d9d9d",
			"panel-border": "#2b2b2b", "editorWidget-background": "#202020", "editorWidget-border": "#454545", "charts-green": "#89d185",
			"charts-blue": "#3794ff", "charts-purple": "#b180d7", "charts-red": "#f14c4c", errorForeground: "#f85149", "badge-background": "#616161",
			"badge-foreground": "#f8f8f8", "editorInfo-foreground": "#3794ff", "textBlockQuote-background": "#2b2b2b", focusBorder: "#0078d4",
			"editorLineNumber-foreground": "#6e7681", "list-hoverBackground": "#2a2d2e", "editor-findMatchHighlightBackground": "#623315",
			"button-background": "#0078d4", "button-foreground": "#ffffff", "button-secondaryBackground": "#313131", "button-secondaryForeground": "#cccccc",
			"textLink-foreground": "#4daafc", "textLink-activeForeground": "#4daafc", "sideBar-background": "#181818", "input-background": "#313131",
			"input-foreground": "#cccccc", "input-border": "#3c3c3c", "settings-textInputBackground": "#313131", "settings-textInputForeground": "#cccccc",
			"settings-textInputBorder": "#3c3c3c", "input-placeholderForeground": "#989898", "button-hoverBackground": "#026ec1",
			"button-secondaryHoverBackground": "#3c3c3c", "editorIndentGuide-activeBackground1": "#707070",
		},
	},
	light: {
		bodyClass: "vscode-light",
		vars: {
			foreground: "#3b3b3b", "editor-background": "#ffffff", "editor-foreground": "#3b3b3b", descriptionForeground: "#717171",
			"panel-border": "#e5e5e5", "editorWidget-background": "#f8f8f8", "editorWidget-border": "#c8c8c8", "charts-green": "#388a34",
			"charts-blue": "#1a85ff", "charts-purple": "#652d90", "charts-red": "#e51400", errorForeground: "#f85149", "badge-background": "#cccccc",
			"badge-foreground": "#3b3b3b", "editorInfo-foreground": "#1a85ff", "textBlockQuote-background": "#f8f8f8", focusBorder: "#005fb8",
			"editorLineNumber-foreground": "#6e7681", "list-hoverBackground": "#f2f2f2", "editor-findMatchHighlightBackground": "#ea5c0055",
			"button-background": "#005fb8", "button-foreground": "#ffffff", "button-secondaryBackground": "#e5e5e5", "button-secondaryForeground": "#3b3b3b",
			"textLink-foreground": "#005fb8", "textLink-activeForeground": "#005fb8", "sideBar-background": "#f8f8f8", "input-background": "#ffffff",
			"input-foreground": "#3b3b3b", "input-border": "#cecece", "settings-textInputBackground": "#ffffff", "settings-textInputForeground": "#3b3b3b",
			"settings-textInputBorder": "#cecece", "input-placeholderForeground": "#767676", "button-hoverBackground": "#0258a8",
			"button-secondaryHoverBackground": "#cccccc", "editorIndentGuide-activeBackground1": "#939393",
		},
	},
	"high-contrast": {
		bodyClass: "vscode-high-contrast",
		vars: {
			foreground: "#ffffff", "editor-background": "#000000", "editor-foreground": "#ffffff", descriptionForeground: "#ffffff",
			"panel-border": "#6fc3df", contrastBorder: "#6fc3df", contrastActiveBorder: "#f38518", "editorWidget-background": "#0c141f",
			"charts-green": "#89d185", "charts-blue": "#3794ff", "charts-purple": "#b180d7", errorForeground: "#f48771", "badge-background": "#000000",
			"badge-foreground": "#ffffff", focusBorder: "#f38518", "editorLineNumber-foreground": "#ffffff", "editor-findMatchHighlightBorder": "#f38518",
			"button-background": "#000000", "button-foreground": "#ffffff", "button-border": "#6fc3df", "textLink-foreground": "#21a6ff",
			"sideBar-background": "#000000", "input-background": "#000000", "input-foreground": "#ffffff", "input-border": "#6fc3df",
			"settings-textInputBackground": "#000000", "settings-textInputForeground": "#ffffff", "settings-textInputBorder": "#6fc3df",
			"button-secondaryBackground": "#000000", "button-secondaryForeground": "#ffffff",
		},
	},
};

function themeCss(): string {
	const font = "--vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: monospace; --vscode-editor-font-size: 13px;";
	return Object.values(THEMES).map(({ bodyClass, vars }) =>
		`body.${bodyClass} { ${font} ${Object.entries(vars).map(([k, v]) => `--vscode-${k}: ${v};`).join(" ")} }`).join("\n");
}

/** The page webviewHtml.ts writes, with the same CSP, served from one origin as VS Code serves webview resources. */
function pageHtml(origin: string, theme: string): string {
	const nonce = "dGVzdC1ub25jZS0xMjM0NTY";
	const csp = [`default-src 'none'`, `img-src ${origin} data:`, `style-src ${origin}`, `font-src ${origin}`, `script-src 'nonce-${nonce}'`].join("; ");
	return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<link rel="stylesheet" href="/theme.css"><link rel="stylesheet" href="/codicon.css" id="vscode-codicon-stylesheet">
<link rel="stylesheet" href="/graph.css"><title>Graph Inspector</title></head>
<body class="${THEMES[theme].bodyClass}">
<script type="module" nonce="${nonce}" src="/elements.js"></script>
<script type="module" nonce="${nonce}" src="/graph.js"></script>
</body></html>`;
}

// Stands in for VS Code's webview API; records what the webview posts and what the CSP blocked.
const STUB_API = `
window.__posted = [];
window.__csp = [];
let state;
window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => state, setState: (s) => { state = s; } });
window.__deliver = (data) => window.dispatchEvent(new MessageEvent("message", { data }));
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
`;

/** A small model with a loop, for when Indigo is absent. */
function sampleModel(): LoadedModel {
	const g = new GraphBuilder();
	const f32 = { T: attr.type("float32") };
	g.placeholder("input", "float32", [1, 4]);
	g.placeholder("state", "float32", [1, 4]);
	g.constOf("w", "float32", Array.from({ length: 16 }, (_, i) => i / 16), [4, 4]);
	g.op("MatMul", "dense/MatMul", ["input", "w"], f32);
	g.op("Tanh", "dense/Tanh", ["dense/MatMul"], f32);
	const [exit] = whileLoop(g, "rnn/while", [{ init: "state", dtype: "float32" }],
		([h]) => g.op("Less", "rnn/while/Less", [g.op("Sum", "rnn/while/norm", [h, g.constOf("rnn/while/axes", "int32", [0, 1])], { ...f32, Tidx: attr.type("int32") }), g.constOf("rnn/while/limit", "float32", [4], [])], f32),
		([h]) => [g.op("Tanh", "rnn/while/cell/Tanh", [g.op("AddV2", "rnn/while/cell/add", [h, h], f32)], f32)]);
	g.op("AddV2", "merge", ["dense/Tanh", exit], f32);
	g.op("Softmax", "output/Softmax", ["merge"], f32);
	g.op("Erfinv", "output/odd", ["merge"], f32);
	return { file: "sample.pb", format: "GraphDef", graph: Graph.fromGraphDef(g.def()) };
}

/** A chain far longer than the webview lays out at once. */
function longChain(length: number): { model: LoadedModel; view: GraphView } {
	const g = new GraphBuilder();
	g.placeholder("x", "float32", [1]);
	let last = "x";
	for (let i = 0; i < length; i++) last = g.op(i % 2 ? "Neg" : "Relu", `chain/layer_${i}`, [last], { T: attr.type("float32") });
	const model: LoadedModel = { file: "chain.pb", format: "GraphDef", graph: Graph.fromGraphDef(g.def()) };
	return { model, view: buildGraphView(model).view };
}

describe("graph inspector webview bundle", () => {
	let dir: string;

	before(async () => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "knn-graph-webview-"));
		await bundleWebview(dir);
	});

	after(() => fs.rmSync(dir, { recursive: true, force: true }));

	it("bundles for the browser without eval or new Function, which the webview CSP forbids", () => {
		const js = fs.readFileSync(path.join(dir, "graph.js"), "utf8");
		assert.ok(js.length > 10_000, "the bundle is suspiciously small");
		assert.doesNotMatch(js, /\beval\s*\(/);
		assert.doesNotMatch(js, /new\s+Function\s*\(/);
		assert.doesNotMatch(js, /\binnerHTML\s*=|insertAdjacentHTML|outerHTML\s*=/, "model strings must never be parsed as HTML");
		assert.ok(fs.existsSync(path.join(dir, "graph.css")), "graph.css is not emitted beside graph.js");
	});

	describe("in headless Chromium under the webview CSP", { skip: browserMissing() }, () => {
		let server: http.Server;
		let origin: string;
		let browser: Browser;
		let model: LoadedModel;
		let view: GraphView;
		const problems: string[] = [];

		before(async () => {
			model = indigoMissing ? sampleModel() : loadModel(path.join(INDIGO_DIR, "model.meta"));
			view = buildGraphView(model, { displayName: indigoMissing ? "sample.pb" : "indigo/model.meta" }).view;
			const files: Record<string, [string, string]> = {
				"/graph.js": [path.join(dir, "graph.js"), "text/javascript"],
				"/graph.css": [path.join(dir, "graph.css"), "text/css"],
				"/elements.js": [path.join(ROOT, "node_modules/@vscode-elements/elements/dist/bundled.js"), "text/javascript"],
				"/codicon.css": [path.join(ROOT, "node_modules/@vscode/codicons/dist/codicon.css"), "text/css"],
				"/codicon.ttf": [path.join(ROOT, "node_modules/@vscode/codicons/dist/codicon.ttf"), "font/ttf"],
			};
			server = http.createServer((request, response) => {
				const url = new URL(request.url ?? "/", "http://127.0.0.1");
				const theme = /^\/(dark|light|high-contrast)\.html$/.exec(url.pathname)?.[1];
				if (theme) return void response.writeHead(200, { "content-type": "text/html" }).end(pageHtml(origin, theme));
				if (url.pathname === "/favicon.ico") return void response.writeHead(204).end();
				if (url.pathname === "/theme.css") return void response.writeHead(200, { "content-type": "text/css" }).end(themeCss());
				const file = files[url.pathname];
				if (!file || !fs.existsSync(file[0])) return void response.writeHead(404).end();
				response.writeHead(200, { "content-type": file[1] }).end(fs.readFileSync(file[0]));
			});
			await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
			origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
			const { chromium } = await import("playwright-core");
			browser = await chromium.launch({
				executablePath: CHROMIUM,
				headless: true,
				env: { ...process.env, XDG_CONFIG_HOME: dir },
				args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
			});
		});

		after(async () => {
			await browser?.close();
			await new Promise((resolve) => server?.close(resolve));
		});

		/** Opens the webview page for a theme and waits for its `ready`. */
		async function openPage(theme: string): Promise<Page> {
			const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
			page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
			page.on("console", (message) => {
				if (message.type() === "error") problems.push(`console: ${message.text()} (${message.location().url})`);
			});
			await page.addInitScript(STUB_API);
			await page.goto(`${origin}/${theme}.html`);
			await waitFor(page, "window.__posted.some((m) => m.type === 'ready')", 15_000);
			return page;
		}

		/**
		 * Polls an expression from Node: page.waitForFunction would evaluate it with `new Function` inside the page,
		 * which the webview CSP (rightly) refuses.
		 */
		async function waitFor(page: Page, expression: string, timeoutMs: number): Promise<void> {
			const deadline = Date.now() + timeoutMs;
			while (!(await page.evaluate(expression))) {
				if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
		}

		/** Keeps what the CSP blocked on the page, then closes it. */
		async function closePage(page: Page): Promise<void> {
			problems.push(...((await page.evaluate("window.__csp")) as string[]).map((v) => `CSP blocked ${v}`));
			await page.close();
		}

		async function deliver(page: Page, message: HostToGraphWebview): Promise<void> {
			await page.evaluate(`window.__deliver(${JSON.stringify(message)})`);
		}

		/** Plays the host: answers requestDetails as GraphDocument does, and returns the other messages. */
		async function hostTurn(page: Page, shown = { model, view }): Promise<GraphWebviewToHost[]> {
			const posted = (await page.evaluate("window.__posted.splice(0)")) as GraphWebviewToHost[];
			for (const message of posted) {
				if (message.type === "requestDetails") {
					const viewNode = shown.view.nodes.find((n) => n.name === message.name);
					await deliver(page, { type: "details", requestId: message.requestId, details: nodeDetails(shown.model, message.name, { weights: message.weights, viewNode }) });
				}
			}
			return posted.filter((m) => m.type !== "requestDetails");
		}

		/** Sends a query and waits for the webview's answer, serving details meanwhile. */
		async function ask(page: Page, what: "renderedNodeCount" | "selection", requestId: number, shown = { model, view }): Promise<unknown> {
			await deliver(page, { type: "query", requestId, what });
			const deadline = Date.now() + 30_000;
			while (Date.now() < deadline) {
				for (const message of await hostTurn(page, shown)) {
					if (message.type === "answer" && message.requestId === requestId) return message.value;
				}
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
			throw new Error(`the webview did not answer query ${what} within 30 s`);
		}

		async function showGraph(page: Page, shown = { model, view }): Promise<number> {
			await deliver(page, { type: "graph", graph: shown.view, strings: { ...GRAPH_STRINGS } });
			return (await ask(page, "renderedNodeCount", 1, shown)) as number;
		}

		async function revealAndWaitForDetails(page: Page, name: string, shown = { model, view }): Promise<void> {
			await deliver(page, { type: "reveal", name });
			await waitFor(page, `document.querySelector(".details h2")?.textContent === ${JSON.stringify(name)}`, 10_000);
			for (let i = 0; i < 40; i++) {
				await hostTurn(page, shown);
				if (await page.locator(".attr-table, .attrs p.muted:not(:has-text('Loading'))").count() > 0) return;
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
		}

		it("draws every node of the view, selects a revealed node and shows its details (dark theme)", async () => {
			const page = await openPage("dark");
			const rendered = await showGraph(page);
			assert.equal(rendered, view.nodes.length, "the webview drew a different number of nodes than it was sent");
			assert.equal(await page.locator("svg.graph-canvas g.node").count(), view.nodes.length);
			if (view.truncated) assert.equal(await page.locator(".banner").textContent(), view.truncated.reason);
			await page.screenshot({ path: path.join(SCREENSHOTS, "graph-inspector-overview.png") });

			const output = indigoMissing ? "output/Softmax" : "global/Softmax";
			await revealAndWaitForDetails(page, output);
			assert.equal(await ask(page, "selection", 2), output);
			assert.equal(await page.locator("g.node.selected").count(), 1);
			assert.equal(await page.locator(".op-chip").first().textContent(), "Softmax");
			await page.screenshot({ path: path.join(SCREENSHOTS, "graph-inspector-dark.png") });

			// A weight: ask for statistics in the pane and see them arrive.
			const weights = indigoMissing ? "dense/MatMul" : "global/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel";
			await revealAndWaitForDetails(page, weights);
			if (!indigoMissing) {
				await page.locator("vscode-button", { hasText: GRAPH_STRINGS.showWeights }).click();
				for (let i = 0; i < 40 && (await page.locator(".weight-table").count()) === 0; i++) {
					await hostTurn(page);
					await new Promise((resolve) => setTimeout(resolve, 50));
				}
				assert.match((await page.locator(".weight-table").textContent()) ?? "", /\[41,128\].*5,248/, "the LSTM kernel is [41,128]");
				await page.screenshot({ path: path.join(SCREENSHOTS, "graph-inspector-weights.png") });
			}
			await closePage(page);
		});

		it("searches by name, picks feeds and fetches in the details pane, and posts writeConfig in pick order", async () => {
			const page = await openPage("light");
			await showGraph(page);
			await page.locator("vscode-textfield.search").click();
			await page.keyboard.type("Softmax");
			await page.keyboard.press("Enter");
			await waitFor(page, "document.querySelectorAll('g.node.match').length > 0", 5_000);
			const matchText = (await page.locator(".match-count").textContent()) ?? "";
			assert.match(matchText, /^1 of \d+$/);
			assert.ok((await page.locator("g.node.dimmed").count()) > 0, "non-matching nodes are not dimmed");
			await page.locator("vscode-textfield.search").click();
			await page.keyboard.press("Control+A");
			await page.keyboard.press("Backspace");

			const feeds = indigoMissing ? ["input", "state"] : ["global/Placeholder", "global/Placeholder_1", "global/Placeholder_2"];
			const fetches = indigoMissing ? ["output/Softmax"] : ["global/Softmax", "global/rnn/while/Exit_2"];
			for (const feed of feeds) {
				await revealAndWaitForDetails(page, feed);
				await page.locator("vscode-button", { hasText: GRAPH_STRINGS.useAsFeed }).click();
			}
			for (const fetch of fetches) {
				await revealAndWaitForDetails(page, fetch);
				await page.locator("vscode-button", { hasText: GRAPH_STRINGS.useAsFetch }).click();
			}
			assert.equal(await page.locator(".picks .chip").count(), feeds.length + fetches.length);
			assert.equal(await page.locator("g.node .pick").count(), feeds.length + fetches.length, "picked nodes carry no feed/fetch label");
			await page.mouse.move(5, 300);
			await page.screenshot({ path: path.join(SCREENSHOTS, "graph-inspector-light.png") });
			await page.locator("vscode-button", { hasText: GRAPH_STRINGS.writeConfig }).click();
			const written = (await hostTurn(page)).find((m) => m.type === "writeConfig");
			assert.ok(written && written.type === "writeConfig", "the webview posted no writeConfig");
			assert.deepEqual(written.feeds.map((f) => f.name), feeds);
			assert.deepEqual(written.fetches, fetches);
			// The shapes the pane proposed (unknown dimensions as 1) are what the host needs to write a valid config.
			const text = pickedConfigText(model, written.feeds, written.fetches, path.basename(model.file));
			assert.match(text, /^# model: /);
			await closePage(page);
		});

		it("marks unsupported ops apart from supported ones and draws loop frames as clusters", async () => {
			const page = await openPage("dark");
			const sample = sampleModel();
			const shown = { model: sample, view: buildGraphView(sample).view };
			assert.equal(await showGraph(page, shown), shown.view.nodes.length);
			assert.equal(await page.locator("g.node.unsupported").count(), 1);
			assert.equal(await page.locator("g.node.unsupported").getAttribute("data-name"), "output/odd");
			assert.equal(await page.locator("g.frame").count(), 1);
			assert.match((await page.locator("g.frame .frame-label").textContent()) ?? "", /rnn\/while/);
			await revealAndWaitForDetails(page, "output/odd", shown);
			assert.equal(await page.locator(".op-chip.unsupported").count(), 1);

			// A constant folded into its reader: reachable from the reader's inputs, with its weights on request.
			await revealAndWaitForDetails(page, "dense/MatMul", shown);
			assert.equal(await page.locator("g.node.selected .badge text").textContent(), "+1");
			await page.locator(".details .node-link", { hasText: /^w$/ }).click();
			await waitFor(page, `document.querySelector(".details h2")?.textContent === "w"`, 5_000);
			assert.match((await page.locator(".folded-note").textContent()) ?? "", /dense\/MatMul/);
			for (let i = 0; i < 40 && (await page.locator("vscode-button", { hasText: GRAPH_STRINGS.showWeights }).count()) === 0; i++) {
				await hostTurn(page, shown);
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
			await page.locator("vscode-button", { hasText: GRAPH_STRINGS.showWeights }).click();
			for (let i = 0; i < 40 && (await page.locator(".weight-table").count()) === 0; i++) {
				await hostTurn(page, shown);
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
			// w holds 0/16 .. 15/16: mean 15/32.
			assert.match((await page.locator(".weight-table").textContent()) ?? "", /\[4,4\].*16.*0\.46875/);
			await page.mouse.move(5, 300);
			await page.screenshot({ path: path.join(SCREENSHOTS, "graph-inspector-sample.png") });
			await closePage(page);
		});

		it("lays out only a window around the focus when the graph is too large, and says so", async () => {
			const page = await openPage("high-contrast");
			const chain = longChain(LAYOUT_LIMIT * 2 + 100);
			const started = Date.now();
			const rendered = await showGraph(page, chain);
			assert.equal(rendered, LAYOUT_LIMIT);
			assert.ok(Date.now() - started < 20_000, `laying out ${LAYOUT_LIMIT} nodes took ${Date.now() - started} ms`);
			assert.match((await page.locator(".banner").textContent()) ?? "", /too many to lay out at once/);
			await deliver(page, { type: "reveal", name: "chain/layer_3" });
			await waitFor(page, "document.querySelector('g.node.selected')?.dataset.name === 'chain/layer_3'", 20_000);
			assert.equal(await ask(page, "renderedNodeCount", 3, chain), LAYOUT_LIMIT);
			await page.screenshot({ path: path.join(SCREENSHOTS, "graph-inspector-window-hc.png") });
			await closePage(page);
		});

		it("ran without page errors or CSP violations", () => {
			assert.deepEqual(problems, []);
		});
	});
});
