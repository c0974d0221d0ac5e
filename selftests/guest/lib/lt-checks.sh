# SPDX-License-Identifier: GPL-2.0
# lutrace's checks at the end of a live update scenario (lu-iommufd stage
# 2), for selftests/test_lutrace.py. Needs lib/lu.sh.

# "lutrace -j latency 1 5" while a session is preserved and cancelled
# (lu-vfio preserve --cancel-only, its checks named interval_...): each
# operation must be in one interval's histograms, not again in the ones
# after. Blobs latency-interval and latency-interval-err, LU-RESULT
# latency-interval-rc.
lt_latency_interval() {
	lutrace -j latency 1 5 > /run/lt-interval.json 2> /run/lt-interval.err &
	pid=$!
	for i in $(seq 300); do
		grep -q "Hit Ctrl-C" /run/lt-interval.err && break
		sleep 0.1
	done
	LU_PREFIX=interval_ lu_run lu-vfio preserve --cancel-only -- true
	wait $pid
	lu_result latency-interval-rc $?
	lu_blob latency-interval /run/lt-interval.json
	lu_blob latency-interval-err /run/lt-interval.err
}

# latency with too few file descriptors to attach all its probes (each
# takes two; loading takes about 42): an attach error other than a missing
# function must fail the command. LU-RESULT latency-fd-limit-rc, blob
# latency-fd-limit-err.
LT_FD_LIMIT=48

lt_latency_fd_limit() {
	sh -c "ulimit -n $LT_FD_LIMIT && exec lutrace latency 1 1" \
		> /run/lt-fd-limit.out 2> /run/lt-fd-limit.err
	lu_result latency-fd-limit-rc $?
	lu_blob latency-fd-limit-err /run/lt-fd-limit.err
}

# trace --boot once the kernel's trace buffer lost events: shrunk to 8 KiB
# a CPU and overwritten with markers (this ends what the buffer holds of
# the scenario). The buffer as read just before lutrace is blob
# ftrace-overflow; lutrace's output trace-boot-lost (lt_run).
lt_trace_boot_lost() {
	t=/sys/kernel/tracing
	echo 8 > $t/buffer_size_kb ||
		{ lu_say "LU-ERROR cannot shrink the trace buffer"; return 1; }
	i=0
	while [ $i -lt 1000 ]; do
		echo "lutrace test: overwriting the trace buffer, $i" > $t/trace_marker
		i=$((i + 1))
	done
	cp $t/trace /run/ftrace-overflow
	lu_blob ftrace-overflow /run/ftrace-overflow
	lt_run trace-boot-lost -j trace --boot
}
