#!/usr/bin/env bash
# mk-initramfs.sh OUT [LINUXCHECK]: a small gzip'd cpio initramfs for Linux
# under minishim, from Debian's busybox-static: /init mounts /proc and /sys,
# prints what the milestones of scripts/run-linux.sh look for (user space
# reached, the vCPUs Linux sees), runs the user-space assertions of
# LINUXCHECK (the static tests/guests/linux/linuxcheck.c: CHECK lines and
# "RESULT linux PASS|FAIL"; without it /init prints RESULT linux PASS), then
# ends the way the kernel command line asks (or runs a shell with
# LINUX_INIT_SHELL=1 baked in as /etc/shell):
#   minishim.action=poweroff   poweroff -f (default)
#   minishim.action=reboot     reboot -f
#   minishim.action=panic      echo c > /proc/sysrq-trigger (a kernel panic)
#   minishim.action=wait       wait for dom0 (xl shutdown / xl reboot from
#                              dom0 end it, through the kernel's xenbus
#                              control/shutdown watch); powers off once the
#                              online CPUs change (xl vcpu-set)
#   minishim.forks=N           linuxcheck's fork+exec count (default 1000)
#   minishim.hotplug=R         linuxcheck's CPU hot-unplug/plug rounds (none)
#   minishim.conin=TEXT        linuxcheck reads TEXT from the console (hvc0)
#   minishim.root=DEV          root on a PV disk (docs/pv-devices.md): load
#                              the frontends and ext4 (modules in Debian's
#                              config, copied from /lib/modules/KVER with
#                              their dependencies; KVER = LINUX_KVER, default
#                              the newest non-cloud /boot/vmlinuz-*), wait
#                              for /dev/DEV, mount it and switch_root to its
#                              /init (scripts/mk-devdisk.sh); instead of the
#                              checks above
set -euo pipefail
out=$1
check=${2:-}
if [ -n "$check" ]; then
  file -L "$check" 2>/dev/null | grep -q 'statically linked' ||
    { echo "mk-initramfs: $check is not a static binary" >&2; exit 1; }
fi
bb=/bin/busybox
[ -x "$bb" ] && "$bb" --list >/dev/null 2>&1 || { echo "mk-initramfs: no $bb (apt-get install busybox-static)" >&2; exit 1; }
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || ldd "$bb" 2>&1 | grep -q 'not a dynamic' ||
  { echo "mk-initramfs: $bb is not static (busybox-static is needed)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root,newroot,lib/modules}
# PV frontends and the root file system's modules, in load order: each
# one's modinfo dependencies come before it (checked below); crc32c_generic
# is ext4's and jbd2's softdep (crypto-crc32c).
kver=${LINUX_KVER:-$(ls /boot/vmlinuz-* 2>/dev/null | grep -v cloud | sort -V | tail -n 1 | sed 's|^/boot/vmlinuz-||')}
FRONTEND_MODULES=(crc32c_generic crc16 mbcache jbd2 ext4 xen-blkfront xen-netfront)
if [ -n "$kver" ] && [ -d "/lib/modules/$kver" ]; then
  loaded=","
  for m in "${FRONTEND_MODULES[@]}"; do
    f=$(modinfo -k "$kver" -n "$m" 2>/dev/null) ||
      { echo "mk-initramfs: module $m not found for $kver" >&2; exit 1; }
    for d in $(modinfo -k "$kver" -F depends "$m" | tr ',' ' '); do
      case "$loaded" in *",$d,"*) ;; *) echo "mk-initramfs: $m needs $d first" >&2; exit 1 ;; esac
    done
    case "$f" in
      *.ko.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
      *.ko) cp "$f" "$root/lib/modules/$m.ko" ;;
      *) echo "mk-initramfs: $m is built in? ($f)" >&2; exit 1 ;;
    esac
    loaded="$loaded$m,"
  done
  echo "${FRONTEND_MODULES[*]}" > "$root/lib/modules/frontends.list"
fi
cp "$bb" "$root/bin/busybox"
for a in sh mount umount cat echo ls uname poweroff reboot sleep date grep head; do
  ln -s busybox "$root/bin/$a"
done
cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "minishim-linux: /init running (pid $$)"
echo "minishim-linux: $(uname -sr), $(grep -c ^processor /proc/cpuinfo) CPU(s) online"
if [ -e /etc/shell ]; then exec sh; fi
action=poweroff forks=1000 rootdev=""
set --
for w in $(cat /proc/cmdline); do
  case "$w" in
    minishim.root=*) rootdev=${w#*=} ;;
    minishim.action=*) action=${w#*=} ;;
    minishim.forks=*) forks=${w#*=} ;;
    minishim.hotplug=*) set -- "$@" "hotplug=${w#*=}" ;;
    minishim.conin=*) set -- "$@" "conin=${w#*=}" ;;
  esac
done
if [ -n "$rootdev" ]; then
  # Root on a PV disk: the frontends first (a missing one is a failure,
  # reported, never a hang), then the disk's own /init.
  for m in $(cat /lib/modules/frontends.list 2>/dev/null); do
    busybox insmod "/lib/modules/$m.ko" || echo "minishim-linux: insmod $m failed"
  done
  i=0
  while [ ! -b "/dev/$rootdev" ] && [ $i -lt 120 ]; do sleep 0.5; i=$((i + 1)); done
  if [ -b "/dev/$rootdev" ] && mount -t ext4 "/dev/$rootdev" /newroot && [ -x /newroot/init ]; then
    echo "minishim-linux: root on /dev/$rootdev, switching to it"
    umount /proc /sys
    busybox mount --move /dev /newroot/dev
    exec busybox switch_root /newroot /init
  fi
  echo "minishim-linux: no root on /dev/$rootdev ($(ls /sys/block 2>/dev/null | tr '\n' ' '))"
  echo "RESULT devices FAIL no root file system on /dev/$rootdev"
  poweroff -f
fi
if [ -x /bin/linuxcheck ]; then
  /bin/linuxcheck fork="$forks" "$@" || echo "minishim-linux: linuxcheck exited with status $?"
else
  echo "RESULT linux PASS"
fi
case "$action" in
  wait)
    cpus=$(cat /sys/devices/system/cpu/online)
    echo "minishim-linux: waiting for dom0 (CPUs online: $cpus)"
    while :; do
      now=$(cat /sys/devices/system/cpu/online)
      if [ "$now" != "$cpus" ]; then
        echo "minishim-linux: CPUs online now $now (was $cpus)"; break
      fi
      sleep 1
    done ;;
  wait-mem)
    # xl mem-set from dom0 (make bed-linux ACTION=xl-mem-set): Linux's
    # balloon driver follows L0's memory/target; report its view once it
    # gave memory back (reached the lower target, or the target moved
    # again), then once it is back where it started (a pv-shim guest
    # cannot grow past its boot size).
    b=/sys/devices/system/xen_memory/xen_memory0
    mem() { set -- $(grep MemTotal /proc/meminfo); echo "$2"; }
    t0=$(cat $b/target_kb); c0=$(cat $b/info/current_kb); m0=$(mem); tdown=
    echo "minishim-linux: waiting for dom0 (balloon target $t0 kB current $c0 kB, MemTotal $m0 kB)"
    phase=down
    while [ $phase != done ]; do
      t=$(cat $b/target_kb); c=$(cat $b/info/current_kb)
      if [ $phase = down ]; then
        [ -z "$tdown" ] && [ "$t" != "$t0" ] && tdown=$t
        if [ -n "$tdown" ] && [ "$c" -lt "$c0" ] && { [ "$c" = "$tdown" ] || [ "$t" != "$tdown" ]; }; then
          echo "minishim-linux: balloon down: current $c kB (target $tdown kB), MemTotal $(mem) kB (was $m0 kB)"
          phase=up
        fi
      elif [ "$c" = "$c0" ]; then
        echo "minishim-linux: balloon up: current $c kB (target $t kB), MemTotal $(mem) kB (was $m0 kB)"
        phase=done
      fi
      sleep 1
    done ;;
  reboot) echo "minishim-linux: rebooting"; reboot -f ;;
  panic) echo "minishim-linux: panicking (sysrq c)"; echo c > /proc/sysrq-trigger ;;
  poweroff) ;;
  *) echo "minishim-linux: unknown minishim.action=$action: powering off" ;;
esac
echo "minishim-linux: powering off"
poweroff -f
INIT
chmod +x "$root/init"
# The kernel's orderly_poweroff / orderly_reboot (xl shutdown / xl reboot:
# the xenbus control/shutdown watch) run /sbin/poweroff and /sbin/reboot
# (without them Linux forces the issue itself); /init is no busybox init
# to signal.
for a in poweroff reboot; do
  printf '#!/bin/sh\nexec /bin/%s -f\n' "$a" > "$root/sbin/$a"
  chmod +x "$root/sbin/$a"
done
[ -z "$check" ] || cp "$check" "$root/bin/linuxcheck"
[ "${LINUX_INIT_SHELL:-0}" = 1 ] && touch "$root/etc/shell"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9n) > "$out.tmp"
mv "$out.tmp" "$out"
