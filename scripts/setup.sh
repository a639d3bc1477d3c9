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

# Debian 12's 6.12 kernel, the runtime's second target: its headers to build modules against and its image in /boot
# for the sandbox VM. bookworm-backports has it; bookworm-security carries newer 6.12 point releases too.
kernel612_ready() {
	local headers release
	for headers in /usr/src/linux-headers-6.12.*-amd64; do
		release=${headers#/usr/src/linux-headers-}
		[[ $release =~ ^6\.12\.[0-9]+\+deb12[.0-9]*-amd64$ ]] || continue
		[ -f "/boot/vmlinuz-$release" ] && [ -f "/lib/modules/$release/modules.dep" ] && return 0
	done
	return 1
}
# The host that already serves bookworm here (deb822 or one-line sources), so backports comes from the same mirror.
bookworm_mirror() {
	local uri
	uri=$(awk '
		/^[ \t]*$/ { if (suites ~ /(^| )bookworm( |$)/ && uris != "") { print uris; exit } uris = ""; suites = ""; next }
		/^URIs:/ { uris = $2 } /^Suites:/ { $1 = ""; suites = $0 " " }
		/^deb / { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /=/ && $i !~ /\]$/) { if ($(i + 1) == "bookworm") { print $i; exit } break } }
		END { if (suites ~ /(^| )bookworm( |$)/ && uris != "") print uris }
	' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
	echo "${uri:-http://deb.debian.org/debian}"
}
if ! kernel612_ready; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: Debian's 6.12 kernel is missing: as root, add bookworm-backports to apt's sources, then apt-get install linux-headers-6.12.N+deb12-amd64 linux-image-6.12.N+deb12-amd64" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
		printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$(bookworm_mirror)" > /etc/apt/sources.list.d/bookworm-backports.sources
	fi
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	# The newest 6.12 release (not -cloud or -rt) whose image the index also has.
	release=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12[.0-9]*-amd64$' | cut -d' ' -f1 | sed 's/^linux-headers-//' \
		| sort -rV | while read -r r; do apt-cache show "linux-image-$r" >/dev/null 2>&1 && { echo "$r"; break; }; done || true)
	if [ -z "$release" ]; then
		echo "setup: no linux-headers-6.12.*-amd64 with a matching linux-image in apt's index: check /etc/apt/sources.list.d/bookworm-backports.sources" >&2
		exit 1
	fi
	# INITRD=No: the VM boots our own initramfs, and generating Debian's takes minutes under load.
	INITRD=No apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
		"linux-headers-$release" "linux-image-$release" >/dev/null
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
