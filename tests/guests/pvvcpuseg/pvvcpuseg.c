/*
 * pvvcpuseg - VCPUOP_initialise with the vCPU's own descriptor tables, as
 * SMP Linux brings up its secondary vCPUs (Xen 4.17 arch_set_info_guest:
 * gdt_frames[]/gdt_ents taken as pv_set_gdt takes them, ldt_base/ldt_ents
 * as MMUEXT_SET_LDT records them). vCPU 1 starts with CS/SS from its GDT,
 * then loads DS from its GDT and from its LDT. Bad arguments: a GDT frame
 * that is mapped writable, a GDT reaching Xen's entries, an unaligned or
 * too long LDT. With 3 vCPUs, vCPU 2 starts with data selectors that
 * cannot load (Xen load_segments): it enters its failsafe callback with
 * Xen's frame (rcx, r11, ds, es, fs, gs, rip, cs, rflags, rsp, ss), the
 * bad ones null, the good ones loaded. Needs 2 vCPUs (SKIP with 1).
 */
#include "guest.h"
#include <xen/errno.h>
#include <xen/vcpu.h>


#define CODE64_DPL0 0x00af9a000000ffffUL    /* Xen raises the DPL to 3 */
#define DATA_DPL0   0x00cf92000000ffffUL
#define DATA_DPL3   0x00cff3000000ffffUL

static uint64_t gdt[512] __attribute__((aligned(4096)));
static uint64_t ldt[512] __attribute__((aligned(4096)));
static uint64_t writable[512] __attribute__((aligned(4096)));
static uint8_t ap_stack[8192] __attribute__((aligned(16)));
static struct vcpu_guest_context ctx;
static const unsigned long *p2m;

static volatile uint16_t ap_cs, ap_ss, ap_ds_gdt, ap_ds_ldt;
static volatile int ap_done;

void seg_ap_main(void);
asm(".pushsection .text\n"
    ".globl seg_ap_entry\n"
    "seg_ap_entry:\n"
    "    call seg_ap_main\n"
    "    ud2\n"
    ".popsection");
extern char seg_ap_entry[];

/* vCPU 1: read CS/SS before any hypercall (SYSRET reloads Xen's flat
 * selectors), load DS from the GDT and the LDT, report, go down. */
void seg_ap_main(void)
{
    uint16_t cs, ss, d1, d2;

    asm volatile("mov %%cs, %0; mov %%ss, %1" : "=r"(cs), "=r"(ss));
    asm volatile("mov %2, %%ds; mov %%ds, %0; mov %3, %%ds; mov %%ds, %1; mov %4, %%ds"
                 : "=&r"(d1), "=&r"(d2)
                 : "r"((uint16_t)0x13), "r"((uint16_t)0x0f),
                   "r"((uint16_t)FLAT_KERNEL_DS)
                 : "memory");
    ap_cs = cs;
    ap_ss = ss;
    ap_ds_gdt = d1;
    ap_ds_ldt = d2;
    __atomic_store_n(&ap_done, 1, __ATOMIC_SEQ_CST);
    for (;;)
        hypercall_vcpu_op(VCPUOP_down, 1, NULL);
}

/* vCPU 2's failsafe callback: the frame, and DS/FS/GS as loaded. */
static uint8_t ap2_stack[8192] __attribute__((aligned(16)));
static volatile uint64_t fs_frame[11], fs_rsp;
static volatile uint16_t fs_ds, fs_fs, fs_gs;
static volatile int fs_done;

void seg_failsafe_main(uint64_t *frame);
asm(".pushsection .text\n"
    ".globl seg_failsafe_entry\n"
    "seg_failsafe_entry:\n"
    "    mov %rsp, %rdi\n"
    "    call seg_failsafe_main\n"
    "    ud2\n"
    ".popsection");
extern char seg_failsafe_entry[];

void seg_failsafe_main(uint64_t *frame)
{
    uint16_t ds, fs, gs;

    asm volatile("mov %%ds, %0; mov %%fs, %1; mov %%gs, %2" : "=r"(ds), "=r"(fs), "=r"(gs));
    for (unsigned int i = 0; i < 11; i++)
        fs_frame[i] = frame[i];
    fs_rsp = (uint64_t)frame;
    fs_ds = ds;
    fs_fs = fs;
    fs_gs = gs;
    __atomic_store_n(&fs_done, 1, __ATOMIC_SEQ_CST);
    for (;;)
        hypercall_vcpu_op(VCPUOP_down, 2, NULL);
}

static long map_ro(const void *va)
{
    uint64_t pte = ((uint64_t)guest_mfn_of(va) << PAGE_SHIFT) | _P | _US | _A | _D;

    return hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)va, pte,
                      UVMF_INVLPG | UVMF_LOCAL);
}

static void fill_ctx(void)
{
    memset(&ctx, 0, sizeof(ctx));
    ctx.flags = VGCF_in_kernel;
    ctx.user_regs.rip = (unsigned long)seg_ap_entry;
    ctx.user_regs.rsp = (unsigned long)(ap_stack + sizeof(ap_stack));
    ctx.user_regs.cs = 0x08;            /* GDT entry 1, RPL 0 (Xen: RPL 3) */
    ctx.user_regs.ss = 0x10;            /* GDT entry 2 */
    ctx.user_regs.rflags = 0x202;
    ctx.kernel_ss = FLAT_KERNEL_SS;
    ctx.kernel_sp = ctx.user_regs.rsp;
    ctx.ctrlreg[3] = xen_pfn_to_cr3(guest_mfn_of((void *)start_info->pt_base));
    ctx.gdt_frames[0] = guest_mfn_of(gdt);
    ctx.gdt_ents = 16;
    ctx.ldt_base = (unsigned long)ldt;
    ctx.ldt_ents = 4;
}

#define expect(call, want) do {                                             \
        long r_ = (call);                                                   \
        check(r_ == (want), "%s: got %ld, want %ld", #call, r_, (long)(want)); \
    } while (0)

void test_main(void)
{
    long rc;

    p2m = (const unsigned long *)start_info->mfn_list;
    rc = hypercall_vcpu_op(VCPUOP_is_up, 1, NULL);
    if (rc < 0)
        test_skip("needs 2 vCPUs (VCPUOP_is_up(1) = %ld)", rc);

    gdt[1] = CODE64_DPL0;
    gdt[2] = DATA_DPL0;
    ldt[1] = DATA_DPL3;
    expect(map_ro(gdt), 0);
    expect(map_ro(ldt), 0);

    /* Bad arguments (Xen arch_set_info_guest / pv_set_gdt): -EINVAL and
     * the vCPU stays uninitialised. */
    fill_ctx();
    ctx.gdt_frames[0] = guest_mfn_of(writable);
    expect(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL);
    fill_ctx();
    ctx.gdt_ents = FIRST_RESERVED_GDT_ENTRY + 1;
    expect(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL);
    fill_ctx();
    ctx.ldt_base += 8;
    expect(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL);
    fill_ctx();
    ctx.ldt_ents = 8193;
    expect(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL);
    expect(hypercall_vcpu_op(VCPUOP_up, 1, NULL), -XEN_EINVAL);

    fill_ctx();
    expect(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), 0);
    expect(hypercall_vcpu_op(VCPUOP_up, 1, NULL), 0);
    for (unsigned long spin = 0; !__atomic_load_n(&ap_done, __ATOMIC_SEQ_CST); spin++) {
        if (spin > 1000000UL)
            test_fatal("vCPU 1 did not report");
        hypercall_sched_op(SCHEDOP_yield, NULL);
    }
    check(ap_cs == 0x0b, "vCPU 1 started with cs %#x, want 0x0b (its GDT)", ap_cs);
    check(ap_ss == 0x13, "vCPU 1 started with ss %#x, want 0x13", ap_ss);
    check(ap_ds_gdt == 0x13, "vCPU 1: ds from its GDT reads %#x", ap_ds_gdt);
    check(ap_ds_ldt == 0x0f, "vCPU 1: ds from its LDT reads %#x", ap_ds_ldt);
    /* vCPU 1's descriptor pages are in use: not writable. */
    rc = hypercall3(__HYPERVISOR_update_va_mapping, (unsigned long)gdt,
                    ((uint64_t)guest_mfn_of(gdt) << PAGE_SHIFT) | _P | 2 | _US | _A | _D,
                    UVMF_INVLPG | UVMF_LOCAL);
    check(rc < 0, "vCPU 1's GDT page made writable: %ld", rc);

    if (hypercall_vcpu_op(VCPUOP_is_up, 2, NULL) < 0) {
        printk("pvvcpuseg: 2 vCPUs only: failsafe part not run\n");
        return;
    }
    /* vCPU 2: DS a GDT selector past the GDT's entries in use (entry 3
     * of the frame: zero), FS the LDT's data entry, GS an empty LDT
     * entry, ES null. */
    fill_ctx();
    ctx.user_regs.rip = (unsigned long)seg_ap_entry;
    ctx.user_regs.rsp = (unsigned long)(ap2_stack + sizeof(ap2_stack) - 8);
    ctx.kernel_sp = ctx.user_regs.rsp;
    ctx.user_regs.ds = 0x1b;
    ctx.user_regs.es = 0;
    ctx.user_regs.fs = 0x0f;
    ctx.user_regs.gs = 0x17;
    ctx.user_regs.rcx = 0xc0c0;
    ctx.user_regs.r11 = 0x1111;
    ctx.failsafe_callback_eip = (unsigned long)seg_failsafe_entry;
    ctx.flags |= VGCF_failsafe_disables_events;
    expect(hypercall_vcpu_op(VCPUOP_initialise, 2, &ctx), 0);
    expect(hypercall_vcpu_op(VCPUOP_up, 2, NULL), 0);
    for (unsigned long spin = 0; !__atomic_load_n(&fs_done, __ATOMIC_SEQ_CST); spin++) {
        if (spin > 1000000UL)
            test_fatal("vCPU 2 did not reach its failsafe callback");
        hypercall_sched_op(SCHEDOP_yield, NULL);
    }
    printk("failsafe frame: rcx %lx r11 %lx ds %lx es %lx fs %lx gs %lx rip %lx cs %lx "
           "rflags %lx rsp %lx ss %lx at %lx\n", fs_frame[0], fs_frame[1], fs_frame[2],
           fs_frame[3], fs_frame[4], fs_frame[5], fs_frame[6], fs_frame[7], fs_frame[8],
           fs_frame[9], fs_frame[10], fs_rsp);
    check(fs_frame[0] == 0xc0c0 && fs_frame[1] == 0x1111, "failsafe frame rcx/r11");
    check(fs_frame[2] == 0x1b && fs_frame[3] == 0 && fs_frame[4] == 0x0f &&
          fs_frame[5] == 0x17, "failsafe frame selectors %lx %lx %lx %lx",
          fs_frame[2], fs_frame[3], fs_frame[4], fs_frame[5]);
    check(fs_frame[6] == (uint64_t)seg_ap_entry, "failsafe frame rip %#lx", fs_frame[6]);
    check((fs_frame[7] & 0xffff) == 0x08, "failsafe frame cs %#lx", fs_frame[7]);
    check(fs_frame[9] == (uint64_t)(ap2_stack + sizeof(ap2_stack) - 8) &&
          (fs_frame[10] & 0xffff) == 0x13, "failsafe frame rsp %#lx ss %#lx",
          fs_frame[9], fs_frame[10]);
    check(fs_rsp == (uint64_t)(ap2_stack + sizeof(ap2_stack) - 16) - 11 * 8,
          "failsafe frame at %#lx", fs_rsp);
    check(fs_ds == 0 && fs_gs == 0 && fs_fs == 0x0f,
          "after the failsafe loads: ds %#x fs %#x gs %#x", fs_ds, fs_fs, fs_gs);
}
