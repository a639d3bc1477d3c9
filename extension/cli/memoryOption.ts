import { parseMemorySize, parseWorkSize, setMemoryLimit, setWorkLimit } from "../core/util/budget";
import { KnnError } from "../core/util/errors";

/** The budget flags every command that evaluates a graph takes, with how each value is read and applied. */
const BUDGET_FLAGS: { flag: string; example: string; apply: (text: string) => void }[] = [
	{ flag: "--max-memory", example: "--max-memory 2G", apply: (text) => setMemoryLimit(parseMemorySize(text)) },
	{ flag: "--max-work", example: "--max-work 2e9", apply: (text) => setWorkLimit(parseWorkSize(text)) },
];

/**
 * Takes `--max-memory SIZE` and `--max-work COUNT` (or `--flag=VALUE`) out of a command's arguments and sets the
 * budgets from them; every command that evaluates a graph (inspect, config, run, compile, quantize, deploy) then
 * runs under them.
 */
export function takeMemoryOption(args: readonly string[]): string[] {
	const rest: string[] = [];
	for (let i = 0; i < args.length; i++) {
		const arg = args[i];
		const budget = BUDGET_FLAGS.find((b) => arg === b.flag || arg.startsWith(`${b.flag}=`));
		if (!budget) {
			rest.push(arg);
		} else if (arg === budget.flag) {
			if (i + 1 >= args.length) throw new KnnError(`${budget.flag} needs a value, e.g. ${budget.example}`, "usage");
			budget.apply(args[++i]);
		} else {
			budget.apply(arg.slice(budget.flag.length + 1));
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
