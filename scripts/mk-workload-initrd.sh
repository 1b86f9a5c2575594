#!/usr/bin/env bash
# mk-workload-initrd.sh WORKLOAD OUT.cpio.gz [ARGS...] - an initramfs that
# runs the Linux workload program (tests/guests/linux/workload.c) as the
# guest's whole user space and powers the guest off: busybox (static) for
# /init, the static workload binary, nothing else. /init prints
# "WORKLOAD-START", the program's WORKLOAD lines, then
# "RESULT workload PASS|FAIL <status>" on the console (the same lines
# scripts/bench-report.py reads from any guest console) and powers off.
# ARGS go to the program (default: all).
#
# The guest's kernel command line can override ARGS: Linux hands a
# parameter without a dot to init as an environment variable, so
# "wlargs=fork-exec,n=200+build,jobs=10" runs "workload fork-exec n=200"
# then "workload build jobs=10" (',' for a space, '+' between runs; the
# bed's xl config cannot quote spaces). WORKLOAD-START also goes to
# /dev/kmsg, so the console shows it with the kernel's printk timestamp
# (the clock of "Run /init as init process"): make bench's boot timing
# (docs/bench.md).
set -euo pipefail
wl=${1:?usage: mk-workload-initrd.sh WORKLOAD OUT.cpio.gz [ARGS...]}
out=${2:?usage: mk-workload-initrd.sh WORKLOAD OUT.cpio.gz [ARGS...]}
shift 2
args=${*:-all}
[ -x /bin/busybox ] || { echo "mk-workload-initrd: /bin/busybox missing (busybox-static)" >&2; exit 2; }
file "$wl" 2>/dev/null | grep -q "statically linked" ||
    { echo "mk-workload-initrd: $wl is not a static binary (make workload)" >&2; exit 2; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp}
cp /bin/busybox "$root/bin/busybox"
for a in sh mount echo grep poweroff sync tr; do ln -s busybox "$root/bin/$a"; done
cp "$wl" "$root/bin/workload"
# $args is expanded now (the default); every \$ is /init's own.
cat >"$root/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
cpus=\$(grep -c ^processor /proc/cpuinfo)
echo "WORKLOAD-START cpus=\$cpus"
echo "WORKLOAD-START cpus=\$cpus" >/dev/kmsg 2>/dev/null
rc=0
for a in \$(echo "\${wlargs:-$args}" | tr ' +' ',\n'); do
    /bin/workload \$(echo "\$a" | tr ',' ' ') || { rc=\$?; break; }
done
if [ \$rc = 0 ]; then echo "RESULT workload PASS"; else echo "RESULT workload FAIL status \$rc"; fi
sync
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . -print0 | sort -z | cpio --quiet -o -0 -H newc -R 0:0 | gzip -9) >"$out"
echo "mk-workload-initrd: $out ($(stat -c %s "$out") bytes): /init runs workload ${args}"
