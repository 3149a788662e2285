#!/bin/bash
# deps.sh: install the Debian packages the workshop needs (idempotent; only
# runs apt-get when something is missing). Needs root or sudo.
set -euo pipefail
pkgs=(build-essential bc bison flex libelf-dev libssl-dev cpio kmod rsync
      python3 ccache sparse git xz-utils python3-ply python3-sphinx
      linux-source-6.1
      qemu-system-x86 qemu-system-arm busybox-static
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu)
# Cross arch packages (busybox for the arm64 initramfs) come from the
# arm64 architecture of the same archive.
need_arm64=0
dpkg --print-foreign-architectures | grep -qx arm64 || need_arm64=1

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
here=$(cd "$(dirname "$0")/.." && pwd)
bb_arm64=$here/build/deps/busybox-arm64
[ -x "$bb_arm64" ] || need_bb=1
if [ ${#missing[@]} = 0 ] && [ $need_arm64 = 0 ] && [ -z "${need_bb:-}" ]; then
	exit 0
fi
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
if [ $need_arm64 = 1 ]; then
	$sudo dpkg --add-architecture arm64
fi
echo "deps: installing: ${missing[*]:-} ${need_bb:+busybox-static:arm64}"
$sudo apt-get update -q >/dev/null
if [ ${#missing[@]} != 0 ]; then
	$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ -n "${need_bb:-}" ]; then
	tmp=$(mktemp -d)
	chmod 755 "$tmp"	# apt's download user must be able to write there
	(cd "$tmp" && apt-get download -q busybox-static:arm64 >/dev/null)
	dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$tmp/x"
	mkdir -p "$(dirname "$bb_arm64")"
	cp "$tmp/x/bin/busybox" "$bb_arm64"
	rm -rf "$tmp"
fi
echo "deps: done"
