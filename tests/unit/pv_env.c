#include <setjmp.h>
#include <string.h>
#include "fake/fake.h"
#include "pv_env.h"

void pv_env_reset(struct shared_info *shinfo, unsigned int nr_vcpus)
{
    fake_reset();
    fake_guest_fault_start = fake_guest_fault_end = 0;
    memset(&pv_dom, 0, sizeof(pv_dom));
    memset(shinfo, 0, sizeof(*shinfo));
    pv_dom.shared_info = shinfo;
    pv_dom.nr_vcpus = nr_vcpus;
    for (unsigned int i = 0; i < nr_vcpus; i++) {
        pv_dom.vcpus[i].id = i;
        pv_dom.vcpus[i].vcpu_info = &shinfo->vcpu_info[i];
    }
    pv_dom.vcpus[0].kernel_mode = true;
    pv_dom.vcpus[0].initialised = true;
}

bool pv_env_trap_crashes(struct cpu_regs *r)
{
    jmp_buf jb;
    unsigned int halts = fake_nr_halts;

    fake_halt_jmp = &jb;
    if (setjmp(jb) == 0) {
        pv_guest_trap(r);
        fake_halt_jmp = NULL;
        return false;
    }
    fake_halt_jmp = NULL;
    return fake_nr_halts == halts + 1;
}
