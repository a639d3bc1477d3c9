import { terminalJson, terminalText } from "../core/util/terminalText";

// Everything the CLI prints may hold names from a model file, a config or a kernel log: control and bidi
// characters are escaped on the way out (see terminalText).

/** A line (or lines) of human-readable output on stdout. */
export function printOut(text: string): void {
	process.stdout.write(`${terminalText(text)}\n`);
}

/** A line (or lines) of progress or diagnostics on stderr. */
export function printErr(text: string): void {
	process.stderr.write(`${terminalText(text)}\n`);
}

/** JSON on stdout; still valid JSON, with the same values, after escaping. */
export function printJson(json: string): void {
	process.stdout.write(`${terminalJson(json)}\n`);
}
