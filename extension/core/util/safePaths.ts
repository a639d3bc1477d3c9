import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KnnError } from "./errors";

// Output folders named by model files, tasks or the command line are resolved and checked to stay inside the
// folder they belong to before anything is created, so "../../x" cannot write elsewhere.

/** Whether `child` (absolute, normalised) is `parent` itself or lies below it. */
export function isInside(parent: string, child: string): boolean {
	const relative = path.relative(parent, child);
	return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/**
 * `parent/...segments` resolved, or a KnnError "path" when it would leave parent (through "..", an absolute
 * segment, or a symbolic link already on disk). `what` names the folder in the sentence.
 */
export function resolveInside(parent: string, segments: readonly string[], what: string): string {
	const root = path.resolve(parent);
	const resolved = path.resolve(root, ...segments);
	const escapes = !isInside(root, resolved) || resolved === root;
	if (escapes || !isInside(realPathOfExisting(root), realPathOfExisting(resolved))) {
		throw new KnnError(`${what} ${JSON.stringify(path.join(...segments))} would lie outside ${root} (resolved: ${resolved}); `
			+ "use a plain name without \"..\", \"/\" or links pointing elsewhere.", "path");
	}
	return resolved;
}

/** The real path of the longest existing ancestor of p, with the rest of p appended. */
function realPathOfExisting(p: string): string {
	const rest: string[] = [];
	let current = p;
	for (;;) {
		try {
			return path.join(fs.realpathSync(current), ...rest.reverse());
		} catch {
			const parent = path.dirname(current);
			if (parent === current) return p;
			rest.push(path.basename(current));
			current = parent;
		}
	}
}

/** A new private folder in the system's temporary folder, named `knn-LABEL-XXXXXX`; refuses labels that are not plain. */
export function makeTempDir(label: string): string {
	if (!/^[A-Za-z0-9_-]{1,64}$/.test(label)) {
		throw new KnnError(`Cannot name a temporary folder after ${JSON.stringify(label)}: only ASCII letters, digits, _ and - are allowed.`, "path");
	}
	const root = fs.realpathSync(os.tmpdir());
	const dir = fs.mkdtempSync(path.join(root, `knn-${label}-`));
	if (!isInside(root, fs.realpathSync(dir))) {
		fs.rmSync(dir, { recursive: true, force: true });
		throw new KnnError(`The temporary folder ${dir} is not inside ${root}; check TMPDIR.`, "path");
	}
	return dir;
}
