#!/bin/bash
# Pack the test guest's initramfs: busybox-static, the static guest programs
# from build/guest/bin, /init, the shell helpers and the scenarios from
# selftests/guest, the kernel at /boot/bzImage (kexec target) and its
# modules at /lib/modules (installed by kernel-build.sh into MODDIR).
#
# Usage: mk-initramfs.sh BZIMAGE BINDIR OUTPUT MODDIR
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bz=$1 bindir=$2 out=$3 moddir=$4
guest=$top/selftests/guest
root=$(dirname "$out")/root

if [ ! -x /bin/busybox ] || readelf -l /bin/busybox | grep -q INTERP; then
	echo "mk-initramfs: /bin/busybox is missing or not static; run 'make deps' (busybox-static)" >&2
	exit 1
fi

rm -rf "$root"
mkdir -p "$root"/{bin,sbin,lib,scenarios,boot,proc,sys,dev,run,tmp,etc}
cp /bin/busybox "$root/bin/busybox"
cp "$guest/init" "$root/init"
chmod 0755 "$root/init"
cp "$guest"/lib/*.sh "$root/lib/"
cp "$guest"/scenarios/*.sh "$root/scenarios/"
cp "$bindir"/* "$root/bin/"
cp "$bz" "$root/boot/bzImage"
if [ -d "$moddir/lib/modules" ]; then
	cp -a "$moddir/lib/modules" "$root/lib/modules"
fi
(cd "$root" && find . | sort | cpio -o -H newc -R 0:0 --quiet) > "$out.tmp"
mv "$out.tmp" "$out"
echo "mk-initramfs: $out ($(du -h "$out" | cut -f1))"
