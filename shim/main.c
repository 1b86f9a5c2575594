/*
 * Composition root: the order of the shim's start of day. Each step lives
 * in its own file; this one only sequences them and reports what it found.
 */
#include <stdio.h>
#include <string.h>
#include <minishim/xen-public.h>
#include <minishim/acpi.h>
#include <minishim/bzimage.h>
#include <minishim/arch.h>
#include <minishim/boot.h>
#include <minishim/build_version.h>
#include <minishim/console.h>
#include <minishim/elf.h>
#include <minishim/flush.h>
#include <minishim/flush_defer.h>
#include <minishim/inject.h>
#include <minishim/ptdebug.h>
#include <minishim/l0.h>
#include <minishim/page_alloc.h>
#include <minishim/percpu.h>
#include <minishim/pv_domain.h>
#include <minishim/shim.h>
#include <minishim/smp.h>
#include <minishim/timer.h>
#include <minishim/tlbclock.h>
#include <minishim/trap.h>

struct shim_config shim_cfg;
struct boot_info boot_info;

/* Warnings found before the console is configured are replayed after. */
static char early_warnings[1024];

static void collect_warning(void *ctx, const char *msg)
{
    size_t used = strlen(early_warnings);

    (void)ctx;
    snprintf(early_warnings + used, sizeof(early_warnings) - used,
             "cmdline: %s\n", msg);
}

static const char *shutdown_reason_name(unsigned int reason)
{
    switch (reason) {
    case SHUTDOWN_poweroff: return "poweroff";
    case SHUTDOWN_reboot: return "reboot";
    case SHUTDOWN_suspend: return "suspend";
    case SHUTDOWN_crash: return "crash";
    case SHUTDOWN_watchdog: return "watchdog";
    default: return "unknown";
    }
}

/* L0 console calls that failed at run time (hypercall/xen.c,
 * hypercall/xen_console.c): said once, at the end, where a test and a
 * reader of the log look. */
static void report_l0_console_errors(void)
{
    long err = 0;
    unsigned long n;

    if ((n = xen_pvconsole_kick_failures(&err)))
        pr_warn("console: %lu kicks of L0's console port failed twice (last %ld); "
                "their text waited in the ring for the next kick\n", n, err);
    if ((n = xen_console_io_lost(&err)))
        pr_warn("console: console_io failed twice for %lu bytes (last %ld); "
                "the other console sinks have that text\n", n, err);
}

void __noreturn shim_shutdown(unsigned int reason)
{
    pr_info("minishim: shutting down (%s)\n", shutdown_reason_name(reason));
    flush_stats_print();
    inject_print();
    if (xen_pvconsole_dropped())
        pr_warn("console: %lu bytes dropped: L0's PV console ring stayed full\n",
                xen_pvconsole_dropped());
    report_l0_console_errors();
    if (trap_wfi_shadow_count())
        pr_info("trap: %lu interrupt(s) arrived on the idle hlt inside sti's shadow "
                "and were resumed past it (an L0 that delivers there)\n",
                trap_wfi_shadow_count());
    l0_shutdown(reason);
}

void __noreturn shim_vcrash(const char *what, const char *fmt, va_list ap)
{
    char msg[256];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    pr_err("%s: %s\n", what, msg);
    shim_shutdown(SHUTDOWN_crash);
}

void __noreturn panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    shim_vcrash("PANIC", fmt, ap);
}

static void report_l0(void)
{
    const struct l0_detect *d = l0_detected();

    if (d->xen)
        pr_info("l0: Xen %u.%u (CPUID base 0x%08x, hypercall MSR 0x%08x)\n",
                d->xen_major, d->xen_minor, d->xen_base, d->xen_hcall_msr);
    if (d->hyperv)
        pr_info("l0: Hyper-V interface (CPUID base 0x%08x, max leaf 0x%08x, interface 0x%08x)\n",
                d->hyperv_base, d->hyperv_max_leaf, d->hyperv_interface);
    if (d->other_sig[0])
        pr_info("l0: other hypervisor signature \"%s\" at 0x%08x (not used)\n",
                d->other_sig, d->other_base);
    if (!d->xen && !d->hyperv)
        pr_info("l0: no Xen or Hyper-V interface found (CPUID hypervisor bit %s)\n",
                d->hv_bit ? "set" : "clear");
    pr_info("l0: using backend '%s'%s\n", l0_name(),
            l0_kind() == L0_NONE ? " (no assisted flush: IPIs only)" : "");
    pr_info("l0: flush backend '%s' (%s; l0-flush=%s)\n", l0_flush_backend_name(),
            l0_flush_why(), l0_flush_use_name(shim_cfg.l0_flush));
    if (shim_cfg.l0_selftest)
        l0_selftest();
}

static void fetch_memmap_from_xen(void)
{
    static struct e820entry { uint64_t addr, size; uint32_t type; } __packed map[BOOT_MAX_MEMMAP];
    unsigned int nr = 0;
    int rc = xen_memory_map(map, BOOT_MAX_MEMMAP, &nr);

    if (rc) {
        pr_warn("mem: XENMEM_memory_map failed (%d)\n", rc);
        return;
    }
    for (unsigned int i = 0; i < nr && i < BOOT_MAX_MEMMAP; i++)
        bootinfo_add_memmap(&boot_info, map[i].addr, map[i].size, map[i].type);
}

static void report_memory(void)
{
    if (!boot_info.nr_memmap && l0_kind() == L0_XEN) {
        pr_info("mem: no memory map in hvm_start_info, asking L0 (XENMEM_memory_map)\n");
        fetch_memmap_from_xen();
    }
    pr_info("mem: memory map (%u entries):\n", boot_info.nr_memmap);
    for (unsigned int i = 0; i < boot_info.nr_memmap; i++) {
        const struct boot_memmap_entry *e = &boot_info.memmap[i];

        pr_info("  %016lx-%016lx %s\n", (unsigned long)e->addr,
                (unsigned long)(e->addr + e->size - 1), memmap_type_name(e->type));
    }
    pr_info("mem: %lu MiB RAM; shim image %lx-%lx\n",
            (unsigned long)(bootinfo_ram_bytes(&boot_info) >> 20),
            (unsigned long)image_phys_start().pa,
            (unsigned long)image_phys_end().pa);
}

/* The frame allocator, before anything takes frames from it (the APs'
 * per-CPU areas, then the guest in pv/start.c). */
static void memory_init(paddr_t start_info)
{
    page_alloc_init(&boot_info, image_phys_start(), image_phys_end(), start_info);
    /* Pages L0 Xen gave the shim's own domain (console and xenstore
     * rings): never hand them to the guest, should they lie in RAM. */
    if (l0_kind() == L0_XEN) {
        static const unsigned int params[] = { HVM_PARAM_CONSOLE_PFN,
                                               HVM_PARAM_STORE_PFN };

        for (unsigned int i = 0; i < ARRAY_SIZE(params); i++) {
            uint64_t pfn = 0;

            if (!xen_get_hvm_param(params[i], &pfn) && pfn)
                page_alloc_reserve(pa(pfn << PAGE_SHIFT), PAGE_SIZE);
        }
    }
}

/*
 * Per-CPU tables and stacks for the CPUs present (the MADT's, as smp_init
 * counted them), taken now so the guest is sized with them gone; a CPU
 * whose area does not fit is left out. Then the shim's footprint: the
 * image (text, data, bss: the boot CPU's area is static) plus the APs'.
 */
static void percpu_init(void)
{
    unsigned int got = 1;
    unsigned long img = image_phys_end().pa - image_phys_start().pa;

    for (unsigned int c = 1; c < nr_cpus_possible; c++) {
        if (arch_cpu_alloc(c)) {
            pr_warn("mem: no frames for CPU %u's tables and stacks; "
                    "%u CPUs usable\n", c, c);
            nr_cpus_possible = c;
            break;
        }
        got++;
    }
    pr_info("mem: shim footprint %lu KiB: image %lu KiB + %u AP%s x %lu KiB per-CPU\n",
            (img + (got - 1) * arch_cpu_area_bytes()) >> 10, img >> 10,
            got - 1, got == 2 ? "" : "s", arch_cpu_area_bytes() >> 10);
}

static void report_cpus(void)
{
    paddr_t rsdp = acpi_find_rsdp(boot_info.rsdp);
    int cpus = acpi_count_cpus(rsdp);

    if (cpus > 0)
        pr_info("cpu: %d CPU%s (ACPI MADT)\n", cpus, cpus == 1 ? "" : "s");
    else
        pr_info("cpu: no ACPI MADT; assuming 1 CPU\n");
}

/* Check module 0 is a 64-bit Xen PV kernel (an ELF, or a bzImage /
 * compressed kernel: its ELF is checked once decompressed, pv/start.c)
 * and describe it. */
static int inspect_guest(const struct boot_module *m)
{
    struct kernel_payload kp;
    struct elf_image img;
    struct xen_notes notes;
    char err[160];

    pr_info("guest: module 0 at %lx, %lu bytes, cmdline \"%s\"\n",
            (unsigned long)m->start.pa, (unsigned long)m->size, m->cmdline);
    if (kernel_probe(arch_phys_to_virt(m->start), m->size, &kp, err, sizeof(err))) {
        pr_err("guest: module 0 is not a usable PV kernel: %s\n", err);
        return -XEN_EINVAL;
    }
    if (kp.comp != KCOMP_NONE) {
        pr_info("guest: %s%s-compressed kernel, %lu bytes, %lu decompressed\n",
                kp.bzimage ? "bzImage, " : "", kernel_comp_name(kp.comp),
                (unsigned long)kp.len, (unsigned long)kp.out_len);
        return 0;
    }
    if (elf_check(kp.data, kp.len, &img, err, sizeof(err)) ||
        elf_xen_notes(&img, &notes, err, sizeof(err))) {
        pr_err("guest: module 0 is not a usable PV kernel: %s\n", err);
        return -XEN_EINVAL;
    }
    if (!notes.nr_notes) {
        pr_err("guest: module 0 has no Xen ELF notes; not a Xen PV kernel\n");
        return -XEN_EINVAL;
    }
    pr_info("guest: ELF64 x86-64, %u loadable segments, %lx-%lx, entry %lx\n",
            img.nr_load, (unsigned long)img.vstart,
            (unsigned long)img.vend, (unsigned long)img.entry);
    pr_info("guest: Xen notes: os \"%s\", xen \"%s\", loader \"%s\", features \"%s\"\n",
            notes.guest_os, notes.xen_version, notes.loader, notes.features);
    return 0;
}

void __noreturn shim_main(paddr_t start_info)
{
    const char *guest_args;
    char err[160];
    int pvcons_rc = -XEN_ENODEV;
    const char *input_from = "";
    int rc;

    /* COM1 first, so even a broken hvm_start_info is reported. */
    serial_init(COM1_PORT);
    console_add_sink("com1", serial_write);

    rc = bootinfo_parse(start_info, &boot_info, err, sizeof(err));
    cmdline_defaults(&shim_cfg);
    if (rc == 0)
        cmdline_parse(boot_info.cmdline, &shim_cfg, collect_warning, NULL);

    l0_setup(shim_cfg.l0_flush);

    /* Now apply console= and loglvl=. */
    console_remove_all_sinks();
    console_remove_all_sources();
    if (shim_cfg.console & CONSOLE_COM1) {
        console_add_sink("com1", serial_write);
        /* Input too, where a UART is there (a Xen PVH domU has none). */
        if (serial_present() && console_add_source("com1", serial_read))
            input_from = "com1";
    }
    if ((shim_cfg.console & CONSOLE_XEN) && l0_kind() == L0_XEN)
        console_add_sink("xen", l0_console_write);
    if ((shim_cfg.console & CONSOLE_PV) && l0_kind() == L0_XEN) {
        pvcons_rc = xen_pvconsole_init();
        if (pvcons_rc == 0) {
            console_add_sink("pv", xen_pvconsole_write);
            if (console_add_source("pv", xen_pvconsole_read))
                input_from = *input_from ? "com1 and L0's PV console ring" :
                                           "L0's PV console ring";
        }
    }
    console_set_level(shim_cfg.loglvl);

    /* The same version and commit as the Debian package (make deb). */
    pr_info("minishim " MINISHIM_FULL_VERSION ": PV shim for 64-bit Xen PV guests "
            "(commit " MINISHIM_COMMIT ")\n");
    if (rc)
        panic("bad hvm_start_info: %s", err);
    pr_info("boot: hvm_start_info v%u, cmdline \"%s\"\n", boot_info.version,
            boot_info.cmdline);
    if (early_warnings[0])
        pr_warn("%s", early_warnings);
    pr_info("console: guest console input from %s\n", *input_from ? input_from : "nowhere");
    if ((shim_cfg.console & CONSOLE_XEN) && shim_cfg.console_set && l0_kind() != L0_XEN)
        pr_info("console: 'xen' requested but L0 is not Xen; using the others\n");
    if ((shim_cfg.console & CONSOLE_PV) && l0_kind() == L0_XEN && pvcons_rc)
        pr_warn("console: no PV console ring from L0 (HVM_PARAM_CONSOLE_PFN/EVTCHN: %d)\n",
                pvcons_rc);

    /* Armed before the first L0 call a point covers (the event channel
     * set-up's memory op); the console is up to say so. */
    inject_init(&shim_cfg.inject);
    report_l0();
    if (l0_kind() == L0_XEN) {
        /* Upcalls from L0's event channels (hypercall/xen_evtchn.c): the
         * handler first, L0 may inject as soon as the vector is set. */
        int ev_rc;

        trap_set_irq_handler(L0_UPCALL_VECTOR, l0_evtchn_upcall);
        ev_rc = l0_evtchn_init(L0_UPCALL_VECTOR);
        if (ev_rc)
            pr_warn("l0: no event channel upcalls from L0 (%d); no xenstore for the guest\n",
                    ev_rc);
    }
    flush_init(shim_cfg.flush);
    tlbclock_init(shim_cfg.tlbclock, 1);
    flush_defer_init(shim_cfg.flush_safety, 0);
    pr_info("flush: flush-safety=%s\n", flush_safety_name(shim_cfg.flush_safety));
    pr_info("flush: flush=%s, tlbclock=%s, L0 flush %s\n", flush_policy_name(shim_cfg.flush),
            shim_cfg.tlbclock ? "on" : "off",
            !(l0_flush_caps() & L0_FLUSH_AVAILABLE) ? "unavailable" :
            (l0_flush_caps() & L0_FLUSH_RECOMMENDED) ? "available (recommended)" :
            "available (not recommended)");
    ptdebug_init(shim_cfg.debug);
    if (l0_kind() == L0_XEN && (shim_cfg.console & CONSOLE_XEN) && xen_console_io_refused())
        pr_info("console: L0 refuses console_io (a release build of Xen does so for domUs); "
                "%s\n", xen_pvconsole_ready() ? "using the PV console ring" : "no L0 console left");
    report_memory();
    memory_init(start_info);
    report_cpus();
    smp_init(&boot_info, acpi_find_rsdp(boot_info.rsdp));
    percpu_init();
    clock_init();       /* TSC, wallclock, APIC timer (shim/timer.c) */
    if (shim_cfg.smp_selftest)
        smp_selftest();
    if (shim_cfg.l0_flush_probe)
        l0_flush_probe(shim_cfg.l0_flush_probe, arch_cpu_id(), clock_tsc_khz());

    if (boot_info.nr_modules == 0) {
        pr_err("guest: no PV guest kernel given (no module 0 in hvm_start_info; "
               "QEMU: -initrd <kernel>, xl: kernel=)\n");
        shim_shutdown(SHUTDOWN_crash);
    }
    rc = bootinfo_split_bundle(&boot_info, err, sizeof(err));
    if (rc < 0) {
        pr_err("guest: bad module bundle: %s\n", err);
        shim_shutdown(SHUTDOWN_crash);
    }
    if (rc > 0)
        pr_info("guest: module bundle: %d parts (kernel%s)\n", rc,
                rc > 1 ? ", initrd" : "");
    guest_args = cmdline_guest_args(boot_info.cmdline);
    if (guest_args && !boot_info.modules[0].cmdline[0])
        snprintf(boot_info.modules[0].cmdline, sizeof(boot_info.modules[0].cmdline),
                 "%s", guest_args);
    if (inspect_guest(&boot_info.modules[0]))
        shim_shutdown(SHUTDOWN_crash);

    /* Build the PV domain and enter it (pv/start.c); never returns. */
    pv_start(start_info);
}
