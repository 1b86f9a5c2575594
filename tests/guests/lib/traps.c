/*
 * traps.c - the minimal virtual IDT: every exception a test does not
 * expect is reported as a failure (FAIL line + RESULT ... FAIL) and the
 * domain crashes. Without a trap table Xen would crash the domain silently
 * on the first fault, and the runner could only report "no RESULT line".
 */
#include "guest.h"

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

void __noreturn trap_unexpected(const struct trap_frame *f);

#define DECLARE_STUB(n) extern const char trap_entry_##n[]
DECLARE_STUB(0); DECLARE_STUB(1); DECLARE_STUB(3); DECLARE_STUB(4);
DECLARE_STUB(5); DECLARE_STUB(6); DECLARE_STUB(7); DECLARE_STUB(10);
DECLARE_STUB(11); DECLARE_STUB(12); DECLARE_STUB(13); DECLARE_STUB(14);
DECLARE_STUB(16); DECLARE_STUB(17); DECLARE_STUB(18); DECLARE_STUB(19);

static const struct {
    uint8_t vector;
    uint8_t dpl;        /* 3: reachable by int3/into from the guest kernel */
    const char *name;
    const char *entry;
} vectors[] = {
    {  0, 0, "DE", trap_entry_0 },  {  1, 0, "DB", trap_entry_1 },
    {  3, 3, "BP", trap_entry_3 },  {  4, 3, "OF", trap_entry_4 },
    {  5, 0, "BR", trap_entry_5 },  {  6, 0, "UD", trap_entry_6 },
    {  7, 0, "NM", trap_entry_7 },  { 10, 0, "TS", trap_entry_10 },
    { 11, 0, "NP", trap_entry_11 }, { 12, 0, "SS", trap_entry_12 },
    { 13, 0, "GP", trap_entry_13 }, { 14, 0, "PF", trap_entry_14 },
    { 16, 0, "MF", trap_entry_16 }, { 17, 0, "AC", trap_entry_17 },
    { 18, 0, "MC", trap_entry_18 }, { 19, 0, "XM", trap_entry_19 },
};

/* One extra zero entry terminates the table (address 0). */
static struct trap_info trap_table[ARRAY_SIZE(vectors) + 1];

void traps_init(void)
{
    long rc;

    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
        trap_table[i].vector = vectors[i].vector;
        /* flags bit 2: mask events on entry, like an interrupt gate */
        trap_table[i].flags = vectors[i].dpl | 4;
        trap_table[i].cs = FLAT_KERNEL_CS;
        trap_table[i].address = (unsigned long)vectors[i].entry;
    }

    rc = hypercall_set_trap_table(trap_table);
    if (rc)
        check_failed(__FILE__, __LINE__, "set_trap_table failed: %ld", rc);
}

static const char *vector_name(uint64_t vector)
{
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++)
        if (vectors[i].vector == vector)
            return vectors[i].name;
    return "??";
}

void __noreturn trap_unexpected(const struct trap_frame *f)
{
    static bool nested;

    /* A fault while reporting a fault: do not recurse, just stop. */
    if (nested)
        guest_shutdown(SHUTDOWN_crash);
    nested = true;

    /* Xen keeps the saved event mask in bits 32-39 of the cs slot. */
    printk("unexpected exception #%s (vector %lu) error %#lx\n"
           "  rip %#018lx cs %#lx (upcall mask %lu) rflags %#lx\n"
           "  rsp %#018lx ss %#lx\n"
           "  rax %#018lx rbx %#018lx rcx %#018lx rdx %#018lx\n"
           "  rsi %#018lx rdi %#018lx rbp %#018lx r8  %#018lx\n"
           "  r9  %#018lx r10 %#018lx r11 %#018lx r12 %#018lx\n"
           "  r13 %#018lx r14 %#018lx r15 %#018lx\n",
           vector_name(f->vector), f->vector, f->error_code,
           f->rip, f->cs & 0xffff, (f->cs >> 32) & 0xff, f->rflags,
           f->rsp, f->ss & 0xffff,
           f->rax, f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp, f->r8,
           f->r9, f->r10, f->r11, f->r12, f->r13, f->r14, f->r15);
    test_fatal("unexpected exception #%s (vector %lu) at rip %#lx",
               vector_name(f->vector), f->vector, f->rip);
}
