#!/usr/bin/env bash
# soak-flushbench.sh - run the flushbench guest many times behind one shim
# configuration in ONE L0 boot on the Xen bed, and count the runs whose
# verify phase (or any other check) failed (docs/bench.md, "Soak").
#
# Made to chase a rare stale TLB read ("vCPU N read the old frame ...")
# seen once in ten flush=ipi bench runs: one L0 boot, many guests, a tally
# of the failure reasons.
#
#   scripts/soak-flushbench.sh [--runs N] [--vcpus N] [--iters N]
#       [--cmdline "shim command line"] [--shim minishim|reference|/ABS/PATH]
#       [--pin float|vcpu0|all] [--l0-cpus N] [--out DIR]
#
# --pin: float  every vCPU free on all L0 CPUs;
#        vcpu0  vCPU 0 pinned to L0 CPU 0, the others free (what make
#               bench does);
#        all    vCPU n pinned to L0 CPU n mod L0 CPUs (L0 never migrates
#               a shim vCPU).
# Exit status: 0 when every run passed, 1 when some failed, 2 on bad use.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$top/$BUILD" ;; esac

runs=20
vcpus=2
iters=16
cmdline="pv-shim console=xen,pv flush=ipi l0-flush=xen"
shim=minishim
pin=vcpu0
l0_cpus=2
out="$BUILD/soak"
timeout=${SOAK_GUEST_TIMEOUT:-240}

while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=${2:?}; shift 2 ;;
        --vcpus) vcpus=${2:?}; shift 2 ;;
        --iters) iters=${2:?}; shift 2 ;;
        --cmdline) cmdline=${2?}; shift 2 ;;
        --shim) shim=${2:?}; shift 2 ;;
        --pin) pin=${2:?}; shift 2 ;;
        --l0-cpus) l0_cpus=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "soak: unknown argument $1" >&2; exit 2 ;;
    esac
done
die() { echo "soak: $*" >&2; exit 2; }
for n in $runs $vcpus $iters $l0_cpus; do
    case "$n" in ''|*[!0-9]*) die "not a number: $n" ;; esac
done
[ "$runs" -ge 1 ] && [ "$vcpus" -ge 1 ] && [ "$vcpus" -le 8 ] || die "runs >= 1, vcpus 1..8"
case "$pin" in float|vcpu0|all) ;; *) die "--pin float|vcpu0|all" ;; esac
case "$shim" in minishim|reference|/*) ;; *) die "--shim minishim|reference|/ABS/PATH" ;; esac
guest="$BUILD/guests/flushbench.elf"
[ -r "$guest" ] || die "$guest missing (make guests)"

pin_list() {
    local i l=""
    case "$pin" in
        float) return 0 ;;
        vcpu0) l='"0"'
               for i in $(seq 2 "$vcpus"); do l="$l, \"0-$((l0_cpus - 1))\""; done ;;
        all) for i in $(seq 0 $((vcpus - 1))); do
                 l="${l:+$l, }\"$((i % l0_cpus))\""
             done ;;
    esac
    echo "cpus = [$l]"
}

rm -rf "$out"
mkdir -p "$out/guests"
args=()
for r in $(seq 1 "$runs"); do
    name="soak_v${vcpus}_r$r"
    cp "$guest" "$out/guests/$name.elf"
    args+=(--guest "$out/guests/$name.elf:$vcpus:iters=$iters")
    x=$(pin_list)
    [ -z "$x" ] || args+=(--guest-xl-extra "$name=$x")
done
shim_args=(--shim "$shim")
[ "$shim" = reference ] || shim_args+=(--shim-cmdline "$cmdline")
echo "soak: $runs x flushbench vcpus=$vcpus iters=$iters pin=$pin shim=$shim" \
     "cmdline='${cmdline}' L0 CPUs $l0_cpus, one L0 boot"
# An L0 stall (docs/bed.md) or a failed xl create says nothing about the
# flush path: the runs not judged go again in a new L0 boot, and such
# failures are counted apart from the guest's own.
BUILD=$BUILD nice "$top/tests/bed/run-bed.sh" "${shim_args[@]}" --name soak \
    --retry-l0-stall 2 --l0-cpus "$l0_cpus" --timeout "$timeout" "${args[@]}" \
    >"$out/bed.out" 2>&1
# Consoles: the first L0 boot's, then any rerun's over them.
for t in soak soak-retry soak-retry-retry; do
    dir=$(readlink -f "$BUILD/bed/logs/latest-$t" 2>/dev/null)
    [ -n "$dir" ] && [ -d "$dir" ] && [ "$dir" -nt "$out/guests" ] && cp "$dir"/*.console "$out/" 2>/dev/null
done
tail -n 2 "$out/bed.out"

# Tally: every run's verdict (the last one run-bed.sh gave it), the
# stale-read failures among the guest's own failures.
pass=0 fail=0 bed=0 stale=0
for r in $(seq 1 "$runs"); do
    name="soak_v${vcpus}_r$r"
    c="$out/$name.console"
    v=$(grep -aE "bed: \[(PASS|FAIL)\] $name " "$out/bed.out" | tail -n 1)
    case "$v" in
        *"[PASS]"*) pass=$((pass + 1)) ;;
        *"not run to the end"*|*"xl create failed"*|"")
            bed=$((bed + 1))
            echo "soak: run $r not judged (bed): ${v:-no verdict}" ;;
        *)
            fail=$((fail + 1))
            why=$(grep -a -m 1 -E "read the old frame|FAIL|never" "$c" 2>/dev/null | tr -d '\r')
            echo "soak: run $r FAILED: ${why:-$v}"
            grep -aq "read the old frame" "$c" 2>/dev/null && stale=$((stale + 1)) ;;
    esac
done
echo "soak: runs=$runs passed=$pass failed=$fail stale-read=$stale bed-errors=$bed"
[ "$fail" = 0 ]
