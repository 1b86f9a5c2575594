/*
 * The shim's clock (TSC calibration, Xen system time, wallclock) and the
 * per-CPU one-shot timer on the local APIC. Contract and sources of truth:
 * include/minishim/timer.h.
 */
#include <string.h>
#include <minishim/apic.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/l0.h>
#include <minishim/page_alloc.h>
#include <minishim/percpu.h>
#include <minishim/timer.h>
#include <minishim/trap.h>

/* ------------------------------------------------------------- clock --- */

static struct time_scale tsc_scale;
static uint64_t tsc_khz;
static uint64_t boot_tsc;           /* TSC at system time 0 */
static const char *tsc_source = "none";
static bool wc_valid;
static uint64_t wc_sec0;            /* wall time at system time 0 */
static uint32_t wc_nsec0;
static const char *wc_source = "none";

uint64_t clock_now_ns(void)
{
    /* Before calibration: a 1 GHz TSC, still monotonic (deadlines in the
     * unit tests' fake arch, and anything that runs before clock_init). */
    if (!tsc_scale.mul_frac)
        return arch_rdtsc();
    return time_scale_delta(arch_rdtsc() - boot_tsc, &tsc_scale);
}

uint64_t clock_tsc_khz(void)
{
    return tsc_khz;
}

const char *clock_source(void)
{
    return tsc_source;
}

void clock_stamp(uint64_t *tsc, uint64_t *stime, struct time_scale *ts)
{
    *tsc = boot_tsc;
    *stime = 0;
    *ts = tsc_scale;
}

bool clock_wallclock(uint64_t *sec, uint32_t *nsec)
{
    if (!wc_valid)
        return false;
    *sec = wc_sec0;
    *nsec = wc_nsec0;
    return true;
}

/* Xen L0: CPUID leaf base+3 subleaf 0, ECX = the domain's TSC kHz
 * (xen/arch/x86/traps.c cpuid_hypervisor_leaves, "time leaf"). */
static uint64_t khz_from_xen(void)
{
    const struct l0_detect *d = l0_detected();
    struct cpuid_regs r;

    if (!d || !d->xen)
        return 0;
    arch_cpuid(d->xen_base, 0, &r);
    if (r.eax < d->xen_base + 3)
        return 0;
    arch_cpuid(d->xen_base + 3, 0, &r);
    return r.ecx;
}

/* SDM vol. 2 CPUID 15h (TSC = crystal * EBX / EAX) and 16h (base MHz). */
static uint64_t khz_from_cpuid(const char **src)
{
    struct cpuid_regs r, l;

    arch_cpuid(0, 0, &r);
    if (r.eax >= 0x15) {
        arch_cpuid(0x15, 0, &l);
        if (l.eax && l.ebx && l.ecx) {
            *src = "cpuid-15h";
            return (uint64_t)l.ecx * l.ebx / l.eax / 1000;
        }
    }
    if (r.eax >= 0x16) {
        arch_cpuid(0x16, 0, &l);
        if (l.eax & 0xffff) {
            *src = "cpuid-16h";
            return (uint64_t)(l.eax & 0xffff) * 1000;
        }
    }
    return 0;
}

/*
 * Measure the TSC against PIT channel 2 (8254: 1.193182 MHz, port 0x43
 * control, 0x42 data, gate = port 0x61 bit 0, speaker off = bit 1 clear).
 * Each sample latches the count between two TSC reads and keeps the pair
 * with the tightest bracket, so a shim CPU that is descheduled (QEMU TCG
 * on a busy host) while it waits does not skew the result: only the two
 * samples' own accuracy matters, not how long the wait took.
 */
#define PIT_HZ          1193182ULL
#define PIT_CAL_TICKS   40000u          /* ~33 ms */

static uint64_t median3(uint64_t a, uint64_t b, uint64_t c)
{
    if (a > b) { uint64_t t = a; a = b; b = t; }
    if (b > c) { uint64_t t = b; b = c; c = t; }
    return a > b ? a : b;
}

static uint16_t pit_latch_read(void)
{
    uint8_t lo, hi;

    arch_outb(0x43, 0x80);      /* counter latch, channel 2 */
    lo = arch_inb(0x42);
    hi = arch_inb(0x42);
    return (uint16_t)(lo | (hi << 8));
}

static void pit_sample(uint64_t *tsc, uint16_t *count)
{
    uint64_t best = ~0ULL;

    for (unsigned int i = 0; i < 8; i++) {
        uint64_t a = arch_rdtsc(), b;
        uint16_t c = pit_latch_read();

        b = arch_rdtsc();
        if (b - a < best) {
            best = b - a;
            *tsc = a + (b - a) / 2;
            *count = c;
        }
    }
}

static uint64_t khz_from_pit_once(void)
{
    uint64_t t1, t2;
    uint16_t c1, c2, c;
    unsigned long spins = 0;

    arch_outb(0x61, (uint8_t)((arch_inb(0x61) & ~0x02) | 0x01));
    arch_outb(0x43, 0xb0);      /* channel 2, lobyte/hibyte, mode 0, binary */
    arch_outb(0x42, 0xff);
    arch_outb(0x42, 0xff);
    pit_sample(&t1, &c1);
    do {
        c = pit_latch_read();
        if (c > c1 || ++spins > 50000000UL)
            return 0;           /* wrapped, or not counting: no PIT */
    } while ((unsigned int)(c1 - c) < PIT_CAL_TICKS);
    pit_sample(&t2, &c2);
    if (c2 >= c1 || t2 <= t1)
        return 0;
    return (t2 - t1) * PIT_HZ / (c1 - c2) / 1000;
}

static uint64_t khz_from_pit(void)
{
    uint64_t k[3];

    if (arch_inb(0x61) == 0xff)
        return 0;               /* no port 0x61: no PIT */
    for (unsigned int i = 0; i < 3; i++)
        if (!(k[i] = khz_from_pit_once()))
            return 0;
    return median3(k[0], k[1], k[2]);
}

uint64_t clock_mktime(unsigned int year, unsigned int mon, unsigned int day,
                      unsigned int hour, unsigned int min, unsigned int sec)
{
    /* Days from civil (H. Hinnant's algorithm), March-based years. */
    unsigned int y = year - (mon <= 2);
    unsigned int era = y / 400;
    unsigned int yoe = y - era * 400;
    unsigned int mp = (mon + 9) % 12;
    unsigned int doy = (153 * mp + 2) / 5 + day - 1;
    unsigned int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    uint64_t days = (uint64_t)era * 146097 + doe - 719468;

    return ((days * 24 + hour) * 60 + min) * 60 + sec;
}

/* MC146818 CMOS RTC (ports 0x70/0x71): registers 0..9, status A (UIP)
 * and B (binary/BCD, 24h), century in 0x32 as on PC firmware. */
static uint8_t cmos(uint8_t reg)
{
    arch_outb(0x70, reg);
    return arch_inb(0x71);
}

static unsigned int bcd(uint8_t v, bool binary)
{
    return binary ? v : (v & 0xf) + (v >> 4) * 10;
}

static bool rtc_read(uint64_t *out)
{
    uint8_t cur[8], prev[8];
    bool have = false;

    for (unsigned int tries = 0; tries < 100; tries++) {
        unsigned long spins = 0;

        while (cmos(0x0a) & 0x80)       /* update in progress */
            if (++spins > 10000000UL)
                return false;
        cur[0] = cmos(0x00); cur[1] = cmos(0x02); cur[2] = cmos(0x04);
        cur[3] = cmos(0x07); cur[4] = cmos(0x08); cur[5] = cmos(0x09);
        cur[6] = cmos(0x32); cur[7] = cmos(0x0b);
        if (have && !memcmp(cur, prev, sizeof(cur)))
            break;
        memcpy(prev, cur, sizeof(cur));
        have = true;
    }
    if (cur[7] == 0xff && cur[0] == 0xff)
        return false;                   /* no RTC */
    {
        bool bin = cur[7] & 0x04, h24 = cur[7] & 0x02;
        unsigned int s = bcd(cur[0], bin), mi = bcd(cur[1], bin);
        unsigned int h = bcd(cur[2] & 0x7f, bin), d = bcd(cur[3], bin);
        unsigned int mo = bcd(cur[4], bin), y = bcd(cur[5], bin);
        unsigned int c = bcd(cur[6], bin);

        if (!h24 && (cur[2] & 0x80))
            h = h % 12 + 12;
        else if (!h24 && h == 12)
            h = 0;
        y += (c >= 19 && c <= 21) ? c * 100 : (y < 70 ? 2000 : 1900);
        if (s > 59 || mi > 59 || h > 23 || d < 1 || d > 31 || mo < 1 || mo > 12)
            return false;
        *out = clock_mktime(y, mo, d, h, mi, s);
    }
    return true;
}

static void wallclock_init(void)
{
    uint64_t sec, now_ns = 0, wall_ns;
    uint32_t nsec = 0;
    bool ok = false;

    if (l0_kind() == L0_XEN) {
        /* A frame for L0's shared_info only if nobody mapped it yet. */
        mfn_t f = l0_shared_info() ? mfn(0) : alloc_frame(FRAME_SHIM);

        if (l0_shared_info() || mfn_valid_value(f)) {
            int rc = xen_wallclock(mfn_to_paddr(f), &sec, &nsec);

            now_ns = clock_now_ns();
            ok = rc == 0;
            if (ok)
                wc_source = "xen";
            else
                pr_warn("time: no wallclock from L0's shared_info (%d)\n", rc);
        }
    }
    if (!ok && rtc_read(&sec)) {
        nsec = 0;
        now_ns = clock_now_ns();
        ok = true;
        wc_source = "cmos-rtc";
    }
    if (!ok)
        return;
    /* wc_* is the wall time at system time 0 (Xen do_settime()). */
    wall_ns = sec * NS_PER_S + nsec;
    if (wall_ns < now_ns)
        return;
    wall_ns -= now_ns;
    wc_sec0 = wall_ns / NS_PER_S;
    wc_nsec0 = (uint32_t)(wall_ns % NS_PER_S);
    wc_valid = true;
}

/* After a restore into a new L0 domain (pv/suspend.c): L0 gives the
 * domain its TSC back where it was saved, so system time did not move
 * while it was saved but the wall clock did; read L0's again. */
void clock_wallclock_resync(void)
{
    if (l0_kind() == L0_XEN && l0_shared_info())
        wallclock_init();
}

/* ------------------------------------------------------------- timer --- */

#define MSR_TSC_DEADLINE     0x6e0
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define APIC_REG_LVT_TIMER   0x320
#define APIC_REG_TMICT       0x380
#define APIC_REG_TMCCT       0x390
#define APIC_REG_TDCR        0x3e0
#define LVT_MASKED           (1u << 16)
#define LVT_TIMER_ONESHOT    (0u << 17)
#define LVT_TIMER_TSC_DEADLINE (2u << 17)
#define TDCR_DIVIDE_1        0xb
/* Longest single arm: later deadlines fire early and are re-armed. */
#define TIMER_MAX_NS         (250 * NS_PER_MS)

enum timer_mode { TIMER_NONE, TIMER_TSC_DEADLINE, TIMER_ONESHOT };
static enum timer_mode timer_mode;
static uint64_t apic_timer_khz;

struct timer_cpu {
    bool ready;
    uint64_t armed_ns;      /* deadline the hardware holds (0: none) */
    unsigned long fired;    /* interrupts taken (the state dump's)    */
} __aligned(64);
static struct timer_cpu timer_cpus[NR_CPUS];

static void timer_interrupt(struct cpu_regs *regs)
{
    struct timer_cpu *tc = &timer_cpus[arch_cpu_id()];

    (void)regs;
    tc->armed_ns = 0;
    tc->fired++;
    apic_eoi();
}

bool timer_available(void)
{
    return timer_mode != TIMER_NONE;
}

uint64_t timer_armed(void)
{
    if (timer_mode == TIMER_NONE)
        return 0;
    return __atomic_load_n(&timer_cpus[arch_cpu_id()].armed_ns, __ATOMIC_RELAXED);
}

uint64_t timer_armed_on(unsigned int cpu, unsigned long *fired)
{
    *fired = 0;
    if (timer_mode == TIMER_NONE || cpu >= NR_CPUS)
        return 0;
    *fired = __atomic_load_n(&timer_cpus[cpu].fired, __ATOMIC_RELAXED);
    return __atomic_load_n(&timer_cpus[cpu].armed_ns, __ATOMIC_RELAXED);
}

static void timer_cpu_setup(struct timer_cpu *tc)
{
    if (timer_mode == TIMER_TSC_DEADLINE) {
        apic_write(APIC_REG_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | TIMER_VECTOR);
        /* SDM 10.5.4.1: order the LVT write before the first MSR write. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    } else {
        apic_write(APIC_REG_TDCR, TDCR_DIVIDE_1);
        apic_write(APIC_REG_LVT_TIMER, LVT_TIMER_ONESHOT | TIMER_VECTOR);
    }
    tc->ready = true;
}

void timer_arm(uint64_t deadline_ns)
{
    struct timer_cpu *tc = &timer_cpus[arch_cpu_id()];
    unsigned long flags;
    uint64_t now, delta;

    if (timer_mode == TIMER_NONE)
        return;
    flags = arch_irq_save();
    if (!tc->ready)
        timer_cpu_setup(tc);
    if (deadline_ns == tc->armed_ns)
        goto out;
    tc->armed_ns = deadline_ns;
    if (!deadline_ns) {
        if (timer_mode == TIMER_TSC_DEADLINE)
            arch_wrmsr(MSR_TSC_DEADLINE, 0);
        else
            apic_write(APIC_REG_TMICT, 0);
        goto out;
    }
    now = clock_now_ns();
    delta = deadline_ns > now ? deadline_ns - now : 0;
    if (delta > TIMER_MAX_NS)
        delta = TIMER_MAX_NS;
    if (timer_mode == TIMER_TSC_DEADLINE) {
        arch_wrmsr(MSR_TSC_DEADLINE, arch_rdtsc() + delta * tsc_khz / 1000000 + 1);
    } else {
        uint64_t ticks = delta * apic_timer_khz / 1000000 + 1;

        apic_write(APIC_REG_TMICT, (uint32_t)(ticks > 0xffffffffULL ? 0xffffffffULL : ticks));
    }
out:
    arch_irq_restore(flags);
}

/* One-shot mode: APIC timer ticks per ms at divide-by-1, against the TSC,
 * with bracketed samples as for the PIT; median of three. */
static uint64_t apic_timer_calibrate_once(void)
{
    uint64_t a, b, t0, t1, wait = tsc_khz * 20;     /* ~20 ms of TSC */
    uint32_t left;

    apic_write(APIC_REG_TDCR, TDCR_DIVIDE_1);
    apic_write(APIC_REG_LVT_TIMER, LVT_MASKED | LVT_TIMER_ONESHOT | TIMER_VECTOR);
    a = arch_rdtsc();
    apic_write(APIC_REG_TMICT, 0xffffffffu);
    b = arch_rdtsc();
    t0 = a + (b - a) / 2;
    while (arch_rdtsc() - t0 < wait)
        arch_cpu_relax();
    a = arch_rdtsc();
    left = apic_read(APIC_REG_TMCCT);
    b = arch_rdtsc();
    t1 = a + (b - a) / 2;
    apic_write(APIC_REG_TMICT, 0);
    if (t1 <= t0 || left == 0xffffffffu)
        return 0;
    return (0xffffffffULL - left) * tsc_khz / (t1 - t0);
}

static uint64_t apic_timer_calibrate(void)
{
    return median3(apic_timer_calibrate_once(), apic_timer_calibrate_once(),
                   apic_timer_calibrate_once());
}

static void timer_init(void)
{
    struct cpuid_regs r;

    if (apic_mode() == APIC_MODE_NONE || !tsc_khz) {
        pr_warn("time: no local APIC timer; guest timers fire only when the "
                "guest enters the shim\n");
        return;
    }
    trap_set_irq_handler(TIMER_VECTOR, timer_interrupt);
    arch_cpuid(1, 0, &r);
    if (r.ecx & CPUID1_ECX_TSC_DEADLINE) {
        timer_mode = TIMER_TSC_DEADLINE;
        pr_info("time: timer: local APIC TSC-deadline mode, vector %#x\n", TIMER_VECTOR);
        return;
    }
    apic_timer_khz = apic_timer_calibrate();
    if (!apic_timer_khz) {
        pr_warn("time: local APIC timer does not count; no timer interrupts\n");
        return;
    }
    timer_mode = TIMER_ONESHOT;
    pr_info("time: timer: local APIC one-shot mode at %lu kHz, vector %#x\n",
            (unsigned long)apic_timer_khz, TIMER_VECTOR);
}

void clock_init(void)
{
    const char *src = NULL;

    if ((tsc_khz = khz_from_xen()))
        tsc_source = "xen-cpuid";
    else if ((tsc_khz = khz_from_cpuid(&src)))
        tsc_source = src;
    else if ((tsc_khz = khz_from_pit()))
        tsc_source = "pit";
    if (!tsc_khz) {
        /* Nothing to measure against: assume 2 GHz, say so loudly. */
        tsc_khz = 2000000;
        tsc_source = "guessed";
        pr_warn("time: cannot calibrate the TSC; assuming 2 GHz\n");
    }
    time_scale_set(&tsc_scale, tsc_khz * 1000);
    boot_tsc = arch_rdtsc();
    pr_info("time: TSC %lu kHz (%s), scale mul %#x shift %d\n",
            (unsigned long)tsc_khz, tsc_source, tsc_scale.mul_frac, tsc_scale.shift);
    wallclock_init();
    if (wc_valid)
        pr_info("time: wallclock %lu.%09u s since 1970 at system time 0 (%s)\n",
                (unsigned long)wc_sec0, wc_nsec0, wc_source);
    else
        pr_warn("time: no wallclock source; the guest sees 1970\n");
    timer_init();
}
