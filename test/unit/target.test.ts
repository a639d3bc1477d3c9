import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { utils } from "ssh2";
import { checkHostKey, fingerprintSha256, hashHostName, parseKnownHosts } from "../../extension/core/targets/knownHosts";
import { LocalTarget } from "../../extension/core/targets/localTarget";
import { parseSshConfig, resolveSshConfig } from "../../extension/core/targets/sshConfig";
import { type HostKeyDecision, SshTarget, type SshTargetOptions, type UnknownHostKey } from "../../extension/core/targets/sshTarget";
import { TargetError, expectSuccess, shellCommand, shellCommandLine, shellQuote } from "../../extension/core/targets/target";
import { formatTarget, parseTarget } from "../../extension/core/targets/targetSpec";
import { type SshServer, TcpProxy, freePort, generateKey, sshKeygenFingerprint, sshServerUnavailable, startSshServer } from "../support/sshServer";

// Words a model, a file name or a user could hand us, each of which breaks naive quoting somewhere.
const ADVERSARIAL = [
	"plain", "", " ", "two words", "'", "''", "it's", '"', "\\", "\\'", "$HOME", "${PATH}", "$(id)", "`id`", "a;b", "a && b", "a || b",
	"a|b", "a > /tmp/knn-pwned", "<", "*", "?", "[a-z]*", "~", "~root", "-n", "--", "-e", "line1\nline2", "\n", "tab\there", "!", "!!",
	"#comment", "{a,b}", "a=b", "FOO=bar", "%s", "é ü 中文 🙂", "\r", "\x01\x7f", "'$(touch /tmp/knn-pwned)'",
];

const tempDirs: string[] = [];
after(() => tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function tempDir(name: string): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), `knn-target-${name}-`));
	tempDirs.push(dir);
	return dir;
}

function rejectsWith(code: TargetError["code"], pattern?: RegExp): (error: unknown) => boolean {
	return (error) => {
		assert.ok(error instanceof TargetError, `expected a TargetError, got ${String(error)}`);
		assert.equal(error.code, code, error.message);
		if (pattern) assert.match(error.message, pattern);
		return true;
	};
}

/** Processes whose command line is exactly argv and that are not zombies, read from /proc. */
function processesRunning(argv: readonly string[]): number[] {
	const found: number[] = [];
	for (const entry of fs.readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").slice(0, -1);
			const state = fs.readFileSync(`/proc/${entry}/stat`, "utf8").replace(/^.*\) /s, "")[0];
			if (state !== "Z" && cmdline.length === argv.length && cmdline.every((word, i) => word === argv[i])) found.push(Number(entry));
		} catch {
			// the process ended while we looked
		}
	}
	return found;
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting until ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 25));
	}
}

function uniqueSleep(): string {
	return String(700000 + Math.floor(Math.random() * 99999));
}

function sha256File(file: string): string {
	return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

describe("shell quoting", () => {
	it("passes adversarial words through sh and bash byte for byte", () => {
		for (const shell of ["sh", "bash"]) {
			const output = execFileSync(shell, ["-c", shellCommand("printf", ["%s\\0", ...ADVERSARIAL])], { encoding: "utf8" });
			assert.deepEqual(output.split("\0").slice(0, -1), ADVERSARIAL, shell);
		}
		assert.equal(fs.existsSync("/tmp/knn-pwned"), false);
	});

	it("leaves plain words readable and refuses NUL bytes", () => {
		assert.equal(shellCommand("insmod", ["/root/nn.ko", "input=1,2"]), "insmod /root/nn.ko 'input=1,2'");
		assert.equal(shellQuote("it's"), `'it'\\''s'`);
		assert.throws(() => shellQuote("a\0b"), rejectsWith("command", /NUL/));
	});

	it("quotes the working directory and environment, and refuses variable names a shell would misread", () => {
		const line = shellCommandLine("sh", ["-c", 'printf "%s|%s" "$PWD" "$V"'], { cwd: "/tmp", env: { V: "$(id) 'x'" } });
		assert.equal(execFileSync("sh", ["-c", line], { encoding: "utf8" }), "/tmp|$(id) 'x'");
		assert.throws(() => shellCommandLine("true", [], { env: { "A;B": "1" } }), rejectsWith("command", /not valid in a shell/));
	});

	it("expectSuccess names the command, the target and the end of stderr", () => {
		assert.throws(
			() => expectSuccess({ code: 2, stdout: "", stderr: "insmod: ERROR: could not insert module\n" }, { description: "root@box:22" }, "insmod nn.ko"),
			rejectsWith("command", /"insmod nn\.ko" exited with code 2 on root@box:22:\ninsmod: ERROR/),
		);
	});
});

describe("target specs", () => {
	it("parses local, sandbox, ssh:// URLs and user@host", () => {
		assert.deepEqual(parseTarget("local"), { kind: "local" });
		assert.deepEqual(parseTarget(" sandbox "), { kind: "sandbox" });
		assert.deepEqual(parseTarget("ssh://root@127.0.0.1:10022"), { kind: "ssh", host: "127.0.0.1", port: 10022, user: "root" });
		assert.deepEqual(parseTarget("ssh://target-box"), { kind: "ssh", host: "target-box" });
		assert.deepEqual(parseTarget("pi@raspberrypi.local"), { kind: "ssh", host: "raspberrypi.local", user: "pi" });
		assert.deepEqual(parseTarget("ssh://root@[::1]:2222"), { kind: "ssh", host: "::1", port: 2222, user: "root" });
		for (const text of ["local", "ssh://root@127.0.0.1:10022", "ssh://box", "ssh://u@[fe80::1]:22"]) assert.equal(formatTarget(parseTarget(text)), text);
	});

	it("rejects malformed targets with a message that says what to write", () => {
		const cases: Array<[string, RegExp]> = [
			["", /empty/],
			["locl", /bare name.*ssh:\/\/locl/],
			["ssh://root:secret@box", /password/],
			["ssh://box:0", /outside 1-65535/],
			["ssh://box:ssh", /not a number/],
			["ssh://box/root", /no path/],
			["ssh://-oProxyCommand=x", /not a valid host name/],
			["http://box", /only ssh:\/\//],
			["ssh://fe80::1", /IPv6 address in brackets/],
			["ssh://@box", /not a valid user name/],
		];
		for (const [text, pattern] of cases) {
			assert.throws(() => parseTarget(text), rejectsWith("config", pattern), text);
			assert.throws(() => parseTarget(text), /Use "local", "sandbox", "ssh:\/\/\[user@\]host\[:port\]"/);
		}
	});
});

describe("~/.ssh/config", () => {
	const context = { homeDir: "/home/me", localUser: "me" };

	it("applies Host patterns with * ? and !, first value wins, IdentityFile accumulates", () => {
		const blocks = parseSshConfig(
			[
				"# targets",
				"Host board? !board9",
				"  HostName 10.0.0.%h",
				"  User=root",
				"  IdentityFile ~/.ssh/board_key",
				"Host board*",
				"  Port 2222",
				"  User pi",
				"  UserKnownHostsFile ~/.ssh/known_boards /etc/ssh/boards",
				"Host *",
				"  IdentityFile %d/.ssh/id_%r",
				"  Port 22",
				'  IdentityFile "/keys/with space"',
			].join("\n"),
		);
		assert.deepEqual(resolveSshConfig(blocks, "board1", context), {
			hostName: "10.0.0.board1",
			port: 2222,
			user: "root",
			identityFiles: ["/home/me/.ssh/board_key", "/home/me/.ssh/id_root", "/keys/with space"],
			userKnownHostsFiles: ["/home/me/.ssh/known_boards", "/etc/ssh/boards"],
		});
		assert.deepEqual(resolveSshConfig(blocks, "board9", context), {
			hostName: "board9",
			port: 2222,
			user: "pi",
			identityFiles: ["/home/me/.ssh/id_pi", "/keys/with space"],
			userKnownHostsFiles: ["/home/me/.ssh/known_boards", "/etc/ssh/boards"],
		});
		assert.deepEqual(resolveSshConfig(blocks, "BOARD12", context).port, 2222, "patterns ignore case");
		assert.deepEqual(resolveSshConfig(blocks, "other", context), { hostName: "other", port: 22, identityFiles: ["/home/me/.ssh/id_me", "/keys/with space"] });
	});

	it("follows Include and skips Match blocks other than Match all", () => {
		const included: Record<string, string> = { "conf.d/*": "Host lab\n  Port 2200\n" };
		const blocks = parseSshConfig("Include conf.d/*\nMatch host lab exec false\n  Port 1\nMatch all\n  User ci\n", "config", (p) => (included[p] ? [{ file: p, text: included[p] }] : []));
		assert.deepEqual(resolveSshConfig(blocks, "lab", context), { hostName: "lab", port: 2200, user: "ci", identityFiles: [] });
	});

	it("names the file and line of a bad value", () => {
		const blocks = parseSshConfig("Host x\n  Port eighty\n", "/home/me/.ssh/config");
		assert.throws(() => resolveSshConfig(blocks, "x", context), rejectsWith("config", /\/home\/me\/\.ssh\/config line 2: Port "eighty"/));
	});
});

describe("known_hosts", () => {
	const ed = generateKey(tempDir("keys"), "a");
	const other = generateKey(tempDir("keys"), "b");
	const blob = (publicKey: string): Buffer => Buffer.from(publicKey.split(" ")[1], "base64");
	const rsaBlob = (utils.parseKey(execFileSync("sh", ["-c", "d=$(mktemp -d) && ssh-keygen -q -t rsa -b 2048 -N '' -f $d/k && cat $d/k.pub && rm -r $d"], { encoding: "utf8" })) as { getPublicSSH(): Buffer }).getPublicSSH();

	it("matches plain names, [host]:port, wildcards and hashed entries by key type and blob", () => {
		const text = [
			`box,10.0.0.7 ${ed.publicKey}`,
			`[127.0.0.1]:10022 ${ed.publicKey} pinned by CI`,
			`*.lab ${ed.publicKey}`,
			`${hashHostName("[hidden]:2222")} ${ed.publicKey}`,
			`box ssh-rsa ${rsaBlob.toString("base64")}`,
			"garbage line",
		].join("\n");
		const entries = parseKnownHosts(text, "/kh");
		assert.equal(entries.length, 5);
		assert.equal(checkHostKey(entries, "box", 22, blob(ed.publicKey)).status, "known");
		assert.equal(checkHostKey(entries, "box", 22, rsaBlob).status, "known", "a second key type of the same host");
		assert.equal(checkHostKey(entries, "10.0.0.7", 22, blob(ed.publicKey)).status, "known");
		assert.equal(checkHostKey(entries, "127.0.0.1", 10022, blob(ed.publicKey)).status, "known");
		assert.equal(checkHostKey(entries, "127.0.0.1", 22, blob(ed.publicKey)).status, "unknown", "port 22 is a different name");
		assert.equal(checkHostKey(entries, "a.lab", 22, blob(ed.publicKey)).status, "known");
		assert.equal(checkHostKey(entries, "hidden", 2222, blob(ed.publicKey)).status, "known");
		const changed = checkHostKey(entries, "box", 22, blob(other.publicKey));
		assert.equal(changed.status, "changed");
		assert.equal(changed.status === "changed" && changed.entry.line, 1);
		const unknown = checkHostKey(parseKnownHosts(`box ssh-rsa ${rsaBlob.toString("base64")}`, "/kh"), "box", 22, blob(ed.publicKey));
		assert.deepEqual(unknown, { status: "unknown", otherKeyTypes: ["ssh-rsa"] });
	});

	it("refuses @revoked keys even when another line accepts them", () => {
		const entries = parseKnownHosts(`box ${ed.publicKey}\n@revoked * ${ed.publicKey}\n`, "/kh");
		assert.equal(checkHostKey(entries, "box", 22, blob(ed.publicKey)).status, "revoked");
	});

	it("computes SHA256 fingerprints exactly as ssh-keygen prints them", () => {
		assert.equal(fingerprintSha256(blob(ed.publicKey)), sshKeygenFingerprint(`${ed.privateKeyFile}.pub`));
	});
});

describe("LocalTarget", () => {
	const local = new LocalTarget();
	after(() => local.close());

	it("returns stdout, stderr and the exit code, and streams lines as they come", async () => {
		const lines: string[] = [];
		const result = await local.run("sh", ["-c", 'echo "out $1"; echo err >&2; printf partial; exit 3', "sh", "a b"], { onLine: (line, stream) => lines.push(`${stream}:${line}`) });
		assert.deepEqual(result, { code: 3, stdout: "out a b\npartial", stderr: "err\n" });
		assert.deepEqual(lines.sort(), ["stderr:err", "stdout:out a b", "stdout:partial"]);
		const fed = await local.run("cat", [], { input: "to stdin", cwd: "/", env: { KNN_X: "1" } });
		assert.equal(fed.stdout, "to stdin");
		assert.equal((await local.run("sh", ["-c", 'echo "$KNN_X $PWD"'], { cwd: "/", env: { KNN_X: "1" } })).stdout, "1 /\n");
	});

	it("cancelling kills the whole process group: the child and the sleep it started", async () => {
		const [first, second] = [uniqueSleep(), uniqueSleep()];
		const controller = new AbortController();
		const started = Date.now();
		const run = local.run("sh", ["-c", `sleep ${first} & echo started; sleep ${second}`], {
			signal: controller.signal,
			onLine: (line) => line === "started" && controller.abort(),
		});
		await assert.rejects(run, rejectsWith("cancelled", /was cancelled/));
		assert.ok(Date.now() - started < 4000);
		await waitUntil("both sleeps are gone", () => processesRunning(["sleep", first]).length === 0 && processesRunning(["sleep", second]).length === 0, 3000);
	});

	it("stops a command that runs past its timeout", async () => {
		const marker = uniqueSleep();
		await assert.rejects(local.run("sleep", [marker], { timeoutMs: 200 }), rejectsWith("timeout", /did not finish within 200 ms/));
		await waitUntil("the sleep is gone", () => processesRunning(["sleep", marker]).length === 0, 3000);
	});

	it("says when a program cannot be started", async () => {
		await assert.rejects(local.run("knn-no-such-program", []), rejectsWith("command", /Could not start "knn-no-such-program".*PATH/));
	});

	it("copies files atomically in both directions", async () => {
		const dir = tempDir("local-copy");
		fs.writeFileSync(path.join(dir, "a"), "content");
		await local.upload(path.join(dir, "a"), path.join(dir, "b"), { mode: 0o600 });
		await local.download(path.join(dir, "b"), path.join(dir, "c"));
		assert.equal(fs.readFileSync(path.join(dir, "c"), "utf8"), "content");
		assert.equal(fs.statSync(path.join(dir, "b")).mode & 0o777, 0o600);
		await assert.rejects(local.upload(path.join(dir, "missing"), path.join(dir, "d")), rejectsWith("transfer", /does not exist/));
		assert.deepEqual(fs.readdirSync(dir).sort(), ["a", "b", "c"]);
	});
});

const unavailable = sshServerUnavailable();

describe("SshTarget against a real OpenSSH sshd", { skip: unavailable }, () => {
	let server: SshServer;
	let noSftp: SshServer;
	let oneSession: SshServer;
	let proxy: TcpProxy;
	let home: string;
	let knownHosts: string;
	const targets: SshTarget[] = [];

	before(async () => {
		server = await startSshServer();
		const keys = { hostKey: server.hostKey, clientKey: server.clientKey };
		noSftp = await startSshServer({ sftp: false, keysFrom: keys });
		oneSession = await startSshServer({ keysFrom: keys, maxSessions: 1 });
		proxy = await TcpProxy.start(server.port);
		home = tempDir("home");
		knownHosts = path.join(home, "known_hosts");
		fs.writeFileSync(knownHosts, [server, noSftp, oneSession].map((s) => s.knownHostsLine()).concat(server.knownHostsLine(proxy.port)).join("\n") + "\n");
	});

	after(async () => {
		await Promise.all(targets.map((t) => t.close()));
		await proxy?.close();
		await Promise.all([server?.stop(), noSftp?.stop(), oneSession?.stop()]);
	});

	function target(port: number, options: Partial<SshTargetOptions> = {}): SshTarget {
		const t = new SshTarget({
			host: "127.0.0.1",
			port,
			user: "root",
			homeDir: home,
			sshConfigFile: null,
			agent: false,
			identityFiles: [server.clientKey.privateKeyFile],
			knownHostsFiles: [knownHosts],
			...options,
		});
		targets.push(t);
		return t;
	}

	it("runs commands and returns stdout, stderr, exit codes and signals", async () => {
		const t = target(server.port);
		assert.equal(t.description, `root@127.0.0.1:${server.port}`);
		assert.deepEqual(await t.run("sh", ["-c", "echo out; echo err >&2; exit 7"]), { code: 7, stdout: "out\n", stderr: "err\n" });
		assert.deepEqual(await t.run("sh", ["-c", "kill -TERM $$"]), { code: null, signal: "TERM", stdout: "", stderr: "" });
		assert.equal((await t.run("cat", [], { input: "fed through stdin" })).stdout, "fed through stdin");
		assert.equal((await t.run("knn-no-such-program", [])).code, 127);
		assert.equal((await t.run("sh", ["-c", 'echo "$KNN_V|$PWD"'], { cwd: "/tmp", env: { KNN_V: "a'b $(id)" } })).stdout, "a'b $(id)|/tmp\n");
	});

	it("streams lines while the command is still running", async () => {
		const t = target(server.port);
		const seen: Array<{ line: string; at: number }> = [];
		const started = Date.now();
		await t.run("sh", ["-c", "echo first; echo oops >&2; sleep 0.6; echo last"], { onLine: (line, stream) => seen.push({ line: `${stream}:${line}`, at: Date.now() - started }) });
		const end = Date.now() - started;
		assert.deepEqual(seen.map((s) => s.line).sort(), ["stderr:oops", "stdout:first", "stdout:last"]);
		assert.ok(seen.find((s) => s.line === "stdout:first")!.at < end - 400, `first line at ${seen[0].at} ms of ${end} ms`);
	});

	it("hands adversarial arguments to the remote program byte for byte", async () => {
		const t = target(server.port);
		const result = await t.run("printf", ["%s\\0", ...ADVERSARIAL]);
		assert.deepEqual(result.stdout.split("\0").slice(0, -1), ADVERSARIAL);
		assert.equal(fs.existsSync("/tmp/knn-pwned"), false);
	});

	it("cancelling a pty follower ends the remote process", async () => {
		const t = target(server.port);
		const marker = uniqueSleep();
		const controller = new AbortController();
		const follow = t.run("sh", ["-c", `echo following; exec sleep ${marker}`], { pty: true, signal: controller.signal, onLine: (line) => line === "following" && controller.abort() });
		await assert.rejects(follow, rejectsWith("cancelled"));
		await waitUntil("the remote sleep is gone", () => processesRunning(["sleep", marker]).length === 0, 5000);
		assert.equal((await t.run("echo", ["still usable"])).stdout, "still usable\n");
	});

	it("stops a pty command that runs past its timeout", async () => {
		const t = target(server.port);
		const marker = uniqueSleep();
		await assert.rejects(t.run("sleep", [marker], { pty: true, timeoutMs: 300 }), rejectsWith("timeout", /did not finish within 300 ms/));
		await waitUntil("the remote sleep is gone", () => processesRunning(["sleep", marker]).length === 0, 5000);
	});

	it("uploads and downloads a 5 MB file over SFTP, atomically and with the asked mode", async () => {
		const t = target(server.port);
		const dir = tempDir("sftp");
		const source = path.join(dir, "model.ko");
		fs.writeFileSync(source, randomBytes(5 * 1024 * 1024));
		const remote = path.join(dir, "remote", "model.ko");
		fs.mkdirSync(path.dirname(remote));
		fs.writeFileSync(remote, "old");
		let progress = 0;
		await t.upload(source, remote, { mode: 0o640, onProgress: (done) => (progress = done) });
		assert.equal(sha256File(remote), sha256File(source));
		assert.equal(fs.statSync(remote).mode & 0o777, 0o640);
		assert.equal(progress, 5 * 1024 * 1024);
		await t.download(remote, path.join(dir, "back.ko"));
		assert.equal(sha256File(path.join(dir, "back.ko")), sha256File(source));
		assert.deepEqual(fs.readdirSync(path.dirname(remote)), ["model.ko"], "no temporary left behind");
		await assert.rejects(t.upload(source, path.join(dir, "no-such-dir", "x")), rejectsWith("transfer", /the target folder does not exist/));
		await assert.rejects(t.download(path.join(dir, "missing"), path.join(dir, "x")), rejectsWith("transfer", /no such file on the target/));
		assert.deepEqual(fs.readdirSync(dir).sort(), ["back.ko", "model.ko", "remote"]);
	});

	it("a cancelled upload leaves neither the file nor its temporary, and the target stays usable", async () => {
		const t = target(server.port);
		const dir = tempDir("cancel-upload");
		const source = path.join(dir, "big");
		fs.writeFileSync(source, randomBytes(8 * 1024 * 1024));
		const remote = path.join(dir, "remote");
		fs.mkdirSync(remote);
		const controller = new AbortController();
		const upload = t.upload(source, path.join(remote, "big"), { signal: controller.signal, onProgress: () => controller.abort() });
		await assert.rejects(upload, rejectsWith("cancelled", /Uploading .* was cancelled/));
		assert.deepEqual(fs.readdirSync(remote), []);
		await t.upload(source, path.join(remote, "big"));
		assert.equal(sha256File(path.join(remote, "big")), sha256File(source));
	});

	it("falls back to cat when the server has no SFTP subsystem", async () => {
		const logs: string[] = [];
		const t = target(noSftp.port, { log: (m) => logs.push(m) });
		const dir = tempDir("nosftp");
		const source = path.join(dir, "payload");
		fs.writeFileSync(source, randomBytes(1024 * 1024 + 17));
		const remote = path.join(dir, "uploaded");
		await t.upload(source, remote, { mode: 0o600 });
		assert.equal(sha256File(remote), sha256File(source));
		assert.equal(fs.statSync(remote).mode & 0o777, 0o600);
		await t.download(remote, path.join(dir, "back"));
		assert.equal(sha256File(path.join(dir, "back")), sha256File(source));
		assert.ok(logs.some((m) => /no SFTP subsystem; copying files with cat/.test(m)), logs.join("\n"));
		assert.deepEqual(fs.readdirSync(dir).sort(), ["back", "payload", "uploaded"]);
	});

	it("a connection cut mid-upload fails with disconnected, leaves no file, and the next command reconnects", async () => {
		const t = target(proxy.port);
		const dir = tempDir("cut");
		const source = path.join(dir, "big");
		fs.writeFileSync(source, randomBytes(5 * 1024 * 1024));
		const remote = path.join(dir, "remote");
		fs.mkdirSync(remote);
		await t.run("true", []);
		const cut = proxy.cutAfterUpload(1024 * 1024);
		await assert.rejects(t.upload(source, path.join(remote, "big")), rejectsWith("disconnected", /was lost while uploading/));
		await cut;
		assert.equal(fs.existsSync(path.join(remote, "big")), false, "nothing at the final name");
		const connectionsBefore = proxy.connections;
		assert.equal((await t.run("echo", ["back"])).stdout, "back\n");
		assert.equal(proxy.connections, connectionsBefore + 1);
		assert.deepEqual(fs.readdirSync(remote), [], "the partial temporary was removed on reconnect");
	});

	it("a connection cut during a long command fails it with disconnected at once", async () => {
		const t = target(proxy.port);
		const marker = uniqueSleep();
		const run = t.run("sh", ["-c", `echo started; sleep ${marker}`], { onLine: () => proxy.cut() });
		const started = Date.now();
		await assert.rejects(run, rejectsWith("disconnected", new RegExp(`was lost while running "sh -c 'echo started; sleep ${marker}'"`)));
		assert.ok(Date.now() - started < 2000);
		assert.equal((await t.run("echo", ["again"])).stdout, "again\n");
		await t.run("pkill", ["-x", "-f", `sleep ${marker}`]);
	});

	it("a link that goes silent is detected by keepalives instead of hanging", async () => {
		const frozenProxy = await TcpProxy.start(server.port);
		fs.appendFileSync(knownHosts, `${server.knownHostsLine(frozenProxy.port)}\n`);
		const t = target(frozenProxy.port, { keepaliveIntervalMs: 200, keepaliveCountMax: 2 });
		try {
			const run = t.run("sh", ["-c", "echo started; sleep 30"], { onLine: () => frozenProxy.freeze() });
			const started = Date.now();
			await assert.rejects(run, rejectsWith("disconnected", /stopped answering keepalives/));
			assert.ok(Date.now() - started < 3000, `detected after ${Date.now() - started} ms`);
		} finally {
			await frozenProxy.close();
		}
	});

	it("retries a refused channel open once on a fresh connection, leaving a running follower alone", async () => {
		const logs: string[] = [];
		const t = target(oneSession.port, { log: (m) => logs.push(m) });
		const marker = uniqueSleep();
		const controller = new AbortController();
		let following!: () => void;
		const followerStarted = new Promise<void>((resolve) => (following = resolve));
		const follower = t.run("sh", ["-c", `echo following; exec sleep ${marker}`], { pty: true, signal: controller.signal, onLine: () => following() });
		await followerStarted;
		assert.equal((await t.run("echo", ["second channel"])).stdout, "second channel\n");
		assert.ok(logs.some((m) => /retrying once on a fresh connection/.test(m)), logs.join("\n"));
		assert.equal(processesRunning(["sleep", marker]).length, 1, "the follower on the first connection still runs");
		controller.abort();
		await assert.rejects(follower, rejectsWith("cancelled"));
		await waitUntil("the follower is gone", () => processesRunning(["sleep", marker]).length === 0, 5000);
	});

	it("refuses a changed host key and says which file and line to fix", async () => {
		const impostor = generateKey(tempDir("impostor"), "impostor");
		const file = path.join(tempDir("changed"), "known_hosts");
		fs.writeFileSync(file, `# pinned\n[127.0.0.1]:${server.port} ${impostor.publicKey}\n`);
		let asked = false;
		const t = target(server.port, { knownHostsFiles: [file], onUnknownHostKey: async () => ((asked = true), "accept-once") });
		const fingerprint = sshKeygenFingerprint(`${server.hostKey.privateKeyFile}.pub`);
		await assert.rejects(t.run("true", []), (error) => {
			rejectsWith("host-key-changed")(error);
			const message = (error as Error).message;
			for (const part of [`[127.0.0.1]:${server.port}`, `${file} line 2`, fingerprint, `ssh-keygen -R '[127.0.0.1]:${server.port}' -f '${file}'`]) {
				assert.ok(message.includes(part), `message lacks ${part}: ${message}`);
			}
			return true;
		});
		assert.equal(asked, false, "a changed key is never offered for acceptance");
	});

	it("asks about an unknown host key: reject refuses, accept-and-save appends a line and the next connect is silent", async () => {
		const file = path.join(tempDir("unknown"), "known_hosts");
		const asked: UnknownHostKey[] = [];
		const ask = (decision: HostKeyDecision) => async (key: UnknownHostKey) => (asked.push(key), decision);
		await assert.rejects(target(server.port, { knownHostsFiles: [file], onUnknownHostKey: ask("reject") }).run("true", []), rejectsWith("host-key-unknown", /you did not accept it/));
		assert.deepEqual(asked, [{ host: "127.0.0.1", port: server.port, keyType: "ssh-ed25519", fingerprintSha256: sshKeygenFingerprint(`${server.hostKey.privateKeyFile}.pub`), otherKnownKeyTypes: [] }]);
		assert.equal(fs.existsSync(file), false);
		await assert.rejects(target(server.port, { knownHostsFiles: [file] }).run("true", []), rejectsWith("host-key-unknown", /no one was asked/));

		const once = target(server.port, { knownHostsFiles: [file], onUnknownHostKey: ask("accept-once") });
		assert.equal((await once.run("echo", ["once"])).code, 0);
		assert.equal(fs.existsSync(file), false, "accept-once saves nothing");

		assert.equal((await target(server.port, { knownHostsFiles: [file], onUnknownHostKey: ask("accept-and-save") }).run("true", [])).code, 0);
		assert.equal(fs.readFileSync(file, "utf8"), `${server.knownHostsLine()}\n`);
		asked.length = 0;
		assert.equal((await target(server.port, { knownHostsFiles: [file], onUnknownHostKey: ask("reject") }).run("true", [])).code, 0);
		assert.equal(asked.length, 0, "the saved key is trusted without asking");
	});

	it("accepts hashed known_hosts entries and refuses @revoked keys", async () => {
		const dir = tempDir("hashed");
		const hashed = path.join(dir, "hashed");
		fs.writeFileSync(hashed, `${hashHostName(`[127.0.0.1]:${server.port}`)} ${server.hostKey.publicKey}\n`);
		assert.equal((await target(server.port, { knownHostsFiles: [hashed], onUnknownHostKey: async () => assert.fail("asked") }).run("true", [])).code, 0);
		const revoked = path.join(dir, "revoked");
		fs.writeFileSync(revoked, `${server.knownHostsLine()}\n@revoked * ${server.hostKey.publicKey}\n`);
		await assert.rejects(target(server.port, { knownHostsFiles: [revoked] }).run("true", []), rejectsWith("host-key-revoked", /@revoked in .*revoked line 2/));
	});

	it("reads HostName, Port, User, IdentityFile and UserKnownHostsFile from ~/.ssh/config", async () => {
		const configHome = tempDir("config-home");
		fs.mkdirSync(path.join(configHome, ".ssh"));
		fs.writeFileSync(path.join(configHome, ".ssh", "known"), `${server.knownHostsLine()}\n`);
		fs.writeFileSync(
			path.join(configHome, ".ssh", "config"),
			["Host knn-box", "  HostName 127.0.0.1", `  Port ${server.port}`, "  User root", `  IdentityFile ${server.clientKey.privateKeyFile}`, "  UserKnownHostsFile ~/.ssh/known", "Host *", "  Port 1", "  User nobody"].join("\n"),
		);
		const t = new SshTarget({ host: "knn-box", homeDir: configHome, agent: false });
		targets.push(t);
		assert.equal(t.description, `root@knn-box:${server.port}`);
		assert.equal((await t.run("whoami", [])).stdout, "root\n");
	});

	it("reports a refused login as an auth error naming the keys tried, and asks for a key's passphrase", async () => {
		const keys = tempDir("auth");
		const stranger = generateKey(keys, "stranger");
		await assert.rejects(target(server.port, { identityFiles: [stranger.privateKeyFile] }).run("true", []), rejectsWith("auth", new RegExp(`accepted none of: ${stranger.privateKeyFile}.*authorized_keys`)));

		const locked = generateKey(keys, "locked", "correct horse");
		server.authorize(locked);
		const prompts: string[] = [];
		const t = target(server.port, { identityFiles: [locked.privateKeyFile], askSecret: async (kind, prompt) => (prompts.push(`${kind}: ${prompt}`), kind === "passphrase" ? "correct horse" : undefined) });
		assert.equal((await t.run("echo", ["unlocked"])).stdout, "unlocked\n");
		assert.deepEqual(prompts, [`passphrase: Passphrase for ${locked.privateKeyFile}`]);
	});

	it("logs in with a key held by ssh-agent", async () => {
		const dir = tempDir("agent");
		const key = generateKey(dir, "agent_key");
		server.authorize(key);
		const socket = path.join(dir, "agent.sock");
		const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
		try {
			await waitUntil("ssh-agent listens", () => fs.existsSync(socket));
			execFileSync("ssh-add", ["-q", key.privateKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "ignore" });
			const t = target(server.port, { agent: socket, identityFiles: [] });
			assert.equal((await t.run("echo", ["via agent"])).stdout, "via agent\n");
		} finally {
			agent.kill();
		}
	});

	it("does not count time spent answering a prompt toward the connect timeout, but times out a silent server", async () => {
		const dir = tempDir("slow-user");
		const locked = generateKey(dir, "slow", "pw");
		server.authorize(locked);
		// The answer takes longer than the whole timeout; the handshake around it must fit even on a loaded machine.
		const slowUser = async (): Promise<string> => (await new Promise((resolve) => setTimeout(resolve, 2000)), "pw");
		const t = target(server.port, { identityFiles: [locked.privateKeyFile], connectTimeoutMs: 1500, askSecret: slowUser });
		assert.equal((await t.run("true", [])).code, 0);

		const silent = net.createServer((socket) => socket.on("error", () => undefined));
		await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
		try {
			const started = Date.now();
			const port = (silent.address() as net.AddressInfo).port;
			await assert.rejects(target(port, { connectTimeoutMs: 300 }).run("true", []), rejectsWith("timeout", /No SSH handshake with root@127\.0\.0\.1:\d+ within 300 ms/));
			assert.ok(Date.now() - started < 2000);
		} finally {
			silent.close();
		}
	});

	it("close() stops running commands and refuses new ones", async () => {
		const t = target(server.port);
		const marker = uniqueSleep();
		let started!: () => void;
		const running = new Promise<void>((resolve) => (started = resolve));
		const run = t.run("sh", ["-c", `echo go; exec sleep ${marker}`], { pty: true, onLine: () => started() });
		await running;
		await t.close();
		await assert.rejects(run, rejectsWith("cancelled"));
		await assert.rejects(t.run("true", []), rejectsWith("disconnected", /was closed/));
		await waitUntil("the remote sleep is gone", () => processesRunning(["sleep", marker]).length === 0, 5000);
	});

	it("says clearly when nothing listens on the port", async () => {
		const closedPort = await freePort();
		await assert.rejects(target(closedPort).run("true", []), rejectsWith("connect", new RegExp(`Could not connect to root@127.0.0.1:${closedPort}: connection refused`)));
	});
});
