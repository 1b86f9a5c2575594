#!/usr/bin/env bash
# soak-linux.sh SHIM:VCPUS:ACTION... - make soak-linux: each configuration
# SOAK_LINUX times on the Xen bed, one L0 boot per run (tests/bed/bed.mk
# makes the guest symlinks linux-<shim>-<vcpus>[-<action>] in
# BED_LINUX_DIR and the initramfs BED_LINUX_INITRD). A reference-shim run
# whose shim triple-faulted is run again (--retry-shim-triple-fault) and
# counted as a retry; L0 stalls are retried too. Prints one line per
# configuration: passed / failed / retries out of SOAK_LINUX; exits
# non-zero when any run failed.
set -uo pipefail
: "${BUILD:?}" "${BED_RUN:?}" "${BED_LINUX_DIR:?}" "${BED_LINUX_INITRD:?}"
n=${SOAK_LINUX:-20}
l0_cpus=${BED_L0_CPUS:-2}
timeout=${BED_LINUX_TIMEOUT:-900}
declare -A pass=() fail=() retry=()
rc=0
for c in "$@"; do
    IFS=: read -r shim vcpus action <<<"$c"
    name="linux-$shim-$vcpus"
    [ "$action" = poweroff ] || name="$name-$action"
    case "$action" in reboot) want=reboot ;; panic) want=crash ;; *) want=poweroff ;; esac
    pass[$c]=0 fail[$c]=0 retry[$c]=0
    for i in $(seq 1 "$n"); do
        args=(--shim "$shim" --name "soak-$name" --l0-cpus "$l0_cpus" --memory 512
              --timeout "$timeout" --ramdisk "$BED_LINUX_INITRD" --retry-l0-stall 2
              --guest "$BED_LINUX_DIR/$name:$vcpus:console=hvc0 minishim.action=$action minishim.forks=${BED_LINUX_FORKS:-100}"
              --expect-status "$name=$want")
        [ "$shim" = reference ] && args+=(--retry-shim-triple-fault)
        [ "$action" = panic ] && args+=(--expect-log "$name=Kernel panic - not syncing: sysrq triggered crash")
        out=$(BUILD=$BUILD "$BED_RUN" "${args[@]}" 2>&1)
        r=$?
        retries=$(grep -c "^bed: \[RETRY\]" <<<"$out")
        retry[$c]=$(( ${retry[$c]} + retries ))
        if [ $r = 0 ]; then
            pass[$c]=$(( ${pass[$c]} + 1 )); v=PASS
        else
            fail[$c]=$(( ${fail[$c]} + 1 )); v=FAIL; rc=1
        fi
        [ "$retries" = 0 ] && retries=""
        echo "soak-linux: $c run $i/$n: $v${retries:+ ($retries retries)}: $(grep -E "^bed: \[(PASS|FAIL|XPASS)\]" <<<"$out" | tail -n 1)"
    done
done
echo "soak-linux: summary ($n runs each, L0 CPUs $l0_cpus)"
for c in "$@"; do
    echo "soak-linux: $c: ${pass[$c]} passed, ${fail[$c]} failed, ${retry[$c]} retries"
done
exit $rc
