#!/bin/bash
# Build the kernel's own selftests for the parts the series touches (iommu:
# iommufd and iommufd_fail_nth; liveupdate: the API test and the four LUO
# kexec tests; vfio) from the kernel tree, as static programs against the
# built kernel's uapi headers, and pack them as a second initramfs: the
# test guest's initramfs followed by a cpio archive of /kselftest/SUITE/PROG
# (the kernel unpacks both). Only the kselftest scenario boots it, so the
# other tests do not carry 15 MiB of programs through every kexec.
#
# Usage: build-kselftests.sh KTREE KHDR OUTDIR GUEST_INITRAMFS OUTPUT
set -euo pipefail

tree=$1 khdr=$2 outdir=$3 base=$4 out=$5
suites="iommu liveupdate vfio"
root=$outdir/root
st=$tree/tools/testing/selftests

for s in $suites; do
	mkdir -p "$outdir/build/$s"
	# Kbuild-style quiet output; make decides what to rebuild. The vfio
	# Makefile sets CFLAGS itself from KHDR_INCLUDES.
	make -s -C "$st/$s" OUTPUT="$outdir/build/$s" \
		KHDR_INCLUDES="-isystem $khdr" LDFLAGS="-static" >/dev/null
done

rm -rf "$root"
for s in $suites; do
	mkdir -p "$root/kselftest/$s"
	# The programs only: each build directory also holds objects and
	# dependency files
	find "$outdir/build/$s" -maxdepth 1 -type f -executable \
		-exec install -s -t "$root/kselftest/$s" {} +
done
(cd "$root" && find . | sort | cpio -o -H newc -R 0:0 --quiet) > "$outdir/kselftest.cpio"
cat "$base" "$outdir/kselftest.cpio" > "$out.tmp"
mv "$out.tmp" "$out"
echo "build-kselftests: $out ($(du -h "$out" | cut -f1)," \
	"$(find "$root/kselftest" -type f | wc -l) programs)"
