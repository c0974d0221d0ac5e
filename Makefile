# SPDX-License-Identifier: GPL-2.0
# IOMMU live update preservation: top-level build.
#
#   make demo      build everything, boot a vtd guest: DMA check, live update
#   make check     build everything and run the test suite (pytest)
#
# Every target installs what it needs first (make deps: Debian packages, and
# trixie-backports pinned low for linux-source-7.3 only). Outputs go to build/.

SHELL := /bin/bash
TOP := $(CURDIR)
BUILD := $(TOP)/build
KTREE := $(BUILD)/linux
CONFIG_FRAGMENTS := selftests/config/common.config selftests/config/debug.config
# make KASAN=1 ...: a separate KASAN build and guest, tested with the same
# suite (slower; not the default, see docs/development.md).
ifeq ($(KASAN),1)
CONFIG_FRAGMENTS += selftests/config/kasan.config
KOUT := $(BUILD)/kbuild-kasan
GUEST := $(BUILD)/guest-kasan
LT := $(BUILD)/lutrace-kasan
# KHO sizes its default scratch areas from the early memblock reservations,
# which KASAN's shadow inflates until the reservation fails and KHO is off.
export LU_APPEND := kho_scratch=128M,512M,128M
else
KOUT := $(BUILD)/kbuild
GUEST := $(BUILD)/guest
LT := $(BUILD)/lutrace
endif
# The scripts and the test harness find the build through these.
export KOUT
export LU_GUEST := $(GUEST)
export LU_LUTRACE := $(LT)
BZIMAGE := $(KOUT)/arch/x86/boot/bzImage
VMLINUX := $(KOUT)/vmlinux
KHDR := $(KOUT)/hdr/include
INITRAMFS := $(GUEST)/initramfs.cpio
# The guest initramfs plus the kernel's own selftests (test_kselftest.py)
KSFT_INITRAMFS := $(GUEST)/initramfs-kselftest.cpio
PYTHON := /usr/bin/python3
PYTEST_ARGS ?=
# make check runs the tests on this many pytest-xdist workers: a TCG guest
# keeps about one host core busy (docs/development.md), and takes up to
# 4 GiB (the kselftest guest): one worker per core and per 5 GiB of memory.
# PYTEST_JOBS=0: one process, the tests in file order.
PYTEST_JOBS ?= $(shell c=$$(nproc); m=$$(awk '/^MemTotal:/ { print int($$2 / 5242880) }' \
	/proc/meminfo); n=$$(( c < m ? c : m )); echo $$(( n > 0 ? n : 1 )))
PYTEST_JOBS := $(PYTEST_JOBS)
PYTEST_XDIST := $(if $(filter 0,$(PYTEST_JOBS)),,-n $(PYTEST_JOBS) --dist loadgroup)

GUEST_SRCS := $(wildcard selftests/guest/*.c)
GUEST_HDRS := $(wildcard selftests/guest/*.h)
GUEST_BINS := $(patsubst selftests/guest/%.c,$(GUEST)/bin/%,$(GUEST_SRCS))
GUEST_FILES := selftests/guest/init $(wildcard selftests/guest/lib/*.sh) \
	$(wildcard selftests/guest/scenarios/*.sh)

.PHONY: all deps tree config kernel guest kselftest lutrace lutrace-unit demo check check-slow bench \
	test export-patches clean distclean help FORCE

all: kernel guest kselftest lutrace lutrace-unit

help:
	@sed -n '2,9p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@bash scripts/deps.sh

# The kernel tree: base + series. The script is a no-op unless the series
# changed, so it runs every time.
tree: deps
	@bash scripts/kernel-tree.sh

# Re-configures only when a fragment or the applied series changed.
config: tree
	@bash scripts/kernel-config.sh $(CONFIG_FRAGMENTS)

# Kbuild decides what to rebuild.
kernel: config
	@bash scripts/kernel-build.sh

$(GUEST)/bin/%: selftests/guest/%.c $(GUEST_HDRS) | $(GUEST)/bin
	gcc -static -O2 -Wall -Wextra -Werror -I$(KHDR) -Iselftests/guest -o $@ $<

$(GUEST)/bin:
	@mkdir -p $@

# The modules the kernel build made (iommufd, VFIO): a change to one of them
# alone leaves bzImage as it was
KMODS = $(shell find $(KOUT) -path $(KOUT)/mod -prune -o -name '*.ko' -print 2>/dev/null)

$(INITRAMFS): $(GUEST_BINS) $(GUEST)/bin/lutrace $(GUEST_FILES) $(BZIMAGE) $(KMODS) \
		scripts/mk-initramfs.sh
	@bash scripts/mk-initramfs.sh $(BZIMAGE) $(GUEST)/bin $@ $(KOUT)/mod

# Guest programs need the built kernel's uapi headers, hence after kernel.
guest: kernel
	@$(MAKE) --no-print-directory $(INITRAMFS)

# The kernel's selftests of iommufd, live update and VFIO, static, for the
# guest (scripts/build-kselftests.sh); their make decides what to rebuild,
# so this runs every time.
kselftest: guest
	@bash scripts/build-kselftests.sh $(KTREE) $(KHDR) $(GUEST)/kselftest \
		$(INITRAMFS) $(KSFT_INITRAMFS)

# lutrace (docs/lutrace.md): BPF objects built against the built kernel's
# BTF, libbpf skeletons, a host binary (system libbpf, dynamic) and a static
# one for the guest. Debian's bpftool and libbpf, see docs/lutrace.md.
LT_BPF := dump trace latency timeline
LT_SKELS := $(patsubst %,$(LT)/%.skel.h,$(LT_BPF))
LT_CORE_SRCS := $(addprefix tools/lutrace/,decode.c load.c verdict.c compare.c env.c \
	events.c json.c hist.c timeline_model.c)
LT_SRCS := $(addprefix tools/lutrace/,main.c common.c dump.c check.c diff.c trace.c \
	latency.c timeline.c) $(LT_CORE_SRCS)
# JSON reading (dump --from, check --from, diff): json-c
LT_LIBS := json-c
LT_HDRS := $(wildcard tools/lutrace/*.h tools/lutrace/compat/*/*.h) bpf/lutrace.h
LT_ABI := $(KTREE)/include/linux/kho/abi
LT_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
LT_CFLAGS := -O2 -g -Wall -Wextra -Werror -std=gnu11 -I$(LT) -Itools/lutrace \
	-Itools/lutrace/compat \
	-DLT_ABI_IOMMU_H='"$(LT_ABI)/iommu.h"' -DLT_ABI_BLOCK_H='"$(LT_ABI)/block.h"' \
	-DLT_ABI_TL_H='"$(LT_ABI)/iommu_timeline.h"' \
	-DLUTRACE_VERSION='"$(LT_VERSION)"'
BPF_CFLAGS := -O2 -g -Wall -target bpf -D__TARGET_ARCH_x86 \
	-fms-extensions -Wno-microsoft-anon-tag -I$(LT) -Ibpf

lutrace: kernel
	@$(MAKE) --no-print-directory $(LT)/lutrace

$(LT)/vmlinux.h: $(VMLINUX) | $(LT)
	bpftool btf dump file $< format c > $@.tmp && mv $@.tmp $@

$(LT)/%.bpf.o: bpf/%.bpf.c bpf/lutrace.h $(LT)/vmlinux.h
	clang $(BPF_CFLAGS) -c $< -o $@.tmp.o 2> $@.log || { cat $@.log; exit 1; }
	@cat $@.log
	@! grep -q "skipping relo section" $@.log
	bpftool gen object $@ $@.tmp.o && rm -f $@.tmp.o

$(LT)/%.skel.h: $(LT)/%.bpf.o
	bpftool gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(LT)/lutrace: $(LT_SRCS) $(LT_HDRS) $(LT_SKELS)
	gcc $(LT_CFLAGS) -o $@ $(LT_SRCS) $$(pkg-config --libs libbpf $(LT_LIBS))

# The static binary for the guest (about 1.3 MiB; the limit is 5 MiB)
$(GUEST)/bin/lutrace: $(LT_SRCS) $(LT_HDRS) $(LT_SKELS) | $(GUEST)/bin
	gcc $(LT_CFLAGS) -static -o $@ $(LT_SRCS) $$(pkg-config --libs --static libbpf $(LT_LIBS))
	strip $@

# Host unit tests of the decoding (no kernel build needed)
lutrace-unit: tree
	@$(MAKE) --no-print-directory $(LT)/test-lutrace

$(LT)/test-lutrace: selftests/lutrace/test_lutrace.c $(LT_CORE_SRCS) $(LT_HDRS) | $(LT)
	gcc $(LT_CFLAGS) -o $@ $< $(LT_CORE_SRCS) $$(pkg-config --libs $(LT_LIBS))

.SECONDARY:

$(LT):
	@mkdir -p $@

demo: all
	@cd selftests && $(PYTHON) demo.py

check test: all
	@cd selftests && $(PYTHON) -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

# Tests that take minutes under TCG (generic_pt's random map KUnit cases).
check-slow: all
	@cd selftests && $(PYTHON) -m pytest -m slow $(PYTEST_ARGS)

# The live update benchmarks (selftests/bench/bench.py): print numbers and
# ratios, assert no time.
bench: all
	@$(PYTHON) selftests/bench/bench.py

export-patches:
	@bash scripts/export-patches.sh

clean:
	rm -rf $(GUEST) $(BUILD)/test-logs

distclean:
	rm -rf $(BUILD)
