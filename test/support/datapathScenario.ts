// knn_core in the sandbox VM with real traffic: what the runtime's sandbox tests (one per kernel) share. Every step
// goes through the `knn` command line as a user types it; the VM's own tools (iperf3, udpprobe, /proc) count the
// other side.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseKernelConfig } from "../../extension/core/sandbox/kernelSelection";
import { installedHeaderVersions } from "../../extension/core/kmod/kernelHeaders";
import type { DeployReport } from "../../extension/core/deploy/deploy";
import type { AppStatus, ChannelLine, SlotStatus } from "../../extension/core/runtime/types";
import { type CliResult, cliPath, knnAsync } from "./cli";
import type { ModelFiles } from "./datapathModels";
import type { SandboxHandle } from "./sandbox";

/** The newest installed headers of a kernel series ("6.1.", "6.12."), or undefined. */
export function installedRelease(series: string): string | undefined {
	return installedHeaderVersions().filter((r) => r.startsWith(series)).sort((a, b) => b.localeCompare(a, "en", { numeric: true }))[0];
}

/** The kernel's config as its headers carry it. */
export function kernelConfig(release: string): Map<string, string> {
	return parseKernelConfig(fs.readFileSync(path.join("/usr/src", `linux-headers-${release}`, ".config"), "utf8"));
}

export class Datapath {
	constructor(readonly sandbox: SandboxHandle) {}

	private targetArgs(): string[] {
		return ["--target", "sandbox", "--sandbox-dir", this.sandbox.dir];
	}

	async knn(...args: string[]): Promise<CliResult> {
		return knnAsync(...args, ...this.targetArgs());
	}

	async install(): Promise<CliResult> {
		const result = await this.knn("runtime", "install");
		assert.equal(result.status, 0, `knn runtime install failed:\n${result.stdout}\n${result.stderr}`);
		return result;
	}

	async status(): Promise<AppStatus[]> {
		const result = await this.knn("runtime", "status", "--json");
		assert.equal(result.status, 0, `knn runtime status failed:\n${result.stderr}`);
		return JSON.parse(result.stdout) as AppStatus[];
	}

	async app(name: string): Promise<AppStatus> {
		const app = (await this.status()).find((a) => a.app === name);
		assert.ok(app, `knn runtime status lists no ${name} application`);
		return app;
	}

	async slot(app: string, modelId: number): Promise<SlotStatus> {
		const slot = (await this.app(app)).slots.find((s) => s.modelId === modelId);
		assert.ok(slot, `the ${app} application has no slot holding model ${modelId}`);
		return slot;
	}

	/** knn deploy MODEL --app APP --keep: the report, which must say the model was registered and activated. */
	async deploy(files: ModelFiles, app: string, prefix: string, extra: string[] = []): Promise<DeployReport & { runtime: { app: string; modelId: number; activated: boolean } }> {
		const result = await this.knn("deploy", files.model, "--config", files.config, "--inputs", files.inputs, "--prefix", prefix,
			"--app", app, "--keep", "--tolerance", "1e-5", "--json", ...extra);
		let report: DeployReport;
		try {
			report = JSON.parse(result.stdout) as DeployReport;
		} catch {
			assert.fail(`knn deploy ${prefix} printed no report (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
		}
		assert.ok(report.ok, `knn deploy ${prefix} --app ${app} failed: ${report.error}\n${JSON.stringify(report.stages)}`);
		assert.ok(report.runtime?.activated, `knn deploy ${prefix} --app ${app} did not activate the model: ${JSON.stringify(report.runtime)}`);
		return report as DeployReport & { runtime: { app: string; modelId: number; activated: boolean } };
	}

	/** `knn runtime stream --json` in the background, as a user leaves it running; stop() ends it like Ctrl-C. */
	stream(app: string): { lines: ChannelLine[]; stop: () => Promise<ChannelLine[]> } {
		const lines: ChannelLine[] = [];
		const child = spawn(process.execPath, [cliPath(), "runtime", "stream", "--app", app, "--json", ...this.targetArgs()], { stdio: ["ignore", "pipe", "pipe"] });
		let pending = "";
		let stderr = "";
		child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
			pending += chunk;
			const complete = pending.split("\n");
			pending = complete.pop() ?? "";
			for (const line of complete) if (line.trim() !== "") lines.push(JSON.parse(line) as ChannelLine);
		});
		child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
		const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
		return {
			lines,
			stop: async () => {
				child.kill("SIGINT");
				const code = await exited;
				assert.equal(code, 0, `knn runtime stream ended with ${code}:\n${stderr}`);
				return lines;
			},
		};
	}

	/** Polls status until `check` holds for the app or `ms` pass; returns the last status. */
	async waitFor(app: string, what: string, check: (status: AppStatus) => boolean, ms: number): Promise<AppStatus> {
		const deadline = Date.now() + ms;
		for (;;) {
			const status = await this.app(app);
			if (check(status)) return status;
			if (Date.now() > deadline) assert.fail(`after ${ms} ms ${what} still does not hold: ${JSON.stringify(status)}`);
			await new Promise((resolve) => setTimeout(resolve, 1000));
		}
	}

	/** Kernel warnings, oopses, BUGs, KFENCE/SLUB reports or RCU stalls in the VM's log, and the taint bits W and D. */
	async kernelProblems(): Promise<string[]> {
		const log = await this.sandbox.ssh("/usr/bin/dmesg");
		const bad = log.stdout.split("\n").filter((line) => /WARNING:|\bBUG[: ]|\bOops\b|general protection|KFENCE:|Redzone|Poison overwritten|Object padding|rcu_\w* detected stall|self-detected stall|scheduling while atomic|sleeping function called|list_(add|del) corruption|refcount_t:/.test(line));
		const taint = Number((await this.sandbox.ssh("cat /proc/sys/kernel/tainted")).stdout.trim());
		if (taint & 512) bad.push(`tainted=${taint}: W (a warning was printed)`);
		if (taint & 128) bad.push(`tainted=${taint}: D (the kernel died: oops or BUG)`);
		return bad;
	}
}

/** Every interval of a flow moved data: the flow never stalled. */
export function assertNoStall(intervals: number[], what: string): void {
	assert.ok(intervals.length > 0, `${what}: iperf3 reported no intervals`);
	const zero = intervals.map((bps, i) => ({ bps, i })).filter(({ bps }) => !(bps > 0));
	assert.deepEqual(zero, [], `${what}: intervals with zero throughput: ${zero.map((z) => z.i).join(", ")} of ${intervals.map((b) => (b / 1e6).toFixed(1)).join(" ")} Mbit/s`);
}
