#!/usr/bin/env bash
# extract-vmlinux.sh [BZIMAGE] OUT: unpack a Linux bzImage to its ELF vmlinux
# (the PV-bootable ELF that carries the Xen ELF notes). Same method as
# tests/bed/mk-dom0.sh: find the compressed payload by its magic (xz, zstd,
# gzip) and keep the first candidate that decompresses to an ELF file.
# Without BZIMAGE the newest /boot/vmlinuz-* (not -cloud-) is used.
set -uo pipefail

if [ $# -eq 1 ]; then
    img=$(ls /boot/vmlinuz-* 2>/dev/null | grep -v cloud | sort -V | tail -n 1)
    dst=$1
elif [ $# -eq 2 ]; then
    img=$1 dst=$2
else
    echo "usage: $0 [BZIMAGE] OUT" >&2; exit 64
fi
[ -n "$img" ] && [ -r "$img" ] || { echo "extract-vmlinux: no readable kernel image ('$img')" >&2; exit 1; }

# Already an ELF (a vmlinux): copy it.
if [ "$(head -c 4 "$img" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
    cp "$img" "$dst"; exit 0
fi

tmp="$dst.tmp.$$"
trap 'rm -f "$tmp"' EXIT
for pair in 'xz|\xfd7zXZ\x00' 'zstd|\x28\xb5\x2f\xfd' 'gzip|\x1f\x8b\x08'; do
    tool=${pair%%|*}
    magic=${pair#*|}
    command -v "$tool" >/dev/null || continue
    for off in $(LC_ALL=C grep -obUaP "$magic" "$img" 2>/dev/null | head -n 4 | cut -d: -f1); do
        tail -c +$((off + 1)) "$img" | "$tool" -dc >"$tmp" 2>/dev/null
        if [ "$(head -c 4 "$tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
            mv "$tmp" "$dst"
            echo "extract-vmlinux: $img -> $dst ($tool payload at offset $off)"
            exit 0
        fi
    done
done
echo "extract-vmlinux: no xz/zstd/gzip payload of $img decompresses to an ELF" >&2
exit 1
