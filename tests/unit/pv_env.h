/* The common starting point of the PV unit tests: a fresh fake machine
 * and an empty PV domain. */
#ifndef TEST_PV_ENV_H
#define TEST_PV_ENV_H

#include <minishim/pv.h>

/* fake_reset(), no guest fault window, pv_dom zeroed with nr_vcpus vCPUs
 * (ids set, vcpu_info in *shinfo, also zeroed), vCPU 0 initialised and in
 * guest kernel mode. */
void pv_env_reset(struct shared_info *shinfo, unsigned int nr_vcpus);

/* One exit to the guest, pv_guest_trap(r): true if it crashed the domain
 * (the shim shut down, caught by fake_halt_jmp), false if it returned. */
bool pv_env_trap_crashes(struct cpu_regs *r);

#endif
