import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "../util/atomicWrite";
import { validateAppendWords } from "./debugOptions";
import { READY_MARKER, SHARE_TAGS } from "./guestScripts";
import { bzImageRelease, pickInstalledDebianKernel } from "./kernelSelection";
import { withLock } from "./lock";
import { tailLines } from "./run";
import { QEMU, type SandboxAssets, ensureSandboxAssets, writeKnownHosts } from "./sandboxAssets";
import { sshBannerAnswers, sshRun } from "./sandboxSsh";
import {
	type Accelerator, type SandboxInfo, type SandboxOptions, type SandboxPaths, type SandboxStatus, SandboxError, sandboxPaths,
} from "./sandboxTypes";

const PORT_ATTEMPTS = 5;

/** KVM only where the CPU has hardware virtualisation and /dev/kvm opens; a paravirtual /dev/kvm without vmx/svm hangs stock kernels. */
export function kvmUsable(): boolean {
	try {
		if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(fs.readFileSync("/proc/cpuinfo", "utf8"))) return false;
		fs.closeSync(fs.openSync("/dev/kvm", "r+"));
		return true;
	} catch {
		return false;
	}
}

export function chooseAccelerator(requested: Accelerator | "auto" = "auto"): Accelerator {
	if (requested === "tcg") return "tcg";
	const usable = kvmUsable();
	if (requested === "kvm" && !usable) {
		throw new SandboxError("KVM was requested but is not usable here (no vmx/svm flag in /proc/cpuinfo, or /dev/kvm cannot be opened read-write): use --accel tcg or auto.");
	}
	return usable ? "kvm" : "tcg";
}

/** A port that was free a moment ago; qemu may still lose a race for it, which start retries. */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const port = (server.address() as net.AddressInfo).port;
			server.close(() => resolve(port));
		});
	});
}

/** qemu option lists split at commas; a literal comma is doubled. */
function optionValue(value: string): string {
	return value.replace(/,/g, ",,");
}

export function qemuArgs(assets: SandboxAssets, accel: Accelerator, port: number, options: SandboxOptions): string[] {
	const { paths, kernel, shares } = assets;
	const args = [
		"-name", "knn-sandbox",
		"-machine", "pc", "-accel", accel, "-cpu", accel === "kvm" ? "host" : "max",
		"-m", String(options.memoryMiB ?? 1024), "-smp", String(options.cpus ?? Math.min(2, os.cpus().length)),
		"-nodefaults", "-display", "none", "-monitor", "none", "-serial", `file:${paths.serialLog}`,
		// A panic ends qemu instead of rebooting into the same panic.
		"-no-reboot",
		"-kernel", kernel.image, "-initrd", assets.initramfs, "-append", ["console=ttyS0", "panic=-1", ...options.append ?? []].join(" "),
		// restrict=on: the guest reaches neither the host nor the network; only the forwarded port gets in.
		"-netdev", `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`, "-device", "virtio-net-pci,netdev=net0",
		"-pidfile", paths.pidFile,
	];
	const share = (hostPath: string | null, tag: string) => {
		if (hostPath) args.push("-virtfs", `local,path=${optionValue(hostPath)},mount_tag=${tag},security_model=none,readonly=on,multidevs=remap`);
	};
	share(shares.modules, SHARE_TAGS.modules);
	share(shares.usr, SHARE_TAGS.usr);
	share(shares.headers, SHARE_TAGS.headers);
	return args;
}

/** True when `pid` is a live (not zombie) qemu started for this sandbox dir, so it is safe to signal. */
export function isSandboxQemu(pid: number, paths: SandboxPaths): boolean {
	try {
		const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
		if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
		return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(paths.pidFile);
	} catch {
		return false;
	}
}

async function waitForExit(pid: number, paths: SandboxPaths, timeoutMs: number): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (isSandboxQemu(pid, paths)) {
		if (Date.now() > deadline) return false;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return true;
}

function readPidFile(paths: SandboxPaths): number | undefined {
	try {
		const pid = Number(fs.readFileSync(paths.pidFile, "utf8").trim());
		return Number.isInteger(pid) && pid > 0 ? pid : undefined;
	} catch {
		return undefined;
	}
}

export function readSandboxInfo(dir: string): SandboxInfo | undefined {
	try {
		return JSON.parse(fs.readFileSync(sandboxPaths(dir).infoFile, "utf8")) as SandboxInfo;
	} catch {
		return undefined;
	}
}

function readTail(file: string, lines: number): string {
	try {
		return tailLines(fs.readFileSync(file, "utf8").replace(/\r/g, ""), lines) || "(nothing)";
	} catch {
		return "(nothing)";
	}
}

interface Launch {
	pid: number;
	exit: { code: number | null; signal: string | null } | undefined;
	startedAt: number;
}

function launchQemu(args: string[], paths: SandboxPaths): Launch {
	for (const file of [paths.serialLog, paths.pidFile]) fs.rmSync(file, { force: true });
	const log = fs.openSync(paths.qemuLog, "w");
	// Detached: the VM outlives `knn sandbox start`; stop finds it again through sandbox.json.
	const child = spawn(QEMU, args, { detached: true, stdio: ["ignore", log, log] });
	fs.closeSync(log);
	const launch: Launch = { pid: child.pid ?? -1, exit: undefined, startedAt: Date.now() };
	child.on("exit", (code, signal) => launch.exit = { code, signal });
	child.on("error", (error) => launch.exit = { code: null, signal: error.message });
	child.unref();
	return launch;
}

type BootOutcome = { kind: "ready"; kernelRelease: string } | { kind: "exited" } | { kind: "timeout" };

async function waitForReadyMarker(launch: Launch, paths: SandboxPaths, deadline: number): Promise<BootOutcome> {
	const pattern = new RegExp(`${READY_MARKER} kernel=(\\S+)`);
	for (;;) {
		let serial = "";
		try {
			serial = fs.readFileSync(paths.serialLog, "utf8");
		} catch {
			// qemu has not created it yet
		}
		const match = pattern.exec(serial);
		if (match) return { kind: "ready", kernelRelease: match[1] };
		if (launch.exit) return { kind: "exited" };
		if (Date.now() > deadline) return { kind: "timeout" };
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

function signal(pid: number, paths: SandboxPaths, name: NodeJS.Signals): void {
	try {
		if (isSandboxQemu(pid, paths)) process.kill(pid, name);
	} catch {
		// it exited between the check and the signal
	}
}

async function killQemu(pid: number, paths: SandboxPaths): Promise<void> {
	signal(pid, paths, "SIGTERM");
	if (await waitForExit(pid, paths, 3000)) return;
	signal(pid, paths, "SIGKILL");
	await waitForExit(pid, paths, 3000);
}

function logs(paths: SandboxPaths): string {
	return `qemu said (${paths.qemuLog}):\n${readTail(paths.qemuLog, 8)}\nLast lines of the serial console (${paths.serialLog}):\n${readTail(paths.serialLog, 25)}`;
}

/** The start options as sandbox.json keeps them: without the progress callback. */
function savedOptions(options: SandboxOptions): Omit<SandboxOptions, "log"> {
	const saved: SandboxOptions = { ...options };
	delete saved.log;
	return saved;
}

/** Boots the VM and waits until SSH with the sandbox key works. */
async function boot(assets: SandboxAssets, options: SandboxOptions): Promise<SandboxInfo> {
	const { paths } = assets;
	const log = options.log ?? (() => undefined);
	const accel = chooseAccelerator(options.accel);
	const timeoutMs = options.bootTimeoutMs ?? 60_000;
	for (let attempt = 1; ; attempt++) {
		const port = options.port ?? await freePort();
		writeKnownHosts(paths, assets.hostPublicKey, port);
		log(`booting kernel ${assets.kernel.release} (${accel}), SSH on 127.0.0.1:${port}`);
		const launch = launchQemu(qemuArgs(assets, accel, port, options), paths);
		const deadline = launch.startedAt + timeoutMs;
		const outcome = await waitForReadyMarker(launch, paths, deadline);
		if (outcome.kind === "exited") {
			const portTaken = /Could not set up host forwarding rule/.test(readTail(paths.qemuLog, 20));
			if (portTaken && options.port === undefined && attempt < PORT_ATTEMPTS) continue;
			if (portTaken) throw new SandboxError(`Port ${port} on 127.0.0.1 is already in use, so qemu cannot forward SSH to the VM: pass another --port, or none to pick a free one.`);
			throw new SandboxError(`qemu exited (${launch.exit?.code ?? launch.exit?.signal}) before the VM was up${accel === "kvm" ? "; if KVM is the problem, try --accel tcg" : ""}. ${logs(paths)}`);
		}
		if (outcome.kind === "timeout") {
			await killQemu(launch.pid, paths);
			throw new SandboxError(`The VM did not finish booting within ${timeoutMs / 1000} s (no ${READY_MARKER} on its console); the machine may be overloaded, `
				+ `so retry with a longer --timeout, or read the console below. ${logs(paths)}`);
		}
		if (outcome.kernelRelease !== assets.kernel.release) {
			await killQemu(launch.pid, paths);
			throw new SandboxError(`The VM runs kernel ${outcome.kernelRelease}, not ${assets.kernel.release} as expected from ${assets.kernel.image}: modules built for one will not load in the other.`);
		}
		const info: SandboxInfo = {
			pid: launch.pid, host: "127.0.0.1", port, user: "root",
			identityFile: paths.identityFile, knownHostsFile: paths.knownHostsFile,
			kernelRelease: outcome.kernelRelease, accel, startedAt: new Date(launch.startedAt).toISOString(),
			dir: paths.dir, serialLog: paths.serialLog,
			buildKdir: assets.shares.usr ? assets.build.kdir : null,
			bootSeconds: 0,
			startOptions: savedOptions(options),
		};
		let lastError = "";
		while (Date.now() < deadline) {
			const result = await sshRun(info, "true", { timeoutMs: Math.max(1000, Math.min(10_000, deadline - Date.now())) });
			if (result.code === 0) {
				info.bootSeconds = Math.round((Date.now() - launch.startedAt) / 100) / 10;
				writeFileAtomic(paths.infoFile, `${JSON.stringify(info, null, "\t")}\n`);
				return info;
			}
			lastError = result.spawnError ?? (result.stderr.trim() || (result.timedOut ? "ssh timed out" : `ssh exited with ${result.code}`));
			if (launch.exit) break;
			await new Promise((resolve) => setTimeout(resolve, 250));
		}
		await killQemu(launch.pid, paths);
		throw new SandboxError(`The VM booted but SSH on 127.0.0.1:${port} did not accept the sandbox key within ${timeoutMs / 1000} s (last ssh error: ${lastError}). ${logs(paths)}`);
	}
}

/** The kernel release a start with these options would boot, to decide whether a running VM can be reused. */
async function requestedRelease(options: SandboxOptions, paths: SandboxPaths): Promise<string | undefined> {
	try {
		if (options.kernel) return bzImageRelease(fs.readFileSync(options.kernel)) ?? undefined;
		return (await pickInstalledDebianKernel(options, path.resolve(options.assetsDir ?? path.join(paths.dir, "assets")))).candidate.release;
	} catch {
		// A start with these options would fail the same way, with the full message.
		return undefined;
	}
}

function sameWords(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
	return (a ?? []).join(" ") === (b ?? []).join(" ");
}

/**
 * Starts the sandbox VM in `options.dir`, or returns the one already running there when it answers SSH and runs
 * the requested kernel.
 */
export async function startSandbox(options: SandboxOptions): Promise<SandboxInfo> {
	const paths = sandboxPaths(options.dir);
	const log = options.log ?? (() => undefined);
	validateAppendWords(options.append ?? []);
	return withLock(paths.lockDir, `the sandbox in ${paths.dir}`, async () => {
		const current = await sandboxStatus(paths.dir);
		if (current.info && current.state !== "stopped") {
			const wanted = await requestedRelease(options, paths);
			const healthy = current.state === "running" && (await sshRun(current.info, "true", { timeoutMs: 15_000 })).code === 0;
			if (healthy && wanted !== undefined && wanted !== current.info.kernelRelease) {
				throw new SandboxError(`The sandbox in ${paths.dir} already runs kernel ${current.info.kernelRelease}, not ${wanted}: stop it first (knn sandbox stop --dir ${paths.dir}).`);
			}
			if (healthy && options.append !== undefined && !sameWords(options.append, current.info.startOptions?.append)) {
				throw new SandboxError(`The sandbox in ${paths.dir} was booted with kernel options "${(current.info.startOptions?.append ?? []).join(" ")}", `
					+ `not "${(options.append ?? []).join(" ")}": stop it first (knn sandbox stop --dir ${paths.dir}).`);
			}
			if (healthy) {
				log(`reusing the VM already running in ${paths.dir} (pid ${current.info.pid})`);
				return current.info;
			}
			log(`the VM in ${paths.dir} (pid ${current.info.pid}) does not answer SSH: restarting it`);
			await killQemu(current.info.pid, paths);
		}
		fs.rmSync(paths.infoFile, { force: true });
		return boot(await ensureSandboxAssets(options), options);
	});
}

/** Powers the VM off (poweroff -f over SSH), then makes sure the recorded qemu process, and only it, is gone. */
export async function stopSandbox(dir: string): Promise<{ wasRunning: boolean }> {
	const paths = sandboxPaths(dir);
	return withLock(paths.lockDir, `the sandbox in ${paths.dir}`, async () => {
		const info = readSandboxInfo(dir);
		// Without sandbox.json (a start that died half-way), qemu's own pid file still names the VM.
		const pid = info?.pid ?? readPidFile(paths);
		const wasRunning = pid !== undefined && isSandboxQemu(pid, paths);
		if (wasRunning) {
			// The connection drops as the VM dies, so ssh's exit status says nothing here.
			if (info) await sshRun(info, "poweroff -f", { timeoutMs: 5000 });
			if (!await waitForExit(pid, paths, 5000)) await killQemu(pid, paths);
		}
		fs.rmSync(paths.infoFile, { force: true });
		fs.rmSync(paths.pidFile, { force: true });
		return { wasRunning };
	}, 120_000);
}

/**
 * Stops the VM and boots it again with the options it was started with: after a kernel oops or taint the next
 * deploy then runs on a fresh kernel.
 */
export async function restartSandbox(dir: string, log?: (message: string) => void): Promise<SandboxInfo> {
	const info = readSandboxInfo(dir);
	const options: SandboxOptions = { ...(info?.startOptions ?? { kernelRelease: info?.kernelRelease }), dir, log };
	await stopSandbox(dir);
	return startSandbox(options);
}

/** running: qemu is alive and sshd sends its banner; unresponsive: alive but silent; stopped: no VM for this dir. */
export async function sandboxStatus(dir: string): Promise<SandboxStatus> {
	const paths = sandboxPaths(dir);
	const info = readSandboxInfo(dir);
	if (!info) return { state: "stopped", detail: `no VM recorded in ${paths.infoFile}` };
	if (!isSandboxQemu(info.pid, paths)) return { state: "stopped", info, detail: `qemu (pid ${info.pid}) is no longer running` };
	if (await sshBannerAnswers(info.host, info.port)) return { state: "running", info };
	return { state: "unresponsive", info, detail: `qemu (pid ${info.pid}) runs but nothing answers SSH on ${info.host}:${info.port}` };
}
