import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parseArgs } from "node:util";
import { BUG_EXIT_STATUS, UsageError, exitStatusOf } from "../../extension/cli/exitStatus";
import { CompileError } from "../../extension/core/codegen/compileError";
import { DeployError } from "../../extension/core/deploy/deploy";
import { ModelLoadError } from "../../extension/core/frontends/model";
import { CheckpointError } from "../../extension/core/frontends/tf/checkpoint/bundle";
import { FreezeError } from "../../extension/core/frontends/tf/freeze";
import { TextFormatError } from "../../extension/core/frontends/tf/proto/textFormat";
import { ConfigError } from "../../extension/core/frontends/tf/tf2xlaConfig";
import { GraphError } from "../../extension/core/graph/graph";
import { ExecutionError } from "../../extension/core/interp/executor";
import { KernelError } from "../../extension/core/interp/kernel";
import { PrefixError } from "../../extension/core/kmod/modulePrefix";
import { ConfigMismatchError } from "../../extension/core/model/prepare";
import { StepInputError } from "../../extension/core/model/steps";
import { QuantizeError } from "../../extension/core/quant/plan";
import { runProcess } from "../../extension/core/sandbox/run";
import { SandboxError, SandboxUnavailableError } from "../../extension/core/sandbox/sandboxTypes";
import { LocalTarget } from "../../extension/core/targets/localTarget";
import { TargetError } from "../../extension/core/targets/target";
import { KnnError, hasCode, knnErrorCode } from "../../extension/core/util/errors";
import { ProcessError, packageOf, runLocalProcess, runLocalTool } from "../../extension/core/util/processRunner";
import { knn, tempDir } from "../support/cli";

const NODE = { name: "n", op: "Fill", inputs: [], controlInputs: [], device: "", attr: {} };

describe("typed errors with codes", () => {
	it("every error family of the core is a KnnError with its code, message and class name kept", () => {
		const cases: [Error, string][] = [
			[new ModelLoadError("m"), "model"], [new TextFormatError("f", 1, 2, "d"), "config"], [new ConfigError("c"), "config"],
			[new ConfigMismatchError([]), "config"], [new CheckpointError("c"), "checkpoint"], [new FreezeError("f"), "freeze"],
			[new GraphError("g"), "graph"], [new KernelError(NODE, "k"), "kernel"], [new ExecutionError("e"), "execution"],
			[new CompileError("c"), "compile"], [new QuantizeError("q"), "quantize"], [new StepInputError("s"), "input"],
			[new DeployError("d"), "deploy"], [new SandboxError("s"), "sandbox"], [new SandboxUnavailableError("s"), "sandbox"],
			[new PrefixError("p"), "name"], [new ProcessError("p", "not-installed", "x"), "not-installed"], [new UsageError("u"), "usage"],
		];
		for (const [error, code] of cases) {
			assert.ok(error instanceof KnnError, error.name);
			assert.equal(knnErrorCode(error), code, error.name);
			assert.ok(hasCode(error, code as never));
			assert.notEqual(error.name, "Error");
		}
		assert.equal(new TextFormatError("f.pbtxt", 3, 4, "bad").message, "f.pbtxt:3:4: bad");
		assert.equal(new KernelError(NODE, "too big").message, 'node "n" (Fill): too big');
		assert.equal(knnErrorCode(new TypeError("x")), undefined);
	});

	it("TargetError is a KnnError that keeps its own codes and host", () => {
		const error = new TargetError("no route", "connect", "root@box:22");
		assert.ok(error instanceof KnnError);
		assert.equal(error.code, "connect");
		assert.equal(error.host, "root@box:22");
		assert.equal(error.name, "TargetError");
	});

	it("maps codes to exit statuses in one table: usage and names 2, other typed errors 1, anything else a bug", () => {
		assert.equal(exitStatusOf(new UsageError("u")), 2);
		assert.equal(exitStatusOf(new PrefixError("p")), 2);
		assert.equal(exitStatusOf(new ModelLoadError("m")), 1);
		assert.equal(exitStatusOf(new TargetError("t", "timeout")), 1);
		assert.equal(exitStatusOf(new KnnError("b", "budget")), 1);
		let parseError: unknown;
		try {
			parseArgs({ args: ["--bogus"], options: {} });
		} catch (error) {
			parseError = error;
		}
		assert.equal(exitStatusOf(parseError), 2);
		let missing: unknown;
		try {
			fs.readFileSync("/nonexistent/knn/file");
		} catch (error) {
			missing = error;
		}
		assert.equal(exitStatusOf(missing), 1);
		assert.equal(exitStatusOf(new TypeError("Cannot read properties of undefined")), BUG_EXIT_STATUS);
		assert.equal(exitStatusOf(new RangeError("Invalid typed array length: Infinity")), BUG_EXIT_STATUS);
	});
});

describe("knn exit statuses", () => {
	it("exits 2 with the usage for a bad flag, an unknown command and missing arguments, on every command", () => {
		const usage = [
			[], ["nosuchcommand"], ["inspect", "--bogus"], ["inspect"], ["freeze", "m.pb"], ["config", "m.pb", "--bogus"], ["run", "m.pb"],
			["compile", "m.pb", "--config", "c"], ["compile", "m.pb", "--config", "c", "--prefix", "p", "--out", "o", "--template", "nope"],
			["quantize", "m.pb"], ["deploy", "m.pb"], ["deploy", "m.pb", "--bogus"], ["dmesg"], ["sandbox", "nosuch"], ["sandbox", "status", "--bogus"],
		];
		for (const args of usage) {
			const result = knn(...args);
			assert.equal(result.status, 2, `knn ${args.join(" ")}: ${result.stderr}`);
			assert.match(result.stdout + result.stderr, /knn (inspect|sandbox|deploy|quantize)/, `knn ${args.join(" ")} shows the usage`);
			assert.doesNotMatch(result.stderr, /: internal error:/);
		}
	});

	it("exits 1 with a sentence, never a bug message, for typed failures across the commands", () => {
		const dir = tempDir("exit-typed");
		const notModel = path.join(dir, "notes.pb");
		fs.writeFileSync(notModel, "just some text, not a protobuf");
		const missing = path.join(dir, "missing.pb");
		const badInputs = path.join(dir, "bad.json");
		fs.writeFileSync(badInputs, "{ not json");
		const failures = [
			["inspect", notModel], ["inspect", missing], ["config", notModel, "--check", badInputs],
			["run", notModel, "--config", badInputs, "--inputs", badInputs],
			["compile", missing, "--config", badInputs, "--prefix", "tiny", "--out", path.join(dir, "out")],
			["freeze", missing, "--fetch", "y", "--out", path.join(dir, "f.pb")],
		];
		for (const args of failures) {
			const result = knn(...args);
			assert.equal(result.status, 1, `knn ${args.join(" ")}: ${result.stderr}`);
			assert.doesNotMatch(result.stderr, /: internal error:|at .*\.ts:\d+/, `knn ${args.join(" ")}`);
			assert.match(result.stderr, new RegExp(`^knn ${args[0]}: `), result.stderr);
		}
	});
});

describe("the local process runner", () => {
	it("names a missing program with its Debian package", async () => {
		await assert.rejects(runLocalProcess("knn-no-such-program", []), (e: unknown) => e instanceof ProcessError && e.code === "not-installed" && /apt-get install knn-no-such-program/.test(e.message));
		assert.equal(packageOf("/usr/bin/objdump"), "binutils");
		assert.equal(packageOf("modinfo"), "kmod");
		const sandboxStyle = await runProcess("knn-no-such-program", []);
		assert.equal(sandboxStyle.code, null);
		assert.match(sandboxStyle.spawnError ?? "", /not installed/);
		await assert.rejects(new LocalTarget().run("knn-no-such-program", []), (e: unknown) => e instanceof TargetError && e.code === "command" && /apt-get install/.test(e.message));
	});

	it("passes input, returns exit status and output, and fails runLocalTool with a typed error naming the command", async () => {
		const echoed = await runLocalProcess("cat", [], { input: "hello\n" });
		assert.deepEqual([echoed.code, echoed.stdout, echoed.timedOut, echoed.cancelled], [0, "hello\n", false, false]);
		const failed = await runLocalProcess("sh", ["-c", "echo oops >&2; exit 3"]);
		assert.deepEqual([failed.code, failed.stderr], [3, "oops\n"]);
		await assert.rejects(runLocalTool("sh", ["-c", "echo broken >&2; exit 1"]), (e: unknown) => e instanceof ProcessError && e.code === "process" && /sh -c .*failed: broken/.test(e.message));
	});

	it("a timeout stops the whole process group, grandchildren included, and returns promptly", async () => {
		const start = performance.now();
		const result = await runLocalProcess("sh", ["-c", "sleep 30 & echo $!; wait"], { timeoutMs: 300, killGraceMs: 100 });
		assert.ok(performance.now() - start < 5000, `took ${performance.now() - start} ms`);
		assert.equal(result.timedOut, true);
		const grandchild = Number(result.stdout.trim());
		assert.ok(grandchild > 0, result.stdout);
		// Reparented to init, the killed sleep may be a zombie for a moment before it is reaped.
		const alive = () => {
			try {
				return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${grandchild}/status`, "utf8"));
			} catch {
				return false;
			}
		};
		for (let i = 0; i < 50 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
		assert.equal(alive(), false, "the background sleep was killed with its group");
	});

	it("an AbortSignal cancels the command, before or while it runs", async () => {
		const controller = new AbortController();
		setTimeout(() => controller.abort(), 200);
		const start = performance.now();
		const result = await runLocalProcess("sleep", ["30"], { signal: controller.signal, killGraceMs: 100 });
		assert.ok(result.cancelled && !result.timedOut);
		assert.ok(performance.now() - start < 5000);
		assert.ok((await runLocalProcess("sleep", ["30"], { signal: AbortSignal.abort() })).cancelled);
		await assert.rejects(new LocalTarget(100).run("sleep", ["30"], { signal: AbortSignal.timeout(200) }), (e: unknown) => e instanceof TargetError && e.code === "cancelled");
		await assert.rejects(new LocalTarget(100).run("sleep", ["30"], { timeoutMs: 200 }), (e: unknown) => e instanceof TargetError && e.code === "timeout");
	});
});
