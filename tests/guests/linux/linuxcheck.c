/*
 * linuxcheck - the user-space assertions of the Linux guest test
 * (docs/linux-guest.md): run by the initramfs's /init
 * (scripts/mk-initramfs.sh) under minishim or Xen's own shim. Static
 * (glibc), so it runs as is in the busybox initramfs and on the host.
 *
 *   linuxcheck [fork=N] [hotplug=R] [conin=TEXT]
 *                         every check (fork+exec N times, default 1000);
 *                         hotplug=R adds R rounds of CPU hot-unplug/plug
 *                         under load, conin=TEXT reading TEXT from stdin
 *                         (the console: what the test harness types)
 *   linuxcheck noop       what the fork+exec check executes
 *
 * Each check prints one line "CHECK <name> PASS|FAIL <detail>"; the last
 * line is "RESULT linux PASS|FAIL" and the exit status 0 or 1. The checks
 * that involve several threads pin them to distinct CPUs, so the kernel's
 * cross-CPU TLB flushes (MMUEXT_TLB_FLUSH_MULTI, MMUEXT_INVLPG_MULTI,
 * UVMF_MULTI through the shim) are what keeps them from seeing a stale
 * mapping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;
static int ncpus;               /* CPUs online (sysconf) */

static void check(const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check(const char *name, int ok, const char *fmt, ...)
{
    va_list ap;

    printf("CHECK %s %s ", name, ok ? "PASS" : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    if (!ok)
        failures++;
}

static uint64_t ns_of(clockid_t c)
{
    struct timespec ts;

    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void unpin(void)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    for (int i = 0; i < ncpus && i < CPU_SETSIZE; i++)
        CPU_SET(i, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static int pin(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* ------------------------------------------------------------ fork+exec */
static void c_fork_exec(unsigned long n)
{
    unsigned long ok = 0, bad = 0;
    uint64_t t0 = ns_of(CLOCK_MONOTONIC);

    for (unsigned long i = 0; i < n; i++) {
        pid_t pid = fork();
        int st;

        if (pid < 0)
            break;
        if (pid == 0) {
            /* The child's exit status is its index mod 200 + 7: the
             * parent checks it got back what this very child computed. */
            char arg[32];

            snprintf(arg, sizeof(arg), "%lu", i % 200 + 7);
            execl("/proc/self/exe", "linuxcheck", "noop", arg, (char *)NULL);
            _exit(255);
        }
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
            WEXITSTATUS(st) != (int)(i % 200 + 7))
            bad++;
        else
            ok++;
    }
    check("fork-exec", ok == n && !bad, "%lu of %lu children exec'd and exited with their status "
          "(%lu wrong) in %.1f s", ok, n, bad, (double)(ns_of(CLOCK_MONOTONIC) - t0) / 1e9);
}

/* ---------------------------------------------------- a thread per vCPU */
static atomic_int tc_seen[1024];
static atomic_int tc_bad;

static void *tc_thread(void *arg)
{
    int cpu = (int)(intptr_t)arg;

    if (pin(cpu)) {
        atomic_fetch_add(&tc_bad, 1);
        return NULL;
    }
    /* Spin a while in user space, asking each time where we run. */
    for (int i = 0; i < 200000; i++) {
        int c = sched_getcpu();

        if (c != cpu) {
            atomic_fetch_add(&tc_bad, 1);
            return NULL;
        }
    }
    atomic_fetch_add(&tc_seen[cpu], 1);
    return NULL;
}

static void c_threads(void)
{
    pthread_t t[1024];
    int n = ncpus > 1024 ? 1024 : ncpus, distinct = 0;

    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, tc_thread, (void *)(intptr_t)i))
            atomic_fetch_add(&tc_bad, 1), n = i;
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < n; i++)
        distinct += atomic_load(&tc_seen[i]) == 1;
    check("threads", distinct == ncpus && !atomic_load(&tc_bad),
          "%d threads each ran on its own CPU (sched_getcpu), of %d CPUs; %d mismatches",
          distinct, ncpus, atomic_load(&tc_bad));
}

/* ---------------------------------------- stale mappings across threads */
static __thread sigjmp_buf *volatile fault_jmp;
static __thread volatile int fault_sig;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    fault_sig = sig;
    if (fault_jmp)
        siglongjmp(*fault_jmp, 1);
    _exit(99);
}

/* 1: the access faulted, 0: it did not. */
static int touch_faults(volatile char *p, int write)
{
    sigjmp_buf jb;

    /* SA_NODEFER: SIGSEGV stays unblocked, no mask to restore. */
    fault_sig = 0;
    if (sigsetjmp(jb, 0) == 0) {
        fault_jmp = &jb;
        if (write)
            p[128] = 1;
        else
            (void)p[128];
        fault_jmp = NULL;
        return 0;
    }
    fault_jmp = NULL;
    return fault_sig == SIGSEGV || fault_sig == SIGBUS;
}

enum { MAP_ROUNDS = 300 };
static volatile char *_Atomic ms_page;
static atomic_int ms_phase;     /* 1: B spins touching, 2: A changed it, 3: B checked */
static atomic_int ms_mode;      /* 0 munmap, 1 mprotect */
static atomic_int ms_stale, ms_done, ms_quit;

static void *ms_b(void *arg)
{
    (void)arg;
    if (ncpus > 1)
        pin(1);
    for (;;) {
        int ph;

        while ((ph = atomic_load(&ms_phase)) == 0 && !atomic_load(&ms_quit))
            ;
        if (atomic_load(&ms_quit))
            return NULL;
        volatile char *p = atomic_load(&ms_page);
        int write = atomic_load(&ms_mode) == 1;

        /* Keep the translation hot in this CPU's TLB until A changed it
         * (a fault here is A's change arriving while we spin). */
        while (atomic_load(&ms_phase) == 1)
            if (touch_faults(p, write))
                break;
        while (atomic_load(&ms_phase) == 1)
            ;
        /* A's munmap / mprotect has returned: the old mapping is gone. */
        if (!touch_faults(p, write))
            atomic_fetch_add(&ms_stale, 1);
        atomic_fetch_add(&ms_done, 1);
        atomic_store(&ms_phase, 0);
    }
}

static void c_stale(int mode)
{
    pthread_t b;
    int rounds = 0, errs = 0;

    atomic_store(&ms_mode, mode);
    atomic_store(&ms_stale, 0);
    atomic_store(&ms_done, 0);
    atomic_store(&ms_quit, 0);
    atomic_store(&ms_phase, 0);
    pin(0);
    if (pthread_create(&b, NULL, ms_b, NULL)) {
        check(mode ? "mprotect" : "munmap", 0, "pthread_create failed");
        return;
    }
    for (rounds = 0; rounds < MAP_ROUNDS; rounds++) {
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED) {
            errs++;
            break;
        }
        p[128] = 1;
        atomic_store(&ms_page, p);
        atomic_store(&ms_phase, 1);
        /* Let B touch it for a moment (it spins; on one CPU it runs when
         * we yield). */
        for (int i = 0; i < 3; i++)
            sched_yield();
        for (volatile int i = 0; i < 20000; i++)
            ;
        if (mode == 0 ? munmap(p, 4096) : mprotect(p, 4096, PROT_READ))
            errs++;
        atomic_store(&ms_phase, 2);
        while (atomic_load(&ms_phase) != 0)
            sched_yield();
        if (mode == 1)
            munmap(p, 4096);
    }
    atomic_store(&ms_quit, 1);
    pthread_join(b, NULL);
    unpin();
    check(mode ? "mprotect" : "munmap",
          atomic_load(&ms_done) == MAP_ROUNDS && !atomic_load(&ms_stale) && !errs,
          "%d rounds on CPUs 0/%d: after %s returned the other thread's %s faulted "
          "%d times, went through a stale mapping %d times (%d syscall errors)",
          atomic_load(&ms_done), ncpus > 1 ? 1 : 0, mode ? "mprotect(PROT_READ)" : "munmap",
          mode ? "write" : "read", atomic_load(&ms_done) - atomic_load(&ms_stale),
          atomic_load(&ms_stale), errs);
}

/* --------------------------------------------------------------- signals */
static volatile sig_atomic_t got_usr1;
static volatile double sig_fp;

static void on_usr1(int sig)
{
    /* Use the FPU in the handler: the interrupted context's state must
     * come back intact (signal frame + sigreturn). */
    volatile double x = 1.5;

    for (int i = 0; i < 10; i++)
        x = x * 1.25 + 0.5;
    sig_fp = x;
    got_usr1 = sig;
}

static void c_signals(void)
{
    enum { ROUNDS = 200 };
    sigset_t set, old;
    struct sigaction sa = { .sa_handler = on_usr1 };
    volatile double mine = 3.25;
    int replies = 0, handled = 0;
    pid_t child;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    for (int i = 0; i < 50; i++) {
        got_usr1 = 0;
        raise(SIGUSR1);
        handled += got_usr1 == SIGUSR1 && mine == 3.25;
        mine = mine * 1.0;
    }
    /* A round trip between two processes: parent -> SIGUSR2 -> child ->
     * SIGUSR2 -> parent, each waiting in sigwaitinfo. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, &old);
    child = fork();
    if (child == 0) {
        for (int i = 0; i < ROUNDS; i++) {
            siginfo_t si;

            if (sigwaitinfo(&set, &si) != SIGUSR2 || si.si_pid != getppid())
                _exit(1);
            kill(getppid(), SIGUSR2);
        }
        _exit(0);
    }
    for (int i = 0; child > 0 && i < ROUNDS; i++) {
        siginfo_t si;
        struct timespec to = { .tv_sec = 10 };

        kill(child, SIGUSR2);
        if (sigtimedwait(&set, &si, &to) != SIGUSR2 || si.si_pid != child)
            break;
        replies++;
    }
    int st = -1;

    if (child > 0 && replies < ROUNDS)
        kill(child, SIGKILL);
    if (child > 0)
        waitpid(child, &st, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    check("signals", handled == 50 && replies == ROUNDS && WIFEXITED(st) && !WEXITSTATUS(st),
          "%d/50 handler deliveries with FPU state intact (handler computed %.4f), "
          "%d/%d round trips with a child, child status %#x", handled, (double)sig_fp,
          replies, ROUNDS, st);
}

/* ------------------------------------------------------------- cpuinfo */
static int count_list(const char *path)
{
    /* A CPU list file such as "0-3" or "0,2-3": the number of CPUs. */
    FILE *f = fopen(path, "r");
    int n = 0, a, b;
    char sep;

    if (!f)
        return -1;
    while (fscanf(f, "%d", &a) == 1) {
        b = a;
        if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
            if (fscanf(f, "%d", &b) != 1)
                break;
            if (fscanf(f, "%c", &sep) != 1)
                sep = 0;
        }
        n += b - a + 1;
        if (sep != ',')
            break;
    }
    fclose(f);
    return n;
}

static void c_cpuinfo(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    int procs = 0, possible = count_list("/sys/devices/system/cpu/possible");
    int online = count_list("/sys/devices/system/cpu/online");
    unsigned long seen = 0;     /* bitmap of processor numbers */

    while (f && fgets(line, sizeof(line), f)) {
        int n;

        if (sscanf(line, "processor : %d", &n) == 1 || sscanf(line, "processor\t: %d", &n) == 1) {
            procs++;
            if (n >= 0 && n < 64)
                seen |= 1ul << n;
        }
    }
    if (f)
        fclose(f);
    check("cpuinfo", procs > 0 && procs == possible && procs == online && procs == ncpus &&
          seen == (procs >= 64 ? ~0ul : (1ul << procs) - 1),
          "/proc/cpuinfo lists %d processors, %d possible, %d online, sysconf %d",
          procs, possible, online, ncpus);
}

/* --------------------------------------------------------------- sleep */
static void c_sleep(void)
{
    long hz = sysconf(_SC_CLK_TCK);
    struct tms tb;
    uint64_t m0 = ns_of(CLOCK_MONOTONIC), r0 = ns_of(CLOCK_REALTIME);
    clock_t t0 = times(&tb);
    struct timespec one = { .tv_sec = 1 };
    int rc = nanosleep(&one, NULL);
    clock_t t1 = times(&tb);
    double m = (double)(ns_of(CLOCK_MONOTONIC) - m0) / 1e9;
    double r = (double)(ns_of(CLOCK_REALTIME) - r0) / 1e9;
    double ticks = (double)(t1 - t0) / (double)hz;

    /* Loose bounds: only a stopped or runaway clock, or a sleep that does
     * not wake up on time (a lost timer), fails this. */
    check("sleep", !rc && m >= 1.0 && m < 4.0 && ticks > 0.8 && ticks < 4.0 &&
          r > 0.8 && r < 4.0,
          "sleep 1: %.3f s CLOCK_MONOTONIC, %.3f s CLOCK_REALTIME, %ld ticks at %ld Hz (%.2f s)",
          m, r, (long)(t1 - t0), hz, ticks);
}

/* ------------------------------------------------- CPU hot-unplug/plug */
/* Linux takes a Xen PV CPU down with VCPUOP_down on itself (it parks in
 * the hypervisor until VCPUOP_up), the CPU doing the unplug waits on
 * VCPUOP_is_up, and frees the CPU's IPI/VIRQ event channels and timer;
 * plugging it back binds them again and resumes it (arch/x86/xen/
 * smp_pv.c). Workers on every CPU keep the scheduler migrating them. */
static atomic_int hp_quit;
static atomic_long hp_work;

static void *hp_worker(void *arg)
{
    unsigned long x = (uintptr_t)arg + 1;

    while (!atomic_load(&hp_quit)) {
        /* Page-table traffic (cross-CPU flushes as CPUs come and go) and
         * a little arithmetic; sched_yield lets the scheduler move us. */
        char *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p != MAP_FAILED) {
            for (int i = 0; i < 65536; i += 4096)
                p[i] = (char)x;
            munmap(p, 65536);
        }
        for (int i = 0; i < 1000; i++)
            x = x * 6364136223846793005ul + 1442695040888963407ul;
        atomic_fetch_add(&hp_work, 1);
        sched_yield();
    }
    return (void *)x;
}

static int cpu_online_set(int cpu, int on)
{
    char path[64];
    int fd, rc = 0;

    snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
    fd = open(path, O_WRONLY);
    if (fd < 0)
        return -errno;
    if (write(fd, on ? "1" : "0", 1) != 1)
        rc = -errno;
    close(fd);
    return rc;
}

static int cpu_online_get(int cpu)
{
    char path[64], c = '?';
    int fd;

    snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    if (read(fd, &c, 1) != 1)
        c = '?';
    close(fd);
    return c == '1' ? 1 : c == '0' ? 0 : -1;
}

/* After the rounds every CPU must work again: a thread pinned to it runs
 * there and its 100 ms sleep ends on time (the CPU's timer event). */
static void *hp_probe(void *arg)
{
    int cpu = (int)(intptr_t)arg;
    struct timespec t = { .tv_nsec = 100000000 };
    uint64_t t0;
    double s;

    if (pin(cpu) || sched_getcpu() != cpu)
        return (void *)1;
    t0 = ns_of(CLOCK_MONOTONIC);
    nanosleep(&t, NULL);
    s = (double)(ns_of(CLOCK_MONOTONIC) - t0) / 1e9;
    if (sched_getcpu() != cpu || s < 0.1 || s > 2.0)
        return (void *)2;
    return NULL;
}

static void c_hotplug(int rounds)
{
    pthread_t w[64], pr[64];
    int n = ncpus > 64 ? 64 : ncpus, nw = 0, bad = 0, done = 0, probes_ok = 0;
    char why[160] = "";
    uint64_t t0 = ns_of(CLOCK_MONOTONIC);
    long work0;

    if (n < 2) {
        check("hotplug", 0, "needs at least 2 CPUs, %d online", ncpus);
        return;
    }
    atomic_store(&hp_quit, 0);
    for (int i = 0; i < n; i++)
        if (!pthread_create(&w[nw], NULL, hp_worker, (void *)(intptr_t)i))
            nw++;
    for (int r = 0; r < rounds && !bad; r++) {
        work0 = atomic_load(&hp_work);
        for (int on = 0; on <= 1 && !bad; on++) {
            for (int cpu = 1; cpu < n && !bad; cpu++) {
                int rc = cpu_online_set(cpu, on);

                if (rc) {
                    snprintf(why, sizeof(why), "round %d: cpu%d online=%d: %s", r + 1, cpu, on,
                             strerror(-rc));
                    bad = 1;
                } else if (cpu_online_get(cpu) != on) {
                    snprintf(why, sizeof(why), "round %d: cpu%d online reads %d after writing %d",
                             r + 1, cpu, cpu_online_get(cpu), on);
                    bad = 1;
                }
            }
            if (!bad && sysconf(_SC_NPROCESSORS_ONLN) != (on ? n : 1)) {
                snprintf(why, sizeof(why), "round %d: %ld CPUs online, expected %d", r + 1,
                         sysconf(_SC_NPROCESSORS_ONLN), on ? n : 1);
                bad = 1;
            }
        }
        if (!bad && atomic_load(&hp_work) == work0) {
            snprintf(why, sizeof(why), "round %d: the workers made no progress", r + 1);
            bad = 1;
        }
        if (!bad)
            done++;
    }
    atomic_store(&hp_quit, 1);
    for (int i = 0; i < nw; i++)
        pthread_join(w[i], NULL);
    for (int cpu = 1; cpu < n; cpu++)          /* leave every CPU online */
        if (cpu_online_get(cpu) == 0)
            cpu_online_set(cpu, 1);
    for (int i = 0; i < n; i++) {
        void *res = (void *)1;

        if (!pthread_create(&pr[i], NULL, hp_probe, (void *)(intptr_t)i))
            pthread_join(pr[i], &res);
        probes_ok += res == NULL;
    }
    check("hotplug", !bad && done == rounds && nw == n && probes_ok == n,
          "%d of %d rounds took CPUs 1-%d offline and online under %d workers (%ld work "
          "items) in %.1f s; afterwards %d of %d CPUs ran a pinned thread and a 100 ms "
          "sleep%s%s",
          done, rounds, n - 1, nw, atomic_load(&hp_work),
          (double)(ns_of(CLOCK_MONOTONIC) - t0) / 1e9, probes_ok, n, bad ? "; " : "", why);
}

/* --------------------------------------------------------- console input */
/* The test harness types TEXT and a newline on the console (QEMU's serial
 * under QEMU-direct, `xl console` on the bed); the shim puts it into the
 * PV console ring's in[] side, Linux's hvc0 reads it: stdin here. */
static void c_conin(const char *want)
{
    char line[256];
    size_t len = 0;
    uint32_t h = 2166136261u;           /* FNV-1a of the line read */
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    uint64_t t0 = ns_of(CLOCK_MONOTONIC);
    int timed_out = 0;

    printf("linuxcheck: waiting for console input\n");
    fflush(stdout);
    while (len < sizeof(line) - 1) {
        int left = 60000 - (int)((ns_of(CLOCK_MONOTONIC) - t0) / 1000000);
        char c;

        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            timed_out = 1;
            break;
        }
        if (read(0, &c, 1) != 1) {
            timed_out = 1;
            break;
        }
        if (c == '\n' || c == '\r')
            break;
        line[len++] = c;
    }
    line[len] = 0;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)line[i]) * 16777619u;
    check("console-in", !timed_out && !strcmp(line, want),
          "read \"%s\" (%zu bytes, fnv1a %08x) from the console%s, expected \"%s\"", line, len, h,
          timed_out ? " before a 60 s timeout" : "", want);
}

int main(int argc, char **argv)
{
    unsigned long forks = 1000;
    int hotplug = 0;
    const char *conin = NULL;

    if (argc > 1 && !strcmp(argv[1], "noop"))
        return argc > 2 ? atoi(argv[2]) : 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "fork=", 5))
            forks = strtoul(argv[i] + 5, NULL, 10);
        else if (!strncmp(argv[i], "hotplug=", 8))
            hotplug = atoi(argv[i] + 8);
        else if (!strncmp(argv[i], "conin=", 6))
            conin = argv[i] + 6;
        else {
            fprintf(stderr, "usage: linuxcheck [fork=N] [hotplug=R] [conin=TEXT] | noop [STATUS]\n");
            return 2;
        }
    }
    ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };

    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    c_cpuinfo();
    c_threads();
    c_stale(0);
    c_stale(1);
    c_signals();
    c_sleep();
    c_fork_exec(forks);
    if (hotplug > 0)
        c_hotplug(hotplug);
    if (conin)
        c_conin(conin);
    printf("RESULT linux %s\n", failures ? "FAIL" : "PASS");
    fflush(stdout);
    return failures ? 1 : 0;
}
