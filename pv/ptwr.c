/*
 * Writable page tables: decode the guest kernel's store into a read-only
 * mapped L1 page and apply it through the PV MMU (see
 * include/minishim/pv_ptwr.h; Xen 4.17 xen/arch/x86/pv/ro-page-fault.c and
 * the fixup_page_fault() conditions in xen/arch/x86/traps.c).
 */
#include <string.h>
#include <minishim/pv.h>
#include <minishim/pv_guest_access.h>
#include <minishim/pv_mm.h>
#include <minishim/pv_ptwr.h>
#include <minishim/x86.h>

#define FL_ARITH (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF | EFLAGS_OF)

#define MAX_INSN 15

/* ------------------------------------------------------------ decoder --- */

/* Length of ModRM (+ SIB + displacement) at p; memory operands only. */
static int modrm_len(const uint8_t *p, size_t n)
{
    unsigned int mod, rm, len = 1;

    if (n < 1)
        return -1;
    mod = p[0] >> 6;
    rm = p[0] & 7;
    if (mod == 3)
        return -1;                      /* register operand: no store */
    if (rm == 4) {                      /* SIB */
        if (n < 2)
            return -1;
        len++;
        if (mod == 0 && (p[1] & 7) == 5)
            len += 4;                   /* no base: disp32 */
    } else if (mod == 0 && rm == 5) {
        len += 4;                       /* RIP-relative disp32 */
    }
    if (mod == 1)
        len += 1;
    else if (mod == 2)
        len += 4;
    return (size_t)len <= n ? (int)len : -1;
}

static uint64_t read_imm(const uint8_t *p, unsigned int size)
{
    uint64_t v = 0;

    memcpy(&v, p, size);
    return v;
}

static uint64_t sext(uint64_t v, unsigned int bytes)
{
    unsigned int s = 64 - bytes * 8;

    return bytes >= 8 ? v : (uint64_t)((int64_t)(v << s) >> s);
}

int pv_ptwr_decode(const uint8_t *insn, size_t n, struct pv_ptwr_insn *d)
{
    unsigned int i = 0, rex = 0, opsize = 4, imm_size = 0, reg, sub;
    bool twobyte = false, byte_op = false;
    uint8_t op;
    int ml;

    memset(d, 0, sizeof(*d));
    if (n > MAX_INSN)
        n = MAX_INSN;
    /* Legacy prefixes (any order), then at most one REX right before the
     * opcode. */
    for (;; i++) {
        if (i >= n)
            return -1;
        switch (insn[i]) {
        case 0xf0:                      /* lock */
        case 0x2e: case 0x36: case 0x3e: case 0x26:
        case 0x64: case 0x65:           /* segment: the address is CR2 */
            continue;
        case 0x66:
            opsize = 2;
            continue;
        default:
            break;
        }
        break;
    }
    if ((insn[i] & 0xf0) == 0x40) {
        rex = insn[i++];
        if (rex & 8)
            opsize = 8;
    }
    if (i >= n)
        return -1;
    op = insn[i++];
    if (op == 0x0f) {
        if (i >= n)
            return -1;
        twobyte = true;
        op = insn[i++];
    }
    if (i >= n)
        return -1;
    reg = ((insn[i] >> 3) & 7) | ((rex & 4) ? 8 : 0);
    sub = (insn[i] >> 3) & 7;
    d->src_reg = true;

    if (!twobyte) {
        switch (op) {
        case 0x88: d->op = PTWR_MOV; byte_op = true; break;
        case 0x89: d->op = PTWR_MOV; break;
        case 0x86: d->op = PTWR_XCHG; byte_op = true; break;
        case 0x87: d->op = PTWR_XCHG; break;
        case 0x08: d->op = PTWR_OR; byte_op = true; break;
        case 0x09: d->op = PTWR_OR; break;
        case 0x20: d->op = PTWR_AND; byte_op = true; break;
        case 0x21: d->op = PTWR_AND; break;
        case 0xc6: case 0xc7:
            if (sub != 0)
                return -1;
            d->op = PTWR_MOV;
            d->src_reg = false;
            byte_op = op == 0xc6;
            imm_size = byte_op ? 1 : (opsize == 2 ? 2 : 4);
            break;
        case 0x80: case 0x81: case 0x83:
            if (sub != 1 && sub != 4)
                return -1;
            d->op = sub == 1 ? PTWR_OR : PTWR_AND;
            d->src_reg = false;
            byte_op = op == 0x80;
            imm_size = op == 0x81 ? (opsize == 2 ? 2 : 4) : 1;
            break;
        default:
            return -1;
        }
    } else {
        switch (op) {
        case 0xb0: d->op = PTWR_CMPXCHG; byte_op = true; break;
        case 0xb1: d->op = PTWR_CMPXCHG; break;
        case 0xab: d->op = PTWR_BTS; break;
        case 0xb3: d->op = PTWR_BTR; break;
        case 0xba:
            if (sub != 5 && sub != 6)
                return -1;
            d->op = sub == 5 ? PTWR_BTS : PTWR_BTR;
            d->src_reg = false;
            imm_size = 1;
            break;
        default:
            return -1;
        }
    }
    /* Byte registers 4-7 without REX are AH..BH: not supported. */
    if (byte_op && d->src_reg && !rex && (reg & 4))
        return -1;
    d->bytes = byte_op ? 1 : opsize;
    d->reg = reg;
    ml = modrm_len(insn + i, n - i);
    if (ml < 0)
        return -1;
    i += (unsigned int)ml;
    if (imm_size) {
        if (i + imm_size > n)
            return -1;
        d->imm = read_imm(insn + i, imm_size);
        /* Immediates are sign-extended to the operand size, except a
         * bit offset (0f ba: an unsigned imm8). */
        if (d->op != PTWR_BTS && d->op != PTWR_BTR)
            d->imm = sext(d->imm, imm_size);
        i += imm_size;
    }
    d->len = i;
    return 0;
}

/* ---------------------------------------------------------- emulation --- */

static uint64_t width_mask(unsigned int bytes)
{
    return bytes >= 8 ? ~0ULL : (1ULL << (bytes * 8)) - 1;
}

/* Register write of 'bytes': 4 zero-extends, 1 and 2 merge (SDM 3.4.1.1). */
static void set_reg(uint64_t *r, uint64_t v, unsigned int bytes)
{
    if (bytes == 4 || bytes == 8)
        *r = v & width_mask(bytes);
    else
        *r = (*r & ~width_mask(bytes)) | (v & width_mask(bytes));
}

static uint64_t parity_zf_sf(uint64_t res, unsigned int bytes)
{
    uint64_t f = 0;

    res &= width_mask(bytes);
    if (!res)
        f |= EFLAGS_ZF;
    if (res >> (bytes * 8 - 1))
        f |= EFLAGS_SF;
    if (!(__builtin_popcountll(res & 0xff) & 1))
        f |= EFLAGS_PF;
    return f;
}

struct ptwr_ctx {
    const struct pv_ptwr_insn *d;
    uint64_t src;           /* register or immediate value, width-masked */
    uint64_t cmp;           /* cmpxchg: the accumulator */
    unsigned int bit;       /* bts/btr */
};

static bool ptwr_op(void *p, uint64_t old, uint64_t *nv)
{
    struct ptwr_ctx *c = p;

    switch (c->d->op) {
    case PTWR_MOV:
    case PTWR_XCHG:    *nv = c->src; return true;
    case PTWR_CMPXCHG: *nv = c->src; return old == c->cmp;
    case PTWR_OR:      *nv = old | c->src; return true;
    case PTWR_AND:     *nv = old & c->src; return true;
    case PTWR_BTS:     *nv = old | (1ULL << c->bit); return true;
    case PTWR_BTR:     *nv = old & ~(1ULL << c->bit); return true;
    }
    return false;
}

bool pv_ptwr_fault(struct cpu_regs *regs, uint64_t cr2, uint32_t ec, bool kernel_mode)
{
    uint8_t insn[MAX_INSN];
    struct pv_ptwr_insn d;
    struct ptwr_ctx c = { .d = &d };
    uint64_t old = 0, m, fl;
    size_t n;

    /* Xen fixup_page_fault(): guest kernel mode, a write, neither a
     * reserved-bit nor an instruction-fetch fault, writable_pagetables
     * enabled, the page present (an access-rights fault). */
    if (!kernel_mode || (ec & (PFEC_RSVD | PFEC_INSN)) ||
        (ec & (PFEC_PRESENT | PFEC_WRITE)) != (PFEC_PRESENT | PFEC_WRITE) ||
        !(pv_dom.vm_assist & (1UL << VMASST_TYPE_writable_pagetables)))
        return false;
    /* Fetch up to 15 bytes; the instruction may end before an unmapped
     * page, so take what is readable. */
    for (n = 0; n < sizeof(insn); n++)
        if (copy_from_guest(&insn[n], regs->rip + n, 1))
            break;
    if (pv_ptwr_decode(insn, n, &d))
        return false;

    m = width_mask(d.bytes);
    c.src = (d.src_reg ? *regs_gpr(regs, d.reg) : d.imm) & m;
    c.cmp = regs->rax & m;
    if (d.op == PTWR_BTS || d.op == PTWR_BTR) {
        /* A register bit offset may address beyond the operand (SDM BT):
         * only offsets inside it are emulated. */
        if (d.src_reg && c.src >= d.bytes * 8ULL)
            return false;
        c.bit = (unsigned int)(c.src & (d.bytes * 8 - 1));
    }
    if (pv_mm_ptwr_rmw(cr2, d.bytes, ptwr_op, &c, &old))
        return false;

    fl = regs->rflags;
    switch (d.op) {
    case PTWR_MOV:
        break;
    case PTWR_XCHG:
        set_reg(regs_gpr(regs, d.reg), old, d.bytes);
        break;
    case PTWR_CMPXCHG: {
        /* Flags as CMP accumulator, old (SDM CMPXCHG). */
        uint64_t res = (c.cmp - old) & m;
        uint64_t sign = 1ULL << (d.bytes * 8 - 1);

        fl &= ~FL_ARITH;
        fl |= parity_zf_sf(res, d.bytes);
        if (c.cmp < old)
            fl |= EFLAGS_CF;
        if (((c.cmp ^ old) & (c.cmp ^ res)) & sign)
            fl |= EFLAGS_OF;
        if ((c.cmp ^ old ^ res) & 0x10)
            fl |= EFLAGS_AF;
        if (old != c.cmp)
            set_reg(&regs->rax, old, d.bytes);
        break;
    }
    case PTWR_OR:
    case PTWR_AND:
        /* OF, CF cleared; SF ZF PF from the result; AF undefined (0). */
        fl &= ~FL_ARITH;
        fl |= parity_zf_sf(d.op == PTWR_OR ? old | c.src : old & c.src, d.bytes);
        break;
    case PTWR_BTS:
    case PTWR_BTR:
        fl &= ~EFLAGS_CF;
        if ((old >> c.bit) & 1)
            fl |= EFLAGS_CF;
        break;
    }
    regs->rflags = fl;
    regs->rip += d.len;
    return true;
}
