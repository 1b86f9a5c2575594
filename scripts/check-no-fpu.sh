#!/usr/bin/env bash
# Fail if the shim image uses any x87/MMX/SSE/AVX register. The shim runs on
# the guest's FPU state and never saves it, so a single vectorised memcpy in
# the image would corrupt guest registers (Xen builds with -mno-sse for the
# same reason).
set -euo pipefail
img=$1
bad=$(objdump -d --no-show-raw-insn "$img" | grep -E '%(x|y|z)mm[0-9]|%mm[0-9]|%st\(|\b(fld|fst|fxsave|fxrstor|xsave|xrstor)' || true)
if [ -n "$bad" ]; then
  echo "check-no-fpu: $img uses FPU/SIMD registers:" >&2
  echo "$bad" | head -20 >&2
  exit 1
fi
