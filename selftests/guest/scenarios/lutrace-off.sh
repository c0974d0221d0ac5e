# SPDX-License-Identifier: GPL-2.0
# lutrace on a kernel whose live update is off (the test boots it with
# liveupdate=off): every command must fail with its message, and lt_show
# (make demo) must turn the failure into a failed check.
. /lib/lu.sh

lt_run dump -j dump
lt_run dump-incoming dump --incoming
lt_run trace trace --duration 1
lt_run trace-boot trace --boot
lt_run latency latency 1 1
# What make demo shows: a failing lutrace is a failed check
lt_show dump_shown dump
exit 0
