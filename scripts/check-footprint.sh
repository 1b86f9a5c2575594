#!/usr/bin/env bash
# Footprint check (make test-footprint, part of make test): every guest
# behind minishim pays for the shim's image, so it must stay small.
#   - the stripped image file: at most MAX_STRIPPED bytes (512 KiB);
#   - the static footprint, text + data + bss as `size` counts it (what
#     the shim occupies in the guest's memory before any allocation): at
#     most MAX_STATIC bytes (2 MiB).
# Per-CPU areas of the APs and LDT copies come from the frame allocator at
# run time and are not static; the shim reports them at boot ("mem: shim
# footprint ..."). Usage: check-footprint.sh IMAGE
set -euo pipefail
img=${1:?usage: check-footprint.sh IMAGE}
max_stripped=${MAX_STRIPPED:-$((512 * 1024))}
max_static=${MAX_STATIC:-$((2 * 1024 * 1024))}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
strip -o "$tmp" "$img"
stripped=$(stat -c %s "$tmp")
read -r text data bss _ < <(size "$img" | tail -n 1)
static=$((text + data + bss))
fail=0
printf 'footprint: stripped image %d bytes (limit %d)\n' "$stripped" "$max_stripped"
printf 'footprint: static text %d + data %d + bss %d = %d bytes (limit %d)\n' \
  "$text" "$data" "$bss" "$static" "$max_static"
if [ "$stripped" -gt "$max_stripped" ]; then
  echo "footprint: FAIL: stripped image over $max_stripped bytes"; fail=1
fi
if [ "$static" -gt "$max_static" ]; then
  echo "footprint: FAIL: static footprint over $max_static bytes (largest symbols:)"
  nm -S --size-sort "$img" | tail -n 5
  fail=1
fi
[ "$fail" = 0 ] && echo "footprint: PASS"
exit "$fail"
