import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type TestContext, describe, it } from "node:test";
import { installedHeaderVersions } from "../../extension/core/kmod/kernelHeaders";
import { type DebianKernelDirs, debianKernelCandidates, pickDebianKernel } from "../../extension/core/sandbox/debianKernels";
import { debugBootOptions, validateAppendWords } from "../../extension/core/sandbox/debugOptions";
import { parseKernelConfig } from "../../extension/core/sandbox/kernelSelection";
import type { SandboxAssets } from "../../extension/core/sandbox/sandboxAssets";
import { SandboxError, SandboxUnavailableError, sandboxPaths } from "../../extension/core/sandbox/sandboxTypes";
import { qemuArgs } from "../../extension/core/sandbox/sandboxVm";
import { tempDir } from "../support/cli";
import { withSandbox } from "../support/sandbox";

/** A fake /usr/src, /boot and /lib/modules: headers for every release, an image (with modules.dep unless said) for some. */
function fakeKernels(headers: string[], images: string[], imagesWithoutModulesDep: string[] = []): DebianKernelDirs {
	const root = tempDir("kernels");
	const dirs = { src: path.join(root, "usr/src"), boot: path.join(root, "boot"), modules: path.join(root, "lib/modules") };
	for (const release of headers) fs.mkdirSync(path.join(dirs.src, `linux-headers-${release}`), { recursive: true });
	fs.mkdirSync(path.join(dirs.src, "linux-headers-6.1.0-57-common"), { recursive: true });
	for (const release of [...images, ...imagesWithoutModulesDep]) {
		fs.mkdirSync(dirs.boot, { recursive: true });
		fs.writeFileSync(path.join(dirs.boot, `vmlinuz-${release}`), "");
		fs.mkdirSync(path.join(dirs.modules, release), { recursive: true });
		if (images.includes(release)) fs.writeFileSync(path.join(dirs.modules, release, "modules.dep"), "");
	}
	return dirs;
}

const OLD = "6.1.0-57-amd64";
const NEW = "6.12.118+deb12-amd64";
const never = async () => false;

describe("sandbox kernel choice (fake /usr/src, /boot, /lib/modules)", () => {
	it("prefers a release whose image is installed in /boot over a newer one that would have to be downloaded", async () => {
		const asked: string[] = [];
		const pick = await pickDebianKernel(debianKernelCandidates(fakeKernels([OLD, NEW], [OLD])), undefined, async (r) => (asked.push(r), true));
		assert.equal(pick.candidate.release, OLD);
		assert.match(pick.candidate.installedImage ?? "", /boot\/vmlinuz-6\.1\.0-57-amd64$/);
		assert.match(pick.reason, /^image installed in .*boot; newest of 6\.12\.118\+deb12-amd64, 6\.1\.0-57-amd64$/);
		assert.deepEqual(asked, [], "apt is not asked when an image is installed");
	});

	it("with both images installed, boots the newest: 6.12 before 6.1 (numeric, not string, order)", async () => {
		const pick = await pickDebianKernel(debianKernelCandidates(fakeKernels([OLD, NEW], [OLD, NEW])), undefined, never);
		assert.equal(pick.candidate.release, NEW);
	});

	it("without installed images, takes the newest release apt can download and says which were skipped", async () => {
		const dirs = fakeKernels([OLD, NEW, "6.12.90+deb12-amd64"], []);
		const pick = await pickDebianKernel(debianKernelCandidates(dirs), undefined, async (r) => r !== NEW);
		assert.equal(pick.candidate.release, "6.12.90+deb12-amd64");
		assert.equal(pick.candidate.installedImage, null);
		assert.match(pick.reason, /unpacked from linux-image-6\.12\.90\+deb12-amd64; no image in \/boot; .*; 6\.12\.118\+deb12-amd64 not in apt's index$/);
	});

	it("does not count an image in /boot whose modules tree has no modules.dep", async () => {
		const pick = await pickDebianKernel(debianKernelCandidates(fakeKernels([OLD, NEW], [OLD], [NEW])), undefined, never);
		assert.equal(pick.candidate.release, OLD);
		assert.equal(debianKernelCandidates(fakeKernels([NEW], [], [NEW]))[0].installedImage, null);
	});

	it("--kernel-release picks that release even when another has its image installed, and refuses one without headers", async () => {
		const candidates = debianKernelCandidates(fakeKernels([OLD, NEW], [NEW]));
		const pick = await pickDebianKernel(candidates, OLD, never);
		assert.equal(pick.candidate.release, OLD);
		assert.match(pick.reason, /^--kernel-release; image unpacked from linux-image-6\.1\.0-57-amd64$/);
		await assert.rejects(pickDebianKernel(candidates, "6.12.1+deb12-amd64", never),
			(error: Error) => error instanceof SandboxError && /No headers for kernel 6\.12\.1\+deb12-amd64 .*installed: 6\.12\.118\+deb12-amd64, 6\.1\.0-57-amd64/.test(error.message));
	});

	it("reports the sandbox as unavailable when no image is installed or downloadable", async () => {
		await assert.rejects(pickDebianKernel(debianKernelCandidates(fakeKernels([OLD, NEW], [])), undefined, never),
			(error: Error) => error instanceof SandboxUnavailableError && /6\.12\.118\+deb12-amd64, 6\.1\.0-57-amd64/.test(error.message));
	});
});

describe("kernel debug options on the command line", () => {
	// The symbols as Debian 12's amd64 configs set them: 6.1 has no KFENCE, neither has DEBUG_PAGEALLOC nor lockdep.
	const debian61 = new Map([["CONFIG_SLUB_DEBUG", "y"], ["CONFIG_PAGE_POISONING", "y"], ["CONFIG_INIT_ON_ALLOC_DEFAULT_ON", "y"]]);
	const debian612 = new Map([...debian61, ["CONFIG_KFENCE", "y"], ["CONFIG_KFENCE_SAMPLE_INTERVAL", "0"]]);

	it("asks only for what the config has: slub_debug and page_poison on 6.1, plus kfence on 6.12; never debug_pagealloc", () => {
		assert.deepEqual(debugBootOptions(debian61).append, ["slub_debug=FZPU", "page_poison=1"]);
		assert.deepEqual(debugBootOptions(debian612).append, ["slub_debug=FZPU", "kfence.sample_interval=1", "page_poison=1"]);
		const checks = debugBootOptions(debian61).checks;
		assert.ok(checks.some((c) => /^off: KFENCE .*CONFIG_KFENCE/.test(c)), checks.join("\n"));
		assert.ok(checks.some((c) => /^off: lockdep .*CONFIG_PROVE_LOCKING/.test(c)), checks.join("\n"));
		assert.ok(checks.some((c) => /^off: init_on_free=1 .*page_poison=1 takes precedence/.test(c)), checks.join("\n"));
	});

	it("falls back to init_on_free=1 where page poisoning is not built", () => {
		assert.deepEqual(debugBootOptions(new Map([["CONFIG_SLUB_DEBUG", "y"]])).append, ["slub_debug=FZPU", "init_on_free=1"]);
	});

	it("passes --append words to qemu after the console and panic settings, in order", () => {
		const assets = { paths: sandboxPaths(tempDir("append")), kernel: { image: "/boot/vmlinuz-x" }, initramfs: "/tmp/initrd", shares: { modules: null, usr: null, headers: null } };
		const args = qemuArgs(assets as unknown as SandboxAssets, "tcg", 2222, { dir: "unused", append: ["slub_debug=FZPU", "page_poison=1"] });
		assert.equal(args[args.indexOf("-append") + 1], "console=ttyS0 panic=-1 slub_debug=FZPU page_poison=1");
	});

	it("refuses command line words with spaces, quotes or nothing in them", () => {
		assert.deepEqual(validateAppendWords(["slub_debug=FZPU", "kfence.sample_interval=1"]), ["slub_debug=FZPU", "kfence.sample_interval=1"]);
		for (const word of ["a b", "x=\"y\"", "it's", "", "tab\there", "back\\slash"]) {
			assert.throws(() => validateAppendWords([word]), (error: Error) => error instanceof SandboxError && /--append/.test(error.message), word);
		}
	});
});

// A module with a parameter, so the kernel log line proves this very load printed it.
const HELLO_FILES: Record<string, string> = {
	"knn_kver.c": `#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/utsname.h>
static char *token = "none";
module_param(token, charp, 0444);
static int __init knn_kver_init(void) { pr_info("knn_kver: %s on %s\\n", token, init_utsname()->release); return 0; }
static void __exit knn_kver_exit(void) { }
module_init(knn_kver_init);
module_exit(knn_kver_exit);
MODULE_LICENSE("GPL");
`,
	Kbuild: "obj-m := knn_kver.o\n",
	Makefile: "KVER ?= $(shell uname -r)\nKDIR ?= /usr/src/linux-headers-$(KVER)\nall:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules\n",
};

/** The newest installed headers of a kernel series ("6.1", "6.12"). */
function newestOf(series: string): string | undefined {
	return installedHeaderVersions().find((r) => r.startsWith(`${series}.`));
}

for (const series of ["6.1", "6.12"]) {
	const release = newestOf(series);
	const missing = release ? undefined : `no /usr/src/linux-headers-${series}.*-amd64 (run scripts/setup.sh as root)`;
	const config = release ? parseKernelConfig(fs.readFileSync(`/usr/src/linux-headers-${release}/.config`, "utf8")) : new Map<string, string>();
	const debug = debugBootOptions(config);

	describe(`Debian's ${series} kernel in the sandbox VM, booted with its debug options`, { skip: missing && process.env.CI !== "true" ? missing : false }, () => {
		const sandbox = withSandbox(`kernel-${series}`, release ? { kernelRelease: release, append: debug.append, bootTimeoutMs: 180_000 } : {});
		const ready = (t: TestContext): boolean => {
			if (missing) assert.fail(`CI=true but ${missing}`);
			if (!sandbox.unavailable) return true;
			if (process.env.CI === "true") assert.fail(`CI=true and the sandbox VM did not start: ${sandbox.unavailable}`);
			t.skip(sandbox.unavailable);
			return false;
		};

		it(`runs ${release ?? series} and the kernel knows every debug word it was given`, async (t) => {
			if (!ready(t)) return;
			t.diagnostic(`SSH answered ${sandbox.info().bootSeconds} s after qemu started; ${debug.checks.join(" ")}`);
			const result = await sandbox.ssh("uname -r; cat /proc/cmdline; dmesg | grep -i 'unknown kernel command line' || true");
			assert.equal(result.code, 0, result.stderr);
			const [uname, cmdline, unknown = ""] = result.stdout.split("\n");
			assert.equal(uname, release);
			for (const word of debug.append) {
				assert.ok(cmdline.split(" ").includes(word), `${word} missing from ${cmdline}`);
				assert.ok(!unknown.includes(word), `the kernel does not know ${word}: ${unknown}`);
			}
		});

		it("loads a module built on the host against its headers", async (t) => {
			if (!ready(t)) return;
			const dir = tempDir(`kver-${series}`);
			for (const [name, text] of Object.entries(HELLO_FILES)) fs.writeFileSync(path.join(dir, name), text);
			const build = spawnSync("make", [`KVER=${release}`], { cwd: dir, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
			assert.equal(build.status, 0, build.stdout + build.stderr);
			const upload = await sandbox.ssh("cat > /tmp/knn_kver.ko", { input: fs.readFileSync(path.join(dir, "knn_kver.ko")) });
			assert.equal(upload.code, 0, upload.stderr);
			const token = `t${process.pid}`;
			const run = await sandbox.ssh(`insmod /tmp/knn_kver.ko token=${token} && dmesg | grep knn_kver: ; rmmod knn_kver`);
			assert.equal(run.code, 0, run.stderr);
			assert.match(run.stdout, new RegExp(`knn_kver: ${token} on ${(release as string).replace(/[.+]/g, "\\$&")}`));
		});
	});
}
