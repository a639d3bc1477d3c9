import * as vscode from "vscode";
import { readSandboxInfo } from "../core/sandbox/sandboxVm";
import { type OpenedTarget, openTarget } from "../core/targets/openTarget";
import { type HostKeyDecision, SshTarget, type UnknownHostKey } from "../core/targets/sshTarget";
import { TargetError } from "../core/targets/target";
import { formatTarget, parseTarget } from "../core/targets/targetSpec";
import { type ComponentLog, errorMessage } from "./log";
import type { SshSecrets } from "./secrets";
import { readSettings, sandboxDir } from "./settings";
import { ADD_SSH_LABEL, normalizeTarget, rememberTarget, sshTargetFromText, targetChoices, validateSshTargetText } from "./targetChoices";

const RECENT_KEY = "kernelNN.recentTargets";

export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "failed";

/** A connected target; release() closes it. */
export interface TargetHandle extends OpenedTarget {
	/** The kernelNN.target spelling: "sandbox", "local", "ssh://root@host:22". */
	spec: string;
	release(): Promise<void>;
}

/**
 * The selected target (kernelNN.target), recent SSH targets, and connections: SSH host keys are confirmed in a
 * modal prompt and passwords come from SecretStorage. Tracks each target's connection state for the status bar.
 */
export class TargetService implements vscode.Disposable {
	private readonly changed = new vscode.EventEmitter<void>();
	readonly onDidChange = this.changed.event;
	private readonly states = new Map<string, { state: ConnectionState; detail?: string; live: number }>();
	private readonly configListener: vscode.Disposable;

	constructor(
		private readonly context: vscode.ExtensionContext,
		private readonly secrets: SshSecrets,
		private readonly log: ComponentLog,
	) {
		this.configListener = vscode.workspace.onDidChangeConfiguration((event) => {
			if (event.affectsConfiguration("kernelNN.target")) this.changed.fire();
		});
	}

	/** The selected target, as written in settings (normalised). */
	get current(): string {
		return normalizeTarget(readSettings().target);
	}

	recent(): string[] {
		return this.context.globalState.get<string[]>(RECENT_KEY, []);
	}

	stateOf(target: string): { state: ConnectionState; detail?: string } {
		return this.states.get(normalizeTarget(target)) ?? { state: "idle" };
	}

	/** For long-lived users of a connection (the kernel log) to say it dropped or came back. */
	reportState(target: string, state: ConnectionState, detail?: string): void {
		const key = normalizeTarget(target);
		const entry = this.states.get(key) ?? { state: "idle", live: 0 };
		this.states.set(key, { ...entry, state, detail });
		this.changed.fire();
	}

	/**
	 * Opens a target (default: the selected one) and connects once, so that host key and password prompts happen
	 * here and a wrong password is forgotten at once.
	 */
	async open(targetText?: string, signal?: AbortSignal): Promise<TargetHandle> {
		const spec = normalizeTarget(targetText ?? this.current);
		const parsed = parseTarget(spec);
		const secrets = this.secrets.session();
		const log = (message: string) => this.log.trace(message);
		let opened: OpenedTarget;
		if (parsed.kind === "ssh") {
			const identityFile = readSettings().identityFile;
			const target = new SshTarget({
				host: parsed.host, port: parsed.port, user: parsed.user, identityFiles: identityFile ? [identityFile] : undefined,
				askSecret: secrets.askSecret, onUnknownHostKey: askAboutHostKey, log,
			});
			opened = { target, remoteBuild: (dir, release) => ({ command: "make", args: ["-C", dir, `KDIR=/lib/modules/${release}/build`] }) };
		} else {
			const dir = sandboxDir(this.context);
			if (parsed.kind === "sandbox" && !readSandboxInfo(dir)) {
				this.setState(spec, "failed", "not running", 0);
				throw new TargetError(`The sandbox VM is not running (its state folder is ${dir}): run "Kernel NN: Start Sandbox Target" first.`, "connect", "sandbox");
			}
			opened = openTarget(parsed, { sandboxDir: dir, log });
		}
		const entry = this.states.get(spec) ?? { state: "idle" as ConnectionState, live: 0 };
		this.states.set(spec, { ...entry, state: "connecting", detail: undefined });
		this.changed.fire();
		try {
			if (parsed.kind !== "local") await opened.target.run("true", [], { signal, timeoutMs: 60_000 });
		} catch (error) {
			await opened.target.close();
			if (error instanceof TargetError && error.code === "auth") await secrets.authFailed();
			this.setState(spec, "failed", errorMessage(error), 0);
			throw error;
		}
		this.setState(spec, "connected", undefined, +1);
		let released = false;
		return {
			...opened,
			spec,
			release: async () => {
				if (released) return;
				released = true;
				await opened.target.close();
				this.setState(spec, "idle", undefined, -1);
			},
		};
	}

	/** The Select Target command: a quick pick, or `args.target` without any UI. Returns the selected target. */
	async select(args?: { target?: string }): Promise<string | undefined> {
		let chosen = args?.target;
		if (chosen === undefined) {
			const picked = await vscode.window.showQuickPick(targetChoices(this.current, this.recent()), {
				title: "Kernel NN: Select Target", placeHolder: "Where deploys, builds on target and the kernel log go",
			});
			if (!picked) return undefined;
			chosen = picked.label === ADD_SSH_LABEL ? await askForSshTarget() : picked.target;
			if (chosen === undefined) return undefined;
		}
		const spec = formatTarget(parseTarget(chosen));
		const config = vscode.workspace.getConfiguration("kernelNN");
		const scope = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
		await config.update("target", spec, scope);
		await this.context.globalState.update(RECENT_KEY, rememberTarget(this.recent(), spec));
		this.log.info(`target set to ${spec}`);
		this.changed.fire();
		return spec;
	}

	dispose(): void {
		this.configListener.dispose();
		this.changed.dispose();
	}

	private setState(spec: string, state: ConnectionState, detail: string | undefined, liveDelta: number): void {
		const entry = this.states.get(spec) ?? { state: "idle" as ConnectionState, live: 0 };
		const live = Math.max(0, entry.live + liveDelta);
		this.states.set(spec, { state: state === "idle" && live > 0 ? "connected" : state, detail, live });
		this.changed.fire();
	}
}

async function askForSshTarget(): Promise<string | undefined> {
	const text = await vscode.window.showInputBox({
		title: "Kernel NN: Add SSH Target",
		prompt: "user@host:port, ssh://user@host:port, or a host alias from ~/.ssh/config",
		placeHolder: "ssh://root@192.168.1.20:22",
		ignoreFocusOut: true,
		validateInput: (value) => (value.trim() === "" ? undefined : validateSshTargetText(value)),
	});
	if (text === undefined || text.trim() === "") return undefined;
	return sshTargetFromText(text);
}

/** A modal question: the user compares the fingerprint with the target's before anything is sent to it. */
async function askAboutHostKey(key: UnknownHostKey): Promise<HostKeyDecision> {
	const other = key.otherKnownKeyTypes.length > 0
		? `\n\nknown_hosts already holds a ${key.otherKnownKeyTypes.join(", ")} key for this host, so the server now offers a new kind of key.`
		: "";
	const detail = `${key.host}:${key.port} offers a ${key.keyType} host key that is not in known_hosts:\n\n${key.fingerprintSha256}\n\n`
		+ `Compare it with the output of ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the target before accepting.${other}`;
	const choice = await vscode.window.showWarningMessage(`Kernel NN: unknown SSH host key for ${key.host}`, { modal: true, detail }, "Accept and Save", "Accept Once");
	if (choice === "Accept and Save") return "accept-and-save";
	if (choice === "Accept Once") return "accept-once";
	return "reject";
}
