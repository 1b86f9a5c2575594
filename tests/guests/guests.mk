# tests/guests/guests.mk - build the PV test guests (included by the top
# Makefile). Every directory tests/guests/<name>/ with .c files (except
# lib/, and linux/: Linux user-space programs, tests/bench/bench.mk) is one guest: build/guests/<name>.elf, linked from its own sources
# and the runtime in tests/guests/lib/, all compiled with -DGUEST_NAME.
#
#   GUEST_ELFS   all guest ELFs
#   GUEST_DEMO   the guest `make run` boots
#   make guests  build them all

BUILD ?= build

GUEST_OUT   := $(BUILD)/guests
GUEST_INC   := $(GUEST_OUT)/include
GUEST_NAMES := $(sort $(filter-out lib linux,$(notdir $(patsubst %/,%,$(dir \
                 $(wildcard tests/guests/*/*.c tests/guests/*/*.S))))))
GUEST_ELFS  := $(patsubst %,$(GUEST_OUT)/%.elf,$(GUEST_NAMES))
GUEST_DEMO  := $(GUEST_OUT)/hello.elf

GUEST_LIB_SRC := $(sort $(wildcard tests/guests/lib/*.c tests/guests/lib/*.S))
GUEST_LDS     := tests/guests/lib/guest.lds

# Like a 64-bit Linux PV kernel: top-2GiB code model, no red zone (Xen
# writes exception frames onto the current stack), no FPU/SSE state.
GUEST_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -g \
                -ffreestanding -nostdinc -nostdlib -fno-pic -fno-pie \
                -mcmodel=kernel -mno-red-zone -mno-mmx -mno-sse -mno-sse2 \
                -mno-avx -mgeneral-regs-only -fno-stack-protector \
                -fcf-protection=none -fno-asynchronous-unwind-tables \
                -fno-strict-aliasing -fno-omit-frame-pointer \
                -isystem $(shell $(CC) -print-file-name=include) \
                -isystem $(GUEST_INC) -Itests/guests/lib \
                -D__XEN_INTERFACE_VERSION__=0x00040d00 -MMD -MP
GUEST_ASFLAGS := $(filter-out -std=gnu11,$(GUEST_CFLAGS)) -D__ASSEMBLY__
GUEST_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 \
                 -z noexecstack --no-warn-rwx-segments --build-id=none \
                 -T $(GUEST_LDS)

.PHONY: guests
guests: $(GUEST_ELFS)

# Xen public headers as <xen/...> without putting /usr/include on the path.
$(GUEST_INC)/xen:
	@mkdir -p $(GUEST_INC)
	@ln -sfn /usr/include/xen $@

# guest_template(name): objects in build/guests/obj/<name>/, lib included.
define guest_template
$(1)_SRC := $$(sort $$(wildcard tests/guests/$(1)/*.c tests/guests/$(1)/*.S))
$(1)_OBJ := $$(patsubst tests/guests/%,$(GUEST_OUT)/obj/$(1)/%.o,\
              $$(GUEST_LIB_SRC) $$($(1)_SRC))

$(GUEST_OUT)/obj/$(1)/%.c.o: tests/guests/%.c | $(GUEST_INC)/xen
	@mkdir -p $$(dir $$@)
	@echo "  CC      $$< [$(1)]"
	$$(Q)$$(CC) $$(GUEST_CFLAGS) -DGUEST_NAME='"$(1)"' -c $$< -o $$@

$(GUEST_OUT)/obj/$(1)/%.S.o: tests/guests/%.S | $(GUEST_INC)/xen
	@mkdir -p $$(dir $$@)
	@echo "  AS      $$< [$(1)]"
	$$(Q)$$(CC) $$(GUEST_ASFLAGS) -DGUEST_NAME='"$(1)"' -c $$< -o $$@

$(GUEST_OUT)/$(1).elf: $$($(1)_OBJ) $(GUEST_LDS)
	@echo "  LD      $$@"
	$$(Q)$$(LD) $$(GUEST_LDFLAGS) -o $$@ $$($(1)_OBJ)

-include $$($(1)_OBJ:.o=.d)
endef

$(foreach g,$(GUEST_NAMES),$(eval $(call guest_template,$(g))))

# make soak-gfuzz: the guest-side fuzzer (tests/guests/gfuzz) for longer
# under QEMU-direct: scripts/soak-gfuzz.sh, knobs GFUZZ_SEEDS (default
# "11 12 13 14 15"), GFUZZ_SMPS ("1 2 4"), GFUZZ_TIME (60 s a run).
# Not part of make test (about 15 min with the defaults).
.PHONY: soak-gfuzz
soak-gfuzz: $(IMAGE) $(GUEST_OUT)/gfuzz.elf
	$(Q)BUILD_DIR=$(abspath $(BUILD)) \
	    $(if $(GFUZZ_SEEDS),SEEDS="$(GFUZZ_SEEDS)") $(if $(GFUZZ_SMPS),SMPS="$(GFUZZ_SMPS)") \
	    $(if $(GFUZZ_TIME),TIME=$(GFUZZ_TIME)) scripts/soak-gfuzz.sh
