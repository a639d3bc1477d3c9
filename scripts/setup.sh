#!/usr/bin/env bash
# Installs what the tests and `npm start` need and is missing: npm packages (npm ci when node_modules is absent or
# older than package-lock.json) and Debian packages. Idempotent; runs before `npm test` (pretest) and in `npm start`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Kernel headers (modules are built against them), modinfo (kmod), objdump/nm (binutils), make/gcc/libc6-dev for
# module builds and user-space C checks, QEMU/busybox/OpenSSH for the sandbox VM, openssh-server for the SSH tests
# (they run their own sshd on 127.0.0.1), libonnx-testdata for the ONNX backend node tests.
packages="linux-headers-amd64 kmod binutils make gcc libc6-dev qemu-system-x86 busybox-static openssh-client openssh-server libonnx-testdata"
missing=$(for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get -o DPkg::Lock::Timeout=600 update -qq
		# shellcheck disable=SC2086 # one word per package
		apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
	else
		echo "setup: missing Debian packages: sudo apt-get install $(echo $missing)" >&2
		exit 1
	fi
fi

if [ ! -x node_modules/.bin/tsx ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	# onnxruntime-node's postinstall would download GPU providers; its package already holds the CPU runtime the tests use.
	ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi
# The TFLite runtime oracle pins tfjs-core 4.9, so it has its own folder and lockfile.
oracle=test/oracles/tflite
if [ ! -f $oracle/node_modules/.package-lock.json ] || [ $oracle/package-lock.json -nt $oracle/node_modules/.package-lock.json ]; then
	npm ci --prefix $oracle --no-audit --no-fund --loglevel=error
fi
