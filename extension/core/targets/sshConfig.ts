import * as fs from "node:fs";
import * as path from "node:path";
import { TargetError } from "./target";

// A reader for the part of ~/.ssh/config that decides where and as whom we connect. Like OpenSSH, the first value
// obtained for a keyword wins, so specific Host blocks go before general ones; IdentityFile accumulates.

export interface SshConfigOption {
	keyword: string;
	args: string[];
	file: string;
	line: number;
}

export interface SshConfigBlock {
	/** Host patterns; null for the options before the first Host line, which apply to every host. */
	patterns: string[] | null;
	/** Match blocks are kept but never applied except "Match all": their criteria need more than a reader. */
	match?: string[];
	options: SshConfigOption[];
}

export interface SshHostConfig {
	hostName: string;
	port?: number;
	user?: string;
	identityFiles: string[];
	identitiesOnly?: boolean;
	userKnownHostsFiles?: string[];
	/** "none" disables the agent; otherwise a socket path. */
	identityAgent?: string;
}

export interface SshConfigContext {
	homeDir: string;
	localUser: string;
	env?: Record<string, string | undefined>;
}

const MAX_INCLUDE_DEPTH = 16;

/** Reads an ssh config file and the files it includes; a missing file is an empty configuration. */
export function readSshConfig(file: string, homeDir: string): SshConfigBlock[] {
	let text: string;
	try {
		text = fs.readFileSync(file, "utf8");
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
		throw new TargetError(`Cannot read SSH configuration ${file}: ${(error as Error).message}.`, "config", undefined, { cause: error });
	}
	return parseSshConfig(text, file, (pattern) => expandInclude(pattern, path.join(homeDir, ".ssh"), homeDir));
}

/** Parses config text; includeFiles maps an Include argument to the files and texts it names. */
export function parseSshConfig(
	text: string,
	file = "ssh_config",
	includeFiles: (pattern: string) => Array<{ file: string; text: string }> = () => [],
): SshConfigBlock[] {
	const blocks: SshConfigBlock[] = [{ patterns: null, options: [] }];
	const visit = (source: string, sourceFile: string, depth: number): void => {
		source.split(/\r?\n/).forEach((raw, index) => {
			const words = splitConfigLine(raw, sourceFile, index + 1);
			if (words.length === 0) return;
			const keyword = words[0].toLowerCase();
			const args = words.slice(1);
			if (keyword === "host") {
				if (args.length === 0) throw configError(sourceFile, index + 1, "Host needs at least one pattern");
				blocks.push({ patterns: args, options: [] });
			} else if (keyword === "match") {
				blocks.push({ patterns: [], match: args.map((a) => a.toLowerCase()), options: [] });
			} else if (keyword === "include") {
				if (depth >= MAX_INCLUDE_DEPTH) throw configError(sourceFile, index + 1, "Include is nested too deeply (a loop?)");
				for (const pattern of args) for (const included of includeFiles(pattern)) visit(included.text, included.file, depth + 1);
			} else {
				blocks[blocks.length - 1].options.push({ keyword, args, file: sourceFile, line: index + 1 });
			}
		});
	};
	visit(text, file, 0);
	return blocks;
}

/** The settings for host (a name or an alias) as ssh would use them. */
export function resolveSshConfig(blocks: readonly SshConfigBlock[], host: string, context: SshConfigContext): SshHostConfig {
	const first = new Map<string, SshConfigOption>();
	const identityFiles: string[] = [];
	for (const block of blocks) {
		if (!blockApplies(block, host)) continue;
		for (const option of block.options) {
			if (option.keyword === "identityfile") identityFiles.push(...option.args);
			else if (!first.has(option.keyword)) first.set(option.keyword, option);
		}
	}
	const value = (keyword: string): SshConfigOption | undefined => {
		const option = first.get(keyword);
		if (option && option.args.length === 0) throw configError(option.file, option.line, `${keyword} needs a value`);
		return option;
	};

	const hostNameOption = value("hostname");
	const hostName = hostNameOption ? expandTokens(hostNameOption.args[0], { h: host, "%": "%" }) : host;
	const result: SshHostConfig = { hostName, identityFiles: [] };
	const portOption = value("port");
	if (portOption) {
		const port = Number(portOption.args[0]);
		if (!Number.isInteger(port) || port < 1 || port > 65535) throw configError(portOption.file, portOption.line, `Port "${portOption.args[0]}" is not a port number`);
		result.port = port;
	}
	const userOption = value("user");
	if (userOption) result.user = userOption.args[0];
	const identitiesOnly = value("identitiesonly");
	if (identitiesOnly) result.identitiesOnly = identitiesOnly.args[0].toLowerCase() === "yes";

	const tokens: Record<string, string> = {
		"%": "%",
		d: context.homeDir,
		h: hostName,
		n: host,
		p: String(result.port ?? 22),
		r: result.user ?? context.localUser,
		u: context.localUser,
	};
	const expandPath = (p: string): string => expandTilde(expandTokens(p, tokens), context.homeDir);
	result.identityFiles = identityFiles.filter((f) => f.toLowerCase() !== "none").map(expandPath);
	const knownHosts = value("userknownhostsfile");
	if (knownHosts) result.userKnownHostsFiles = knownHosts.args.filter((f) => f.toLowerCase() !== "none").map(expandPath);
	const agent = value("identityagent");
	if (agent) {
		const raw = agent.args[0];
		if (raw.toLowerCase() === "none") result.identityAgent = "none";
		else if (raw === "SSH_AUTH_SOCK") result.identityAgent = context.env?.SSH_AUTH_SOCK ?? "none";
		else if (raw.startsWith("$")) result.identityAgent = context.env?.[raw.slice(1)] ?? "none";
		else result.identityAgent = expandPath(raw);
	}
	return result;
}

/** OpenSSH's pattern syntax: "*" for any run of characters, "?" for one, case-insensitive. */
export function matchPattern(pattern: string, text: string, ignoreCase = true): boolean {
	const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
	return new RegExp(`^${source}$`, ignoreCase ? "is" : "s").test(text);
}

/** A host matches a pattern list when some pattern matches and no negated ("!") pattern does. */
export function matchPatternList(patterns: readonly string[], host: string): boolean {
	let matched = false;
	for (const pattern of patterns) {
		if (pattern.startsWith("!")) {
			if (matchPattern(pattern.slice(1), host)) return false;
		} else if (matchPattern(pattern, host)) {
			matched = true;
		}
	}
	return matched;
}

function blockApplies(block: SshConfigBlock, host: string): boolean {
	if (block.patterns === null) return true;
	if (block.match) return block.match.length === 1 && block.match[0] === "all";
	return matchPatternList(block.patterns, host);
}

/** Splits a line into words: "keyword value", "keyword=value", double-quoted words, "#" starting a comment. */
function splitConfigLine(raw: string, file: string, line: number): string[] {
	const words: string[] = [];
	let text = raw.trim();
	const firstEquals = /^([^\s=]+)\s*=\s*/.exec(text);
	if (firstEquals) text = `${firstEquals[1]} ${text.slice(firstEquals[0].length)}`;
	let i = 0;
	while (i < text.length) {
		while (i < text.length && /\s/.test(text[i])) i++;
		if (i >= text.length || text[i] === "#") break;
		if (text[i] === '"') {
			const close = text.indexOf('"', i + 1);
			if (close < 0) throw configError(file, line, "a quote is not closed");
			words.push(text.slice(i + 1, close));
			i = close + 1;
		} else {
			const start = i;
			while (i < text.length && !/\s/.test(text[i])) i++;
			words.push(text.slice(start, i));
		}
	}
	return words;
}

function expandTokens(text: string, tokens: Record<string, string>): string {
	return text.replace(/%(.)/g, (whole, token: string) => tokens[token] ?? whole);
}

export function expandTilde(file: string, homeDir: string): string {
	if (file === "~") return homeDir;
	if (file.startsWith("~/")) return path.join(homeDir, file.slice(2));
	return file;
}

/** Include arguments are relative to ~/.ssh and may use * and ? in their last component. */
function expandInclude(pattern: string, sshDir: string, homeDir: string): Array<{ file: string; text: string }> {
	const full = path.resolve(sshDir, expandTilde(pattern, homeDir));
	const dir = path.dirname(full);
	const base = path.basename(full);
	let names: string[];
	if (/[*?]/.test(base)) {
		try {
			names = fs.readdirSync(dir).filter((name) => matchPattern(base, name, false)).sort();
		} catch {
			return [];
		}
	} else {
		names = [base];
	}
	const files: Array<{ file: string; text: string }> = [];
	for (const name of names) {
		const file = path.join(dir, name);
		try {
			files.push({ file, text: fs.readFileSync(file, "utf8") });
		} catch {
			// OpenSSH skips Include targets that don't exist.
		}
	}
	return files;
}

function configError(file: string, line: number, why: string): TargetError {
	return new TargetError(`SSH configuration ${file} line ${line}: ${why}. Fix that line to connect.`, "config");
}
