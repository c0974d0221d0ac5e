# SPDX-License-Identifier: GPL-2.0
# Run by "lu-vfio preserve ... -- sh /lib/lt-hook.sh CMD...", with the
# session preserved and still open: what lutrace sees of the outgoing
# state, then the kernel's own trace of it, then exec CMD (the kexec).
. /lib/lu.sh

lt_run dump-outgoing -j dump --outgoing
lutrace dump --outgoing
lt_stop s1
lu_blob ftrace /sys/kernel/tracing/trace
exec "$@"
