// The Datapath view's logic outside VS Code: the tree's items from AppStatus[], the notifications after Activate and
// Rollback, the advice on failures, and the panel's statistics (rates, nearest-rank percentiles, histograms).
// Expected values are closed forms written here.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as esbuild from "esbuild";
import type { Browser, Page } from "playwright-core";
import type { AppStatus, ChannelLine, SlotStatus } from "../../extension/core/runtime/types";
import { CONTEXT, activationNotice, appItems, failureAdvice, formatCount, formatNs, rollbackNotice } from "../../extension/vscode/datapath/datapathItems";
import { PanelModel } from "../../extension/vscode/datapath/panelModel";
import { CounterRate, RecordWindow, histogram, percentile } from "../../extension/vscode/datapath/recordWindow";
import type { DatapathWebviewToHost, HostToDatapathWebview } from "../../webview/datapath/protocol";
import { DATAPATH_STRINGS } from "../../webview/datapath/strings";

function slot(overrides: Partial<SlotStatus>): SlotStatus {
	return {
		index: 0, modelId: 1, name: "indigo_a", module: "indigo_a", active: false, failed: "none", inferences: 0, errors: 0, skipped: 0,
		rollbacks: 0, latencyP50Ns: 0, latencyP99Ns: 0, latencyMaxNs: 0, usesFpu: true, registeredMs: 0, ...overrides,
	};
}

function app(name: string, slots: SlotStatus[]): AppStatus {
	const active = slots.find((s) => s.active);
	return {
		app: name, owner: "knn_tcp", inputType: "float32", outputType: "float32", inputBytes: 36, outputBytes: 20, stateBytes: 256,
		activeId: active?.modelId ?? 0, slots, recordsSent: 0, recordsDropped: 0, guard: { window: 64, latencyNs: 0 },
	};
}

const TCP = app("tcp", [
	slot({ index: 1, modelId: 7, name: "indigo_b", module: "indigo_b", active: false, failed: "nan", inferences: 12, errors: 1, rollbacks: 1 }),
	slot({ index: 0, modelId: 5, name: "indigo_a", module: "indigo_a", active: true, inferences: 1234567, latencyP50Ns: 1250, latencyP99Ns: 48_000 }),
]);

function record(modelId: number, latencyNs: number, output: (number | null)[], seq = 0): ChannelLine {
	return { kind: "record", app: "tcp", seq, timeNs: 0, modelId, latencyNs, input: [], output: output as number[] };
}

describe("the Datapath tree's items", () => {
	it("lists applications by name, each with its slots in slot order and the active one marked", () => {
		const items = appItems("sandbox", [TCP, app("netfilter", [])]);
		assert.deepEqual(items.map((i) => i.label), ["netfilter", "tcp"]);
		const tcp = items[1];
		assert.equal(tcp.description, "runs indigo_a (#5)");
		assert.equal(tcp.contextValue, CONTEXT.app);
		assert.deepEqual(tcp.children?.map((s) => [s.label, s.description, s.contextValue]), [
			["indigo_a", "#5 · active", CONTEXT.activeSlot],
			["indigo_b", "#7 · failed: nan", CONTEXT.standbySlot],
		]);
		assert.equal(items[0].description, "no model registered");
	});

	it("shows a slot's counters: inferences, errors, rollbacks and p50/p99 latency", () => {
		const active = appItems("sandbox", [TCP])[0].children?.[0];
		const counters = Object.fromEntries((active?.children ?? []).map((c) => [c.label, c.description]));
		assert.equal(counters.inferences, "1,234,567");
		assert.equal(counters.errors, "0");
		assert.equal(counters.rollbacks, "0");
		assert.equal(counters.latency, "p50 1.25 µs · p99 48 µs · max 0 ns");
	});

	it("says why the guard took a model out in the slot's tooltip", () => {
		const failed = appItems("sandbox", [TCP])[0].children?.[1];
		assert.match(failed?.tooltip ?? "", /taken out by the guard: a NaN or Inf output/);
	});

	it("gives items ids that stay the same across refreshes and differ between targets", () => {
		const a = appItems("sandbox", [TCP]);
		const b = appItems("sandbox", [structuredClone(TCP)]);
		const c = appItems("ssh://root@10.0.0.2:22", [TCP]);
		assert.deepEqual(a.map((i) => i.id), b.map((i) => i.id));
		assert.notEqual(a[0].id, c[0].id);
		assert.equal(new Set([a[0].id, ...(a[0].children ?? []).flatMap((s) => [s.id, ...(s.children ?? []).map((x) => x.id)])]).size, 1 + 2 + 8);
	});

	it("says how to get applications when knn_core has none", () => {
		const [item] = appItems("sandbox", []);
		assert.equal(item.kind, "message");
		assert.match(item.label, /knn_tcp|--app/);
	});

	it("formats nanoseconds and counters as a person reads them", () => {
		assert.equal(formatNs(850), "850 ns");
		assert.equal(formatNs(1250), "1.25 µs");
		assert.equal(formatNs(3_400_000), "3.4 ms");
		assert.equal(formatNs(1_200_000_000), "1.2 s");
		assert.equal(formatNs(NaN), "—");
		assert.equal(formatCount(0), "0");
		assert.equal(formatCount(999), "999");
		assert.equal(formatCount(1000), "1,000");
		assert.equal(formatCount(12345678), "12,345,678");
	});
});

describe("the notifications after Activate and Rollback", () => {
	const before = TCP;
	const after = app("tcp", [slot({ index: 0, modelId: 5, name: "indigo_a" }), slot({ index: 1, modelId: 7, name: "indigo_b", active: true })]);

	it("name the app, the target, the model that now runs and the one kept for rollback", () => {
		assert.equal(activationNotice("sandbox", "tcp", before, after), "Kernel NN: tcp on sandbox now runs indigo_b (#7); indigo_a (#5) stays resident for rollback.");
	});

	it("name the model rolled back from and the one rolled back to", () => {
		assert.equal(rollbackNotice("sandbox", "tcp", after, before), "Kernel NN: rolled tcp on sandbox back from indigo_b (#7) to indigo_a (#5).");
	});

	it("say so when no model is active afterwards", () => {
		assert.match(rollbackNotice("sandbox", "tcp", after, app("tcp", [])), /no model is active now/);
		assert.match(activationNotice("sandbox", "tcp", before, undefined), /reports no active model/);
	});
});

describe("the advice on a failed status read", () => {
	it("offers Install Runtime when knn_core is not loaded or the channel tool is missing", () => {
		for (const message of [
			"knn_core is not loaded: run knn runtime install (on sandbox)",
			"/tmp/knn/runtime/knn-channel is missing on root@127.0.0.1:2222: run knn runtime install --target to copy it there.",
		]) {
			const advice = failureAdvice("sandbox", message, "runtime");
			assert.equal(advice.notInstalled, true, message);
			assert.deepEqual(advice.action, { title: "Install Runtime", command: "kernelNN.runtimeInstall" });
			assert.match(advice.message, /not installed on sandbox/);
		}
	});

	it("offers Start Sandbox Target when the sandbox VM is not running", () => {
		const advice = failureAdvice("sandbox", "The sandbox VM is not running (its state folder is /x): run \"Kernel NN: Start Sandbox Target\" first.", "connect");
		assert.equal(advice.action?.command, "kernelNN.startSandbox");
		assert.equal(advice.notInstalled, false);
	});

	it("names the target and offers the log for anything else", () => {
		const advice = failureAdvice("ssh://root@h:22", "connection refused", "connect");
		assert.equal(advice.message, "Reading the datapath runtime on ssh://root@h:22 failed: connection refused");
		assert.equal(advice.action?.command, "kernelNN.datapath.showLog");
	});
});

describe("nearest-rank percentiles and histograms", () => {
	const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

	it("gives p50 = 50 and p99 = 99 of 1..100, p100 the maximum and p0 the minimum", () => {
		assert.equal(percentile(oneToHundred, 50), 50);
		assert.equal(percentile(oneToHundred, 99), 99);
		assert.equal(percentile(oneToHundred, 100), 100);
		assert.equal(percentile(oneToHundred, 0), 1);
	});

	it("gives the smallest value with at least p% at or below it for a short list", () => {
		// [10, 20, 30]: rank ceil(0.5*3) = 2, ceil(0.99*3) = 3.
		assert.equal(percentile([10, 20, 30], 50), 20);
		assert.equal(percentile([10, 20, 30], 99), 30);
		assert.ok(Number.isNaN(percentile([], 50)));
	});

	it("splits [min, max] into equal bins, the maximum in the last one, and counts NaN/Inf apart", () => {
		const h = histogram([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, NaN, Infinity], 5);
		assert.equal(h.lo, 0);
		assert.equal(h.hi, 10);
		// Width 2: [0,2) [2,4) [4,6) [6,8) [8,10].
		assert.deepEqual(h.counts, [2, 2, 2, 2, 3]);
		assert.equal(h.nonFinite, 2);
		assert.equal(h.total, 13);
	});

	it("puts equal values in one bin and has no bins for no finite values", () => {
		assert.deepEqual(histogram([3, 3, 3], 10).counts, [3]);
		assert.deepEqual(histogram([NaN], 10), { lo: NaN, hi: NaN, counts: [], nonFinite: 1, total: 1 });
	});
});

describe("rates", () => {
	it("the inference counter's rate is the difference over the time between two reads, none across a reset", () => {
		const rate = new CounterRate();
		assert.equal(rate.update(1000, 10_000), undefined);
		assert.equal(rate.update(5000, 12_000), 2000);
		assert.equal(rate.update(100, 14_000), undefined, "a smaller total is a reset");
		assert.equal(rate.update(600, 14_500), 1000);
	});

	it("records/s over a full window counts only the window's seconds", () => {
		const window = new RecordWindow(10);
		// 20 records a second for 30 s, evenly spread.
		for (let ms = 0; ms < 30_000; ms += 50) window.add(record(1, 1000, [0]), ms);
		const snapshot = window.snapshot(30_000);
		assert.equal(snapshot.recordsPerSecond, 20);
		assert.equal(snapshot.records, 200);
	});

	it("records/s of a stream younger than the window divides by the time since it started", () => {
		const window = new RecordWindow(10);
		for (let ms = 0; ms < 2000; ms += 20) window.add(record(1, 1000, [0]), ms);
		assert.equal(window.snapshot(2000).recordsPerSecond, 50);
	});

	it("records/s falls to zero when the traffic stops", () => {
		const window = new RecordWindow(10);
		for (let ms = 0; ms < 5000; ms += 10) window.add(record(1, 1000, [0]), ms);
		const later = window.snapshot(60_000);
		assert.equal(later.recordsPerSecond, 0);
		assert.equal(later.records, 0);
		assert.ok(Number.isNaN(later.latency.p50Ns));
	});

	it("keeps at most its capacity of records for the distributions but counts every arrival in the rate", () => {
		const window = new RecordWindow(10, 100);
		for (let i = 0; i < 1000; i++) window.add(record(1, i, [i]), 5000 + i);
		const snapshot = window.snapshot(6000);
		assert.equal(snapshot.records, 100);
		// The newest 100 latencies are 900..999: nearest-rank p50 = 949.
		assert.equal(snapshot.latency.p50Ns, 949);
		assert.equal(snapshot.latency.maxNs, 999);
		assert.equal(snapshot.recordsPerSecond, 1000);
	});
});

describe("the panel's state for one application", () => {
	it("builds latency percentiles and per-output histograms from the window's records, a null output counted as NaN", () => {
		const model = new PanelModel("sandbox", "tcp");
		for (let i = 1; i <= 100; i++) model.onLine(record(5, i * 100, [i % 2, i <= 50 ? -1 : 1]), 1000);
		model.onLine(record(5, 10_100, [null, 0]), 1000);
		model.onLine({ ...(record(5, 1, [0]) as Extract<ChannelLine, { kind: "record" }>), app: "netfilter" }, 1000);
		const state = model.state(2000);
		assert.equal(state.recordsInWindow, 101);
		assert.equal(state.recordLatency.p50Ns, 5100);
		assert.equal(state.recordLatency.p99Ns, 10_000);
		assert.equal(state.recordLatency.maxNs, 10_100);
		assert.equal(state.outputCount, 2);
		assert.deepEqual(state.outputs[0].counts.reduce((a, b) => a + b, 0), 100);
		assert.equal(state.outputs[0].nonFinite, 1);
		assert.deepEqual([state.outputs[1].lo, state.outputs[1].hi], [-1, 1]);
	});

	it("keeps events newest first, with the guard's reason, and ignores other applications' lines", () => {
		const model = new PanelModel("sandbox", "tcp");
		const event = (kind: "activate" | "guard", reason: "none" | "latency", app = "tcp"): ChannelLine => ({
			kind: "event", app, event: kind, reason, fromId: 5, toId: 7, modelId: 7, message: `${kind} in ${app}`, timeMs: 1,
		});
		model.onLine(event("activate", "none"), 0);
		model.onLine(event("guard", "latency"), 0);
		model.onLine(event("guard", "latency", "netfilter"), 0);
		const { events } = model.state(0);
		assert.deepEqual(events.map((e) => [e.event, e.reason]), [["guard", "latency"], ["activate", "none"]]);
	});

	it("reports the inference rate from two status reads and the active model's p50/p99", () => {
		const model = new PanelModel("sandbox", "tcp");
		model.onStatus(TCP, 0);
		assert.equal(model.state(0).inferencesPerSecond, undefined);
		const later = structuredClone(TCP);
		later.slots[1].inferences += 4000;
		model.onStatus(later, 2000);
		const state = model.state(2000);
		assert.equal(state.inferencesPerSecond, 2000);
		assert.deepEqual(state.statusLatency, { p50Ns: 1250, p99Ns: 48_000 });
		assert.deepEqual(state.slots?.map((s) => s.index), [0, 1]);
	});

	it("says the app is gone when a status read no longer lists it", () => {
		const model = new PanelModel("sandbox", "tcp");
		model.onStatus(undefined, 0);
		assert.match(model.state(0).statusError ?? "", /tcp is not registered on sandbox/);
	});
});

const ROOT = path.resolve(__dirname, "../..");
const CHROMIUM = "/usr/bin/chromium";

function browserMissing(): string | false {
	if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
	try {
		require.resolve("playwright-core");
		return false;
	} catch {
		return "playwright-core is not installed (npm ci)";
	}
}

/** Theme variables as VS Code sets them on the body (a subset), per theme kind. */
const THEMES: Record<string, { bodyClass: string; vars: string }> = {
	dark: { bodyClass: "vscode-dark", vars: "--vscode-foreground:#cccccc;--vscode-editor-background:#1f1f1f;--vscode-descriptionForeground:#9d9d9d;--vscode-charts-blue:#3794ff;--vscode-charts-purple:#b180d7;--vscode-errorForeground:#f85149;--vscode-button-background:#0078d4;--vscode-button-foreground:#fff" },
	light: { bodyClass: "vscode-light", vars: "--vscode-foreground:#3b3b3b;--vscode-editor-background:#ffffff;--vscode-descriptionForeground:#717171;--vscode-charts-blue:#1a85ff;--vscode-charts-purple:#652d90;--vscode-errorForeground:#e51400;--vscode-button-background:#005fb8;--vscode-button-foreground:#fff" },
	"high-contrast": { bodyClass: "vscode-high-contrast", vars: "--vscode-foreground:#ffffff;--vscode-editor-background:#000000;--vscode-descriptionForeground:#ffffff;--vscode-contrastActiveBorder:#f38518;--vscode-errorForeground:#f48771;--vscode-button-background:#000000;--vscode-button-foreground:#fff" },
};

/** What the kernel could send as a name: it must show as text, never become markup. */
const HOSTILE = "<img src=x onerror=\"window.__pwned=1\">evil";

describe("the Datapath webview bundle in headless Chromium under the webview CSP", { skip: browserMissing() }, () => {
	let dir: string;
	let server: http.Server;
	let origin: string;
	let browser: Browser;

	before(async () => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "knn-datapath-webview-"));
		await esbuild.build({
			entryPoints: { datapath: path.join(ROOT, "webview/datapath/main.ts") }, bundle: true, platform: "browser", format: "esm",
			target: "es2022", outdir: dir, logLevel: "silent", tsconfig: path.join(ROOT, "webview/tsconfig.json"),
		});
		const files: Record<string, [string, string]> = {
			"/datapath.js": [path.join(dir, "datapath.js"), "text/javascript"],
			"/datapath.css": [path.join(dir, "datapath.css"), "text/css"],
			"/elements.js": [path.join(ROOT, "node_modules/@vscode-elements/elements/dist/bundled.js"), "text/javascript"],
			"/codicon.css": [path.join(ROOT, "node_modules/@vscode/codicons/dist/codicon.css"), "text/css"],
			"/codicon.ttf": [path.join(ROOT, "node_modules/@vscode/codicons/dist/codicon.ttf"), "font/ttf"],
		};
		server = http.createServer((request, response) => {
			const url = new URL(request.url ?? "/", "http://127.0.0.1");
			const theme = /^\/(dark|light|high-contrast)\.html$/.exec(url.pathname)?.[1];
			const nonce = "dGVzdC1ub25jZS0xMjM0NTY";
			if (theme) {
				const csp = [`default-src 'none'`, `img-src ${origin} data:`, `style-src ${origin}`, `font-src ${origin}`, `script-src 'nonce-${nonce}'`].join("; ");
				return void response.writeHead(200, { "content-type": "text/html" }).end(`<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}"><link rel="stylesheet" href="/theme.css"><link rel="stylesheet" href="/codicon.css">
<link rel="stylesheet" href="/datapath.css"><title>Datapath</title></head><body class="${THEMES[theme].bodyClass}">
<script type="module" nonce="${nonce}" src="/elements.js"></script><script type="module" nonce="${nonce}" src="/datapath.js"></script></body></html>`);
			}
			if (url.pathname === "/favicon.ico") return void response.writeHead(204).end();
			if (url.pathname === "/theme.css") {
				const css = Object.values(THEMES).map((th) => `body.${th.bodyClass}{--vscode-font-family:sans-serif;--vscode-font-size:13px;--vscode-editor-font-family:monospace;${th.vars}}`).join("\n");
				return void response.writeHead(200, { "content-type": "text/css" }).end(css);
			}
			const file = files[url.pathname];
			if (!file || !fs.existsSync(file[0])) return void response.writeHead(404).end();
			response.writeHead(200, { "content-type": file[1] }).end(fs.readFileSync(file[0]));
		});
		await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
		origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		const { chromium } = await import("playwright-core");
		browser = await chromium.launch({
			executablePath: CHROMIUM, headless: true, env: { ...process.env, XDG_CONFIG_HOME: dir },
			args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
		});
	});

	after(async () => {
		await browser?.close();
		await new Promise((resolve) => server?.close(resolve));
		if (dir) fs.rmSync(dir, { recursive: true, force: true });
	});

	/** Polls from Node: waitForFunction would use `new Function` in the page, which the CSP refuses. */
	async function waitFor(page: Page, expression: string, what: string): Promise<void> {
		const deadline = Date.now() + 15_000;
		while (!(await page.evaluate(expression))) {
			if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
	}

	/** A state as the host posts it: built by PanelModel from status and stream lines, then through JSON. */
	function hostState(): HostToDatapathWebview {
		const model = new PanelModel("sandbox", HOSTILE);
		const hostileApp = { ...TCP, app: HOSTILE, slots: TCP.slots.map((s) => ({ ...s, name: s.active ? HOSTILE : s.name })) };
		model.onStatus(hostileApp, 0);
		for (let i = 0; i < 200; i++) model.onLine({ ...(record(5, 1000 + i * 10, [i / 200, 1 - i / 200, i === 0 ? null : 0.5]) as Extract<ChannelLine, { kind: "record" }>), app: HOSTILE }, 1000 + i);
		model.onLine({ kind: "event", app: HOSTILE, event: "guard", reason: "nan", fromId: 7, toId: 5, modelId: 7, message: `guard took ${HOSTILE} out`, timeMs: 1_700_000_000_000 }, 1500);
		model.onStreamState("streaming");
		return JSON.parse(JSON.stringify({ type: "state", state: model.state(2000), strings: { ...DATAPATH_STRINGS } }));
	}

	for (const theme of Object.keys(THEMES)) {
		it(`renders kernel names as text, slots, rate, latency, ${3} output histograms and the guard event (${theme} theme), with nothing blocked by the CSP`, async () => {
			const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
			const problems: string[] = [];
			page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
			page.on("console", (message) => { if (message.type() === "error") problems.push(`console: ${message.text()}`); });
			await page.addInitScript(`window.__posted = []; window.__csp = [];
				window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m) });
				window.__deliver = (data) => window.dispatchEvent(new MessageEvent("message", { data }));
				document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`);
			await page.goto(`${origin}/${theme}.html`);
			await waitFor(page, "window.__posted.some((m) => m.type === 'ready')", "the webview's ready");
			await page.evaluate(`window.__deliver(${JSON.stringify(hostState())})`);
			await waitFor(page, "document.querySelector('h1.app') !== null", "the first render");

			assert.equal(await page.locator("h1.app").textContent(), HOSTILE);
			assert.equal(await page.locator("tr.slot.active .model-name").textContent(), HOSTILE);
			assert.equal(await page.locator("img").count(), 0, "a name became markup");
			assert.equal(await page.evaluate("window.__pwned"), undefined);
			assert.equal(await page.locator("tr.slot").count(), 2);
			assert.equal(await page.locator("tr.slot.active .inferences").textContent(), "1,234,567");
			assert.equal(await page.locator(".output-grid .output").count(), 3);
			assert.equal(await page.locator(".output[data-index='2'] .non-finite").textContent(), "1 NaN or Inf");
			// Latencies 1000 + 10i ns, i = 0..199: nearest rank 100 is i = 99, rank 198 is i = 197.
			assert.match(await page.locator(".record-latency").textContent() ?? "", /p50 1\.99 µs · p99 2\.97 µs · max 2\.99 µs/);
			assert.deepEqual(await page.locator("li.event .event-kind").allTextContents(), ["guard"]);
			assert.equal(await page.locator("li.event .event-reason").textContent(), "nan");

			// The standby model's Activate button posts its id; Rollback posts rollback.
			await page.locator("#activate-7").click();
			await page.locator("#rollback").click();
			const posted = (await page.evaluate("window.__posted.filter((m) => m.type !== 'ready')")) as DatapathWebviewToHost[];
			assert.deepEqual(posted, [{ type: "activate", modelId: 7 }, { type: "rollback" }]);

			await page.screenshot({ path: path.join(os.tmpdir(), `knn-datapath-${theme}.png`), fullPage: true });
			problems.push(...((await page.evaluate("window.__csp")) as string[]).map((v) => `CSP blocked ${v}`));
			await page.close();
			assert.deepEqual(problems, []);
		});
	}
});
