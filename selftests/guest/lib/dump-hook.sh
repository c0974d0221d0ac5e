# SPDX-License-Identifier: GPL-2.0
# Run by "lu-vfio preserve ... -- sh /lib/dump-hook.sh CMD...", with every
# session of the scenario preserved and still open: lutrace's dump of the
# outgoing state (blob dump-outgoing), then exec CMD (the kexec).
. /lib/lu.sh

lt_run dump-outgoing -j dump --outgoing
exec "$@"
