/*
 * Port I/O from the PV guest (Xen 4.17 xen/arch/x86/pv/emul-priv-op.c).
 *
 * The guest kernel and guest user both run in ring 3 with EFLAGS.IOPL 0
 * and the shim's TSS has no I/O bitmap, so every in/out/ins/outs faults
 * with #GP(0). The shim decodes the instruction (prefixes, REX, the I/O
 * opcodes only; anything else is not ours) and applies Xen's rules:
 *
 * - Permission (guest_io_okay): the virtual IOPL from PHYSDEVOP_set_iopl
 *   against the guest's ring (guest kernel counts as ring 1, or ring 0
 *   with VMASST_TYPE_architectural_iopl; guest user as ring 3); failing
 *   that, the PHYSDEVOP_set_iobitmap bitmap, read from guest kernel
 *   memory (unreadable bytes deny). Not permitted: #GP(0), rip unchanged.
 * - A permitted access by a domU without I/O capabilities never reaches a
 *   port (admin_io_okay is false: the shim's guest owns no ports). As
 *   Xen's guest_io_read/guest_io_write do then, byte by byte: port 0x70
 *   (RTC index) is a per-domain latch, a 32-bit access to 0xcf8 (PCI
 *   CONFIG_ADDRESS) is a per-domain latch, everything else reads all-ones
 *   and drops writes. (Xen sends 0x42/0x43/0x61 to its emulated PIT; the
 *   shim has none: all-ones / dropped.)
 * - ins/outs: ES:rDI / seg:rSI (FS/GS overrides use the live bases),
 *   32-bit address size with 0x67, DF direction, rep with rCX. A start
 *   address outside the guest range is #GP(0); a fault copying the data
 *   is #PF (W for ins) at the byte that faulted. Long rep runs go in
 *   batches: rip stays on the instruction until rCX reaches 0, so events
 *   are delivered in between (Xen breaks on hypercall_preempt_check()).
 */
#include <string.h>
#include <minishim/arch.h>
#include <minishim/pv_emul.h>
#include <minishim/pv_guest_access.h>
#include <minishim/x86.h>

#define MAX_INSN_LEN 15
#define RTC_INDEX_PORT 0x70
#define PCI_CF8_PORT 0xcf8

/* Domain-wide latches (Xen: d->arch.cmos_idx, d->arch.pci_cf8). */
static uint8_t cmos_idx;
static uint32_t pci_cf8;

void pv_emul_io_reset(void)
{
    cmos_idx = 0;
    pci_cf8 = 0;
}

/* Xen iopl_ok(): IOPL(cpl) <= the virtual IOPL. */
static bool iopl_ok(const struct vcpu *v)
{
    unsigned int cpl = v->kernel_mode ?
        ((pv_dom.vm_assist & (1UL << VMASST_TYPE_architectural_iopl)) ? 0 : 1) : 3;

    return cpl <= v->iopl;
}

/* Xen guest_io_okay(). */
static bool guest_io_okay(struct vcpu *v, unsigned int port, unsigned int bytes)
{
    uint8_t b[2] = { 0xff, 0xff };
    uint16_t mask;

    if (iopl_ok(v))
        return true;
    if (port + bytes > v->iobmp_limit)
        return false;
    /* The bitmap is a guest-kernel address: read it through the kernel
     * page tables also when guest user faulted (Xen toggle_guest_pt). */
    if (!v->kernel_mode)
        arch_write_cr3(pv_kernel_cr3(v));
    if (copy_from_guest(&b[0], v->iobmp + (port >> 3), 1) == 0)
        (void)copy_from_guest(&b[1], v->iobmp + (port >> 3) + 1, 1);
    else
        b[1] = 0xff;
    if (!v->kernel_mode)
        arch_write_cr3(pv_user_cr3(v));
    mask = (uint16_t)(b[0] | (b[1] << 8));
    return (mask & (((1u << bytes) - 1) << (port & 7))) == 0;
}

/* Xen guest_io_read() for a domain without I/O port access. */
static uint32_t io_read(unsigned int port, unsigned int bytes)
{
    uint32_t data = 0;
    unsigned int shift = 0;

    if (port == PCI_CF8_PORT && bytes == 4)
        return pci_cf8;
    while (bytes) {
        uint32_t sub = 0xff;

        if (port == RTC_INDEX_PORT)
            sub = cmos_idx;
        data |= sub << shift;
        shift += 8;
        port = (port + 1) & 0xffff;
        bytes--;
    }
    return data;
}

/* Xen guest_io_write() for a domain without I/O port access. */
static void io_write(unsigned int port, unsigned int bytes, uint32_t data)
{
    if (port == PCI_CF8_PORT && bytes == 4) {
        pci_cf8 = data;
        return;
    }
    while (bytes) {
        if (port == RTC_INDEX_PORT)
            cmos_idx = (uint8_t)data;
        port = (port + 1) & 0xffff;
        bytes--;
        data >>= 8;
    }
}

struct io_insn {
    unsigned int len;           /* bytes, prefixes included */
    uint8_t opcode;
    uint8_t seg;                /* override prefix byte, 0: none */
    bool opsize16, addr32, rep;
    uint8_t imm8;
};

/*
 * Decode the instruction at rip: legacy prefixes, an optional REX right
 * before the opcode, then one of the I/O opcodes. Anything else (or an
 * unreadable / over-long instruction) is not ours.
 */
static bool decode_io(uint64_t rip, struct io_insn *d)
{
    uint8_t b;

    memset(d, 0, sizeof(*d));
    for (;;) {
        if (d->len >= MAX_INSN_LEN || copy_from_guest(&b, rip + d->len, 1))
            return false;
        d->len++;
        switch (b) {
        case 0x66: d->opsize16 = true; continue;
        case 0x67: d->addr32 = true; continue;
        case 0xf2: case 0xf3: d->rep = true; continue;
        case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
            d->seg = b;
            continue;
        case 0xf0:
            return false;       /* lock: #UD on hardware, never #GP */
        default:
            break;
        }
        if ((b & 0xf0) == 0x40) {
            /* REX: only valid right before the opcode; W does not widen
             * port I/O beyond 32 bits. */
            if (d->len >= MAX_INSN_LEN || copy_from_guest(&b, rip + d->len, 1))
                return false;
            d->len++;
        }
        break;
    }
    switch (b) {
    case 0xe4: case 0xe5: case 0xe6: case 0xe7:
        if (d->len >= MAX_INSN_LEN || copy_from_guest(&d->imm8, rip + d->len, 1))
            return false;
        d->len++;
        break;
    case 0xec: case 0xed: case 0xee: case 0xef:
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:
        break;
    default:
        return false;
    }
    d->opcode = b;
    return true;
}

static uint64_t seg_base(uint8_t seg)
{
    /* 64-bit mode: only FS and GS have a base. */
    if (seg == 0x64)
        return arch_rdmsr(MSR_FS_BASE);
    if (seg == 0x65)
        return arch_rdmsr(MSR_GS_BASE);
    return 0;
}

static void set_fault(struct pv_emul_fault *f, unsigned int vector, uint32_t ec,
                      uint64_t cr2)
{
    f->vector = vector;
    f->ec = ec;
    f->cr2 = cr2;
}

/* One string element: 0, or the fault to deliver. */
static int string_access(uint64_t addr, void *buf, unsigned int bytes, bool write,
                         struct pv_emul_fault *f)
{
    size_t left;

    /* Xen pv_emul_virt_to_linear(): !__addr_ok(start) is #GP(0). */
    if (!guest_access_ok(addr, 1)) {
        set_fault(f, X86_EXC_GP, 0, 0);
        return -1;
    }
    if (!guest_access_ok(addr, bytes)) {
        set_fault(f, X86_EXC_PF, write ? 2 : 0, addr);
        return -1;
    }
    left = write ? arch_copy_to_guest(addr, buf, bytes)
                 : arch_copy_from_guest(buf, addr, bytes);
    if (left) {
        set_fault(f, X86_EXC_PF, write ? 2 : 0, addr + bytes - left);
        return -1;
    }
    return 0;
}

enum pv_emul_rc pv_emulate_io(struct vcpu *v, struct cpu_regs *regs,
                              struct pv_emul_fault *fault)
{
    struct io_insn d;
    unsigned int bytes, port;
    bool string, in;

    if (!decode_io(regs->rip, &d))
        return PV_EMUL_NONE;
    bytes = (d.opcode & 1) ? (d.opsize16 ? 2 : 4) : 1;
    port = (d.opcode & 0x08) || (d.opcode & 0xf0) == 0x60
           ? (uint16_t)regs->rdx : d.imm8;
    string = (d.opcode & 0xf0) == 0x60;
    in = string ? d.opcode < 0x6e : !(d.opcode & 2);

    if (!guest_io_okay(v, port, bytes))
        return PV_EMUL_NONE;

    if (!string) {
        if (in) {
            uint32_t val = io_read(port, bytes);

            if (bytes == 4)
                regs->rax = val;        /* 32-bit result zero-extends */
            else if (bytes == 2)
                regs->rax = (regs->rax & ~0xffffUL) | val;
            else
                regs->rax = (regs->rax & ~0xffUL) | val;
        } else {
            io_write(port, bytes, (uint32_t)regs->rax &
                     (bytes == 4 ? 0xffffffffu : (1u << (bytes * 8)) - 1));
        }
        regs->rip += d.len;
        return PV_EMUL_DONE;
    }

    /* ins / outs, possibly rep. */
    {
        uint64_t *ptr = in ? &regs->rdi : &regs->rsi;
        uint64_t base = in ? 0 : seg_base(d.seg);   /* ins: ES, no override */
        uint64_t count = d.rep ? (d.addr32 ? (uint32_t)regs->rcx : regs->rcx) : 1;
        unsigned int n;

        for (n = 0; count && n < PV_EMUL_REP_BATCH; n++) {
            uint64_t off = d.addr32 ? (uint32_t)*ptr : *ptr;
            uint64_t step = (regs->rflags & EFLAGS_DF) ? -(uint64_t)bytes : bytes;
            uint32_t data = 0;

            if (in) {
                data = io_read(port, bytes);
                if (string_access(base + off, &data, bytes, true, fault))
                    return PV_EMUL_FAULT;
            } else {
                if (string_access(base + off, &data, bytes, false, fault))
                    return PV_EMUL_FAULT;
                io_write(port, bytes, data);
            }
            *ptr = d.addr32 ? (uint32_t)(off + step) : off + step;
            count--;
            if (d.rep)
                regs->rcx = d.addr32 ? (uint32_t)count : count;
        }
        if (!count)
            regs->rip += d.len;
    }
    return PV_EMUL_DONE;
}
