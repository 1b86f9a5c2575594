# minishim top-level Makefile.
#
#   make            build/minishim.elf (the PVH shim image)
#   make run        boot the shim with the demo PV guest under QEMU-direct
#   make test       check-reach + test-unit + test-qemu + test-bed
#   make deps       install the Debian packages everything needs (idempotent)
#
# Every .c under shim/ pv/ hypercall/ is "logic": it compiles twice, into the
# image (linked with boot/, the x86 arch layer) and hosted into the Criterion
# unit tests (linked with tests/unit/fake/, the fake arch layer).

BUILD      ?= build
V          ?= 0
Q          := $(if $(filter 1,$(V)),,@)

CC         := gcc
LD         := ld
OBJCOPY    := objcopy

# ---------------------------------------------------------------- newlib ---
# newlib is built with the image's own ABI flags, -mgeneral-regs-only
# included: the shim runs on the guest's FPU/SSE state and never saves it,
# so not one SSE instruction may reach the image (scripts/check-no-fpu.sh
# enforces this at link time). newlib's floating-point sources cannot be
# compiled that way, so its libc directories are built with -k and the
# library is assembled from every object that did build, in newlib's own
# order (machine/ last, overriding the generic string functions).
NEWLIB_TAR   := /usr/src/newlib/newlib-3.3.0.tar.xz
NEWLIB_DIR   := $(BUILD)/newlib
NEWLIB_STAMP := $(NEWLIB_DIR)/.built
NEWLIB_OBJ   := $(NEWLIB_DIR)/obj/x86_64-elf/newlib
NEWLIB_INC   := -isystem $(NEWLIB_OBJ)/targ-include \
                -isystem $(NEWLIB_DIR)/newlib-salsa/newlib/libc/include
NEWLIB_LIBC  := $(NEWLIB_DIR)/libc.a
NEWLIB_PARTS := argz stdlib ctype search stdio string signal time locale \
                reent errno misc ssp machine/x86_64

NEWLIB_CFLAGS := -O2 -g -ffreestanding -fno-stack-protector -fpie \
                 -fvisibility=hidden -mno-red-zone -mgeneral-regs-only \
                 -fcf-protection=none -fno-asynchronous-unwind-tables

# --------------------------------------------------------- decompressors ---
# The guest kernel's decompressors (gzip, xz, zstd, lz4) are Linux's own
# lib/ code from Debian's linux-source-6.1: only the members below are
# unpacked from its tarball (about 10 s), once, into $(DECOMP_DIR), and
# pv/decomp/*.c (one per format) compile them with the kernel definitions of
# pv/decomp/include/ -- for the image with its ABI flags (-mgeneral-regs-only:
# no SSE), and for the host unit tests. Each object keeps one global symbol
# (decomp_<name>). Upstream code: built with -w, not -Werror.
LINUX_SRC_TAR  := /usr/src/linux-source-6.1.tar.xz
DECOMP_DIR     := $(BUILD)/decomp
DECOMP_SRC     := $(DECOMP_DIR)/linux-source-6.1
DECOMP_STAMP   := $(DECOMP_DIR)/.extracted
DECOMP_MEMBERS := lib/xz lib/zlib_inflate lib/zstd lib/lz4 lib/xxhash.c \
                  lib/decompress_unxz.c lib/decompress_inflate.c \
                  lib/decompress_unzstd.c lib/decompress_unlz4.c \
                  include/linux/decompress include/linux/xz.h include/linux/zlib.h \
                  include/linux/zutil.h include/linux/zconf.h include/linux/zstd.h \
                  include/linux/zstd_errors.h include/linux/zstd_lib.h \
                  include/linux/lz4.h include/linux/xxhash.h
DECOMP_NAMES   := unxz gunzip unzstd unlz4
DECOMP_INC     := -Ipv/decomp/include -I$(DECOMP_SRC)/include -I$(DECOMP_SRC)/lib
DECOMP_LIB     := $(DECOMP_DIR)/libdecomp.a
DECOMP_HOST_LIB := $(DECOMP_DIR)/libdecomp-host.a
DECOMP_DEPS    := pv/decomp/include/decomp_compat.h include/minishim/decomp.h $(DECOMP_STAMP)

# ------------------------------------------------------------ image flags ---
XEN_INC_DIR := $(BUILD)/xeninc
GCC_INC     := $(shell $(CC) -print-file-name=include)

IMG_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -g \
              -ffreestanding -nostdinc -fno-stack-protector -fpie \
              -fvisibility=hidden -mno-red-zone -mno-mmx -mno-sse -mno-sse2 \
              -mno-avx -mgeneral-regs-only -fcf-protection=none \
              -fno-asynchronous-unwind-tables -fno-strict-aliasing \
              -ffunction-sections \
              -isystem $(GCC_INC) $(NEWLIB_INC) -isystem $(XEN_INC_DIR) \
              -Iinclude -I$(BUILD)/gen -include include/minishim/visibility.h \
              -D__XEN_INTERFACE_VERSION__=__XEN_LATEST_INTERFACE_VERSION__ -MMD -MP
IMG_ASFLAGS := $(filter-out -std=gnu11,$(IMG_CFLAGS)) -D__ASSEMBLY__
IMG_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 \
               -z noexecstack --no-warn-rwx-segments -T boot/shim.lds

LOGIC_SRC := $(sort $(wildcard shim/*.c hypercall/*.c pv/*.c))
BOOT_SRC  := $(sort $(wildcard boot/*.c boot/*.S))
IMG_OBJ   := $(patsubst %,$(BUILD)/img/%.o,$(BOOT_SRC) $(LOGIC_SRC))

IMAGE := $(BUILD)/minishim.elf

# Version and commit for the boot banner and the package
# (scripts/version.sh); rewritten only when they change.
VERSION_H := $(BUILD)/gen/minishim/build_version.h

.PHONY: FORCE all image deps install deb test-deb run test test-footprint test-unit test-qemu test-defer test-bed bench clean distclean linux
all: image
image: $(IMAGE)

$(VERSION_H): FORCE
	$(Q)scripts/version.sh --header $@
FORCE:

# -------------------------------------------------------- dependencies ---
# scripts/deps.sh installs what is missing (apt) and is a no-op otherwise.
DEPS_STAMP := $(BUILD)/.deps-ok
deps:
	$(Q)scripts/deps.sh
$(DEPS_STAMP): scripts/deps.sh
	$(Q)scripts/deps.sh
	$(Q)mkdir -p $(BUILD) && touch $@

$(XEN_INC_DIR)/xen: | $(DEPS_STAMP)
	$(Q)mkdir -p $(XEN_INC_DIR) && ln -sfn /usr/include/xen $(XEN_INC_DIR)/xen

$(NEWLIB_STAMP): | $(DEPS_STAMP)
	@echo "  NEWLIB  building newlib from $(NEWLIB_TAR) (once, cached in $(NEWLIB_DIR))"
	$(Q)rm -rf $(NEWLIB_DIR) && mkdir -p $(NEWLIB_DIR)/obj
	$(Q)tar -C $(NEWLIB_DIR) -xf $(NEWLIB_TAR)
	$(Q)cd $(NEWLIB_DIR)/obj && ../newlib-salsa/configure \
	    --target=x86_64-elf --prefix=$(abspath $(NEWLIB_DIR))/install \
	    --disable-multilib --disable-newlib-supplied-syscalls \
	    --enable-newlib-nano-formatted-io --disable-newlib-io-float \
	    --enable-newlib-io-long-long --enable-newlib-io-c99-formats \
	    CC_FOR_TARGET="$(CC) $(NEWLIB_CFLAGS)" CFLAGS_FOR_TARGET="$(NEWLIB_CFLAGS)" \
	    AR_FOR_TARGET=ar RANLIB_FOR_TARGET=ranlib AS_FOR_TARGET=as \
	    LD_FOR_TARGET=ld NM_FOR_TARGET=nm > ../configure.log 2>&1 \
	  || { tail -30 ../configure.log; exit 1; }
	$(Q)$(MAKE) -C $(NEWLIB_DIR)/obj configure-target-newlib > $(NEWLIB_DIR)/build.log 2>&1 \
	  || { tail -30 $(NEWLIB_DIR)/build.log; exit 1; }
	$(Q)$(MAKE) -C $(NEWLIB_OBJ) stmp-targ-include >> $(NEWLIB_DIR)/build.log 2>&1 \
	  || { tail -30 $(NEWLIB_DIR)/build.log; exit 1; }
	$(Q)$(MAKE) -k -C $(NEWLIB_OBJ)/libc -j$$(nproc) >> $(NEWLIB_DIR)/build.log 2>&1 || true
	$(Q)rm -rf $(NEWLIB_DIR)/parts && mkdir -p $(NEWLIB_DIR)/parts
	$(Q)for d in $(NEWLIB_PARTS); do cp $(NEWLIB_OBJ)/libc/$$d/lib_a-*.o $(NEWLIB_DIR)/parts/ || exit 1; done
	$(Q)rm -f $(NEWLIB_LIBC) && ar rcs $(NEWLIB_LIBC) $(NEWLIB_DIR)/parts/*.o
	$(Q)for f in vsnprintf strtoul memcpy memset; do \
	    nm $(NEWLIB_LIBC) 2>/dev/null | grep -q " T $$f$$" || { echo "newlib: $$f missing from $(NEWLIB_LIBC); see $(NEWLIB_DIR)/build.log"; exit 1; }; done
	$(Q)touch $@

$(DECOMP_STAMP): | $(DEPS_STAMP)
	@echo "  DECOMP  unpacking Linux's decompressors from $(LINUX_SRC_TAR) (once, cached in $(DECOMP_DIR))"
	$(Q)rm -rf $(DECOMP_SRC) && mkdir -p $(DECOMP_DIR)
	$(Q)tar -C $(DECOMP_DIR) -xJf $(LINUX_SRC_TAR) $(addprefix linux-source-6.1/,$(DECOMP_MEMBERS))
	$(Q)touch $@

DECOMP_IMG_CFLAGS  := $(filter-out -Wall -Wextra -Werror -MMD -MP,$(IMG_CFLAGS)) \
                      -fgnu89-inline -w $(DECOMP_INC)
DECOMP_HOST_CFLAGS  = $(filter-out -Wall -Wextra -Werror -MMD -MP,$(HOST_CFLAGS)) \
                      -fgnu89-inline -w $(DECOMP_INC)

$(DECOMP_DIR)/img/%.o: pv/decomp/%.c $(DECOMP_DEPS) | $(NEWLIB_STAMP) $(XEN_INC_DIR)/xen
	@mkdir -p $(dir $@)
	@echo "  CC      $< (image)"
	$(Q)$(CC) $(DECOMP_IMG_CFLAGS) -c $< -o $@.tmp
	$(Q)$(OBJCOPY) --keep-global-symbol=decomp_$* $@.tmp $@ && rm -f $@.tmp

$(DECOMP_DIR)/host/%.o: pv/decomp/%.c $(DECOMP_DEPS)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	$(Q)$(CC) $(DECOMP_HOST_CFLAGS) -c $< -o $@.tmp
	$(Q)$(OBJCOPY) --keep-global-symbol=decomp_$* $@.tmp $@ && rm -f $@.tmp

$(DECOMP_LIB): $(patsubst %,$(DECOMP_DIR)/img/%.o,$(DECOMP_NAMES))
	$(Q)rm -f $@ && ar rcs $@ $^
$(DECOMP_HOST_LIB): $(patsubst %,$(DECOMP_DIR)/host/%.o,$(DECOMP_NAMES))
	$(Q)rm -f $@ && ar rcs $@ $^

# ---------------------------------------------------------------- image ---
$(BUILD)/img/%.c.o: %.c Makefile | $(NEWLIB_STAMP) $(XEN_INC_DIR)/xen $(VERSION_H)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(IMG_CFLAGS) -c $< -o $@

$(BUILD)/img/%.S.o: %.S Makefile | $(NEWLIB_STAMP) $(XEN_INC_DIR)/xen
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(IMG_ASFLAGS) -c $< -o $@

$(IMAGE): $(IMG_OBJ) $(DECOMP_LIB) boot/shim.lds scripts/check-no-fpu.sh
	@echo "  LD      $@"
	$(Q)$(LD) $(IMG_LDFLAGS) -o $@.tmp $(IMG_OBJ) $(DECOMP_LIB) $(NEWLIB_LIBC) -Map=$(BUILD)/minishim.map
	$(Q)scripts/check-no-fpu.sh $@.tmp
	$(Q)mv $@.tmp $@

-include $(IMG_OBJ:.o=.d)

# ------------------------------------------------------ reachability ---
# scripts/check-reachable.sh: every function under shim/ pv/ hypercall/ must
# be reachable in the image. The C files are compiled once more with
# -fno-inline (a function inlined into every caller would look dropped)
# and linked like the image with --gc-sections.
REACH_OBJ   := $(patsubst %,$(BUILD)/reach/%.o,$(filter %.c,$(BOOT_SRC)) $(LOGIC_SRC)) \
               $(filter %.S.o,$(IMG_OBJ))
REACH_ALLOW := scripts/reachable-allow.txt

$(BUILD)/reach/%.c.o: %.c Makefile | $(NEWLIB_STAMP) $(XEN_INC_DIR)/xen $(VERSION_H)
	@mkdir -p $(dir $@)
	@echo "  CC      $< [reach]"
	$(Q)$(CC) $(IMG_CFLAGS) -fno-inline -g0 -c $< -o $@

$(BUILD)/reach/ldflags: Makefile
	@mkdir -p $(dir $@)
	$(Q)echo '$(IMG_LDFLAGS)' > $@

.PHONY: check-reach
check-reach: $(REACH_OBJ) $(DECOMP_LIB) $(BUILD)/reach/ldflags $(REACH_ALLOW) scripts/check-reachable.sh boot/shim.lds
	$(Q)scripts/check-reachable.sh $(BUILD)/reach/ldflags $(REACH_ALLOW) $(REACH_OBJ) -- $(DECOMP_LIB) $(NEWLIB_LIBC)

-include $(patsubst %.o,%.d,$(filter $(BUILD)/reach/%,$(REACH_OBJ)))

# ------------------------------------------------------------ unit tests ---
HOST_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O1 -g -fno-strict-aliasing \
               -Iinclude -I$(BUILD)/gen -Itests/unit -D__XEN_INTERFACE_VERSION__=__XEN_LATEST_INTERFACE_VERSION__ -MMD -MP
UNIT_SRC  := $(sort $(wildcard tests/unit/*.c tests/unit/fake/*.c))
HOST_OBJ  := $(patsubst %,$(BUILD)/host/%.o,$(LOGIC_SRC) $(UNIT_SRC))
UNIT_BIN  := $(BUILD)/unit-tests
# The flush tests observe the IPI path through tests/unit/fake/fake_ipi.c,
# which stands in for flush_ipi_mask while a test asks it to (and passes
# the call on to shim/flush_ipi.c otherwise).
HOST_LDFLAGS := -Wl,--wrap=flush_ipi_mask

$(BUILD)/host/%.c.o: %.c Makefile | $(DEPS_STAMP) $(VERSION_H)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	$(Q)$(CC) $(HOST_CFLAGS) -c $< -o $@

$(UNIT_BIN): $(HOST_OBJ) $(DECOMP_HOST_LIB)
	@echo "  HOSTLD  $@"
	$(Q)$(CC) -o $@ $(HOST_OBJ) $(DECOMP_HOST_LIB) $(HOST_LDFLAGS) -lcriterion

-include $(HOST_OBJ:.o=.d)

test-unit: $(UNIT_BIN)
	$(Q)$(UNIT_BIN) --jobs 2

# ---------------------------------------------------------- QEMU-direct ---
# The user-space assertions of the Linux guest (tests/guests/linux/
# linuxcheck.c), static (glibc), put into its initramfs by
# scripts/mk-initramfs.sh (before the includes: bed.mk names it as a
# prerequisite).
LINUXCHECK := $(BUILD)/linuxcheck
$(LINUXCHECK): tests/guests/linux/linuxcheck.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@ (static)"
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -pthread -o $@ $<

# Guests (tests/guests/guests.mk) and the bed (tests/bed/bed.mk) add their
# own rules; both files are optional so each area can grow independently.
-include tests/guests/guests.mk
-include tests/bed/bed.mk
-include tests/fuzz/fuzz.mk
-include tests/bench/bench.mk

# The demo guest for `make run`: the PV MMU guest, because it makes the
# shim flush (its statistics are printed at shutdown). RUN_GUEST=path
# runs another one.
RUN_GUEST  ?= $(GUEST_OUT)/mmu.elf
RUN_SMP    ?= 2
RUN_CMDLINE ?= loglvl=info

run: $(IMAGE) $(RUN_GUEST)
	$(Q)BUILD_DIR=$(abspath $(BUILD)) tests/qemu/run-shim.sh --smp $(RUN_SMP) \
	    --cmdline "$(RUN_CMDLINE)" --guest "$(RUN_GUEST)"

test-qemu: $(IMAGE) $(GUEST_ELFS) $(LINUXCHECK)
	$(Q)BUILD_DIR=$(abspath $(BUILD)) tests/qemu/test-qemu.sh

# make test-defer (not in make test: it repeats test-qemu and the bed's
# minishim and Linux halves): every run of those suites with
# flush-safety=defer put before its own shim options
# (SHIM_EXTRA_CMDLINE, tests/qemu/run-shim.sh, tests/bed/run-bed.sh), so
# cases that test the ipi policy itself name it and keep it
# (docs/flush-safety.md, "Every test under defer").
test-defer: $(IMAGE) $(GUEST_ELFS) $(LINUXCHECK)
	$(Q)rc=0; \
	SHIM_EXTRA_CMDLINE=flush-safety=defer $(MAKE) --no-print-directory test-qemu || rc=1; \
	$(if $(BED_AVAILABLE),SHIM_EXTRA_CMDLINE=flush-safety=defer $(MAKE) --no-print-directory test-bed-minishim test-bed-linux || rc=1;) \
	exit $$rc

# Debian's installed kernel as the PV guest (docs/linux-guest.md): unpack
# /boot/vmlinuz-* into $(BUILD)/linux/vmlinux, boot it under QEMU-direct
# and print the furthest boot milestone (minutes under TCG; knobs:
# LINUX_TIMEOUT, LINUX_IMAGE, LINUX_CMDLINE, LINUX_SMP, SHIM_CMDLINE).
linux: $(IMAGE) $(LINUXCHECK)
	$(Q)BUILD_DIR=$(abspath $(BUILD)) scripts/run-linux.sh

# The image's size limits (scripts/check-footprint.sh): 512 KiB stripped,
# 2 MiB text+data+bss.
test-footprint: $(IMAGE)
	$(Q)scripts/check-footprint.sh $(IMAGE)

test: check-reach test-unit test-footprint test-deb test-fuzz test-qemu test-bench-tools $(if $(BED_AVAILABLE),test-bed bench-quick)

# ------------------------------------------------------ install, package ---
# make install PREFIX=/usr/local DESTDIR=: the image (stripped: Xen's PVH
# loader needs only the loadable segments and the ELF note) as
# $(PREFIX)/lib/minishim/minishim.elf, the docs in
# $(PREFIX)/share/doc/minishim. make deb: the same as a Debian package
# (scripts/mkdeb.sh, dpkg-deb only). make test-deb: unpack it, check its
# version against the image's banner and boot a guest with the installed
# image under QEMU (scripts/test-deb.sh); lintian runs there when present.
PREFIX  ?= /usr/local
DESTDIR ?=
DOCS    := README.md docs/deploy.md docs/architecture.md docs/linux-guest.md

install: $(IMAGE)
	$(Q)install -d $(DESTDIR)$(PREFIX)/lib/minishim $(DESTDIR)$(PREFIX)/share/doc/minishim
	$(Q)strip -o $(DESTDIR)$(PREFIX)/lib/minishim/minishim.elf $(IMAGE)
	$(Q)chmod 0644 $(DESTDIR)$(PREFIX)/lib/minishim/minishim.elf
	$(Q)install -m 0644 $(DOCS) $(DESTDIR)$(PREFIX)/share/doc/minishim/

deb: $(IMAGE)
	$(Q)scripts/mkdeb.sh $(abspath $(BUILD))

test-deb: $(IMAGE) $(GUEST_OUT)/hello.elf
	$(Q)BUILD_DIR=$(abspath $(BUILD)) scripts/test-deb.sh

clean:
	rm -rf $(BUILD)/img $(BUILD)/host $(BUILD)/guests $(IMAGE) $(UNIT_BIN)
distclean:
	rm -rf $(BUILD)
