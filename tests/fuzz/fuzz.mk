# libFuzzer targets (host build, clang). Included from the top Makefile.
#
#   make test-fuzz                  every target for FUZZ_TIME seconds (30)
#   make fuzz-mm FUZZ_TIME=600      the PV MMU target, longer, by hand
#
# A crash, sanitizer report or oracle failure stops libFuzzer with a
# non-zero status (make fails) and leaves the input in $(BUILD)/fuzz/.
# Reproduce one with: $(BUILD)/fuzz/fuzz_mm $(BUILD)/fuzz/crash-<sha1>

FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 30
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
               -Iinclude -D__XEN_INTERFACE_VERSION__=__XEN_LATEST_INTERFACE_VERSION__
FUZZ_RUN    := -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
               -print_final_stats=1

.PHONY: test-fuzz fuzz-mm

$(FUZZ_DIR)/fuzz_mm: tests/fuzz/fuzz_mm.c pv/mm.c include/minishim/pv_mm.h tests/fuzz/fuzz.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_mm.c pv/mm.c

fuzz-mm: $(FUZZ_DIR)/fuzz_mm
	@mkdir -p $(FUZZ_DIR)/corpus-mm
	$(Q)$(FUZZ_DIR)/fuzz_mm $(FUZZ_RUN) -artifact_prefix=$(FUZZ_DIR)/ \
	    $(FUZZ_DIR)/corpus-mm > $(FUZZ_DIR)/fuzz-mm.log 2>&1 \
	  || { tail -40 $(FUZZ_DIR)/fuzz-mm.log; echo "fuzz-mm: FAILED (log: $(FUZZ_DIR)/fuzz-mm.log)"; exit 1; }
	@grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added" $(FUZZ_DIR)/fuzz-mm.log | tr '\n' ' '; echo
	@echo "fuzz-mm: no crash in $(FUZZ_TIME)s"

test-fuzz: fuzz-mm
