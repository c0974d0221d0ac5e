#!/bin/bash
# Configure the test kernel in build/kbuild: allnoconfig, then the fragments
# from selftests/config merged with merge_config.sh, then olddefconfig.
# Fails, naming them, if any requested option did not survive.
#
# Usage: kernel-config.sh FRAGMENT...
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
tree=${KTREE:-$build/linux}
out=${KOUT:-$build/kbuild}
mkdir -p "$out"

[ $# -gt 0 ] || { echo "usage: $0 FRAGMENT..." >&2; exit 2; }
frags=(); for f in "$@"; do frags+=("$(realpath "$f")"); done; set -- "${frags[@]}"

# Skip when nothing that feeds the configuration changed.
hash=$(cat "$@" "$tree/.git/lu-series-applied" "$0" 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -f "$out/.config" ] && [ "$(cat "$out/.lu-config-hash" 2>/dev/null)" = "$hash" ]; then
	exit 0
fi
rm -f "$out/.lu-config-hash"

make -s -C "$tree" O="$out" allnoconfig >/dev/null
(cd "$out" && "$tree/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$@" >/dev/null)
make -s -C "$tree" O="$out" olddefconfig >/dev/null

missing=0
for frag in "$@"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n)
			opt=${line%%=*}
			if grep -q "^$opt=" "$out/.config"; then
				echo "kernel-config: $opt: requested n in $(basename "$frag"), got $(grep "^$opt=" "$out/.config")" >&2
				missing=1
			fi ;;
		CONFIG_*=*)
			opt=${line%%=*}
			if ! grep -qxF "$line" "$out/.config"; then
				got=$(grep "^$opt=" "$out/.config" || echo "not set")
				echo "kernel-config: $opt did not survive olddefconfig: requested '${line#*=}' in $(basename "$frag"), got '${got#*=}'" >&2
				missing=1
			fi ;;
		esac
	done < "$frag"
done
if [ $missing -ne 0 ]; then
	echo "kernel-config: FAILED: requested options are missing (their dependencies are not met)" >&2
	exit 1
fi
echo "$hash" > "$out/.lu-config-hash"
echo "kernel-config: all requested options present"
