# tests/bed/bed.mk - the Xen bed (included by the top Makefile).
# L0 = Debian's Xen 4.17 under QEMU TCG, dom0 = Debian's Linux + xl, each
# PV test guest runs behind a PV shim as a PVH domU. See docs/bed.md.
#
#   make test-bed   guests under the reference shim (Debian's xen-shim),
#                   then under minishim
#   make bed        one guest by hand:
#                   make bed GUEST=hello|path.elf SHIM=minishim|reference|path \
#                        VCPUS=N L0_CPUS=N SHIM_CMDLINE="..." GUEST_CMDLINE="..." \
#                        TIMEOUT=S BED_ARGS="--verbose ..."
#
# Knobs for test-bed (make or environment):
#   BED_MINISHIM_GUESTS=1   run all guests under minishim with the same
#                           expectations as under the reference shim.
#                           Default 0: only check that minishim boots as a
#                           domU (xl creates it and it runs), with hello.
#   BED_MINISHIM_BOOT_REGEX console line that shows minishim came up
#                           (reported; required with BED_MINISHIM_BOOT_STRICT=1)
#   BED_EXPECT_FAIL         guests that must fail, as NAME=REGEX (the failure
#                           reason must match REGEX; no spaces, use '.'):
#                           proves the runner reports failures as failures
#   BED_L0_CPUS, BED_TIMEOUT, BED_HANG_TIMEOUT, BED_RETYPE_TIMEOUT
#   BED_FLUSH_FALLBACK=0    skip the smp run with inject=l0-flush-fail:all
#                           (IPI fallback on a real L0) in test-bed-minishim

BED_AVAILABLE := 1

BED_RUN                 := tests/bed/run-bed.sh
BED_L0_CPUS             ?= 2
BED_TIMEOUT             ?= 60
BED_HANG_TIMEOUT        ?= 10
# smpevt waits for cross-vCPU wake-ups, each hundreds of ms on the TCG bed.
BED_SMPEVT_TIMEOUT      ?= 240
# retype: two handshakes with 3 spinning readers per round, 4 vCPUs on 2 L0
# CPUs (40 rounds took 177 s behind the reference shim on a loaded host).
BED_RETYPE_TIMEOUT      ?= 240
BED_EXPECT_FAIL         ?= fail=deliberate.failure hang=timeout \
                           fault=unexpected.exception.\#UD
BED_MINISHIM_GUESTS     ?= 1
BED_MINISHIM_BOOT_REGEX ?= ^minishim[ :]
BED_MINISHIM_BOOT_STRICT ?= 1
BED_MINISHIM_BOOT_TIMEOUT ?= 30

# BED_GUEST_VCPUS: guests that need more than one vCPU, as NAME=N.
BED_GUEST_VCPUS         ?= smp=4 retype=4 smpevt=4 pvvcpuseg=3 pvconf=3 spurious=2 ptstress=2 gfuzz=2 balloon=2
bed_guest_vcpus = $(foreach e,$(BED_GUEST_VCPUS),\
                    $(if $(filter $(firstword $(subst =, ,$(e))),$(notdir $(basename $(1)))),\
                         :$(lastword $(subst =, ,$(e)))))
# Guests left out of the make test-bed set (still runnable with make bed
# GUEST=...): none today (gfuzz was, while fuzzer bugs made it crash
# itself: docs/fuzzing.md, "Bed status").
BED_SET_EXCLUDE ?=
bed_guest_args = $(foreach g,$(filter-out $(foreach x,$(BED_SET_EXCLUDE),%/$(x).elf),$(1)),--guest $(g)$(strip $(call bed_guest_vcpus,$(g))))
bed_expect_args = $(foreach e,$(BED_EXPECT_FAIL),\
                    $(if $(filter $(firstword $(subst =, ,$(e))),$(notdir $(basename $(1)))),\
                         --expect-fail '$(e)'))
# --retry-l0-stall: L0 itself sometimes stops dead on this nested-TCG bed
# (docs/bed.md, "L0 stalls"); the guests it had not judged yet are run
# again in a new L0 boot (BED_L0_STALL_RETRIES times at most), visibly.
BED_L0_STALL_RETRIES ?= 1
BED_SOAK_STALL_RETRIES ?= 5
# savetest (tests/guests/savetest): once the guest waits for it, dom0
# saves the running domain to a file and restores it (xl save, xl
# restore), ROUNDS times; the guest answers each suspend request and
# checks it goes on in the new domain (docs/pv-devices.md, "Save/restore").
BED_SAVE_TIMEOUT ?= 900
bed_save_cmd = i=0; while [ $$i -lt $(1) ]; do i=$$((i+1)); \
               xl save $$NAME /tmp/bed-save.img && xl restore /tmp/bed-save.img || exit $$i; \
               rm -f /tmp/bed-save.img; done
bed_save_args = --guest-action $(2) 'savetest: round 1: waiting for dom0' '$(call bed_save_cmd,$(1))' \
                --guest-action-timeout $(2)=$(BED_SAVE_TIMEOUT) \
                --guest-timeout $(2)=$(shell echo $$(($(BED_SAVE_TIMEOUT) + 60)))
# One save/restore round when savetest is among the guests $(1) (run-bed
# refuses an action for a guest it does not run).
bed_save_if = $(if $(filter %/savetest.elf,$(1)),$(call bed_save_args,1,savetest))
bed_common_args = --l0-cpus $(BED_L0_CPUS) --timeout $(BED_TIMEOUT) \
                  --retry-l0-stall $(BED_L0_STALL_RETRIES) \
                  $(if $(filter hang,$(notdir $(basename $(GUEST_ELFS)))),\
                       --guest-timeout hang=$(BED_HANG_TIMEOUT)) \
                  $(if $(filter smpevt,$(notdir $(basename $(GUEST_ELFS)))),\
                       --guest-timeout smpevt=$(BED_SMPEVT_TIMEOUT)) \
                  $(if $(filter retype,$(notdir $(basename $(GUEST_ELFS)))),\
                       --guest-timeout retype=$(BED_RETYPE_TIMEOUT))

.PHONY: test-bed test-bed-reference test-bed-minishim bed

# Both halves always run; test-bed fails if either did.
test-bed: $(IMAGE) $(GUEST_ELFS)
	$(Q)rc=0; \
	$(MAKE) --no-print-directory test-bed-reference || rc=1; \
	$(MAKE) --no-print-directory test-bed-minishim || rc=1; \
	$(MAKE) --no-print-directory test-bed-deb || rc=1; \
	$(MAKE) --no-print-directory test-bed-linux || rc=1; \
	$(MAKE) --no-print-directory test-bed-linux-devices || rc=1; \
	$(MAKE) --no-print-directory test-bed-linux-save || rc=1; \
	$(if $(filter 1,$(BED_VIRIDIAN)),$(MAKE) --no-print-directory test-bed-viridian || rc=1;) \
	exit $$rc

# The reference shim proves the guests and the bed itself: hello passes,
# fail and hang must be reported as failed (crash / timeout).
# --retry-shim-triple-fault: Debian's xen-shim itself sometimes triple-
# faults on this nested-TCG bed (docs/bed.md); such a guest is run once
# more in a new L0 boot and judged by that run (both runs are printed).
# --retry-shim-timeout: the same for a guest whose reference shim hung
# (seen: smpevt, a vCPU spinning on a lock in xen-shim's text).
# minishim never gets these: a minishim triple fault or hang is a failure.
# BED_REFERENCE_EXPECT_FAIL: guests whose reference-shim result differs
# from minishim's while the difference is being reconciled (each must be
# explained in tests/guests/README.md). They must fail under the reference
# with the given reason, so a fix shows up as XPASS. Empty today: every
# guest passes under both shims.
BED_REFERENCE_EXPECT_FAIL ?=
# BED_REFERENCE_EXCLUDE: guests the reference shim is not run with in
# make test-bed: gfuzz, which can crash Debian's xen-shim itself (a guest-
# triggered "Xen BUG at arch/x86/pv/shim.c:481" in
# pv_shim_event_channel_op, seen in a fresh-clone make test; other runs
# pass): a finding about the reference (docs/fuzzing.md), not a check
# of ours. `make bed GUEST=gfuzz SHIM=reference VCPUS=2` runs it by hand.
BED_REFERENCE_EXCLUDE ?= gfuzz
test-bed-reference: $(GUEST_ELFS)
	@echo "== Xen bed: guests under the reference shim (Debian xen-shim)"
	$(Q)BUILD=$(BUILD) $(BED_RUN) --shim reference --retry-shim-triple-fault --retry-shim-timeout $(bed_common_args) \
	    $(call bed_guest_args,$(filter-out $(foreach x,$(BED_REFERENCE_EXCLUDE),%/$(x).elf),$(GUEST_ELFS))) \
	    $(call bed_expect_args,$(GUEST_ELFS)) \
	    $(call bed_save_if,$(filter-out $(foreach x,$(BED_REFERENCE_EXCLUDE),%/$(x).elf),$(GUEST_ELFS))) \
	    $(foreach e,$(BED_REFERENCE_EXPECT_FAIL),\
	      $(if $(filter $(firstword $(subst =, ,$(e))),$(notdir $(basename $(GUEST_ELFS)))),\
	           --expect-fail '$(e)'))

# The flush policy, asserted from the shim's telemetry (one "flush: stats"
# line at shutdown): with flush=auto on Xen L0 the smp guest's cross-vCPU
# flushes are assisted by L0 (HVMOP_flush_tlbs); with flush=ipi none goes to
# L0 and they are sent as IPIs by policy.
BED_FLUSH_STATS := flush: stats policy=
BED_FLUSH_IPI_CMDLINE := pv-shim console=xen,pv flush=ipi
BED_EXPECT_LOG_AUTO ?= 'smp=$(BED_FLUSH_STATS)auto .* assisted=[1-9][0-9]* .* l0-errors=0 '
BED_EXPECT_LOG_IPI  ?= 'smp=$(BED_FLUSH_STATS)ipi .* ipi-policy=[1-9][0-9]* .* assisted=0 .* assist-cpus=0 '
# The retype guest (4 vCPUs) under flush=auto: every remote flush that may
# go to L0 did (guest flushes, pin and linear-table flushes: no IPI for
# lack of a backend, no fallback, no L0 error), while the flushes for a
# retype away from a page table went by IPI and none to L0 (the safety
# rule, FLUSH_NO_ASSIST; counted under FLUSH_TAG_PT_RETYPE).
# inject=l0-flush-fail:all (shim/inject.c): every L0 flush "fails", so the
# engine must fall back to IPIs on a real L0 and the smp guest still pass.
# BED_FLUSH_FALLBACK=0 skips this run (one more L0 boot; the guest takes
# ~160 s of nested TCG on IPIs).
BED_FLUSH_FALLBACK ?= 1
# The gnttab guest's grant table is L0's (pv/grant_table.c): the frame it
# maps and writes an entry into is L0's grant frame 0 of the shim domain.
BED_EXPECT_LOG_GNTTAB ?= 'gnttab=^grant table: L0.s frame 0 at mfn [0-9a-f]+'
BED_FLUSH_FALLBACK_CMDLINE := pv-shim console=xen,pv inject=l0-flush-fail:all
BED_FLUSH_FALLBACK_TIMEOUT ?= 300
BED_EXPECT_LOG_FALLBACK ?= 'smp=$(BED_FLUSH_STATS)auto .* assisted=0 ipi-fallback=[1-9][0-9]* .* assist-cpus=0 l0-errors=[1-9][0-9]* l0-last-error=-5 '
# A real spurious #PF in the shim's copy to the guest (tests/guests/spurious,
# "strict"): with inject=pf-slow every round's hypercall must succeed and
# the shim must count the spurious faults it retried.
BED_SPURIOUS_CMDLINE := pv-shim console=xen,pv inject=pf-slow:all
BED_EXPECT_LOG_SPURIOUS ?= 'spurious=^$(BED_FLUSH_STATS)auto .* spurious-pf=[1-9][0-9]* '
BED_EXPECT_LOG_RETYPE ?= 'retype=$(BED_FLUSH_STATS)auto .* ipi-flags=0 ipi-nobackend=0 assisted=[1-9][0-9]* ipi-fallback=0 .* l0-errors=0 .* retype-ipi=[1-9][0-9]* retype-assisted=0([^0-9]|$$)'
# flush-safety=defer (docs/flush-safety.md): the retype guest's retype
# flushes go to L0 too (none forced onto IPIs, none by IPI at all), the
# walker being kept safe by the walk-epoch grace period instead.
BED_DEFER_CMDLINE := pv-shim console=xen,pv flush-safety=defer
BED_EXPECT_LOG_DEFER ?= 'retype=$(BED_FLUSH_STATS)auto .* ipi-forced=0 .* ipi-fallback=0 .* l0-errors=0 .* retype-ipi=0 retype-assisted=[1-9][0-9]*'

# Ballooning (tests/guests/balloon): the 65 frames the guest gives back
# reach L0 (XENMEM_decrease_reservation) after a release flush by IPI
# (none assisted although L0 takes the guest's flushes), and all come
# back from L0 (XENMEM_populate_physmap).
BED_EXPECT_LOG_BALLOON ?= 'balloon=^$(BED_FLUSH_STATS)auto .* balloon-ipi=[1-9][0-9]* balloon-assisted=0'
BED_EXPECT_LOG_BALLOON_L0 ?= 'balloon=^balloon: current=[0-9]+ max=[0-9]+ out=65 in=65 released-l0=65 freed-local=0 kept=0 back-from-l0=65 l0-errors=0 '

# L0 calls that fail (docs/fault-injection.md), on a real L0: the hello
# guest with 20 console kicks failing (every line still reaches
# xenconsoled's log, the summary counts the kicks that had to wait) and the
# xenstore guest with its first xenstore kick refused (sent again: the
# guest passes). BED_L0_FAULTS=0 skips this run (one more L0 boot).
BED_L0_FAULTS ?= 1
BED_L0_FAULTS_CMDLINE := pv-shim console=xen,pv
BED_EXPECT_LOG_L0_CONSOLE ?= 'hello=^WARNING: console: [0-9]+ kicks of L0.s console port failed twice \(last -5\)'
BED_EXPECT_LOG_L0_EVTCHN ?= 'xenstore=^WARNING: xenstore: L0 refused EVTCHNOP_send on port [0-9]+ \(-5\); trying again'

# The guests whose expected lines are the ipi policy's own name it, so that
# make test-defer (flush-safety=defer first on every line) keeps them on it.
# A variable: a literal comma inside $(if ...) would split its arguments.
BED_IPI_SAFETY_CMDLINE := pv-shim console=xen,pv flush-safety=ipi

ifeq ($(BED_MINISHIM_GUESTS),1)
test-bed-minishim: $(IMAGE) $(GUEST_ELFS)
	@echo "== Xen bed: guests under minishim"
	$(Q)BUILD=$(BUILD) $(BED_RUN) --shim minishim $(bed_common_args) \
	    $(call bed_guest_args,$(GUEST_ELFS)) $(call bed_expect_args,$(GUEST_ELFS)) \
	    $(call bed_save_if,$(GUEST_ELFS)) \
	    $(if $(filter smp,$(notdir $(basename $(GUEST_ELFS)))),--expect-log $(BED_EXPECT_LOG_AUTO)) \
	    $(if $(filter retype,$(notdir $(basename $(GUEST_ELFS)))),--guest-shim-cmdline 'retype=$(BED_IPI_SAFETY_CMDLINE)' --expect-log $(BED_EXPECT_LOG_RETYPE)) \
	    $(if $(filter gnttab,$(notdir $(basename $(GUEST_ELFS)))),--expect-log $(BED_EXPECT_LOG_GNTTAB)) \
	    $(if $(filter balloon,$(notdir $(basename $(GUEST_ELFS)))),--guest-shim-cmdline 'balloon=$(BED_IPI_SAFETY_CMDLINE)' --expect-log $(BED_EXPECT_LOG_BALLOON) --expect-log $(BED_EXPECT_LOG_BALLOON_L0))
	$(Q)$(if $(filter smp,$(notdir $(basename $(GUEST_ELFS)))),\
	    echo "== Xen bed: smp guest under minishim with flush=ipi" && \
	    BUILD=$(BUILD) $(BED_RUN) --shim minishim --name minishim-flush-ipi \
	      --shim-cmdline "$(BED_FLUSH_IPI_CMDLINE)" $(bed_common_args) \
	      $(call bed_guest_args,$(filter %/smp.elf,$(GUEST_ELFS))) \
	      --expect-log $(BED_EXPECT_LOG_IPI))
	$(Q)$(if $(filter spurious,$(notdir $(basename $(GUEST_ELFS)))),\
	    echo "== Xen bed: spurious guest under minishim with inject=pf-slow" && \
	    BUILD=$(BUILD) $(BED_RUN) --shim minishim --name minishim-spurious \
	      --shim-cmdline "$(BED_SPURIOUS_CMDLINE)" $(bed_common_args) \
	      --guest '$(filter %/spurious.elf,$(GUEST_ELFS)):2:strict' \
	      --expect-log $(BED_EXPECT_LOG_SPURIOUS))
	$(Q)$(if $(and $(filter 1,$(BED_FLUSH_FALLBACK)),$(filter smp,$(notdir $(basename $(GUEST_ELFS))))),\
	    echo "== Xen bed: smp guest under minishim with every L0 flush failing (IPI fallback)" && \
	    BUILD=$(BUILD) $(BED_RUN) --shim minishim --name minishim-flush-fallback \
	      --shim-cmdline "$(BED_FLUSH_FALLBACK_CMDLINE)" $(bed_common_args) \
	      --guest-timeout smp=$(BED_FLUSH_FALLBACK_TIMEOUT) \
	      $(call bed_guest_args,$(filter %/smp.elf,$(GUEST_ELFS))) \
	      --expect-log $(BED_EXPECT_LOG_FALLBACK))
	$(Q)$(if $(filter retype,$(notdir $(basename $(GUEST_ELFS)))),\
	    echo "== Xen bed: retype guest under minishim with flush-safety=defer" && \
	    BUILD=$(BUILD) $(BED_RUN) --shim minishim --name minishim-defer \
	      --shim-cmdline "$(BED_DEFER_CMDLINE)" $(bed_common_args) \
	      $(call bed_guest_args,$(filter %/retype.elf,$(GUEST_ELFS))) \
	      --expect-log $(BED_EXPECT_LOG_DEFER))
	$(Q)$(if $(and $(filter 1,$(BED_L0_FAULTS)),$(filter hello,$(notdir $(basename $(GUEST_ELFS)))),$(filter xenstore,$(notdir $(basename $(GUEST_ELFS))))),\
	    echo "== Xen bed: hello and xenstore under minishim with L0 console and event-channel calls failing" && \
	    BUILD=$(BUILD) $(BED_RUN) --shim minishim --name minishim-l0-faults \
	      --shim-cmdline "$(BED_L0_FAULTS_CMDLINE)" $(bed_common_args) \
	      $(call bed_guest_args,$(filter %/hello.elf %/xenstore.elf,$(GUEST_ELFS))) \
	      --guest-shim-cmdline 'hello=$(BED_L0_FAULTS_CMDLINE) inject=l0-console-fail:20' \
	      --guest-shim-cmdline 'xenstore=$(BED_L0_FAULTS_CMDLINE) inject=l0-evtchn-send-fail:1' \
	      --expect-log $(BED_EXPECT_LOG_L0_CONSOLE) --expect-log $(BED_EXPECT_LOG_L0_EVTCHN))
else
test-bed-minishim: $(IMAGE) $(GUEST_DEMO)
	@echo "== Xen bed: minishim boots as a PVH domU (BED_MINISHIM_GUESTS=1 runs all guests)"
	$(Q)BUILD=$(BUILD) $(BED_RUN) --shim minishim --l0-cpus $(BED_L0_CPUS) \
	    --timeout $(BED_MINISHIM_BOOT_TIMEOUT) --guest $(GUEST_DEMO) \
	    --boot-check '$(BED_MINISHIM_BOOT_REGEX)' \
	    $(if $(filter 1,$(BED_MINISHIM_BOOT_STRICT)),--boot-check-strict)
endif

# minishim's Hyper-V flush backend against L0 Xen's own Hyper-V interface
# (viridian, set on the shim's PVH domain by the bed: docs/bed.md). With
# l0-flush=auto Xen's recommendation picks the Hyper-V backend; asserted:
# L0 took HVM_PARAM_VIRIDIAN, the backend is hyperv, the self-test probes
# (Space, List, SpaceEx/ListEx with sparse and all sets, refused inputs)
# got the TLFS answers, the smp guest's remote flushes were assisted by
# Hyper-V hypercalls, and L0 returned no error.
BED_VIRIDIAN            ?= 1
BED_VIRIDIAN_FLAGS      ?= base,hcall_remote_tlb_flush,ex_processor_masks
BED_VIRIDIAN_CMDLINE    ?= pv-shim console=xen,pv l0-flush=auto l0-selftest
BED_VIRIDIAN_LOG1 := 'smp=^BED-VIRIDIAN domid=[0-9]+ set=0x411 readback=0x411 rc=0$$'
BED_VIRIDIAN_LOG2 := 'smp=^l0: flush backend .hyperv. \(auto: Xen with viridian recommends'
BED_VIRIDIAN_LOG3 := 'smp=^l0: selftest backend=hyperv probes=9 mismatches=0$$'
BED_VIRIDIAN_LOG4 := 'smp=^$(BED_FLUSH_STATS)auto .* assisted=[1-9][0-9]* ipi-fallback=0 .* l0-errors=0 '
BED_VIRIDIAN_LOG5 := 'smp=^l0: flush calls backend=hyperv space=[0-9]+ list=[0-9]+ .* errors=0 '
BED_VIRIDIAN_LOG6 := 'smp=^l0: flush calls backend=hyperv space=([1-9]|0 list=[1-9])'
# L0's side: Xen logs the first use of each viridian flush hypercall group.
BED_VIRIDIAN_LOG7 := 'smp=d[0-9]+: VIRIDIAN HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE/LIST$$'
BED_VIRIDIAN_LOG8 := 'smp=d[0-9]+: VIRIDIAN HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE/LIST_EX$$'

.PHONY: test-bed-viridian
test-bed-viridian: $(IMAGE) $(GUEST_ELFS)
	@echo "== Xen bed: smp guest under minishim, Hyper-V flush backend on L0 Xen's viridian"
	$(Q)BUILD=$(BUILD) $(BED_RUN) --shim minishim --name minishim-viridian \
	    --shim-cmdline "$(BED_VIRIDIAN_CMDLINE)" $(bed_common_args) \
	    $(call bed_guest_args,$(filter %/smp.elf,$(GUEST_ELFS))) \
	    --viridian $(BED_VIRIDIAN_FLAGS) \
	    $(foreach n,1 2 3 4 5 6 7 8,--expect-log $(BED_VIRIDIAN_LOG$(n)))

# docs/deploy.md end to end: the Debian package (make deb) installed in
# dom0 with dpkg -i, the hello guest (2 vCPUs) booted with pvshim_path =
# /usr/lib/minishim/minishim.elf; its banner must carry the package's
# version, and the L0-interface and flush-backend lines deploy.md tells
# users to read must be there.
.PHONY: test-bed-deb
test-bed-deb: $(IMAGE) $(GUEST_OUT)/hello.elf
	@echo "== Xen bed: the minishim package installed in dom0 (docs/deploy.md)"
	$(Q)deb=$$(scripts/mkdeb.sh $(abspath $(BUILD))) && \
	ver=$$(dpkg-deb -f "$$deb" Version | sed 's/[.+]/\\&/g') && \
	BUILD=$(BUILD) $(BED_RUN) --shim-deb "$$deb" $(bed_common_args) \
	    --guest $(GUEST_OUT)/hello.elf:2 \
	    --expect-log "hello=^minishim $$ver: PV shim" \
	    --expect-log "hello=^l0: Xen 4\.17 \(CPUID base" \
	    --expect-log "hello=^l0: using backend 'xen'" \
	    --expect-log "hello=^l0: flush backend 'xen' \(auto: Xen L0" \
	    --expect-log "hello=^flush: flush=auto, tlbclock=on, L0 flush available"

# make bed: one guest by hand. GUEST may be a guest name or an ELF path.
bed_guest = $(or $(GUEST),$(GUEST_DEMO))
bed_guest_path = $(strip $(if $(filter $(GUEST_OUT)/$(bed_guest).elf,$(GUEST_ELFS)),\
                   $(GUEST_OUT)/$(bed_guest).elf,$(bed_guest)))
bed_shim = $(or $(SHIM),minishim)

bed: $(if $(filter minishim,$(bed_shim)),$(IMAGE)) $(filter $(GUEST_ELFS),$(bed_guest_path))
	$(Q)BUILD=$(BUILD) $(BED_RUN) --shim $(bed_shim) --l0-cpus $(or $(L0_CPUS),2) \
	    $(if $(SHIM_CMDLINE),--shim-cmdline '$(SHIM_CMDLINE)') \
	    $(if $(TIMEOUT),--timeout $(TIMEOUT)) \
	    --guest '$(bed_guest_path):$(or $(VCPUS),1)$(if $(GUEST_CMDLINE),:$(GUEST_CMDLINE))' \
	    $(if $(filter savetest,$(bed_guest)),$(call bed_save_args,$(or $(SAVE_ROUNDS),1),savetest)) \
	    $(BED_ARGS)

# make soak-bed: the cross-vCPU guests BED_SOAK times each, 4
# vCPUs on BED_L0_CPUS L0 CPUs, in one L0 boot per shim (SOAK_SHIMS); the
# runner names the repeats smp, smp-2, ... and ends with "N passed, N
# failed". Not part of make test (about 5 min per shim on an idle host).
BED_SOAK        ?= 20
BED_SOAK_GUESTS ?= smp smpevt retype
SOAK_SHIMS      ?= reference minishim
.PHONY: soak-bed
soak-bed: $(IMAGE) $(GUEST_ELFS)
	$(Q)rc=0; for shim in $(SOAK_SHIMS); do \
	  echo "== Xen bed soak: $(BED_SOAK_GUESTS) x$(BED_SOAK) under $$shim"; \
	  BUILD=$(BUILD) $(BED_RUN) --shim $$shim --name $$shim-soak \
	    --l0-cpus $(BED_L0_CPUS) --timeout $(BED_TIMEOUT) \
	    --retry-l0-stall $(BED_SOAK_STALL_RETRIES) \
	    $(foreach g,$(BED_SOAK_GUESTS),--guest-timeout $(g)=120) \
	    $(foreach i,$(shell seq 1 $(BED_SOAK)),$(foreach g,$(BED_SOAK_GUESTS),--guest $(GUEST_OUT)/$(g).elf:4)) \
	    || rc=1; \
	done; exit $$rc

# Debian's Linux as the guest (docs/linux-guest.md): the kernel as xl's
# kernel= (the bzImage), the initramfs of scripts/mk-initramfs.sh with the
# user-space assertions of tests/guests/linux/linuxcheck.c as xl's
# ramdisk= (module 1 of the pvshim). A guest passes when every check
# passed (RESULT linux PASS) and the domain stopped with the expected
# reason: poweroff, or with ACTION=reboot / ACTION=panic (sysrq c) reboot /
# crash as xl saw it, a panic's "Kernel panic" line in the console.
# Guests are named linux-<shim>-<vcpus>[-<action>] (symlinks in
# $(BUILD)/linux/bed), so one L0 boot can hold several.
BED_LINUX_IMAGE   ?= $(shell ls /boot/vmlinuz-* 2>/dev/null | grep -v cloud | sort -V | tail -n 1)
BED_LINUX_TIMEOUT ?= 900
# fork+exec count of the bed's checks (QEMU-direct: 1000): 1000 did not
# finish in 900 s behind the reference shim on the loaded nested-TCG bed.
BED_LINUX_FORKS   ?= 100
BED_LINUX_INITRD  := $(BUILD)/linux/initramfs.gz
bed_linux_dir      = $(BUILD)/linux/bed
# bed_linux_name SHIM VCPUS ACTION
bed_linux_name     = linux-$(1)-$(2)$(if $(filter-out poweroff,$(3)),-$(3))
bed_linux_status   = $(if $(filter reboot xl-reboot,$(1)),reboot,$(if $(filter panic,$(1)),crash,poweroff))
# ACTION=xl-shutdown / xl-reboot / xl-vcpu-set: the guest waits after its
# checks (minishim.action=wait) and dom0 runs the xl command once it says
# so; Linux honours it through xenbus on L0's xenstore (control/shutdown,
# cpu/N/availability). xl-vcpu-set takes the guest down to 1 vCPU (run it
# with VCPUS=2 or more); the guest powers off once its online CPUs changed.
bed_linux_vcpu_re := CPUs online now 0 [(]was 0-
bed_linux_xl       = $(if $(filter xl-shutdown,$(1)),xl shutdown $$DOMID,$(if $(filter xl-reboot,$(1)),xl reboot $$DOMID,$(if $(filter xl-vcpu-set,$(1)),xl vcpu-set $$DOMID 1,$(if $(filter xl-mem-set,$(1)),$(bed_linux_memset),$(if $(filter xl-save,$(1)),$(bed_linux_save))))))
# ACTION=xl-mem-set: the guest (minishim.action=wait-mem) reports its
# balloon's view once it gave memory back and once it is back; dom0 sets
# the target to BED_LINUX_MEMSET_PCT % of the domain's memory as xl list
# shows it (the guest itself has less: the shim's share and Linux's own
# reservations, ~430 of 512 MiB on the bed; a target above that would ask
# Linux to grow), waits, sets it back, and writes L0's view (xl list: the
# shim domain's memory) into the guest's console log after each step,
# where the expected lines are checked. docs/pv-devices.md ("Memory").
BED_LINUX_MEMSET_PCT ?= 60
bed_linux_memset   = L=/var/log/xen/guest-$$NAME.log; mem() { xl list $$DOMID | sed -n 2p | tr -s " " | cut -d" " -f3; }; m0=$$(mem); xl mem-set $$DOMID $$((m0 * $(BED_LINUX_MEMSET_PCT) / 100))m; sleep 20; md=$$(mem); [ $$md -lt $$m0 ] && echo "BED-XL-MEM down $$md MiB, was $$m0" >> $$L; xl mem-set $$DOMID $${m0}m; sleep 20; mu=$$(mem); [ $$mu -gt $$md ] && echo "BED-XL-MEM up $$mu MiB, was $$md" >> $$L; echo "xl list: $$m0 $$md $$mu"
# ACTION=xl-save (not yet passed on the bed: the save image of a 512 MiB
# guest does not fit dom0's RAM-backed /tmp, docs/pv-devices.md):
# xl save + xl restore of the waiting guest, then (after
# 20 s of its wait loop: its timers tick) xl shutdown through xenbus on
# the new domain's store: a guest that did not carry on never powers off.
bed_linux_save     = xl save $$NAME /tmp/bed-save.img && xl restore /tmp/bed-save.img && rm -f /tmp/bed-save.img && sleep 20 && xl shutdown $$NAME
bed_linux_xl_args  = $(if $(filter xl-%,$(3)),--guest-action $(call bed_linux_name,$(1),$(2),$(3)) 'minishim-linux: waiting for dom0' '$(call bed_linux_xl,$(3))') \
                     $(if $(filter xl-save,$(3)),--guest-action-timeout $(call bed_linux_name,$(1),$(2),$(3))=$(BED_SAVE_TIMEOUT)) \
                     $(if $(filter xl-vcpu-set,$(3)),--expect-log '$(call bed_linux_name,$(1),$(2),$(3))=$(bed_linux_vcpu_re)') \
                     $(if $(filter xl-mem-set,$(3)),$(foreach re,$(bed_linux_mem_re),--expect-log '$(call bed_linux_name,$(1),$(2),$(3))=$(re)'))
bed_linux_mem_re  := minishim-linux:.balloon.down: minishim-linux:.balloon.up: BED-XL-MEM.down BED-XL-MEM.up
# bed_linux_args SHIM VCPUS ACTION [EXTRA GUEST CMDLINE]: run-bed arguments for one guest
bed_linux_args     = --guest '$(bed_linux_dir)/$(call bed_linux_name,$(1),$(2),$(3)):$(2):console=hvc0 minishim.action=$(if $(filter xl-mem-set,$(3)),wait-mem,$(if $(filter xl-%,$(3)),wait,$(3))) minishim.forks=$(BED_LINUX_FORKS) $(4)' \
                     $(call bed_linux_xl_args,$(1),$(2),$(3)) \
                     --guest-shim $(call bed_linux_name,$(1),$(2),$(3))=$(1) \
                     --guest-timeout $(call bed_linux_name,$(1),$(2),$(3))=$(if $(filter xl-save,$(3)),$(shell echo $$(($(BED_LINUX_TIMEOUT) + $(BED_SAVE_TIMEOUT)))),$(BED_LINUX_TIMEOUT)) \
                     --expect-status $(call bed_linux_name,$(1),$(2),$(3))=$(call bed_linux_status,$(3)) \
                     $(if $(filter panic,$(3)),--expect-log '$(call bed_linux_name,$(1),$(2),$(3))=Kernel panic - not syncing: sysrq triggered crash')
# bed_linux_links CONFIGS: the named symlinks for SHIM:VCPUS:ACTION words
bed_linux_links    = mkdir -p $(bed_linux_dir) && \
                     $(foreach c,$(1),ln -sfn $(BED_LINUX_IMAGE) $(bed_linux_dir)/$(call bed_linux_name,$(word 1,$(subst :, ,$(c))),$(word 2,$(subst :, ,$(c))),$(word 3,$(subst :, ,$(c)))) &&) true

.PHONY: bed-linux-initrd
bed-linux-initrd: $(LINUXCHECK)
	$(Q)mkdir -p $(BUILD)/linux && scripts/mk-initramfs.sh $(BED_LINUX_INITRD) $(LINUXCHECK)

# make bed-linux [SHIM=minishim|reference] [VCPUS=N]
#                [ACTION=poweroff|reboot|panic|xl-shutdown|xl-reboot|xl-vcpu-set|xl-mem-set|xl-save]
#                [GUEST_CMDLINE=...] [SHIM_CMDLINE=...] [MEMORY=MiB, default 512]:
# one Linux guest by hand (3-15 min on 2 cores). ACTION=xl-save wants
# MEMORY=256: the save image goes to dom0's RAM-backed /tmp. The reference shim gets --retry-shim-triple-fault.
.PHONY: bed-linux
bed-linux: $(if $(filter minishim,$(bed_shim)),$(IMAGE)) bed-linux-initrd
	$(Q)$(call bed_linux_links,$(bed_shim):$(or $(VCPUS),1):$(or $(ACTION),poweroff))
	$(Q)BUILD=$(BUILD) $(BED_RUN) --shim $(bed_shim) --l0-cpus $(or $(L0_CPUS),2) \
	    --memory $(or $(MEMORY),512) --timeout $(or $(TIMEOUT),$(BED_LINUX_TIMEOUT)) --ramdisk $(BED_LINUX_INITRD) \
	    --retry-l0-stall 1 $(if $(filter reference,$(bed_shim)),--retry-shim-triple-fault) \
	    $(if $(SHIM_CMDLINE),--guest-shim-cmdline '$(call bed_linux_name,$(bed_shim),$(or $(VCPUS),1),$(or $(ACTION),poweroff))=$(SHIM_CMDLINE)') \
	    $(call bed_linux_args,$(bed_shim),$(or $(VCPUS),1),$(or $(ACTION),poweroff),$(GUEST_CMDLINE)) \
	    $(BED_ARGS)

# make test-bed-linux (part of make test-bed): one L0 boot, the
# configurations of BED_LINUX_CONFIGS (SHIM:VCPUS:ACTION), Linux under both
# shims with 1, 2 and 4 vCPUs (on 2 L0 CPUs). A reference-shim guest whose
# shim triple-faults is run once more (never a minishim one). SMP Linux
# is here since the lost wake-ups were fixed (docs/linux-guest.md) and the
# bed's guests read the TSC natively (config/bed/guest.cfg.in, tsc_mode;
# docs/bed.md "RDTSC and tsc_mode"). The reference with 4 vCPUs is back
# since L0 runs with eager FPU (docs/bed.md "Lazy FPU"; an L0 stall is
# rerun in a new L0 boot, --retry-l0-stall).
# xl-shutdown / xl-reboot: dom0's xl honoured through xenbus on L0's
# xenstore (the guest waits for it after its checks).
BED_LINUX_CONFIGS ?= minishim:1:poweroff minishim:1:panic minishim:1:reboot reference:1:poweroff \
                     minishim:1:xl-shutdown minishim:1:xl-reboot \
                     minishim:2:poweroff minishim:4:poweroff reference:2:poweroff \
                     reference:4:poweroff
.PHONY: test-bed-linux
test-bed-linux: $(IMAGE) bed-linux-initrd
	@echo "== Xen bed: Debian's Linux under minishim and the reference shim ($(BED_LINUX_CONFIGS))"
	$(Q)$(call bed_linux_links,$(BED_LINUX_CONFIGS))
	$(Q)BUILD=$(BUILD) $(BED_RUN) --shim minishim --name linux --l0-cpus $(BED_L0_CPUS) \
	    --memory 512 --timeout $(BED_LINUX_TIMEOUT) --ramdisk $(BED_LINUX_INITRD) \
	    --retry-l0-stall $(BED_L0_STALL_RETRIES) --retry-shim-triple-fault --retry-shim-timeout \
	    $(foreach c,$(BED_LINUX_CONFIGS),$(call bed_linux_args,$(word 1,$(subst :, ,$(c))),$(word 2,$(subst :, ,$(c))),$(word 3,$(subst :, ,$(c))))) \
	    $(BED_ARGS)

# make soak-linux (not in make test): every configuration of
# SOAK_LINUX_CONFIGS SOAK_LINUX times, one L0 boot per configuration and
# round; prints the pass / fail / retry counts per configuration at the end
# (reference-shim triple faults are retried and counted as retries).
SOAK_LINUX         ?= 20
SOAK_LINUX_CONFIGS ?= minishim:1:poweroff minishim:2:poweroff minishim:4:poweroff \
                      reference:1:poweroff reference:2:poweroff reference:4:poweroff \
                      minishim:1:reboot minishim:1:panic
.PHONY: soak-linux
soak-linux: $(IMAGE) bed-linux-initrd
	$(Q)$(call bed_linux_links,$(SOAK_LINUX_CONFIGS))
	$(Q)BUILD=$(BUILD) BED_RUN=$(BED_RUN) SOAK_LINUX=$(SOAK_LINUX) \
	    BED_L0_CPUS=$(BED_L0_CPUS) BED_LINUX_TIMEOUT=$(BED_LINUX_TIMEOUT) BED_LINUX_FORKS=$(BED_LINUX_FORKS) \
	    BED_LINUX_INITRD=$(BED_LINUX_INITRD) BED_LINUX_DIR=$(bed_linux_dir) \
	    tests/bed/soak-linux.sh $(SOAK_LINUX_CONFIGS)

# make test-bed-linux-devices (part of make test-bed): Linux's own PV disk
# and network frontends against dom0's backends, through each shim
# (docs/pv-devices.md). Per shim, two boots of Debian's kernel on one raw
# ext4 image (scripts/mk-devdisk.sh, a fresh copy per shim in dom0):
# devices-SHIM-write mounts it as root (switch_root from the initramfs),
# writes /data/blob, syncs, remounts it read-only, then tests the vif on
# dom0's bridge (pings both ways, 3.4 MB each way over HTTP, checksums
# checked by the receiver: tests/bed/dom0/net-peer.sh is dom0's half) and
# reboots; devices-SHIM-read boots on the same image and checks the file.
# The reference's run gets --retry-shim-triple-fault like the other Linux
# cases (a retried write boot runs on a fresh L0 and image, so its read
# boot, already judged, would fail: rare, visible as [RETRY]).
BED_DEVICES_SHIMS   ?= minishim reference
BED_DEVICES_TIMEOUT ?= 600
BED_DEVICES_DISK    := $(BUILD)/linux/devdisk.img
BED_DEVICES_NET_RE  := CHECK net-guest-to-dom0 PASS
bed_dev = devices-$(1)-$(2)
# bed_devices_args SHIM: run-bed arguments for one shim's two boots
bed_devices_args = --dom0-file $(BED_DEVICES_DISK):/bed/disks/$(1).img \
    $(foreach p,write read,\
      --guest '$(bed_linux_dir)/$(call bed_dev,$(1),$(p)):1:console=hvc0 minishim.root=xvda minishim.disk=$(p)$(if $(filter write,$(p)), minishim.net=1 minishim.action=reboot)' \
      --guest-shim $(call bed_dev,$(1),$(p))=$(1) \
      --guest-timeout $(call bed_dev,$(1),$(p))=$(BED_DEVICES_TIMEOUT) \
      --guest-xl-extra '$(call bed_dev,$(1),$(p))=disk = [ "format=raw, vdev=xvda, access=rw, target=/bed/disks/$(1).img" ]' \
      --expect-log '$(call bed_dev,$(1),$(p))=CHECK root-on-xvda PASS') \
    --guest-xl-extra '$(call bed_dev,$(1),write)=vif = [ "bridge=xenbr0, mac=00:16:3e:99:00:02" ]' \
    --guest-action $(call bed_dev,$(1),write) 'minishim-devices: net ready' 'sh /bed/net-peer.sh 10.99.0.2' \
    --expect-status $(call bed_dev,$(1),write)=reboot \
    --expect-log '$(call bed_dev,$(1),write)=CHECK disk-write PASS' \
    --expect-log '$(call bed_dev,$(1),write)=CHECK net-ping-guest PASS' \
    --expect-log '$(call bed_dev,$(1),write)=$(BED_DEVICES_NET_RE)' \
    --expect-log '$(call bed_dev,$(1),read)=CHECK disk-read-back PASS'

.PHONY: bed-devices-disk test-bed-linux-devices
bed-devices-disk:
	$(Q)mkdir -p $(BUILD)/linux && scripts/mk-devdisk.sh $(BED_DEVICES_DISK)

test-bed-linux-devices: $(IMAGE) bed-linux-initrd bed-devices-disk
	@echo "== Xen bed: Linux's PV disk and network through L0 ($(BED_DEVICES_SHIMS))"
	$(Q)mkdir -p $(bed_linux_dir) && \
	    $(foreach s,$(BED_DEVICES_SHIMS),$(foreach p,write read,ln -sfn $(BED_LINUX_IMAGE) $(bed_linux_dir)/$(call bed_dev,$(s),$(p)) &&)) true
	$(Q)BUILD=$(BUILD) $(BED_RUN) --shim minishim --name linux-devices --l0-cpus $(BED_L0_CPUS) \
	    --memory 512 --timeout $(BED_DEVICES_TIMEOUT) --ramdisk $(BED_LINUX_INITRD) \
	    --retry-l0-stall $(BED_L0_STALL_RETRIES) --retry-shim-triple-fault --retry-shim-timeout \
	    $(foreach s,$(BED_DEVICES_SHIMS),$(call bed_devices_args,$(s))) \
	    $(BED_ARGS)

# make soak-save: xl save + xl restore of the savetest guest
# BED_SAVE_SOAK_ROUNDS times in a row (the guest checks xenstore, console,
# timers and event channels after each) under SOAK_SAVE_SHIMS, one L0 boot
# each. Not part of make test.
BED_SAVE_SOAK_ROUNDS ?= 10
SOAK_SAVE_SHIMS ?= minishim
.PHONY: soak-save
soak-save: $(IMAGE) $(GUEST_OUT)/savetest.elf
	$(Q)rc=0; for shim in $(SOAK_SAVE_SHIMS); do \
	  echo "== Xen bed: savetest, $(BED_SAVE_SOAK_ROUNDS) save/restore rounds under $$shim"; \
	  BUILD=$(BUILD) $(BED_RUN) --shim $$shim --name $$shim-save-soak \
	    --l0-cpus $(BED_L0_CPUS) --retry-l0-stall $(BED_L0_STALL_RETRIES) \
	    $$([ $$shim = reference ] && echo --retry-shim-triple-fault) \
	    --guest '$(GUEST_OUT)/savetest.elf:1:rounds=$(BED_SAVE_SOAK_ROUNDS)' \
	    $(call bed_save_args,$(BED_SAVE_SOAK_ROUNDS),savetest) \
	    --guest-action-timeout savetest=$$(($(BED_SAVE_SOAK_ROUNDS) * 300)) \
	    --guest-timeout savetest=$$(($(BED_SAVE_SOAK_ROUNDS) * 300 + 120)) \
	    || rc=1; \
	done; exit $$rc

# make test-bed-linux-save (part of make test-bed): Debian's Linux under
# minishim, 256 MiB (the save image goes to dom0's RAM-backed /tmp), saved
# and restored once with xl while it waits after its checks, then shut
# down with xl through xenbus on the new domain: a guest that did not
# carry on after the restore never powers off (ACTION=xl-save above;
# docs/pv-devices.md, "Save/restore"). About a minute.
.PHONY: test-bed-linux-save
test-bed-linux-save: $(IMAGE) bed-linux-initrd
	@echo "== Xen bed: Debian's Linux under minishim saved and restored with xl"
	$(Q)$(MAKE) --no-print-directory bed-linux SHIM=minishim VCPUS=1 ACTION=xl-save MEMORY=256
