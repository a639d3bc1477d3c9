import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { type TestContext, describe, it } from "node:test";
import { InitramfsTree } from "../../extension/core/sandbox/cpio";
import { parseLdd } from "../../extension/core/sandbox/initramfs";
import { bzImageRelease, moduleLoadOrder, parseModulesDep } from "../../extension/core/sandbox/kernelSelection";
import { runProcess } from "../../extension/core/sandbox/run";
import { sshArgs } from "../../extension/core/sandbox/sandboxSsh";
import { GUEST_BUILD_HELPER, GUEST_WORK_ROOT, sandboxPaths } from "../../extension/core/sandbox/sandboxTypes";
import { isSandboxQemu, sandboxStatus, stopSandbox } from "../../extension/core/sandbox/sandboxVm";
import { installedHeaderVersions } from "../../extension/core/kmod/kernelHeaders";
import { tempDir } from "../support/cli";
import { withSandbox } from "../support/sandbox";

const ROOT = path.resolve(__dirname, "../..");

// A module with a parameter, so the kernel log line proves this very load printed it.
const HELLO_C = `#include <linux/module.h>
#include <linux/moduleparam.h>
static char *token = "none";
module_param(token, charp, 0444);
static int __init knn_hello_init(void) { pr_info("knn_hello: hello %s\\n", token); return 0; }
static void __exit knn_hello_exit(void) { pr_info("knn_hello: bye %s\\n", token); }
module_init(knn_hello_init);
module_exit(knn_hello_exit);
MODULE_LICENSE("GPL");
`;
const HELLO_FILES: Record<string, string> = {
	"knn_hello.c": HELLO_C,
	Kbuild: "obj-m := knn_hello.o\n",
	Makefile: "KVER ?= $(shell uname -r)\nKDIR ?= /usr/src/linux-headers-$(KVER)\nall:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules\n",
};

describe("sandbox building blocks", () => {
	it("writes a newc initramfs that busybox cpio reads back with root-owned devices, links and modes", (t) => {
		if (!fs.existsSync("/bin/busybox")) return t.skip("/bin/busybox is missing (apt-get install busybox-static)");
		const tree = new InitramfsTree()
			.file("etc/ssh/ssh_host_ed25519_key", "secret\n", 0o600)
			.symlink("bin/sh", "/bin/busybox")
			.charDevice("dev/console", 5, 1)
			.dir("tmp", 0o1777);
		const listing = spawnSync("/bin/busybox", ["cpio", "-tv"], { input: tree.toCpio(), encoding: "utf8" });
		assert.equal(listing.status, 0, listing.stderr);
		const lines = listing.stdout.trim().split("\n");
		assert.ok(lines.some((l) => /^-rw------- 0\/0\s+7 .* etc\/ssh\/ssh_host_ed25519_key$/.test(l)), listing.stdout);
		assert.ok(lines.some((l) => /^lrwxrwxrwx 0\/0 .* bin\/sh -> \/bin\/busybox$/.test(l)), listing.stdout);
		assert.ok(lines.some((l) => /^crw------- 0\/0 .* dev\/console$/.test(l)), listing.stdout);
		assert.ok(lines.some((l) => /^drwxrwxrwt 0\/0 .* tmp$/.test(l)), listing.stdout);
		assert.ok(lines.indexOf(lines.find((l) => l.endsWith(" etc")) as string) < lines.indexOf(lines.find((l) => l.endsWith(" etc/ssh")) as string));
	});

	it("loads driver modules after their dependencies, as listed in modules.dep", () => {
		// Shaped like Debian 6.1's modules.dep for virtio_net and 9p.
		const dep = parseModulesDep([
			"kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko",
			"kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko",
			"kernel/net/core/failover.ko:",
			"kernel/drivers/virtio/virtio_ring.ko:",
			"kernel/fs/9p/9p.ko: kernel/fs/netfs/netfs.ko kernel/net/9p/9pnet.ko",
			"kernel/fs/netfs/netfs.ko:",
			"kernel/net/9p/9pnet.ko:",
		].join("\n"));
		const order = moduleLoadOrder(dep, ["virtio_net", "9p"]).map((f) => path.basename(f));
		assert.deepEqual(order, ["failover.ko", "net_failover.ko", "virtio_ring.ko", "virtio_net.ko", "netfs.ko", "9pnet.ko", "9p.ko"]);
		assert.throws(() => moduleLoadOrder(dep, ["e1000"]), /Module e1000 is not in modules.dep/);
	});

	it("reads the kernel release from a bzImage's setup header and rejects other files", () => {
		const image = Buffer.alloc(0x400);
		image.write("HdrS", 0x202, "latin1");
		image.writeUInt16LE(0x100, 0x20e);
		image.write("6.1.0-99-amd64 (debian-kernel@lists.debian.org) #1 SMP\0", 0x300, "latin1");
		assert.equal(bzImageRelease(image), "6.1.0-99-amd64");
		assert.equal(bzImageRelease(Buffer.from("\x7fELF not a bzImage".padEnd(0x400))), null);
	});

	it("maps unpacked libraries to their place in the VM and names the ones nobody provides", () => {
		const output = [
			"\tlinux-vdso.so.1 (0x00007ffd)",
			"\tlibwrap.so.0 => /sb/openssh/lib/x86_64-linux-gnu/libwrap.so.0 (0x00007f01)",
			"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f02)",
			"\t/lib64/ld-linux-x86-64.so.2 (0x00007f03)",
		].join("\n");
		assert.deepEqual(parseLdd(output, "sshd", "/sb/openssh").map((l) => l.guestPath),
			["/lib/x86_64-linux-gnu/libwrap.so.0", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]);
		assert.throws(() => parseLdd("\tlibaudit.so.1 => not found\n", "sshd", "/sb/openssh"), /sshd needs libaudit\.so\.1, found neither on the host/);
	});
});

describe("sandbox VM (QEMU, Debian's kernel, OpenSSH)", () => {
	const sandbox = withSandbox("sandbox");
	const unavailable = (t: TestContext): boolean => {
		if (sandbox.unavailable) t.skip(sandbox.unavailable);
		return sandbox.unavailable !== undefined;
	};
	const helloDir = tempDir("sandbox-hello");
	for (const [name, text] of Object.entries(HELLO_FILES)) fs.writeFileSync(path.join(helloDir, name), text);

	it("boots the kernel of the installed headers and answers `uname -r` over SSH on 127.0.0.1 only", async (t) => {
		if (unavailable(t)) return;
		const info = sandbox.info();
		assert.equal(info.host, "127.0.0.1");
		const result = await sandbox.ssh("uname -r");
		assert.equal(result.code, 0, result.stderr);
		assert.equal(result.stdout.trim(), installedHeaderVersions()[0]);
		if (!/\b(vmx|svm)\b/.test(fs.readFileSync("/proc/cpuinfo", "utf8"))) assert.equal(info.accel, "tcg");
		t.diagnostic(`SSH answered ${info.bootSeconds} s after qemu started (${info.accel})`);
		const external = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === "IPv4" && !a.internal);
		if (external) {
			const refused = await new Promise<boolean>((resolve) => {
				const socket = net.connect({ host: external.address, port: info.port });
				socket.on("connect", () => { socket.destroy(); resolve(false); });
				socket.on("error", () => resolve(true));
			});
			assert.ok(refused, `the VM's SSH port ${info.port} must not be reachable on ${external.address}`);
		}
	});

	it("accepts only the pinned host key: a wrong or missing known_hosts entry makes ssh refuse", async (t) => {
		if (unavailable(t)) return;
		const info = sandbox.info();
		const dir = tempDir("sandbox-knownhosts");
		const otherKey = path.join(dir, "other");
		assert.equal((await runProcess("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", otherKey])).code, 0);
		const wrong = path.join(dir, "known_hosts_wrong");
		fs.writeFileSync(wrong, `[127.0.0.1]:${info.port} ${fs.readFileSync(`${otherKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}\n`);
		const empty = path.join(dir, "known_hosts_empty");
		fs.writeFileSync(empty, "");
		for (const knownHostsFile of [wrong, empty]) {
			const refused = await runProcess("ssh", [...sshArgs({ ...info, knownHostsFile }), "true"], { timeoutMs: 30_000 });
			assert.equal(refused.code, 255, `ssh with ${path.basename(knownHostsFile)} must fail`);
			assert.match(refused.stderr, /Host key verification failed/);
		}
		const pinned = await runProcess("ssh", [...sshArgs(info), "true"], { timeoutMs: 30_000 });
		assert.equal(pinned.code, 0, pinned.stderr);
	});

	it("has a readable /dev/kmsg and the busybox tools the deploy pipeline calls", async (t) => {
		if (unavailable(t)) return;
		const kmsg = await sandbox.ssh("dd if=/dev/kmsg bs=8192 count=2 2>/dev/null");
		assert.equal(kmsg.code, 0, kmsg.stderr);
		assert.match(kmsg.stdout, /^\d+,\d+,\d+,[^;]*;Linux version /);
		const tools = ["dmesg", "insmod", "rmmod", "lsmod", "modinfo", "cat", "sh"];
		const found = await sandbox.ssh(`for t in ${tools.join(" ")}; do command -v $t || echo "missing $t"; done`);
		assert.doesNotMatch(found.stdout, /missing/, found.stdout);
	});

	it("loads a module built on the host against the headers, and its printk reaches the kernel log", async (t) => {
		if (unavailable(t)) return;
		const kver = sandbox.info().kernelRelease;
		const build = spawnSync("make", [`KVER=${kver}`], { cwd: helloDir, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
		assert.equal(build.status, 0, build.stdout + build.stderr);
		const upload = await sandbox.ssh("cat > /tmp/knn_hello.ko", { input: fs.readFileSync(path.join(helloDir, "knn_hello.ko")) });
		assert.equal(upload.code, 0, upload.stderr);
		const token = `host${process.pid}`;
		const run = await sandbox.ssh(`modinfo -F vermagic /tmp/knn_hello.ko && insmod /tmp/knn_hello.ko token=${token} && dmesg | grep knn_hello: ; rmmod knn_hello`);
		assert.equal(run.code, 0, run.stderr);
		assert.match(run.stdout, new RegExp(`^${kver.replace(/[.+]/g, "\\$&")} SMP`));
		assert.match(run.stdout, new RegExp(`knn_hello: hello ${token}`));
	});

	it(`builds the same module inside the VM with ${GUEST_BUILD_HELPER} and loads it`, async (t) => {
		if (unavailable(t)) return;
		if (!sandbox.info().buildKdir) return t.skip("the VM has no build share (the host's /usr is not merged or the kernel lacks 9p)");
		const dir = `${GUEST_WORK_ROOT}/hello`;
		for (const [name, text] of Object.entries(HELLO_FILES)) {
			const upload = await sandbox.ssh(`mkdir -p ${dir} && cat > ${dir}/${name}`, { input: text });
			assert.equal(upload.code, 0, upload.stderr);
		}
		const start = performance.now();
		const build = await sandbox.ssh(`${GUEST_BUILD_HELPER} ${dir}`, { timeoutMs: 600_000 });
		t.diagnostic(`${GUEST_BUILD_HELPER} took ${((performance.now() - start) / 1000).toFixed(1)} s`);
		assert.equal(build.code, 0, build.stdout + build.stderr);
		const token = `guest${process.pid}`;
		const run = await sandbox.ssh(`insmod ${dir}/knn_hello.ko token=${token} && dmesg | grep knn_hello: ; rmmod knn_hello`);
		assert.equal(run.code, 0, run.stderr);
		assert.match(run.stdout, new RegExp(`knn_hello: hello ${token}`));
	});

	it("reports running, then stops with poweroff and leaves no qemu process behind", async (t) => {
		if (unavailable(t)) return;
		const info = sandbox.info();
		const cli = (...args: string[]) => spawnSync(path.join(ROOT, "scripts/sandbox/knn-sandbox"), args, { encoding: "utf8" });
		const running = cli("status", "--dir", sandbox.dir, "--json");
		assert.equal(running.status, 0, running.stderr);
		assert.equal((JSON.parse(running.stdout) as { state: string }).state, "running");
		const start = performance.now();
		assert.deepEqual(await stopSandbox(sandbox.dir), { wasRunning: true });
		t.diagnostic(`stop took ${((performance.now() - start) / 1000).toFixed(1)} s`);
		assert.equal(isSandboxQemu(info.pid, sandboxPaths(sandbox.dir)), false, `qemu pid ${info.pid} is still running`);
		assert.equal((await sandboxStatus(sandbox.dir)).state, "stopped");
		const stopped = cli("status", "--dir", sandbox.dir);
		assert.equal(stopped.status, 3);
		assert.match(stopped.stdout, /stopped/);
	});
});
