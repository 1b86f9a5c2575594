# libFuzzer targets (host build, clang, ASan + UBSan). Included from the
# top Makefile. Targets (docs: tests/fuzz/README.md):
#
#   mm    pv/mm.c alone: mmu_update / mmuext_op / update_va_mapping programs
#   pv    the whole shim on the fake arch: every hypercall through the
#         dispatcher, traps and emulation, on a domain the builder made
#   elf   the domain builder on a fuzzed guest ELF (headers, notes, layout)
#   boot  the shim command line and hvm_start_info parsing
#
#   make test-fuzz                 each target briefly (FUZZ_TIME seconds,
#                                  default per target: mm 30, others 20)
#   make -j2 fuzz-long             all of them to >= 10 million executions
#   make fuzz-pv FUZZ_TIME=600     one target, longer, by hand
#
# Every target starts from its kept corpus tests/fuzz/corpus/<target>/ (read
# only) plus $(BUILD)/fuzz/corpus-<target>/ (what libFuzzer adds). A crash,
# sanitizer report or oracle failure stops libFuzzer with a non-zero
# status (make fails) and leaves the input in $(BUILD)/fuzz/; reproduce one
# with: $(BUILD)/fuzz/fuzz_<target> $(BUILD)/fuzz/crash-<sha1>

FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_CC     ?= clang
FUZZ_BASE   := -std=gnu11 -g -O1 -Wall -Wextra -Werror -fno-strict-aliasing \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -Iinclude -I$(BUILD)/gen -D__XEN_INTERFACE_VERSION__=__XEN_LATEST_INTERFACE_VERSION__
FUZZ_CFLAGS := $(FUZZ_BASE) -fsanitize=fuzzer
FUZZ_RUN    = -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/

FUZZ_TARGETS := mm pv elf boot
# Short runs inside make test (seconds each; about 90 s in all). They
# replay one fixed mutation sequence from the kept corpus (libFuzzer
# -seed=FUZZ_SEED; FUZZ_SEED=0 is a random seed), so make test cannot fail
# on a finding that is new to that run: discovery is fuzz-long's job,
# which always runs with a random seed.
FUZZ_SEED ?= 1
FUZZ_TIME_mm   := 30
FUZZ_TIME_pv   := 25
FUZZ_TIME_elf  := 15
FUZZ_TIME_boot := 15
# make fuzz-long: executions per target, >= 10 million in all. The
# whole-shim target builds a domain per input (~40-300 executions/s
# depending on load), so it gets few; the parsers run at thousands to tens
# of thousands per second and carry the count. With make -j2, boot runs
# on one lane while pv, mm and elf follow each other on the other.
FUZZ_LONG_mm   := 1500000
FUZZ_LONG_pv   := 20000
FUZZ_LONG_elf  := 1400000
FUZZ_LONG_boot := 7100000
# Longest input per target (programs of steps need room; images too).
FUZZ_OPTS_mm   :=
FUZZ_OPTS_pv   := -max_len=1024
FUZZ_OPTS_elf  := -max_len=16384
FUZZ_OPTS_boot := -max_len=4096

# The whole-shim targets link every logic file with the fake arch layer.
# The fake and the oracle are sanitized but not coverage-instrumented: their
# loops are not guest-reachable code and would only drown the signal.
FUZZ_SHIM_SRC := $(LOGIC_SRC)
FUZZ_HDRS     := $(wildcard include/minishim/*.h tests/unit/fake/fake.h tests/unit/fake/elf_image.h tests/fuzz/*.h)
FUZZ_SUPPORT  := $(FUZZ_DIR)/fake_arch.o $(FUZZ_DIR)/elf_image.o $(FUZZ_DIR)/fuzz_env.o

$(FUZZ_DIR)/fake_arch.o: tests/unit/fake/fake_arch.c $(FUZZ_HDRS) tests/fuzz/fuzz.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_BASE) -c -o $@ $<
$(FUZZ_DIR)/elf_image.o: tests/unit/fake/elf_image.c $(FUZZ_HDRS) tests/fuzz/fuzz.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_BASE) -c -o $@ $<
$(FUZZ_DIR)/fuzz_env.o: tests/fuzz/fuzz_env.c $(FUZZ_HDRS) tests/fuzz/fuzz.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_BASE) -c -o $@ $<

.PHONY: test-fuzz fuzz-long $(addprefix fuzz-,$(FUZZ_TARGETS)) $(addprefix fuzz-long-,$(FUZZ_TARGETS)) fuzz-long-rest

$(FUZZ_DIR)/fuzz_mm: tests/fuzz/fuzz_mm.c pv/mm.c shim/pt_walk.c $(FUZZ_HDRS) tests/fuzz/fuzz.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_mm.c pv/mm.c shim/pt_walk.c

# The bzImage decompressors (Linux's lib/ code) link in as the unit tests'
# host build: upstream code, not coverage-instrumented.
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SHIM_SRC) $(FUZZ_SUPPORT) $(DECOMP_HOST_LIB) $(FUZZ_HDRS) tests/fuzz/fuzz.mk | $(DEPS_STAMP) $(VERSION_H)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SHIM_SRC) $(FUZZ_SUPPORT) $(DECOMP_HOST_LIB)

# $(1): target. FUZZ_TIME overrides the per-target time; FUZZ_RUNS bounds
# the executions instead (fuzz-long).
define fuzz_rule
fuzz-$(1): $(FUZZ_DIR)/fuzz_$(1)
	@mkdir -p $(FUZZ_DIR)/corpus-$(1) tests/fuzz/corpus/$(1)
	$(Q)$(FUZZ_DIR)/fuzz_$(1) $(FUZZ_RUN) $(FUZZ_OPTS_$(1)) \
	    $$(if $$(FUZZ_RUNS),-runs=$$(FUZZ_RUNS),-seed=$$(FUZZ_SEED) -max_total_time=$$(or $$(FUZZ_TIME),$(FUZZ_TIME_$(1)))) \
	    $(FUZZ_DIR)/corpus-$(1) tests/fuzz/corpus/$(1) > $(FUZZ_DIR)/fuzz-$(1).log 2>&1 \
	  || { tail -40 $(FUZZ_DIR)/fuzz-$(1).log; echo "fuzz-$(1): FAILED (log: $(FUZZ_DIR)/fuzz-$(1).log)"; exit 1; }
	@printf 'fuzz-%s: no crash; ' $(1); grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added" $(FUZZ_DIR)/fuzz-$(1).log | tr '\n' ' '; echo
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

test-fuzz: $(addprefix fuzz-,$(FUZZ_TARGETS))

# The lanes above: boot alone, the others one after the other; every
# binary built first, by this make (the lanes' sub-makes find them done).
$(addprefix fuzz-long-,$(FUZZ_TARGETS)) fuzz-long-rest: $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS))
fuzz-long-rest:
	$(Q)$(MAKE) --no-print-directory fuzz-long-pv
	$(Q)$(MAKE) --no-print-directory fuzz-long-mm
	$(Q)$(MAKE) --no-print-directory fuzz-long-elf
fuzz-long: fuzz-long-boot fuzz-long-rest
	@grep -h "stat::number_of_executed_units" $(addprefix $(FUZZ_DIR)/fuzz-,$(addsuffix .log,$(FUZZ_TARGETS))) \
	    | awk '{ s += $$2 } END { print "fuzz-long: " s " executions in all, no crash" }'

$(foreach t,$(FUZZ_TARGETS),$(eval fuzz-long-$(t): ; $$(Q)$$(MAKE) --no-print-directory fuzz-$(t) FUZZ_RUNS=$$(FUZZ_LONG_$(t))))
