import { parseMemorySize, setMemoryLimit } from "../core/util/budget";
import { KnnError } from "../core/util/errors";

/**
 * Takes `--max-memory SIZE` (or `--max-memory=SIZE`) out of a command's arguments and sets the memory budget
 * from it; every command that evaluates a graph (inspect, config, run, compile, quantize, deploy) then runs under it.
 */
export function takeMemoryOption(args: readonly string[]): string[] {
	const rest: string[] = [];
	for (let i = 0; i < args.length; i++) {
		const arg = args[i];
		if (arg === "--max-memory") {
			if (i + 1 >= args.length) throw new KnnError("--max-memory needs a size, e.g. --max-memory 2G", "usage");
			setMemoryLimit(parseMemorySize(args[++i]));
		} else if (arg.startsWith("--max-memory=")) {
			setMemoryLimit(parseMemorySize(arg.slice("--max-memory=".length)));
		} else {
			rest.push(arg);
		}
	}
	return rest;
}

/** With KNN_REPORT_PEAK_RSS set, prints the process's peak resident memory on exit, for tests that bound it. */
export function reportPeakMemoryOnExit(): void {
	if (!process.env.KNN_REPORT_PEAK_RSS) return;
	process.on("exit", () => {
		process.stderr.write(`knn: peak RSS ${process.resourceUsage().maxRSS} KiB\n`);
	});
}
