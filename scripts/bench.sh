#!/usr/bin/env bash
# bench.sh - minishim against Debian's xen-shim on the Xen bed, same L0,
# same guest, same L0 boot (docs/bench.md).
#
# Each run puts every configuration x vCPU count in one L0 boot, in an
# order rotated from run to run (configurations interleaved run by run),
# with the flush microbenchmark guest (tests/guests/flushbench). The raw
# per-guest consoles go to OUT/raw/, then scripts/bench-report.py turns
# them into OUT/results.json (one object per guest run), OUT/report.md
# (median/min/max, every figure a ratio to the reference of the same run)
# and gnuplot plots, and scripts/bench-check.py checks that report.
#
#   scripts/bench.sh [--quick] [--runs N] [--vcpus "1 2 4 8"]
#                    [--configs "reference minishim-auto ..."] [--iters N]
#                    [--l0-cpus N] [--runs-per-boot N] [--out DIR]
#
# --quick: flushbench only, reference and minishim-auto, 2 vCPUs, 3 runs in
# one L0 boot (make bench-quick, part of make test).
#
# Configurations:
#   reference       Debian's xen-shim (xl's default shim command line)
#   minishim-auto   flush=auto with the Xen backend (l0-flush=xen)
#   minishim-hyperv flush=auto with the Hyper-V backend on L0's viridian
#   minishim-ipi    flush=ipi (the flush policy isolated from the rest)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$top/$BUILD" ;; esac

runs=5
vcpus="1 2 4 8"
configs="reference minishim-auto minishim-hyperv minishim-ipi"
iters=64
l0_cpus=2
per_boot=1
out="$BUILD/bench"
quick=0
timeout=${BENCH_GUEST_TIMEOUT:-300}
probe=${BENCH_L0_PROBE:-200}

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1; runs=3; vcpus=2; configs="reference minishim-auto"
                 iters=32; per_boot=3; shift ;;
        --runs) runs=${2:?}; shift 2 ;;
        --vcpus) vcpus=${2:?}; shift 2 ;;
        --configs) configs=${2:?}; shift 2 ;;
        --iters) iters=${2:?}; shift 2 ;;
        --l0-cpus) l0_cpus=${2:?}; shift 2 ;;
        --runs-per-boot) per_boot=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "bench: unknown argument $1" >&2; exit 2 ;;
    esac
done

die() { echo "bench: $*" >&2; exit 2; }
for n in $runs $iters $l0_cpus $per_boot $vcpus; do
    case "$n" in ''|*[!0-9]*) die "not a number: $n" ;; esac
done

# Shim command lines. minishim's all carry l0-flush-probe (one bare L0
# flush round trip, timed by the shim at boot).
VIRIDIAN_FLAGS=base,hcall_remote_tlb_flush,ex_processor_masks
cfg_shim() { case "$1" in reference) echo reference ;; *) echo minishim ;; esac; }
cfg_cmdline() {
    case "$1" in
        reference) echo "" ;;
        minishim-auto) echo "pv-shim console=xen,pv flush=auto l0-flush=xen l0-flush-probe=$probe" ;;
        minishim-hyperv) echo "pv-shim console=xen,pv flush=auto l0-flush=hyperv l0-flush-probe=$probe" ;;
        minishim-ipi) echo "pv-shim console=xen,pv flush=ipi l0-flush=xen l0-flush-probe=$probe" ;;
        *) return 1 ;;
    esac
}
for c in $configs; do cfg_cmdline "$c" >/dev/null || die "unknown configuration $c"; done
case " $configs " in *" reference "*) ;; *) die "the reference configuration is required (every figure is a ratio to it)" ;; esac

guest="$BUILD/guests/flushbench.elf"
[ -r "$guest" ] && [ -r "$BUILD/guests/hello.elf" ] || die "$guest or hello.elf missing (make guests)"
[ -r "$BUILD/minishim.elf" ] || die "$BUILD/minishim.elf missing (make)"

rm -rf "$out/raw" "$out/guests"
mkdir -p "$out/raw" "$out/guests"
commit=$(git -C "$top" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git -C "$top" diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
{
    echo "commit=$commit"
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "xen=$(dpkg-query -W -f='${Version}' xen-hypervisor-4.17-amd64 2>/dev/null)"
    echo "qemu=$(qemu-system-x86_64 --version | head -n 1 | sed 's/^QEMU emulator version //')"
    echo "host_kernel=$(uname -r)"
    echo "l0_cpus=$l0_cpus"
    echo "runs=$runs"
    echo "iters=$iters"
    echo "vcpus=$vcpus"
    echo "configs=$configs"
    echo "quick=$quick"
    echo "memory_mib=128"
    echo "minishim_elf=$BUILD/minishim.elf"
    echo "reference_elf=/usr/lib/xen-4.17/boot/xen-shim"
    for c in $configs; do echo "cmdline.$c=$(cfg_cmdline "$c")"; done
    echo "viridian.minishim-hyperv=$VIRIDIAN_FLAGS"
} >"$out/raw/meta.txt"

# xl "cpus": vCPU 0 (the guest's timing vCPU) pinned to L0 CPU 0, the
# others free on all L0 CPUs. On this bed L0 emulates the domain's TSC
# from each L0 CPU's own clock, which disagree by milliseconds: a vCPU
# that moves between L0 CPUs mid-measurement sees time jump.
pin_list() {
    local v=$1 i l='"0"'
    for i in $(seq 2 "$v"); do l="$l, \"0-$((l0_cpus - 1))\""; done
    echo "cpus = [$l]"
}

# One L0 boot: runs $1..$2.
boot_runs() {
    local first=$1 last=$2 r v c i n args=() order tag dir
    for r in $(seq "$first" "$last"); do
        # Rotate the configuration order by the run number.
        local cfgs=($configs)
        n=${#cfgs[@]}
        order=()
        for i in $(seq 0 $((n - 1))); do
            order+=("${cfgs[(i + r - 1) % n]}")
        done
        # Boot: the hello guest, xl create to poweroff, under each shim.
        for c in "${order[@]}"; do
            name="boot_${c}_r${r}"
            cp "$BUILD/guests/hello.elf" "$out/guests/$name.elf"
            args+=(--guest "$out/guests/$name.elf:1" --guest-shim "$name=$(cfg_shim "$c")")
            [ "$c" = reference ] ||
                args+=(--guest-shim-cmdline "$name=$(cfg_cmdline "$c")")
            [ "$c" = minishim-hyperv ] &&
                args+=(--guest-viridian "$name=$VIRIDIAN_FLAGS")
        done
        for v in $vcpus; do
            for c in "${order[@]}"; do
                name="${c}_v${v}_r${r}"
                cp "$guest" "$out/guests/$name.elf"
                args+=(--guest "$out/guests/$name.elf:$v:iters=$iters"
                       --guest-shim "$name=$(cfg_shim "$c")"
                       --guest-xl-extra "$name=$(pin_list "$v")")
                [ "$c" = reference ] ||
                    args+=(--guest-shim-cmdline "$name=$(cfg_cmdline "$c")")
                [ "$c" = minishim-hyperv ] &&
                    args+=(--guest-viridian "$name=$VIRIDIAN_FLAGS")
            done
        done
    done
    tag="bench-r$first"
    echo "bench: L0 boot for run(s) $first..$last: ${#args[@]} arguments"
    BUILD=$BUILD nice "$top/tests/bed/run-bed.sh" --shim minishim --name "$tag" \
        --l0-cpus "$l0_cpus" --timeout "$timeout" "${args[@]}" \
        >"$out/raw/boot-r$first.out" 2>&1
    echo "bench: run(s) $first..$last: $(tail -n 1 "$out/raw/boot-r$first.out")"
    dir=$(readlink -f "$BUILD/bed/logs/latest-$tag")
    [ -d "$dir" ] || { echo "bench: no bed log for $tag" >&2; return 1; }
    mkdir -p "$out/raw/boot-r$first"
    cp "$dir"/*.console "$dir/run.info" "$dir/guests.info" "$out/raw/boot-r$first/" 2>/dev/null
    # Versions and boot milestones from L0's serial (dom0 kernel, Xen).
    grep -aE "Xen version |Linux version " "$dir/serial.txt" | grep -v BED- | head -n 2 \
        >"$out/raw/boot-r$first/versions.txt"
}

r=1
while [ "$r" -le "$runs" ]; do
    last=$((r + per_boot - 1))
    [ "$last" -le "$runs" ] || last=$runs
    boot_runs "$r" "$last"
    r=$((last + 1))
done

python3 "$top/scripts/bench-report.py" collect "$out/raw" "$out/results.json" || exit 1
python3 "$top/scripts/bench-report.py" report "$out/results.json" "$out" || exit 1
python3 "$top/scripts/bench-check.py" "$out" || exit 1
echo "bench: report in $out/report.md, data in $out/results.json, plots in $out/*.png"
