import * as fs from "node:fs";
import * as path from "node:path";
import { debField, dependencyNames, downloadDeb, extractDeb, isPackageInstalled } from "./debianPackages";
import { GUEST_TOOLS } from "./sandboxTypes";

/** A program unpacked from a .deb and where it goes in the VM. */
export interface GuestProgram {
	/** Path inside the unpacked root. */
	unpacked: string;
	guestPath: string;
}

/** Debian's iproute2 (ip with network namespaces, tc with qdiscs) and iperf3, for real traffic inside the VM. */
export const TRAFFIC_PROGRAMS: readonly GuestProgram[] = [
	{ unpacked: "bin/ip", guestPath: GUEST_TOOLS.ip },
	{ unpacked: "sbin/tc", guestPath: GUEST_TOOLS.tc },
	{ unpacked: "usr/bin/iperf3", guestPath: GUEST_TOOLS.iperf3 },
];
const TRAFFIC_PACKAGES = ["iproute2", "iperf3"];

/** Shared libraries come in packages named lib...N; anything else a tool depends on (debconf, adduser) is for its installer. */
function isLibraryPackage(name: string): boolean {
	return /^lib.*\d/.test(name);
}

/**
 * Downloads and unpacks `packages` plus every library package they need (transitively) that the host lacks, so ldd
 * resolves the programs against the host's libraries and this root. Returns the root; a second call only checks it.
 */
export async function unpackGuestPackages(assetsDir: string, name: string, packages: readonly string[], programs: readonly GuestProgram[],
	log: (message: string) => void): Promise<string> {
	const root = path.join(assetsDir, name);
	if (programs.every((p) => fs.existsSync(path.join(root, p.unpacked)))) return root;
	const debs = path.join(assetsDir, "debs");
	const staging = `${root}.partial-${process.pid}`;
	fs.rmSync(staging, { recursive: true, force: true });
	const seen = new Set<string>();
	const queue = [...packages];
	while (queue.length > 0) {
		const packageName = queue.shift() as string;
		if (seen.has(packageName)) continue;
		seen.add(packageName);
		const deb = await downloadDeb(packageName, debs, log);
		await extractDeb(deb, staging);
		for (const dependency of dependencyNames(await debField(deb, "Depends"))) {
			if (!seen.has(dependency) && isLibraryPackage(dependency) && !await isPackageInstalled(dependency)) queue.push(dependency);
		}
	}
	fs.rmSync(root, { recursive: true, force: true });
	fs.renameSync(staging, root);
	return root;
}

export function ensureTrafficTools(assetsDir: string, log: (message: string) => void): Promise<string> {
	return unpackGuestPackages(assetsDir, "traffic", TRAFFIC_PACKAGES, TRAFFIC_PROGRAMS, log);
}
