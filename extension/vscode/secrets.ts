import * as vscode from "vscode";
import type { SecretKind } from "../core/targets/sshTarget";
import type { ComponentLog } from "./log";

const KEY_PREFIX = "kernelNN.ssh";

/**
 * SSH passwords and key passphrases, kept in VS Code's SecretStorage (the OS keychain), never in settings or logs.
 * A stored secret is offered first; one that the server refused is forgotten so that the next attempt asks again.
 */
export class SshSecrets {
	constructor(
		private readonly storage: vscode.SecretStorage,
		private readonly log: ComponentLog,
	) {}

	/** An askSecret for the connections of one operation, and what to do when authentication failed. */
	session(): { askSecret: (kind: SecretKind, prompt: string) => Promise<string | undefined>; authFailed: () => Promise<void> } {
		const used = new Set<string>();
		return {
			askSecret: async (kind, prompt) => {
				const key = `${KEY_PREFIX}/${kind}/${prompt}`;
				const stored = used.has(key) ? undefined : await this.storage.get(key);
				used.add(key);
				if (stored !== undefined) return stored;
				const answer = await vscode.window.showInputBox({
					title: `Kernel NN: SSH ${kind}`,
					prompt: `${prompt} (kept in VS Code's secret storage)`,
					password: true,
					ignoreFocusOut: true,
				});
				if (answer !== undefined) await this.storage.store(key, answer);
				return answer;
			},
			authFailed: async () => {
				for (const key of used) await this.storage.delete(key);
				if (used.size > 0) this.log.info(`forgot ${used.size} stored SSH secret(s) that the server refused`);
			},
		};
	}
}
