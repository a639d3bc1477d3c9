// Measures the generated math functions over every float in their domains (the unit test samples 2^24 of
// them), two processes at a time. The first thirteen take about a quarter of an hour on two cores; asin, acos and
// atanh about two minutes each, and tan, atan and asinh, over every finite float, longer.
//
//   node --import tsx bench/mathUlp.mjs [FUNCTION...]
//
// Prints, per function, the number of arguments, the worst error in ulps against glibc's double-precision
// function and where it happens, how many results are not the correctly rounded one, and the largest distance
// from glibc's float function.

import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MATH_FUNCTIONS, mathLibrarySource } from "../extension/core/codegen/mathLibrary.ts";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const wanted = process.argv.length > 2 ? process.argv.slice(2) : MATH_FUNCTIONS.filter((fn) => fn !== "pow");
for (const fn of wanted) {
	if (!MATH_FUNCTIONS.includes(fn)) {
		console.error(`Unknown function "${fn}"; choose from ${MATH_FUNCTIONS.join(", ")}.`);
		process.exit(2);
	}
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "knn-math-bench-"));
try {
	fs.writeFileSync(path.join(dir, "knn_math.c"), mathLibrarySource(MATH_FUNCTIONS));
	const harness = path.join(dir, "math_harness");
	execFileSync("gcc", ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", `-I${dir}`, path.join(root, "test/support/mathHarness.c"), "-lm", "-o", harness], { stdio: "inherit" });
	const queue = [...wanted];
	const worker = async () => {
		for (let fn = queue.shift(); fn !== undefined; fn = queue.shift()) {
			const started = Date.now();
			const { stdout } = await run(harness, ["exhaustive", fn]);
			console.log(`${stdout.trim()}\t${((Date.now() - started) / 1000).toFixed(0)} s`);
		}
	};
	console.log("function\tpoints\tmax ulp\tat\tmisrounded\tvs glibc float fn\tdomain\ttime");
	await Promise.all([worker(), worker()]);
} finally {
	fs.rmSync(dir, { recursive: true, force: true });
}
