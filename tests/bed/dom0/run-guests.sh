#!/bin/sh
# Runs inside the bed's dom0: creates each guest listed in /bed/guests.list
# ("name timeout_seconds [viridian_flags]" per line) from /bed/cfg/<name>.cfg,
# one after the
# other, waits until it shuts down, crashes or times out, and prints its
# console log between markers. The domain is always destroyed before the
# next one starts, so domids are never reused within a run.
#
# Markers (one line each, parsed by tests/bed/run-bed.sh):
#   BED-GUEST-BEGIN <name>
#   BED-GUEST-DOMID <name> <domid|none>
#   BED-VIRIDIAN domid=<d> set=<flags> readback=<flags> rc=<rc>   (with flags)
#   BED-GUEST-STATE <name> <xl state flags> <seconds>
#   BED-LOG-BEGIN <name> ... BED-LOG-END <name>      PV console ring
#   BED-XL-BEGIN <name> ... BED-XL-END <name>        xl create output + log
#   BED-GUEST-END <name> status=<status> seconds=<s.ss>
# status: poweroff | reboot | suspend | watchdog | shutdown | crash |
#         timeout | create-failed | viridian-failed | vanished
#
# With /bed/actions/<name>.marker and .cmd (run-bed.sh --guest-action), the
# command runs once in dom0 (sh, DOMID and NAME set) as soon as the marker
# shows up in the guest's console log (within /bed/actions/<name>.timeout
# seconds, default 60; afterwards the domain is followed by name, so an
# action may xl save and xl restore it):
#   BED-GUEST-ACTION <name> rc=<rc> <output>
#   BED-GUEST-NEW-DOMID <name> <domid> (was <domid>)
#
# With viridian flags the domain is created paused (xl create -p), gets
# HVM_PARAM_VIRIDIAN from /bed/bed-viridian (libxl only sets it for
# type="hvm"; Xen accepts it for PVH), and is then unpaused.

# centiseconds since boot, from /proc/uptime ("123.45 ...")
# Pure shell (no sed): one process fewer that can die under the bed's load
# (a dom0 "Segmentation fault" once left this empty and the arithmetic
# below aborted the whole script, judging no guest).
now_cs() {
    read -r up _ </proc/uptime
    c=${up#*.}
    c=${c#0}
    echo $(( ${up%.*} * 100 + ${c:-0} ))
}

secs() {  # centiseconds -> s.ss
    printf '%d.%02d' $(($1 / 100)) $(($1 % 100))
}

# xl's monitoring process logs the shutdown reason code (SHUTDOWN_*).
# Pure shell, as now_cs: a sed that died here once turned a poweroff into
# "shutdown" and failed the guest.
shutdown_reason() {
    code=""
    if [ -r "/var/log/xen/xl-$1.log" ]; then
        while IFS= read -r l; do
            case "$l" in
                *"has shut down, reason code "*) code=${l#*reason code }; code=${code%% *} ;;
            esac
        done <"/var/log/xen/xl-$1.log"
    fi
    case "$code" in
        0) echo poweroff ;;
        1) echo reboot ;;
        2) echo suspend ;;
        3) echo crash ;;
        4) echo watchdog ;;
        5) echo softreset ;;
        *) echo shutdown ;;
    esac
}

run_guest() {
    name=$1
    limit=$2
    viridian=$3
    cfg=/bed/cfg/$name.cfg
    status=""

    echo "BED-GUEST-BEGIN $name"
    start=$(now_cs)
    if [ -n "$viridian" ]; then
        timeout -s KILL "$limit" xl create -p "$cfg" >"/tmp/xl-create-$name.out" 2>&1
    else
        timeout -s KILL "$limit" xl create "$cfg" >"/tmp/xl-create-$name.out" 2>&1
    fi
    rc=$?
    # xl domid, like xl list, can come back empty under this bed's load
    # (xl itself crashing now and then): ask again, then take the domid
    # xl create printed ("Waiting for domain NAME (domid N) to die"). A
    # guest that ran in about a second once failed here as "create-failed"
    # after printing its RESULT and powering off.
    domid=""
    for try in 1 2 3; do
        domid=$(xl domid "$name" 2>/dev/null)
        [ -n "$domid" ] && break
        sleep 0.3
    done
    if [ -z "$domid" ] && [ "$rc" = 0 ]; then
        domid=$(cat "/tmp/xl-create-$name.out" "/var/log/xen/xl-$name.log" 2>/dev/null |
                sed -n 's/.*Waiting for domain .* (domid \([0-9][0-9]*\)) to die.*/\1/p' |
                tail -n 1)
    fi
    echo "BED-GUEST-DOMID $name ${domid:-none} create-rc=$rc"

    if [ -n "$domid" ] && [ -n "$viridian" ]; then
        vout=$(/bed/bed-viridian "$domid" "$viridian" 2>&1)
        vrc=$?
        echo "$vout"
        echo "$vout" >>"/tmp/xl-create-$name.out"
        if [ $vrc = 0 ] && xl unpause "$domid" >>"/tmp/xl-create-$name.out" 2>&1; then
            :
        else
            status=viridian-failed
            xl destroy "$domid" >/dev/null 2>&1
        fi
    fi

    # gpeer guests (tests/guests/gpeer) have their other half in dom0.
    peer=""
    case "$name" in
        gpeer*) if [ -n "$domid" ] && [ -z "$status" ]; then
                    /bed/bed-peer "$domid" >"/tmp/peer-$name.out" 2>&1 &
                    peer=$!
                fi ;;
    esac

    if [ -n "$status" ]; then
        :
    elif [ -z "$domid" ]; then
        status=create-failed
    else
        last=""
        misses=0
        marker=""
        [ -f "/bed/actions/$name.marker" ] && marker=$(cat "/bed/actions/$name.marker")
        # run-bed.sh --guest-poll: a benchmark guest is asked less often
        # (each xl run takes an L0 CPU from the guest for a while).
        poll=0.2
        nv=""
        [ -f "/bed/poll/$name" ] && read -r poll <"/bed/poll/$name"
        while :; do
            if [ -n "$marker" ] && grep -qF -- "$marker" "/var/log/xen/guest-$name.log" 2>/dev/null; then
                marker=""
                atime=$(cat "/bed/actions/$name.timeout" 2>/dev/null || echo 60)
                aout=$(DOMID=$domid NAME=$name timeout "$atime" sh "/bed/actions/$name.cmd" 2>&1)
                echo "BED-GUEST-ACTION $name rc=$? $(echo "$aout" | head -c 300 | tr '\n' ' ')"
                # xl save + xl restore: the guest goes on in a new domain
                # of the same name; follow it.
                ndom=$(xl domid "$name" 2>/dev/null)
                if [ -n "$ndom" ] && [ "$ndom" != "$domid" ]; then
                    echo "BED-GUEST-NEW-DOMID $name $ndom (was $domid)"
                    domid=$ndom
                fi
            fi
            # Second line of xl's table, in shell: one process per poll.
            out=$(xl list "$domid" 2>"/tmp/xl-list-$name.err")
            line=${out#*"
"}
            [ "$line" = "$out" ] && line=""
            line=${line%%"
"*}
            elapsed=$(( $(now_cs) - start ))
            if [ -z "$line" ]; then
                # Under load a single "xl list" can come back empty while
                # the domain is alive (seen with both shims): only several
                # misses in a row mean the domain is gone.
                misses=$((misses + 1))
                echo "BED-GUEST-LIST-MISS $name $misses $(secs $elapsed) $(head -c 200 "/tmp/xl-list-$name.err" | tr '\n' ' ')"
                if [ $misses -ge 5 ]; then
                    status=vanished
                    break
                fi
                sleep 0.5
                continue
            fi
            misses=0
            # Name ID Mem VCPUs State Time(s): State is the 5th field.
            # shellcheck disable=SC2086  # split on purpose
            set -- $line
            state=${5:-}
            nv=${4:-}       # vCPUs, for the post-mortem below
            if [ "$state" != "$last" ]; then
                echo "BED-GUEST-STATE $name $state $(secs $elapsed)"
                last=$state
            fi
            case "$state" in
                *c*) status=crash; break ;;
                *s*) status=$(shutdown_reason "$name"); break ;;
            esac
            if [ "$elapsed" -ge $((limit * 100)) ]; then
                status=timeout
                break
            fi
            sleep "$poll"
        done
        # Give xenconsoled a moment to drain the console ring.
        sleep 0.5
        # Anything but a poweroff: the stopped (or, on a timeout, paused)
        # domain's CPU state and descriptor tables, read before it goes
        # (a shim's triple fault leaves nothing in its own log).
        if [ "$status" != poweroff ]; then
            if [ "$status" = timeout ]; then
                # minishim prints its state dump on an NMI from L0
                # (docs/debugging.md); other shims log or ignore it.
                xl trigger "$domid" nmi 0 >/dev/null 2>&1 && sleep 3
                # A Linux guest answers control/sysrq through xenbus
                # (if its CPU 0 still takes events): backtraces of all
                # CPUs and the blocked tasks into its console log.
                xl sysrq "$domid" l >/dev/null 2>&1 && sleep 3 &&
                    xl sysrq "$domid" w >/dev/null 2>&1 && sleep 3
                xl pause "$domid" >/dev/null 2>&1
            fi
            echo "BED-PM-BEGIN $name"
            timeout -s KILL 30 /bed/bed-postmortem "$domid" "${nv:-1}" 2>&1 | head -n 200
            echo "BED-PM-END $name"
        fi
        xl destroy "$domid" >/dev/null 2>&1
    fi
    elapsed=$(( $(now_cs) - start ))
    sleep 0.2
    if [ -n "$peer" ]; then
        kill "$peer" 2>/dev/null
        wait "$peer" 2>/dev/null
        cat "/tmp/peer-$name.out" >>"/tmp/xl-create-$name.out"
        sed 's/^/BED-PEER /' "/tmp/peer-$name.out"
    fi

    echo "BED-LOG-BEGIN $name"
    cat "/var/log/xen/guest-$name.log" 2>/dev/null
    echo "BED-LOG-END $name"
    echo "BED-XL-BEGIN $name"
    cat "/tmp/xl-create-$name.out" "/var/log/xen/xl-$name.log" 2>/dev/null
    # What the hotplug scripts (disk=, vif= lines) said, then start afresh.
    if [ -s /var/log/xen/xen-hotplug.log ]; then
        sed 's/^/hotplug: /' /var/log/xen/xen-hotplug.log | tail -n 40
        : >/var/log/xen/xen-hotplug.log
    fi
    echo "BED-XL-END $name"
    # dom0's own faults while this guest ran (dom0 user-space processes
    # have died of SIGSEGV on the nested bed): the kernel's lines, read
    # and cleared, for the harness to show next to the guest's verdict.
    dmesg -c 2>/dev/null | grep -E "segfault at|general protection|traps:|invalid opcode|Bad page|BUG:|Oops" |
        head -n 20 | sed "s/^/BED-DOM0-FAULT $name /"
    echo "BED-GUEST-END $name status=$status seconds=$(secs $elapsed)"
}

# run-bed.sh --shim-deb: install the package as docs/deploy.md says
# (busybox's dpkg needs its database directory); the guests' pvshim_path
# then points into it.
if [ -f /bed/minishim.deb ]; then
    mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates && touch /var/lib/dpkg/status
    if dpkg -i /bed/minishim.deb && [ -s /usr/lib/minishim/minishim.elf ]; then
        echo "BED-DEB-INSTALLED $(dpkg -l minishim 2>/dev/null | sed -n 's/^ii *minishim *\([^ ]*\).*/\1/p')"
    else
        echo "BED-DEB-FAILED"
    fi
fi
echo "BED-RUN-BEGIN $(wc -l </bed/guests.list) guest(s)"
# The list is read on fd 3 so nothing a guest run starts can eat it.
while read -r name limit viridian <&3; do
    [ -n "$name" ] && run_guest "$name" "$limit" "$viridian" </dev/null
done 3</bed/guests.list
echo "BED-RUN-END"
