import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { InitramfsTree } from "./cpio";
import type { GuestProgram } from "./guestTools";
import { BUILD_ROOT_ETC, type GuestBuildConfig, GUEST_PATH, buildConfigFile, buildHelper, inittab, rcS, readyScript, sshdConfig } from "./guestScripts";
import { runProcess } from "./run";
import { GUEST_BUILD_HELPER, SandboxError } from "./sandboxTypes";

export interface InitramfsSpec {
	busybox: string;
	/** util-linux dmesg (has -w/-W, which busybox's lacks), when the host has it. */
	dmesg: string | null;
	/** Root of the unpacked openssh-server and openssh-sftp-server packages (plus libraries the host lacks). */
	opensshRoot: string;
	/** Driver modules to insmod at boot, in load order. */
	bootModules: string[];
	hostKey: string;
	authorizedKey: string;
	build: GuestBuildConfig;
	/** The host's /usr is shared for building: carry the bits of the host's /etc its toolchain needs. */
	buildShare: boolean;
	/** Unpacked Debian packages (iproute2, iperf3) and the programs to carry from them, with their libraries. */
	tools?: { root: string; programs: readonly GuestProgram[] };
}

export interface SharedLibrary {
	hostPath: string;
	guestPath: string;
}

const MULTIARCH = "x86_64-linux-gnu";

/** Library search path that prefers libraries unpacked under `root` over the host's. */
export function unpackedLibraryPath(root: string): string {
	return [`${root}/usr/lib/${MULTIARCH}`, `${root}/lib/${MULTIARCH}`].join(":");
}

/** Parses ldd's output into library files; names unresolved libraries in the error. */
export function parseLdd(output: string, binary: string, unpackedRoot: string): SharedLibrary[] {
	const libraries: SharedLibrary[] = [];
	const missing: string[] = [];
	for (const line of output.split("\n")) {
		const arrow = /^\s*(\S+) => (\S+)/.exec(line);
		const direct = /^\s*(\/\S+) \(0x/.exec(line);
		if (arrow && arrow[2] === "not") missing.push(arrow[1]);
		const hostPath = arrow && arrow[2].startsWith("/") ? arrow[2] : direct?.[1];
		if (!hostPath) continue;
		const guestPath = hostPath.startsWith(`${unpackedRoot}/`) ? hostPath.slice(unpackedRoot.length) : hostPath;
		libraries.push({ hostPath, guestPath });
	}
	if (missing.length > 0) {
		throw new SandboxError(`${binary} needs ${missing.join(", ")}, found neither on the host nor in ${unpackedRoot}: `
			+ "install the Debian package that provides it (apt-file search NAME), or delete the assets dir so the sandbox unpacks its libraries again.");
	}
	return libraries;
}

async function sharedLibraries(binary: string, unpackedRoot: string): Promise<SharedLibrary[]> {
	const result = await runProcess("ldd", [binary], { env: { ...process.env, LD_LIBRARY_PATH: unpackedLibraryPath(unpackedRoot) } });
	if (/not a dynamic executable/.test(result.stdout + result.stderr)) return [];
	const versionError = /version `[^']+' not found[^\n]*/.exec(result.stderr + result.stdout);
	if (result.code !== 0 || versionError) {
		throw new SandboxError(`Cannot resolve the libraries of ${binary} (ldd): ${versionError?.[0] ?? result.spawnError ?? result.stderr.trim()}. `
			+ "Upgrade the host's libraries (apt-get upgrade) so they match the unpacked OpenSSH, then start the sandbox again.");
	}
	return parseLdd(result.stdout, binary, unpackedRoot);
}

async function addProgram(tree: InitramfsTree, hostPath: string, guestPath: string, unpackedRoot: string): Promise<void> {
	tree.copy(hostPath, guestPath, 0o755);
	for (const library of await sharedLibraries(hostPath, unpackedRoot)) {
		if (!tree.has(library.guestPath)) tree.copy(library.hostPath, library.guestPath, 0o755);
	}
}

async function busyboxApplets(busybox: string): Promise<string[]> {
	const result = await runProcess(busybox, ["--list-full"]);
	if (result.code !== 0) throw new SandboxError(`${busybox} --list-full failed: ${result.spawnError ?? result.stderr.trim()}. Reinstall busybox-static.`);
	return result.stdout.split("\n").map((line) => line.trim()).filter((line) => line !== "");
}

/**
 * /etc for the build chroot: Debian reaches awk, cc and friends through /etc/alternatives, and ld.so.cache saves
 * every exec a round of lookups over 9p. The rest of the host's /etc (keys, passwords) stays out of the VM.
 */
function addBuildRootEtc(tree: InitramfsTree): void {
	const root = `${BUILD_ROOT_ETC}/alternatives`;
	tree.dir(root);
	for (const name of fs.existsSync("/etc/alternatives") ? fs.readdirSync("/etc/alternatives") : []) {
		try {
			tree.symlink(`${root}/${name}`, fs.readlinkSync(path.join("/etc/alternatives", name)));
		} catch {
			// not a symlink: nothing a toolchain looks up
		}
	}
	if (fs.existsSync("/etc/ld.so.cache")) tree.copy("/etc/ld.so.cache", `${BUILD_ROOT_ETC}/ld.so.cache`, 0o644);
	tree.file(`${BUILD_ROOT_ETC}/passwd`, "root:x:0:0:root:/tmp:/bin/sh\n");
	tree.file(`${BUILD_ROOT_ETC}/group`, "root:x:0:\n");
}

/** Everything the VM runs from RAM: busybox, OpenSSH, keys, NIC drivers and the boot scripts. */
export async function initramfsTree(spec: InitramfsSpec): Promise<InitramfsTree> {
	const tree = new InitramfsTree();
	for (const dir of ["proc", "sys", "dev", "tmp", "run", "mnt", "var/log", "usr/local/bin", "etc/init.d", "etc/knn", "lib/knn-boot"]) tree.dir(dir);
	tree.dir("tmp", 0o1777);
	// The kernel opens /dev/console for init before anything mounts devtmpfs.
	tree.charDevice("dev/console", 5, 1, 0o600).charDevice("dev/null", 1, 3, 0o666);

	await addProgram(tree, spec.busybox, "bin/busybox", spec.opensshRoot);
	for (const applet of await busyboxApplets(spec.busybox)) {
		if (applet !== "bin/busybox" && !tree.has(applet)) tree.symlink(applet, "/bin/busybox");
	}
	tree.symlink("init", "/bin/busybox");
	if (spec.dmesg) await addProgram(tree, spec.dmesg, "usr/bin/dmesg", spec.opensshRoot);

	const sshd = path.join(spec.opensshRoot, "usr/sbin/sshd");
	const sftpServer = path.join(spec.opensshRoot, "usr/lib/openssh/sftp-server");
	await addProgram(tree, sshd, "usr/sbin/sshd", spec.opensshRoot);
	await addProgram(tree, sftpServer, "usr/lib/openssh/sftp-server", spec.opensshRoot);
	tree.file("etc/ssh/sshd_config", sshdConfig());
	tree.copy(spec.hostKey, "etc/ssh/ssh_host_ed25519_key", 0o600);
	tree.dir("run/sshd", 0o755);
	if (spec.tools) {
		const { root, programs } = spec.tools;
		for (const program of programs) await addProgram(tree, path.join(root, program.unpacked), program.guestPath, root);
	}

	tree.dir("root", 0o700).dir("root/.ssh", 0o700);
	tree.file("root/.ssh/authorized_keys", spec.authorizedKey, 0o600);
	tree.file("root/.ssh/environment", `PATH=${GUEST_PATH}\n`, 0o600);
	tree.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/bin/false\n");
	tree.file("etc/group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n");
	tree.file("etc/shells", "/bin/sh\n/bin/ash\n");

	const names = spec.bootModules.map((file) => {
		const name = path.basename(file);
		tree.copy(file, `lib/knn-boot/${name}`, 0o644);
		return name;
	});
	tree.file("etc/knn/boot-modules", names.map((n) => `${n}\n`).join(""));
	tree.file("etc/knn/build.conf", buildConfigFile(spec.build));
	tree.file(GUEST_BUILD_HELPER, buildHelper(), 0o755);
	if (spec.buildShare) addBuildRootEtc(tree);
	tree.file("etc/inittab", inittab());
	tree.file("etc/init.d/rcS", rcS(spec.build), 0o755);
	tree.file("etc/init.d/ready", readyScript(), 0o755);
	return tree;
}

/** Writes the gzip-compressed initramfs to `out` (atomically: a VM may be booting from the old one). */
export async function writeInitramfs(spec: InitramfsSpec, out: string): Promise<number> {
	const archive = gzipSync((await initramfsTree(spec)).toCpio(), { level: 6 });
	const temp = `${out}.${process.pid}.tmp`;
	fs.writeFileSync(temp, archive);
	fs.renameSync(temp, out);
	return archive.length;
}
