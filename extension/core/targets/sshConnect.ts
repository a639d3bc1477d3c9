import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type AnyAuthMethod, type AuthHandlerMiddleware, type AuthenticationType, Client, type ConnectConfig, type ParsedKey, utils } from "ssh2";
import { type KnownHostEntry, appendKnownHost, checkHostKey, fingerprintSha256, knownHostName, knownKeyTypes, keyTypeOf, readKnownHosts } from "./knownHosts";
import { readSshConfig, resolveSshConfig } from "./sshConfig";
import { TargetError, formatDuration } from "./target";

// Opening one authenticated connection whose host key was checked against known_hosts.

export type SecretKind = "password" | "passphrase";
export type HostKeyDecision = "accept-once" | "accept-and-save" | "reject";

export interface UnknownHostKey {
	host: string;
	port: number;
	keyType: string;
	fingerprintSha256: string;
	/** Key types known_hosts already holds for this host; non-empty means the server offered a new kind of key. */
	otherKnownKeyTypes: string[];
}

export interface SshTargetOptions {
	/** A host name, address or ~/.ssh/config alias. */
	host: string;
	/** Overrides ~/.ssh/config; default 22. */
	port?: number;
	/** Overrides ~/.ssh/config; default the local user name. */
	user?: string;
	/** Keys tried before those from ~/.ssh/config and the default ~/.ssh/id_* files. */
	identityFiles?: string[];
	/** ssh-agent socket; default SSH_AUTH_SOCK; false for none. */
	agent?: string | false;
	/** Replaces UserKnownHostsFile from ~/.ssh/config and the default ~/.ssh/known_hosts (+ known_hosts2). */
	knownHostsFiles?: string[];
	/** Consulted after the others, e.g. a file pinned by the project or CI. */
	extraKnownHostsFiles?: string[];
	/** Where "accept-and-save" writes; default the first known_hosts file. */
	saveHostKeysTo?: string;
	/** Where ~ and the default files are; default the user's home. */
	homeDir?: string;
	/** default ~/.ssh/config; null to read none. */
	sshConfigFile?: string | null;
	/** Asks the user; the VS Code extension backs this with SecretStorage. undefined means the user declined. */
	askSecret?: (kind: SecretKind, prompt: string) => Promise<string | undefined>;
	/** Without it, unknown host keys are refused. */
	onUnknownHostKey?: (key: UnknownHostKey) => Promise<HostKeyDecision>;
	connectTimeoutMs?: number;
	/** A connection whose peer has not answered for interval × countMax is treated as lost. */
	keepaliveIntervalMs?: number;
	keepaliveCountMax?: number;
	log?: (message: string) => void;
}

/** Options after ~/.ssh/config and defaults were applied. */
export interface SshSettings {
	alias: string;
	hostName: string;
	port: number;
	user: string;
	identityFiles: string[];
	agent?: string;
	knownHostsFiles: string[];
	saveHostKeysTo: string;
	description: string;
	options: SshTargetOptions;
}

const DEFAULT_IDENTITIES = ["id_ed25519", "id_ecdsa", "id_rsa"];
const DEFAULT_HOST_KEY_ALGORITHMS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];

export function resolveSshSettings(options: SshTargetOptions): SshSettings {
	const homeDir = options.homeDir ?? os.homedir();
	const localUser = safeLocalUser();
	const configFile = options.sshConfigFile === undefined ? path.join(homeDir, ".ssh", "config") : options.sshConfigFile;
	const config = resolveSshConfig(configFile === null ? [] : readSshConfig(configFile, homeDir), options.host, {
		homeDir,
		localUser,
		env: process.env,
	});
	const port = options.port ?? config.port ?? 22;
	const user = options.user ?? config.user ?? localUser;
	// As in OpenSSH, the default key files are tried only when no IdentityFile is named.
	const named = [...(options.identityFiles ?? []), ...config.identityFiles];
	const identityFiles = [...new Set(named.length > 0 ? named : DEFAULT_IDENTITIES.map((name) => path.join(homeDir, ".ssh", name)))];
	// IdentitiesOnly would let ssh use only the agent's keys that match those files; skipping the agent is the safe side of that.
	const agentAllowed = config.identityAgent !== "none" && !config.identitiesOnly;
	const agent = options.agent === false ? undefined : options.agent ?? (agentAllowed ? config.identityAgent ?? process.env.SSH_AUTH_SOCK : undefined);
	const userFiles = options.knownHostsFiles ?? config.userKnownHostsFiles ?? [path.join(homeDir, ".ssh", "known_hosts"), path.join(homeDir, ".ssh", "known_hosts2")];
	const knownHostsFiles = [...userFiles, ...(options.extraKnownHostsFiles ?? [])];
	const saveHostKeysTo = options.saveHostKeysTo ?? knownHostsFiles[0] ?? path.join(homeDir, ".ssh", "known_hosts");
	const hostPart = options.host.includes(":") ? `[${options.host}]` : options.host;
	return {
		alias: options.host,
		hostName: config.hostName,
		port,
		user,
		identityFiles,
		...(agent ? { agent } : {}),
		knownHostsFiles,
		saveHostKeysTo,
		description: `${user}@${hostPart}:${port}`,
		options,
	};
}

/** Runs a question to the user; the time it takes does not count toward the connect timeout. */
type WhileAsking = <T>(ask: () => Promise<T>) => Promise<T>;

/**
 * Connects and authenticates. acceptedKeys holds keys accepted "once" earlier for this target, so that a
 * reconnect does not ask again.
 */
export async function connectSsh(settings: SshSettings, acceptedKeys: Set<string>): Promise<Client> {
	const { options, description } = settings;
	const log = options.log ?? (() => undefined);
	let entries: KnownHostEntry[];
	try {
		entries = readKnownHosts(settings.knownHostsFiles);
	} catch (error) {
		throw new TargetError(`Cannot read the known_hosts files ${settings.knownHostsFiles.join(", ")}: ${(error as Error).message}. Fix their permissions to connect to ${description}.`, "config", description, { cause: error });
	}
	const preferred = knownKeyTypes(entries, settings.hostName, settings.port).flatMap((t) => (t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [t]));
	const timeoutMs = options.connectTimeoutMs ?? 20_000;
	const client = new Client();

	return await new Promise<Client>((resolve, reject) => {
		let settled = false;
		let refusal: TargetError | undefined;
		let timer: NodeJS.Timeout | undefined;
		const tried: string[] = [];
		const fail = (error: TargetError): void => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			client.destroy();
			reject(error);
		};
		// ssh2's own readyTimeout would also run while a person types a passphrase or reads a fingerprint.
		const arm = (): void => {
			clearTimeout(timer);
			timer = setTimeout(() => fail(connectError(settings, Object.assign(new Error("timed out"), { level: "client-timeout" }), tried)), timeoutMs);
		};
		const whileAsking: WhileAsking = async (ask) => {
			clearTimeout(timer);
			try {
				return await ask();
			} finally {
				if (!settled) arm();
			}
		};
		const hostVerifier = (key: Buffer, verify: (valid: boolean) => void): void => {
			verifyHostKey(settings, entries, key, acceptedKeys, whileAsking).then(
				() => verify(true),
				(error: unknown) => {
					refusal = error instanceof TargetError ? error : new TargetError(`Checking the host key of ${description} failed: ${(error as Error).message}.`, "connect", description);
					verify(false);
				},
			);
		};
		const config: ConnectConfig = {
			host: settings.hostName,
			port: settings.port,
			username: settings.user,
			readyTimeout: 0,
			keepaliveInterval: options.keepaliveIntervalMs ?? 5_000,
			keepaliveCountMax: options.keepaliveCountMax ?? 3,
			hostVerifier,
			authHandler: makeAuthHandler(settings, tried, log, whileAsking),
		};
		if (preferred.length > 0) {
			config.algorithms = { serverHostKey: [...new Set([...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS])] as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"] };
		}
		client.on("error", (error: Error & { level?: string; code?: string }) => {
			// ssh2 reports a failing agent and goes on with the next method.
			if (error.level === "agent") {
				log(`${description}: ssh-agent: ${error.message}`);
				return;
			}
			fail(refusal ?? connectError(settings, error, tried));
		});
		client.once("ready", () => {
			settled = true;
			clearTimeout(timer);
			resolve(client);
		});
		client.once("close", () => fail(refusal ?? new TargetError(`The connection to ${description} closed during the SSH handshake. Check that an SSH server answers on port ${settings.port} of ${settings.hostName}.`, "connect", description)));
		arm();
		try {
			client.connect(config);
		} catch (error) {
			fail(new TargetError(`Cannot connect to ${description}: ${(error as Error).message}.`, "config", description, { cause: error }));
		}
	});
}

async function verifyHostKey(settings: SshSettings, entries: KnownHostEntry[], key: Buffer, acceptedKeys: Set<string>, whileAsking: WhileAsking): Promise<void> {
	const { hostName, port, description, options } = settings;
	const keyType = keyTypeOf(key);
	const fingerprint = fingerprintSha256(key);
	const check = checkHostKey(entries, hostName, port, key);
	const keyName = knownHostName(hostName, port);
	if (check.status === "known") return;
	if (check.status === "revoked") {
		throw new TargetError(
			`The host key of ${description} (${keyType} ${fingerprint}) is marked @revoked in ${check.entry.file} line ${check.entry.line}; refusing to connect. Ask the target's administrator for its new key.`,
			"host-key-revoked",
			description,
		);
	}
	if (check.status === "changed") {
		throw new TargetError(
			`The host key of ${keyName} has CHANGED: the server offered ${keyType} ${fingerprint}, but ${check.entry.file} line ${check.entry.line} holds a different ${keyType} key for it. ` +
				`Someone may be intercepting the connection, or the target was reinstalled. If you know its key was regenerated, remove the old entry with ` +
				`ssh-keygen -R '${keyName}' -f '${check.entry.file}' and connect again.`,
			"host-key-changed",
			description,
		);
	}
	if (acceptedKeys.has(key.toString("base64"))) return;
	const ask = options.onUnknownHostKey;
	const decision = ask ? await whileAsking(() => ask({ host: hostName, port, keyType, fingerprintSha256: fingerprint, otherKnownKeyTypes: check.otherKeyTypes })) : "reject";
	if (decision === "reject") {
		const how = options.onUnknownHostKey ? "you did not accept it" : "no one was asked to accept it";
		throw new TargetError(
			`The host key of ${keyName} (${keyType} ${fingerprint}) is not in ${settings.knownHostsFiles.join(" or ")}, and ${how}. ` +
				`Compare it with ssh-keygen -lf on the target's /etc/ssh/ssh_host_${keyType.replace(/^ssh-|-.*$/g, "")}_key.pub, then accept it or add it to known_hosts.`,
			"host-key-unknown",
			description,
		);
	}
	acceptedKeys.add(key.toString("base64"));
	if (decision === "accept-and-save") {
		try {
			await appendKnownHost(settings.saveHostKeysTo, hostName, port, key);
		} catch (error) {
			options.log?.(`${description}: could not save the host key to ${settings.saveHostKeysTo}: ${(error as Error).message}`);
		}
	}
}

/** Tries, in order: ssh-agent, each key file (asking for its passphrase if encrypted), keyboard-interactive, password. */
function makeAuthHandler(settings: SshSettings, tried: string[], log: (message: string) => void, whileAsking: WhileAsking): AuthHandlerMiddleware {
	const { user: username, options } = settings;
	let secret: string | undefined;
	let askedForPassword = false;
	const askPassword = async (prompt: string): Promise<string | undefined> => {
		if (!askedForPassword) {
			askedForPassword = true;
			const ask = options.askSecret;
			secret = ask ? await whileAsking(() => ask("password", prompt)) : undefined;
		}
		return secret;
	};
	type Step = { method: AuthenticationType; make: () => Promise<AnyAuthMethod | undefined> };
	const steps: Step[] = [];
	steps.push({ method: "none", make: async () => ({ type: "none", username }) });
	if (settings.agent) {
		const agent = settings.agent;
		steps.push({ method: "publickey", make: async () => (tried.push("the keys in ssh-agent"), { type: "agent", username, agent }) });
	}
	for (const file of settings.identityFiles) {
		steps.push({ method: "publickey", make: () => loadIdentity(file, settings, log, whileAsking).then((key) => (key ? (tried.push(file), { type: "publickey", username, key }) : undefined)) });
	}
	if (options.askSecret) {
		steps.push({
			method: "keyboard-interactive",
			make: async () => {
				tried.push("a password (keyboard-interactive)");
				return {
					type: "keyboard-interactive",
					username,
					prompt: (_name, _instructions, _lang, prompts, finish) => {
						void Promise.all(prompts.map((p) => askPassword(`${settings.description}: ${p.prompt.trim()}`))).then((answers) => finish(answers.map((a) => a ?? "")));
					},
				};
			},
		});
		steps.push({
			method: "password",
			make: async () => {
				const password = await askPassword(`Password for ${settings.description}`);
				if (password === undefined) return undefined;
				tried.push("a password");
				return { type: "password", username, password };
			},
		});
	}
	let next = 0;
	return (methodsLeft, _partialSuccess, callback) => {
		void (async () => {
			while (next < steps.length) {
				const step = steps[next++];
				if (methodsLeft && !methodsLeft.includes(step.method)) continue;
				const method = await step.make().catch(() => undefined);
				if (method) return callback(method);
			}
			// ssh2 takes false as "no more methods", which its types don't say.
			callback(false as unknown as AuthenticationType);
		})();
	};
}

/** Reads and parses a private key, asking for its passphrase if it is encrypted; undefined when unusable. */
async function loadIdentity(file: string, settings: SshSettings, log: (message: string) => void, whileAsking: WhileAsking): Promise<ParsedKey | undefined> {
	let data: Buffer;
	try {
		data = await fs.promises.readFile(file);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== "ENOENT") log(`${settings.description}: cannot read key ${file}: ${(error as Error).message}`);
		return undefined;
	}
	let key = utils.parseKey(data);
	const ask = settings.options.askSecret;
	if (key instanceof Error && /passphrase|encrypted/i.test(key.message) && ask) {
		const passphrase = await whileAsking(() => ask("passphrase", `Passphrase for ${file}`));
		if (passphrase === undefined) return undefined;
		key = utils.parseKey(data, passphrase);
	}
	if (key instanceof Error) {
		log(`${settings.description}: skipping key ${file}: ${key.message}`);
		return undefined;
	}
	return Array.isArray(key) ? key[0] : key;
}

function connectError(settings: SshSettings, error: Error & { level?: string; code?: string }, tried: string[]): TargetError {
	const { description, hostName, port } = settings;
	const where = settings.alias === hostName ? description : `${description} (${hostName})`;
	if (error.level === "client-authentication") {
		const what = tried.length > 0 ? `it accepted none of: ${tried.join(", ")}` : "no key, agent or password was available to try";
		return new TargetError(
			`Could not log in to ${where}: ${what}. Put your public key into the target's ~/.ssh/authorized_keys (ssh-copy-id -p ${port} ${settings.user}@${hostName}), or name the key with IdentityFile in ~/.ssh/config.`,
			"auth",
			description,
			{ cause: error },
		);
	}
	if (error.level === "client-timeout") {
		return new TargetError(`No SSH handshake with ${where} within ${formatDuration(settings.options.connectTimeoutMs ?? 20_000)}. Check the address and port and that the target is up.`, "timeout", description, { cause: error });
	}
	const reasons: Record<string, string> = {
		ECONNREFUSED: `connection refused; check that sshd runs there and listens on port ${port}`,
		ENOTFOUND: `the host name "${hostName}" does not resolve; check the spelling or add it to ~/.ssh/config`,
		EAI_AGAIN: `the host name "${hostName}" could not be resolved right now; check the network`,
		EHOSTUNREACH: "the host is unreachable; check the network and that the target is up",
		ENETUNREACH: "the network is unreachable",
		ETIMEDOUT: "the connection timed out; check the address and any firewall",
		ECONNRESET: "the server reset the connection",
	};
	const why = (error.code && reasons[error.code]) ?? error.message;
	return new TargetError(`Could not connect to ${where}: ${why}.`, "connect", description, { cause: error });
}

function safeLocalUser(): string {
	try {
		return os.userInfo().username;
	} catch {
		return process.env.USER ?? "root";
	}
}
