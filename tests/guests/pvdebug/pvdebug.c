/*
 * pvdebug - guest debug registers and the user %gs selector load, as Xen
 * 4.17 does them for a 64-bit PV guest:
 * - set_debugreg/get_debugreg: breakpoints only on guest addresses, GD
 *   and I/O breakpoints (without CR4.DE) refused with -EPERM, %dr6/%dr7
 *   reserved bits as Xen fixes them;
 * - breakpoints really fire: a data write and a data read/write
 *   breakpoint give the guest #DB (a trap, after the access) with the
 *   matching B bit in %dr6; an instruction breakpoint gives #DB before
 *   the instruction, and HYPERVISOR_iret with RF set runs it once;
 *   single-step sets BS;
 * - a data breakpoint matched by the hypervisor's own write into guest
 *   memory (a hypercall result) is not the guest's: no #DB, %dr6 as it
 *   was, the hypercall completes (Xen: "Hit #DB in Xen context");
 * - set_segment_base(SEGBASE_GS_USER_SEL): the selector lands in %gs
 *   with RPL 3, its base becomes the user GS base, the kernel GS base
 *   stays, an unloadable selector becomes null without an error.
 */
#include "guest.h"
#include <xen/errno.h>

#define MSR_GS_BASE        0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u

/* %dr7 fields (SDM vol. 3 17.2.4). */
#define DR7_L(n)        (1UL << ((n) * 2))
#define DR7_RW(n, rw)   ((unsigned long)(rw) << (16 + (n) * 4))
#define DR7_LEN(n, len) ((unsigned long)(len) << (18 + (n) * 4))
#define RW_EXEC  0
#define RW_WRITE 1
#define RW_IO    2
#define RW_RW    3
#define LEN_1    0
#define LEN_8    2
#define LEN_4    3

void __noreturn pdbg_entered(const uint64_t *f);
extern const char pdbg_db_entry[], pdbg_db_iret_entry[];
int pdbg_target(void);
void pdbg_single_step(void);
extern volatile unsigned int pdbg_iret_count;

static struct jmpctx kctx;
static volatile struct { unsigned int hits; uint64_t rip; } got;
static volatile uint64_t watched __attribute__((aligned(16)));
static volatile uint64_t kernel_gs_word __attribute__((aligned(8))) = 0x5eedf00d;

void pdbg_entered(const uint64_t *f)
{
    got.hits++;
    got.rip = f[0];
    guest_longjmp(&kctx);
}

#define TRY(...) do {                                   \
        got.hits = 0; got.rip = 0;                      \
        if (guest_setjmp(&kctx) == 0) {                  \
            __VA_ARGS__;                                \
        }                                               \
    } while (0)

static long set_dr(int reg, unsigned long val)
{
    return hypercall2(__HYPERVISOR_set_debugreg, reg, val);
}

static unsigned long get_dr(int reg)
{
    return (unsigned long)hypercall1(__HYPERVISOR_get_debugreg, reg);
}

static void set_trap1(const char *entry)
{
    struct trap_info t[] = {
        { 1, 0, FLAT_KERNEL_CS, (unsigned long)entry },
        { 0, 0, 0, 0 },
    };

    check(hypercall_set_trap_table(t) == 0, "set_trap_table");
}

static unsigned long read_cr4(void)
{
    unsigned long v;

    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;

    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static void test_rules(void)
{
    long rc;
    bool de = read_cr4() & (1UL << 3);

    check(get_dr(7) == 0x400, "initial %%dr7 %#lx, want 0x400", get_dr(7));
    check((get_dr(6) & 0xffffefffUL) == 0xffff0ff0UL, "initial %%dr6 %#lx", get_dr(6));
    rc = set_dr(7, 1UL << 13);
    check(rc == -XEN_EPERM, "set %%dr7.GD = %ld, want -EPERM", rc);
    rc = set_dr(7, DR7_L(0) | DR7_RW(0, RW_IO));
    /* Xen: an I/O breakpoint needs the guest's CR4.DE. */
    check(de ? rc == 0 : rc == -XEN_EPERM, "I/O breakpoint with CR4.DE %d = %ld", de, rc);
    rc = set_dr(7, 0);
    check(rc == 0 && get_dr(7) == 0x400, "%%dr7 0 = %ld, reads %#lx", rc, get_dr(7));
    rc = set_dr(7, 0xd000);
    check(rc == 0 && get_dr(7) == 0x400, "%%dr7 reserved-zero bits = %ld, reads %#lx",
          rc, get_dr(7));
    rc = set_dr(0, 0xffff830000000000UL);
    check(rc == -XEN_EPERM, "breakpoint on a hypervisor address = %ld, want -EPERM", rc);
    rc = set_dr(0, 0x0000800000000000UL);
    check(rc == -XEN_EPERM, "breakpoint on a non-canonical address = %ld, want -EPERM", rc);
    rc = set_dr(6, 0);
    check(rc == 0 && (get_dr(6) & 0xffffefffUL) == 0xffff0ff0UL,
          "%%dr6 0 = %ld, reads %#lx", rc, get_dr(6));
}

static void test_data_breakpoints(void)
{
    uint64_t v;

    set_trap1(pdbg_db_entry);
    /* Write breakpoint, 4 bytes, in %dr0. */
    watched = 0;
    check(set_dr(0, (unsigned long)&watched) == 0, "set %%dr0");
    check(set_dr(7, DR7_L(0) | DR7_RW(0, RW_WRITE) | DR7_LEN(0, LEN_4)) == 0, "set %%dr7");
    TRY(v = watched; (void)v);
    check(got.hits == 0, "a read hit the write breakpoint");
    TRY(watched = 0x1234);
    check(got.hits == 1, "write breakpoint: %u #DB, want 1", got.hits);
    check(watched == 0x1234, "the write completed before the #DB (a trap)");
    check((get_dr(6) & 0xf) == 0x1, "write breakpoint: %%dr6 %#lx, want B0", get_dr(6));
    check(set_dr(6, 0) == 0, "clear %%dr6");

    /* Read/write breakpoint, 8 bytes, in %dr3. */
    check(set_dr(7, 0) == 0, "%%dr7 off");
    check(set_dr(3, (unsigned long)&watched) == 0, "set %%dr3");
    check(set_dr(7, DR7_L(3) | DR7_RW(3, RW_RW) | DR7_LEN(3, LEN_8)) == 0, "set %%dr7");
    TRY(v = watched; (void)v);
    check(got.hits == 1, "read breakpoint: %u #DB, want 1", got.hits);
    check((get_dr(6) & 0xf) == 0x8, "read breakpoint: %%dr6 %#lx, want B3", get_dr(6));
    check(set_dr(6, 0) == 0, "clear %%dr6");

    /* The same breakpoint on a hypercall's output buffer: the write is
     * the hypervisor's, the guest gets no #DB and %dr6 stays clear. */
    {
        static xen_extraversion_t ev __attribute__((aligned(8)));
        static volatile long rc;

        check(set_dr(7, 0) == 0, "%%dr7 off");
        memset(&ev, 0x55, sizeof(ev));
        check(set_dr(3, (unsigned long)&ev) == 0, "set %%dr3");
        check(set_dr(7, DR7_L(3) | DR7_RW(3, RW_WRITE) | DR7_LEN(3, LEN_8)) == 0, "set %%dr7");
        rc = 0;
        TRY(rc = hypercall_xen_version(XENVER_extraversion, (void *)&ev));
        check(got.hits == 0, "hypervisor's write to a watched buffer gave the guest %u #DB",
              got.hits);
        check(rc == 0 && ev[0] != 0x55, "xen_version(extraversion) under a watchpoint = %ld", rc);
        check((get_dr(6) & 0xf) == 0, "%%dr6 %#lx after the hypervisor's write", get_dr(6));
        /* And the guest's own write still hits. */
        TRY(ev[0] = 'x');
        check(got.hits == 1, "guest write after the hypercall: %u #DB, want 1", got.hits);
        check((get_dr(6) & 0xf) == 0x8, "%%dr6 %#lx, want B3", get_dr(6));
    }
    check(set_dr(7, 0) == 0 && set_dr(6, 0) == 0, "breakpoints off");
}

static void test_insn_breakpoint(void)
{
    int r;

    set_trap1(pdbg_db_entry);
    check(set_dr(2, (unsigned long)pdbg_target) == 0, "set %%dr2");
    check(set_dr(7, DR7_L(2) | DR7_RW(2, RW_EXEC) | DR7_LEN(2, LEN_1)) == 0, "set %%dr7");
    r = 0;
    TRY(r = pdbg_target());
    check(got.hits == 1 && got.rip == (unsigned long)pdbg_target,
          "instruction breakpoint: %u #DB at %#lx, want 1 at %p", got.hits, got.rip,
          (void *)pdbg_target);
    check(r == 0, "the instruction ran before its breakpoint's #DB (a fault)");
    check((get_dr(6) & 0xf) == 0x4, "instruction breakpoint: %%dr6 %#lx, want B2", get_dr(6));
    check(set_dr(6, 0) == 0, "clear %%dr6");

    /* Return with RF: the instruction runs once, then hits again next call. */
    set_trap1(pdbg_db_iret_entry);
    pdbg_iret_count = 0;
    r = pdbg_target();
    check(r == 42 && pdbg_iret_count == 1, "RF resume: result %d after %u #DB", r,
          pdbg_iret_count);
    r = pdbg_target();
    check(r == 42 && pdbg_iret_count == 2, "second call: result %d after %u #DB", r,
          pdbg_iret_count);
    check(set_dr(7, 0) == 0, "%%dr7 off");
    r = pdbg_target();
    check(r == 42 && pdbg_iret_count == 2, "breakpoint off: %u #DB", pdbg_iret_count);
    check(set_dr(6, 0) == 0, "clear %%dr6");
}

static void test_single_step(void)
{
    set_trap1(pdbg_db_entry);
    TRY(pdbg_single_step());
    check(got.hits == 1, "single-step: %u #DB, want 1", got.hits);
    check(get_dr(6) & (1UL << 14), "single-step: %%dr6 %#lx, want BS", get_dr(6));
    check(set_dr(6, 0) == 0, "clear %%dr6");
}

static uint16_t read_gs_sel(void)
{
    uint16_t s;

    asm volatile("mov %%gs, %0" : "=r"(s));
    return s;
}

static uint64_t read_gs_word(void)
{
    uint64_t v;

    asm volatile("mov %%gs:0, %0" : "=r"(v));
    return v;
}

static void test_gs_user_sel(void)
{
    long rc;

    check(hypercall2(__HYPERVISOR_set_segment_base, SEGBASE_GS_KERNEL,
                     (unsigned long)&kernel_gs_word) == 0, "set kernel GS base");
    check(hypercall2(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER, 0x123000UL) == 0,
          "set user GS base");
    /* FLAT_RING3_DS32 (base 0) with RPL 0: loaded with RPL 3. */
    rc = hypercall2(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER_SEL, FLAT_RING3_DS32 & ~3);
    check(rc == 0, "GS_USER_SEL(%#x) = %ld", FLAT_RING3_DS32 & ~3, rc);
    check(read_gs_sel() == FLAT_RING3_DS32, "%%gs = %#x, want %#x", read_gs_sel(),
          FLAT_RING3_DS32);
    check(rdmsr(MSR_KERNEL_GS_BASE) == 0, "user GS base %#lx, want the descriptor's 0",
          (unsigned long)rdmsr(MSR_KERNEL_GS_BASE));
    check(read_gs_word() == 0x5eedf00d, "kernel GS base lost: %%gs:0 = %#lx",
          (unsigned long)read_gs_word());
    /* A selector beyond anything loadable: no error, %gs null. */
    rc = hypercall2(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER_SEL, 0x2003);
    check(rc == 0, "GS_USER_SEL(0x2003) = %ld, want 0 (errors are not reported)", rc);
    check(read_gs_sel() == 0, "%%gs = %#x after an unloadable selector, want 0", read_gs_sel());
    check(read_gs_word() == 0x5eedf00d, "kernel GS base lost after a faulting load");
    check(rdmsr(MSR_GS_BASE) == (unsigned long)&kernel_gs_word, "kernel GS base %#lx",
          (unsigned long)rdmsr(MSR_GS_BASE));
}

void test_main(void)
{
    test_rules();
    test_data_breakpoints();
    test_insn_breakpoint();
    test_single_step();
    test_gs_user_sel();
}
