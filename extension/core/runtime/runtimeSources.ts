import * as fs from "node:fs";
import * as path from "node:path";
import { RuntimeError } from "./runtimeError";

// The runtime's C sources ship in kmod/runtime/ at the extension's root; the compiled TypeScript sits in dist/ or,
// run from the checkout, in extension/core/runtime/, so the folder is found by walking up.

/** The folder holding core/, tcp/, netfilter/ and tools/ of the datapath runtime. */
export function findRuntimeSourceDir(start: string = __dirname): string {
	for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
		const candidate = path.join(dir, "kmod", "runtime");
		if (fs.existsSync(path.join(candidate, "core", "knn_channel.h"))) return candidate;
		if (path.dirname(dir) === dir) {
			throw new RuntimeError(`Kernel NN's runtime sources (kmod/runtime/core/knn_channel.h) are missing from ${start} and every folder above it: `
				+ "reinstall the extension or restore kmod/runtime in the checkout.");
		}
	}
}

/** The regular files directly in dir, sorted, so that hashes and copies do not depend on readdir's order. */
export function sourceFiles(dir: string): string[] {
	return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();
}

/**
 * Copies the files of sourceDir into buildDir, writing only those whose bytes differ: unchanged sources keep their
 * times, so make rebuilds nothing when nothing changed. Returns whether any file was written.
 */
export function syncSources(sourceDir: string, buildDir: string): boolean {
	fs.mkdirSync(buildDir, { recursive: true });
	let changed = false;
	for (const name of sourceFiles(sourceDir)) {
		const bytes = fs.readFileSync(path.join(sourceDir, name));
		const destination = path.join(buildDir, name);
		if (fs.existsSync(destination) && fs.readFileSync(destination).equals(bytes)) continue;
		fs.writeFileSync(destination, bytes);
		changed = true;
	}
	return changed;
}
