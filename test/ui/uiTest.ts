// Drives VS Code (code-server in chromium) the way a person would: the command palette, quick picks answered with the
// keyboard, webviews read from their frames, screenshots saved. Run by scripts/run-ui-test.ts, which provides the
// server, the workspace and the sandbox.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Frame, Page } from "playwright-core";

export interface UiTestOptions {
	workspace: string;
	/** The sample LSTM's model.pb inside the workspace. */
	model: string;
	/** Indigo's model.meta inside the workspace, when present. */
	indigo?: string;
	/** Aurora's saved_model.pbtxt in the workspace, when ../shared has it. */
	aurora?: string;
	/** Where screenshots go (test-results/). */
	artifacts: string;
	log: (message: string) => void;
}

export interface UiStep {
	name: string;
	ok: boolean;
	ms: number;
	detail?: string;
	screenshot?: string;
}

const QUICK_INPUT = ".quick-input-widget";

// The functions given to frame.evaluate() run in the webview's page; the project compiles without the DOM library.
declare const document: { body: { innerText: string } | null; querySelectorAll(selector: string): { length: number }; querySelector(selector: string): { textContent: string | null } | null };

async function sleep(ms: number): Promise<void> {
	await new Promise((r) => setTimeout(r, ms));
}

async function waitForWorkbench(page: Page): Promise<void> {
	await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });
	await page.waitForSelector(".part.statusbar", { timeout: 60_000 });
	// The extension host starts after the workbench renders.
	await sleep(2000);
}

async function quickInputVisible(page: Page): Promise<boolean> {
	return page.locator(QUICK_INPUT).isVisible();
}

/** F1, the command's title, Enter: as typed by a user. */
export async function runCommand(page: Page, title: string): Promise<void> {
	await page.keyboard.press("Escape");
	await page.keyboard.press("F1");
	await page.waitForSelector(`${QUICK_INPUT} .quick-input-box input`, { state: "visible", timeout: 10_000 });
	await page.keyboard.type(title, { delay: 10 });
	const row = page.locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row`, { hasText: title.replace(/^.*?: /, "") }).first();
	await row.waitFor({ state: "visible", timeout: 10_000 });
	await page.keyboard.press("Enter");
}

/** What the open quick input asks: its title, placeholder and the labels of its rows. */
async function describeQuickInput(page: Page): Promise<{ title: string; placeholder: string; value: string; rows: string[] }> {
	const widget = page.locator(QUICK_INPUT);
	const title = (await widget.locator(".quick-input-title").textContent().catch(() => "")) ?? "";
	const input = widget.locator(".quick-input-box input").first();
	const placeholder = (await input.getAttribute("placeholder").catch(() => "")) ?? "";
	const value = await input.inputValue().catch(() => "");
	const rows = await widget.locator(".quick-input-list .monaco-list-row").evaluateAll((els) => els.map((e) => (e.getAttribute("aria-label") ?? e.textContent ?? "").trim()));
	return { title: title.trim(), placeholder, value, rows };
}

/** An answer to a prompt: type a path into the file dialog, or pick the row whose label matches. */
export interface PromptAnswer {
	when: RegExp;
	pick?: RegExp;
	path?: string;
}

/**
 * Answers the quick inputs a command opens until `done` holds, each with the first answer whose `when` matches its
 * title or placeholder. Returns what was asked and answered, for the report.
 */
export async function answerPrompts(page: Page, answers: PromptAnswer[], done: () => Promise<boolean>, timeoutMs: number): Promise<string[]> {
	const transcript: string[] = [];
	const deadline = Date.now() + timeoutMs;
	let lastAnswered = "";
	while (Date.now() < deadline) {
		if (await done()) return transcript;
		if (!(await quickInputVisible(page))) {
			await sleep(300);
			continue;
		}
		await sleep(400); // let its rows arrive
		const prompt = await describeQuickInput(page);
		const asked = `${prompt.title} | ${prompt.placeholder}`;
		const answer = answers.find((a) => a.when.test(prompt.title) || a.when.test(prompt.placeholder));
		if (!answer) throw new Error(`an unexpected prompt: "${asked}", rows: ${prompt.rows.slice(0, 8).join(" / ")}`);
		if (asked === lastAnswered && (await quickInputVisible(page))) {
			await sleep(500);
			const again = await describeQuickInput(page);
			if (`${again.title} | ${again.placeholder}` === asked && again.value === prompt.value) continue;
		}
		if (answer.path) {
			await page.keyboard.press("ControlOrMeta+a");
			await page.keyboard.type(answer.path, { delay: 5 });
			await sleep(500);
			await page.keyboard.press("Enter");
			transcript.push(`"${prompt.title || prompt.placeholder}": typed ${answer.path}`);
		} else if (answer.pick) {
			const index = prompt.rows.findIndex((r) => answer.pick!.test(r));
			if (index < 0) throw new Error(`prompt "${asked}" has no row matching ${answer.pick}: ${prompt.rows.join(" / ")}`);
			for (let k = 0; k < index; k++) await page.keyboard.press("ArrowDown");
			await page.keyboard.press("Enter");
			transcript.push(`"${prompt.title || prompt.placeholder}": picked "${prompt.rows[index]}" (${index} x Down, Enter)`);
		}
		lastAnswered = asked;
		await sleep(500);
	}
	throw new Error(`timed out after ${timeoutMs / 1000} s; answered so far: ${transcript.join("; ")}`);
}

/** The frame of a webview whose page text matches `text` (webviews are nested, same-origin iframes in code-server). */
async function findWebviewFrame(page: Page, text: RegExp): Promise<Frame | undefined> {
	for (const frame of page.frames()) {
		if (frame === page.mainFrame()) continue;
		const body = await frame.evaluate(() => document.body?.innerText ?? "").catch(() => "");
		if (text.test(body)) return frame;
	}
	return undefined;
}

async function waitForWebview(page: Page, text: RegExp, timeoutMs: number, what: string): Promise<Frame> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const frame = await findWebviewFrame(page, text);
		if (frame) return frame;
		await sleep(500);
	}
	throw new Error(`${what}: no webview showed ${text} within ${timeoutMs / 1000} s`);
}

/** The inspector's own summary ("model.pb · 90 nodes · 60 drawn") and the node shapes its SVG holds. */
async function inspectorState(frame: Frame): Promise<{ summary: string; drawnSaid?: number; drawnNodes: number }> {
	return frame.evaluate(() => {
		const text = document.body?.innerText ?? "";
		const summary = /[^\n]*\d[\d,]* nodes · [\d,]+ drawn[^\n]*/.exec(text)?.[0] ?? "";
		const said = /([\d,]+) drawn/.exec(summary)?.[1];
		return { summary, drawnSaid: said ? Number(said.replace(/,/g, "")) : undefined, drawnNodes: document.querySelectorAll("svg .nodes > .node").length };
	});
}

async function step(steps: UiStep[], name: string, log: (m: string) => void, body: () => Promise<{ detail?: string; screenshot?: string } | void>): Promise<boolean> {
	const started = Date.now();
	log(`step: ${name}`);
	try {
		const result = (await body()) ?? {};
		steps.push({ name, ok: true, ms: Date.now() - started, ...result });
		log(`  ok (${((Date.now() - started) / 1000).toFixed(1)} s)${result.detail ? `: ${result.detail}` : ""}`);
		return true;
	} catch (error) {
		const detail = error instanceof Error ? error.message : String(error);
		steps.push({ name, ok: false, ms: Date.now() - started, detail });
		log(`  FAILED: ${detail}`);
		return false;
	}
}

/** The whole user journey; each step is reported, and later steps are skipped once one fails. */
export async function uiTest(page: Page, url: string, options: UiTestOptions): Promise<UiStep[]> {
	const steps: UiStep[] = [];
	const { log } = options;
	const shot = async (name: string) => {
		const file = path.join(options.artifacts, name);
		await page.screenshot({ path: file });
		return file;
	};
	const inspectorText = /nodes · [\d,]+ drawn/;
	const compareText = /Max abs error[\s\S]*(within tolerance|outside tolerance)|all values within tolerance/;

	let ok = await step(steps, "the workbench opens with the sample workspace", log, async () => {
		await page.goto(url);
		await waitForWorkbench(page);
	});

	ok &&= await step(steps, "F1 > Kernel NN: Open Graph Inspector, model picked in the file dialog, the graph is drawn", log, async () => {
		await runCommand(page, "Kernel NN: Open Graph Inspector");
		const transcript = await answerPrompts(page, [{ when: /model|open/i, path: options.model }],
			async () => (await findWebviewFrame(page, inspectorText)) !== undefined, 60_000);
		const frame = await waitForWebview(page, inspectorText, 60_000, "the graph inspector");
		await sleep(1500); // layout and fit
		const state = await inspectorState(frame);
		if (state.drawnSaid !== undefined && state.drawnSaid !== state.drawnNodes) {
			throw new Error(`the inspector says "${state.summary}" but its SVG holds ${state.drawnNodes} nodes`);
		}
		return { detail: `${transcript.join("; ") || "no prompt (model taken from the active editor)"}; "${state.summary}", ${state.drawnNodes} node shapes`, screenshot: await shot("ui-graph-inspector.png") };
	});

	if (options.indigo) {
		const indigo = options.indigo;
		ok &&= await step(steps, "Indigo's model.meta in the inspector", log, async () => {
			await page.keyboard.press("Escape");
			await runCommand(page, "View: Close All Editors");
			await sleep(500);
			await runCommand(page, "Kernel NN: Open Graph Inspector");
			const transcript = await answerPrompts(page, [{ when: /model|open/i, path: indigo }],
				async () => (await findWebviewFrame(page, /MetaGraphDef · [\d,]+ nodes · [\d,]+ drawn/)) !== undefined, 120_000);
			const frame = await waitForWebview(page, /MetaGraphDef · [\d,]+ nodes · [\d,]+ drawn/, 120_000, "the graph inspector on Indigo");
			await sleep(2500);
			const state = await inspectorState(frame);
			return { detail: `${transcript.join("; ")}; "${state.summary}", ${state.drawnNodes} node shapes`, screenshot: await shot("ui-graph-inspector-indigo.png") };
		});
		if (ok) {
			await runCommand(page, "View: Close All Editors");
			await sleep(500);
		}
	}

	if (options.aurora) {
		const aurora = options.aurora;
		ok &&= await step(steps, "Aurora's text SavedModel in the inspector, its serving_default signature button clicked", log, async () => {
			await page.keyboard.press("Escape");
			await runCommand(page, "Kernel NN: Open Graph Inspector");
			const transcript = await answerPrompts(page, [{ when: /model|open/i, path: aurora }],
				async () => (await findWebviewFrame(page, /SavedModel · [\d,]+ nodes · [\d,]+ drawn/)) !== undefined, 120_000);
			const frame = await waitForWebview(page, /SavedModel · [\d,]+ nodes · [\d,]+ drawn/, 120_000, "the graph inspector on Aurora");
			await frame.click('[data-signature="serving_default"]');
			await sleep(1500);
			const pressed = await frame.getAttribute('[data-signature="serving_default"]', "aria-pressed");
			if (pressed !== "true") throw new Error(`the serving_default button is not shown as pressed after the click (aria-pressed=${pressed})`);
			const picks = (await frame.textContent(".picks")) ?? "";
			if (!/input\/Ob/.test(picks) || !/model\/pi\/add/.test(picks)) throw new Error(`the picks bar does not show input/Ob and model/pi/add after the click: ${picks.slice(0, 200)}`);
			return { detail: `${transcript.join("; ")}; serving_default pressed, picks: ${picks.replace(/\s+/g, " ").trim().slice(0, 160)}`, screenshot: await shot("ui-graph-inspector-aurora.png") };
		});
		if (ok) {
			await runCommand(page, "View: Close All Editors");
			await sleep(500);
		}
		const tflite = path.join(path.dirname(aurora), "aurora_int_quan_model.tflite");
		if (fs.existsSync(tflite)) {
			ok &&= await step(steps, "LiteFlow's int8 Aurora .tflite in the inspector, a TANH node clicked shows its quantization", log, async () => {
				await page.keyboard.press("Escape");
				await runCommand(page, "Kernel NN: Open Graph Inspector");
				const transcript = await answerPrompts(page, [{ when: /model|open/i, path: tflite }],
					async () => (await findWebviewFrame(page, /TFLite · [\d,]+ nodes · [\d,]+ drawn/)) !== undefined, 120_000);
				const frame = await waitForWebview(page, /TFLite · [\d,]+ nodes · [\d,]+ drawn/, 120_000, "the graph inspector on Aurora int8");
				await sleep(1500);
				await frame.click('g.node[data-name="model/Tanh"]');
				await frame.waitForFunction(() => /scale 0\.00781/.test(document.querySelector(".attr-table")?.textContent ?? ""), undefined, { timeout: 30_000 });
				const row = ((await frame.textContent(".attr-table")) ?? "").replace(/\s+/g, " ").trim();
				return { detail: `${transcript.join("; ")}; model/Tanh details: ${row.slice(0, 160)}`, screenshot: await shot("ui-graph-inspector-aurora-int8.png") };
			});
			if (ok) {
				await runCommand(page, "View: Close All Editors");
				await sleep(500);
			}
		}
	}

	ok &&= await step(steps, "F1 > Kernel NN: Tail Kernel Log opens the kernel log terminal of the sandbox", log, async () => {
		await runCommand(page, "View: Close All Editors");
		await sleep(500);
		await runCommand(page, "Kernel NN: Tail Kernel Log");
		const transcript = await answerPrompts(page, [{ when: /target/i, pick: /sandbox/i }],
			async () => (await page.locator(".terminal-tab, .single-terminal-tab, .terminal-wrapper").count()) > 0, 30_000);
		return { detail: transcript.join("; ") || "no prompt (the selected target, sandbox)" };
	});

	ok &&= await step(steps, "F1 > Kernel NN: Deploy Model to Target, prompts answered by keyboard, the comparison panel shows the result", log, async () => {
		// No editor is open, so the model is asked for, as when starting from nothing.
		await runCommand(page, "Kernel NN: Deploy Model to Target");
		const transcript = await answerPrompts(page, [
			{ when: /choose the model|model to deploy|^Kernel NN: model/i, path: options.model },
			{ when: /config/i, pick: /graph\.config\.pbtxt/ },
			{ when: /inputs/i, pick: /inputs\.json/ },
			{ when: /target/i, pick: /sandbox/i },
			{ when: /model/i, path: options.model },
		], async () => (await findWebviewFrame(page, compareText)) !== undefined, 420_000);
		const frame = await waitForWebview(page, compareText, 60_000, "the comparison panel");
		await sleep(1500);
		const verdict = await frame.evaluate(() => (document.body?.innerText ?? "").split("\n").filter((l: string) => /tolerance|error|Pass|Fail/i.test(l)).slice(0, 6).join(" | "));
		await runCommand(page, "View: Hide Panel");
		await sleep(800);
		return { detail: `${transcript.join("; ")}; comparison: ${verdict}`, screenshot: await shot("ui-compare.png") };
	});

	if (ok) {
		await step(steps, "the Kernel Log terminal shows the module's self-test lines", log, async () => {
			await runCommand(page, "Terminal: Focus Terminal");
			await sleep(500);
			await runCommand(page, "View: Toggle Maximized Panel");
			await sleep(1500);
			const text = (await page.locator(".xterm-rows").allInnerTexts().catch(() => [] as string[])).join("\n");
			const selftest = text.split("\n").filter((l) => /^\[\s*\d+\.\d+\].*knn-selftest/.test(l.trim()));
			const file = await shot("ui-kernel-log.png");
			if (selftest.length === 0) throw new Error(`no knn-selftest line in the terminal; it shows: ${text.split("\n").filter(Boolean).slice(-5).join(" | ")}`);
			// A record is shown once: the same timestamped line twice is a repeated kernel log record.
			const repeated = selftest.filter((l, i) => selftest.indexOf(l) !== i);
			if (repeated.length > 0) throw new Error(`kernel log records shown more than once: ${repeated.map((l) => l.trim()).join(" | ")}`);
			return { detail: `${selftest.length} knn-selftest records visible in the terminal, none repeated`, screenshot: file };
		});
	}
	return steps;
}
