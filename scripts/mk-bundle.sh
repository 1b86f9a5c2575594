#!/usr/bin/env bash
# mk-bundle.sh OUT PART0 [PART1 ...]: pack files into one minishim module
# bundle (QEMU's PVH loader passes a single module; the shim splits the
# bundle back into modules 0, 1, ...: kernel, initrd). Format
# (include/minishim/bootinfo.h, docs/linux-guest.md): "MSHIMBND", u32
# version 1, u32 n, n x {u64 offset, u64 size} little-endian, each part at
# a 4 KiB-aligned offset.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OUT PART0 [PART1 ...]" >&2; exit 64; }
out=$1; shift
n=$#
off=$(( (16 + 16 * n + 4095) / 4096 * 4096 ))
offs=(); sizes=()
for f in "$@"; do
  [ -f "$f" ] || { echo "mk-bundle: no file $f" >&2; exit 1; }
  s=$(stat -c %s "$f")
  offs+=("$off"); sizes+=("$s")
  off=$(( (off + s + 4095) / 4096 * 4096 ))
done
tmp="$out.tmp"
perl -e 'my ($n, @v) = @ARGV; print pack("a8 V V", "MSHIMBND", 1, $n), pack("Q<*", @v);' \
  "$n" $(for i in $(seq 0 $((n - 1))); do echo "${offs[$i]} ${sizes[$i]}"; done) > "$tmp"
i=0
for f in "$@"; do
  truncate -s "${offs[$i]}" "$tmp"
  cat "$f" >> "$tmp"
  i=$((i + 1))
done
mv "$tmp" "$out"
