#!/usr/bin/env bash
# newlib's nano printf (the image's) knows only the h, l and L length
# modifiers: "%llx" or "%zu" print garbage and misalign every later
# argument. gcc's -Wformat accepts them, so this check refuses them in the
# image's sources. Use %lx / %lu with (unsigned long) casts (LP64).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(grep -nE '%[-+ #0-9.*]*(ll|z|j|t)[diouxXn]' boot/*.[cS] shim/*.c pv/*.c hypercall/*.c 2>/dev/null || true)
if [ -n "$bad" ]; then
  echo "check-formats: length modifiers newlib-nano does not support:" >&2
  echo "$bad" >&2
  exit 1
fi
