// The UI test: VS Code (code-server) with Kernel NN installed, driven from the command palette like a person would,
// with screenshots of the graph inspector and the comparison panel in test-results/. Prints "N passed, N failed".
// usage: node --import tsx scripts/run-ui-test.ts        (after `npm run build` and scripts/setup-vscode-test.sh)
// env: KNN_SANDBOX_KEEP=1 (leave the sandbox VM running), KNN_UI_HEADED=1 (show chromium; needs a display)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { uiTest } from "../test/ui/uiTest";
import { type CodeServer, ROOT, launchChromium, linkExtension, startCodeServer, runTestMain, workbenchUrl } from "./vscode/codeServer";
import { type ScriptSandbox, startScriptSandbox } from "./vscode/sandbox";
import { prepareWorkspace } from "./vscode/workspace";

const ARTIFACTS = path.join(ROOT, "test-results");

async function main(): Promise<number> {
	const started = Date.now();
	const say = (message: string) => console.log(`[run-ui-test ${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
	if (!fs.existsSync(path.join(ROOT, "dist", "extension.js"))) throw new Error("dist/extension.js is missing: run `npm run build` first.");
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "knn-ui-"));
	let server: CodeServer | undefined;
	let sandbox: ScriptSandbox | undefined;
	let closeBrowser: (() => Promise<void>) | undefined;
	const cleanUp = async () => {
		await closeBrowser?.().catch(() => undefined);
		closeBrowser = undefined;
		await server?.stop();
		server = undefined;
		if (sandbox?.startedHere && process.env.KNN_SANDBOX_KEEP !== "1") await sandbox.stop().catch((e) => say(`stopping the sandbox: ${e}`));
		sandbox = undefined;
	};
	process.once("SIGINT", () => void cleanUp().finally(() => process.exit(130)));
	process.once("SIGTERM", () => void cleanUp().finally(() => process.exit(143)));
	try {
		say("starting the sandbox VM");
		sandbox = await startScriptSandbox("ui", (m) => say(`sandbox: ${m}`));
		if (sandbox.unavailable || sandbox.error) say(`no sandbox: ${sandbox.unavailable ?? sandbox.error}`);
		const workspace = path.join(scratch, "ws");
		const prepared = prepareWorkspace(workspace, {
			fixture: path.join(ROOT, "test", "integration", "workspace"),
			settings: { "kernelNN.sandbox.dir": sandbox.dir, "kernelNN.target": "sandbox" },
		});
		const extensionsDir = path.join(scratch, "ext");
		say(`extension linked at ${linkExtension(extensionsDir)}`);
		server = await startCodeServer({ scratch, extensionsDir, userSettings: { "workbench.colorTheme": "Default Dark Modern", "terminal.integrated.gpuAcceleration": "off" } });
		say(`code-server ${server.url} (pid ${server.pid})`);
		const browser = await launchChromium(path.join(scratch, "b"), process.env.KNN_UI_HEADED !== "1");
		closeBrowser = () => browser.close();
		const page = browser.pages()[0] ?? (await browser.newPage());
		const steps = await uiTest(page, workbenchUrl(server, workspace), {
			workspace, model: prepared.lstm.model, indigo: prepared.indigo, aurora: prepared.aurora, artifacts: ARTIFACTS, log: say,
		});
		await page.screenshot({ path: path.join(ARTIFACTS, "ui-last.png") }).catch(() => undefined);
		await cleanUp();
		fs.writeFileSync(path.join(ARTIFACTS, "ui-report.json"), JSON.stringify(steps, null, 2));
		fs.rmSync(scratch, { recursive: true, force: true });
		console.log("");
		for (const s of steps) {
			console.log(`${s.ok ? "pass" : "FAIL"}  ${s.name} (${(s.ms / 1000).toFixed(1)} s)${s.screenshot ? ` -> ${path.relative(ROOT, s.screenshot)}` : ""}${!s.ok && s.detail ? `\n      ${s.detail}` : ""}`);
		}
		const failed = steps.filter((s) => !s.ok).length;
		console.log(`${steps.length - failed} passed, ${failed} failed`);
		return failed === 0 ? 0 : 1;
	} catch (error) {
		await cleanUp();
		throw error;
	}
}

runTestMain(main);
