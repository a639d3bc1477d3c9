import * as path from "node:path";
import { GUEST_BUILD_HELPER } from "../sandbox/sandboxTypes";
import { readSandboxInfo } from "../sandbox/sandboxVm";
import { LocalTarget } from "./localTarget";
import { type HostKeyDecision, type SecretKind, SshTarget, type UnknownHostKey } from "./sshTarget";
import { type Target, TargetError } from "./target";
import type { TargetSpec } from "./targetSpec";

export interface OpenTargetOptions {
	/** Where `knn sandbox start` keeps the VM's state. */
	sandboxDir: string;
	askSecret?: (kind: SecretKind, prompt: string) => Promise<string | undefined>;
	onUnknownHostKey?: (key: UnknownHostKey) => Promise<HostKeyDecision>;
	log?: (message: string) => void;
}

export interface OpenedTarget {
	target: Target;
	/** How to build a module project directory on the target for a kernel release. */
	remoteBuild: (dir: string, kernelRelease: string) => { command: string; args: string[] };
}

const makeOnTarget = (dir: string, kernelRelease: string) => ({ command: "make", args: ["-C", dir, `KDIR=/lib/modules/${kernelRelease}/build`] });

/** Connects to a target as the spec says; the sandbox is reached over SSH with its own pinned host key. */
export function openTarget(spec: TargetSpec, options: OpenTargetOptions): OpenedTarget {
	if (spec.kind === "local") return { target: new LocalTarget(), remoteBuild: makeOnTarget };
	if (spec.kind === "sandbox") {
		const info = readSandboxInfo(options.sandboxDir);
		if (!info) {
			throw new TargetError(`the sandbox in ${path.resolve(options.sandboxDir)} is not running: start it with "knn sandbox start"`, "connect", "sandbox");
		}
		const target = new SshTarget({
			host: info.host, port: info.port, user: info.user, identityFiles: [info.identityFile], agent: false,
			knownHostsFiles: [info.knownHostsFile], sshConfigFile: null, log: options.log,
		});
		return { target, remoteBuild: (dir) => ({ command: GUEST_BUILD_HELPER, args: [dir] }) };
	}
	const target = new SshTarget({
		host: spec.host, port: spec.port, user: spec.user, askSecret: options.askSecret, onUnknownHostKey: options.onUnknownHostKey, log: options.log,
	});
	return { target, remoteBuild: makeOnTarget };
}
