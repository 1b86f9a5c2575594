#!/usr/bin/env bash
# run-linux.sh: boot Debian's installed Linux kernel as the PV guest of
# minishim under QEMU-direct (`make linux`) and say how far it got.
#   BUILD_DIR      build directory (default: build), holds minishim.elf
#   LINUX_IMAGE    bzImage or vmlinux (default: newest /boot/vmlinuz-*)
#   LINUX_TIMEOUT  seconds before QEMU is stopped (default 600; TCG is slow)
#   LINUX_MEM      QEMU RAM in MiB (default 1024), LINUX_SMP (default 1)
#   LINUX_INITRD   initramfs (default: built by scripts/mk-initramfs.sh from
#                  busybox-static and $BUILD_DIR/linuxcheck, the user-space
#                  assertions, into $BUILD_DIR/linux/initramfs.gz; "none":
#                  no initrd); passed with the kernel as a module bundle
#   LINUX_CMDLINE  guest command line
#   SHIM_CMDLINE   shim options (default loglvl=info)
# Exit 0 when the kernel booted (reached its root mount / init), 1 otherwise.
# With an initramfs "booted" means /init ran in user space.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build_dir=${BUILD_DIR:-$top/build}
out="$build_dir/linux"
mkdir -p "$out"
log="$out/boot.log"
guest_cmdline=${LINUX_CMDLINE:-earlyprintk=xen console=hvc0 loglevel=8}

src=${LINUX_IMAGE:-$(ls /boot/vmlinuz-* 2>/dev/null | grep -v cloud | sort -V | tail -n 1)}
[ -n "$src" ] || { echo "run-linux: no kernel under /boot (set LINUX_IMAGE)" >&2; exit 1; }
# The shim takes the bzImage as it is (pv/bzimage.c decompresses it).
initrd=${LINUX_INITRD:-$out/initramfs.gz}
check="$build_dir/linuxcheck"
[ -x "$check" ] || check=""
if [ "$initrd" = "$out/initramfs.gz" ] &&
   { [ ! -s "$initrd" ] || [ "$here/mk-initramfs.sh" -nt "$initrd" ] ||
     { [ -n "$check" ] && [ "$check" -nt "$initrd" ]; }; }; then
    "$here/mk-initramfs.sh" "$initrd" $check || exit 1
fi
[ "$initrd" = none ] && initrd=""

echo "run-linux: booting $src under minishim (QEMU TCG, smp ${LINUX_SMP:-1}," \
     "timeout ${LINUX_TIMEOUT:-600}s; log in $log)"
BUILD_DIR="$build_dir" "$top/tests/qemu/run-shim.sh" --quiet \
    --smp "${LINUX_SMP:-1}" --mem "${LINUX_MEM:-1024}" --timeout "${LINUX_TIMEOUT:-600}" \
    --guest "$src" ${initrd:+--initrd "$initrd"} --cmdline "${SHIM_CMDLINE:-loglvl=info} -- $guest_cmdline" \
    --log "$log"
rc=$?

# How far it got (the milestone list is in scripts/linux-milestone.sh).
reached=$("$here/linux-milestone.sh" "$log")
booted=$?

echo "---- last guest lines ----"
grep -avE '^(pv: |  [0-9a-f]{16}-|mem: |l0: )' "$log" | sed 's/^(guest) //' | tail -n 25
echo "---- shim ----"
grep -aE '^(ERROR|WARN|guest: |minishim: shutting)' "$log" | tail -n 5
echo "run-linux: furthest milestone: $reached"
case $rc in
  2) echo "run-linux: QEMU timed out after ${LINUX_TIMEOUT:-600}s" ;;
esac
[ "$booted" = 0 ]
