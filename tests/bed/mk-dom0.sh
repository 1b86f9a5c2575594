#!/usr/bin/env bash
# mk-dom0.sh OUTDIR - prepare the bed's fixed parts from Debian packages,
# cached in OUTDIR (build/bed/) and rebuilt only when an input changes:
#
#   OUTDIR/xen               L0: Debian's Xen 4.17, unpacked (multiboot ELF)
#   OUTDIR/dom0-kernel       dom0 kernel (Debian linux-image-amd64), unpacked
#                            from the bzImage to its ELF vmlinux when possible:
#                            Xen then skips decompressing it under TCG, which
#                            takes ~6 s of every boot
#   OUTDIR/dom0-base.cpio.gz dom0 initramfs: busybox, Xen modules, toolstack,
#                            PV backends (xen-blkback, xen-netback, loop,
#                            bridge) with xl's hotplug scripts from Debian
#                            (/etc/xen/scripts: block, vif-bridge and what
#                            they source) and the tools they run (bash,
#                            losetup, xenstore-*): docs/pv-devices.md
#   OUTDIR/bed-viridian      the bed's own dom0 tool (tests/bed/dom0/bed-viridian.c,
#                            built here against Debian's libxenctrl from
#                            libxen-dev): sets HVM_PARAM_VIRIDIAN on a paused
#                            domain (run-bed.sh --viridian)
#   OUTDIR/bed-postmortem    dom0 tool (tests/bed/dom0/bed-postmortem.c): the
#                            CPU record and descriptor tables of a stopped
#                            domain, for guests that did not end as expected
#
# The per-run part (guests, shims, xl configs) is a second cpio archive that
# run-bed.sh appends; Linux unpacks concatenated archives in order.
set -euo pipefail

out=${1:?usage: mk-dom0.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
XEN_GZ=/boot/xen-4.17-amd64.gz
XEN_BIN=/usr/lib/xen-4.17/bin
MODULES=(xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs)
# PV device backends, in load order (dependencies first: modinfo depends).
BACKEND_MODULES=(loop llc stp bridge xen-blkback xen-netback)
TOOLS=(xl xenstored xen-init-dom0 xenconsoled libxl-save-helper)
# What /etc/xen/scripts/block and vif-bridge run that busybox has not (or
# not in the form they parse: block reads util-linux's `losetup -a`;
# locking.sh needs flock(1), which this busybox lacks).
HOTPLUG_TOOLS=(/bin/bash /sbin/losetup /usr/bin/xenstore-read /usr/bin/xenstore-write
               /usr/bin/xenstore-exists /usr/bin/xenstore-rm /usr/bin/xenstore-list
               /usr/bin/flock)
HOTPLUG_SCRIPTS=/etc/xen/scripts

die() { echo "mk-dom0: $*" >&2; exit 1; }

# extract_vmlinux BZIMAGE OUT: find the compressed payload (xz, zstd or gzip
# magic) and unpack it; succeed only if the result is an ELF file.
extract_vmlinux() {
    local img=$1 dst=$2 magic tool off
    for pair in 'xz|\xfd7zXZ\x00' 'zstd|\x28\xb5\x2f\xfd' 'gzip|\x1f\x8b\x08'; do
        tool=${pair%%|*}
        magic=${pair#*|}
        command -v "$tool" >/dev/null || continue
        for off in $(LC_ALL=C grep -obUaP "$magic" "$img" 2>/dev/null | head -n 4 | cut -d: -f1); do
            tail -c +$((off + 1)) "$img" | "$tool" -dc >"$dst" 2>/dev/null
            if [ "$(head -c 4 "$dst" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
                return 0
            fi
        done
    done
    rm -f "$dst"
    return 1
}

# Newest installed kernel that can be a PV dom0 (has the xenfs module;
# the -cloud- flavour has no dom0 support).
kver=""
for k in $(ls /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V); do
    case "$k" in *cloud*) continue ;; esac
    if [ -e "/lib/modules/$k/kernel/drivers/xen/xenfs/xenfs.ko" ] ||
       [ -e "/lib/modules/$k/kernel/drivers/xen/xenfs/xenfs.ko.xz" ]; then
        kver=$k
    fi
done
[ -n "$kver" ] || die "no dom0-capable kernel in /boot (need linux-image-amd64)"
[ -r "$XEN_GZ" ] || die "$XEN_GZ missing (need xen-hypervisor-4.17-amd64)"
[ -x "$XEN_BIN/xl" ] || die "$XEN_BIN/xl missing (need xen-utils-4.17)"
[ -x /bin/busybox ] || die "/bin/busybox missing (need busybox-static)"
[ -x "$HOTPLUG_SCRIPTS/block" ] && [ -x "$HOTPLUG_SCRIPTS/vif-bridge" ] ||
    die "$HOTPLUG_SCRIPTS/block or vif-bridge missing (need xen-utils-common)"
for t in "${HOTPLUG_TOOLS[@]}"; do
    [ -x "$t" ] || die "$t missing (need bash, mount, util-linux, xen-utils-common)"
done
command -v cpio >/dev/null || die "cpio missing"
[ -r /usr/include/xenctrl.h ] || die "/usr/include/xenctrl.h missing (need libxen-dev)"
command -v gcc >/dev/null || die "gcc missing"
mkdir -p "$out"
# The bed's own dom0 tools (NAME:LIBS), each rebuilt when its source is
# newer: bed-viridian, bed-postmortem, and bed-peer (dom0's half of the
# gpeer guest: grant map + interdomain event channel).
DOM0_TOOLS=("bed-viridian:-lxenctrl" "bed-postmortem:-lxenctrl"
            "bed-peer:-lxengnttab -lxenevtchn")
for spec in "${DOM0_TOOLS[@]}"; do
    tool=${spec%%:*}
    src="$here/dom0/$tool.c"
    if [ ! -x "$out/$tool" ] || [ "$src" -nt "$out/$tool" ]; then
        # shellcheck disable=SC2086 # the library list splits on purpose
        gcc -O2 -Wall -Wextra -Werror -o "$out/$tool.tmp" "$src" ${spec#*:} ||
            die "could not build $src (need libxen-dev)"
        mv "$out/$tool.tmp" "$out/$tool"
    fi
done

# Host files that go into the archive (binaries first; libraries via ldd).
files=(/bin/busybox "${HOTPLUG_TOOLS[@]}")
for t in "${TOOLS[@]}"; do files+=("$XEN_BIN/$t"); done
libs=$( (for t in "${TOOLS[@]}"; do ldd "$XEN_BIN/$t"; done
         for t in "${HOTPLUG_TOOLS[@]}"; do ldd "$t"; done
         for spec in "${DOM0_TOOLS[@]}"; do ldd "$out/${spec%%:*}"; done) |
       awk '/=>/ && $3 ~ /^\// {print $3} /^[ \t]*\/[^ ]*ld-linux/ {print $1}' |
       sort -u)
# libgcc_s is dlopen()ed by glibc for pthread_cancel/unwinding: not in ldd.
gcc_s=$(ls /lib/x86_64-linux-gnu/libgcc_s.so.1 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 2>/dev/null | head -n 1)
[ -n "$gcc_s" ] || die "libgcc_s.so.1 not found"
libs="$libs $gcc_s"
# module_paths DIR NAME...: each module's file under DIR, in NAME order.
module_paths() {
    local dir=$1 m p
    shift
    for m in "$@"; do
        p=$(find "$dir" -name "$m.ko*" | head -n 1)
        [ -n "$p" ] || die "module $m not found for $kver"
        echo "$p"
    done
}
# (assignments, so that a missing module stops the script: set -e)
paths=$(module_paths "/lib/modules/$kver/kernel/drivers/xen" "${MODULES[@]}")
mapfile -t mods <<<"$paths"
paths=$(module_paths "/lib/modules/$kver/kernel" "${BACKEND_MODULES[@]}")
mapfile -t bmods <<<"$paths"

# Cache key: every input's identity plus the scripts that shape the output.
key=$( {
    echo "kernel $kver"
    for f in "$XEN_GZ" "/boot/vmlinuz-$kver" "${files[@]}" $libs "${mods[@]}" "${bmods[@]}" \
             "$HOTPLUG_SCRIPTS"/* \
             "$here/mk-dom0.sh" "$here/dom0/init" "$here/dom0/run-guests.sh" \
             "$here/dom0/net-peer.sh" "$out/bed-viridian" "$out/bed-postmortem" "$out/bed-peer"; do
        stat -L -c '%n %s %Y' "$f"
    done
    cat "$here/mk-dom0.sh" "$here/dom0/init" "$here/dom0/run-guests.sh" "$here/dom0/net-peer.sh" \
        "$here/dom0/bed-viridian.c" "$here/dom0/bed-postmortem.c" "$here/dom0/bed-peer.c"
} | sha256sum | cut -d' ' -f1)

if [ -f "$out/dom0.key" ] && [ "$(cat "$out/dom0.key")" = "$key" ] &&
   [ -f "$out/xen" ] && [ -f "$out/dom0-kernel" ] && [ -f "$out/dom0-base.cpio.gz" ]; then
    exit 0
fi

echo "mk-dom0: building L0/dom0 images in $out (kernel $kver)" >&2
rm -f "$out/dom0.key"
zcat "$XEN_GZ" >"$out/xen.tmp" && mv "$out/xen.tmp" "$out/xen"
if ! extract_vmlinux "/boot/vmlinuz-$kver" "$out/dom0-kernel"; then
    echo "mk-dom0: could not unpack the bzImage, Xen will decompress it" >&2
    cp "/boot/vmlinuz-$kver" "$out/dom0-kernel"
fi

root="$out/dom0-root"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,run,tmp,root,bed} \
         "$root"/var/{log/xen,lib/xen} "$root/lib/modules/bed" \
         "$root/etc/xen"
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
for t in "${TOOLS[@]}"; do
    install -D -m 0755 "$XEN_BIN/$t" "$root$XEN_BIN/$t"
done
for l in $libs; do
    install -D -m 0755 "$(readlink -f "$l")" "$root$l"
done
for p in "${mods[@]}" "${bmods[@]}"; do
    case "$p" in
        *.xz) xz -dc "$p" >"$root/lib/modules/bed/$(basename "${p%.xz}")" ;;
        *) cp "$p" "$root/lib/modules/bed/" ;;
    esac
done
echo "${BACKEND_MODULES[*]}" >"$root/lib/modules/bed/backends.list"
# Hotplug: libxl runs /etc/xen/scripts/block (a file disk: losetup, then
# physical-device for blkback) and vif-bridge (the vif into the bridge
# named in the vif line) itself (xl.conf run_hotplug_scripts, default 1).
# Into /bin, where busybox --install (dom0's /init) leaves them alone and
# PATH finds them before busybox's losetup applet.
for t in "${HOTPLUG_TOOLS[@]}"; do
    install -m 0755 "$t" "$root/bin/$(basename "$t")"
done
cp -a "$HOTPLUG_SCRIPTS" "$root/etc/xen/scripts"
cp /etc/xen/xl.conf "$root/etc/xen/xl.conf" 2>/dev/null || true
install -m 0755 "$here/dom0/init" "$root/init"
install -m 0755 "$here/dom0/run-guests.sh" "$root/bed/run-guests.sh"
install -m 0755 "$here/dom0/net-peer.sh" "$root/bed/net-peer.sh"
install -m 0755 "$out/bed-viridian" "$root/bed/bed-viridian"
install -m 0755 "$out/bed-postmortem" "$root/bed/bed-postmortem"
install -m 0755 "$out/bed-peer" "$root/bed/bed-peer"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

(cd "$root" && find . -print0 | sort -z |
     cpio --quiet -o -0 -H newc -R 0:0) | gzip -1 >"$out/dom0-base.cpio.gz.tmp"
mv "$out/dom0-base.cpio.gz.tmp" "$out/dom0-base.cpio.gz"
echo "$key" >"$out/dom0.key"
