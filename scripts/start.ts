// The second half of `npm start` (scripts/start.sh installs and builds first): starts the sandbox VM and code-server
// with Kernel NN installed and the sample workspace open, prints the URL, and stops both on Ctrl-C.
// env: KNN_PORT (default 8080, or a free port when 8080 is taken), KNN_NO_SANDBOX=1 (VS Code only)
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { type CodeServer, CODE_SERVER, ROOT, freePort, linkExtension, startCodeServer } from "./vscode/codeServer";
import { SANDBOX_ASSETS, type ScriptSandbox, startScriptSandbox } from "./vscode/sandbox";
import { prepareWorkspace } from "./vscode/workspace";

const SAMPLE_DIR = path.join(ROOT, ".kernelnn-sample");
const VSIX = path.join(ROOT, ".vscode-test", "kernel-nn.vsix");
// scripts/start.sh passes its start time, so the times printed count from `npm start`.
const started = process.env.KNN_START_T0 ? Number(process.env.KNN_START_T0) * 1000 : Date.now();
const say = (message: string) => console.log(`[npm start ${((Date.now() - started) / 1000).toFixed(0)} s] ${message}`);

async function portToUse(): Promise<number> {
	if (process.env.KNN_PORT) return Number(process.env.KNN_PORT);
	const net = await import("node:net");
	const free = await new Promise<boolean>((resolve) => {
		const probe = net.createServer().once("error", () => resolve(false)).listen(8080, "127.0.0.1", () => probe.close(() => resolve(true)));
	});
	return free ? 8080 : freePort();
}

/** Packages the extension with vsce and installs the .vsix; when that fails, links the checkout as an unpacked extension. */
async function installExtension(scratch: string, extensionsDir: string): Promise<string> {
	const run = promisify(execFile);
	const lastLines = (error: unknown) => {
		const e = error as { stderr?: string; stdout?: string; message?: string };
		return (e.stderr || e.stdout || e.message || String(error)).trim().split("\n").slice(-3).join(" ");
	};
	const vsce = path.join(ROOT, "node_modules", ".bin", "vsce");
	if (fs.existsSync(vsce)) {
		try {
			// Async, so that the sandbox keeps booting meanwhile (vsce runs the typecheck and the production build).
			await run(vsce, ["package", "--no-dependencies", "--skip-license", "--allow-missing-repository", "--out", VSIX], { cwd: ROOT });
		} catch (error) {
			say(`vsce package failed, linking the checkout instead: ${lastLines(error)}`);
			return `linked as an unpacked extension: ${linkExtension(extensionsDir)}`;
		}
		try {
			await run(CODE_SERVER, ["--install-extension", VSIX, "--extensions-dir", extensionsDir, "--user-data-dir", path.join(scratch, "ud")], {
				env: { ...process.env, XDG_CONFIG_HOME: path.join(scratch, "xc"), XDG_DATA_HOME: path.join(scratch, "xd"), TMPDIR: path.join(scratch, "t") },
			});
			return `installed from ${path.relative(ROOT, VSIX)} (vsce package)`;
		} catch (error) {
			say(`installing the .vsix failed, linking the checkout instead: ${lastLines(error)}`);
		}
	}
	return `linked as an unpacked extension: ${linkExtension(extensionsDir)}`;
}

async function main(): Promise<void> {
	// Short: code-server's Unix sockets live under it. A fresh VS Code profile each start; the workspace persists.
	const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "knn-start-"));
	for (const dir of ["t", "xc", "xd"]) fs.mkdirSync(path.join(scratch, dir), { recursive: true });
	const extensionsDir = path.join(scratch, "ext");
	let server: CodeServer | undefined;
	let sandbox: ScriptSandbox | undefined;
	let stopping = false;
	const stop = async (code: number) => {
		if (stopping) return;
		stopping = true;
		say("stopping VS Code and the sandbox");
		await server?.stop().catch(() => undefined);
		if (sandbox?.startedHere) await sandbox.stop().catch((e) => say(`stopping the sandbox: ${e}`));
		fs.rmSync(scratch, { recursive: true, force: true });
		say("stopped");
		process.exit(code);
	};
	process.on("SIGINT", () => void stop(0));
	process.on("SIGTERM", () => void stop(0));
	process.on("SIGHUP", () => void stop(0));

	try {
		const sandboxDir = path.join(ROOT, ".sandbox", "start");
		const workspace = prepareWorkspace(SAMPLE_DIR, { fixture: path.join(ROOT, "scripts", "sample-workspace"), keepExisting: true, settings: { "kernelNN.target": "sandbox", "kernelNN.sandbox.dir": sandboxDir } });
		say(`sample workspace ${path.relative(ROOT, SAMPLE_DIR)}/: lstm/model.pb${workspace.indigo ? ", indigo/model.meta" : " (Indigo: ../shared/models/indigo is absent)"}${workspace.aurora ? ", aurora/ (a SavedModel)" : " (Aurora: ../shared/models/aurora is absent)"}`);

		const sandboxStart = process.env.KNN_NO_SANDBOX === "1"
			? Promise.resolve(undefined)
			: (say(`starting the sandbox VM${fs.existsSync(SANDBOX_ASSETS) ? "" : " (the first start downloads Debian's kernel and OpenSSH)"}`),
				startScriptSandbox("start", (m) => say(`sandbox: ${m}`)));
		say(`Kernel NN ${await installExtension(scratch, extensionsDir)}`);
		const port = await portToUse();
		server = await startCodeServer({ scratch, extensionsDir, port, userSettings: { "workbench.startupEditor": "readme" } });
		sandbox = await sandboxStart;
		const url = `${server.url}/?folder=${encodeURIComponent(SAMPLE_DIR)}`;
		const vm = sandbox?.unavailable ?? sandbox?.error;
		console.log([
			"",
			"Kernel NN is running.",
			`  VS Code:   ${url}`,
			"             (code-server on 127.0.0.1 only, no password; from another machine: ssh -L " + `${port}:127.0.0.1:${port} this-host)`,
			`  Sandbox:   ${sandbox ? (vm ? `not running: ${vm}` : `${sandboxDir} (Kernel NN: Deploy Model to Target deploys to it)`) : "off (KNN_NO_SANDBOX=1)"}`,
			`  Sample:    ${SAMPLE_DIR}`,
			"  Try: F1 > Kernel NN: Open Graph Inspector, then F1 > Kernel NN: Deploy Model to Target.",
			"Press Ctrl-C to stop VS Code and the sandbox.",
			"",
		].join("\n"));
		say(`ready (code-server pid ${server.pid}, log ${server.logFile})`);
		void server.exited.then(() => {
			if (!stopping) say(`code-server exited by itself; its log: ${server?.logFile}`);
			void stop(1);
		});
	} catch (error) {
		console.error(error instanceof Error ? error.message : error);
		await stop(1);
	}
}

void main();
