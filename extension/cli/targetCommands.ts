import * as path from "node:path";
import { parseArgs } from "node:util";
import { type DeployReport, deploy } from "../core/deploy/deploy";
import { followKernelLog, readKernelLog } from "../core/kernelLog/follow";
import { describeKernelHealth } from "../core/kernelLog/kernelHealth";
import { type KernelLogRecord, LEVEL_NAMES, formatRecord } from "../core/kernelLog/kmsg";
import { findTemplateDir } from "../core/kmod/moduleProject";
import { prefixFromModelName, validatePrefix } from "../core/kmod/modulePrefix";
import { restartSandbox } from "../core/sandbox/sandboxVm";
import { type OpenedTarget, openTarget } from "../core/targets/openTarget";
import { parseTarget } from "../core/targets/targetSpec";
import { UsageError } from "./exitStatus";
import { readInputsFile } from "./inputsFile";
import { printJson, printOut } from "./output";
import { runtimeCacheDir } from "../core/runtime/cacheDir";

export const TARGET_USAGE = `  knn deploy MODEL --config CFG --target sandbox|ssh://user@host:port|local --inputs INPUTS.json
             [--prefix NAME] [--build-on local|target] [--kdir DIR] [--keep] [--tolerance T] [--checkpoint PREFIX]
             [--bench N] [--no-fpu] [--timeout SECONDS] [--app tcp|netfilter|NAME] [--json] [--accept-new-host-key]
             [--sandbox-dir DIR]
             (--timeout: how long the self-test may run before the module is unloaded; default 30 s + 5 ms a step;
             --app: register into that knn_core application's standby slot; with --keep, activate it once it passes)
  knn dmesg --target T [--follow] [--module NAME] [--levels] [--accept-new-host-key] [--sandbox-dir DIR]`;

function defaultSandboxDir(): string {
	return path.join(path.dirname(findTemplateDir()), ".sandbox");
}

export function openCliTarget(target: string, values: { "accept-new-host-key"?: boolean; "sandbox-dir"?: string }): OpenedTarget {
	return openTarget(parseTarget(target), {
		sandboxDir: values["sandbox-dir"] ?? defaultSandboxDir(),
		onUnknownHostKey: async (key) => {
			if (values["accept-new-host-key"]) return "accept-and-save";
			console.error(`knn: ${key.host}:${key.port} offers an unknown ${key.keyType} host key ${key.fingerprintSha256}; check it and rerun with --accept-new-host-key to trust it`);
			return "reject";
		},
		askSecret: async (kind) => {
			console.error(`knn: the target needs a ${kind}; the command line does not ask for secrets: use ssh-agent or an unencrypted key, or the VS Code extension`);
			return undefined;
		},
	});
}

export const TARGET_OPTIONS = {
	target: { type: "string" }, "accept-new-host-key": { type: "boolean" }, "sandbox-dir": { type: "string" },
} as const;

/** `inGuest`: the target is the sandbox VM, where the user-space benchmark ran in the guest. */
export function formatReport(report: DeployReport, inGuest = false): string {
	const lines = [`${report.ok ? "deployed" : "FAILED"}: module ${report.module} on ${report.target}${report.kernelRelease ? ` (${report.kernelRelease})` : ""}`];
	for (const stage of report.stages) lines.push(`  ${stage.ok ? "ok  " : "FAIL"} ${stage.name.padEnd(22)} ${String(stage.ms).padStart(6)} ms${stage.error ? `  ${stage.error.split("\n")[0]}` : ""}`);
	if (Number.isFinite(report.maxAbsError)) lines.push(`  kernel vs reference: max abs error ${report.maxAbsError.toExponential(2)}, max rel error ${report.maxRelError.toExponential(2)} (tolerance ${report.tolerance})`);
	if (report.bench) lines.push(`  in-kernel latency over ${report.bench.calls} calls: median ${report.bench.medianNs} ns, p99 ${report.bench.p99Ns} ns, min ${report.bench.minNs} ns${report.bench.simd ? `, simd=${report.bench.simd}` : ""}`);
	if (report.userBench) {
		const where = inGuest ? "in the guest" : `on ${report.target}`;
		lines.push(`  user-space same C over ${report.userBench.calls} calls: median ${report.userBench.medianNs} ns, p99 ${report.userBench.p99Ns} ns, min ${report.userBench.minNs} ns, simd=${report.userBench.simd} (${where})`);
	}
	if (report.runtime) lines.push(`  knn_core: model ${report.runtime.modelId} in the ${report.runtime.app} application, ${report.runtime.activated ? "active" : "not activated"}`);
	lines.push(`  target left with: ${report.finalState}`);
	if (report.kernelHealth) lines.push(`  target kernel: ${describeKernelHealth(report.kernelHealth)}${report.kernelHealth.action ? `; ${report.kernelHealth.action}` : ""}`);
	if (report.error) lines.push(`  error: ${report.error}`);
	return lines.join("\n");
}

export async function deployCommand(args: string[]): Promise<number> {
	const { values, positionals } = parseArgs({
		args, allowPositionals: true,
		options: {
			...TARGET_OPTIONS, config: { type: "string" }, inputs: { type: "string" }, prefix: { type: "string" }, "build-on": { type: "string", default: "local" },
			kdir: { type: "string" }, keep: { type: "boolean" }, tolerance: { type: "string", default: "1e-6" }, checkpoint: { type: "string" },
			bench: { type: "string" }, json: { type: "boolean" }, "no-fpu": { type: "boolean" }, timeout: { type: "string" }, app: { type: "string" },
		},
	});
	const modelPath = positionals[0];
	if (!modelPath || !values.config || !values.target || !values.inputs) throw new UsageError(`knn deploy needs MODEL, --config, --target and --inputs\n${TARGET_USAGE}`);
	const buildOn = values["build-on"];
	if (buildOn !== "local" && buildOn !== "target") throw new UsageError(`--build-on must be local or target, not "${buildOn}"`);
	const tolerance = Number(values.tolerance);
	if (!(tolerance >= 0)) throw new UsageError(`--tolerance must be a non-negative number, not "${values.tolerance}"`);
	const timeoutSeconds = values.timeout === undefined ? undefined : Number(values.timeout);
	if (timeoutSeconds !== undefined && !(timeoutSeconds > 0 && timeoutSeconds <= 86_400)) throw new UsageError(`--timeout must be a number of seconds above 0, at most 86400, not "${values.timeout}"`);
	// Checked before the target is opened or any folder is made.
	const prefix = validatePrefix(values.prefix ?? prefixFromModelName(path.basename(modelPath)));
	if (values.app !== undefined && !/^[A-Za-z0-9_]{1,31}$/.test(values.app)) throw new UsageError(`--app must be 1 to 31 letters, digits or underscores, not ${JSON.stringify(values.app)}`);
	const inputs = readInputsFile(values.inputs);
	const { target, remoteBuild } = openCliTarget(values.target, values);
	const controller = new AbortController();
	process.once("SIGINT", () => controller.abort());
	try {
		const report = await deploy({
			modelPath, configPath: values.config, checkpoint: values.checkpoint, inputs, target, prefix, buildOn, kdir: values.kdir, remoteBuild,
			keep: Boolean(values.keep), tolerance, app: values.app, runtimeCacheDir: runtimeCacheDir(), noFpu: values["no-fpu"] === true, extraParameters: values.bench ? [`bench=${values.bench}`] : [], signal: controller.signal,
			selftestTimeoutMs: timeoutSeconds === undefined ? undefined : Math.round(timeoutSeconds * 1000),
			onStage: values.json ? undefined : (stage, phase) => { if (phase === "start") process.stderr.write(`knn deploy: ${stage.name}...\n`); },
		});
		const health = report.kernelHealth;
		if (health && !health.ok && parseTarget(values.target).kind === "sandbox") {
			// The next deploy must not run on a kernel that oopsed or warned: boot the VM afresh.
			const sandboxDir = values["sandbox-dir"] ?? defaultSandboxDir();
			process.stderr.write(`knn deploy: the sandbox kernel was damaged (${describeKernelHealth(health)}); restarting the sandbox VM in ${sandboxDir}\n`);
			await target.close();
			try {
				await restartSandbox(sandboxDir);
				health.action = "the sandbox VM was restarted";
			} catch (error) {
				health.action = `restarting the sandbox VM failed: ${error instanceof Error ? error.message : String(error)}`;
			}
		}
		if (values.json) printJson(JSON.stringify(report));
		else printOut(formatReport(report, parseTarget(values.target).kind === "sandbox"));
		return report.ok ? 0 : 1;
	} finally {
		await target.close();
	}
}

export async function dmesgCommand(args: string[]): Promise<number> {
	const { values } = parseArgs({ args, options: { ...TARGET_OPTIONS, follow: { type: "boolean" }, module: { type: "string" }, levels: { type: "boolean" } } });
	if (!values.target) throw new UsageError(`knn dmesg needs --target\n${TARGET_USAGE}`);
	const module = values.module;
	const pattern = module ? new RegExp(`(^|[^A-Za-z0-9_])${module.replace(/[^A-Za-z0-9_]/g, "")}([^A-Za-z0-9_]|$)`) : undefined;
	const print = (records: KernelLogRecord[]) => {
		for (const record of records) {
			if (pattern && !pattern.test(record.message)) continue;
			printOut(`${values.levels ? `<${LEVEL_NAMES[record.level]}> ` : ""}${formatRecord(record)}`);
		}
	};
	const { target } = openCliTarget(values.target, values);
	try {
		if (!values.follow) {
			print(await readKernelLog(target));
			return 0;
		}
		const controller = new AbortController();
		process.once("SIGINT", () => controller.abort());
		process.once("SIGTERM", () => controller.abort());
		await followKernelLog(target, {
			signal: controller.signal,
			onRecords: print,
			onStatus: (status) => {
				if (status.kind === "disconnected") process.stderr.write(`knn dmesg: connection to ${target.description} lost (${status.error.message}); reconnecting in ${status.retryInMs} ms\n`);
				else process.stderr.write(`knn dmesg: reconnected to ${target.description}${status.lost ? `; ${status.lost} records were overwritten meanwhile` : ""}\n`);
			},
		});
		return 0;
	} finally {
		await target.close();
	}
}
