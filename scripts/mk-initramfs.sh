#!/usr/bin/env bash
# mk-initramfs.sh OUT: a small gzip'd cpio initramfs for Linux under
# minishim, from Debian's busybox-static: /init mounts /proc and /sys,
# prints what the milestones of scripts/run-linux.sh look for (user space
# reached, the vCPUs Linux sees), then powers off (or runs a shell with
# LINUX_INIT_SHELL=1 baked in as /etc/shell).
set -euo pipefail
out=$1
bb=/bin/busybox
[ -x "$bb" ] && "$bb" --list >/dev/null 2>&1 || { echo "mk-initramfs: no $bb (apt-get install busybox-static)" >&2; exit 1; }
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || ldd "$bb" 2>&1 | grep -q 'not a dynamic' ||
  { echo "mk-initramfs: $bb is not static (busybox-static is needed)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root}
cp "$bb" "$root/bin/busybox"
for a in sh mount umount cat echo ls uname poweroff reboot sleep date grep head; do
  ln -s busybox "$root/bin/$a"
done
cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "minishim-linux: /init running (pid $$)"
echo "minishim-linux: $(uname -sr), $(grep -c ^processor /proc/cpuinfo) CPU(s) online"
if [ -e /etc/shell ]; then exec sh; fi
echo "minishim-linux: powering off"
echo "RESULT linux PASS"
poweroff -f
INIT
chmod +x "$root/init"
[ "${LINUX_INIT_SHELL:-0}" = 1 ] && touch "$root/etc/shell"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9n) > "$out.tmp"
mv "$out.tmp" "$out"
