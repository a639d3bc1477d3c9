// Aurora's policy in float (its SavedModel, inside kernel_fpu_begin/end) and integer-only (LiteFlow's int8 .tflite,
// --no-fpu), side by side: the per-inference latency each kernel module measures in the sandbox VM, and the same
// generated C in user space on this host. Run: npm run bench:aurora (needs ../shared/models/aurora).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compileModel } from "../extension/core/codegen/compile";
import { type DeployReport, deploy } from "../extension/core/deploy/deploy";
import { buildConfig, formatConfig } from "../extension/core/frontends/tf/tf2xlaConfig";
import { loadConfigured, loadFrozen } from "../extension/core/model/prepare";
import { sandboxStatus, startSandbox, stopSandbox } from "../extension/core/sandbox/sandboxVm";
import { SshTarget } from "../extension/core/targets/sshTarget";
import { buildHost } from "../test/support/hostBuild";
import { AURORA_DIR } from "../test/support/shared";

const ROOT = path.resolve(__dirname, "..");
const CALLS = 100_000;
const TFLITE = path.join(AURORA_DIR, "aurora_int_quan_model.tflite");

function table(header: string[], rows: string[][]): string {
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
	return [header, ...rows].map((cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")).join("\n");
}

interface Variant {
	name: string;
	model: string;
	configPath: string;
	noFpu: boolean;
}

async function main(): Promise<void> {
	if (!fs.existsSync(TFLITE)) throw new Error(`${TFLITE} is absent (../shared beside the checkout)`);
	const work = fs.mkdtempSync(path.join(os.tmpdir(), "knn-bench-aurora-"));
	// One observation per inference: input/Ob [1,30] -> model/pi/add [1,1], the float policy path and the int8 file.
	const writeConfig = (model: string, file: string) => {
		const { graph } = loadFrozen(model, ["model/pi/add"]);
		const { config } = buildConfig(graph, [{ ref: { node: "input/Ob", index: 0 }, shape: [1, 30] }], [{ ref: { node: "model/pi/add", index: 0 } }]);
		fs.writeFileSync(file, formatConfig(config));
		return file;
	};
	const floatConfig = writeConfig(AURORA_DIR, path.join(work, "float.config.pbtxt"));
	const intConfig = writeConfig(TFLITE, path.join(work, "int8.config.pbtxt"));
	const variants: Variant[] = [
		{ name: "float (SavedModel, kernel_fpu_begin/end)", model: AURORA_DIR, configPath: floatConfig, noFpu: false },
		{ name: "integer only (int8 .tflite, --no-fpu)", model: TFLITE, configPath: intConfig, noFpu: true },
	];
	const dir = path.join(ROOT, ".sandbox", "bench");
	const wasRunning = (await sandboxStatus(dir)).state === "running";
	const info = await startSandbox({ dir, assetsDir: path.join(ROOT, ".sandbox", "assets") });
	const target = new SshTarget({ host: info.host, port: info.port, user: info.user, identityFiles: [info.identityFile], agent: false, knownHostsFiles: [info.knownHostsFile], sshConfigFile: null });
	const inputs = { feeds: { "input/Ob": [Array.from({ length: 30 }, (_, i) => 0.05 * (i % 7))] } };
	try {
		const rows: string[][] = [];
		for (const variant of variants) {
			const report: DeployReport = await deploy({
				modelPath: variant.model, configPath: variant.configPath, inputs, target, prefix: variant.noFpu ? "aurora_int" : "aurora_float",
				buildOn: "local", keep: false, tolerance: 1e-6, noFpu: variant.noFpu, extraParameters: [`bench=${CALLS}`],
			});
			if (!report.ok || !report.bench) throw new Error(`deploy of ${variant.name} failed: ${report.error}`);
			const { graph, parsed } = loadConfigured(variant.model, variant.configPath);
			const compiled = compileModel(graph, parsed.config, "aurora_host", variant.name, { noFpu: variant.noFpu });
			const binary = buildHost(compiled, fs.mkdtempSync(path.join(work, "host-")));
			const words = Array.from({ length: 30 }, () => (variant.noFpu ? "00800000" : "3dcccccd")).join(" ");
			const hostNs = Number(execFileSync(binary, ["bench", String(CALLS)], { input: words, encoding: "utf8" }).split(" ")[1]);
			rows.push([variant.name, String(report.bench.medianNs), String(report.bench.p99Ns), hostNs.toFixed(0)]);
		}
		console.log(`\nAurora policy, one observation per inference, ${CALLS.toLocaleString("en")} calls (kernel: sandbox VM, ${info.accel}):`);
		console.log(table(["model", "kernel median ns", "kernel p99 ns", "user space mean ns"], rows));
		console.log(`integer / float: kernel ${(Number(rows[1][1]) / Number(rows[0][1])).toFixed(2)}, user space ${(Number(rows[1][3]) / Number(rows[0][3])).toFixed(2)}`);
		if (info.accel === "tcg") console.log("(TCG emulates every guest instruction in software, floating point dearest of all; on KVM or hardware the module runs at host speed)");
	} finally {
		await target.close();
		if (!wasRunning) await stopSandbox(dir);
		fs.rmSync(work, { recursive: true, force: true });
	}
}

main().catch((error: unknown) => {
	console.error(error instanceof Error ? error.message : String(error));
	process.exitCode = 1;
});
