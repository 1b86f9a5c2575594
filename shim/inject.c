/*
 * Fault injection: the command-line syntax, the armed points and their
 * counters (interface and cost argument: include/minishim/inject.h).
 *
 * A point is armed with a number of uses (or 'all'). Each strike consumes
 * one use with a compare-and-swap, so two CPUs reaching the point at once
 * never strike more often than configured; the point's bit in
 * inject_armed is cleared when its last use is consumed, which brings the
 * hook back to its one-load fast path.
 */
#include <stdlib.h>
#include <string.h>
#include <minishim/console.h>
#include <minishim/inject.h>

uint32_t inject_armed;
static uint32_t left[INJECT_NR_POINTS];
static uint32_t configured[INJECT_NR_POINTS];
static uint64_t fired[INJECT_NR_POINTS];

/* Each point's spec name (without its count). */
static const char *const point_name[INJECT_NR_POINTS] = {
    [INJECT_SKIP_UVMF_INVLPG_ALL] = "flush-skip:uvmf-invlpg-all",
    [INJECT_SKIP_UVMF_INVLPG_MULTI] = "flush-skip:uvmf-invlpg-multi",
    [INJECT_SKIP_UVMF_FLUSH_ALL] = "flush-skip:uvmf-flush-all",
    [INJECT_SKIP_UVMF_FLUSH_MULTI] = "flush-skip:uvmf-flush-multi",
    [INJECT_SKIP_TLB_FLUSH_ALL] = "flush-skip:tlb-flush-all",
    [INJECT_SKIP_TLB_FLUSH_MULTI] = "flush-skip:tlb-flush-multi",
    [INJECT_SKIP_INVLPG_ALL] = "flush-skip:invlpg-all",
    [INJECT_SKIP_INVLPG_MULTI] = "flush-skip:invlpg-multi",
    [INJECT_L0_FLUSH_FAIL] = "l0-flush-fail",
    [INJECT_PF_SLOW] = "pf-slow",
    [INJECT_WALKER_DELAY] = "walker-delay",
    [INJECT_ASSIST_UNSAFE] = "assist-unsafe",
    [INJECT_FAKE_L0_FLUSH] = "fake-l0-flush",
    [INJECT_L0_EVTCHN_SEND_FAIL] = "l0-evtchn-send-fail",
    [INJECT_L0_CONSOLE_FAIL] = "l0-console-fail",
    [INJECT_L0_VCPUOP_FAIL] = "l0-vcpuop-fail",
    [INJECT_IPI_DROP] = "ipi-drop",
    [INJECT_IPI_DUP] = "ipi-dup",
    [INJECT_IPI_DELAY] = "ipi-delay",
    [INJECT_CPU_STALL] = "cpu-stall",
    [INJECT_L0_MEMOP_FAIL] = "l0-memop-fail",
};

/* walker-delay's argument is a duration, not a count: the point is armed
 * for every walk and this holds the microseconds. */
#define WALKER_DELAY_MAX_US 1000000u
static uint32_t walker_delay_us;

uint32_t inject_walker_delay_us(void)
{
    return inject_is_armed(INJECT_WALKER_DELAY) ? walker_delay_us : 0;
}

const char *inject_point_name(enum inject_point p)
{
    return (unsigned int)p < INJECT_NR_POINTS ? point_name[p] : "?";
}

/* "<n>" in 1..INJECT_COUNT_MAX, or "all". */
static bool parse_count(const char *s, size_t len, uint32_t *out)
{
    char buf[12];
    char *end;
    unsigned long n;

    if (len == 3 && !strncmp(s, "all", 3)) {
        *out = INJECT_COUNT_ALWAYS;
        return true;
    }
    if (len == 0 || len >= sizeof(buf) || s[0] < '0' || s[0] > '9')
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    n = strtoul(buf, &end, 10);
    if (*end || n == 0 || n > INJECT_COUNT_MAX)
        return false;
    *out = (uint32_t)n;
    return true;
}

#define SKIP_PREFIX "flush-skip:"

/* What a spec names a point by: the kind after "flush-skip:" for the
 * skip points, else the whole name. */
static const char *point_key(unsigned int p)
{
    _Static_assert(INJECT_FIRST_SKIP == 0, "the skip points come first");
    if (p <= INJECT_LAST_SKIP)
        return point_name[p] + sizeof(SKIP_PREFIX) - 1;
    return point_name[p];
}

static int find_point(const char *s, size_t len, enum inject_point first,
                      enum inject_point last)
{
    for (unsigned int p = first; p <= (unsigned int)last; p++) {
        const char *key = point_key(p);

        if (strlen(key) == len && !strncmp(key, s, len))
            return (int)p;
    }
    return -1;
}

/* One spec: "flush-skip:<kind>[:<count>]", "l0-flush-fail[:<count>]",
 * "pf-slow[:<count>]", "walker-delay:<us>", "assist-unsafe[:<count>]",
 * "fake-l0-flush[:<count>]" or an L0-call/IPI point "<name>[:<count>]"
 * (l0-evtchn-send-fail, ..., docs/fault-injection.md). */
static bool parse_spec(const char *s, size_t len, struct inject_config *cfg)
{
    static const char skip[] = SKIP_PREFIX;
    static const char delay[] = "walker-delay:";
    const char *colon;
    size_t name_len;
    uint32_t count = 1;
    int p;

    if (len > sizeof(delay) - 1 && !strncmp(s, delay, sizeof(delay) - 1)) {
        uint32_t us;

        /* The number is microseconds (1..WALKER_DELAY_MAX_US); every walk. */
        if (!parse_count(s + sizeof(delay) - 1, len - (sizeof(delay) - 1), &us) ||
            us == INJECT_COUNT_ALWAYS || us > WALKER_DELAY_MAX_US || cfg->count[INJECT_WALKER_DELAY])
            return false;
        cfg->count[INJECT_WALKER_DELAY] = INJECT_COUNT_ALWAYS;
        cfg->walker_delay_us = us;
        return true;
    }
    if (len > sizeof(skip) - 1 && !strncmp(s, skip, sizeof(skip) - 1)) {
        s += sizeof(skip) - 1;
        len -= sizeof(skip) - 1;
        colon = memchr(s, ':', len);
        name_len = colon ? (size_t)(colon - s) : len;
        p = find_point(s, name_len, INJECT_FIRST_SKIP, INJECT_LAST_SKIP);
    } else {
        colon = memchr(s, ':', len);
        name_len = colon ? (size_t)(colon - s) : len;
        p = find_point(s, name_len, INJECT_L0_FLUSH_FAIL, INJECT_PF_SLOW);
        if (p < 0) {
            /* These two default to every time (the bare word). */
            p = find_point(s, name_len, INJECT_ASSIST_UNSAFE, INJECT_FAKE_L0_FLUSH);
            count = INJECT_COUNT_ALWAYS;
        }
        if (p < 0) {
            p = find_point(s, name_len, INJECT_FIRST_L0_FAULT, INJECT_LAST_L0_FAULT);
            count = 1;
        }
    }
    if (p < 0)
        return false;
    if (colon && !parse_count(colon + 1, len - name_len - 1, &count))
        return false;
    if (cfg->count[p])                  /* the same point twice: ambiguous */
        return false;
    cfg->count[p] = count;
    return true;
}

bool inject_parse(const char *v, struct inject_config *out)
{
    struct inject_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    if (!v || !*v)
        return false;
    while (*v) {
        size_t n = strcspn(v, ",");

        if (n == 0 || !parse_spec(v, n, &cfg))
            return false;
        v += n;
        if (*v == ',' && !*++v)
            return false;               /* trailing comma */
    }
    /* Added to what earlier inject= options armed (the command line limits
     * one option's length); a point named again takes the new count. */
    for (unsigned int p = 0; p < INJECT_NR_POINTS; p++)
        if (cfg.count[p])
            out->count[p] = cfg.count[p];
    if (cfg.count[INJECT_WALKER_DELAY])
        out->walker_delay_us = cfg.walker_delay_us;
    return true;
}

void inject_init(const struct inject_config *cfg)
{
    uint32_t armed = 0;

    for (unsigned int p = 0; p < INJECT_NR_POINTS; p++) {
        configured[p] = cfg ? cfg->count[p] : 0;
        left[p] = configured[p];
        __atomic_store_n(&fired[p], 0, __ATOMIC_RELAXED);
        if (configured[p])
            armed |= 1u << p;
    }
    walker_delay_us = cfg ? cfg->walker_delay_us : 0;
    if (!walker_delay_us)
        armed &= ~(1u << INJECT_WALKER_DELAY);
    __atomic_store_n(&inject_armed, armed, __ATOMIC_SEQ_CST);
    for (unsigned int p = 0; p < INJECT_NR_POINTS; p++) {
        if (!configured[p])
            continue;
        if (configured[p] == INJECT_COUNT_ALWAYS)
            pr_warn("inject: %s armed (every time): fault injection is on\n", point_name[p]);
        else
            pr_warn("inject: %s armed (%lu times): fault injection is on\n", point_name[p],
                    (unsigned long)configured[p]);
    }
}

bool inject_fire(enum inject_point p)
{
    uint32_t n;
    uint64_t nr;

    if ((unsigned int)p >= INJECT_NR_POINTS)
        return false;
    n = __atomic_load_n(&left[p], __ATOMIC_RELAXED);
    for (;;) {
        if (n == 0)
            return false;               /* another CPU took the last use */
        if (n == INJECT_COUNT_ALWAYS)
            break;
        if (__atomic_compare_exchange_n(&left[p], &n, n - 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED)) {
            if (n == 1)
                __atomic_fetch_and(&inject_armed, ~(1u << p), __ATOMIC_SEQ_CST);
            break;
        }
    }
    nr = __atomic_add_fetch(&fired[p], 1, __ATOMIC_RELAXED);
    /* Say so the first times: a test log must show the fault was made.
     * Not for the console's own point: it strikes inside printk, whose
     * lock the line would take again (the shutdown summary counts it). */
    if (nr <= 3 && p != INJECT_L0_CONSOLE_FAIL)
        pr_info("inject: %s struck (%lu)\n", point_name[p], (unsigned long)nr);
    return true;
}

uint64_t inject_fired(enum inject_point p)
{
    return (unsigned int)p < INJECT_NR_POINTS ? __atomic_load_n(&fired[p], __ATOMIC_RELAXED) : 0;
}

void inject_print(void)
{
    for (unsigned int p = 0; p < INJECT_NR_POINTS; p++) {
        unsigned long n = (unsigned long)inject_fired(p);

        if (!configured[p])
            continue;
        if (configured[p] == INJECT_COUNT_ALWAYS)
            pr_info("inject: %s fired %lu times (every time)\n", point_name[p], n);
        else
            pr_info("inject: %s fired %lu of %lu\n", point_name[p], n,
                    (unsigned long)configured[p]);
        if (!n)
            pr_warn("inject: %s was never reached\n", point_name[p]);
    }
}
