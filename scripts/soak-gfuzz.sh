#!/usr/bin/env bash
# soak-gfuzz.sh - the guest-side fuzzer (tests/guests/gfuzz) under
# QEMU-direct for longer: SEEDS seeds x the vCPU counts in SMPS, TIME
# seconds each; every run must end in "RESULT gfuzz PASS" with a
# poweroff, no shim fault and no result outside the errno range.
# Prints one line per run and "N passed, N failed"; a failed run's log
# stays in build/soak-gfuzz/. Not part of make test (make soak-gfuzz).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
seeds=${SEEDS:-"11 12 13 14 15"}
smps=${SMPS:-"1 2 4"}
time=${TIME:-60}
logdir="$build/soak-gfuzz"
mkdir -p "$logdir"
passed=0
failed=0
for seed in $seeds; do
  for smp in $smps; do
    log="$logdir/gfuzz-seed$seed-smp$smp.log"
    "$top/tests/qemu/run-shim.sh" --quiet --smp "$smp" --timeout $((time + 120)) \
      --guest "$build/guests/gfuzz.elf" --cmdline "-- seed=$seed time=$time" --log "$log"
    rc=$?
    why=""
    [ "$rc" = 0 ] || why="run-shim status $rc"
    [ -z "$why" ] && ! grep -aqF "RESULT gfuzz PASS" "$log" && why="no RESULT gfuzz PASS"
    [ -z "$why" ] && grep -aqF "FATAL trap in shim" "$log" && why="shim took a fatal trap"
    [ -z "$why" ] && grep -aqF "not an errno" "$log" && why="a result outside the errno range"
    ops=$(grep -a "^gfuzz: [0-9]* operations" "$log" | tail -n 1 | cut -d' ' -f2)
    if [ -z "$why" ]; then
      passed=$((passed + 1)); echo "PASS gfuzz seed=$seed smp=$smp ops=${ops:-?}"; rm -f "$log"
    else
      failed=$((failed + 1)); echo "FAIL gfuzz seed=$seed smp=$smp: $why (log: ${log#$top/})"
    fi
  done
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
