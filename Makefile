# guest_memfd for Linux 6.1: the workshop's front door. "make help" lists
# the targets; everything it builds lands in build/ (ignored by git).

ARCH ?= x86_64
# LANE selects the debugging config on top of the common one:
#   debug   lockdep, DEBUG_VM, DEBUG_ATOMIC_SLEEP, ... (default)
#   kasan   debug + KASAN
#   soak    debug + KASAN + kmemleak
#   bench   no debugging (what "make bench" boots)
LANE ?= debug
# Per-run guest timeout (seconds; a lane takes 9-13 min): a guest still
# running then is killed and the run fails. Two hung lanes plus cold
# builds stay inside CI's 90 minutes.
VM_TIMEOUT ?= 1500
# Only run the tests whose name matches this extended regex.
T ?=
# Tests run at a time in the guest (default 1; see vmtest/run-tests).
VM_JOBS ?=
# Seconds of the exerciser in "make test-soak".
SOAK ?= 600
# Extra kernel command line for the guest (vmtest.* parameters, or the
# kernel's own: kvm-arm.mode=nvhe runs arm64's KVM in nVHE mode).
VM_ARGS ?=
# Appended to the console log's name and the verdict's label, for a run
# that must not overwrite the lane's own log (e.g. TAG=-nvhe).
TAG ?=

ifeq ($(ARCH),arm64)
  CROSS_COMPILE ?= aarch64-linux-gnu-
  KIMAGE := arch/arm64/boot/Image
  KTARGET := Image
  BUSYBOX := $(CURDIR)/build/deps/busybox-arm64
else ifeq ($(ARCH),x86_64)
  CROSS_COMPILE ?=
  KIMAGE := arch/x86/boot/bzImage
  KTARGET := bzImage
  BUSYBOX := /bin/busybox
else
  $(error ARCH must be x86_64 or arm64)
endif

LANE_FRAGS_debug := config/debug.config
LANE_FRAGS_kasan := config/debug.config config/kasan.config
LANE_FRAGS_soak  := config/debug.config config/kasan.config config/kmemleak.config
LANE_FRAGS_bench := config/bench.config
ifeq ($(LANE_FRAGS_$(LANE)),)
  $(error LANE must be debug, kasan, soak or bench)
endif
# More config fragments on top of the lane's (absolute or repo-relative).
EXTRA_FRAGS ?=
FRAGS := config/common.config config/$(ARCH).config $(LANE_FRAGS_$(LANE)) \
         $(EXTRA_FRAGS)

B        := $(CURDIR)/build
TREE     := $(B)/linux
OBJ      := $(B)/obj-$(ARCH)-$(LANE)
HDR      := $(B)/hdr-$(ARCH)
ST       := $(B)/selftests-$(ARCH)
INITRD   := $(B)/initramfs-$(ARCH).cpio.gz
# Extra programs packed into the initramfs (/vmtest/extra): the benchmarks.
EXTRA    := $(B)/extra-$(ARCH)
LOGDIR   := $(B)/logs
LOG      := $(LOGDIR)/test-$(ARCH)-$(LANE)$(TAG).log
JOBS     ?= $(shell nproc)
CC_WRAP  := $(if $(shell command -v ccache),ccache )
# Paths below the checkout hash as relative ones, so that every clone of
# the project (CI runs in a fresh one) shares the cache.
export CCACHE_BASEDIR := $(CURDIR)
KMAKE     = $(MAKE) -C $(TREE) O=$(OBJ) ARCH=$(ARCH) \
            CROSS_COMPILE=$(CROSS_COMPILE) CC="$(CC_WRAP)$(CROSS_COMPILE)gcc" \
            -j$(JOBS)
KUNIT_PY := $(TREE)/tools/testing/kunit/kunit.py

.PHONY: help deps tree worktree export kernel headers selftests initramfs test \
        test-kasan test-soak check run shell bench bench-progs bench-run clean distclean

help:
	@echo "guest_memfd for Linux 6.1 - targets:"
	@echo "  make deps        install the Debian packages the workshop needs"
	@echo "  make tree        build/linux = base + series/ (git am)"
	@echo "  make export      series/ = the commits of build/linux since the base (UPTO=<rev> to stop earlier)"
	@echo "  make kernel      build the test kernel        (ARCH=x86_64|arm64, LANE=debug|kasan|soak)"
	@echo "  make selftests   build the KVM selftests, static"
	@echo "  make test        build what is stale, boot, run the selftests and KUnit, verdict"
	@echo "  make test-kasan  the same on the KASAN kernel"
	@echo "  make test-soak   the exerciser for SOAK=600 s under KASAN, lockdep and kmemleak"
	@echo "  make check       checkpatch, sparse, W=1, per-patch builds, htmldocs"
	@echo "  make run         boot the patched kernel and run a small KVM guest in it"
	@echo "  make shell       interactive shell in the booted kernel (tests in /vmtest)"
	@echo "  make bench       boot the bench kernel under -icount, run bench/, write bench/results-x86_64.md"
	@echo "Variables: ARCH=$(ARCH) LANE=$(LANE) T=<regex> (only these tests)"
	@echo "           LINUX_SRC=<6.1.y tree> (base other than Debian's linux-source-6.1)"

deps:
	@scripts/deps.sh

tree: deps
	@scripts/tree.sh

export:
	@scripts/export.sh $(UPTO)

# The build targets take build/linux as it is when it has work in progress.
worktree: deps
	@scripts/tree.sh --use-as-is

kernel: worktree
	@scripts/kconfig.sh $(TREE) $(OBJ) $(ARCH) $(FRAGS)
	@# A no-op kbuild still takes ~12 s; skip it when the tree (commit and
	@# uncommitted diff), the .config and the compiler are what built the
	@# image.
	@key=$$( { git -C $(TREE) rev-parse HEAD; git -C $(TREE) diff HEAD; \
		cat $(OBJ)/.config; $(CROSS_COMPILE)gcc --version | head -n 1; } | \
		sha256sum | cut -d' ' -f1); \
	if [ -f $(OBJ)/$(KIMAGE) ] && [ "$$key" = "$$(cat $(OBJ)/.image.key 2>/dev/null)" ]; then \
		echo "kernel: $(OBJ)/$(KIMAGE) is up to date"; \
	else \
		echo "kernel: building $(ARCH)/$(LANE) in $(OBJ)"; \
		rm -f $(OBJ)/.image.key; \
		$(KMAKE) -s $(KTARGET) || exit 1; \
		echo "$$key" > $(OBJ)/.image.key; \
		echo "kernel: $(OBJ)/$(KIMAGE)"; \
	fi

headers: worktree
	@$(MAKE) -s -C $(TREE) O=$(HDR) ARCH=$(ARCH) headers_install >/dev/null

selftests: headers
	@echo "selftests: building KVM selftests for $(ARCH) in $(ST)"
	@$(MAKE) -s -C $(TREE)/tools/testing/selftests/kvm ARCH=$(ARCH) \
		CROSS_COMPILE=$(CROSS_COMPILE) OUTPUT=$(ST) EXTRA_CFLAGS=-static \
		KHDR_INCLUDES="-isystem $(HDR)/usr/include" -j$(JOBS)
	@$(MAKE) -s --no-print-directory -C $(TREE)/tools/testing/selftests/kvm \
		ARCH=$(ARCH) CROSS_COMPILE=$(CROSS_COMPILE) OUTPUT=$(ST) \
		-f Makefile -f $(CURDIR)/scripts/print-progs.mk \
		print-progs > $(ST)/programs.list.tmp
	@mv $(ST)/programs.list.tmp $(ST)/programs.list

# The benchmarks are x86_64 programs (their guest is x86 code); "make test"
# builds them too, so that they cannot rot.
bench-progs: headers
ifeq ($(ARCH),x86_64)
	@$(MAKE) -s -C bench OUT=$(EXTRA)/bench HDR=$(HDR)/usr/include
endif

initramfs: selftests bench-progs
	@scripts/initramfs.sh $(ARCH) $(ST) vmtest/$(ARCH).tests $(BUSYBOX) $(INITRD) $(EXTRA)

test: kernel initramfs
	@echo "test: booting $(ARCH)/$(LANE); console log: $(LOG)"
	@QUIET=$(if $(V),0,1) scripts/boot.sh $(ARCH) \
		$(OBJ)/$(KIMAGE) $(INITRD) $(LOG) test $(VM_TIMEOUT) vmtest.lane=$(LANE) \
		$(if $(T),'vmtest.filter=$(T)') $(if $(VM_JOBS),vmtest.jobs=$(VM_JOBS)) \
		$(VM_ARGS) || true
	@python3 scripts/verdict.py $(LOG) --kunit $(KUNIT_PY) --label $(ARCH)-$(LANE)$(TAG)

test-kasan:
	@$(MAKE) --no-print-directory test LANE=kasan

# The exerciser for SOAK seconds on the soak kernel (KASAN, lockdep,
# kmemleak), then the attribute store's worst case (bench/gmem_stall);
# the guest scans for leaks at the end and prints them.
test-soak:
	@$(MAKE) --no-print-directory test LANE=soak \
		T='private_mem_exerciser|gmem_stall' \
		VM_ARGS=vmtest.soak=$(SOAK) VM_TIMEOUT=$$(( $(SOAK) + 1200 ))

check: tree
	@scripts/check.sh

run: kernel initramfs
	@scripts/boot.sh $(ARCH) $(OBJ)/$(KIMAGE) $(INITRD) $(LOGDIR)/run-$(ARCH).log run 600

shell: kernel initramfs
	@scripts/boot.sh $(ARCH) $(OBJ)/$(KIMAGE) $(INITRD) $(LOGDIR)/shell-$(ARCH).log shell 0

# Benchmarks: the bench lane's kernel (no debugging) on one vCPU under
# -icount shift=0,sleep=off, so guest time counts instructions and figures
# repeat from run to run. Not part of any test verdict.
bench:
ifneq ($(ARCH),x86_64)
	$(error make bench: the benchmarks are x86_64 only)
endif
	@$(MAKE) --no-print-directory bench-run LANE=bench

bench-run: kernel initramfs
	@echo "bench: booting $(ARCH)/bench under -icount; console log: $(LOGDIR)/bench-$(ARCH).log"
	@QEMU_EXTRA="-icount shift=0,sleep=off" VM_SMP=1 QUIET=$(if $(V),0,1) \
		scripts/boot.sh $(ARCH) $(OBJ)/$(KIMAGE) $(INITRD) \
		$(LOGDIR)/bench-$(ARCH).log bench $(VM_TIMEOUT) || true
	@python3 scripts/bench-report.py $(LOGDIR)/bench-$(ARCH).log \
		bench/results-$(ARCH).md bench/results-$(ARCH).json

clean:
	rm -rf $(B)/obj-* $(B)/hdr-* $(B)/selftests-* $(B)/initramfs-* $(B)/extra-* $(B)/logs

distclean:
	rm -rf $(B)
