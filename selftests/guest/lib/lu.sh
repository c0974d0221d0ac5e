# SPDX-License-Identifier: GPL-2.0
# Shell helpers for guest scenarios. The lines the harness parses go through
# the kernel log (/dev/kmsg, see lu_say), so that the console prints each one
# whole: a kernel message printed at the same moment cannot split it.
#   LU-RESULT <stage> <key> <value...>        a fact, for the test to assert
#   LU-CHECK <stage> <name> PASS|FAIL <detail> a check done in the guest
#   LU-KEXEC <stage>                           about to kexec into stage+1
# Static guest programs print "LU-RESULT <key> <value>" and
# "LU-CHECK <name> ..." without the stage; lu_run adds it.

# Print one protocol line on the console, through the kernel log.
lu_say() {
	echo "$*" > /dev/kmsg
}

lu_cmdline_get() {
	for w in $(cat /proc/cmdline); do
		case "$w" in
		"$1"=*) echo "${w#*=}"; return 0 ;;
		esac
	done
	return 1
}

# Extra arguments for the scenario: lu.args=a,b,c -> "a b c"
lu_args() {
	lu_cmdline_get lu.args | tr ',' ' '
}

lu_result() {
	k=$1; shift
	lu_say "LU-RESULT $LU_STAGE $k $*"
}

lu_check() {
	lu_say "LU-CHECK $LU_STAGE $1 $2 $3"
}

# Run a guest program, tagging its LU- lines with the stage; returns its
# exit status. With LU_PREFIX set, its check and result names get that
# prefix: a second VMM's "LU_PREFIX=second_ lu_run lu-vfio retrieve ...".
lu_run() {
	{ "$@"; echo "LU-EXIT $?"; } 2>&1 | {
		rc=1
		while IFS= read -r line; do
			case "$line" in
			"LU-RESULT "*|"LU-CHECK "*)
				lu_say "${line%% *} $LU_STAGE $LU_PREFIX${line#* }" ;;
			"LU-EXIT "*)
				rc=${line#LU-EXIT } ;;
			*)
				echo "$line" ;;
			esac
		done
		return "$rc"
	}
}

# Pack the running root file system as the next stage's initramfs.
lu_self_cpio() {
	(cd / && find . -xdev \( -path ./run -o -path ./tmp \) -prune -o -print |
		cpio -o -H newc 2>/dev/null) > /run/self.cpio
}

# kexec with KHO into the same kernel for the next stage. Extra arguments are
# a command (and its arguments) that lu-kexec runs under, e.g. a program that
# keeps a live update session open: "lu_kexec luo-memfd preserve --".
# LU_KEXEC_TRY (default empty) holds KEY=VALUE words, separated by spaces:
# before the real kexec, one kexec into the kernel loaded with each word set
# as well, which the live update's pre-flight must refuse (lu-kexec
# --try-first; check preflight_refused_KEY).
lu_kexec() {
	lu_self_cpio || { lu_say "LU-ERROR cannot pack the root file system"; return 1; }
	next=$((LU_STAGE + 1))
	tries=
	for w in $LU_KEXEC_TRY; do
		tries="$tries --try-first $w"
	done
	lu_say "LU-KEXEC $LU_STAGE"
	# $tries unquoted: one word per option and value
	lu_run "$@" lu-kexec --kernel /boot/bzImage --initrd /run/self.cpio \
		--reuse-cmdline --set "lu.stage=$next" $tries
}

# BDF of the n-th (default first) PCI device VENDOR:DEVICE, in bus order:
# "lu_pci_bdf 0x8086 0x10d3 2" is the second e1000e.
lu_pci_bdf() {
	n=${3:-1}
	i=0
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ]; then
			i=$((i + 1))
			[ $i -eq "$n" ] && { basename "$d"; return 0; }
		fi
	done
	return 1
}

# BDF of the n-th (default first) QEMU edu device: the n-th that the test
# names on the kernel command line, lu.edus=BDF,BDF,... (the preserved
# devices first, the control last), or else the n-th in bus order.
lu_edu_bdf() {
	edus=$(lu_cmdline_get lu.edus) || { lu_pci_bdf 0x1234 0x11e8 "$@"; return; }
	i=0
	for b in $(echo "$edus" | tr ',' ' '); do
		i=$((i + 1))
		[ $i -eq "${1:-1}" ] && { echo "$b"; return 0; }
	done
	return 1
}

# BDF of the edu device that is never preserved: the last of lu.edus=, or
# else the second in bus order.
lu_edu_control() {
	edus=$(lu_cmdline_get lu.edus) || { lu_edu_bdf 2; return; }
	echo "${edus##*,}"
}

# Stage 1 of the device live update scenarios: trace the iommu_lu events,
# then "lu-vfio preserve ARGS --" holds the session across the kexec.
# With LU_LUTRACE=1, lutrace traces it and dumps the outgoing state before
# the kexec (lib/lt-hook.sh); with LU_DUMP=1, it only dumps it
# (lib/dump-hook.sh). With LU_CORRUPT="WHAT [ARG]", the outgoing
# state is damaged just before the kexec (lib/corrupt-hook.sh).
# On an AMD-Vi machine, what its first IOMMU holds, read through the
# driver's debugfs: LU-RESULT amdvi_devtab_<tag>, its device table base
# register, and amdvi_dte_<tag>, the device table entry of the PCI device
# $2, its four 64-bit words from the highest. Nothing elsewhere.
lu_amdvi_regs() {
	d=/sys/kernel/debug/iommu/amd
	[ -d "$d" ] || return 0
	echo 0 > "$d/iommu00/mmio" || return 1
	lu_result "amdvi_devtab_$1" "$(sed -n 's/.*Value:\(0x[0-9a-f]*\).*/\1/p' "$d/iommu00/mmio")"
	echo "$2" > "$d/devid" || return 1
	lu_result "amdvi_dte_$1" "$(awk -v dev="$2" '$1 == dev { print $2, $3, $4, $5 }' "$d/devtbl")"
}

lu_vfio_preserve_kexec() {
	echo 1 > /sys/kernel/tracing/events/iommu_lu/enable ||
		{ lu_say "LU-ERROR cannot enable the iommu_lu trace events"; exit 2; }
	# Hooks between the preserve and lu-kexec; each execs the next
	hooks=
	if [ "$LU_LUTRACE" = 1 ]; then
		lt_start s1 || exit 1
		hooks="sh /lib/lt-hook.sh"
	fi
	[ "$LU_DUMP" != 1 ] || hooks="$hooks sh /lib/dump-hook.sh"
	[ "$LU_AMDVI_REGS" != 1 ] || hooks="$hooks sh /lib/amdvi-hook.sh"
	[ -z "$LU_CORRUPT" ] || hooks="$hooks sh /lib/corrupt-hook.sh $LU_CORRUPT --"
	# $hooks unquoted: one word per argument
	lu_kexec lu-vfio preserve "$@" -- $hooks
	lu_say "LU-ERROR kexec did not happen"
	exit 1
}

# Stage 2 of the scenarios that block the preserved device: "lu-vfio ARGS",
# then the first edu device must work with a new iommufd (edu-dma, at other
# IOVAs than the preserved ones, so that its own faults are not taken for
# those of the blocked DMA). Returns lu-vfio's exit status.
lu_vfio_then_edu_dma() {
	lu_run lu-vfio "$@"
	rc=$?
	lu_run edu-dma --bdf "$(lu_edu_bdf 1)" --map-iova 0x400000
	return $rc
}

# A hook's arguments "WORDS... -- CMD...": "lu_hook_args "$@"; shift
# $hook_skip" leaves CMD... as the arguments, WORDS in $hook_what.
lu_hook_args() {
	hook_what=
	hook_skip=0
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		hook_what="${hook_what:+$hook_what }$1"
		hook_skip=$((hook_skip + 1))
		shift
	done
	[ "$1" != -- ] || hook_skip=$((hook_skip + 1))
}

# Send a file to the test, whole: base64 in LU-BLOB lines (the kernel log
# takes about 1000 characters per line). The harness puts them together
# again: Stage.blob(name).
lu_blob() {
	name=$1 file=$2
	lu_say "LU-BLOB $LU_STAGE $name"
	base64 "$file" | tr -d "\n" | fold -w 600 | while IFS= read -r chunk || [ -n "$chunk" ]; do
		lu_say "LU-BLOB $LU_STAGE $name $chunk"
	done
}

# lutrace in the background while a scenario runs: "lt_start NAME" starts
# "lutrace -j trace" and "lutrace -j latency" and waits until both are
# attached, then empties the kernel's trace buffer, so that from there on
# it holds the very events lutrace sees; "lt_stop NAME" interrupts them
# (they flush on SIGINT) and sends their output as the blobs NAME-trace and
# NAME-latency, their messages as NAME-trace-err and NAME-latency-err.
# Meanwhile, the kernel's own kprobe events time the functions of
# LT_REF_FUNCS (entry and return, in the trace instance lt-NAME), a
# reference for latency's histograms: blob NAME-kprobes.
LT_REF_FUNCS="iommufd_lu_preserve iommufd_lu_unpreserve iommufd_lu_retrieve
	vfio_lu_preserve vfio_lu_unpreserve vfio_lu_retrieve
	iommu_domain_lu_preserve iommu_domain_lu_unpreserve"

lt_start() {
	t=/sys/kernel/tracing
	if [ ! -d $t/events/lt_ref ]; then
		for fn in $LT_REF_FUNCS; do
			echo "p:lt_ref/${fn}_entry $fn" >> $t/kprobe_events &&
				echo "r:lt_ref/${fn}_return $fn" >> $t/kprobe_events ||
				{ lu_say "LU-ERROR cannot add kprobe events for $fn"; return 1; }
		done
	fi
	mkdir $t/instances/lt-$1 && echo 1 > $t/instances/lt-$1/events/lt_ref/enable ||
		{ lu_say "LU-ERROR cannot enable the kprobe events in instance lt-$1"; return 1; }
	for cmd in trace latency; do
		lutrace -j "$cmd" > "/run/lt-$1-$cmd.json" 2> "/run/lt-$1-$cmd.err" &
		echo $! > "/run/lt-$1-$cmd.pid"
	done
	for i in $(seq 300); do
		if grep -q "Hit Ctrl-C" "/run/lt-$1-trace.err" 2>/dev/null &&
			grep -q "Hit Ctrl-C" "/run/lt-$1-latency.err" 2>/dev/null; then
			echo > $t/trace
			return 0
		fi
		sleep 0.1
	done
	lu_say "LU-ERROR lutrace did not start: $(cat /run/lt-$1-*.err)"
	return 1
}

lt_stop() {
	for cmd in trace latency; do
		kill -INT "$(cat "/run/lt-$1-$cmd.pid")"
	done
	for cmd in trace latency; do
		pid=$(cat "/run/lt-$1-$cmd.pid")
		# Not "wait": the caller may not be their parent (lt-hook.sh),
		# and an exited child stays a zombie until its parent reaps it.
		for i in $(seq 300); do
			state=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)
			[ -z "$state" ] || [ "$state" = Z ] && break
			sleep 0.1
		done
		lu_blob "$1-$cmd" "/run/lt-$1-$cmd.json"
		lu_blob "$1-$cmd-err" "/run/lt-$1-$cmd.err"
		cat "/run/lt-$1-$cmd.err"
	done
	t=/sys/kernel/tracing/instances/lt-$1
	echo 0 > $t/events/lt_ref/enable
	lu_blob "$1-kprobes" $t/trace
	rmdir $t
}

# "lt_show NAME ARGS...": lutrace ARGS for a person to read (make demo),
# each line indented; its exit status is the check lutrace_NAME.
lt_show() {
	name=$1; shift
	lutrace "$@" > "/run/lt-show.out" 2>&1
	rc=$?
	sed 's/^/  lutrace: /' /run/lt-show.out
	if [ $rc -eq 0 ]; then
		lu_check "lutrace_$name" PASS "lutrace $*"
	else
		lu_check "lutrace_$name" FAIL "lutrace $* exited with $rc"
	fi
	return $rc
}

# Run "lutrace ARGS..." and send its standard output as blob NAME, its exit
# status as LU-RESULT NAME-rc.
lt_run() {
	name=$1; shift
	lutrace "$@" > "/run/lt-$name.out" 2> "/run/lt-$name.err"
	rc=$?
	lu_result "$name-rc" "$rc"
	lu_blob "$name" "/run/lt-$name.out"
	lu_blob "$name-err" "/run/lt-$name.err"
	return $rc
}
