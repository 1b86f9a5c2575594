#!/usr/bin/env bash
# test-workload.sh WORKLOAD - the Linux workload program on this host: it
# is a normal Linux program, so its output format is checked here, where
# it needs no guest. Each workload must print exactly one well-formed
# WORKLOAD line with its own parameters; bad command lines must exit 2.
set -uo pipefail
bin=${1:?usage: test-workload.sh path/to/workload}
fails=0
ok() { echo "PASS workload: $1"; }
bad() { echo "FAIL workload: $1"; fails=$((fails + 1)); }

LINE='^WORKLOAD ([a-z-]+) (([a-z_]+=[0-9]+ )*)elapsed_ns=[0-9]+ rate=[0-9]+\.[0-9]{2} unit=[a-z/]+$'

# check_all OUTPUT: one line per workload, each once, well formed, rate > 0.
check_all() {
    local out=$1 w n
    [ "$(printf '%s\n' "$out" | grep -c .)" = 5 ] || { echo "not 5 lines"; return 1; }
    for w in fork-exec shootdown mprotect ebizzy build; do
        n=$(printf '%s\n' "$out" | grep -cE "^WORKLOAD $w ")
        [ "$n" = 1 ] || { echo "$w: $n lines"; return 1; }
    done
    while IFS= read -r l; do
        [[ $l =~ $LINE ]] || { echo "malformed: $l"; return 1; }
        [[ $l =~ rate=0\.00 ]] && { echo "zero rate: $l"; return 1; }
    done <<<"$out"
    return 0
}

out=$("$bin" all quick 2>/tmp/workload-err.$$); rc=$?
if [ $rc = 0 ] && why=$(check_all "$out"); then ok "all quick: 5 well-formed lines"
else bad "all quick: rc=$rc ${why:-} $(cat /tmp/workload-err.$$)"; fi
rm -f /tmp/workload-err.$$
# The checker itself must reject a broken output (a missing workload, a
# mangled line), or it proves nothing.
if check_all "$(printf '%s\n' "$out" | head -n 4)" >/dev/null; then bad "checker accepted 4 lines"; else ok "checker rejects a missing workload"; fi
if check_all "$(printf '%s\n' "$out" | sed '2s/rate=/rate=x/')" >/dev/null; then bad "checker accepted a mangled line"; else ok "checker rejects a mangled line"; fi

one() {   # one NAME ARGS... EXPECT-PARAMS
    local name=$1 want=$2; shift 2
    local o
    o=$("$bin" "$name" "$@"); rc=$?
    if [ $rc = 0 ] && [[ $o =~ $LINE ]] && [[ $o == "WORKLOAD $name $want"* ]]; then ok "$name $*"
    else bad "$name $*: rc=$rc output '$o'"; fi
}
one fork-exec "n=5 " n=5
one shootdown "threads=2 n=20 " threads=2 n=20
one mprotect "n=20 " n=20
one ebizzy "threads=2 seconds=1 chunk_kib=128 records=" threads=2 seconds=1 chunk=128
one build "workers=2 jobs=2 " workers=2 jobs=2

for args in "" "bogus" "fork-exec n=0" "fork-exec n=x" "shootdown colour=1" "all quick extra"; do
    # shellcheck disable=SC2086
    "$bin" $args >/dev/null 2>&1; rc=$?
    if [ $rc = 2 ]; then ok "bad command line '$args' exits 2"; else bad "'$args' exited $rc, want 2"; fi
done
echo "workload: $fails failed"
[ $fails = 0 ]
