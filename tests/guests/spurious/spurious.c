/*
 * spurious - a real spurious page fault in the shim's copy to the guest.
 *
 * vCPU 0 maps a page read-only (flushing every vCPU), vCPU 1 reads it (so
 * it may hold the narrower translation) and then passes it as the output
 * buffer of xen_version(XENVER_extraversion), while vCPU 0 makes the
 * mapping writable with UVMF_NONE: rights added without a flush, as the
 * PV ABI allows (xen/include/public/xen.h, update_va_mapping). When the
 * shim's copy faults on the old rights but the tables allow the write by
 * the time its #PF handler looks, the fault is spurious: Xen's
 * do_page_fault() -> spurious_page_fault() retries it before the
 * exception table, so the hypercall succeeds.
 *
 * The window between the hardware's fault and the handler's walk is
 * short, so the shim is run with inject=pf-slow (shim/spurious_pf.c: each
 * shim-context #PF waits 100 ms before its walk) and the guest with the
 * argument "strict": then every round must succeed and put "-minishim"
 * into the buffer; the runner checks the shim counted spurious faults
 * (spurious-pf= in the flush statistics). Without "strict" (the reference
 * shim, whose window is nanoseconds) a round may also end in -EFAULT, the
 * answer for a buffer read-only when copied to.
 * Needs 2 vCPUs (SKIP with 1).
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/vcpu.h>
#include <xen/version.h>

#define SPIN_LIMIT 400000000UL
#define ROUNDS 8UL
/* vCPU 0's pause between "go" and adding the write right, in TSC cycles
 * (about 10 ms at 2 GHz): long enough for vCPU 1 to reach its copy first
 * (unless its host thread is descheduled: that round then sees no fault),
 * far shorter than pf-slow's 500 ms. */
#define ADD_RW_DELAY (20UL * 1000 * 1000)

#define PTE_RO 0x065UL                  /* P, US, A, D */
#define PTE_RW 0x067UL                  /* P, RW, US, A, D */

static volatile char buf[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t ap_stack[4 * PAGE_SIZE] __attribute__((aligned(16)));
static struct vcpu_guest_context ctx;
static volatile unsigned long ready, go, done, stop;
static volatile long result[ROUNDS + 1];
static const unsigned long *p2m;

static unsigned long mfn_of(const volatile void *p)
{
    return p2m[((unsigned long)p - (unsigned long)_image_start) >> PAGE_SHIFT];
}

static long uvm(const volatile void *va, uint64_t pte, unsigned long flags)
{
    return hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)va, pte, flags);
}

void ap_main(void);
asm(".pushsection .text\n"
    ".globl ap_entry\n"
    "ap_entry:\n"
    "    call ap_main\n"
    "    ud2\n"
    ".popsection");
extern char ap_entry[];

/* vCPU 1: per round, read the page (narrow translation), say so, wait for
 * "go", hand the page to a hypercall that writes it. */
void ap_main(void)
{
    unsigned long r;

    for (r = 1; r <= ROUNDS; r++) {
        (void)buf[0];
        __atomic_store_n(&ready, r, __ATOMIC_RELEASE);
        while (__atomic_load_n(&go, __ATOMIC_ACQUIRE) != r)
            if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
                goto out;
        result[r] = hypercall_xen_version(XENVER_extraversion, (void *)buf);
        __atomic_store_n(&done, r, __ATOMIC_RELEASE);
    }
out:
    hypercall_vcpu_op(VCPUOP_down, 1, NULL);
    for (;;)
        ;
}

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static bool wait_for(volatile unsigned long *what, unsigned long want)
{
    for (unsigned long i = 0; i < SPIN_LIMIT; i++)
        if (__atomic_load_n(what, __ATOMIC_ACQUIRE) == want)
            return true;
    return false;
}

void test_main(void)
{
    const char *args = (const char *)start_info->cmd_line;
    bool strict = strstr(args, "strict") != NULL;
    unsigned long mfn, l4, ok = 0, efault = 0, r;
    long rc;

    p2m = (const unsigned long *)start_info->mfn_list;
    l4 = mfn_of((const void *)start_info->pt_base);
    mfn = mfn_of(buf);
    rc = hypercall_vcpu_op(VCPUOP_is_up, 1, NULL);
    if (rc == -XEN_ENOENT)
        test_skip("needs 2 vCPUs (VCPUOP_is_up(1) = -ENOENT)");

    check(uvm(buf, ((uint64_t)mfn << PAGE_SHIFT) | PTE_RO, UVMF_INVLPG | UVMF_ALL) == 0,
          "map the buffer read-only");
    guest_vcpu_ctx(&ctx, (unsigned long)ap_entry,
                   (unsigned long)(ap_stack + sizeof(ap_stack)), 1, l4);
    check(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx) == 0, "initialise vCPU 1");
    check(hypercall_vcpu_op(VCPUOP_up, 1, NULL) == 0, "bring vCPU 1 up");

    for (r = 1; r <= ROUNDS; r++) {
        if (!check(wait_for(&ready, r), "round %lu: vCPU 1 never got ready", r))
            break;
        __atomic_store_n(&go, r, __ATOMIC_RELEASE);
        for (uint64_t t0 = rdtsc(); rdtsc() - t0 < ADD_RW_DELAY;)
            ;
        /* Add the write right, flush no other vCPU (only our own entry:
         * this vCPU writes the page below). */
        rc = uvm(buf, ((uint64_t)mfn << PAGE_SHIFT) | PTE_RW, UVMF_INVLPG | UVMF_LOCAL);
        check(rc == 0, "round %lu: make the buffer writable: %ld", r, rc);
        if (!check(wait_for(&done, r), "round %lu: vCPU 1's hypercall never returned", r))
            break;
        if (result[r] == 0) {
            ok++;
            check(!memcmp((const void *)buf, "-minishim", 10) ||
                  (!strict && buf[0] != 0),
                  "round %lu: buffer holds \"%s\"", r, (const char *)buf);
        } else if (result[r] == -XEN_EFAULT) {
            efault++;
        }
        check(result[r] == 0 || (!strict && result[r] == -XEN_EFAULT),
              "round %lu: xen_version into a buffer made writable under it: %ld",
              r, result[r]);
        /* Read-only again for the next round, on every vCPU. */
        memset((void *)buf, 0, 16);
        check(uvm(buf, ((uint64_t)mfn << PAGE_SHIFT) | PTE_RO, UVMF_INVLPG | UVMF_ALL) == 0,
              "round %lu: map the buffer read-only again", r);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    printk("spurious: %lu rounds: %lu succeeded, %lu -EFAULT (%s)\n",
           ROUNDS, ok, efault, strict ? "strict" : "either allowed");
    check(uvm(buf, ((uint64_t)mfn << PAGE_SHIFT) | PTE_RW, UVMF_INVLPG | UVMF_ALL) == 0,
          "buffer writable again");
}
