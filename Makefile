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
# KHO sizes its default scratch areas from the early memblock reservations,
# which KASAN's shadow inflates until the reservation fails and KHO is off.
export LU_APPEND := kho_scratch=128M,512M,128M
else
KOUT := $(BUILD)/kbuild
GUEST := $(BUILD)/guest
endif
# The scripts and the test harness find the build through these.
export KOUT
export LU_GUEST := $(GUEST)
BZIMAGE := $(KOUT)/arch/x86/boot/bzImage
VMLINUX := $(KOUT)/vmlinux
KHDR := $(KOUT)/hdr/include
INITRAMFS := $(GUEST)/initramfs.cpio
PYTHON := /usr/bin/python3
PYTEST_ARGS ?=

GUEST_SRCS := $(wildcard selftests/guest/*.c)
GUEST_HDRS := $(wildcard selftests/guest/*.h)
GUEST_BINS := $(patsubst selftests/guest/%.c,$(GUEST)/bin/%,$(GUEST_SRCS))
GUEST_FILES := selftests/guest/init selftests/guest/lib/lu.sh \
	$(wildcard selftests/guest/scenarios/*.sh)

.PHONY: all deps tree config kernel guest demo check check-slow bench test export-patches \
	clean distclean help FORCE

all: kernel guest

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

$(INITRAMFS): $(GUEST_BINS) $(GUEST_FILES) $(BZIMAGE) scripts/mk-initramfs.sh
	@bash scripts/mk-initramfs.sh $(BZIMAGE) $(GUEST)/bin $@

# Guest programs need the built kernel's uapi headers, hence after kernel.
guest: kernel
	@$(MAKE) --no-print-directory $(INITRAMFS)

demo: all
	@cd selftests && $(PYTHON) demo.py

check test: all
	@cd selftests && $(PYTHON) -m pytest $(PYTEST_ARGS)

# Tests that take minutes under TCG (generic_pt's random map KUnit cases).
check-slow: all
	@cd selftests && $(PYTHON) -m pytest -m slow $(PYTEST_ARGS)

# Page table live update benchmark: prints numbers, asserts no time.
bench: all
	@$(PYTHON) selftests/bench/pt_lu_bench.py

export-patches:
	@bash scripts/export-patches.sh

clean:
	rm -rf $(GUEST) $(BUILD)/test-logs

distclean:
	rm -rf $(BUILD)
