/*
 * #GP(0) that the hardware should have raised as #SS(0).
 *
 * A memory access at a non-canonical address is #SS(0) when it goes
 * through the stack (SDM vol. 3 6.15 "#SS"; AMD APM vol. 2 8.2.13: the
 * base register rSP or rBP, or an implicit stack reference), #GP(0)
 * otherwise. QEMU's TCG raises #GP(0) for all of them, and Xen passes
 * the hardware's vector through, so a PV guest would see #GP where real
 * hardware (and Xen on it) gives #SS. The shim reads the faulting
 * instruction and, for a stack-relative operand whose linear address is
 * non-canonical, delivers #SS(0) instead. Any segment override other
 * than FS/GS adds nothing in long mode, so "with or without an
 * override" the base register decides (AMD's rule; an explicit %ss
 * override on another base stays #GP). Anything not decoded stays #GP.
 */
#include <minishim/pv_emul.h>
#include <minishim/pv_guest_access.h>
#include <minishim/x86.h>

/* One-byte opcodes with a ModRM byte (64-bit mode). */
static bool has_modrm_1(uint8_t op)
{
    if (op < 0x40)
        return (op & 7) < 4;                    /* ALU r/m forms */
    switch (op) {
    case 0x63: case 0x69: case 0x6b:
    case 0xc0: case 0xc1: case 0xc6: case 0xc7:
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:
    case 0xf6: case 0xf7: case 0xfe: case 0xff:
        return true;
    default:
        return (op >= 0x80 && op <= 0x8f && op != 0x8d) ||   /* lea: no access */
               (op >= 0xd8 && op <= 0xdf);                  /* x87 */
    }
}

/* Two-byte (0F xx) opcodes without a ModRM byte. */
static bool no_modrm_0f(uint8_t op)
{
    return (op >= 0x05 && op <= 0x0b) || (op >= 0x30 && op <= 0x37) ||
           op == 0x77 || (op >= 0x80 && op <= 0x8f) ||
           (op >= 0xa0 && op <= 0xa2) || (op >= 0xa8 && op <= 0xaa) ||
           op >= 0xc8;
}

/* One-byte opcodes that reference the stack implicitly. */
static bool implicit_stack_1(uint8_t op, uint8_t modrm_reg)
{
    if (op >= 0x50 && op <= 0x5f)               /* push/pop reg */
        return true;
    switch (op) {
    case 0x68: case 0x6a:                       /* push imm */
    case 0x9c: case 0x9d:                       /* pushf/popf */
    case 0xc2: case 0xc3: case 0xca: case 0xcb: /* ret, lret */
    case 0xc8: case 0xc9:                       /* enter, leave */
    case 0xcf: case 0xe8:                       /* iret, call */
        return true;
    case 0x8f:                                  /* pop r/m */
        return modrm_reg == 0;
    case 0xff:                                  /* call, lcall, push r/m */
        return modrm_reg == 2 || modrm_reg == 3 || modrm_reg == 6;
    default:
        return false;
    }
}

bool pv_gp_is_stack_fault(struct vcpu *v, struct cpu_regs *regs)
{
    uint8_t insn[15];
    unsigned int len, p = 0, rex = 0, seg = 0, mod, reg, rm, base = 16;
    bool twobyte = false, threebyte = false, implicit = false, addr32 = false;
    uint64_t ea = 0, rsp = regs->rsp;
    uint8_t op;

    for (len = sizeof(insn); len; len--)
        if (!copy_from_guest(insn, regs->rip, len))
            break;
    /* Legacy prefixes, then REX (last before the opcode). */
    for (; p < len; p++) {
        uint8_t b = insn[p];

        if (b == 0x64 || b == 0x65)
            seg = b;
        else if (b == 0x67)
            addr32 = true;
        else if (!(b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x66 ||
                   b == 0xf0 || b == 0xf2 || b == 0xf3))
            break;
    }
    if (p < len && (insn[p] & 0xf0) == 0x40)
        rex = insn[p++];
    if (p >= len)
        return false;
    op = insn[p++];
    if (op == 0x0f) {
        if (p >= len)
            return false;
        twobyte = true;
        op = insn[p++];
        if (op == 0x38 || op == 0x3a) {
            threebyte = true;
            if (p >= len)
                return false;
            p++;
        }
    }
    if (twobyte && !threebyte && (op == 0xa0 || op == 0xa1 || op == 0xa8 || op == 0xa9))
        implicit = true;                        /* push/pop %fs/%gs */
    if (twobyte ? (!threebyte && no_modrm_0f(op)) : !has_modrm_1(op)) {
        if (!twobyte)
            implicit = implicit_stack_1(op, 0);
        /* leave reads at %rbp; everything else at or below %rsp. */
        if (!twobyte && op == 0xc9)
            rsp = regs->rbp;
        return implicit && (!is_canonical(rsp) || !is_canonical(rsp - 8));
    }
    if (p >= len)
        return false;
    mod = insn[p] >> 6;
    reg = (insn[p] >> 3) & 7;
    rm = insn[p] & 7;
    p++;
    if (!twobyte && implicit_stack_1(op, reg) && (!is_canonical(rsp) || !is_canonical(rsp - 8)))
        return true;
    if (mod == 3)
        return false;                           /* register operand */
    if (rm == 4) {                              /* SIB */
        unsigned int idx, sbase, scale;

        if (p >= len)
            return false;
        scale = insn[p] >> 6;
        idx = ((insn[p] >> 3) & 7) | ((rex & 2) ? 8 : 0);
        sbase = (insn[p] & 7) | ((rex & 1) ? 8 : 0);
        p++;
        if (idx != 4)
            ea += *regs_gpr(regs, idx) << scale;
        if ((sbase & 7) == 5 && mod == 0) {
            if (p + 4 > len)
                return false;
            ea += (uint64_t)(int64_t)(int32_t)(insn[p] | insn[p + 1] << 8 |
                                               insn[p + 2] << 16 | (uint32_t)insn[p + 3] << 24);
            p += 4;
        } else {
            base = sbase;
        }
    } else if (rm == 5 && mod == 0) {
        return false;                           /* rip-relative */
    } else {
        base = rm | ((rex & 1) ? 8 : 0);
    }
    if (mod == 1) {
        if (p + 1 > len)
            return false;
        ea += (uint64_t)(int64_t)(int8_t)insn[p];
    } else if (mod == 2) {
        if (p + 4 > len)
            return false;
        ea += (uint64_t)(int64_t)(int32_t)(insn[p] | insn[p + 1] << 8 |
                                           insn[p + 2] << 16 | (uint32_t)insn[p + 3] << 24);
    }
    /* Only %rsp (4) and %rbp (5) make it a stack reference; r12/r13 do not. */
    if (base != 4 && base != 5)
        return false;
    ea += *regs_gpr(regs, base);
    if (addr32)
        ea = (uint32_t)ea;
    if (seg == 0x64)
        ea += v->fs_base;
    else if (seg == 0x65)
        ea += v->kernel_mode ? v->gs_base_kernel : v->gs_base_user;
    return !is_canonical(ea);
}
