#!/bin/bash
# Build bzImage, vmlinux (with BTF) and the modules in build/kbuild, install
# the uapi headers into build/kbuild/hdr for the guest programs and the
# modules into build/kbuild/mod for the guest's initramfs. Uses ccache when
# present. Only one kernel build may run at a time on the machine.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
tree=${KTREE:-$build/linux}
out=${KOUT:-$build/kbuild}
jobs=${JOBS:-$(nproc)}

cc=gcc
if command -v ccache >/dev/null 2>&1; then
	cc="ccache gcc"
	# Outside the checkout, so that a fresh clone (CI) reuses the cache.
	export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/lu-ccache}
	export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
	# Make hits independent of the checkout's absolute path.
	export CCACHE_BASEDIR=$build
	export CCACHE_SLOPPINESS=time_macros
	# The cwd only reaches the debug info; hashing it defeats sharing.
	export CCACHE_NOHASHDIR=true
	# Kbuild passes -fmacro-prefix-map=<abs srctree>/=, which differs per
	# checkout but maps __FILE__ to the same relative names in each: leave
	# it out of the hash, or no clone ever hits another's cache.
	export CCACHE_IGNOREOPTIONS="-fmacro-prefix-map=*"
	# Hash the headers Kbuild's -MMD file lists instead of running the
	# preprocessor first: a miss costs about 15% less (a cold cache, CI).
	export CCACHE_DEPEND=true
fi

# With pahole before 1.25 (Debian 12 has 1.24) the DWARF gets no variable
# locations (-fno-var-tracking): about 10% off each compile, and the code
# and the BTF that lutrace builds against are the same with or without it
# (docs/development.md). From 1.25 on, Kbuild asks pahole to leave out
# functions whose parameters look optimized away, which it reads from the
# variable locations: there the flag is not used. The version is read the
# way Kbuild reads it (0 without pahole, where the build fails anyway); a
# version that does not read as a number leaves the flag out.
kcflags=${KCFLAGS:-}
pahole_ver=$("$tree/scripts/pahole-version.sh" pahole 2>/dev/null || true)
case $pahole_ver in
''|*[!0-9]*) ;;
*) [ "$pahole_ver" -ge 125 ] || kcflags="-fno-var-tracking $kcflags" ;;
esac

exec 9>"$build/.kernel-build.lock"
flock -n 9 || { echo "kernel-build: another kernel build is running" >&2; exit 1; }

start=$(date +%s)
make -s -C "$tree" O="$out" CC="$cc" KCFLAGS="$kcflags" -j"$jobs" bzImage vmlinux modules
make -s -C "$tree" O="$out" headers_install INSTALL_HDR_PATH="$out/hdr" >/dev/null
# The modules the guest loads (iommufd, VFIO), stripped, for the initramfs
rm -rf "$out/mod"
make -s -C "$tree" O="$out" modules_install INSTALL_MOD_PATH="$out/mod" \
	INSTALL_MOD_STRIP=1 >/dev/null
echo "kernel-build: built $(cat "$out/include/config/kernel.release") in $(( $(date +%s) - start ))s"
