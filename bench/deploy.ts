// Deploy speed and in-kernel latency on the sandbox VM: time from `deploy` start to a verified report (VM already
// running), split by stage, and the per-inference latency the module measures over 100,000 calls, next to the
// same generated C in user space on this host. Run: npm run bench:deploy (needs ../shared/models/indigo).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compileModel } from "../extension/core/codegen/compile";
import { buildConfig, formatConfig } from "../extension/core/frontends/tf/tf2xlaConfig";
import { type DeployReport, deploy } from "../extension/core/deploy/deploy";
import { loadFrozen } from "../extension/core/model/prepare";
import { GUEST_BUILD_HELPER } from "../extension/core/sandbox/sandboxTypes";
import { sandboxStatus, startSandbox, stopSandbox } from "../extension/core/sandbox/sandboxVm";
import { SshTarget } from "../extension/core/targets/sshTarget";
import { buildHost } from "../test/support/hostBuild";
import { INDIGO_DIR, publishedIndigoInput } from "../test/support/shared";

const ROOT = path.resolve(__dirname, "..");
const FETCHES = ["global/Softmax", "global/rnn/while/Exit_2", "global/rnn/while/Exit_3"];
const CALLS = 100_000;

function table(header: string[], rows: string[][]): string {
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
	return [header, ...rows].map((cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")).join("\n");
}

async function main(): Promise<void> {
	if (!fs.existsSync(path.join(INDIGO_DIR, "model.meta"))) throw new Error(`${INDIGO_DIR}/model.meta is absent`);
	const work = fs.mkdtempSync(path.join(os.tmpdir(), "knn-bench-deploy-"));
	const dir = path.join(ROOT, ".sandbox", "bench");
	const wasRunning = (await sandboxStatus(dir)).state === "running";
	const bootStart = performance.now();
	const info = await startSandbox({ dir, assetsDir: path.join(ROOT, ".sandbox", "assets") });
	console.log(`sandbox VM (${info.accel}, ${info.kernelRelease}) ready in ${((performance.now() - bootStart) / 1000).toFixed(1)} s`);
	const { graph } = loadFrozen(path.join(INDIGO_DIR, "model.meta"), FETCHES, path.join(INDIGO_DIR, "model"));
	const feeds = [["global/Placeholder", [1, 1, 9]], ["global/Placeholder_1", [1, 32]], ["global/Placeholder_2", [1, 32]]] as const;
	const { config } = buildConfig(graph, feeds.map(([node, shape]) => ({ ref: { node, index: 0 }, shape: [...shape] })), FETCHES.map((node) => ({ ref: { node, index: 0 } })));
	const configPath = path.join(work, "graph.config.pbtxt");
	fs.writeFileSync(configPath, formatConfig(config));
	const target = new SshTarget({ host: info.host, port: info.port, user: info.user, identityFiles: [info.identityFile], agent: false, knownHostsFiles: [info.knownHostsFile], sshConfigFile: null });
	const inputs = { feeds: { "global/Placeholder": publishedIndigoInput() }, steps: 10, feedback: { "global/Placeholder_1": "global/rnn/while/Exit_2", "global/Placeholder_2": "global/rnn/while/Exit_3" } };
	const run = async (buildOn: "local" | "target", extra: string[] = []): Promise<{ report: DeployReport; ms: number }> => {
		const start = performance.now();
		const report = await deploy({
			modelPath: path.join(INDIGO_DIR, "model.meta"), checkpoint: path.join(INDIGO_DIR, "model"), configPath, inputs, target, prefix: "indigo_bench",
			buildOn, keep: false, tolerance: 1e-6, extraParameters: extra, remoteBuild: (dir) => ({ command: GUEST_BUILD_HELPER, args: [dir] }),
		});
		if (!report.ok) throw new Error(`deploy failed: ${report.error}`);
		return { report, ms: performance.now() - start };
	};
	try {
		const local = await run("local");
		const remote = await run("target");
		const stageNames = [...new Set([...local.report.stages, ...remote.report.stages].map((s) => s.name))];
		const ms = (r: DeployReport, name: string) => String(r.stages.find((s) => s.name === name)?.ms ?? "-");
		console.log("\nknn deploy of Indigo, VM already running (ms):");
		console.log(table(["stage", "build on host", "build on target"], [
			...stageNames.map((name) => [name, ms(local.report, name), ms(remote.report, name)]),
			["total, start to verified report", local.ms.toFixed(0), remote.ms.toFixed(0)],
		]));

		const bench = (await run("local", [`bench=${CALLS}`])).report.bench!;
		const model = compileModel(graph, config, "indigo_bench", "Indigo");
		const binary = buildHost(model, fs.mkdtempSync(path.join(work, "host-")));
		const words = Array.from({ length: 9 + 32 + 32 }, () => "3dcccccd").join(" ");
		const hostNs = Number(execFileSync(binary, ["bench", String(CALLS)], { input: words, encoding: "utf8" }).split(" ")[1]);
		console.log(`\nper-inference latency of Indigo, ${CALLS.toLocaleString("en")} calls:`);
		console.log(table(["where", "median ns", "p99 ns", "vs host user space"], [
			[`kernel module in the sandbox VM (${info.accel})`, String(bench.medianNs), String(bench.p99Ns), (bench.medianNs / hostNs).toFixed(1)],
			["same C in user space on this host (mean)", hostNs.toFixed(0), "-", "1.0"],
		]));
		if (info.accel === "tcg") console.log("(TCG emulates every guest instruction in software; on KVM or real hardware the module runs at host speed)");
	} finally {
		await target.close();
		if (!wasRunning) await stopSandbox(dir);
	}
}

main().catch((error: unknown) => {
	console.error(error instanceof Error ? error.message : String(error));
	process.exitCode = 1;
});
