import * as fs from "node:fs";
import * as path from "node:path";
import { type PackageNeed, debField, dependencyNames, downloadDeb, ensurePackages, extractDeb, isPackageInstalled } from "./debianPackages";
import type { GuestBuildConfig } from "./guestScripts";
import { TRAFFIC_PROGRAMS, ensureTrafficTools } from "./guestTools";
import { writeInitramfs } from "./initramfs";
import { type ResolvedKernel, bootModules, resolveKernel } from "./kernelSelection";
import { withLock } from "./lock";
import { runProcess, tailLines } from "./run";
import { type SandboxOptions, type SandboxPaths, SandboxError, SandboxUnavailableError, sandboxPaths } from "./sandboxTypes";

export const QEMU = "/usr/bin/qemu-system-x86_64";
const BUSYBOX = "/bin/busybox";
const HOST_DMESG = "/usr/bin/dmesg";

/** Host dirs qemu shares read-only with the VM. */
export interface SandboxShares {
	/** The kernel's full modules tree, mounted on /lib/modules/RELEASE so modprobe finds every module. */
	modules: string | null;
	/** The host's /usr (compiler, make, libc, /usr/src headers) for building inside the VM. */
	usr: string | null;
	/** A custom kernel's headers dir outside /usr. */
	headers: string | null;
}

export interface SandboxAssets {
	paths: SandboxPaths;
	kernel: ResolvedKernel;
	initramfs: string;
	shares: SandboxShares;
	build: GuestBuildConfig;
	/** The client's public key line. */
	clientPublicKey: string;
	/** The VM's host public key line (`ssh-ed25519 AAAA...`), pinned in known_hosts. */
	hostPublicKey: string;
}

function hostPackages(): PackageNeed[] {
	const needs: PackageNeed[] = [
		{ name: "qemu-system-x86", why: "runs the VM" },
		{ name: "openssh-client", why: "ssh-keygen for the VM's keys, ssh to reach it" },
		{ name: "kmod", why: "depmod for the kernel's modules" },
	];
	// Either busybox flavour works (dynamic libraries are copied too); installing -static would replace a dynamic one.
	if (!fs.existsSync(BUSYBOX)) needs.push({ name: "busybox-static", why: "the VM's shell and tools" });
	return needs;
}

/** Unpacks OpenSSH's server and sftp-server (never installed on the host, where its postinst would start an sshd). */
async function ensureOpenssh(assetsDir: string, log: (message: string) => void): Promise<string> {
	const root = path.join(assetsDir, "openssh");
	if (fs.existsSync(path.join(root, "usr/sbin/sshd")) && fs.existsSync(path.join(root, "usr/lib/openssh/sftp-server"))) return root;
	const debs = path.join(assetsDir, "debs");
	const staging = `${root}.partial-${process.pid}`;
	fs.rmSync(staging, { recursive: true, force: true });
	const server = await downloadDeb("openssh-server", debs, log);
	const sftp = await downloadDeb("openssh-sftp-server", debs, log);
	await extractDeb(server, staging);
	await extractDeb(sftp, staging);
	// Libraries sshd links that the host lacks (libwrap0 on a stock Debian 12) come unpacked as well.
	for (const name of dependencyNames(await debField(server, "Depends"))) {
		if (/^lib.*\d/.test(name) && !await isPackageInstalled(name)) await extractDeb(await downloadDeb(name, debs, log), staging);
	}
	fs.rmSync(root, { recursive: true, force: true });
	fs.renameSync(staging, root);
	return root;
}

async function keygen(file: string, comment: string): Promise<void> {
	if (fs.existsSync(file) && fs.existsSync(`${file}.pub`)) return;
	fs.rmSync(file, { force: true });
	fs.rmSync(`${file}.pub`, { force: true });
	const result = await runProcess("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
	if (result.code !== 0) {
		throw new SandboxError(`ssh-keygen could not create ${file}: ${result.spawnError ?? tailLines(result.stderr, 3)}. Install openssh-client and check that ${path.dirname(file)} is writable.`);
	}
}

/** Fresh keys per sandbox dir, made once: the client's login key and the VM's host key. */
async function ensureKeys(paths: SandboxPaths): Promise<{ clientPublicKey: string; hostPublicKey: string }> {
	fs.mkdirSync(paths.keysDir, { recursive: true, mode: 0o700 });
	await keygen(paths.identityFile, "knn-sandbox-client");
	await keygen(paths.hostKey, "knn-sandbox-host");
	const publicLine = (file: string) => fs.readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
	return { clientPublicKey: publicLine(paths.identityFile), hostPublicKey: publicLine(paths.hostKey) };
}

/** Pins the VM's host key for the forwarded port, the only host name the client will use. */
export function writeKnownHosts(paths: SandboxPaths, hostPublicKey: string, port: number): void {
	fs.writeFileSync(paths.knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`, { mode: 0o644 });
}

/** Debian 12 has a merged /usr (/bin -> usr/bin ...), so sharing /usr alone gives the VM a complete toolchain. */
function hostHasMergedUsr(): boolean {
	return ["/bin", "/lib", "/sbin"].every((dir) => {
		try {
			return fs.readlinkSync(dir).replace(/^\//, "") === `usr${dir}`;
		} catch {
			return false;
		}
	});
}

function chooseShares(options: SandboxOptions, kernel: ResolvedKernel, sharesAvailable: boolean, log: (message: string) => void): SandboxShares {
	if (!sharesAvailable) {
		log(`kernel ${kernel.release} has no virtio 9p driver: no build share and no modules share`);
		return { modules: null, usr: null, headers: null };
	}
	let usr: string | null = options.buildShare === false ? null : "/usr";
	if (usr && !hostHasMergedUsr()) {
		log("the host has no merged /usr (/bin is not a link to usr/bin): building inside the VM is off");
		usr = null;
	}
	const headersOutsideUsr = !kernel.headersDir.startsWith("/usr/");
	return { modules: kernel.modulesDir, usr, headers: usr && headersOutsideUsr ? kernel.headersDir : null };
}

/**
 * Installs what is missing (apt-get), downloads and unpacks the kernel, OpenSSH, iproute2 and iperf3, makes the keys and writes the
 * initramfs. Idempotent: a second call only rewrites the initramfs.
 */
export async function ensureSandboxAssets(options: SandboxOptions): Promise<SandboxAssets> {
	const log = options.log ?? (() => undefined);
	const paths = sandboxPaths(options.dir);
	const assetsDir = path.resolve(options.assetsDir ?? path.join(paths.dir, "assets"));
	fs.mkdirSync(paths.dir, { recursive: true });
	await ensurePackages(hostPackages(), options.install ?? true, log);
	if (!fs.existsSync(QEMU)) throw new SandboxUnavailableError(`${QEMU} is missing although qemu-system-x86 is installed: reinstall it (apt-get install --reinstall qemu-system-x86).`);
	if (!fs.existsSync(BUSYBOX)) throw new SandboxUnavailableError(`${BUSYBOX} is missing: install busybox-static (apt-get install busybox-static).`);

	const { kernel, opensshRoot, trafficRoot } = await withLock(path.join(assetsDir, ".lock"), `the sandbox assets in ${assetsDir}`, async () => ({
		kernel: await resolveKernel(options, assetsDir, log),
		opensshRoot: await ensureOpenssh(assetsDir, log),
		trafficRoot: await ensureTrafficTools(assetsDir, log),
	}));
	const modules = bootModules(kernel);
	const shares = chooseShares(options, kernel, modules.sharesAvailable, log);
	const build: GuestBuildConfig = { kernelRelease: kernel.release, kdir: kernel.headersDir, headersShare: shares.headers !== null };
	const keys = await ensureKeys(paths);
	await writeInitramfs({
		busybox: BUSYBOX,
		dmesg: fs.existsSync(HOST_DMESG) ? HOST_DMESG : null,
		opensshRoot,
		bootModules: modules.files,
		hostKey: paths.hostKey,
		authorizedKey: `${keys.clientPublicKey}\n`,
		build,
		buildShare: shares.usr !== null,
		tools: { root: trafficRoot, programs: TRAFFIC_PROGRAMS },
	}, paths.initramfs);
	return { paths, kernel, initramfs: paths.initramfs, shares, build, ...keys };
}
