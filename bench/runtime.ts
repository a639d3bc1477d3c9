// knn_core's own costs in the sandbox VM (npm run bench:runtime): what one inference through knn_core_infer costs
// next to the model alone, how long a swap takes, and how many records per second the channel carries to a reader
// in the guest without loss. In-kernel times are emulated (TCG): compare them only with each other.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { deploy } from "../extension/core/deploy/deploy";
import { runtimeCacheDir } from "../extension/core/runtime/cacheDir";
import { runtimeStatus } from "../extension/core/runtime/client";
import { installRuntime, runtimeBuildDir } from "../extension/core/runtime/install";
import { sandboxStatus, startSandbox, stopSandbox } from "../extension/core/sandbox/sandboxVm";
import { SshTarget } from "../extension/core/targets/sshTarget";
import { f32 } from "../test/support/onnxBuilder";
import { buildOnnxModel } from "../test/support/onnxBuilder";
import { writeOnnxModel } from "../test/support/datapathModels";

const ROOT = path.resolve(__dirname, "..");
const CALLS = 200_000;
const SWAPS = 1000;
const SYS = "/sys/module/knn_fix_app/parameters";
const TOOL = "/tmp/knn/runtime/knn-channel";

/** y = x W + b on two float32 values: the fixture application's shape, so the runtime's own cost dominates. */
function tinyModel(dir: string, name: string, scale: number) {
	const bytes = buildOnnxModel({
		inputs: [{ name: "x", shape: [1, 2] }], outputs: [{ name: "y", shape: [1, 2] }],
		initializers: [{ name: "W", value: f32([2, 2], [scale, 0.5, -0.25, scale]) }, { name: "b", value: f32([2], [0.125, -1]) }],
		nodes: [{ op: "MatMul", inputs: ["x", "W"], outputs: ["xw"] }, { op: "Add", inputs: ["xw", "b"], outputs: ["y"] }],
	});
	return writeOnnxModel(dir, name, bytes, { feeds: { x: [[1.5, -3]] }, steps: 1 });
}

async function main(): Promise<void> {
	const work = fs.mkdtempSync(path.join(os.tmpdir(), "knn-bench-runtime-"));
	const dir = path.join(ROOT, ".sandbox", "bench-runtime");
	const wasRunning = (await sandboxStatus(dir)).state === "running";
	const info = await startSandbox({ dir, assetsDir: path.join(ROOT, ".sandbox", "assets") });
	const target = new SshTarget({ host: info.host, port: info.port, user: info.user, identityFiles: [info.identityFile], agent: false, knownHostsFiles: [info.knownHostsFile], sshConfigFile: null });
	const sh = async (command: string) => {
		const result = await target.run("sh", ["-c", command], { timeoutMs: 900_000 });
		if (result.code !== 0) throw new Error(`${command.slice(0, 200)}: exit ${result.code}: ${result.stderr}`);
		return result.stdout.trim();
	};
	try {
		const cacheDir = runtimeCacheDir();
		const installed = await installRuntime(target, { cacheDir });
		const release = installed.kernelRelease;
		console.log(`sandbox VM (${info.accel}, ${release}); knn_core installed`);
		// The fixture application (test/support/runtime): inferences from process context, `repeat` per write.
		const fixture = path.join(work, "fixture");
		fs.cpSync(path.join(ROOT, "test", "support", "runtime"), fixture, { recursive: true });
		execFileSync("make", [`KDIR=/usr/src/linux-headers-${release}`, `KNN_CORE_DIR=${runtimeBuildDir(cacheDir, release)}`], { cwd: fixture, stdio: "pipe" });
		await target.upload(path.join(fixture, "knn_fix_app.ko"), "/tmp/knn/knn_fix_app.ko");
		await sh("lsmod | grep -q '^knn_fix_app ' || insmod /tmp/knn/knn_fix_app.ko app=fixture");

		const ids: number[] = [];
		let benchNs = 0;
		for (const [name, scale] of [["fix_a", 2], ["fix_b", 3]] as const) {
			const files = tinyModel(work, name, scale);
			const report = await deploy({
				modelPath: files.model, configPath: files.config, inputs: JSON.parse(fs.readFileSync(files.inputs, "utf8")), target, prefix: name,
				buildOn: "local", keep: true, tolerance: 1e-6, app: "fixture", runtimeCacheDir: cacheDir, extraParameters: [`bench=${100_000}`],
			});
			if (!report.ok || !report.runtime) throw new Error(`deploy ${name}: ${report.error}`);
			ids.push(report.runtime.modelId);
			benchNs = report.bench?.medianNs ?? 0;
		}

		// One inference through knn_core_infer, from a sysfs write in process context, averaged over CALLS.
		const timed = await sh(`echo ${CALLS} > ${SYS}/repeat; a=$(cut -d' ' -f1 /proc/uptime); echo 3fc00000,c0400000 > ${SYS}/infer; b=$(cut -d' ' -f1 /proc/uptime); cat ${SYS}/result; echo $a $b`);
		const [result, times] = timed.split("\n");
		const [a, b] = times.split(" ").map(Number);
		const perCallNs = ((b - a) / CALLS) * 1e9;
		const status = (await runtimeStatus(target, { app: "fixture" }))[0];
		const active = status.slots.find((s) => s.active);
		console.log("\nper inference (model: 2x2 MatMul + Add; median of the model alone from its bench=100000)");
		console.log(`  the model alone (kernel_fpu_begin/end outside the timed span): ${benchNs} ns`);
		console.log(`  FPU save + run() + restore as knn_core times it (status p50, bucket upper bound): ${active?.latencyP50Ns ?? "?"} ns`);
		console.log(`  a whole knn_core_infer call, mean of ${CALLS} (${result}):      ${perCallNs.toFixed(0)} ns`);
		console.log(`  runtime overhead per call (whole call - model alone):          ${(perCallNs - benchNs).toFixed(0)} ns`);

		// Swaps: the channel's ACTIVATE, alternating between the two models, each a knn-channel run in the guest.
		const swap = await sh(`a=$(cut -d' ' -f1 /proc/uptime); i=0; while [ $i -lt ${SWAPS} ]; do if [ $((i % 2)) -eq 0 ]; then id=${ids[0]}; else id=${ids[1]}; fi; ${TOOL} activate --app fixture --model $id >/dev/null || exit 1; i=$((i + 1)); done; b=$(cut -d' ' -f1 /proc/uptime); echo $a $b`);
		const [s0, s1] = swap.split(" ").map(Number);
		console.log(`\n${SWAPS} swaps: ${(((s1 - s0) / SWAPS) * 1e3).toFixed(2)} ms per knn-channel activate (process start, netlink round trip, the pointer swap)`);

		// Records: 3 s of back-to-back inferences at each rate limit, a knn-channel stream in the guest counting them.
		// A loss is a gap in a record's seq (the kernel's ring was full) or an overrun of the reader's socket.
		console.log("\nrecords per second carried to a reader in the guest over 3 s of sustained inferences (records_per_sec as set)");
		for (const rate of [5_000, 10_000, 20_000, 50_000, 100_000]) {
			const out = await sh([
				`echo ${rate} > /sys/module/knn_core/parameters/records_per_sec; echo 5000 > ${SYS}/repeat`,
				`${TOOL} stream --app fixture --records-only > /tmp/knn/records.jsonl & pid=$!`, "sleep 1",
				`a=$(cut -d' ' -f1 /proc/uptime); end=$(($(date +%s) + 3)); while [ $(date +%s) -lt $end ]; do echo 3fc00000,c0400000 > ${SYS}/infer; done; b=$(cut -d' ' -f1 /proc/uptime)`,
				"sleep 1; kill $pid; wait $pid 2>/dev/null",
				"echo $a $b $(grep -c '\"kind\":\"record\"' /tmp/knn/records.jsonl)"
					+ " $(grep -o '\"kind\":\"dropped\",\"app\":\"fixture\",\"count\":[0-9]*' /tmp/knn/records.jsonl | awk -F: '{s += $NF} END {print s + 0}')"
					+ " $(grep -c '\"count\":-1' /tmp/knn/records.jsonl)",
			].join("\n"));
			const [t0, t1, records, gaps, overruns] = out.split(" ").map(Number);
			console.log(`  records_per_sec=${rate}: ${records} records in ${(t1 - t0).toFixed(2)} s = ${Math.round(records / (t1 - t0))}/s; lost in the kernel ${gaps}, reader overruns ${overruns}`);
		}
		await sh(`echo 20000 > /sys/module/knn_core/parameters/records_per_sec; rmmod fix_a fix_b knn_fix_app`);
	} finally {
		await target.close();
		if (!wasRunning) await stopSandbox(dir);
		fs.rmSync(work, { recursive: true, force: true });
	}
}

main().catch((error: unknown) => {
	console.error(error instanceof Error ? error.stack : String(error));
	process.exitCode = 1;
});
