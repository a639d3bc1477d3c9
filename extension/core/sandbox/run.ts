import { ProcessError, runLocalProcess } from "../util/processRunner";

export interface RunOptions {
	cwd?: string;
	env?: NodeJS.ProcessEnv;
	input?: string | Uint8Array;
	/** Kills the process (SIGKILL) after this long; the result then has `timedOut`. */
	timeoutMs?: number;
}

export interface RunResult {
	/** Exit code, or null when the process was killed by a signal or could not be started. */
	code: number | null;
	stdout: string;
	stderr: string;
	timedOut: boolean;
	/** Set when the program could not be started at all (for example ENOENT: not installed). */
	spawnError?: string;
}

/** Runs a program with an argument array (never through a shell) and collects its output. */
export async function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
	try {
		const result = await runLocalProcess(command, args, {
			cwd: options.cwd,
			env: { ...(options.env ?? process.env), LC_ALL: "C" },
			replaceEnv: true,
			input: options.input,
			timeoutMs: options.timeoutMs,
			killGraceMs: 0,
		});
		return { code: result.timedOut ? null : result.code, stdout: result.stdout, stderr: result.stderr, timedOut: result.timedOut };
	} catch (error) {
		if (!(error instanceof ProcessError)) throw error;
		return { code: null, stdout: "", stderr: "", timedOut: false, spawnError: error.message };
	}
}

/** The last lines of a process's output, for error messages. */
export function tailLines(text: string, count: number): string {
	const lines = text.trimEnd().split("\n");
	return lines.slice(Math.max(0, lines.length - count)).join("\n");
}
