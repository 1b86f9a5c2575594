#!/bin/sh
# devtest.sh - /init of the PV disk's root file system (scripts/mk-devdisk.sh
# puts it there): the Linux guest's PV disk and network test on the Xen bed
# (docs/pv-devices.md). The initramfs's /init (scripts/mk-initramfs.sh,
# minishim.root=xvda) loaded xen-blkfront, xen-netfront and ext4, mounted
# /dev/xvda and switched root to it; this runs there as pid 1.
#
#   minishim.disk=write   the file /data/blob must not exist yet (a fresh
#                         image); write it (`seq 7 7 2100000`, 2.1 MB),
#                         sync, remount / read-only, check it reads back
#   minishim.disk=read    /data/blob (written by an earlier boot on the same
#                         image) must have the checksum of that sequence
#   minishim.net=1        eth0 (xen-netfront) = 10.99.0.2/24 on dom0's
#                         bridge xenbr0 (10.99.0.1): ping dom0, fetch dom0's
#                         blob (`seq 1 500000`, 3.4 MB) over HTTP and check
#                         it, then serve our own blob (`seq 3 3 1500000`)
#                         and a token, say "minishim-devices: net ready"
#                         and wait for dom0's verdict
#                         (tests/bed/dom0/net-peer.sh, run by the bed on
#                         that line): dom0 pinged us, fetched our blob and
#                         its checksum is ours
#   minishim.action=reboot|poweroff   how the domain ends (default poweroff)
#
# One "CHECK <name> PASS|FAIL <detail>" line per check, then
# "RESULT devices PASS" or "RESULT devices FAIL failed: <check names>".
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys 2>/dev/null
mount -t tmpfs tmpfs /tmp

failed=""
check() {  # check NAME OK(0/1) DETAIL
    if [ "$2" = 0 ]; then
        echo "CHECK $1 PASS $3"
    else
        echo "CHECK $1 FAIL $3"
        failed="$failed $1"
    fi
}
sum() { sha256sum | cut -c1-64; }
# get URL_PATH OUT: the body of http://10.99.0.1:8080/URL_PATH into OUT.
# HTTP by hand with busybox nc under timeout: Debian's busybox-static
# wget segfaults (a NULL write) whenever given -T, its only time limit.
get() {
    printf 'GET /%s HTTP/1.0\r\n\r\n' "$1" | timeout 120 nc 10.99.0.1 8080 >"$2.raw" &&
        head -n 1 "$2.raw" | grep -q '^HTTP/1.[01] 200 ' &&
        sed '1,/^\r$/d' "$2.raw" >"$2"
}

disk="" net="" action=poweroff
for w in $(cat /proc/cmdline); do
    case "$w" in
        minishim.disk=*) disk=${w#*=} ;;
        minishim.net=*) net=${w#*=} ;;
        minishim.action=*) action=${w#*=} ;;
    esac
done
echo "minishim-devices: root $(grep ' / ' /proc/mounts | grep -v '^rootfs' | tail -n 1)"

# Root is the PV disk, ext4, read-write.
rootline=$(awk '$2 == "/" && $1 != "rootfs" {print $1, $3, $4}' /proc/mounts | tail -n 1)
case "$rootline" in
    "/dev/xvda ext4 rw"*) check root-on-xvda 0 "$rootline" ;;
    *) check root-on-xvda 1 "$rootline" ;;
esac

want_disk=$(seq 7 7 2100000 | sum)
case "$disk" in
    write)
        if [ -e /data/blob ]; then
            check disk-fresh 1 "/data/blob exists before this boot wrote it"
        else
            check disk-fresh 0 "no /data/blob yet"
        fi
        seq 7 7 2100000 >/data/blob.tmp && mv /data/blob.tmp /data/blob
        sync
        # Read-only from here: the file system is clean and every block is
        # with blkback before the domain goes.
        mount -o remount,ro / 2>&1
        echo 3 >/proc/sys/vm/drop_caches
        got=$(sum </data/blob)
        [ "$got" = "$want_disk" ]
        check disk-write $? "sha256 $got, want $want_disk"
        ro=$(awk '$2 == "/" && $1 != "rootfs" {print $4}' /proc/mounts | tail -n 1)
        case "$ro" in ro*) r=0 ;; *) r=1 ;; esac
        check disk-remount-ro $r "$ro"
        ;;
    read)
        if [ -e /data/blob ]; then
            got=$(sum </data/blob)
            [ "$got" = "$want_disk" ]
            check disk-read-back $? "sha256 $got, want $want_disk (written by the previous boot)"
        else
            check disk-read-back 1 "no /data/blob: the previous boot's write did not persist"
        fi
        ;;
    "") ;;
    *) check disk-mode 1 "unknown minishim.disk=$disk" ;;
esac

if [ -n "$net" ]; then
    ip link set lo up
    if ip link set eth0 up && ip addr add 10.99.0.2/24 dev eth0; then
        check net-eth0 0 "$(cat /sys/class/net/eth0/address)"
        ping -c 3 -W 10 10.99.0.1 >/tmp/ping.out 2>&1
        check net-ping-dom0 $? "$(tail -n 2 /tmp/ping.out | tr '\n' ' ')"
        want=$(seq 1 500000 | sum)
        if get blob /tmp/from-dom0; then
            got=$(sum </tmp/from-dom0)
            [ "$got" = "$want" ]
            check net-dom0-to-guest $? "$(wc -c </tmp/from-dom0) bytes, sha256 $got, want $want"
        else
            check net-dom0-to-guest 1 "HTTP GET from dom0 failed: $(head -n 1 /tmp/from-dom0.raw 2>/dev/null)"
        fi
        mkdir -p /tmp/www
        seq 3 3 1500000 >/tmp/www/blob
        mine=$(sum </tmp/www/blob)
        token=$(cat /proc/sys/kernel/random/uuid)
        echo "$token" >/tmp/www/token
        httpd -p 8080 -h /tmp/www
        echo "minishim-devices: net ready token=$token"
        verdict=""
        i=0
        while [ $i -lt 240 ]; do
            if get "verdict-$token" /tmp/verdict 2>/dev/null; then
                verdict=$(cat /tmp/verdict)
                break
            fi
            sleep 1
            i=$((i + 1))
        done
        echo "minishim-devices: dom0 says: ${verdict:-nothing in 240 s}"
        case "$verdict" in *" ping=0 "*) r=0 ;; *) r=1 ;; esac
        check net-ping-guest $r "${verdict:-no verdict}"
        case "$verdict" in *" get=0 sha=$mine "*) r=0 ;; *) r=1 ;; esac
        check net-guest-to-dom0 $r "$(wc -c </tmp/www/blob) bytes, sha256 $mine"
    else
        check net-eth0 1 "no eth0 (xen-netfront): $(ls /sys/class/net | tr '\n' ' ')"
    fi
fi

if [ -z "$failed" ]; then
    echo "RESULT devices PASS"
else
    echo "RESULT devices FAIL failed:$failed"
fi
sync
case "$action" in
    reboot) echo "minishim-devices: rebooting"; reboot -f ;;
esac
echo "minishim-devices: powering off"
poweroff -f
