/*
 * The fake arch layer: a host implementation of include/minishim/arch.h
 * that records what the logic did and lets a test play the hardware and L0.
 * Modelled on Hafnium's src/arch/fake.
 */
#ifndef FAKE_H
#define FAKE_H

#include <setjmp.h>
#include <minishim/arch.h>

/* Fake physical memory: "physical address" p is fake_mem + p. */
#define FAKE_MEM_SIZE (16u << 20)
extern uint8_t *fake_mem;

/* Reset every fake to power-on state (call from each test's init). */
void fake_reset(void);

/* CPUID: leaves not set return all zeros. */
void fake_set_cpuid(uint32_t leaf, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx);
void fake_set_cpuid_sig(uint32_t leaf, uint32_t max_leaf, const char sig[12]);

/* MSRs: last written value per MSR; a hook may react to writes. */
uint64_t fake_msr_value(uint32_t msr);
unsigned int fake_msr_writes(uint32_t msr);
extern void (*fake_wrmsr_hook)(uint32_t msr, uint64_t val);

/* Ports: inb returns fake_port_in[port] (default 0xff); outb is logged. */
extern uint8_t fake_port_in[65536];
struct fake_port_write { uint16_t port; uint8_t val; };
#define FAKE_PORT_LOG 65536
extern struct fake_port_write fake_port_log[FAKE_PORT_LOG];
extern unsigned int fake_nr_port_writes;
/* Bytes written to one port, as a NUL-terminated string. */
const char *fake_port_output(uint16_t port);

/* Xen hypercalls: the handler plays L0 (default: -ENOSYS). */
typedef long (*fake_hypercall_fn)(unsigned int nr, unsigned long a1,
                                  unsigned long a2, unsigned long a3,
                                  unsigned long a4, unsigned long a5);
extern fake_hypercall_fn fake_hypercall_handler;
extern unsigned int fake_nr_hypercalls;
extern const void *fake_last_hypercall_page;

/* arch_halt_forever() longjmps here when set (else the test aborts). */
extern jmp_buf *fake_halt_jmp;
extern unsigned int fake_nr_halts;

/* TLB and IRQ state. */
extern unsigned int fake_nr_local_flushes, fake_nr_invlpg;
extern bool fake_irqs_on;

/* The CPU the logic believes it runs on (arch_cpu_id). */
extern unsigned int fake_cpu_id;

#endif
