#!/usr/bin/env bash
# Boot minishim under QEMU-direct (no L0 hypervisor, see shared BED notes):
# the shim's PVH ELF as -kernel, the PV guest as -initrd (module 0, text
# after the file name is the guest's command line), -append as the shim's
# command line. With --initrd the kernel and the initrd go as one module
# bundle (scripts/mk-bundle.sh) that the shim splits into modules 0 and 1.
# Serial goes to stdout (and --log FILE); --type-on MARKER TEXT types TEXT
# and a newline into the serial port once MARKER has appeared on it
# (QEMU's stdin is a FIFO; typed earlier, the firmware would read it);
# --monitor-on MARKER COMMAND gives QEMU's monitor COMMAND (e.g. "nmi")
# once MARKER has appeared.
# The exit status says
# how the shim stopped:
#   0  the shim powered off cleanly       (isa-debug-exit code 0x10 -> 33)
#   1  the shim shut down with crash       (0x13 -> 39) or any other reason
#   2  QEMU timed out (the shim hung)
#   3  QEMU exited without the shim's power-off (triple fault, QEMU error)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build_dir=${BUILD_DIR:-$top/build}
image="$build_dir/minishim.elf"
smp=1
mem=512
cmdline=""
guest=""
guest_cmdline=""
initrd=""
bundle=""
timeout=60
log=""
quiet=0
type_marker=""
mon_marker=""
mon_cmd=""
type_text=""

usage() {
  cat <<USAGE
usage: $0 [--image ELF] [--smp N] [--mem MiB] [--cmdline "shim options"]
          [--guest PV-KERNEL [--guest-cmdline "..."] [--initrd FILE]]
          [--timeout S] [--log FILE] [--quiet]
          [--type-on MARKER TEXT] [--monitor-on MARKER COMMAND]
USAGE
  exit 64
}

while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --cmdline) cmdline=$2; shift 2 ;;
    --guest) guest=$2; shift 2 ;;
    --guest-cmdline) guest_cmdline=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --quiet) quiet=1; shift ;;
    --type-on) type_marker=$2; type_text=$3; shift 3 ;;
    --monitor-on) mon_marker=$2; mon_cmd=$3; shift 3 ;;
    *) usage ;;
  esac
done

[ -f "$image" ] || { echo "run-shim: no shim image at $image (run make)" >&2; exit 3; }
# SHIM_EXTRA_CMDLINE: shim options put before every run's own (the run's
# own options come later on the line, so they win: the shim takes the last
# value of an option), e.g. flush-safety=defer for make test-defer.
[ -n "${SHIM_EXTRA_CMDLINE:-}" ] && cmdline="$SHIM_EXTRA_CMDLINE${cmdline:+ $cmdline}"
# QEMU_MONITOR=/path/sock: a monitor socket for debugging a hang (e.g.
# `echo "info registers -a" | socat - UNIX-CONNECT:/path/sock`).
monitor=none
[ -n "${QEMU_MONITOR:-}" ] && monitor="unix:$QEMU_MONITOR,server,nowait"
args=(-machine pc -cpu max -m "$mem" -smp "$smp" -nographic -no-reboot
      -serial stdio -monitor "$monitor"
      -device isa-debug-exit,iobase=0xf4,iosize=4
      -kernel "$image" -append "$cmdline")
if [ -n "$guest" ]; then
  [ -f "$guest" ] || { echo "run-shim: no guest at $guest" >&2; exit 3; }
  if [ -n "$initrd" ]; then
    bundle=$(mktemp "$build_dir/bundle.XXXXXX")
    trap 'rm -f "$bundle"' EXIT
    "$top/scripts/mk-bundle.sh" "$bundle" "$guest" "$initrd" || exit 3
    guest=$bundle
  fi
  # QEMU splits -initrd on commas; the module command line follows the name.
  args+=(-initrd "$guest${guest_cmdline:+ $guest_cmdline}")
fi

out=$(mktemp)
trap 'rm -f "$out" ${bundle:+"$bundle"}' EXIT
input=/dev/null
typer=""
if [ -n "$type_marker" ]; then
  input=$(mktemp -u "$build_dir/serial-in.XXXXXX")
  mkfifo "$input"
  exec 3<>"$input"        # held open read-write: QEMU never sees EOF
  trap 'rm -f "$out" "$input" ${bundle:+"$bundle"}; [ -z "$typer" ] || kill "$typer" 2>/dev/null' EXIT
  ( until grep -aqF -- "$type_marker" "$out" 2>/dev/null; do sleep 1; done
    printf '%s\n' "$type_text" >"$input" ) &
  typer=$!
fi
monitor_sender=""
if [ -n "$mon_marker" ]; then
  [ "$monitor" = none ] || { echo "run-shim: --monitor-on with QEMU_MONITOR" >&2; exit 64; }
  monsock=$(mktemp -u "$build_dir/monitor.XXXXXX")
  for i in "${!args[@]}"; do
    [ "${args[$i]}" = -monitor ] && args[$((i + 1))]="unix:$monsock,server,nowait"
  done
  ( until grep -aqF -- "$mon_marker" "$out" 2>/dev/null && [ -S "$monsock" ]; do sleep 0.2; done
    python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
time.sleep(0.5)
s.close()' "$monsock" "$mon_cmd" ) &
  monitor_sender=$!
fi
if [ "$quiet" = 1 ]; then
  timeout --foreground -k 5 "$timeout" qemu-system-x86_64 "${args[@]}" <"$input" >"$out" 2>&1
  rc=$?
else
  timeout --foreground -k 5 "$timeout" qemu-system-x86_64 "${args[@]}" <"$input" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
fi
[ -z "$monitor_sender" ] || { kill "$monitor_sender" 2>/dev/null; wait "$monitor_sender" 2>/dev/null; rm -f "$monsock"; }
tr -d '\r' <"$out" >"$out.clean" && mv "$out.clean" "$out"
[ -n "$log" ] && cp "$out" "$log"

case $rc in
  33) status=0; what="minishim powered off" ;;
  35) status=1; what="minishim shut down: reboot" ;;
  37) status=1; what="minishim shut down: suspend" ;;
  39) status=1; what="minishim shut down: crash" ;;
  41) status=1; what="minishim shut down: watchdog" ;;
  124|137) status=2; what="TIMEOUT after ${timeout}s: the shim did not power off" ;;
  *) status=3; what="QEMU exited with status $rc without a shim power-off (triple fault or QEMU error)" ;;
esac
[ "$quiet" = 1 ] || echo "run-shim: $what (QEMU exit $rc)"
# The log also says how QEMU ended (the shutdown reason as the exit code).
[ -n "$log" ] && echo "run-shim: $what (QEMU exit $rc)" >>"$log"
exit $status
