#!/bin/sh
# net-peer.sh GUEST_IP - dom0's half of the Linux guest's network test
# (tests/guests/linux/devtest.sh, docs/pv-devices.md), run by
# run-guests.sh once the guest says "minishim-devices: net ready": ping the
# guest over the bridge xenbr0, fetch its token and its blob from its httpd,
# and publish the verdict in dom0's httpd root (/srv/www/verdict-<token>),
# which the guest polls for: " ping=RC get=RC sha=<sha256 of what dom0
# got> ". HTTP by hand with busybox nc under timeout: Debian's
# busybox-static wget segfaults (a NULL write) whenever given -T, its only
# time limit.
ip=${1:?usage: net-peer.sh GUEST_IP}
get() {  # get PATH OUT: the body of http://$ip:8080/PATH into OUT
    printf 'GET /%s HTTP/1.0\r\n\r\n' "$1" | timeout 120 nc "$ip" 8080 >"$2.raw" &&
        head -n 1 "$2.raw" | grep -q '^HTTP/1.[01] 200 ' &&
        sed '1,/^\r$/d' "$2.raw" >"$2"
}
ping -c 3 -W 10 "$ip" >/tmp/net-peer-ping.out 2>&1
p=$?
token=""
get token /tmp/net-peer.token && token=$(tr -dc 'a-f0-9-' </tmp/net-peer.token)
rm -f /tmp/net-peer.blob
get blob /tmp/net-peer.blob
g=$?
sha=$(sha256sum </tmp/net-peer.blob 2>/dev/null | cut -c1-64)
bytes=$(wc -c </tmp/net-peer.blob 2>/dev/null)
echo "token=$token ping=$p get=$g sha=$sha bytes=$bytes" >/srv/www/verdict.tmp
mv /srv/www/verdict.tmp "/srv/www/verdict-${token:-none}"
cat "/srv/www/verdict-${token:-none}"
