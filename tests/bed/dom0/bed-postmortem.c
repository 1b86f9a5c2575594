/*
 * bed-postmortem - what a stopped shim domain's CPU saw, read from dom0.
 *
 * A shim that triple-faults leaves nothing in its own log: the CPU could
 * not deliver an exception at all, and L0 prints only the general
 * registers. This tool reads, for each vCPU of a domain that is paused or
 * shut down (xl keeps it until it is destroyed), the HVM CPU save record
 * (descriptor-table registers, CR2, the event being injected) and walks
 * the domain's own page tables from its CR3 to check what interrupt
 * delivery from that context needs: the IDT gates of the faulting
 * vectors, the GDT descriptors they name, the TSS and the stacks it
 * points to (RSP0, IST1-4), each with its translation, so a missing
 * mapping or a corrupted descriptor shows up by name.
 *
 *   bed-postmortem DOMID [NR_VCPUS] [VECTOR...]
 *
 * Output lines start with "BED-PM ". Read-only: nothing is written to the
 * domain. Used by run-guests.sh for a guest that did not end as expected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
/* xc_map_foreign_range: libxenctrl still exports it behind this switch. */
#define XC_WANT_COMPAT_MAP_FOREIGN_API
#include <xenctrl.h>
#include <xen/hvm/save.h>

#define PG 4096UL
#define PTE_P  0x1UL
#define PTE_PS 0x80UL
#define PTE_ADDR 0x000ffffffffff000UL

static xc_interface *xch;
static uint32_t domid;

/* Read len bytes at guest-physical gpa (within one page). */
static int read_gpa(uint64_t gpa, void *buf, size_t len)
{
    void *p;

    if ((gpa & (PG - 1)) + len > PG)
        return -1;
    p = xc_map_foreign_range(xch, domid, PG, PROT_READ, gpa >> 12);
    if (!p)
        return -1;
    memcpy(buf, (char *)p + (gpa & (PG - 1)), len);
    munmap(p, PG);
    return 0;
}

/* Walk cr3's 4-level tables for va; returns the guest-physical address or
 * ~0 with the reason in why. */
static uint64_t translate(uint64_t cr3, uint64_t va, char *why, size_t n)
{
    static const char *lv[] = { "L4", "L3", "L2", "L1" };
    uint64_t table = cr3 & PTE_ADDR, e = 0;
    int shift = 39;

    if ((int64_t)va >> 47 != 0 && (int64_t)va >> 47 != -1) {
        snprintf(why, n, "non-canonical");
        return ~0UL;
    }
    for (int l = 0; l < 4; l++, shift -= 9) {
        unsigned int idx = (va >> shift) & 511;

        if (read_gpa(table + idx * 8, &e, 8)) {
            snprintf(why, n, "%s table %#" PRIx64 " unreadable", lv[l], table);
            return ~0UL;
        }
        if (!(e & PTE_P)) {
            snprintf(why, n, "%s[%u]=%#" PRIx64 " not present", lv[l], idx, e);
            return ~0UL;
        }
        if ((l == 1 || l == 2) && (e & PTE_PS)) {
            uint64_t mask = (1UL << shift) - 1;

            snprintf(why, n, "%s[%u]=%#" PRIx64 " (superpage)", lv[l], idx, e);
            return ((e & PTE_ADDR) & ~mask) | (va & mask);
        }
        table = e & PTE_ADDR;
    }
    snprintf(why, n, "L1e=%#" PRIx64, e);
    return table | (va & (PG - 1));
}

static int read_va(uint64_t cr3, uint64_t va, void *buf, size_t len, char *why, size_t n)
{
    uint64_t gpa = translate(cr3, va, why, n);

    return gpa == ~0UL ? -1 : read_gpa(gpa, buf, len);
}

static void show_desc(uint64_t cr3, const struct hvm_hw_cpu *c, unsigned int sel, const char *what)
{
    uint64_t d[2] = { 0, 0 };
    char why[160];

    if ((sel | 7) > c->gdtr_limit) {
        printf("BED-PM   gdt %s sel %#x beyond GDTR limit %#x\n", what, sel, c->gdtr_limit);
        return;
    }
    if (read_va(cr3, c->gdtr_base + (sel & ~7u), d, sizeof(d), why, sizeof(why)))
        printf("BED-PM   gdt %s sel %#x: UNMAPPED (%s)\n", what, sel, why);
    else
        printf("BED-PM   gdt %s sel %#x: %016" PRIx64 " %016" PRIx64 " (%s)\n",
               what, sel, d[0], d[1], why);
}

static void show_stack(uint64_t cr3, const char *what, uint64_t top)
{
    uint64_t w[4];
    char why[160];

    if (!top) {
        printf("BED-PM   tss %s = 0\n", what);
        return;
    }
    if (read_va(cr3, top - 32, w, sizeof(w), why, sizeof(why)))
        printf("BED-PM   tss %s = %#" PRIx64 ": UNMAPPED (%s)\n", what, top, why);
    else
        printf("BED-PM   tss %s = %#" PRIx64 ": mapped (%s), top words %#" PRIx64 " %#" PRIx64
               " %#" PRIx64 " %#" PRIx64 "\n", what, top, why, w[0], w[1], w[2], w[3]);
}

/* A 64-bit IDT gate's handler offset and selector (SDM 6.14.1). */
static uint64_t gate_offset(const uint64_t g[2])
{
    return (g[0] & 0xffff) | ((g[0] >> 32) & 0xffff0000UL) | (g[1] << 32);
}

static unsigned int gate_selector(const uint64_t g[2])
{
    return (g[0] >> 16) & 0xffff;
}

/* All 256 gates: minishim's IDT points gate v at its stub table + 16 v,
 * so a gate off that pattern (or not present) is listed; other shims'
 * IDTs just give a longer list. */
static void show_idt_scan(uint64_t cr3, const struct hvm_hw_cpu *c)
{
    uint64_t g[2], base_off = 0;
    unsigned int present = 0, pattern = 0, listed = 0, sel0 = 0;
    char why[160];

    for (unsigned int v = 0; v < 256 && v * 16 + 15 <= c->idtr_limit; v++) {
        uint64_t off;
        unsigned int sel;

        if (read_va(cr3, c->idtr_base + v * 16, g, sizeof(g), why, sizeof(why))) {
            printf("BED-PM   idt scan: gate %#x UNMAPPED (%s)\n", v, why);
            return;
        }
        off = gate_offset(g);
        sel = gate_selector(g);
        if (v == 0) {
            base_off = off;
            sel0 = sel;
        }
        if (g[0] & (1UL << 47))
            present++;
        if ((g[0] & (1UL << 47)) && sel == sel0 && off == base_off + 16 * v) {
            pattern++;
        } else if (listed++ < 8) {
            printf("BED-PM   idt scan: gate %#x %016" PRIx64 " %016" PRIx64 " off the pattern\n",
                   v, g[0], g[1]);
        }
    }
    printf("BED-PM   idt scan: %u gates present, %u at stub base %#" PRIx64 " + 16 v, sel %#x\n",
           present, pattern, base_off, sel0);
}

/* The vCPU's local APIC as L0 holds it: what is in service (ISR: an
 * interrupt whose EOI never came blocks every vector of its priority
 * class and below), what waits (IRR), the task priority, and whether a
 * timer is armed (TSC deadline against the vCPU's TSC, or the one-shot
 * count). Register offsets: SDM Vol. 3 Table 11-1 (xAPIC layout, which
 * Xen's LAPIC_REGS record keeps). */
static uint32_t lapic_reg(const struct hvm_hw_lapic_regs *r, unsigned int off)
{
    uint32_t v;

    memcpy(&v, r->data + off, sizeof(v));
    return v;
}

static void show_vectors(const struct hvm_hw_lapic_regs *r, unsigned int base, const char *what)
{
    unsigned int found = 0;

    printf("BED-PM   lapic %s:", what);
    for (unsigned int v = 0; v < 256; v++)
        if (lapic_reg(r, base + (v / 32) * 0x10) & (1u << (v % 32))) {
            printf(" %#x", v);
            found++;
        }
    printf("%s\n", found ? "" : " none");
}

static void show_lapic(unsigned int vcpu, uint64_t tsc)
{
    struct hvm_hw_lapic l;
    struct hvm_hw_lapic_regs r;

    if (xc_domain_hvm_getcontext_partial(xch, domid, HVM_SAVE_CODE(LAPIC), (uint16_t)vcpu,
                                         &l, sizeof(l)) ||
        xc_domain_hvm_getcontext_partial(xch, domid, HVM_SAVE_CODE(LAPIC_REGS), (uint16_t)vcpu,
                                         &r, sizeof(r))) {
        printf("BED-PM   lapic: no record (%s)\n", strerror(errno));
        return;
    }
    printf("BED-PM   lapic base %#" PRIx64 " disabled %#x tpr %#x ppr %#x svr %#x"
           " lvt-timer %#x tmict %#x tmcct %#x tdcr %#x\n", l.apic_base_msr, l.disabled,
           lapic_reg(&r, 0x80), lapic_reg(&r, 0xa0), lapic_reg(&r, 0xf0),
           lapic_reg(&r, 0x320), lapic_reg(&r, 0x380), lapic_reg(&r, 0x390),
           lapic_reg(&r, 0x3e0));
    printf("BED-PM   lapic tsc-deadline %#" PRIx64 " vcpu tsc %#" PRIx64 " (%s%" PRIu64 " cycles)\n",
           l.tdt_msr, tsc, !l.tdt_msr ? "not armed, " : l.tdt_msr > tsc ? "due in " : "passed ",
           l.tdt_msr > tsc ? l.tdt_msr - tsc : tsc - l.tdt_msr);
    show_vectors(&r, 0x100, "isr");
    show_vectors(&r, 0x200, "irr");
}

static void show_vcpu(unsigned int vcpu, const unsigned int *vecs, unsigned int nvec)
{
    struct hvm_hw_cpu c;
    uint8_t tss[104];
    char why[160];
    uint64_t cr3;

    memset(&c, 0, sizeof(c));
    if (xc_domain_hvm_getcontext_partial(xch, domid, HVM_SAVE_CODE(CPU), (uint16_t)vcpu,
                                         &c, sizeof(c))) {
        printf("BED-PM d%u v%u: no CPU record (%s)\n", domid, vcpu, strerror(errno));
        return;
    }
    cr3 = c.cr3;
    printf("BED-PM d%u v%u rip %04x:%#" PRIx64 " rsp %04x:%#" PRIx64 " rflags %#" PRIx64 "\n",
           domid, vcpu, c.cs_sel, c.rip, c.ss_sel, c.rsp, c.rflags);
    printf("BED-PM   cr0 %#" PRIx64 " cr2 %#" PRIx64 " cr3 %#" PRIx64 " cr4 %#" PRIx64
           " efer %#" PRIx64 "\n", c.cr0, c.cr2, c.cr3, c.cr4, c.msr_efer);
    printf("BED-PM   idtr %#" PRIx64 "/%#x gdtr %#" PRIx64 "/%#x tr %#x %#" PRIx64
           "/%#x ar %#x ldtr %#x %#" PRIx64 "/%#x\n", c.idtr_base, c.idtr_limit,
           c.gdtr_base, c.gdtr_limit, c.tr_sel, c.tr_base, c.tr_limit, c.tr_arbytes,
           c.ldtr_sel, c.ldtr_base, c.ldtr_limit);
    printf("BED-PM   pending_event %#x (valid %u vector %#x type %u) error_code %#x"
           " shadow_gs %#" PRIx64 " gs_base %#" PRIx64 "\n", c.pending_event,
           c.pending_valid, c.pending_vector, c.pending_type, c.error_code,
           c.shadow_gs, c.gs_base);
    if (read_va(cr3, c.rip, tss, 16, why, sizeof(why)))
        printf("BED-PM   code at rip: UNMAPPED (%s)\n", why);
    else
        printf("BED-PM   code at rip: %02x %02x %02x %02x %02x %02x %02x %02x (%s)\n",
               tss[0], tss[1], tss[2], tss[3], tss[4], tss[5], tss[6], tss[7], why);

    for (unsigned int i = 0; i < nvec + (c.pending_valid ? 1 : 0); i++) {
        unsigned int v = i < nvec ? vecs[i] : c.pending_vector;
        uint64_t g[2] = { 0, 0 };
        uint64_t off;
        unsigned int sel, ist, attr;

        if (v * 16 + 15 > c.idtr_limit) {
            printf("BED-PM   idt[%#x] beyond IDTR limit\n", v);
            continue;
        }
        if (read_va(cr3, c.idtr_base + v * 16, g, sizeof(g), why, sizeof(why))) {
            printf("BED-PM   idt[%#x]: UNMAPPED (%s)\n", v, why);
            continue;
        }
        off = gate_offset(g);
        sel = gate_selector(g);
        ist = (g[0] >> 32) & 7;
        attr = (g[0] >> 40) & 0xff;
        printf("BED-PM   idt[%#x]: %016" PRIx64 " %016" PRIx64 " -> %#x:%#" PRIx64
               " ist %u attr %#x (%s)\n", v, g[0], g[1], sel, off, ist, attr, why);
        if (i == 0)
            show_desc(cr3, &c, sel, "gate cs");
        if (read_va(cr3, off, tss, 8, why, sizeof(why)))
            printf("BED-PM   handler %#" PRIx64 ": UNMAPPED (%s)\n", off, why);
    }
    show_lapic(vcpu, c.tsc);
    show_idt_scan(cr3, &c);
    show_desc(cr3, &c, c.tr_sel, "tr");
    if (read_va(cr3, c.tr_base, tss, sizeof(tss), why, sizeof(why))) {
        printf("BED-PM   tss at %#" PRIx64 ": UNMAPPED (%s)\n", c.tr_base, why);
    } else {
        uint64_t q[8];

        /* 64-bit TSS: RSP0 at 4, IST1 at 36. */
        memcpy(&q[0], tss + 4, 8);
        for (int k = 0; k < 4; k++)
            memcpy(&q[1 + k], tss + 36 + 8 * k, 8);
        show_stack(cr3, "rsp0", q[0]);
        for (int k = 0; k < 4; k++) {
            char name[8];

            snprintf(name, sizeof(name), "ist%d", k + 1);
            show_stack(cr3, name, q[1 + k]);
        }
    }
    if (read_va(cr3, c.rsp - 8, tss, 8, why, sizeof(why)))
        printf("BED-PM   current stack %#" PRIx64 ": UNMAPPED (%s)\n", c.rsp, why);
}

int main(int argc, char **argv)
{
    unsigned int vecs[16] = { 0x2, 0x8, 0xd, 0xe };
    unsigned int nvec = 4, nr = 1;
    char *end;

    if (argc < 2) {
        fprintf(stderr, "usage: bed-postmortem DOMID [NR_VCPUS] [VECTOR...]\n");
        return 2;
    }
    domid = strtoul(argv[1], &end, 0);
    if (*end || !*argv[1] || domid >= DOMID_FIRST_RESERVED) {
        fprintf(stderr, "bed-postmortem: bad domid '%s'\n", argv[1]);
        return 2;
    }
    if (argc > 2)
        nr = strtoul(argv[2], NULL, 0);
    if (nr < 1 || nr > 64)
        nr = 1;
    for (int i = 3; i < argc && nvec < 16; i++)
        vecs[nvec++] = strtoul(argv[i], NULL, 0) & 0xff;
    xch = xc_interface_open(NULL, NULL, 0);
    if (!xch) {
        fprintf(stderr, "bed-postmortem: xc_interface_open: %s\n", strerror(errno));
        return 1;
    }
    for (unsigned int v = 0; v < nr; v++)
        show_vcpu(v, vecs, nvec);
    xc_interface_close(xch);
    return 0;
}
