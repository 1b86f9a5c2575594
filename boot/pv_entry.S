/*
 * Guest entry and exit for the PV guest (64-bit PV ABI: the guest kernel
 * and guest user both run in ring 3).
 *
 * SYSCALL: each CPU's LSTAR (and CSTAR) points at its own stub below. The
 * stub saves the guest %rsp in the CPU's slot, switches to the CPU's shim
 * stack (the same top TSS.RSP0 names) and builds the frame an exception
 * from ring 3 would have built (ss, rsp, rflags=%r11, cs, rip=%rcx, error
 * code 0, vector PV_VEC_SYSCALL), then joins trap_common, so hypercalls and
 * exceptions reach the guest-facing layer through one path (trap_entry ->
 * trap_handle -> the registered guest handler) and leave through
 * trap_return's iretq with whatever registers the handler left.
 */
#define NR_CPUS          64         /* include/minishim/cpumask.h */
#define SLOT_SIZE        16         /* struct syscall_slot         */
#define FLAT_RING3_SS64  0xe02b     /* xen-x86_64.h                */
#define FLAT_RING3_CS64  0xe033
#define FLAT_RING3_CS32  0xe023
#define PV_VEC_SYSCALL   0x100      /* include/minishim/pv.h       */
#define PV_VEC_SYSCALL32 0x101
#define CPU_REGS_SIZE    (22 * 8)   /* struct cpu_regs             */
#define STACK_SIZE       (32 * 1024) /* include/minishim/percpu.h  */
#define STACK_TOP_SIZE   16         /* struct stack_top            */

        .text
        .altmacro
        .macro syscall_stub n, cs, vec
        .p2align 6
        mov     %rsp, syscall_slots + \n * SLOT_SIZE(%rip)
        mov     syscall_slots + \n * SLOT_SIZE + 8(%rip), %rsp
        pushq   $FLAT_RING3_SS64
        pushq   syscall_slots + \n * SLOT_SIZE(%rip)
        push    %r11
        pushq   $\cs
        push    %rcx
        pushq   $0
        pushq   $\vec
        jmp     trap_common
        .endm

        .p2align 6
        .globl syscall_stubs
syscall_stubs:
        .set i, 0
        .rept NR_CPUS
        syscall_stub %i, FLAT_RING3_CS64, PV_VEC_SYSCALL
        .set i, i + 1
        .endr

        .globl syscall32_stubs
syscall32_stubs:
        .set i, 0
        .rept NR_CPUS
        syscall_stub %i, FLAT_RING3_CS32, PV_VEC_SYSCALL32
        .set i, i + 1
        .endr

/*
 * void pv_enter(const struct cpu_regs *regs): copy regs to the top of this
 * CPU's shim stack (where a trap from ring 3 would have put them) and leave
 * through trap_return. Never returns; the caller's frames are abandoned.
 */
        .globl pv_enter
pv_enter:
        cli
        mov     %rsp, %rax
        or      $(STACK_SIZE - 1), %rax
        sub     $(STACK_TOP_SIZE + CPU_REGS_SIZE - 1), %rax
        mov     %rdi, %rsi
        mov     %rax, %rdi
        mov     $(CPU_REGS_SIZE / 8), %ecx
        cld
        rep movsq
        mov     %rax, %rsp
        jmp     trap_return

        .section .bss
        .p2align 4
        .globl syscall_slots
syscall_slots:                      /* { guest rsp, shim stack top } per CPU */
        .skip NR_CPUS * SLOT_SIZE

        .section .note.GNU-stack, "", @progbits
