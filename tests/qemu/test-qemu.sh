#!/usr/bin/env bash
# QEMU-direct integration tests: boot the real shim image in several
# configurations and check what it printed and how it stopped. Each case
# names the expected run-shim status (0 poweroff, 1 crash/other shutdown,
# 2 hang) and lines that must (+) or must not (-) appear on the serial.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
run="$here/run-shim.sh"
build_dir=${BUILD_DIR:-$top/build}
logdir="$build_dir/test-qemu"
guests="$build_dir/guests"
mkdir -p "$logdir"
passed=0
failed=0

# case NAME STATUS "run-shim args" [+pattern|-pattern]...
case_() {
  local name=$1 want=$2 args=$3
  shift 3
  local log="$logdir/$name.log" why=""
  eval "$run --quiet --timeout ${QEMU_TIMEOUT:-60} --log '$log' $args"
  local got=$?
  [ "$got" = "$want" ] || why="run-shim status $got, expected $want"
  # A shim fault is never an expected outcome.
  if [ -z "$why" ] && grep -aq "FATAL trap in shim" "$log"; then why="shim took a fatal trap"; fi
  for p in "$@"; do
    [ -n "$why" ] && break
    case "$p" in
      +*) grep -aqF -- "${p#+}" "$log" || why="missing: ${p#+}" ;;
      -*) grep -aqF -- "${p#-}" "$log" && why="unexpected: ${p#-}" ;;
    esac
  done
  if [ -z "$why" ]; then
    passed=$((passed + 1)); echo "PASS $name"
  else
    failed=$((failed + 1)); echo "FAIL $name: $why (log: ${log#$top/})"
  fi
}

bad="$logdir/not-an-elf.bin"
{ printf 'this is not a kernel\n'; head -c 200 /dev/zero; } > "$bad"
trunc="$logdir/truncated.elf"
head -c 80 "$build_dir/minishim.elf" > "$trunc"     # header only: phdrs cut off
elf32="$logdir/elf32.bin"
printf '\177ELF\001\001\001\000\000\000\000\000\000\000\000\000' > "$elf32"
head -c 64 /dev/zero >> "$elf32"

case_ no-module 1 "--smp 1" \
  "+minishim 0.1: PV shim" "+l0: using backend 'none'" "+mem: memory map" \
  "+ERROR: guest: no PV guest kernel given" "+shutting down (crash)"

case_ smp2-cpu-count 1 "--smp 2" "+cpu: 2 CPUs (ACPI MADT)" "+no PV guest kernel given"

case_ not-an-elf 1 "--guest '$bad'" \
  "+guest: module 0 at" "+not a usable PV kernel: not an ELF image (bad magic)" \
  "+shutting down (crash)"

case_ truncated-elf 1 "--guest '$trunc'" \
  "+not a usable PV kernel: ELF program headers lie outside the image"

case_ elf32-refused 1 "--guest '$elf32'" "+not a 64-bit ELF image"

case_ no-xen-notes 1 "--guest '$build_dir/unit-tests'" \
  "+not a usable PV kernel: ELF type 3 is not an executable"

case_ bad-cmdline 1 "--cmdline 'loglvl=loud frobnicate console=com1,serial'" \
  "+WARNING: cmdline: bad value 'loud' for loglvl=" \
  "+cmdline: unknown option 'frobnicate' ignored" \
  "+cmdline: bad value 'com1,serial' for console=" \
  "+no PV guest kernel given"

case_ loglvl-error-quiet 1 "--cmdline 'loglvl=error'" \
  "-minishim 0.1: PV shim" "-mem: memory map" "+ERROR: guest: no PV guest kernel given"

if [ -f "$guests/hello.elf" ]; then
  case_ hello-smp1 0 "--smp 1 --guest '$guests/hello.elf' --cmdline 'loglvl=debug -- demo=1'" \
    "+guest: ELF64 x86-64" "+cmdline \"demo=1\"" "+shutting down (poweroff)"
  case_ hello-smp2 0 "--smp 2 --guest '$guests/hello.elf'" \
    "+cpu: 2 CPUs (ACPI MADT)" "+guest: ELF64 x86-64" "+shutting down (poweroff)"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
