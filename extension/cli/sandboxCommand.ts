import { spawn } from "node:child_process";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { findTemplateDir } from "../core/kmod/moduleProject";
import { sshArgs } from "../core/sandbox/sandboxSsh";
import { type Accelerator, type SandboxInfo, GUEST_BUILD_HELPER, GUEST_WORK_ROOT, SandboxError } from "../core/sandbox/sandboxTypes";
import { readSandboxInfo, sandboxStatus, startSandbox, stopSandbox } from "../core/sandbox/sandboxVm";
import { UsageError, reportFailure } from "./exitStatus";
import { printErr } from "./output";

export const SANDBOX_USAGE = `knn sandbox: a disposable QEMU VM running Debian's kernel, reachable over SSH on 127.0.0.1

  knn sandbox start  [--dir DIR] [--json] [--kernel-release RELEASE]
                     [--kernel BZIMAGE --headers-dir BUILD_DIR [--modules-dir LIB_MODULES_DIR]]
                     [--memory MIB] [--cpus N] [--port PORT] [--accel auto|kvm|tcg] [--no-build-share]
                     [--timeout SECONDS] [--assets-dir DIR] [--no-install] [--append WORD]...
  knn sandbox stop   [--dir DIR] [--json]
  knn sandbox status [--dir DIR] [--json]      exit status 0 when running, 3 when not
  knn sandbox ssh    [--dir DIR] [--] [COMMAND...]

The kernel: --kernel-release RELEASE (one with /usr/src/linux-headers-RELEASE), else the newest whose image is
installed in /boot, else the newest whose image apt can download. --append adds one kernel command line word, for
example --append slub_debug=FZPU --append kfence.sample_interval=1.
DIR defaults to .sandbox in the Kernel NN checkout. Inside the VM, ${GUEST_BUILD_HELPER} ${GUEST_WORK_ROOT}/NAME
builds a module project uploaded there with the host's compiler and headers (shared read-only).`;


function defaultDir(): string {
	try {
		return path.join(path.dirname(findTemplateDir()), ".sandbox");
	} catch {
		return path.resolve(".sandbox");
	}
}

/** How a user types it: display only, the sandbox itself never runs a shell string. */
function shellQuote(arg: string): string {
	return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

function positiveInteger(value: string | undefined, flag: string): number | undefined {
	if (value === undefined) return undefined;
	const number = Number(value);
	if (!Number.isInteger(number) || number <= 0) throw new UsageError(`${flag} needs a positive whole number, not "${value}"`);
	return number;
}

function describe(info: SandboxInfo): string {
	return [
		`sandbox running in ${info.dir}: kernel ${info.kernelRelease} (${info.accel}), qemu pid ${info.pid}, SSH up ${info.bootSeconds} s after start`,
		`  ssh: ssh ${sshArgs(info).map(shellQuote).join(" ")}`,
		info.buildKdir
			? `  build inside the VM: upload a module project to ${GUEST_WORK_ROOT}/NAME, then run ${GUEST_BUILD_HELPER} ${GUEST_WORK_ROOT}/NAME`
			: "  no build share: build modules on the host against the matching headers",
	].join("\n");
}

async function start(args: string[]): Promise<number> {
	const { values } = parseArgs({
		args,
		options: {
			dir: { type: "string" }, json: { type: "boolean" }, "kernel-release": { type: "string" }, kernel: { type: "string" },
			"headers-dir": { type: "string" }, "modules-dir": { type: "string" }, memory: { type: "string" }, cpus: { type: "string" },
			port: { type: "string" }, accel: { type: "string", default: "auto" }, "no-build-share": { type: "boolean" },
			timeout: { type: "string" }, "assets-dir": { type: "string" }, "no-install": { type: "boolean" },
			append: { type: "string", multiple: true },
		},
	});
	const accel = values.accel;
	if (accel !== "auto" && accel !== "kvm" && accel !== "tcg") throw new UsageError(`--accel must be auto, kvm or tcg, not "${accel}"`);
	if (values.kernel && values["kernel-release"]) throw new UsageError("give either --kernel-release (Debian's kernel) or --kernel (your bzImage), not both");
	const timeout = positiveInteger(values.timeout, "--timeout");
	const info = await startSandbox({
		dir: values.dir ?? defaultDir(),
		assetsDir: values["assets-dir"],
		kernelRelease: values["kernel-release"],
		kernel: values.kernel,
		headersDir: values["headers-dir"],
		modulesDir: values["modules-dir"],
		memoryMiB: positiveInteger(values.memory, "--memory"),
		cpus: positiveInteger(values.cpus, "--cpus"),
		port: positiveInteger(values.port, "--port"),
		accel: accel as Accelerator | "auto",
		buildShare: !values["no-build-share"],
		install: !values["no-install"],
		bootTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
		append: values.append,
		log: (message) => console.error(`knn sandbox: ${message}`),
	});
	console.log(values.json ? JSON.stringify(info, null, 2) : describe(info));
	return 0;
}

async function stop(args: string[]): Promise<number> {
	const { values } = parseArgs({ args, options: { dir: { type: "string" }, json: { type: "boolean" } } });
	const dir = values.dir ?? defaultDir();
	const { wasRunning } = await stopSandbox(dir);
	if (values.json) console.log(JSON.stringify({ state: "stopped", wasRunning }));
	else console.log(wasRunning ? `sandbox in ${dir} stopped` : `no sandbox was running in ${dir}`);
	return 0;
}

async function status(args: string[]): Promise<number> {
	const { values } = parseArgs({ args, options: { dir: { type: "string" }, json: { type: "boolean" } } });
	const dir = values.dir ?? defaultDir();
	const current = await sandboxStatus(dir);
	if (values.json) console.log(JSON.stringify(current, null, 2));
	else if (current.state === "running" && current.info) console.log(describe(current.info));
	else console.log(`sandbox in ${dir}: ${current.state}${current.detail ? ` (${current.detail})` : ""}`);
	return current.state === "running" ? 0 : 3;
}

async function ssh(args: string[]): Promise<number> {
	// Everything after the options is the remote command, dashes included (`knn sandbox ssh uname -r`).
	const rest = [...args];
	let dir = defaultDir();
	for (;;) {
		if (rest[0] === "--dir" && rest.length > 1) dir = rest.splice(0, 2)[1];
		else if (rest[0]?.startsWith("--dir=")) dir = (rest.shift() as string).slice("--dir=".length);
		else break;
	}
	if (rest[0] === "--") rest.shift();
	const info = readSandboxInfo(dir);
	if (!info) throw new SandboxError(`No sandbox is running in ${dir}: start one with \`knn sandbox start --dir ${dir}\`.`);
	const child = spawn("ssh", [...sshArgs(info), ...rest], { stdio: "inherit" });
	return new Promise((resolve) => {
		child.on("error", (error) => {
			console.error(`knn sandbox ssh: ${error.message}`);
			resolve(1);
		});
		child.on("close", (code) => resolve(code ?? 1));
	});
}

const SUBCOMMANDS: Record<string, (args: string[]) => Promise<number>> = { start, stop, status, ssh };

/**
 * `knn sandbox SUBCOMMAND ...`. Asynchronous, unlike knn's other commands: the caller must await it and use the
 * resolved number as the exit code. Never rejects.
 */
export async function sandbox(args: string[]): Promise<number> {
	const [subcommand, ...rest] = args;
	if (!subcommand || subcommand === "--help" || subcommand === "-h" || subcommand === "help") {
		console.log(SANDBOX_USAGE);
		return subcommand ? 0 : 2;
	}
	const handler = SUBCOMMANDS[subcommand];
	if (!handler) {
		printErr(`knn sandbox: unknown subcommand "${subcommand}"\n\n${SANDBOX_USAGE}`);
		return 2;
	}
	try {
		return await handler(rest);
	} catch (error) {
		return reportFailure(`knn sandbox ${subcommand}`, error, SANDBOX_USAGE);
	}
}
