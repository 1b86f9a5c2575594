# tests/bench/bench.mk - make bench (included by the top Makefile; see
# docs/bench.md).
#
#   make bench        every configuration x guest vCPUs 1,2,4,8 on the Xen
#                     bed, flushbench and Debian's Linux with the workload
#                     initramfs, the flush-safety ipi vs defer guests,
#                     BENCH_RUNS runs interleaved (an hour or more):
#                     build/bench/results.json, report.md, *.png
#   make bench-quick  reference + minishim flush=auto: flushbench (2 vCPUs)
#                     and Linux with the workloads (1 vCPU, all quick),
#                     3 runs (a few minutes); checks that a complete,
#                     well-formed report comes out (never a timing). Part
#                     of make test.
#   make workload     the Linux workload program, static
#                     (tests/guests/linux/workload.c)
#   make test-bench-tools  the workload program on this host and the report
#                     checker against good and broken reports (no bed)
#   make soak-flushbench  SOAK_RUNS flushbench runs (default 20) behind one
#                     shim configuration in one L0 boot, failures tallied
#                     (scripts/soak-flushbench.sh; SOAK_ARGS for its options,
#                     default flush=ipi, 2 vCPUs)
#
# Knobs: BENCH_RUNS (5), BENCH_VCPUS ("1 2 4 8"), BENCH_LINUX_VCPUS
# ("1 2 4 8", or none), BENCH_ITERS (64), BENCH_L0_CPUS (2), BENCH_CONFIGS,
# BENCH_ARGS (more scripts/bench.sh options: --linux-args, --no-policy, ...).

BENCH_RUNS    ?= 5
BENCH_VCPUS   ?= 1 2 4 8
BENCH_ITERS   ?= 64
BENCH_L0_CPUS ?= 2
BENCH_LINUX_VCPUS ?= 1 2 4 8
BENCH_CONFIGS ?= reference minishim-auto minishim-hyperv minishim-ipi minishim-defer
WORKLOAD      := $(BUILD)/workload

.PHONY: bench bench-quick workload test-bench-tools soak-flushbench

SOAK_RUNS ?= 20
SOAK_ARGS ?=
soak-flushbench: $(IMAGE) $(GUEST_ELFS) | $(DEPS_STAMP)
	$(Q)BUILD=$(BUILD) scripts/soak-flushbench.sh --runs $(SOAK_RUNS) $(SOAK_ARGS)

bench: $(IMAGE) $(GUEST_ELFS) $(WORKLOAD) | $(DEPS_STAMP)
	$(Q)BUILD=$(BUILD) scripts/bench.sh --runs $(BENCH_RUNS) --vcpus "$(BENCH_VCPUS)" \
	    --iters $(BENCH_ITERS) --l0-cpus $(BENCH_L0_CPUS) --configs "$(BENCH_CONFIGS)" \
	    --linux-vcpus "$(or $(BENCH_LINUX_VCPUS),none)" $(BENCH_ARGS)

bench-quick: $(IMAGE) $(GUEST_ELFS) $(WORKLOAD) | $(DEPS_STAMP)
	$(Q)BUILD=$(BUILD) scripts/bench.sh --quick --out $(BUILD)/bench-quick
	$(Q)tests/bench/test-check.sh $(BUILD)/bench-quick

# glibc's static libc (libc6-dev); the same binary runs on the host and
# in a Linux guest's initramfs.
$(WORKLOAD): tests/guests/linux/workload.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@ (static)"
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -pthread -o $@ $<

workload: $(WORKLOAD)

test-bench-tools: $(WORKLOAD)
	$(Q)tests/bench/test-workload.sh $(WORKLOAD)
	$(Q)tests/bench/test-check.sh
