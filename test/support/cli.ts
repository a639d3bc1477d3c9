import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
let built: string | undefined;

/** Bundles the CLI with the project's own build script, into a directory of this test process. */
export function cliPath(): string {
	if (!built) {
		fs.mkdirSync(path.join(ROOT, "out"), { recursive: true });
		// Inside the checkout (out/ is ignored), so the CLI finds kmod/ above itself as it does from dist/.
		const dir = fs.mkdtempSync(path.join(ROOT, "out", "cli-"));
		process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
		built = path.join(dir, "knn.js");
		execFileSync(process.execPath, [path.join(ROOT, "esbuild.mjs"), "--cli-only", built], { cwd: ROOT, stdio: "pipe" });
	}
	return built;
}

export interface CliResult {
	status: number;
	stdout: string;
	stderr: string;
	ms: number;
}

/** Runs `knn ARGS...` in a child process, as a user would. */
export function knn(...args: string[]): CliResult {
	const script = cliPath();
	const start = performance.now();
	const result = spawnSync(process.execPath, [script, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
	return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, ms: performance.now() - start };
}

/** knn ARGS... without blocking this process's event loop, so streams and timers of the test keep running. */
export function knnAsync(...args: string[]): Promise<CliResult> {
	const script = cliPath();
	const start = performance.now();
	return new Promise((resolve) => {
		const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
		let stdout = "";
		let stderr = "";
		child.stdout.setEncoding("utf8").on("data", (chunk: string) => { stdout += chunk; });
		child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
		child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr, ms: performance.now() - start }));
	});
}

export function tempDir(prefix: string): string {
	return fs.mkdtempSync(path.join(os.tmpdir(), `knn-${prefix}-`));
}
