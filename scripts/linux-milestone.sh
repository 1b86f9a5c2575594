#!/usr/bin/env bash
# linux-milestone.sh LOG: the furthest milestone a Linux PV guest's boot
# reached in the shim's serial LOG (scripts/run-linux.sh, the Linux cases of
# tests/qemu/test-qemu.sh). Prints it; exits 0 when the kernel booted
# (reached its root mount / init) and no user-space check failed, 1
# otherwise.
set -uo pipefail
log=${1:?usage: linux-milestone.sh LOG}
[ -r "$log" ] || { echo "(no log $log)"; exit 1; }

# Milestones of a Linux PV boot, in order (docs/linux-guest.md).
stages=(
  "guest: entering the PV guest|the shim entered the guest"
  "mapping kernel into physical memory|xen_start_kernel ran (raw console)"
  "Linux version|start_kernel: first printk"
  "Hypervisor detected: Xen PV|setup_arch: Xen PV detected"
  "Zone ranges:|setup_arch: memory map and zones"
  "Booting kernel on Xen|setup_per_cpu_areas"
  "printk: console \[hvc0\] enabled|hvc0 console up"
  "x86/fpu:|identify_boot_cpu (CPUID, FPU)"
  "smp: Brought up|SMP bring-up"
  "devtmpfs: initialized|driver core"
  "clocksource: Switched to clocksource|clocksource switch"
  "Freeing unused kernel|initcalls done"
  "VFS: Unable to mount root|BOOTED: root mount (no root device given)"
  "No working init found|BOOTED: looked for init"
  "Run /init as init process|initramfs /init started by the kernel"
  "minishim-linux: /init running|BOOTED: user space: /init running"
  "CHECK [a-z-]+ (PASS|FAIL) |BOOTED: user-space checks running (tests/guests/linux/linuxcheck.c)"
  "RESULT linux FAIL|user-space checks ran, some FAILED"
  "RESULT linux PASS|BOOTED: user-space checks passed"
  "minishim-linux: (powering off|rebooting|panicking)|BOOTED: /init ran to its end (poweroff, reboot or panic)"
)
reached="(nothing: see the log)"
booted=0
for s in "${stages[@]}"; do
    pat=${s%|*}
    if grep -aqE "$pat" "$log"; then
        reached=${s##*|}
        case $reached in BOOTED*) booted=1 ;; *) booted=0 ;; esac
    fi
done

# A failed check is a failed run, however far the boot got.
if grep -aqE "CHECK [a-z-]+ FAIL|RESULT linux FAIL" "$log"; then
    booted=0
    reached="$reached; user-space checks FAILED: $(grep -aoE 'CHECK [a-z-]+ FAIL' "$log" | awk '{print $2}' | tr '\n' ' ')"
fi

echo "$reached"
[ "$booted" = 1 ]
