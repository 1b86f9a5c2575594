#!/usr/bin/env python3
"""bench-check.py OUTDIR - is OUTDIR's benchmark report complete and well formed?

Checks structure only, never a timing (docs/bench.md):
- results.json parses; every run object carries the fields a run must
  record to be reproduced (commit, versions, L0 CPUs, vCPUs, shim command
  line, ...);
- every configuration x vCPU count has at least one passed flushbench run
  with all methods, and the reference is among the configurations;
- report.md has every section, every table row has its header's number of
  cells, no cell is empty or "nan", the latency and throughput tables have
  one row per vCPU count and a column per configuration, each ratio cell
  reads "median (min-max)" with min <= median <= max;
- with Linux vCPU counts in meta (linux_vcpus): every configuration x Linux
  vCPU count has a Linux run in results.json, every configuration at least
  one passed one, and every passed one the WORKLOAD result of every
  workload its command line (meta linux_args) names, all five for "all", with
  numeric figures and both boot milestones; report.md has the Linux boot
  table and one table per workload with a row per Linux vCPU count, a
  column per configuration, figures that parse, and no configuration
  whose column is all n/a;
- with the policy guests in meta (policy=1): retype and ptstress runs under
  both flush-safety configurations, and the ipi vs defer table has their
  2x and 4x rows;
- every plot the report links exists and is a non-trivial PNG.
Prints each problem and exits 1 if there is any.
"""
import json
import os
import re
import sys

SECTIONS = ["# minishim benchmark report", "## Setup", "## Caveats",
            "## Remote flush latency", "## Flush throughput", "## Boot",
            "## Memory and image size", "## Shim-side flush telemetry",
            "## Linux workloads", "## Linux boot", "## Flush safety: ipi vs defer",
            "## Runs"]
WORKLOADS = ["fork-exec", "shootdown", "mprotect", "ebizzy", "build"]
POLICY_CONFIGS = ["minishim-auto", "minishim-defer"]
METHODS = ["tlb-flush-multi", "invlpg-multi", "uvm-invlpg-multi"]
RUN_FIELDS = ["run", "kind", "config", "vcpus", "l0_cpus", "commit", "versions",
              "shim", "shim_cmdline", "verdict", "guest"]
SPREAD = re.compile(r"^([0-9.]+) \(([0-9.]+)-([0-9.]+)\)$")
# A figure cell: "median (min-max)", optionally followed by its unit.
FIGURE = re.compile(r"^([0-9.]+) \(([0-9.]+)-([0-9.]+)\)( \S+)?$")


def expected_workloads(meta):
    """The workloads meta's linux_args runs ("all" is every one)."""
    names = [part.split(",")[0] for part in meta.get("linux_args", "all").split("+") if part]
    if "all" in names or not names:
        return list(WORKLOADS)
    return [w for w in WORKLOADS if w in names]


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x


def check(outdir):
    errs = []
    err = errs.append
    try:
        with open(os.path.join(outdir, "results.json")) as f:
            res = json.load(f)
    except (OSError, ValueError) as e:
        return ["results.json: %s" % e]
    meta = res.get("meta", {})
    runs = res.get("runs")
    if not isinstance(runs, list) or not runs:
        return ["results.json: no runs"]
    configs = meta.get("configs", "").split()
    vcpus = meta.get("vcpus", "").split()
    if "reference" not in configs:
        err("results.json: no reference configuration")
    for i, r in enumerate(runs):
        for k in RUN_FIELDS:
            if k not in r or r[k] in (None, ""):
                if not (k == "shim_cmdline" and r.get("config") == "reference"):
                    err("results.json: run %d lacks %s" % (i, k))
        for k in ("xen", "qemu"):
            if not (r.get("versions") or {}).get(k):
                err("results.json: run %d lacks the %s version" % (i, k))
    for c in configs:
        for v in vcpus:
            good = [r for r in runs if r.get("kind") == "flushbench" and r.get("config") == c
                    and str(r.get("vcpus")) == v and r.get("verdict") == "PASS"]
            if not good:
                err("results.json: no passed flushbench run for %s with %s vCPUs" % (c, v))
            for r in good:
                methods = (r.get("bench") or {}).get("methods") or {}
                for m in METHODS:
                    if m not in methods or "median_ns" not in methods[m]:
                        err("results.json: run %s %s v%s lacks method %s" % (r["run"], c, v, m))

    linux_vcpus = meta.get("linux_vcpus", "").split()
    wanted = expected_workloads(meta)
    for c in configs if linux_vcpus else []:
        lr = [r for r in runs if r.get("kind") == "linux" and r.get("config") == c]
        for v in linux_vcpus:
            if not any(str(r.get("vcpus")) == v for r in lr):
                err("results.json: no Linux run for %s with %s vCPUs" % (c, v))
        good = [r for r in lr if r.get("verdict") == "PASS"]
        if not good:
            err("results.json: no passed Linux run for %s" % c)
        for r in good:
            wl = r.get("workloads") or {}
            for name in wanted:
                x = wl.get(name)
                if not isinstance(x, dict) or not is_number(x.get("rate")) or \
                        not is_number(x.get("elapsed_ns")) or not x.get("unit"):
                    err("results.json: Linux run %s %s v%s: workload %s missing or unparsable (%r)"
                        % (r.get("run"), c, r.get("vcpus"), name, x))
            for k in ("init_s", "workload_start_s"):
                if not is_number((r.get("boot") or {}).get(k)):
                    err("results.json: Linux run %s %s v%s: boot milestone %s missing"
                        % (r.get("run"), c, r.get("vcpus"), k))
    policy = meta.get("policy") == "1"
    if policy:
        for c in POLICY_CONFIGS:
            for g in ("retype", "ptstress"):
                if not any(r.get("kind") == "policy" and r.get("config") == c and
                           r.get("guest") == g for r in runs):
                    err("results.json: no %s policy run under %s" % (g, c))

    try:
        text = open(os.path.join(outdir, "report.md")).read()
    except OSError as e:
        return errs + ["report.md: %s" % e]
    lines = text.splitlines()
    for s in SECTIONS:
        if s not in lines:
            err("report.md: section '%s' missing" % s)
    # Tables: header, separator, rows; collect them under their heading.
    tables, heading, i = [], "", 0
    while i < len(lines):
        if lines[i].startswith("#"):
            heading = lines[i]
        if lines[i].startswith("|"):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append(lines[i])
                i += 1
            tables.append((heading, block))
            continue
        i += 1
    for heading, block in tables:
        cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in block]
        if len(block) < 3:
            err("report.md: table under '%s' has no rows" % heading)
            continue
        width = len(cells[0])
        for row in cells[2:]:
            if len(row) != width:
                err("report.md: '%s': row %s has %d cells, header %d" % (heading, row, len(row), width))
            for c in row:
                if c == "" or c.lower() in ("nan", "none") or "nan" in c.lower().split():
                    err("report.md: '%s': bad cell '%s' in %s" % (heading, c, row))
            for h, c in zip(cells[0], row):
                if h.endswith("/ ref") and c != "n/a":
                    m = SPREAD.match(c)
                    if not m:
                        err("report.md: '%s': ratio cell '%s' is not median (min-max)" % (heading, c))
                    elif not float(m.group(2)) <= float(m.group(1)) <= float(m.group(3)):
                        err("report.md: '%s': ratio cell '%s' out of order" % (heading, c))
        if heading.startswith("### ") and heading[4:] in METHODS:
            rows_v = [r[0] for r in cells[2:]]
            if rows_v != vcpus:
                err("report.md: '%s': vCPU rows %s, expected %s" % (heading, rows_v, vcpus))
            for c in configs:
                if not any(h.startswith(c + " ") for h in cells[0]):
                    err("report.md: '%s': no column for %s" % (heading, c))
            if all(c == "n/a" for r in cells[2:] for c in r[1:]):
                err("report.md: '%s': every figure is n/a" % heading)
        if heading.startswith("### workload "):
            rows_v = [r[0] for r in cells[2:]]
            if rows_v != linux_vcpus:
                err("report.md: '%s': vCPU rows %s, expected %s" % (heading, rows_v, linux_vcpus))
            for c in configs:
                col = [i for i, h in enumerate(cells[0]) if h.startswith(c + " ")]
                if not col:
                    err("report.md: '%s': no column for %s" % (heading, c))
                elif all(r[col[0]] == "n/a" for r in cells[2:] if len(r) > col[0]):
                    err("report.md: '%s': every figure of %s is n/a" % (heading, c))
            for r in cells[2:]:
                for h, c in zip(cells[0][1:], r[1:]):
                    if c != "n/a" and not FIGURE.match(c):
                        err("report.md: '%s': cell '%s' (%s) does not parse" % (heading, c, h))
    for name in wanted if linux_vcpus else []:
        if sum(1 for h, _ in tables if h == "### workload " + name or
               h.startswith("### workload %s (" % name)) != 1:
            err("report.md: not exactly one table for Linux workload %s" % name)
    if linux_vcpus:
        lb = [b for h, b in tables if h == "## Linux boot"]
        if not lb or len(lb[0]) - 2 != 3 * len(linux_vcpus):
            err("report.md: the Linux boot table lacks rows (3 milestones per vCPU count)")
    if policy:
        pt = [b for h, b in tables if h == "## Flush safety: ipi vs defer"]
        rows = [tuple(c.strip() for c in r.strip().strip("|").split("|")[:2])
                for r in (pt[0][2:] if pt else [])]
        for g in ("retype guest", "ptstress guest"):
            for o in ("2x", "4x"):
                if (g, o) not in rows:
                    err("report.md: ipi vs defer: no row for %s at %s" % (g, o))
    for m in METHODS:
        n = sum(1 for h, _ in tables if h == "### " + m)
        if n != 2:
            err("report.md: %d tables for %s, expected 2 (latency, throughput)" % (n, m))
    pngs = re.findall(r"!\[[^]]*\]\(([^)]+\.png)\)", text)
    want = len(METHODS) + 1 + (len(wanted) if linux_vcpus else 0)
    if len(pngs) < want:
        err("report.md: %d plots linked, expected %d" % (len(pngs), want))
    for p in pngs:
        path = os.path.join(outdir, p)
        try:
            with open(path, "rb") as f:
                head = f.read(8)
            if head != b"\x89PNG\r\n\x1a\n" or os.path.getsize(path) < 1000:
                err("%s: not a PNG plot" % p)
        except OSError as e:
            err("%s: %s" % (p, e))
    return errs


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    errs = check(argv[1])
    for e in errs:
        print("bench-check: " + e)
    if errs:
        print("bench-check: FAIL (%d problems) in %s" % (len(errs), argv[1]))
        return 1
    print("bench-check: PASS: %s has a complete, well-formed report" % argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
