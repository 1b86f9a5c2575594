#!/usr/bin/env bash
# test-check.sh [DIR] - the benchmark report checker (scripts/bench-check.py)
# must pass a complete report and fail broken ones, or it proves nothing.
#
# With DIR (make bench-quick's output): DIR must pass. Without: the report
# is made from tests/bench/fixture/results.json (real results of a
# bench-quick run; the reader needs no bed). Either way, copies broken in
# different ways (a table row dropped, a cell "nan", a section gone, a plot
# missing or empty, a configuration's runs gone, a configuration's Linux
# runs gone, a Linux result unparsable or without its boot milestones, a
# workload table or a configuration's whole column gone, an ipi vs defer
# row gone) must each fail.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
check="$top/scripts/bench-check.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "PASS bench-check: $1"; }
bad() { echo "FAIL bench-check: $1"; fails=$((fails + 1)); }

if [ $# -ge 1 ]; then
    good=$1
else
    good="$tmp/good"
    mkdir -p "$good"
    cp "$here/fixture/results.json" "$good/results.json"
    python3 "$top/scripts/bench-report.py" report "$good/results.json" "$good" >/dev/null 2>&1 ||
        { echo "FAIL bench-check: the report could not be made from the fixture"; exit 1; }
fi
if out=$(python3 "$check" "$good"); then ok "complete report passes"
else bad "complete report rejected:"; printf '%s\n' "$out"; fi

# broken NAME CMD: copy the good report, break it with CMD (run in the
# copy), the checker must fail.
broken() {
    local name=$1 cmd=$2 d="$tmp/$1"
    rm -rf "$d"; cp -r "$good" "$d"
    (cd "$d" && eval "$cmd") || { bad "$name: could not break the copy"; return; }
    if python3 "$check" "$d" >"$d.out" 2>&1; then bad "$name: accepted"
    else ok "$name: rejected ($(head -n 1 "$d.out"))"; fi
}
broken row-dropped "awk 'BEGIN{n=0} /^### tlb-flush-multi/{t=1} t && /^\| [0-9]/ && !n {n=1; next} {print}' report.md >r && mv r report.md"
broken nan-cell "sed -i '0,/^| \\([0-9][0-9]*\\) | [^|]* |/s//| \\1 | nan |/' report.md && grep -q '| nan |' report.md"
broken section-gone "sed -i '/^## Boot/d' report.md"
broken plot-missing "rm -f throughput-invlpg-multi.png"
broken plot-empty "echo x >flush-latency.png"
broken ratio-disorder "sed -i '0,/ \([0-9.]*\) (\([0-9.]*\)-\([0-9.]*\)) |\$/s// 9.99 (0.01-0.02) |/' report.md && grep -q '9.99 (0.01-0.02)' report.md"
broken config-runs-gone "python3 -c \"import json;r=json.load(open('results.json'));r['runs']=[x for x in r['runs'] if x['config']!='reference'];json.dump(r,open('results.json','w'))\""
broken no-results "rm results.json"
# The Linux workload rows (make bench runs Linux under every configuration).
jsonedit() { echo "python3 -c \"import json;r=json.load(open('results.json'));$1;json.dump(r,open('results.json','w'))\""; }
broken linux-config-gone "$(jsonedit "r['runs']=[x for x in r['runs'] if not (x['kind']=='linux' and x['config']=='minishim-auto')]")"
broken linux-rate-unparsable "$(jsonedit "l=[x for x in r['runs'] if x['kind']=='linux' and x['verdict']=='PASS'];w=l[0]['workloads'];w[sorted(w)[0]]['rate']='12x'")"
broken linux-workload-missing "$(jsonedit "l=[x for x in r['runs'] if x['kind']=='linux' and x['verdict']=='PASS'];w=l[0]['workloads'];del w[sorted(w)[0]]")"
broken linux-boot-missing "$(jsonedit "l=[x for x in r['runs'] if x['kind']=='linux' and x['verdict']=='PASS'];del l[0]['boot']['workload_start_s']")"
broken linux-table-gone "sed -i '0,/^### workload /{/^### workload /d}' report.md"
broken linux-column-na "python3 -c \"
import re
t=open('report.md').read().split('\\n');h=None
for i,l in enumerate(t):
    if l.startswith('### workload ') and h is None: h=i
    if h is not None and i>h+3 and l.startswith('| ') and not l.startswith('| vCPUs'):
        c=l.split('|');c[3]=' n/a ';t[i]='|'.join(c)
    if h is not None and i>h+3 and l=='': break
open('report.md','w').write('\\n'.join(t))\" && grep -m1 -A4 '^### workload ' report.md | grep -q '| n/a |'"
broken linux-figure-garbled "sed -i '/^### workload /,/^!/s/| \([0-9][0-9.]*\) (/| \1x (/' report.md && grep -q 'x (' report.md"
if grep -q '"policy": "1"' "$good/results.json"; then
    broken policy-row-gone "sed -i '/^| ptstress guest | 4x |/d' report.md"
    broken policy-runs-gone "$(jsonedit "r['runs']=[x for x in r['runs'] if not (x['kind']=='policy' and x['config']=='minishim-defer')]")"
else
    echo "NOTE bench-check: no flush-safety policy rows in this report (policy=0): their cases not run"
fi
echo "bench-check tests: $fails failed"
[ $fails = 0 ]
