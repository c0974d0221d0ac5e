#!/bin/bash
# Install every Debian package the project needs. A no-op when all are
# present. Adds trixie-backports at a low pin priority (100), so that only
# packages asked for by name (linux-source-7.3) come from it and nothing else
# on the machine is upgraded.
set -euo pipefail

PKGS=(
	build-essential bc bison flex libelf-dev libssl-dev dwarves ccache
	rsync cpio xz-utils zstd kmod python3 python3-pytest python3-pytest-xdist
	qemu-system-x86 busybox-static
	clang llvm lld bpftool libbpf-dev libcap-dev zlib1g-dev pkg-config
	libjson-c-dev
)

SRC=/etc/apt/sources.list.d/lu-trixie-backports.sources
PIN=/etc/apt/preferences.d/lu-trixie-backports

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done

need_update=0
if [ ! -f "$SRC" ] || [ ! -f "$PIN" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: trixie-backports is not configured; run 'make deps' as root" >&2
		exit 1
	fi
	cat > "$SRC" <<'EOS'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	cat > "$PIN" <<'EOS'
# Only packages requested by name come from trixie-backports
# (the project needs linux-source-7.3); nothing else is upgraded.
Package: *
Pin: release n=trixie-backports
Pin-Priority: 100
EOS
	need_update=1
fi

if ! apt-cache show linux-source-7.3 >/dev/null 2>&1; then
	need_update=1
fi

if [ ${#missing[@]} -eq 0 ] && [ $need_update -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run 'make deps' as root" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
