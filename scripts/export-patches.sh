#!/bin/bash
# Export the commits of build/linux on top of the base back into
# kernel-patches/ as a format-patch series with a cover letter, and rewrite
# kernel-patches/series. The tree is then marked as matching the series so
# that kernel-tree.sh does not re-apply it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
tree=${KTREE:-$build/linux}
patches=${PATCHES:-$top/kernel-patches}

[ -d "$tree/.git" ] || { echo "export-patches: no tree at $tree; run 'make tree'" >&2; exit 1; }
if [ -n "$(git -C "$tree" status --porcelain --untracked-files=no)" ]; then
	echo "export-patches: build/linux has uncommitted changes; commit them first" >&2
	exit 1
fi

# The cover letter comes from the branch description. A tree made by
# kernel-tree.sh has none: take it from the cover letter exported last
# (its subject, then its text up to the shortlog), so it is never lost.
branch=$(git -C "$tree" symbolic-ref --short HEAD)
if [ -z "$(git -C "$tree" config "branch.$branch.description" || true)" ] &&
	[ -f "$patches/0000-cover-letter.patch" ]; then
	desc=$(awk '
		/^Subject: / { sub(/^Subject: \[PATCH [0-9]+\/[0-9]+\] /, ""); subj = $0; insubj = 1; next }
		insubj && /^ / { sub(/^ /, ""); subj = subj " " $0; next }
		insubj { insubj = 0; print subj; print ""; body = 1; next }
		body && /^[^ ].* \([0-9]+\):$/ { exit }
		body { print }
	' "$patches/0000-cover-letter.patch")
	[ -n "$desc" ] && git -C "$tree" config "branch.$branch.description" "$desc"
fi

rm -f "$patches"/[0-9][0-9][0-9][0-9]-*.patch
count=$(git -C "$tree" rev-list --count lu-base..HEAD)
if [ "$count" -gt 0 ]; then
	# The cover letter is sent as the author of the series' last patch.
	# Blank context lines are written empty, not as a single space:
	# git am takes both, and checkpatch run on a patch file that git
	# tracks (it then reads it as a source file) sees no trailing blanks.
	git -C "$tree" -c user.name="$(git -C "$tree" log -1 --format=%an)" \
		-c user.email="$(git -C "$tree" log -1 --format=%ae)" \
		-c diff.suppressBlankEmpty=true \
		format-patch -q --cover-letter --no-signature \
		--cover-from-description=auto -o "$patches" lu-base..HEAD
fi
{
	echo "# Order in which the patches apply to the base (see BASE)."
	ls "$patches" | grep -E '^[0-9]{4}-.*\.patch$' | grep -v '^0000-cover-letter' || true
} > "$patches/series"
git -C "$tree" rev-parse HEAD > "$tree/.git/lu-applied-head"
# Record the new series as applied: the tree already holds it.
"$top/scripts/kernel-tree.sh" --stamp-only 2>/dev/null || true
echo "export-patches: $count patch(es) written to kernel-patches/"
