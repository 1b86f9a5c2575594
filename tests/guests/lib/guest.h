/*
 * guest.h - the API a test guest is written against.
 *
 * A guest is a directory tests/guests/<name>/ whose .c files define
 *
 *     void test_main(void);
 *
 * The runtime enters it with the trap table installed and the console
 * working; test_main() calls check() for every expectation. When it
 * returns, the runtime prints exactly one final line and shuts down:
 *
 *     RESULT <name> PASS                  every check held   (poweroff)
 *     RESULT <name> FAIL <one-line reason> a check failed    (crash)
 *     RESULT <name> SKIP <reason>          test_skip() called (poweroff)
 *
 * Each failed check is also printed on its own line starting "FAIL:".
 * The runners (tests/qemu/, tests/bed/) decide pass/fail from these lines
 * only, so keep them exact.
 */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include "types.h"
#include "hypercall.h"

/* The guest's name, from its directory (the build passes -DGUEST_NAME). */
extern const char guest_name[];
/* What the domain builder handed us in %rsi. */
extern const start_info_t *start_info;
/* Image bounds from guest.lds. */
extern char _image_start[], _image_end[];

#define EFLAGS_IF (1UL << 9)       /* RFLAGS.IF (SDM vol. 1 3.4.3) */

/* Page-table entry bits (SDM vol. 3 4.5, table 4-19). */
#define _P   0x001UL
#define _RW  0x002UL
#define _US  0x004UL
#define _PWT 0x008UL
#define _PCD 0x010UL
#define _A   0x020UL
#define _D   0x040UL
#define _PSE 0x080UL
#define _G   0x100UL
#define _NX  (1UL << 63)

/* The TSC, not executed ahead of earlier loads (lfence). */
static inline uint64_t guest_rdtsc(void)
{
    uint32_t lo, hi;

    asm volatile ("lfence; rdtsc" : "=a" (lo), "=d" (hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

/*
 * Map start_info's shared_info at the page after the boot stack (padding
 * of the initial mapping) and mask every event port, as Linux does: only
 * ports a test unmasks may raise upcalls (under Xen the console backend
 * notifies its port at any time). test_fatal() if the mapping fails.
 */
struct shared_info *guest_map_shared_info(void);
/* sysctl debug key `key` (lib/sysctl.c): minishim prints its flush
 * statistics for 'f'; Xen's shims refuse every key to a domU (-EPERM). */
long guest_debug_key(char key);

/* The xenstore rings, guest side (lib/xs_ring.c). notify tells the other
 * end; wait blocks until it may have moved, false once the caller gives
 * up (the copy then fails with test_fatal). */
struct xenstore_domain_interface;
struct xs_ring_client {
    volatile struct xenstore_domain_interface *xs;
    void (*notify)(void *ctx);
    bool (*wait)(void *ctx);
    void *ctx;
};
void xs_ring_write(const struct xs_ring_client *c, const void *data, size_t len);
void xs_ring_read(const struct xs_ring_client *c, void *data, size_t len);
/* Xen system time in ns from t (public xen.h vcpu_time_info, with its
 * odd/even version protocol). */
uint64_t guest_system_time_ns(volatile struct vcpu_time_info *t);

/* Provided by every guest. */
void test_main(void);

/* Console: every write goes to console_io(CONSOLEIO_write) and to the PV
 * console ring (see console.c for why both). */
void console_write(const char *buf, size_t len);
bool console_ring_present(void);
long console_io_status(void);   /* last CONSOLEIO_write result */
int printk(const char *fmt, ...) __printf(1, 2);
int vprintk(const char *fmt, va_list ap);

/* check(cond, fmt, ...): evaluates to cond; on false, records a failure,
 * prints "FAIL: file:line: message" and carries on. */
void check_failed(const char *file, int line, const char *fmt, ...)
    __printf(3, 4);
#define check(cond, ...) ({                                         \
        bool ok_ = !!(cond);                                        \
        if (!ok_)                                                   \
            check_failed(__FILE__, __LINE__, __VA_ARGS__);          \
        ok_;                                                        \
    })

/* Stop now: a failure the test cannot continue after. */
void __noreturn test_fatal(const char *fmt, ...) __printf(1, 2);
/* Stop now: the platform does not offer what the test needs. */
void __noreturn test_skip(const char *fmt, ...) __printf(1, 2);
/* Number of failed checks so far. */
unsigned int test_failures(void);

/* Runtime internals shared between lib files. */
void console_init(void);
void console_flush(void);
void traps_init(void);

/* The event callback (lib/event.S): register guest_event_callback with
 * set_callbacks / callback_op / a VCPUOP_initialise context; it calls
 * guest_event_hook (if set) with the frame (rip, cs, rflags, rsp, ss) on
 * whichever vCPU the upcall arrives, then returns with HYPERVISOR_iret. */
extern const char guest_event_callback[];
extern void (*guest_event_hook)(const uint64_t *frame);
/* 2-level event consumption as Linux's xen_evtchn_do_upcall: take vi's
 * upcall flag and selector (cleared; the selector is returned), then for
 * each selected word w the pending, unmasked ports (cleared; returned). */
xen_ulong_t guest_evtchn_take_sel(struct vcpu_info *vi);
xen_ulong_t guest_evtchn_take_word(struct shared_info *s, unsigned int w);

/* setjmp/longjmp for trap tests (lib/setjmp.S): guest_setjmp returns 0,
 * then 1 when guest_longjmp resumes it. */
struct jmpctx { uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip; };
int guest_setjmp(struct jmpctx *c) __attribute__((returns_twice));
void __noreturn guest_longjmp(struct jmpctx *c);

/* The MFN behind the guest page at va, from start_info's P2M (va inside
 * the image, which the builder maps from _image_start at PFN 0). */
unsigned long guest_mfn_of(const volatile void *va);

/*
 * What a one-way trap entry (frame.h pv_oneway_entry) saw: its kind, the
 * error code (~0: the vector has none), the frame Xen built, the
 * interrupted context's rax and where the frame was.
 */
struct guest_trap_seen {
    unsigned int kind;
    uint64_t ec, rip, cs, rflags, rsp, ss, rax, frame_addr;
};
void guest_trap_record(volatile struct guest_trap_seen *g, const uint64_t *frame,
                       unsigned int kind, unsigned int has_ec, uint64_t rax);
/* Clear *seen, then run the statements; a one-way entry whose handler
 * longjmps to ctx comes back here. */
#define GUEST_TRY(ctx, seen, ...) do {                                  \
        memset((void *)(seen), 0, sizeof(*(seen)));                     \
        if (guest_setjmp(ctx) == 0) {                                   \
            __VA_ARGS__;                                                \
        }                                                               \
    } while (0)

/*
 * GUEST_AP_ENTRY(entry, fn): defines the code address entry, a vCPU start
 * point (a context's rip, see guest_vcpu_ctx) that calls fn(%rdi) on the
 * context's stack; fn must not return (ud2 after it).
 */
#define GUEST_AP_ENTRY(entry, fn)                                       \
    asm(".pushsection .text\n"                                          \
        ".globl " #entry "\n"                                           \
        #entry ":\n"                                                    \
        "    call " #fn "\n"                                            \
        "    ud2\n"                                                     \
        ".popsection");                                                 \
    extern char entry[]

/* A VCPUOP_initialise context for a vCPU starting in guest kernel mode at
 * rip with stack rsp, %rdi = arg and the L4 whose MFN is l4_mfn (flat
 * kernel selectors, EFLAGS.IF set, everything else zero). */
void guest_vcpu_ctx(struct vcpu_guest_context *c, unsigned long rip,
                    unsigned long rsp, unsigned long arg, unsigned long l4_mfn);
void __noreturn guest_shutdown(unsigned int reason);

/* How many polls a guest waits for another vCPU before it gives up. */
#define GUEST_SPIN_LIMIT 400000000UL

/*
 * Start vCPUs 1..max-1, as many as the domain has (VCPUOP_is_up stops at
 * the first -ENOENT): vCPU id enters entry (GUEST_AP_ENTRY) with %rdi = id
 * on the top of stack id of the stack_size-byte stacks at stacks, on the
 * L4 l4_mfn. Then wait until each has set ran[id]. Returns how many were
 * started; every failure is a check().
 */
unsigned int guest_start_vcpus(unsigned int max, unsigned long entry, uint8_t *stacks,
                               unsigned long stack_size, unsigned long l4_mfn,
                               volatile unsigned long *ran);
/* Guest user mode on the kernel's own page tables (one address space,
 * enough to exercise the mode switch; Xen allows it): the kernel L4 as
 * the user base (MMUEXT_NEW_USER_BASEPTR; refused is fatal) and
 * kstack_top as the kernel stack a trap from user mode lands on
 * (stack_switch). */
void guest_user_mode_init(const void *kstack_top);
/* The body of a vCPU guest_start_vcpus started: set ran[id], run
 * work(id), then go down (VCPUOP_down), for good. */
void __noreturn guest_vcpu_run(unsigned long id, volatile unsigned long *ran,
                               void (*work)(unsigned long id));
/* Wait until vCPU id is down (VCPUOP_is_up 0); false (a check) if it
 * never goes. */
bool guest_wait_vcpu_down(unsigned int id);

/* format.c, string.c */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *haystack, const char *needle);

#endif
