import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type TestContext, after, before, describe, it } from "node:test";
import { CHANNEL_TOOL_GCC_ARGS, buildChannelTool, channelToolSources } from "../../extension/core/runtime/channelTool";
import {
	REMOTE_RUNTIME_DIR, activateModel, addApp, deleteApp, formatStatus, parseChannelLine, rollbackApp, runtimeStatus, setGuard, streamChannel,
} from "../../extension/core/runtime/client";
import { installRuntime } from "../../extension/core/runtime/install";
import { ChannelCommandError, RuntimeError } from "../../extension/core/runtime/runtimeError";
import type { AppStatus, ChannelLine } from "../../extension/core/runtime/types";
import { openTarget } from "../../extension/core/targets/openTarget";
import { type RunOptions, type RunResult, type Target, cancelledError } from "../../extension/core/targets/target";
import { parseTarget } from "../../extension/core/targets/targetSpec";
import { hasCode } from "../../extension/core/util/errors";
import { tempDir } from "../support/cli";
import { withSandbox } from "../support/sandbox";

const RUNTIME_DIR = path.dirname(path.dirname(channelToolSources().source));
const CORE_READY = fs.existsSync(path.join(RUNTIME_DIR, "core", "Kbuild"));
const ERRNO = os.constants.errno;

/** A target whose every command answers with `reply`; it records what was run. */
function fakeTarget(reply: (command: string, args: readonly string[], options: RunOptions) => RunResult | Promise<RunResult>) {
	const calls: { command: string; args: readonly string[]; options: RunOptions }[] = [];
	const target: Target = {
		description: "root@box:22",
		run: async (command, args, options = {}) => {
			calls.push({ command, args, options });
			return reply(command, args, options);
		},
		upload: async () => undefined,
		download: async () => undefined,
		close: async () => undefined,
		dispose: () => undefined,
	};
	return { target, calls };
}

const ok = (stdout = "{\"ok\":true}\n"): RunResult => ({ code: 0, stdout, stderr: "" });

// What knn-channel list prints for an application with one active and one failed model (written by hand from types.ts).
const TCP_LINE = JSON.stringify({
	app: "tcp", owner: "knn_tcp", inputType: "float32", outputType: "float32", inputBytes: 36, outputBytes: 4, stateBytes: 256, activeId: 7,
	slots: [
		{ index: 0, modelId: 7, name: "indigo", module: "knn_indigo", active: true, failed: "none", inferences: 120000, errors: 0, skipped: 3, rollbacks: 0, latencyP50Ns: 1500, latencyP99Ns: 12250, latencyMaxNs: 40000, usesFpu: true, registeredMs: 1733600000000 },
		{ index: 1, modelId: 6, name: "aurora", module: "knn_aurora", active: false, failed: "nan", inferences: 90, errors: 1, skipped: 0, rollbacks: 1, latencyP50Ns: 800, latencyP99Ns: 900, latencyMaxNs: 1000, usesFpu: true, registeredMs: 1733500000000 },
	],
	recordsSent: 5000, recordsDropped: 12, guard: { window: 1024, latencyNs: 50000, min: -1, max: 1, badOutputs: 4 },
});
const EMPTY_LINE = JSON.stringify({
	app: "mine", owner: "knn_core", inputType: "int8", outputType: "int32", inputBytes: 8, outputBytes: 4, stateBytes: 0, activeId: 0, slots: [],
	recordsSent: 0, recordsDropped: 0, guard: { window: 1024, latencyNs: 0 },
});

describe("knn-channel stream lines become typed ChannelLines, and anything else is refused naming the line", () => {
	it("a record keeps its numbers, and NaN/Infinity written as strings (JSON has neither) come back as numbers", () => {
		const line = parseChannelLine("{\"kind\":\"record\",\"app\":\"tcp\",\"seq\":41,\"timeNs\":123456789,\"modelId\":7,\"latencyNs\":950,"
			+ "\"input\":[0.5,-2,1e-07],\"output\":[\"NaN\",\"Infinity\",\"-Infinity\",3]}");
		assert.equal(line.kind, "record");
		assert.deepEqual(line, { kind: "record", app: "tcp", seq: 41, timeNs: 123456789, modelId: 7, latencyNs: 950, input: [0.5, -2, 1e-7], output: [NaN, Infinity, -Infinity, 3] });
	});

	it("an event and a dropped gap are read with every field", () => {
		assert.deepEqual(parseChannelLine("{\"kind\":\"event\",\"app\":\"netfilter\",\"event\":\"guard\",\"reason\":\"latency\",\"fromId\":3,\"toId\":2,\"modelId\":3,\"message\":\"app netfilter: rolled back\",\"timeMs\":1733600000123}"),
			{ kind: "event", app: "netfilter", event: "guard", reason: "latency", fromId: 3, toId: 2, modelId: 3, message: "app netfilter: rolled back", timeMs: 1733600000123 });
		assert.deepEqual(parseChannelLine("{\"kind\":\"dropped\",\"app\":\"*\",\"count\":-1}"), { kind: "dropped", app: "*", count: -1 });
	});

	for (const [what, text, why] of [
		["not JSON (a line cut by a dropped connection)", "{\"kind\":\"record\",\"app\":\"tc", /JSON|Unterminated|Expected/],
		["an unknown kind", "{\"kind\":\"hello\",\"app\":\"tcp\"}", /"kind" is "hello"/],
		["a record without its output", "{\"kind\":\"record\",\"app\":\"tcp\",\"seq\":1,\"timeNs\":1,\"modelId\":1,\"latencyNs\":1,\"input\":[]}", /"output" is not an array/],
		["an event of an unknown reason", "{\"kind\":\"event\",\"app\":\"tcp\",\"event\":\"guard\",\"reason\":\"bored\",\"fromId\":1,\"toId\":0,\"modelId\":1,\"message\":\"\",\"timeMs\":0}", /"reason" is "bored"/],
		["a value that is no number", "{\"kind\":\"record\",\"app\":\"tcp\",\"seq\":1,\"timeNs\":1,\"modelId\":1,\"latencyNs\":1,\"input\":[\"x\"],\"output\":[]}", /"input" holds "x"/],
	] as const) {
		it(`${what} fails with a RuntimeError quoting the line`, () => {
			assert.throws(() => parseChannelLine(text), (error: unknown) => {
				assert.ok(error instanceof RuntimeError && hasCode(error, "runtime"), String(error));
				assert.match(error.message, why);
				assert.ok(error.message.includes(text.slice(0, 20)), error.message);
				return true;
			});
		});
	}
});

describe("knn runtime status's table shows each application, its slots with the active one starred, counters and latency in microseconds", () => {
	const apps = [TCP_LINE, EMPTY_LINE].map((line) => JSON.parse(line) as AppStatus);
	const text = formatStatus(apps);
	const lines = text.split("\n");

	it("names the application, owner, tensor types and sizes, and the guard", () => {
		assert.match(lines[0], /^tcp \(knn_tcp\): float32 36 B in -> float32 4 B out, state 256 B; active model 7$/);
		assert.match(lines[1], /records 5000 sent, 12 dropped; guard: window 1024, rolls back at 4 bad outputs, mean latency <= 50\.0 us, outputs in \[-1, 1\]/);
	});

	it("stars the active slot, states why the other failed, and prints p50/p99/max in us (1500 ns = 1.5 us)", () => {
		const active = lines.find((l) => l.trimStart().startsWith("*"));
		assert.ok(active, text);
		assert.deepEqual(active.trim().split(/\s{2,}/), ["*  0", "7", "indigo", "knn_indigo", "active", "120000", "0", "3", "0", "1.5", "12.3", "40.0"].join("  ").split(/\s{2,}/));
		const failed = lines.find((l) => l.includes("aurora"));
		assert.ok(failed && !failed.trimStart().startsWith("*") && failed.includes("failed (nan)") && /0\.8\s+0\.9\s+1\.0$/.test(failed), failed);
	});

	it("an application with no model says so, and no application at all is a sentence", () => {
		assert.ok(text.includes("mine (knn_core): int8 8 B in -> int32 4 B out, state 0 B; no active model"), text);
		assert.ok(text.includes("no latency budget, any finite output"), text);
		assert.ok(text.endsWith("  no model registered"), text);
		assert.equal(formatStatus([]), "knn_core is loaded but has no applications.");
	});
});

describe("the runtime client runs knn-channel on the target and turns its verdicts into typed errors", () => {
	it("runtimeStatus runs list with the application's name as its own word and reads every line", async () => {
		const { target, calls } = fakeTarget(() => ok(`${TCP_LINE}\n${EMPTY_LINE}\n`));
		const apps = await runtimeStatus(target, { app: "tcp" });
		assert.deepEqual(calls[0].command, `${REMOTE_RUNTIME_DIR}/knn-channel`);
		assert.deepEqual(calls[0].args, ["list", "--app", "tcp"]);
		assert.deepEqual(apps.map((a) => [a.app, a.activeId, a.slots.length, a.guard.min, a.guard.max]), [["tcp", 7, 2, -1, 1], ["mine", 0, 0, undefined, undefined]]);
		assert.deepEqual(apps[0], JSON.parse(TCP_LINE));
	});

	it("a refusal by knn_core becomes ChannelCommandError with its errno and extack message, naming the target", async () => {
		const verdict = "{\"ok\":false,\"errno\":2,\"error\":\"No such file or directory: app tcp has no standby model: register a model first\"}\n";
		const { target, calls } = fakeTarget(() => ({ code: 1, stdout: verdict, stderr: "" }));
		await assert.rejects(activateModel(target, "tcp", 5), (error: unknown) => {
			assert.ok(error instanceof ChannelCommandError && hasCode(error, "runtime"), String(error));
			assert.equal(error.errno, ERRNO.ENOENT);
			assert.match(error.message, /knn_core on root@box:22 refused "knn-channel activate --app tcp --model 5": No such file or directory: app tcp has no standby model/);
			return true;
		});
		assert.deepEqual(calls[0].args, ["activate", "--app", "tcp", "--model", "5"]);
	});

	it("knn_core not loaded (exit 2) and a missing tool (exit 127) each say what to run", async () => {
		const notLoaded = fakeTarget(() => ({ code: 2, stdout: "", stderr: "knn-channel: knn_core is not loaded (generic netlink family \"knn\" not found): run knn runtime install\n" }));
		await assert.rejects(rollbackApp(notLoaded.target, "tcp"), (error: unknown) => error instanceof RuntimeError
			&& /^knn_core is not loaded \(generic netlink family "knn" not found\): run knn runtime install \(on root@box:22\)$/.test(error.message));
		const missing = fakeTarget(() => ({ code: 127, stdout: "", stderr: "sh: /tmp/knn/runtime/knn-channel: not found\n" }));
		await assert.rejects(runtimeStatus(missing.target), /\/tmp\/knn\/runtime\/knn-channel is missing on root@box:22: run knn runtime install/);
	});

	it("addApp and setGuard pass sizes, types and guard values as separate arguments", async () => {
		const { target, calls } = fakeTarget(() => ok());
		await addApp(target, { app: "mine", inputType: "int16", outputType: "float32", inputBytes: 64, outputBytes: 8, stateBytes: 32 });
		await setGuard(target, "mine", { window: 100, badOutputs: 2, latencyNs: 20000, min: -0.5, max: 2 });
		await deleteApp(target, "mine");
		assert.deepEqual(calls.map((c) => c.args), [
			["app-add", "--app", "mine", "--input-type", "int16", "--output-type", "float32", "--input-bytes", "64", "--output-bytes", "8", "--state-bytes", "32"],
			["guard", "--app", "mine", "--window", "100", "--bad-outputs", "2", "--latency-ns", "20000", "--min", "-0.5", "--max", "2"],
			["app-del", "--app", "mine"],
		]);
	});

	it("streamChannel runs on a pty, hands over each line in order, skips the tool's other text, and resolves on abort", async () => {
		const controller = new AbortController();
		const { target, calls } = fakeTarget((_command, _args, options) => {
			options.onLine?.("{\"kind\":\"dropped\",\"app\":\"tcp\",\"count\":3}", "stdout");
			options.onLine?.("warning: something for people", "stdout");
			options.onLine?.("{\"kind\":\"record\",\"app\":\"tcp\",\"seq\":4,\"timeNs\":9,\"modelId\":1,\"latencyNs\":700,\"input\":[1],\"output\":[2]}", "stdout");
			controller.abort();
			throw cancelledError("root@box:22", "knn-channel stream");
		});
		const seen: ChannelLine[] = [];
		await streamChannel(target, { app: "tcp", recordsOnly: true, signal: controller.signal, onLine: (line) => seen.push(line) });
		assert.equal(calls[0].options.pty, true);
		assert.deepEqual(calls[0].args, ["stream", "--app", "tcp", "--records-only"]);
		assert.deepEqual(seen.map((l) => [l.kind, l.kind === "record" ? l.seq : l.kind === "dropped" ? l.count : 0]), [["dropped", 3], ["record", 4]]);
	});

	it("a stream line that does not parse stops the stream with the parse error", async () => {
		const { target } = fakeTarget(async (_command, _args, options) => {
			options.onLine?.("{\"kind\":\"record\"", "stdout");
			return { code: null, signal: "HUP", stdout: "", stderr: "" };
		});
		await assert.rejects(streamChannel(target, { signal: new AbortController().signal, onLine: () => undefined }), (error: unknown) => error instanceof RuntimeError && /stream line/.test(error.message));
	});
});

describe("knn-channel builds as one static binary with no warnings", () => {
	let cacheDir: string;
	let binary: string;

	before(async () => {
		cacheDir = tempDir("runtime-channel-cache");
		binary = await buildChannelTool(cacheDir);
	});

	it("gcc -O2 -static -Wall -Wextra prints nothing and the result has no program interpreter", () => {
		const dir = tempDir("runtime-channel-gcc");
		fs.mkdirSync(path.join(dir, "tools"));
		fs.mkdirSync(path.join(dir, "core"));
		fs.copyFileSync(channelToolSources().source, path.join(dir, "tools", "knn_channel.c"));
		fs.copyFileSync(channelToolSources().header, path.join(dir, "core", "knn_channel.h"));
		const gcc = spawnSync("gcc", [...CHANNEL_TOOL_GCC_ARGS], { cwd: path.join(dir, "tools"), encoding: "utf8" });
		assert.equal(gcc.status, 0, gcc.stderr);
		assert.equal(gcc.stderr, "", "gcc printed warnings");
		const headers = spawnSync("readelf", ["-l", path.join(dir, "tools", "knn-channel")], { encoding: "utf8" });
		assert.equal(headers.status, 0, headers.stderr);
		assert.doesNotMatch(headers.stdout, /INTERP|Requesting program interpreter/);
	});

	it("the build is cached by content: a second call returns the same file without rebuilding it", async () => {
		const before = fs.statSync(binary).mtimeMs;
		assert.equal(await buildChannelTool(cacheDir), binary);
		assert.equal(fs.statSync(binary).mtimeMs, before);
	});

	it("without knn_core it exits 2 with the install hint; a bad command line exits 64; --help exits 0", () => {
		// This machine never has knn_core loaded (the VM does), so the family lookup fails here.
		const list = spawnSync(binary, ["list"], { encoding: "utf8" });
		assert.equal(list.status, 2, list.stderr);
		assert.equal(list.stderr, "knn-channel: knn_core is not loaded (generic netlink family \"knn\" not found): run knn runtime install\n");
		const bad = spawnSync(binary, ["app-add", "--app", "x", "--input-type", "float64"], { encoding: "utf8" });
		assert.equal(bad.status, 64);
		assert.match(bad.stderr, /--input-type wants float32, int8, uint8, int16 or int32, not "float64"/);
		assert.equal(spawnSync(binary, ["activate", "--app", "bad/name"], { encoding: "utf8" }).status, 64);
		const help = spawnSync(binary, ["--help"], { encoding: "utf8" });
		assert.equal(help.status, 0);
		assert.match(help.stdout, /stream \[--app A\]/);
	});

	it("strings from the kernel become JSON that parses back to the same text: quotes, control characters as \\u00XX, bad UTF-8 as U+FFFD", () => {
		// The tool's own JSON writer, linked into a harness that prints fixed byte strings.
		const dir = tempDir("runtime-channel-json");
		const harness = path.join(dir, "harness.c");
		const cases: [string, number[]][] = [
			["quotes", [...Buffer.from("a\"b\\c")]],
			["controls", [0x01, 0x09, 0x0a, 0x1f, 0x7f]],
			["utf8", [...Buffer.from("é€😀")]],
			["invalid", [0xff, 0xc3, 0x28]],
			["truncated", [0x41, 0xe2, 0x82]],
		];
		fs.writeFileSync(harness, `#define main knn_channel_main\n#include "${channelToolSources().source}"\n#undef main\n`
			+ "int main(void)\n{\n"
			+ cases.map(([, bytes]) => `\t{ static const char s[] = { ${bytes.join(", ")} }; json_string(s, sizeof(s)); end_line(); }\n`).join("")
			+ "\tjson_float(0.0f / 0.0f); end_line();\n\treturn 0;\n}\n");
		const exe = path.join(dir, "harness");
		const gcc = spawnSync("gcc", ["-O2", "-o", exe, harness, `-I${path.dirname(channelToolSources().header)}`], { encoding: "utf8" });
		assert.equal(gcc.status, 0, gcc.stderr);
		const out = spawnSync(exe, [], { encoding: "utf8" }).stdout.split("\n");
		assert.equal(JSON.parse(out[0]), "a\"b\\c");
		assert.equal(out[1], "\"\\u0001\\u0009\\u000a\\u001f\\u007f\"");
		assert.equal(JSON.parse(out[1]), "\u0001\t\n\u001f\u007f");
		assert.equal(JSON.parse(out[2]), "é€😀");
		assert.equal(JSON.parse(out[3]), "\ufffd\ufffd(");
		assert.equal(JSON.parse(out[4]), "A\ufffd\ufffd");
		assert.ok([...out.slice(0, 5).join("")].every((c) => c.charCodeAt(0) >= 0x20), "no raw control character in the output");
		assert.equal(out[5], "\"NaN\"");
	});
});

describe("knn_core's channel in the sandbox VM: install, create an application, list it, follow events, refusals with errno and extack", { skip: CORE_READY ? false : "kmod/runtime/core/Kbuild does not exist yet" }, () => {
	const sandbox = withSandbox("runtimechannel");
	const APP = "rtchan";
	let target: Target;
	let cacheDir: string;

	/** Under CI a sandbox that cannot start fails the test; elsewhere the test says why it did not run. */
	function needSandbox(t: TestContext): boolean {
		if (!sandbox.unavailable) return true;
		if (process.env.CI === "true") assert.fail(`CI=true and the sandbox VM did not start: ${sandbox.unavailable}`);
		t.skip(sandbox.unavailable);
		return false;
	}

	before(() => {
		cacheDir = tempDir("runtime-channel-install");
		if (!sandbox.unavailable) target = openTarget(parseTarget("sandbox"), { sandboxDir: sandbox.dir }).target;
	});
	after(async () => {
		await target?.close();
	});

	it("installRuntime builds knn_core for the VM's kernel, uploads the tool and loads it; a second install leaves the loaded build alone", async (t) => {
		if (!needSandbox(t)) return;
		const lines: string[] = [];
		const report = await installRuntime(target, { cacheDir, modules: ["knn_core"], onLine: (line) => lines.push(line) });
		const release = (await sandbox.ssh("uname -r")).stdout.trim();
		assert.equal(report.kernelRelease, release);
		assert.deepEqual(report.modules.map((m) => [m.name, m.loaded]), [["knn_core", true]]);
		assert.equal(report.toolPath, `${REMOTE_RUNTIME_DIR}/knn-channel`);
		assert.match((await sandbox.ssh("cat /proc/modules")).stdout, /^knn_core /m);
		const again = await installRuntime(target, { cacheDir, modules: ["knn_core"], onLine: (line) => lines.push(line) });
		assert.deepEqual(again.modules, report.modules);
		assert.ok(lines.includes("knn_core is already loaded with this build"), lines.join("\n"));
	});

	it("app-add creates an application that list prints with exactly the sizes, types and guard given; events are followed until aborted", async (t) => {
		if (!needSandbox(t)) return;
		const events: ChannelLine[] = [];
		const controller = new AbortController();
		const streaming = streamChannel(target, { app: APP, eventsOnly: true, signal: controller.signal, onLine: (line) => events.push(line) });
		await addApp(target, { app: APP, inputType: "float32", outputType: "float32", inputBytes: 16, outputBytes: 4, stateBytes: 8 });
		await setGuard(target, APP, { window: 64, min: -1, max: 1 });
		const [app] = await runtimeStatus(target, { app: APP });
		assert.ok(app, "list printed no application");
		const { recordsSent, recordsDropped, guard, ...rest } = app;
		assert.deepEqual(rest, { app: APP, owner: "knn_core", inputType: "float32", outputType: "float32", inputBytes: 16, outputBytes: 4, stateBytes: 8, activeId: 0, slots: [] });
		assert.deepEqual([recordsSent, recordsDropped], [0, 0]);
		assert.deepEqual([guard.window, guard.min, guard.max], [64, -1, 1]);
		assert.ok((await runtimeStatus(target)).some((a) => a.app === APP));
		assert.deepEqual(await runtimeStatus(target, { app: "no_such_app" }), []);
		// The stream is a process on the VM until its pty is hung up.
		assert.match((await sandbox.ssh("ps")).stdout, /knn-channel stream/);
		controller.abort();
		await streaming;
		await new Promise((resolve) => setTimeout(resolve, 500));
		assert.doesNotMatch((await sandbox.ssh("ps")).stdout, /knn-channel stream/);
		assert.deepEqual(events.filter((e) => e.app !== APP), []);
	});

	it("activate and rollback on an application without models are refused with the errno and knn_core's message naming it", async (t) => {
		if (!needSandbox(t)) return;
		// glibc's strerror texts, then knn_core's extack message, which names the application.
		const attempts: [() => Promise<void>, number, RegExp][] = [
			[() => activateModel(target, APP), ERRNO.ENOENT, /: No such file or directory: .*rtchan/],
			[() => rollbackApp(target, APP), ERRNO.ENODATA, /: No data available: .*rtchan/],
			[() => activateModel(target, "no_such_app", 3), ERRNO.ENOENT, /: No such file or directory: .*no_such_app/],
		];
		for (const [attempt, errno, message] of attempts) {
			await assert.rejects(attempt(), (error: unknown) => {
				assert.ok(error instanceof ChannelCommandError, String(error));
				assert.equal(error.errno, errno, error.message);
				assert.match(error.message, message);
				assert.ok(error.message.includes(target.description), error.message);
				return true;
			});
		}
		await assert.rejects(addApp(target, { app: APP, inputType: "float32", outputType: "float32", inputBytes: 16, outputBytes: 4 }),
			(error: unknown) => error instanceof ChannelCommandError && error.errno === ERRNO.EEXIST);
	});

	it("app-del removes it, and with knn_core unloaded the client says to install the runtime", async (t) => {
		if (!needSandbox(t)) return;
		await deleteApp(target, APP);
		assert.deepEqual(await runtimeStatus(target, { app: APP }), []);
		assert.equal((await sandbox.ssh("rmmod knn_core")).code, 0);
		await assert.rejects(runtimeStatus(target), (error: unknown) => error instanceof RuntimeError && /knn_core is not loaded .*run knn runtime install/.test(error.message));
	});
});
