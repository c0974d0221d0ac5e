# SPDX-License-Identifier: GPL-2.0
# make bench's guest half (selftests/bench/bench.py; lu-bench.c says what
# each step times). lu.args=MIB,REPS,KEXECS:
#   stage 1       REPS preserve cycles, each once without lutrace and
#                 once with "lutrace trace" and "lutrace latency" attached
#                 (results r<N>_ and lt_r<N>_), then the preserve kept and
#                 the kexec
#   stages 2..K   the restore in the new kernel and mapping the same memfd
#                 afresh, the update's timeline (lutrace timeline); until
#                 stage KEXECS, the preserve kept again and the next kexec
. /lib/lu.sh

set -- "$1" $(lu_args)
stage=$1 mib=$2 reps=$3 kexecs=$4

if [ "$stage" -gt 1 ]; then
	lu_run lu-bench restore --mib "$mib" --reps "$reps" || exit 1
	# The kernel's part of the restore, on the TSC of both kernels (TCG
	# does not say its TSC is invariant: docs/lutrace.md)
	lt_run timeline -j timeline --trust-tsc || exit 1
fi
if [ "$stage" -gt "$kexecs" ]; then
	exit 0
fi
if [ "$stage" = 1 ]; then
	# Without and with lutrace in turn, one preserve cycle each, so that
	# both see the same machine (results r<N>_... and lt_r<N>_...).
	# lutrace alone is attached (not lt_start: its reference kprobes
	# would be timed too).
	for r in $(seq "$reps"); do
		LU_PREFIX=r${r}_ lu_run lu-bench preserve --mib "$mib" --reps 1 || exit 1
		for cmd in trace latency; do
			lutrace "$cmd" > /dev/null 2> "/run/bench-$cmd.err" &
			echo $! > "/run/bench-$cmd.pid"
		done
		for i in $(seq 300); do
			grep -q "Hit Ctrl-C" /run/bench-trace.err 2>/dev/null &&
				grep -q "Hit Ctrl-C" /run/bench-latency.err 2>/dev/null && break
			sleep 0.1
		done
		grep -q "Hit Ctrl-C" /run/bench-latency.err ||
			{ lu_say "LU-ERROR lutrace did not start: $(cat /run/bench-*.err)"; exit 1; }
		LU_PREFIX=lt_r${r}_ lu_run lu-bench preserve --mib "$mib" --reps 1 || exit 1
		kill -INT $(cat /run/bench-trace.pid) $(cat /run/bench-latency.pid)
		wait
	done
fi
lu_kexec lu-bench kexec --mib "$mib" --
lu_say "LU-ERROR kexec did not happen"
exit 1
