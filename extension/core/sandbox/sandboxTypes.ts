import * as path from "node:path";
import { codedError } from "../util/errors";

/** A sandbox failure with a message the user can act on. */
export class SandboxError extends codedError("sandbox", "SandboxError") {
	override name = "SandboxError";
}

/**
 * The sandbox cannot exist on this machine as it is (a package cannot be installed, no kernel headers, not root for
 * apt-get): tests report themselves as skipped with this message instead of failing.
 */
export class SandboxUnavailableError extends SandboxError {
	override name = "SandboxUnavailableError";
}

export type Accelerator = "kvm" | "tcg";

/**
 * Which kernel the VM boots. Default: of the Debian kernels with installed linux-headers-*-amd64, the newest whose
 * image is installed in /boot, else the newest whose image apt can download.
 */
export interface KernelChoice {
	/** One of the installed /usr/src/linux-headers-RELEASE (its image from /boot, or downloaded when not installed). */
	kernelRelease?: string;
	/** A custom bzImage; needs `headersDir` (its build tree) and, unless the NIC and 9p drivers are built in, `modulesDir`. */
	kernel?: string;
	/** The kernel's build tree or headers (has .config, Module.symvers and include/config/kernel.release). */
	headersDir?: string;
	/** The kernel's installed modules (`make modules_install INSTALL_MOD_PATH=X` gives X/lib/modules/RELEASE). */
	modulesDir?: string;
}

export interface SandboxOptions extends KernelChoice {
	/** State directory: keys, known_hosts, pid file, serial log, sandbox.json. */
	dir: string;
	/** Downloaded kernel and OpenSSH; shareable between sandbox dirs. Default `<dir>/assets`. */
	assetsDir?: string;
	/** apt-get install what is missing (needs root). Default true. */
	install?: boolean;
	accel?: Accelerator | "auto";
	memoryMiB?: number;
	cpus?: number;
	/** Host port forwarded to the VM's sshd; default: a free one. */
	port?: number;
	/** Share the host's /usr read-only so modules can be built inside the VM. Default true. */
	buildShare?: boolean;
	/** Extra kernel command line words (for example slub_debug=FZPU); see debugBootOptions(). No spaces or quotes. */
	append?: string[];
	/** How long to wait for SSH after qemu starts. Default 60 s. */
	bootTimeoutMs?: number;
	/** Progress messages (downloads, boot). */
	log?: (message: string) => void;
}

/** Contents of `<dir>/sandbox.json` while the VM runs. */
export interface SandboxInfo {
	pid: number;
	host: "127.0.0.1";
	port: number;
	user: "root";
	identityFile: string;
	knownHostsFile: string;
	kernelRelease: string;
	accel: Accelerator;
	startedAt: string;
	/** The sandbox dir this VM belongs to. */
	dir: string;
	serialLog: string;
	/** Headers the running kernel was built with, as the VM's build helper sees them; null when there is no build share. */
	buildKdir: string | null;
	/** Seconds from starting qemu to the first successful SSH command. */
	bootSeconds: number;
	/** The options it was started with, so that a restart boots the same VM. */
	startOptions?: Omit<SandboxOptions, "log">;
}

export type SandboxState = "running" | "unresponsive" | "stopped";

export interface SandboxStatus {
	state: SandboxState;
	/** Present while a VM is recorded for the dir, even when it no longer answers. */
	info?: SandboxInfo;
	/** Why the state is not "running", in a sentence. */
	detail?: string;
}

export const GUEST_BUILD_HELPER = "/usr/local/bin/knn-build";
export const GUEST_WORK_ROOT = "/tmp/knn";
/**
 * Debian's iproute2 and iperf3 in the VM. Call them by these paths: busybox's shell runs its own applets (an `ip`
 * without network namespaces, a `tc` without qdiscs) before it looks in PATH.
 */
export const GUEST_TOOLS = { ip: "/usr/local/sbin/ip", tc: "/usr/local/sbin/tc", iperf3: "/usr/local/bin/iperf3" } as const;

export interface SandboxPaths {
	dir: string;
	keysDir: string;
	identityFile: string;
	hostKey: string;
	knownHostsFile: string;
	initramfs: string;
	pidFile: string;
	serialLog: string;
	qemuLog: string;
	infoFile: string;
	lockDir: string;
}

export function sandboxPaths(dir: string): SandboxPaths {
	const root = path.resolve(dir);
	const keysDir = path.join(root, "keys");
	return {
		dir: root,
		keysDir,
		identityFile: path.join(keysDir, "id_ed25519"),
		hostKey: path.join(keysDir, "ssh_host_ed25519_key"),
		knownHostsFile: path.join(root, "known_hosts"),
		initramfs: path.join(root, "initramfs.cpio.gz"),
		pidFile: path.join(root, "qemu.pid"),
		serialLog: path.join(root, "serial.log"),
		qemuLog: path.join(root, "qemu.log"),
		infoFile: path.join(root, "sandbox.json"),
		lockDir: path.join(root, ".lock"),
	};
}
