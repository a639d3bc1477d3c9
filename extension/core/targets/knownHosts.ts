import { createHash, createHmac, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { matchPatternList } from "./sshConfig";

// known_hosts as OpenSSH reads it: "[marker] patterns keytype base64 [comment]", where patterns are plain names,
// "[host]:port" for ports other than 22, wildcards, "!" negations, or hashed "|1|salt|hmac" entries.

export interface KnownHostEntry {
	file: string;
	/** 1-based, as editors and ssh-keygen count. */
	line: number;
	marker?: "revoked" | "cert-authority";
	patterns: string;
	keyType: string;
	key: Buffer;
}

export type HostKeyCheck =
	| { status: "known"; entry: KnownHostEntry }
	/** The host is known with a different key of the offered type. */
	| { status: "changed"; entry: KnownHostEntry }
	| { status: "revoked"; entry: KnownHostEntry }
	/** otherKeyTypes: key types the host is known with, none of them the offered one. */
	| { status: "unknown"; otherKeyTypes: string[] };

/** The name a host has in known_hosts: "host" on port 22, "[host]:port" elsewhere. */
export function knownHostName(host: string, port: number): string {
	return port === 22 ? host : `[${host}]:${port}`;
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
	const entries: KnownHostEntry[] = [];
	text.split(/\r?\n/).forEach((raw, index) => {
		const line = raw.trim();
		if (line === "" || line.startsWith("#")) return;
		const fields = line.split(/\s+/);
		let marker: KnownHostEntry["marker"];
		if (fields[0].startsWith("@")) {
			const name = fields.shift();
			if (name === "@revoked") marker = "revoked";
			else if (name === "@cert-authority") marker = "cert-authority";
			else return;
		}
		if (fields.length < 3) return;
		const [patterns, keyType, base64] = fields;
		const key = Buffer.from(base64, "base64");
		// A line whose blob does not start with its own key type is damaged; OpenSSH skips such lines too.
		if (keyTypeOf(key) !== keyType) return;
		entries.push({ file, line: index + 1, marker, patterns, keyType, key });
	});
	return entries;
}

/** Reads the entries of each file; files that don't exist are skipped. */
export function readKnownHosts(files: readonly string[]): KnownHostEntry[] {
	const entries: KnownHostEntry[] = [];
	for (const file of files) {
		let text: string;
		try {
			text = fs.readFileSync(file, "utf8");
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
			throw error;
		}
		entries.push(...parseKnownHosts(text, file));
	}
	return entries;
}

/** Whether an entry's host patterns name hostName ("host" or "[host]:port"); hashed entries hold one name each. */
export function entryMatchesHost(entry: Pick<KnownHostEntry, "patterns">, hostName: string): boolean {
	if (entry.patterns.startsWith("|1|")) {
		const [, , salt, hash] = entry.patterns.split("|");
		if (!salt || !hash) return false;
		return hashHostName(hostName.toLowerCase(), Buffer.from(salt, "base64")) === entry.patterns;
	}
	return matchPatternList(entry.patterns.split(","), hostName);
}

/** The hashed form OpenSSH writes with HashKnownHosts: "|1|" base64(salt) "|" base64(HMAC-SHA1(salt, name)). */
export function hashHostName(hostName: string, salt: Buffer = randomBytes(20)): string {
	const hash = createHmac("sha1", salt).update(hostName).digest("base64");
	return `|1|${salt.toString("base64")}|${hash}`;
}

/**
 * Checks a key offered by host:port. A matching key anywhere makes the host known, as in OpenSSH; a @revoked line
 * for the key refuses it even then.
 */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyCheck {
	const name = knownHostName(host.toLowerCase(), port);
	const keyType = keyTypeOf(key);
	const forHost = entries.filter((e) => e.marker !== "cert-authority" && entryMatchesHost(e, name));
	const revoked = forHost.find((e) => e.marker === "revoked" && e.key.equals(key));
	if (revoked) return { status: "revoked", entry: revoked };
	const plain = forHost.filter((e) => e.marker === undefined);
	const known = plain.find((e) => e.key.equals(key));
	if (known) return { status: "known", entry: known };
	const changed = plain.find((e) => e.keyType === keyType);
	if (changed) return { status: "changed", entry: changed };
	return { status: "unknown", otherKeyTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/** Key types known_hosts holds for host:port, so the client can ask the server for one of those first, as OpenSSH does. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
	const name = knownHostName(host.toLowerCase(), port);
	return [...new Set(entries.filter((e) => e.marker === undefined && entryMatchesHost(e, name)).map((e) => e.keyType))];
}

/** Appends a line for host:port, creating the file (0600) and its folder (0700) when missing. */
export async function appendKnownHost(file: string, host: string, port: number, key: Buffer): Promise<void> {
	await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
	let prefix = "";
	try {
		const text = await fs.promises.readFile(file, "utf8");
		if (text !== "" && !text.endsWith("\n")) prefix = "\n";
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
	}
	const line = `${knownHostName(host.toLowerCase(), port)} ${keyTypeOf(key)} ${key.toString("base64")}\n`;
	await fs.promises.appendFile(file, prefix + line, { mode: 0o600 });
}

/** "SHA256:..." exactly as ssh-keygen -l and ssh print it: base64 of the blob's SHA-256, without padding. */
export function fingerprintSha256(key: Buffer): string {
	return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named at the start of an SSH public key blob ("ssh-ed25519", "ssh-rsa", ...). */
export function keyTypeOf(blob: Buffer): string {
	if (blob.length < 4) return "";
	const length = blob.readUInt32BE(0);
	if (length > 64 || 4 + length > blob.length) return "";
	return blob.subarray(4, 4 + length).toString("latin1");
}
