import * as fs from "node:fs";
import * as path from "node:path";
import { installedHeaderVersions } from "../kmod/kernelHeaders";
import { downloadDeb, extractDeb } from "./debianPackages";
import { runProcess, tailLines } from "./run";
import { SandboxError, SandboxUnavailableError } from "./sandboxTypes";

/** Where Debian puts a kernel's headers, image and modules; tests point these at fake trees. */
export interface DebianKernelDirs {
	src: string;
	boot: string;
	modules: string;
}

export const SYSTEM_KERNEL_DIRS: DebianKernelDirs = { src: "/usr/src", boot: "/boot", modules: "/lib/modules" };

/** A Debian kernel whose headers are installed, so modules can be built for it. */
export interface KernelCandidate {
	release: string;
	headersDir: string;
	/** /boot/vmlinuz-RELEASE when linux-image-RELEASE is installed with its modules (modules.dep present), else null. */
	installedImage: string | null;
	modulesDir: string | null;
}

export interface KernelPick {
	candidate: KernelCandidate;
	/** Why this one, for the log: "image installed in /boot; newest of ...". */
	reason: string;
}

/** Installed headers, newest first, each with its installed image when there is one. */
export function debianKernelCandidates(dirs: DebianKernelDirs = SYSTEM_KERNEL_DIRS): KernelCandidate[] {
	return installedHeaderVersions(dirs.src).map((release) => {
		const image = path.join(dirs.boot, `vmlinuz-${release}`);
		const modulesDir = path.join(dirs.modules, release);
		const installed = fs.existsSync(image) && fs.existsSync(path.join(modulesDir, "modules.dep"));
		return { release, headersDir: path.join(dirs.src, `linux-headers-${release}`), installedImage: installed ? image : null, modulesDir: installed ? modulesDir : null };
	});
}

/**
 * The kernel the sandbox boots: the requested release, else the newest with its image installed in /boot (used in
 * place), else the newest whose image can be downloaded. `canDownload` is asked newest first and only when needed.
 */
export async function pickDebianKernel(candidates: readonly KernelCandidate[], requested: string | undefined,
	canDownload: (release: string) => Promise<boolean>): Promise<KernelPick> {
	const all = candidates.map((c) => c.release).join(", ");
	const where = (c: KernelCandidate) => c.installedImage ? `image installed in ${path.dirname(c.installedImage)}` : `image unpacked from linux-image-${c.release}`;
	if (requested !== undefined) {
		const candidate = candidates.find((c) => c.release === requested);
		if (!candidate) throw new SandboxError(`No headers for kernel ${requested} in /usr/src (installed: ${all || "none"}): install linux-headers-${requested} or choose an installed release.`);
		return { candidate, reason: `--kernel-release; ${where(candidate)}` };
	}
	const installed = candidates.find((c) => c.installedImage !== null);
	if (installed) return { candidate: installed, reason: `${where(installed)}; newest of ${all}` };
	const unavailable: string[] = [];
	for (const candidate of candidates) {
		if (await canDownload(candidate.release)) {
			const skipped = unavailable.length > 0 ? `; ${unavailable.join(", ")} not in apt's index` : "";
			return { candidate, reason: `${where(candidate)}; no image in /boot; newest of ${all}${skipped}` };
		}
		unavailable.push(candidate.release);
	}
	throw new SandboxUnavailableError(`No image for any kernel with installed headers (${all}) is in /boot or apt's index: `
		+ "install a matching pair (apt-get install linux-headers-R linux-image-R), or run `apt-get update` if the index is old.");
}

/** True when apt's index has linux-image-RELEASE (any enabled suite, backports included). */
export async function aptHasImage(release: string): Promise<boolean> {
	const result = await runProcess("apt-cache", ["show", "-q", `linux-image-${release}`]);
	return result.code === 0 && /^Package: /m.test(result.stdout);
}

/** Where debianKernel() unpacks linux-image-RELEASE. */
export function unpackedKernelDir(release: string, assetsDir: string): { root: string; image: string; modulesDir: string } {
	const root = path.join(assetsDir, `kernel-${release}`);
	return { root, image: path.join(root, "boot", `vmlinuz-${release}`), modulesDir: path.join(root, "lib", "modules", release) };
}

export function isUnpacked(release: string, assetsDir: string): boolean {
	const { image, modulesDir } = unpackedKernelDir(release, assetsDir);
	return fs.existsSync(image) && fs.existsSync(path.join(modulesDir, "modules.dep"));
}

async function depmod(root: string, release: string): Promise<void> {
	const result = await runProcess("depmod", ["-b", root, release]);
	if (result.code !== 0) {
		throw new SandboxUnavailableError(`depmod for the sandbox kernel ${release} failed in ${root}:\n${result.spawnError ?? tailLines(result.stderr, 5)}\n`
			+ "Install kmod (apt-get install kmod), then start the sandbox again.");
	}
}

/** Debian's image of `release`, downloaded and unpacked once into the assets dir (depmod runs on that copy only). */
export async function debianKernel(release: string, assetsDir: string, log: (message: string) => void): Promise<{ image: string; modulesDir: string }> {
	const { root, image, modulesDir } = unpackedKernelDir(release, assetsDir);
	if (isUnpacked(release, assetsDir)) return { image, modulesDir };
	const debs = path.join(assetsDir, "debs");
	const deb = await downloadDeb(`linux-image-${release}`, debs, log,
		`linux-image-${release} must match the installed linux-headers-${release}. If the mirror no longer has it (Debian drops old kernel ABIs `
		+ "at point releases), install a matching pair (`apt-get update && apt-get install linux-headers-amd64 linux-image-amd64`) or choose another installed release.");
	const staging = `${root}.partial-${process.pid}`;
	fs.rmSync(staging, { recursive: true, force: true });
	log(`unpacking ${path.basename(deb)}`);
	await extractDeb(deb, staging);
	await depmod(staging, release);
	fs.rmSync(root, { recursive: true, force: true });
	fs.renameSync(staging, root);
	// 70 MB that is never needed again once unpacked.
	fs.rmSync(deb, { force: true });
	return { image, modulesDir };
}
