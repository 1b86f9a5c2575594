/* Frames, shared_info and Xen system time for test guests (guest.h). */
#include "guest.h"

struct shared_info *guest_map_shared_info(void)
{
    unsigned long va = start_info->pt_base + (start_info->nr_pt_frames + 1) * PAGE_SIZE;
    long rc = hypercall3(__HYPERVISOR_update_va_mapping, va,
                         start_info->shared_info | _P | _RW | _US, UVMF_INVLPG);
    struct shared_info *s;

    if (rc)
        test_fatal("update_va_mapping(shared_info) = %ld", rc);
    s = (struct shared_info *)va;
    memset(s->evtchn_mask, 0xff, sizeof(s->evtchn_mask));
    return s;
}

uint64_t guest_system_time_ns(volatile struct vcpu_time_info *t)
{
    uint32_t ver;
    uint64_t ns;

    do {
        uint64_t delta;

        ver = t->version;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        delta = guest_rdtsc() - t->tsc_timestamp;
        if (t->tsc_shift < 0)
            delta >>= -t->tsc_shift;
        else
            delta <<= t->tsc_shift;
        ns = t->system_time +
             (uint64_t)(((unsigned __int128)delta * t->tsc_to_system_mul) >> 32);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while ((ver & 1) || ver != t->version);
    return ns;
}

unsigned long guest_mfn_of(const volatile void *va)
{
    const unsigned long *p2m = (const unsigned long *)start_info->mfn_list;

    return p2m[((unsigned long)va - (unsigned long)_image_start) >> PAGE_SHIFT];
}
