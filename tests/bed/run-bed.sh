#!/usr/bin/env bash
# run-bed.sh - run PV test guests behind a PV shim on the Xen bed.
#
# L0 is Debian's Xen 4.17 under QEMU (TCG, emulated AMD SVM+NPT), dom0 is
# Debian's Linux with a busybox initramfs and xl. Each guest runs as a PVH
# domU with pvshim=1 (kernel = the PV guest ELF, pvshim_path = the shim),
# one after the other in the same L0 boot, each with its own timeout.
# See docs/bed.md.
#
# A guest passes when its console shows "RESULT <name> PASS" and the domain
# powered off; FAIL, no RESULT line, a timeout or a crash fail it; SKIP
# counts as skipped. The last lines are "N skipped" and "N passed, N failed"; the
# exit status is non-zero when anything failed.
set -uo pipefail

# The whole script is one function, parsed before it runs: editing this
# file while a bed is running cannot change the running instance.
main() {

usage() {
    cat <<'EOF'
usage: run-bed.sh [options] --guest PATH[:VCPUS[:CMDLINE]] [--guest ...]

  --shim minishim|reference|PATH  shim ELF (default minishim = build/minishim.elf;
                                  reference = /usr/lib/xen-4.17/boot/xen-shim)
  --shim-deb DEB                  install the minishim Debian package DEB in dom0
                                  (busybox dpkg -i) and boot every guest with
                                  pvshim_path = its /usr/lib/minishim/minishim.elf
                                  (docs/deploy.md); implies --shim minishim's
                                  default command line
  --shim-cmdline "..."            shim command line (default for minishim
                                  "pv-shim console=xen,pv"; reference: xl default)
  --guest PATH[:VCPUS[:CMDLINE]]  a PV guest kernel (repeatable; default 1 vCPU)
  --l0-cpus N                     L0's physical CPUs (QEMU -smp, default 2)
  --timeout S                     per-guest timeout in seconds (default 60)
  --guest-timeout NAME=S          timeout for one guest
  --expect-fail NAME[=REGEX]      NAME must fail (FAIL/timeout/crash), and its
                                  failure reason match REGEX if given; it then
                                  counts as passed (XFAIL), else as failed
  --retry-shim-triple-fault       a guest that failed because the shim's domain
                                  triple-faulted (L0 says "d<domid>v<n> Triple
                                  fault") is run once more in a new L0 boot
                                  and judged by that run; both are reported.
                                  For the reference shim (docs/bed.md): a
                                  guest behind minishim is never run again
  --retry-shim-timeout            a guest behind a shim other than minishim that
                                  timed out is run once more in a new L0 boot
                                  and judged by that run (Debian's xen-shim
                                  hangs now and then on this bed)
  --retry-l0-stall N              when L0 stalls (dom0 stops reporting, the run
                                  is aborted), run the guests not judged yet
                                  again in a new L0 boot, up to N times
                                  (docs/bed.md: L0 stalls)
  --boot-check REGEX              judge guests only by whether the shim boots:
                                  pass if xl created the domain and it ran; say
                                  whether its console matched REGEX
  --boot-check-strict             with --boot-check: also require the match
  --memory MB                     guest memory (default 128)
  --ramdisk FILE                  every guest's xl ramdisk= (pvshim: module 1)
  --dom0-file SRC:DST             put the host file SRC into dom0 as DST
                                  (repeatable), e.g. a disk image for a
                                  guest's xl disk= line (docs/pv-devices.md)
  --expect-status NAME=STATUS     NAME passes when it prints RESULT PASS and
                                  the domain stopped with STATUS (reboot, crash,
                                  ...: the SHUTDOWN_* reason xl saw) instead of
                                  poweroff
  --expect-log NAME=REGEX         a passing NAME must also show a console line
                                  matching REGEX (repeatable), e.g. the shim's
                                  flush statistics; else it fails
  --guest-action NAME MARKER CMD  once NAME's console shows MARKER, run CMD
                                  in dom0 (sh; \$DOMID, \$NAME set), e.g.
                                  'xl shutdown \$DOMID'
  --guest-action-timeout NAME=S   limit for NAME's action (default 60 s)
  --xl-extra 'LINE'               append a line to every guest's xl config
                                  (repeatable; note libxl ignores viridian=
                                  for the shim's type="pvh" domain)
  --viridian FLAGS                give every guest's (shim's) domain Xen's
                                  Hyper-V interface: created paused, then
                                  HVM_PARAM_VIRIDIAN = FLAGS (a number or a
                                  comma list of HVMPV_* names without the
                                  prefix, e.g. base,hcall_remote_tlb_flush,
                                  ex_processor_masks), then unpaused
  --guest-viridian NAME=FLAGS     the same for one guest
  --guest-shim NAME=SHIM          this guest runs behind SHIM (minishim|reference|
                                  PATH) instead of --shim: several shims in one
                                  L0 boot (make bench interleaves them)
  --guest-shim-cmdline NAME=LINE  this guest's shim command line (default: the
                                  --guest-shim's default, else --shim-cmdline)
  --guest-xl-extra NAME=LINE      append a line to this guest's xl config
                                  (repeatable)
  --guest-poll NAME=S             dom0 asks xl for this guest's state every S
                                  seconds (default 0.2); each xl run takes an
                                  L0 CPU from the guest for a while (make bench)
  --boot-timeout S                limit for L0 + dom0 to come up (default 240)
  --xen-args "..."                append to L0 Xen's command line
                                  (config/bed/xen.cmdline)
  --dom0-args "..."               append to dom0 Linux's command line
                                  (config/bed/dom0.cmdline)
  --log-dir DIR                   where runs are logged (default build/bed/logs)
  --name TAG                      tag for the log directory (default: shim name)
  --keep                          keep the run's initramfs in the log directory
  -v, --verbose                   copy the whole serial log to stdout
EOF
}

die() { echo "run-bed: $*" >&2; exit 2; }

top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$top/$BUILD" ;; esac
bed="$BUILD/bed"
cfgdir="$top/config/bed"

shim=minishim
shim_deb=""
shim_cmdline=""
shim_cmdline_set=0
l0_cpus=2
timeout=60
memory=128
boot_timeout=240
log_dir="$bed/logs"
tag=""
verbose=0
keep=0
boot_check=""
boot_strict=0
xen_args=""
dom0_args=""
guests=()
xl_extra=()
dom0_files=()
viridian=""
declare -A guest_viridian=()
declare -A guest_shim=() guest_shim_cmdline=() guest_xl_extra=()
declare -A expect_fail=()
declare -A expect_log=()
declare -A expect_status=()
declare -A guest_action_marker=() guest_action_cmd=() guest_action_timeout=()
declare -A guest_poll=()
declare -A guest_timeout=()

retry_tf=0
retry_to=0
retry_stall=0
orig_args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
        --retry-shim-triple-fault) retry_tf=1; shift ;;
        --retry-shim-timeout) retry_to=1; shift ;;
        --retry-l0-stall) retry_stall=${2:?}; shift 2 ;;
        --shim) shim=${2:?}; shift 2 ;;
        --shim-deb) shim_deb=${2:?}; shift 2 ;;
        --shim-cmdline) shim_cmdline=${2?}; shim_cmdline_set=1; shift 2 ;;
        --guest) guests+=("${2:?}"); shift 2 ;;
        --l0-cpus) l0_cpus=${2:?}; shift 2 ;;
        --timeout) timeout=${2:?}; shift 2 ;;
        --guest-timeout) guest_timeout[${2%%=*}]=${2#*=}; shift 2 ;;
        --expect-fail)
            case "${2:?}" in
                *=*) expect_fail[${2%%=*}]=${2#*=} ;;
                *) expect_fail[$2]="" ;;
            esac
            shift 2 ;;
        --boot-check) boot_check=${2:?}; shift 2 ;;
        --boot-check-strict) boot_strict=1; shift ;;
        --memory) memory=${2:?}; shift 2 ;;
        --xl-extra) xl_extra+=("${2:?}"); shift 2 ;;
        --guest-action) guest_action_marker[${2:?}]=${3:?}; guest_action_cmd[$2]=${4:?}; shift 4 ;;
        --guest-action-timeout) guest_action_timeout[${2%%=*}]=${2#*=}; shift 2 ;;
        --guest-poll) guest_poll[${2%%=*}]=${2#*=}; shift 2 ;;
        --ramdisk) ramdisk=${2:?}; shift 2 ;;
        --dom0-file)
            case "${2:?}" in
                ?*:/?*) dom0_files+=("$2") ;;
                *) die "--dom0-file wants SRC:/DST" ;;
            esac
            shift 2 ;;
        --viridian) viridian=${2:?}; shift 2 ;;
        --guest-viridian)
            case "${2:?}" in
                *=?*) guest_viridian[${2%%=*}]=${2#*=} ;;
                *) die "--guest-viridian wants NAME=FLAGS" ;;
            esac
            shift 2 ;;
        --expect-log)
            case "${2:?}" in
                *=*) expect_log[${2%%=*}]+="${2#*=}"$'\n' ;;
                *) die "--expect-log wants NAME=REGEX" ;;
            esac
            shift 2 ;;
        --expect-status)
            case "${2:?}" in
                *=?*) expect_status[${2%%=*}]=${2#*=} ;;
                *) die "--expect-status wants NAME=STATUS" ;;
            esac
            shift 2 ;;
        --guest-shim) guest_shim[${2%%=*}]=${2#*=}; shift 2 ;;
        --guest-shim-cmdline) guest_shim_cmdline[${2%%=*}]=${2#*=}; shift 2 ;;
        --guest-xl-extra) guest_xl_extra[${2%%=*}]+="${2#*=}"$'\n'; shift 2 ;;
        --boot-timeout) boot_timeout=${2:?}; shift 2 ;;
        --xen-args) xen_args=${2?}; shift 2 ;;
        --dom0-args) dom0_args=${2?}; shift 2 ;;
        --log-dir) log_dir=${2:?}; shift 2 ;;
        --name) tag=${2:?}; shift 2 ;;
        -v|--verbose) verbose=1; shift ;;
        --keep) keep=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[ ${#guests[@]} -gt 0 ] || { usage >&2; die "no --guest given"; }
for n in "$l0_cpus" "$timeout" "$memory" "$boot_timeout" "$retry_stall"; do
    case "$n" in ''|*[!0-9]*) die "not a number: $n" ;; esac
done

case "$shim" in
    minishim)
        shim_path="$BUILD/minishim.elf"
        [ $shim_cmdline_set = 1 ] || { shim_cmdline="pv-shim console=xen,pv"; shim_cmdline_set=1; }
        ;;
    reference) shim_path=/usr/lib/xen-4.17/boot/xen-shim ;;
    *) shim_path=$shim; shim=$(basename "$shim" .elf) ;;
esac
[ -r "$shim_path" ] || die "shim $shim_path not found"
# The path xl gets as pvshim_path inside dom0.
shim_in_dom0=/bed/shim/shim.elf
if [ -n "$shim_deb" ]; then
    [ -r "$shim_deb" ] || die "package $shim_deb not found"
    shim_in_dom0=/usr/lib/minishim/minishim.elf
    [ -n "$tag" ] || tag=minishim-deb
fi
[ -n "$tag" ] || tag=$shim
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing"

# ------------------------------------------------------------ fixed parts ---
"$top/tests/bed/mk-dom0.sh" "$bed" || die "could not prepare L0/dom0 images"

# ------------------------------------------------------------- this run ---
run_id="$(date +%Y%m%d-%H%M%S)-$tag-$$"
logs="$log_dir/$run_id"
mkdir -p "$logs" || die "cannot create $logs"
ln -sfn "$run_id" "$log_dir/latest-$tag"
ln -sfn "$run_id" "$log_dir/latest"
serial="$logs/serial.log"
root="$logs/initrd-root"
rm -rf "$root"
mkdir -p "$root/bed/cfg" "$root/bed/guests" "$root/bed/shim"
cp "$shim_path" "$root/bed/shim/shim.elf"
[ -z "$shim_deb" ] || cp "$shim_deb" "$root/bed/minishim.deb"
if [ -n "${ramdisk:-}" ]; then
    [ -r "$ramdisk" ] || die "ramdisk $ramdisk not found"
    cp "$ramdisk" "$root/bed/guests/ramdisk.img"
    xl_extra+=("ramdisk = \"/bed/guests/ramdisk.img\"")
fi
for f in "${dom0_files[@]}"; do
    [ -r "${f%%:*}" ] || die "dom0 file ${f%%:*} not found"
    install -D -m 0644 "${f%%:*}" "$root${f#*:}" || die "cannot stage ${f#*:}"
done
: >"$root/bed/guests.list"

names=()
declare -A seen=()
declare -A g_vcpus=() g_cmdline=() g_timeout=() g_path=() g_spec=() g_shimkind=()
for spec in "${guests[@]}"; do
    path=${spec%%:*}
    rest=""
    [ "$path" = "$spec" ] || rest=${spec#*:}
    vcpus=${rest%%:*}
    cmdline=""
    [ "$vcpus" = "$rest" ] || cmdline=${rest#*:}
    [ -n "$vcpus" ] || vcpus=1
    [ -r "$path" ] || die "guest $path not found"
    case "$vcpus" in *[!0-9]*) die "bad vCPU count in $spec" ;; esac
    base=$(basename "$path")
    base=${base%.elf}
    name=$(printf '%s' "$base" | tr -c 'A-Za-z0-9_.-' '_')
    if [ -n "${seen[$name]:-}" ]; then
        i=2
        while [ -n "${seen[$name-$i]:-}" ]; do i=$((i + 1)); done
        name="$name-$i"
    fi
    seen[$name]=1
    names+=("$name")
    g_path[$name]=$path
    g_spec[$name]=$spec
    g_vcpus[$name]=$vcpus
    g_cmdline[$name]=$cmdline
    t=${guest_timeout[$name]:-${guest_timeout[$base]:-$timeout}}
    g_timeout[$name]=$t
    cp "$path" "$root/bed/guests/$name.elf"
    g_shim=$shim_in_dom0 g_cl=$shim_cmdline g_cl_set=$shim_cmdline_set
    gs=${guest_shim[$name]:-${guest_shim[$base]:-}}
    if [ -n "$gs" ]; then
        case "$gs" in
            minishim) gp="$BUILD/minishim.elf"; g_cl="pv-shim console=xen,pv"; g_cl_set=1 ;;
            reference) gp=/usr/lib/xen-4.17/boot/xen-shim; g_cl_set=0 ;;
            *) gp=$gs; g_cl_set=0 ;;
        esac
        [ -r "$gp" ] || die "shim $gp (for guest $name) not found"
        key=$(printf '%s' "$gs" | md5sum | cut -c1-12)
        [ -e "$root/bed/shim/$key.elf" ] || cp "$gp" "$root/bed/shim/$key.elf"
        g_shim=/bed/shim/$key.elf
    fi
    g_shimkind[$name]=${gs:-$shim}
    if [ -n "${guest_shim_cmdline[$name]+set}" ]; then
        g_cl=${guest_shim_cmdline[$name]}; g_cl_set=1
    fi
    # SHIM_EXTRA_CMDLINE (make test-defer): options put before a minishim
    # guest's own shim options (those win: the last value counts); the
    # reference shim's line is left alone.
    if [ -n "${SHIM_EXTRA_CMDLINE:-}" ] && [ "${g_shimkind[$name]}" = minishim ]; then
        [ $g_cl_set = 1 ] || g_cl="pv-shim console=xen,pv"
        g_cl="$SHIM_EXTRA_CMDLINE $g_cl"; g_cl_set=1
    fi
    if [ $g_cl_set = 1 ]; then
        shim_line="pvshim_cmdline = \"$g_cl\""
    else
        shim_line="# pvshim_cmdline: xl default"
    fi
    if [ $g_cl_set = 1 ]; then
        echo "guest $name: shim ${gs:-$shim}, cmdline $g_cl"
    else
        echo "guest $name: shim ${gs:-$shim}, cmdline (xl default)"
    fi >>"$logs/guests.info"
    sed -e "s|@NAME@|$name|" -e "s|@SHIM@|$g_shim|" \
        -e "s|@SHIM_CMDLINE@|$shim_line|" -e "s|@KERNEL@|/bed/guests/$name.elf|" \
        -e "s|@CMDLINE@|$cmdline|" -e "s|@MEMORY@|$memory|" -e "s|@VCPUS@|$vcpus|" \
        "$cfgdir/guest.cfg.in" >"$root/bed/cfg/$name.cfg"
    for line in "${xl_extra[@]}"; do printf '%s\n' "$line" >>"$root/bed/cfg/$name.cfg"; done
    printf '%s' "${guest_xl_extra[$name]:-}" >>"$root/bed/cfg/$name.cfg"
    v=${guest_viridian[$name]:-${guest_viridian[$base]:-$viridian}}
    case "$v" in *[!A-Za-z0-9_,]*) die "bad viridian flags '$v' for $name" ;; esac
    echo "$name $t $v" >>"$root/bed/guests.list"
done
for n in "${!guest_viridian[@]}"; do
    [ -n "${seen[$n]:-}" ] || die "--guest-viridian $n: no such guest"
done
for n in "${!expect_status[@]}"; do
    [ -n "${seen[$n]:-}" ] || die "--expect-status $n: no such guest"
done
for n in "${!expect_fail[@]}"; do
    [ -n "${seen[$n]:-}" ] || die "--expect-fail $n: no such guest"
done
for n in "${!guest_action_marker[@]}"; do
    [ -n "${seen[$n]:-}" ] || die "--guest-action $n: no such guest"
    mkdir -p "$root/bed/actions"
    printf '%s\n' "${guest_action_marker[$n]}" >"$root/bed/actions/$n.marker"
    printf '%s\n' "${guest_action_cmd[$n]}" >"$root/bed/actions/$n.cmd"
    [ -z "${guest_action_timeout[$n]:-}" ] ||
        printf '%s\n' "${guest_action_timeout[$n]}" >"$root/bed/actions/$n.timeout"
    echo "guest $n: on \"${guest_action_marker[$n]}\" run: ${guest_action_cmd[$n]}" >>"$logs/guests.info"
done
for n in "${!guest_poll[@]}"; do
    [ -n "${seen[$n]:-}" ] || die "--guest-poll $n: no such guest"
    [[ ${guest_poll[$n]} =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--guest-poll $n: '${guest_poll[$n]}' is not a number of seconds"
    mkdir -p "$root/bed/poll"
    printf '%s\n' "${guest_poll[$n]}" >"$root/bed/poll/$n"
    echo "guest $n: dom0 polls its state every ${guest_poll[$n]}s" >>"$logs/guests.info"
done
is_expected_fail() { [ -n "${expect_fail[$1]+set}" ]; }

initrd="$logs/initrd.cpio.gz"
{
    cat "$bed/dom0-base.cpio.gz"
    (cd "$root" && find . -print0 | sort -z | cpio --quiet -o -0 -H newc -R 0:0 | gzip -1)
} >"$initrd" || die "cannot build $initrd"

read_words() { sed -e 's/#.*//' "$1" | tr -s ' \t\n' ' ' | sed -e 's/^ //' -e 's/ $//'; }
xen_cmdline="$(read_words "$cfgdir/xen.cmdline")${xen_args:+ $xen_args}"
dom0_cmdline="$(read_words "$cfgdir/dom0.cmdline")${dom0_args:+ $dom0_args}"
case "$dom0_cmdline" in *,*) die "dom0 command line must not contain ',' (QEMU module separator)" ;; esac
# shellcheck disable=SC2207
qemu_args=($(read_words "$cfgdir/qemu.args"))
qemu=(qemu-system-x86_64 "${qemu_args[@]}" -smp "$l0_cpus"
      -kernel "$bed/xen" -append "$xen_cmdline"
      -initrd "$bed/dom0-kernel $dom0_cmdline,$initrd"
      -serial "file:$serial"
      -monitor "unix:$logs/monitor.sock,server,nowait")

# Budget: L0 + dom0 boot, then each guest's timeout plus creation and
# teardown slack; past that the whole run is abandoned (QEMU killed).
total=$boot_timeout
for n in "${names[@]}"; do total=$((total + ${g_timeout[$n]} + 30)); done

{
    echo "shim: $shim_path"
    echo "shim cmdline: ${shim_cmdline:-(xl default)}"
    echo "l0 cpus: $l0_cpus"
    echo "guests: ${guests[*]}"
    [ -z "$viridian" ] || echo "viridian: $viridian"
    for n in "${!guest_viridian[@]}"; do echo "viridian $n: ${guest_viridian[$n]}"; done
    printf 'qemu:'; printf ' %q' "${qemu[@]}"; echo
} >"$logs/run.info"

echo "bed: shim $shim ($shim_path), ${#names[@]} guest(s), L0 CPUs $l0_cpus, log $serial"

# ------------------------------------------------------------------ run ---
# One bed per machine at a time (BED_LOCK, default /tmp/minishim-bed.lock):
# two nested-TCG L0s on the same cores starve each other into timeouts.
# Held only while this run's QEMU lives, so a retry run (a child of this
# script, started after QEMU ended) takes it again.
exec 9>"${BED_LOCK:-/tmp/minishim-bed.lock}"
if ! flock -n 9; then
    echo "bed: waiting for another bed run on this machine (${BED_LOCK:-/tmp/minishim-bed.lock})"
    flock 9
fi
: >"$serial"
t0=$(date +%s.%N)
"${qemu[@]}" </dev/null 9>&- >"$logs/qemu.out" 2>&1 &
qpid=$!
# The bed's L0 runs ahead of everything else on the host (BED_NICE,
# default -5, as root only): a nested-TCG L0 starved of CPU by builds or
# QEMU-direct tests stalls and times out (docs/bed.md, "L0 stalls"), and
# that would judge neither shim. Every thread of QEMU (its vCPU threads
# exist after a moment).
if [ "$(id -u)" = 0 ] && [ "${BED_NICE:--5}" != none ]; then
    sleep 1
    renice -n "${BED_NICE:--5}" -p $(ls "/proc/$qpid/task" 2>/dev/null) >/dev/null 2>&1
fi

# dump_l0_state SOCK NCPUS: registers and local APIC of every L0 CPU,
# read through the QEMU monitor socket.
dump_l0_state() {
    python3 - "$1" "$2" <<'PY'
import socket, sys, time
sock, ncpus = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sock)
def cmd(c):
    s.sendall((c + "\n").encode())
    time.sleep(0.5)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
            if out.rstrip().endswith(b"(qemu)"):
                break
    except socket.timeout:
        pass
    # Drop the monitor's line-editing echo of the command.
    print("\n".join(l for l in out.decode(errors="replace").splitlines()
                    if "\x1b" not in l))
cmd("")
cmd("info registers -a")
for c in range(ncpus):
    cmd("cpu %d" % c)
    cmd("info lapic")
cmd("info pic")
PY
}

elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

declare -A mark_time=()
lines_done=0
abort=""
cur=""
cur_start=0
in_dump=0
# Milestones seen on the serial line, with the host time they showed up.
note() {
    local key=$1 msg=$2
    if [ -z "${mark_time[$key]:-}" ]; then
        mark_time[$key]=$(elapsed)
        echo "bed: [${mark_time[$key]}s] $msg"
    fi
}

while kill -0 "$qpid" 2>/dev/null; do
    sleep 0.5
    now=$(elapsed)
    total_lines=$(wc -l <"$serial")
    if [ "$total_lines" -gt "$lines_done" ]; then
        new=$(sed -n "$((lines_done + 1)),${total_lines}p" "$serial" | tr -d '\r')
        lines_done=$total_lines
        [ $verbose = 1 ] && printf '%s\n' "$new"
        while IFS= read -r l; do
            # Guest logs dumped by dom0 are the guest's words, not L0's.
            case "$l" in
                *BED-LOG-BEGIN*|*BED-XL-BEGIN*) in_dump=1; continue ;;
                *BED-LOG-END*|*BED-XL-END*) in_dump=0; continue ;;
            esac
            [ "$in_dump" = 1 ] && continue
            case "$l" in
                *"Xen version "*) note xen "L0 Xen started" ;;
                *"Linux version "*) note linux "dom0 kernel started" ;;
                *BED-DOM0-UP*) note dom0 "dom0 up (xenstored, xenconsoled running)" ;;
                *BED-DOM0-FAIL*) note dom0fail "dom0 failed: ${l#*BED-DOM0-FAIL }"
                                 abort="dom0 setup failed: ${l#*BED-DOM0-FAIL }" ;;
                *"BED-GUEST-BEGIN "*) cur=${l##*BED-GUEST-BEGIN }; cur_start=${now%.*}
                                      note "begin-$cur" "guest $cur: creating" ;;
                *"BED-GUEST-END "*) g=${l##*BED-GUEST-END }; g=${g%% *}
                                    note "end-$g" "guest $g: ${l##*BED-GUEST-END $g }"; cur="" ;;
                *"Panic on CPU"*) note panic "L0 Xen panicked"; abort="L0 Xen panicked" ;;
                *"Kernel panic - not syncing"*) note dpanic "dom0 kernel panicked"; abort="dom0 kernel panicked" ;;
            esac
        done <<<"$new"
    fi
    [ -n "$abort" ] && break
    if [ -z "${mark_time[dom0]:-}" ] && [ "${now%.*}" -ge "$boot_timeout" ]; then
        if [ -z "${mark_time[xen]:-}" ]; then
            abort="L0 Xen did not start within ${boot_timeout}s"
        else
            abort="dom0 did not come up within ${boot_timeout}s"
        fi
        break
    fi
    if [ -n "$cur" ] && [ $(( ${now%.*} - cur_start )) -gt $(( ${g_timeout[$cur]:-$timeout} + 60 )) ]; then
        abort="guest $cur: dom0 did not report back within its timeout + 60s"
        break
    fi
    if [ "${now%.*}" -ge "$total" ]; then
        abort="whole run exceeded ${total}s"
        break
    fi
done
if kill -0 "$qpid" 2>/dev/null; then
    # Abort path, or dom0 is still powering off: give it a moment.
    if [ -n "$abort" ]; then
        echo "bed: ABORT: $abort"
        # What L0's CPUs were doing (a stalled L0 is idle in hlt with
        # nothing pending, or has a vector stuck in IRR): QEMU's view.
        dump_l0_state "$logs/monitor.sock" "$l0_cpus" >"$logs/l0-state.txt" 2>&1 &&
            echo "bed: L0 CPU and local APIC state at the abort: $logs/l0-state.txt"
    else
        sleep 2
    fi
    kill "$qpid" 2>/dev/null
    sleep 1
    kill -9 "$qpid" 2>/dev/null
fi
wait "$qpid" 2>/dev/null
qrc=$?
exec 9>&-
run_time=$(elapsed)
tr -d '\r' <"$serial" >"$logs/serial.txt"
if [ $keep = 0 ]; then
    rm -rf "$root" "$initrd"
fi
# Keep the newest 30 runs.
ls -1dt "$log_dir"/[0-9]*-*/ 2>/dev/null | tail -n +31 | xargs -r rm -rf
log="$logs/serial.txt"
# L0's own lines: the serial log without the guest logs dom0 dumped into it
# (a shim's log is full of "(XEN)" lines of its own).
l0log="$logs/l0-only.txt"
awk '/BED-(LOG|XL)-BEGIN /{d=1; next} /BED-(LOG|XL)-END /{d=0; next} !d' "$log" >"$l0log"
if ! grep -q BED-RUN-END "$log" && [ -z "$abort" ]; then
    abort="the bed stopped before all guests ran (QEMU exit $qrc, see $logs/qemu.out)"
    echo "bed: ABORT: $abort"
fi

# -------------------------------------------------------------- verdicts ---
# Everything the domain said: L0's messages about it ("d<domid>v<n>",
# "Domain <domid>", "d<domid>:"), its console_io lines if L0 printed them
# ("(d<domid>)"; a release-build L0 refuses domU console_io, so there are
# usually none), and its PV console ring as xenconsoled logged it, which is
# where a shim's and its guest's output really shows up.
guest_console() {
    local name=$1 domid=$2
    if [ -n "$domid" ] && [ "$domid" != none ]; then
        echo "--- L0 serial, domain $domid"
        grep -E "^(\(XEN\)|\(d[0-9]+\))" "$l0log" |
            grep -E "^\(d$domid\)|(\(XEN\) .*)([^0-9a-z]d${domid}(v[0-9]+)?[^0-9]|[Dd]om(ain)? ?$domid[^0-9])" |
            grep -Ev "HVM d$domid(v[0-9]+)? save: "  # domain-build noise
    fi
    echo "--- PV console (xenconsoled log)"
    sed -n "/BED-LOG-BEGIN $name\$/,/BED-LOG-END $name\$/p" "$log" | sed '1d;$d'
    echo "--- xl"
    sed -n "/BED-XL-BEGIN $name\$/,/BED-XL-END $name\$/p" "$log" | sed '1d;$d'
    # dom0's bed-postmortem of a guest that did not power off.
    if grep -q "BED-PM-BEGIN $name\$" "$log"; then
        echo "--- post-mortem (tests/bed/dom0/bed-postmortem.c)"
        sed -n "/BED-PM-BEGIN $name\$/,/BED-PM-END $name\$/p" "$log" | sed '1d;$d'
    fi
}

# The first error xl reported for a guest (later ones are consequences).
xl_error() {
    local out
    out=$(sed -n "/BED-XL-BEGIN $1\$/,/BED-XL-END $1\$/p" "$log" | grep -v BED-)
    { printf '%s\n' "$out" | grep -m 1 -i error || printf '%s\n' "$out" | tail -n 1; } |
        sed -E 's/^(xc|libxl): error: //'
}

passed=0 failed=0 skipped=0
summary=()
rerun=()
stalled=0
case "${abort:-}" in *"did not report back"*) [ "$retry_stall" -gt 0 ] && stalled=1 ;; esac
for name in "${names[@]}"; do
    endl=$(grep -E "BED-GUEST-END $name status=" "$log" | tail -n 1)
    domid=$(grep -E "BED-GUEST-DOMID $name " "$log" | tail -n 1 | sed -E 's/.*BED-GUEST-DOMID [^ ]+ ([^ ]+).*/\1/')
    status=$(printf '%s' "$endl" | sed -nE 's/.*status=([^ ]*).*/\1/p')
    secs=$(printf '%s' "$endl" | sed -nE 's/.*seconds=([^ ]*).*/\1/p')
    guest_console "$name" "$domid" >"$logs/$name.console"
    result=$(grep -E 'RESULT [^ ]+ (PASS|FAIL|SKIP)' "$logs/$name.console" | tail -n 1 |
             sed -E 's/.*(RESULT [^ ]+ (PASS|FAIL|SKIP).*)/\1/')
    verdict=$(printf '%s' "$result" | awk '{print $3}')
    reason=$(printf '%s' "$result" | cut -d' ' -f4-)

    notrun=0
    if [ -z "$endl" ]; then
        v=FAIL; why="not run to the end: ${abort:-bed stopped}"; notrun=1
    elif [ -n "$boot_check" ]; then
        if grep -Eq -- "$boot_check" "$logs/$name.console"; then
            seen="console matches /$boot_check/"
        else
            seen="no console line matches /$boot_check/"
        fi
        if [ "$status" = create-failed ]; then
            v=FAIL; why="xl create failed: $(xl_error "$name")"
        elif [ $boot_strict = 1 ] && [ "${seen#no }" != "$seen" ]; then
            v=FAIL; why="boot check: $seen"
        else
            v=PASS; why="boot check: domain ran, $seen; guest: ${result:-no RESULT line}"
        fi
    elif [ "$status" = timeout ]; then
        v=FAIL; why="timeout after ${g_timeout[$name]}s${result:+ (last: $result)}"
    elif [ "$status" = create-failed ]; then
        v=FAIL; why="xl create failed: $(xl_error "$name")"
    elif [ "$status" = viridian-failed ]; then
        v=FAIL; why="setting HVM_PARAM_VIRIDIAN failed: $(grep -m 1 -E 'BED-VIRIDIAN|bed-viridian' "$logs/$name.console")"
    elif [ -z "$result" ]; then
        v=FAIL; why="no RESULT line"
    elif [ "$verdict" = PASS ] && [ "$status" = "${expect_status[$name]:-poweroff}" ]; then
        v=PASS; why=""
    elif [ "$verdict" = PASS ]; then
        v=FAIL; why="RESULT PASS but the domain stopped with $status, not ${expect_status[$name]:-poweroff}"
    elif [ "$verdict" = SKIP ]; then
        v=SKIP; why=$reason
    else
        v=FAIL; why=$reason
    fi

    if [ "$v" = PASS ] && [ -n "${expect_log[$name]:-}" ]; then
        while IFS= read -r re; do
            [ -n "$re" ] || continue
            if ! grep -aEq -- "$re" "$logs/$name.console"; then
                v=FAIL; why="no console line matches /$re/"; break
            fi
        done <<<"${expect_log[$name]}"
    fi
    # A guest the bed never ran to the end has no verdict to hold against
    # its expectation (the L0-stall retry below takes it).
    if is_expected_fail "$name" && [ -z "$boot_check" ] && [ $notrun = 0 ]; then
        want=${expect_fail[$name]}
        case "$v" in
            FAIL)
                if [ -z "$want" ] || printf '%s' "$why" | grep -Eq -- "$want"; then
                    v=XFAIL; why="failed as expected: $why"
                else
                    v=FAIL; why="failed, but not as expected (/$want/): $why"
                fi ;;
            PASS) v=XPASS; why="expected to fail but passed" ;;
        esac
    fi
    # The shim's own domain triple-faulted: with --retry-shim-triple-fault
    # the guest is judged by a second run (below), not by this one.
    if [ "$v" = FAIL ] && [ "$retry_tf" = 1 ] && [ -n "$domid" ] && [ "$domid" != none ] &&
       [ "${g_shimkind[$name]}" != minishim ]; then
        tf=$(grep -m 1 -E "\(XEN\) .*[^0-9a-z]d${domid}v[0-9]+ Triple fault" "$l0log" |
             sed -E 's/.*(d[0-9]+v[0-9]+ Triple fault).*/\1/')
        if [ -n "$tf" ]; then
            v=RETRY; why="the shim triple-faulted (L0: $tf): run again below${why:+; $why}"
            rerun+=("$name")
        fi
    fi
    # A guest behind a shim other than minishim timed out: with
    # --retry-shim-timeout it is judged by a second run. Debian's xen-shim
    # has hung on this bed with a vCPU spinning on a lock in its own text
    # (smpevt, 4 vCPUs; docs/bed.md), which is not the guest's verdict.
    # An expected timeout (the hang guest) is XFAIL by now, not FAIL.
    if [ "$v" = FAIL ] && [ "$retry_to" = 1 ] && [ "$status" = timeout ] &&
       [ "${g_shimkind[$name]}" != minishim ]; then
        v=RETRY; why="the ${g_shimkind[$name]} shim's guest timed out: run again below${why:+; $why}"
        rerun+=("$name")
    fi
    # Any shim's triple fault whose captured state is L0's own (L0's dump
    # shows RIP in L0 Xen's text, ffff82d0..., e.g. svm_asm_do_resume
    # after VMRUN): the bed's nested SVM handed the vCPU L0's host
    # context (docs/bed.md). Named, never retried for minishim.
    if [ "$v" = FAIL ] && [ -n "$domid" ] && [ "$domid" != none ] &&
       grep -A 4 -E "\(XEN\) .*[^0-9a-z]d${domid}v[0-9]+ Triple fault" "$l0log" |
       grep -qE "RIP: +e008:\[<ffff82d0"; then
        why="${why:+$why; }the triple fault's CPU state is L0 Xen's own (RIP in L0's text): the bed's nested-SVM fault, docs/bed.md"
    fi
    # dom0's own processes died while this guest ran (BED-DOM0-FAULT,
    # docs/bed.md "Lazy FPU"): said next to a failure, never a verdict.
    if [ "$v" = FAIL ]; then
        dfault=$(grep -c "BED-DOM0-FAULT $name " "$log")
        [ "$dfault" -gt 0 ] && why="${why:+$why; }dom0 faulted $dfault time(s) meanwhile: $(grep -m 1 "BED-DOM0-FAULT $name " "$log" | cut -d' ' -f3- | cut -c1-160)"
    fi
    # L0 stalled before this guest was judged: not the guest's verdict.
    if [ "$v" = FAIL ] && [ $stalled = 1 ] && [ $notrun = 1 ]; then
        v=RETRY; why="L0 stalled ($abort): run again below"
        rerun+=("$name")
    fi
    case "$v" in
        PASS|XFAIL) passed=$((passed + 1)) ;;
        SKIP) skipped=$((skipped + 1)) ;;
        RETRY) ;;
        *) failed=$((failed + 1)) ;;
    esac
    line="bed: [$v] $name (domid ${domid:-none}, ${status:-not run}, ${secs:-?}s)${why:+: $why}"
    summary+=("$line")
    if { [ "$v" = FAIL ] || [ "$v" = XPASS ]; } && [ -n "$endl" ]; then
        echo "bed: --- console of $name (last 25 lines; all in $logs/$name.console)"
        tail -n 25 "$logs/$name.console" | sed 's/^/bed: | /'
    fi
done

{
    echo "run time ${run_time}s, QEMU exit $qrc${abort:+, aborted: $abort}"
    for k in xen linux dom0; do echo "milestone $k ${mark_time[$k]:-never}"; done
    printf '%s\n' "${summary[@]}"
} >>"$logs/run.info"
rm -f "$l0log"

t() { [ -n "${mark_time[$1]:-}" ] && echo "${mark_time[$1]}s" || echo never; }
echo "bed: timings: L0 Xen $(t xen), dom0 kernel $(t linux), dom0 up $(t dom0), total ${run_time}s"
printf '%s\n' "${summary[@]}"
echo "bed: logs in $logs (serial.log = L0 serial, <guest>.console = per-guest output)"
if [ ${#rerun[@]} -gt 0 ]; then
    # Same options, only these guests, own log tag; no shim triple-fault or
    # timeout retry there, and one L0-stall retry fewer.
    rargs=()
    set -- "${orig_args[@]}"
    while [ $# -gt 0 ]; do
        case "$1" in
            --retry-shim-triple-fault|--retry-shim-timeout) shift ;;
            --guest|--name|--retry-l0-stall) shift 2 ;;
            # Per-guest options the rerun checks against its own guests:
            # keep only those of guests run again.
            --guest-viridian|--expect-status|--expect-fail|--guest-poll)
                case " ${rerun[*]} " in
                    *" ${2%%=*} "*) rargs+=("$1" "$2") ;;
                esac
                shift 2 ;;
            --guest-action)         # NAME MARKER CMD
                case " ${rerun[*]} " in
                    *" $2 "*) rargs+=("$1" "$2" "$3" "$4") ;;
                esac
                shift 4 ;;
            *) rargs+=("$1"); shift ;;
        esac
    done
    for n in "${rerun[@]}"; do rargs+=(--guest "${g_spec[$n]}"); done
    [ "$retry_stall" -gt 1 ] && rargs+=(--retry-l0-stall $((retry_stall - 1)))
    echo "bed: running ${rerun[*]} again in a new L0 boot"
    "$0" "${rargs[@]}" --name "$tag-retry" >"$logs/retry.out" 2>&1
    sed 's/^/bed: (rerun) /' "$logs/retry.out"
    # Fold the rerun's own counts in (its last two lines).
    counts=$(tail -n 1 "$logs/retry.out" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p')
    rskipped=$(tail -n 2 "$logs/retry.out" | sed -nE 's/^([0-9]+) skipped$/\1/p')
    skipped=$((skipped + ${rskipped:-0}))
    if [ -n "$counts" ]; then
        passed=$((passed + ${counts% *}))
        failed=$((failed + ${counts#* }))
    else
        failed=$((failed + ${#rerun[@]}))
    fi
fi
echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
}

# On one line with main: bash has read the exit before main runs, so it
# never reads this file again after main returns (an edit made meanwhile
# would otherwise be read from the old offset: a syntax error, rc 2).
main "$@"; exit $?
