/*
 * workload - the flush-heavy Linux user-space workloads of `make bench`
 * (docs/bench.md), one statically linked program so it can go into any
 * guest's initramfs as is. It is a normal Linux program: it runs on the
 * host too (tests/bench/test-workload.sh checks its output there).
 *
 *   workload all [quick]          every workload, default (or small) sizes
 *   workload fork-exec [n=N]      fork + exec of a tiny program N times
 *   workload shootdown [threads=T] [n=N]
 *                                 munmap of a page T spinning threads have
 *                                 just touched (a TLB shootdown each)
 *   workload mprotect [n=N]       two threads pass a page back and forth,
 *                                 each write-protecting it for the other
 *   workload ebizzy [threads=T] [seconds=S] [chunk=KIB]
 *                                 allocator churn in the style of ebizzy:
 *                                 malloc (mmap-sized) chunks, copy, search,
 *                                 free
 *   workload build [workers=P] [jobs=J]
 *                                 P workers each running J jobs, a job a
 *                                 short fork/exec/exit chain (`make -jP`)
 *
 * Each workload prints exactly one line on stdout:
 *
 *   WORKLOAD <name> <key>=<value>... elapsed_ns=<ns> rate=<x.xx> unit=<unit>
 *
 * and the program exits 0 when all ran, 1 when one failed (with a
 * "workload: ..." reason on stderr), 2 for a bad command line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *self_path = "/proc/self/exe";
static char self_exe[4096];

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what)
{
    fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void report(const char *name, const char *params, uint64_t ns, double count,
                   const char *unit, double scale)
{
    double rate = ns ? count * scale / ((double)ns / 1e9) : 0;

    if (scale < 0)      /* a time per operation: ns / count, in unit */
        rate = count ? (double)ns / count / -scale : 0;
    printf("WORKLOAD %s %s elapsed_ns=%llu rate=%.2f unit=%s\n", name, params,
           (unsigned long long)ns, rate, unit);
    fflush(stdout);
}

/* fork + exec of ourselves in "noop" mode (a static binary: no loader). */
static void spawn_wait(const char *mode)
{
    pid_t pid = fork();
    int st;

    if (pid < 0)
        fail("fork");
    if (pid == 0) {
        execl(self_exe, self_exe, mode, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) < 0)
        fail("waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "workload: child %s exited with status %#x\n", mode, st);
        exit(1);
    }
}

static void w_fork_exec(unsigned long n)
{
    char params[64];
    uint64_t t0 = now_ns();

    for (unsigned long i = 0; i < n; i++)
        spawn_wait("noop");
    snprintf(params, sizeof(params), "n=%lu", n);
    report("fork-exec", params, now_ns() - t0, (double)n, "procs/s", 1);
}

/* ---------------------------------------------------------- shootdown --- */
static volatile char *_Atomic sd_page;
static atomic_ulong sd_gen, sd_acks;
static atomic_int sd_stop;

static void *sd_thread(void *arg)
{
    unsigned long seen = 0;

    (void)arg;
    while (!atomic_load(&sd_stop)) {
        unsigned long g = atomic_load(&sd_gen);
        volatile char *p = atomic_load(&sd_page);

        if (p && g != seen) {
            p[64]++;            /* touch: the translation is now in this CPU's TLB */
            seen = g;
            atomic_fetch_add(&sd_acks, 1);
        }
        /* Keep spinning in user mode: the kernel must interrupt us. */
    }
    return NULL;
}

static void w_shootdown(unsigned int threads, unsigned long n)
{
    pthread_t *t = calloc(threads, sizeof(*t));
    uint64_t in_munmap = 0, t0;
    char params[64];

    if (!t)
        fail("calloc");
    atomic_store(&sd_stop, 0);
    for (unsigned int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, sd_thread, NULL))
            fail("pthread_create");
    t0 = now_ns();
    for (unsigned long i = 1; i <= n; i++) {
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        uint64_t a;

        if (p == MAP_FAILED)
            fail("mmap");
        p[0] = 1;
        atomic_store(&sd_acks, 0);
        atomic_store(&sd_page, p);
        atomic_store(&sd_gen, i);
        while (atomic_load(&sd_acks) < threads)
            sched_yield();      /* let threads that share our CPU run */
        atomic_store(&sd_page, NULL);
        a = now_ns();
        if (munmap(p, 4096))
            fail("munmap");
        in_munmap += now_ns() - a;
    }
    atomic_store(&sd_stop, 1);
    for (unsigned int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    free(t);
    (void)t0;
    snprintf(params, sizeof(params), "threads=%u n=%lu", threads, n);
    /* elapsed_ns: time inside munmap only; rate: microseconds per munmap. */
    report("shootdown", params, in_munmap, (double)n, "us/munmap", -1000.0);
}

/* ----------------------------------------------------------- mprotect --- */
static char *mp_page;
static atomic_ulong mp_turn;    /* odd: thread B's turn, even: A's */
static unsigned long mp_n;

static void *mp_b(void *arg)
{
    (void)arg;
    for (unsigned long i = 0; i < mp_n; i++) {
        while (atomic_load(&mp_turn) != 2 * i + 1)
            sched_yield();
        if (mprotect(mp_page, 4096, PROT_READ | PROT_WRITE))
            fail("mprotect");
        mp_page[1]++;
        if (mprotect(mp_page, 4096, PROT_READ))
            fail("mprotect");
        atomic_store(&mp_turn, 2 * i + 2);
    }
    return NULL;
}

static void w_mprotect(unsigned long n)
{
    pthread_t b;
    uint64_t t0, ns;
    char params[64];

    mp_n = n;
    mp_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mp_page == MAP_FAILED)
        fail("mmap");
    atomic_store(&mp_turn, 0);
    if (pthread_create(&b, NULL, mp_b, NULL))
        fail("pthread_create");
    t0 = now_ns();
    for (unsigned long i = 0; i < n; i++) {
        while (atomic_load(&mp_turn) != 2 * i)
            sched_yield();
        if (mprotect(mp_page, 4096, PROT_READ | PROT_WRITE))
            fail("mprotect");
        mp_page[0]++;
        /* Write-protect again: the other thread's CPU must drop its
         * writable translation (a remote flush). */
        if (mprotect(mp_page, 4096, PROT_READ))
            fail("mprotect");
        atomic_store(&mp_turn, 2 * i + 1);
    }
    while (atomic_load(&mp_turn) != 2 * n)
        sched_yield();
    ns = now_ns() - t0;
    pthread_join(b, NULL);
    if (mp_page[0] != (char)n || mp_page[1] != (char)n) {
        fprintf(stderr, "workload: mprotect: page counts %d/%d, want %d\n",
                mp_page[0], mp_page[1], (char)n);
        exit(1);
    }
    munmap(mp_page, 4096);
    snprintf(params, sizeof(params), "n=%lu", n);
    report("mprotect", params, ns, (double)n, "roundtrips/s", 1);
}

/* ------------------------------------------------------------- ebizzy --- */
struct eb_arg {
    size_t chunk;
    uint64_t until;
    unsigned long records;
    const char *src;
};

static void *eb_thread(void *arg)
{
    struct eb_arg *a = arg;
    unsigned long r = 0;

    while (now_ns() < a->until) {
        /* Above glibc's mmap threshold: malloc maps, free unmaps (the
         * munmap is where ebizzy's threads shoot each other's TLBs down). */
        char *p = malloc(a->chunk);
        size_t hits = 0;

        if (!p)
            fail("malloc");
        memcpy(p, a->src, a->chunk);
        for (size_t i = 0; i < a->chunk; i += 4096)
            hits += p[i] == (char)(i >> 12);
        free(p);
        if (hits != a->chunk / 4096) {
            fprintf(stderr, "workload: ebizzy: copy lost data\n");
            exit(1);
        }
        r++;
    }
    a->records = r;
    return NULL;
}

static void w_ebizzy(unsigned int threads, unsigned int seconds, size_t chunk_kib)
{
    pthread_t *t = calloc(threads, sizeof(*t));
    struct eb_arg *a = calloc(threads, sizeof(*a));
    size_t chunk = chunk_kib * 1024;
    char *src = malloc(chunk);
    unsigned long total = 0;
    uint64_t t0, ns;
    char params[96];

    if (!t || !a || !src)
        fail("calloc");
    for (size_t i = 0; i < chunk; i++)
        src[i] = (i % 4096) ? 'x' : (char)(i >> 12);
    t0 = now_ns();
    for (unsigned int i = 0; i < threads; i++) {
        a[i] = (struct eb_arg){ chunk, t0 + (uint64_t)seconds * 1000000000u, 0, src };
        if (pthread_create(&t[i], NULL, eb_thread, &a[i]))
            fail("pthread_create");
    }
    for (unsigned int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += a[i].records;
    }
    ns = now_ns() - t0;
    snprintf(params, sizeof(params), "threads=%u seconds=%u chunk_kib=%zu records=%lu",
             threads, seconds, chunk_kib, total);
    report("ebizzy", params, ns, (double)total, "records/s", 1);
    free(src);
    free(a);
    free(t);
}

/* -------------------------------------------------------------- build --- */
/* A job: like cc running cpp, cc1 and as, one after the other. */
static int job(void)
{
    for (int i = 0; i < 3; i++)
        spawn_wait("noop");
    return 0;
}

static void w_build(unsigned int workers, unsigned long jobs)
{
    uint64_t t0 = now_ns();
    char params[64];
    pid_t *w = calloc(workers, sizeof(*w));

    if (!w)
        fail("calloc");
    for (unsigned int i = 0; i < workers; i++) {
        w[i] = fork();
        if (w[i] < 0)
            fail("fork");
        if (w[i] == 0) {
            for (unsigned long j = 0; j < jobs; j++)
                spawn_wait("job");
            _exit(0);
        }
    }
    for (unsigned int i = 0; i < workers; i++) {
        int st;

        if (waitpid(w[i], &st, 0) < 0)
            fail("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st)) {
            fprintf(stderr, "workload: build worker %u failed (%#x)\n", i, st);
            exit(1);
        }
    }
    free(w);
    snprintf(params, sizeof(params), "workers=%u jobs=%lu", workers, jobs);
    report("build", params, now_ns() - t0, (double)workers * jobs, "jobs/s", 1);
}

/* --------------------------------------------------------------- main --- */
static int usage(void)
{
    fprintf(stderr, "usage: workload all [quick] | fork-exec [n=N] | shootdown [threads=T] [n=N]"
            " | mprotect [n=N] | ebizzy [threads=T] [seconds=S] [chunk=KIB]"
            " | build [workers=P] [jobs=J]\n");
    return 2;
}

/* key=value arguments, each a positive number in 1..max. */
static int arg(int argc, char **argv, const char *key, unsigned long def,
               unsigned long max, unsigned long *out)
{
    size_t kl = strlen(key);

    *out = def;
    for (int i = 2; i < argc; i++) {
        char *end;

        if (strncmp(argv[i], key, kl) || argv[i][kl] != '=')
            continue;
        errno = 0;
        *out = strtoul(argv[i] + kl + 1, &end, 10);
        if (errno || *end || end == argv[i] + kl + 1 || *out < 1 || *out > max) {
            fprintf(stderr, "workload: bad %s (1..%lu)\n", argv[i], max);
            return -1;
        }
    }
    return 0;
}

static int known_args(int argc, char **argv, const char *const *keys)
{
    for (int i = 2; i < argc; i++) {
        int ok = 0;

        for (const char *const *k = keys; *k; k++)
            ok |= !strncmp(argv[i], *k, strlen(*k)) && argv[i][strlen(*k)] == '=';
        if (!ok) {
            fprintf(stderr, "workload: unknown argument '%s'\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long n, t, s, c;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    ssize_t len;

    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "noop"))
        return 0;
    len = readlink(self_path, self_exe, sizeof(self_exe) - 1);
    if (len <= 0)
        fail("readlink /proc/self/exe");
    self_exe[len] = '\0';
    if (!strcmp(argv[1], "job"))
        return job();
    if (cpus < 2)
        cpus = 2;

    if (!strcmp(argv[1], "all")) {
        int quick = argc > 2 && !strcmp(argv[2], "quick");

        if (argc > 2 + quick)
            return usage();
        w_fork_exec(quick ? 20 : 500);
        w_shootdown((unsigned int)cpus - 1, quick ? 100 : 2000);
        w_mprotect(quick ? 100 : 2000);
        w_ebizzy((unsigned int)cpus, 1, quick ? 256 : 1024);
        w_build((unsigned int)cpus, quick ? 3 : 30);
        return 0;
    }
    if (!strcmp(argv[1], "fork-exec")) {
        static const char *const k[] = { "n", NULL };
        if (known_args(argc, argv, k) || arg(argc, argv, "n", 500, 10000000, &n))
            return 2;
        w_fork_exec(n);
    } else if (!strcmp(argv[1], "shootdown")) {
        static const char *const k[] = { "threads", "n", NULL };
        if (known_args(argc, argv, k) ||
            arg(argc, argv, "threads", (unsigned long)cpus - 1, 1024, &t) ||
            arg(argc, argv, "n", 2000, 10000000, &n))
            return 2;
        w_shootdown((unsigned int)t, n);
    } else if (!strcmp(argv[1], "mprotect")) {
        static const char *const k[] = { "n", NULL };
        if (known_args(argc, argv, k) || arg(argc, argv, "n", 2000, 10000000, &n))
            return 2;
        w_mprotect(n);
    } else if (!strcmp(argv[1], "ebizzy")) {
        static const char *const k[] = { "threads", "seconds", "chunk", NULL };
        if (known_args(argc, argv, k) ||
            arg(argc, argv, "threads", (unsigned long)cpus, 1024, &t) ||
            arg(argc, argv, "seconds", 5, 3600, &s) ||
            arg(argc, argv, "chunk", 1024, 1024 * 1024, &c))
            return 2;
        w_ebizzy((unsigned int)t, (unsigned int)s, c);
    } else if (!strcmp(argv[1], "build")) {
        static const char *const k[] = { "workers", "jobs", NULL };
        if (known_args(argc, argv, k) ||
            arg(argc, argv, "workers", (unsigned long)cpus, 1024, &t) ||
            arg(argc, argv, "jobs", 30, 1000000, &n))
            return 2;
        w_build((unsigned int)t, n);
    } else {
        return usage();
    }
    return 0;
}
