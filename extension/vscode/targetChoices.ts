// The entries of the Select Target quick pick and the list of recent SSH targets. No `vscode` here.
import { formatTarget, parseTarget } from "../core/targets/targetSpec";

export interface TargetChoice {
	label: string;
	description?: string;
	detail?: string;
	/** The kernelNN.target value; absent for "Add SSH target...". */
	target?: string;
	picked?: boolean;
}

export const ADD_SSH_LABEL = "$(add) Add SSH Target...";

/** Sandbox, local, the recent SSH targets, then "Add SSH target..."; the current one is marked. */
export function targetChoices(current: string, recent: readonly string[], sandboxState?: string): TargetChoice[] {
	const mark = (target: string) => (normalizeTarget(target) === normalizeTarget(current) ? "current" : undefined);
	const choices: TargetChoice[] = [
		{ label: "$(vm) sandbox", target: "sandbox", description: [mark("sandbox"), sandboxState].filter(Boolean).join(", ") || undefined, detail: "A throwaway QEMU VM with Debian's kernel, over SSH on 127.0.0.1" },
		{ label: "$(device-desktop) local", target: "local", description: mark("local"), detail: "This machine: loads modules into the running kernel (needs root)" },
	];
	const ssh = [...new Set([current, ...recent].filter((t) => t.startsWith("ssh://") || t.includes("@")).map(normalizeTarget))];
	for (const target of ssh) choices.push({ label: `$(remote) ${target}`, target, description: mark(target), detail: "SSH target" });
	choices.push({ label: ADD_SSH_LABEL, detail: "ssh://user@host:port, or an alias from ~/.ssh/config" });
	return choices.map((choice) => ({ ...choice, picked: choice.target !== undefined && mark(choice.target) !== undefined }));
}

/** The canonical spelling of a target, or the text itself when it does not parse (the picker shows it anyway). */
export function normalizeTarget(text: string): string {
	try {
		return formatTarget(parseTarget(text));
	} catch {
		return text.trim();
	}
}

/** Moves an SSH target to the front of the recent list, without duplicates, keeping at most `max`. */
export function rememberTarget(recent: readonly string[], target: string, max = 8): string[] {
	const spec = normalizeTarget(target);
	if (spec === "sandbox" || spec === "local") return [...recent];
	return [spec, ...recent.filter((t) => normalizeTarget(t) !== spec)].slice(0, max);
}

/** undefined when valid, else the sentence for the InputBox. */
export function validateSshTargetText(text: string): string | undefined {
	const trimmed = text.trim();
	try {
		const spec = parseTarget(/^ssh:\/\//i.test(trimmed) || trimmed.includes("@") ? trimmed : `ssh://${trimmed}`);
		return spec.kind === "ssh" ? undefined : "Enter an SSH target such as ssh://root@192.168.1.20:22";
	} catch (error) {
		return error instanceof Error ? error.message : String(error);
	}
}

/** What the user typed as the kernelNN.target value ("host" becomes "ssh://host"). */
export function sshTargetFromText(text: string): string {
	const trimmed = text.trim();
	return formatTarget(parseTarget(/^ssh:\/\//i.test(trimmed) || trimmed.includes("@") ? trimmed : `ssh://${trimmed}`));
}
