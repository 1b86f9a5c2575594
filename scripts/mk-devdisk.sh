#!/usr/bin/env bash
# mk-devdisk.sh OUT [SIZE]: the raw ext4 image the Linux guest's PV disk
# test boots from (docs/pv-devices.md): busybox (Debian's busybox-static)
# with every applet linked in /bin, tests/guests/linux/devtest.sh as /init,
# made with mke2fs -d (e2fsprogs), SIZE default 32M. The initramfs's /init
# (scripts/mk-initramfs.sh, minishim.root=xvda) mounts it and switches to it.
set -euo pipefail
out=${1:?usage: mk-devdisk.sh OUT [SIZE]}
size=${2:-32M}
here=$(cd "$(dirname "$0")" && pwd)
bb=/bin/busybox
file -L "$bb" 2>/dev/null | grep -q 'statically linked' ||
  { echo "mk-devdisk: $bb is not static (busybox-static is needed)" >&2; exit 1; }
command -v mke2fs >/dev/null || { echo "mk-devdisk: no mke2fs (e2fsprogs)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,proc,sys,dev,tmp,data,mnt}
cp "$bb" "$root/bin/busybox"
for a in $("$bb" --list); do
  [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done
install -m 0755 "$here/../tests/guests/linux/devtest.sh" "$root/init"
rm -f "$out.tmp"
mke2fs -q -t ext4 -L minishim-pvdisk -d "$root" -F "$out.tmp" "$size"
mv "$out.tmp" "$out"
