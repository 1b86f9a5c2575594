#!/bin/sh
# check-reachable.sh LDFLAGS-FILE ALLOW OBJ... -- LIBS...
#
# Every function defined under shim/, pv/ and hypercall/ must be reachable
# in the image, so that code only the unit tests call cannot pass for a
# feature. The objects were compiled with -ffunction-sections -fno-inline
# (one section per function, and no function vanishes into its callers);
# this links them like the image with --gc-sections --print-gc-sections
# and fails on every function section of a logic file the linker drops,
# unless ALLOW names it with a reason. An ALLOW entry the linker no longer
# drops fails too (the list stays true).
#
# ALLOW: one "name  reason" per line; '#' starts a comment.
set -eu
ldflags=$1 allow=$2
shift 2
objs="" libs=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do objs="$objs $1"; shift; done
[ $# -gt 0 ] && shift
libs="$*"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# shellcheck disable=SC2086
ld $(cat "$ldflags") --gc-sections --print-gc-sections -o "$out/reach.elf" \
    $objs $libs 2> "$out/gc.log" || { cat "$out/gc.log"; exit 1; }

# "ld: removing unused section '.text.NAME' in file 'DIR/{shim,pv,hypercall}/F.c.o'"
# Compiler clones (NAME.constprop.0, .isra, .part) are not source functions.
sed -n "s#^.*removing unused section '\.text\.\([^'.]*\)' in file '.*/\(shim\|pv\|hypercall\)/\([^']*\)\.c\.o'\$#\1 \2/\3.c#p" \
    "$out/gc.log" | sort -u > "$out/dropped"
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$allow" | awk '{ print $1 }' | sort -u > "$out/allowed"
awk 'NF < 2 && !/^[[:space:]]*(#|$)/ { print "check-reachable: " FILENAME ": \"" $1 "\" has no reason"; bad = 1 }
     END { exit bad }' "$allow"

rc=0
awk '{ print $1 }' "$out/dropped" | sort -u > "$out/dropped-names"
comm -23 "$out/dropped-names" "$out/allowed" > "$out/new"
comm -13 "$out/dropped-names" "$out/allowed" > "$out/stale"
if [ -s "$out/new" ]; then
    echo "check-reachable: functions the image never reaches (only tests call them?):"
    grep -wFf "$out/new" "$out/dropped" | sed 's/^/  /'
    echo "  use them in the image, delete them, or list them in $allow with a reason"
    rc=1
fi
if [ -s "$out/stale" ]; then
    echo "check-reachable: listed in $allow but reachable (or gone) now: remove them:"
    sed 's/^/  /' "$out/stale"
    rc=1
fi
[ $rc = 0 ] && echo "check-reachable: every shim/ pv/ hypercall/ function is reachable" \
    "($(wc -l < "$out/allowed") allow-listed)"
exit $rc
