import { TargetError } from "./target";

/** Which machine to use, as written in settings and on the command line. */
export type TargetSpec =
	| { kind: "local" }
	| { kind: "sandbox" }
	/** host may be an alias from ~/.ssh/config; port and user then come from there unless given here. */
	| { kind: "ssh"; host: string; port?: number; user?: string };

const FORMS = `"local", "sandbox", "ssh://[user@]host[:port]" or "user@host[:port]"`;
const HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/;

/** Parses "local", "sandbox", "ssh://user@host:port" (user and port optional) or "user@host[:port]". */
export function parseTarget(text: string): TargetSpec {
	const spec = text.trim();
	if (spec === "local" || spec === "sandbox") return { kind: spec };
	if (spec === "") throw specError(text, "it is empty");
	let rest: string;
	if (/^ssh:\/\//i.test(spec)) {
		rest = spec.slice("ssh://".length);
		if (rest.endsWith("/")) rest = rest.slice(0, -1);
	} else if (spec.includes("@")) {
		rest = spec;
	} else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
		throw specError(text, `only ssh:// targets are supported, not ${spec.slice(0, spec.indexOf(":"))}://`);
	} else {
		throw specError(text, `a bare name is not a target; for an SSH host or ~/.ssh/config alias write "ssh://${spec}"`);
	}
	if (rest.includes("/")) throw specError(text, "an SSH target has no path; give only [user@]host[:port]");

	let user: string | undefined;
	const at = rest.lastIndexOf("@");
	if (at >= 0) {
		user = rest.slice(0, at);
		rest = rest.slice(at + 1);
		if (user.includes(":")) throw specError(text, "it contains a password; leave it out, you will be asked for it when needed");
		if (!USER_NAME.test(user)) throw specError(text, `"${user}" is not a valid user name`);
	}

	let host: string;
	let portText: string | undefined;
	if (rest.startsWith("[")) {
		const close = rest.indexOf("]");
		if (close < 0) throw specError(text, `the IPv6 address has no closing "]"`);
		host = rest.slice(1, close);
		const after = rest.slice(close + 1);
		if (after !== "" && !after.startsWith(":")) throw specError(text, `unexpected "${after}" after the IPv6 address`);
		portText = after === "" ? undefined : after.slice(1);
		if (!/^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/.test(host) || !host.includes(":")) throw specError(text, `"${host}" is not an IPv6 address`);
	} else {
		const colon = rest.indexOf(":");
		if (colon >= 0 && rest.indexOf(":", colon + 1) >= 0) throw specError(text, `write an IPv6 address in brackets, as in ssh://root@[${rest}]:22`);
		host = colon >= 0 ? rest.slice(0, colon) : rest;
		portText = colon >= 0 ? rest.slice(colon + 1) : undefined;
		if (host === "") throw specError(text, "the host name is missing");
		if (!HOST_NAME.test(host)) throw specError(text, `"${host}" is not a valid host name`);
	}

	const result: TargetSpec = { kind: "ssh", host };
	if (user !== undefined) result.user = user;
	if (portText !== undefined) result.port = parsePort(text, portText);
	return result;
}

/** The inverse of parseTarget. */
export function formatTarget(spec: TargetSpec): string {
	if (spec.kind !== "ssh") return spec.kind;
	const host = spec.host.includes(":") ? `[${spec.host}]` : spec.host;
	return `ssh://${spec.user !== undefined ? `${spec.user}@` : ""}${host}${spec.port !== undefined ? `:${spec.port}` : ""}`;
}

function parsePort(text: string, portText: string): number {
	if (!/^[0-9]{1,5}$/.test(portText)) throw specError(text, `port "${portText}" is not a number`);
	const port = Number(portText);
	if (port < 1 || port > 65535) throw specError(text, `port ${port} is outside 1-65535`);
	return port;
}

function specError(text: string, why: string): TargetError {
	return new TargetError(`Target ${JSON.stringify(text)} is not valid: ${why}. Use ${FORMS}.`, "config");
}
