#!/bin/bash
# Make build/linux: the base kernel (Debian's linux-source-7.3) as a git
# repository with one base commit tagged "lu-base", and the series in
# kernel-patches/ applied on top with git am, in the order of
# kernel-patches/series. Re-running only re-applies when the series changed.
#
# Usage: kernel-tree.sh [--reapply]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
tree=${KTREE:-$build/linux}
dl=$build/dl
patches=${PATCHES:-$top/kernel-patches}
pkg=linux-source-7.3
stamp=$tree/.git/lu-series-applied

die() { echo "kernel-tree: $*" >&2; exit 1; }

gitc() {
	git -C "$tree" -c user.name="lu-build" -c user.email="lu-build@localhost" \
		-c commit.gpgsign=false "$@"
}

series_hash() {
	# The series file plus every patch it names, in order.
	{
		cat "$patches/series" 2>/dev/null || true
		{ grep -v '^\s*\(#\|$\)' "$patches/series" 2>/dev/null || true; } | while read -r p; do
			cat "$patches/$p"
		done
	} | sha256sum | cut -d' ' -f1
}

extract_base() {
	mkdir -p "$dl"
	if ! ls "$dl"/${pkg}_*.deb >/dev/null 2>&1; then
		if ! apt-cache show "$pkg" >/dev/null 2>&1; then
			die "package $pkg is not available from apt. Run 'make deps' as root: it adds trixie-backports (pinned at priority 100) and runs apt-get update."
		fi
		(cd "$dl" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed') ||
			die "apt-get download $pkg failed; check the network and 'apt-cache policy $pkg'"
	fi
	deb=$(ls "$dl"/${pkg}_*.deb | sort -V | tail -n1)
	ver=$(dpkg-deb -f "$deb" Version)
	echo "kernel-tree: extracting $pkg $ver"
	rm -rf "$tree" "$build/linux-tmp"
	mkdir -p "$build/linux-tmp"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/$pkg.tar.xz" | tar -xJ -C "$build/linux-tmp"
	mv "$build/linux-tmp/$pkg" "$tree"
	rmdir "$build/linux-tmp"
	kver=$(make -s -C "$tree" kernelversion)
	case "$kver" in
	7.3|7.3.*) ;;
	*) die "$pkg $ver contains Linux $kver, expected 7.3.x" ;;
	esac
	# Debian's source package ends .gitignore with "/*", which would hide
	# every new file of the series from git: the base commit leaves it out.
	sed -i '/^# Debian packaging: ignore everything/,/^!\/debian\/$/d' "$tree/.gitignore"
	git -C "$tree" init -q -b base
	gitc add -A -f .
	gitc commit -q -m "base: $pkg $ver (Linux $kver)"
	gitc tag -f lu-base >/dev/null
	echo "$pkg $ver $kver" > "$tree/.git/lu-base-version"
	recorded=$(sed -n 's/^version: *//p' "$patches/BASE" 2>/dev/null || true)
	if [ -n "$recorded" ] && [ "$recorded" != "$ver" ]; then
		echo "kernel-tree: note: series recorded against $pkg $recorded, building on $ver"
	fi
}

[ -d "$tree/.git" ] || extract_base

want=$(series_hash)
if [ "${1:-}" = "--stamp-only" ]; then
	echo "$want" > "$stamp"
	exit 0
fi
have=$(cat "$stamp" 2>/dev/null || true)
if [ "$want" = "$have" ] && [ "${1:-}" != "--reapply" ]; then
	exit 0
fi

# Refuse to throw away commits that were made in the tree and not exported.
if [ -f "$tree/.git/lu-applied-head" ]; then
	applied=$(cat "$tree/.git/lu-applied-head")
	head=$(gitc rev-parse HEAD)
	if [ "$head" != "$applied" ]; then
		die "build/linux has commits that are not in kernel-patches/ (HEAD $head). Run 'make export-patches' first, or 'git -C build/linux reset --hard $applied' to drop them."
	fi
fi
if [ -n "$(gitc status --porcelain --untracked-files=no)" ]; then
	die "build/linux has uncommitted changes; commit and 'make export-patches', or discard them"
fi

gitc am --abort >/dev/null 2>&1 || true
gitc checkout -q -B lu lu-base
n=0
if [ -f "$patches/series" ]; then
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		[ -f "$patches/$p" ] || die "series names $p, which is not in kernel-patches/"
		gitc am -q --keep-cr "$patches/$p" ||
			{ gitc am --abort >/dev/null 2>&1 || true; die "patch $p does not apply to the base"; }
		n=$((n + 1))
	done < "$patches/series"
fi
gitc rev-parse HEAD > "$tree/.git/lu-applied-head"
echo "$want" > "$stamp"
echo "kernel-tree: applied $n patch(es) from kernel-patches/series"
