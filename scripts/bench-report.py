#!/usr/bin/env python3
"""bench-report.py - results and report of `make bench` (docs/bench.md).

  bench-report.py collect RAWDIR RESULTS.json   bed logs -> one object per run
  bench-report.py report RESULTS.json OUTDIR    -> OUTDIR/report.md + plots
  bench-report.py summary RESULTS.json          the README's compact table

`report` reads only results.json: it does not need the bed, so results
from any L0 that ran the same guests can be reported the same way.
Every figure is also given as a ratio to the reference shim measured in
the same run (same L0 boot), then summarised as median (min-max) over runs.
"""
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys

METHODS = ["tlb-flush-multi", "invlpg-multi", "uvm-invlpg-multi"]
# Back-to-back batches per method (tests/guests/flushbench THR_BATCHES).
THR_BATCHES = 7
REFERENCE = "reference"
# The Linux workload program's workloads (tests/guests/linux/workload.c).
WORKLOADS = ["fork-exec", "shootdown", "mprotect", "ebizzy", "build"]
# The flush-safety policies compared (scripts/bench.sh configurations).
POLICY_IPI, POLICY_DEFER = "minishim-auto", "minishim-defer"


# ------------------------------------------------------------- collect ---
def read_meta(raw):
    meta = {}
    with open(os.path.join(raw, "meta.txt")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    return meta


def kv(s):
    return {k: v for k, v in re.findall(r"([A-Za-z0-9_-]+)=(\S+)", s)}


def num(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        try:
            return float(v)
        except (TypeError, ValueError):
            return v


def parse_console(path):
    """BENCH lines of the guest and the shim's telemetry (minishim only)."""
    out = {"info": None, "methods": {}, "done": None, "tsc_khz": None,
           "flush_stats": None, "hist": {}, "l0_probe": None, "result": None,
           "workloads": {}, "safety": None, "boot": {}}
    hist = None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("(guest) "):
                continue            # the same line also comes unprefixed
            m = re.match(r"BENCH flushbench (?:(info|done) )?(.*)", line)
            if m:
                d = {k: num(v) for k, v in kv(m.group(2)).items()}
                if m.group(1) is None and "method" in d:
                    out["methods"].setdefault(d["method"], d)
                elif m.group(1) and out[m.group(1)] is None:
                    out[m.group(1)] = d
                continue
            # The Linux workload program (tests/guests/linux/workload.c).
            m = re.match(r"WORKLOAD (\S+) (.*)", line)
            if m:
                out["workloads"].setdefault(m.group(1), {k: num(v) for k, v in
                                                         kv(m.group(2)).items()})
                continue
            # Boot milestones on the Linux guest's printk clock (its
            # console timestamps; /init writes WORKLOAD-START to /dev/kmsg).
            m = re.match(r"\[\s*([0-9]+\.[0-9]+)\] (Run /init as init process|WORKLOAD-START)",
                         line)
            if m:
                key = "init_s" if m.group(2).startswith("Run") else "workload_start_s"
                out["boot"].setdefault(key, float(m.group(1)))
                continue
            m = re.match(r"flush: safety (.*)", line)
            if m:
                out["safety"] = {k: num(v) for k, v in kv(m.group(1)).items()}
                continue
            m = re.match(r"RESULT \S+ (PASS|FAIL|SKIP)", line)
            if m:
                out["result"] = m.group(1)
            m = re.match(r"time: TSC (\d+) kHz", line)
            if m and out["tsc_khz"] is None:
                out["tsc_khz"] = int(m.group(1))
            m = re.match(r"l0: flush-probe (.*)", line)
            if m:
                out["l0_probe"] = {k: num(v) for k, v in kv(m.group(1)).items()}
            m = re.match(r"flush: stats (.*)", line)
            if m:
                out["flush_stats"] = {k: num(v) for k, v in kv(m.group(1)).items()}
            m = re.match(r"flush: (\S+) remote-flush latency, TSC cycles", line)
            if m:
                hist = out["hist"].setdefault(m.group(1), {})
                continue
            m = re.match(r"flush:   \[2\^(\d+), 2\^\d+\) (\d+)", line)
            if m and hist is not None:
                hist[m.group(1)] = int(m.group(2))
                continue
            hist = None
    return out


def elf_sizes(path):
    """File size and the bytes its PT_LOAD segments occupy in memory."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] not in (1, 2):
        return {"path": path, "file_bytes": len(data), "load_bytes": None}
    if data[4] == 2:            # ELF64
        phoff, = struct.unpack_from("<Q", data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
        memsz_at, memsz_fmt = 0x28, "<Q"
    else:                       # ELF32 (Xen's multiboot image is one)
        phoff, = struct.unpack_from("<I", data, 0x1c)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x2a)
        memsz_at, memsz_fmt = 0x14, "<I"
    load = 0
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", data, phoff + i * phentsize)
        if p_type == 1:
            memsz, = struct.unpack_from(memsz_fmt, data, phoff + i * phentsize + memsz_at)
            load += memsz
    return {"path": path, "file_bytes": len(data), "load_bytes": load}


def read_boot_dir(bdir):
    """Verdicts, shim command lines and versions of one L0 boot's logs."""
    verdicts, cmdlines, versions = {}, {}, {}
    info_path = os.path.join(bdir, "run.info")
    if os.path.exists(info_path):
        for line in open(info_path, errors="replace"):
            m = re.match(r"bed: \[(\w+)\] (\S+) \(domid [^,]+, ([^,]+), ([0-9.?]+)s\)(?:: (.*))?",
                         line)
            if m:
                verdicts[m.group(2)] = (m.group(1), m.group(3), m.group(4), m.group(5) or "")
    gi = os.path.join(bdir, "guests.info")
    if os.path.exists(gi):
        for line in open(gi):
            m = re.match(r"guest (\S+): shim (\S+), cmdline (.*)", line.rstrip("\n"))
            if m:
                cmdlines[m.group(1)] = (m.group(2), m.group(3))
    vp = os.path.join(bdir, "versions.txt")
    if os.path.exists(vp):
        for line in open(vp, errors="replace"):
            m = re.search(r"Xen version (\S+)", line)
            if m:
                versions["xen_running"] = m.group(1)
            m = re.search(r"Linux version (\S+)", line)
            if m:
                versions["dom0_kernel"] = m.group(1)
    return verdicts, cmdlines, versions


def guest_kind(name):
    """(kind, config, vCPUs, run, extra) from a guest's name (scripts/bench.sh)."""
    m = re.match(r"boot_(.+)_r(\d+)$", name)
    if m:
        return "boot", m.group(1), 1, int(m.group(2)), {}
    m = re.match(r"linux_(.+)_v(\d+)_r(\d+)$", name)
    if m:
        return "linux", m.group(1), int(m.group(2)), int(m.group(3)), {}
    m = re.match(r"pol_(retype|ptstress)_(.+)_o(\d+)_r(\d+)$", name)
    if m:
        return "policy", m.group(2), 4, int(m.group(4)), {"guest": m.group(1),
                                                          "overcommit": int(m.group(3))}
    m = re.match(r"(.+)_v(\d+)_r(\d+)$", name)
    if m:
        return "flushbench", m.group(1), int(m.group(2)), int(m.group(3)), {}
    return None


def collect(raw, dest):
    meta = read_meta(raw)
    configs = meta["configs"].split()
    runs = []
    for boot in sorted(d for d in os.listdir(raw) if os.path.isdir(os.path.join(raw, d))):
        bdir = os.path.join(raw, boot)
        verdicts, cmdlines, bvers = read_boot_dir(bdir)
        versions = {"xen": meta.get("xen"), "qemu": meta.get("qemu"),
                    "host_kernel": meta.get("host_kernel")}
        versions.update(bvers)
        for name in sorted(set(verdicts) | set(cmdlines)):
            k = guest_kind(name)
            if not k or k[1] not in configs:
                continue
            kind, cfg, vcpus, run, extra = k
            verdict, status, secs, why = verdicts.get(name, ("FAIL", "not run", "?", "no verdict"))
            # run-bed ran the guest again in a new L0 boot (a reference
            # shim's triple fault, or L0 stalled): judged by the rerun,
            # every retry counted.
            gdir, retries = bdir, []
            while verdict == "RETRY":
                retries.append(why)
                gdir = os.path.join(gdir, "retry")
                rv = read_boot_dir(gdir)[0] if os.path.isdir(gdir) else {}
                verdict, status, secs, why = rv.get(name, ("FAIL", "not run",
                                                          "?", "the rerun left no verdict"))
            cons = os.path.join(gdir, name + ".console")
            parsed = parse_console(cons) if os.path.exists(cons) else parse_console(os.devnull)
            shim, cmdline = cmdlines.get(name, ("?", "?"))
            guest = {"boot": "hello", "flushbench": "flushbench", "linux": "linux+workload",
                     "policy": extra.get("guest")}[kind]
            gcmd = {"boot": "", "flushbench": "iters=%s" % meta["iters"],
                    "linux": meta.get("linux_cmdline", ""),
                    "policy": "rounds=%s" % meta.get("policy_rounds")
                    if extra.get("guest") == "ptstress" else ""}[kind]
            l0 = int(meta["l0_cpus"])
            if kind == "policy":
                l0 = 4 // extra["overcommit"]
            obj = {
                "run": run, "kind": kind, "config": cfg, "vcpus": vcpus,
                "l0_cpus": l0,
                "memory_mib": int(meta.get("linux_memory_mib", 512) if kind == "linux"
                                  else meta["memory_mib"]),
                "commit": meta["commit"], "date": meta["date"], "versions": versions,
                "guest": guest, "guest_cmdline": gcmd,
                "shim": shim, "shim_cmdline": cmdline,
                "viridian": meta.get("viridian." + cfg, ""),
                "verdict": verdict, "status": status,
                "seconds": num(secs), "why": why, "retries": len(retries),
                "retry_why": retries,
            }
            if kind == "linux":
                obj["kernel"] = meta.get("linux_kernel_version") or meta.get("linux_kernel")
                obj["boot"] = parsed["boot"]
            if kind == "policy":
                obj["overcommit"] = extra["overcommit"]
            if kind == "flushbench":
                obj["bench"] = {"info": parsed["info"], "methods": parsed["methods"],
                                "done": parsed["done"]}
            if parsed["workloads"]:
                obj["workloads"] = parsed["workloads"]
            if parsed["flush_stats"] is not None or parsed["l0_probe"] is not None:
                obj["shim_telemetry"] = {"tsc_khz": parsed["tsc_khz"],
                                         "flush_stats": parsed["flush_stats"],
                                         "safety": parsed["safety"],
                                         "hist_log2_cycles": parsed["hist"],
                                         "l0_probe": parsed["l0_probe"]}
            runs.append(obj)
    images = {}
    for key, path in (("minishim", meta.get("minishim_elf")), (REFERENCE, meta.get("reference_elf"))):
        if path and os.path.exists(path):
            images[key] = elf_sizes(path)
    result = {"meta": meta, "images": images, "runs": runs}
    with open(dest, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    print("bench-report: %d runs -> %s" % (len(runs), dest))
    return 0 if runs else 1


# -------------------------------------------------------------- report ---
def fmt(x, digits=1):
    if x is None:
        return "n/a"
    if isinstance(x, float) and abs(x) < 10 and digits:
        return "%.2f" % x
    return ("%." + str(digits) + "f") % x


def spread(vals, digits=1):
    """median (min-max)"""
    if not vals:
        return "n/a"
    return "%s (%s-%s)" % (fmt(statistics.median(vals), digits), fmt(min(vals), digits),
                           fmt(max(vals), digits))


def ratio(x):
    """Enough digits to tell small ratios apart, never an exponent."""
    if x >= 100:
        return "%.0f" % x
    if x >= 1:
        return "%.2f" % x
    if x >= 0.01:
        return "%.3f" % x
    return "%.5f" % x


def ratio_spread(vals):
    if not vals:
        return "n/a"
    return "%s (%s-%s)" % (ratio(statistics.median(vals)), ratio(min(vals)), ratio(max(vals)))


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out)


def hist_median_cycles(h):
    """Median of a log2 histogram, at the bucket's geometric middle."""
    total = sum(h.values())
    if not total:
        return None
    acc = 0
    for b in sorted(h, key=int):
        acc += h[b]
        if acc * 2 >= total:
            return 2 ** (int(b) + 0.5)
    return None


def wl_unit(runs, name):
    return next((r["workloads"][name].get("unit") for r in runs
                 if name in (r.get("workloads") or {})), "?")


def gnuplot(script, outdir):
    gp = shutil.which("gnuplot")
    if not gp:
        raise SystemExit("bench-report: gnuplot missing (scripts/deps.sh installs gnuplot-nox)")
    subprocess.run([gp], input=script.encode(), cwd=outdir, check=True)


def report(src, outdir):
    with open(src) as f:
        res = json.load(f)
    meta, runs = res["meta"], res["runs"]
    configs = meta["configs"].split()
    vcpus_list = [int(v) for v in meta["vcpus"].split()]
    others = [c for c in configs if c != REFERENCE]
    ok = [r for r in runs if r["verdict"] == "PASS"]
    fb = {(r["config"], r["vcpus"], r["run"]): r for r in ok if r["kind"] == "flushbench"}
    boot = {(r["config"], r["run"]): r for r in ok if r["kind"] == "boot"}
    nruns = sorted({r["run"] for r in runs})
    md = []
    w = md.append
    w("# minishim benchmark report\n")
    w("## Setup\n")
    vers = next((r["versions"] for r in runs), {})
    w(table(["item", "value"], [
        ["commit", meta.get("commit", "?")],
        ["date", meta.get("date", "?")],
        ["L0", "Xen %s (running: %s) under QEMU %s, TCG" % (vers.get("xen", "?"),
                                                        vers.get("xen_running", "?"),
                                                        vers.get("qemu", "?"))],
        ["dom0 kernel / host kernel", "%s / %s" % (vers.get("dom0_kernel", "?"),
                                                   vers.get("host_kernel", "?"))],
        ["L0 CPUs", meta.get("l0_cpus", "?")],
        ["guest vCPUs", meta.get("vcpus", "?")],
        ["runs (interleaved, order rotated per run)", str(len(nruns))],
        ["guest", "flushbench iters=%s, hello (boot); %s MiB per domain" %
         (meta.get("iters", "?"), meta.get("memory_mib", "?"))],
        ["Linux guest", ("%s, %s MiB, vCPUs %s, command line `%s` (initramfs: "
                         "scripts/mk-workload-initrd.sh)" %
                         (meta.get("linux_kernel_version") or meta.get("linux_kernel", "?"),
                          meta.get("linux_memory_mib", "?"), meta.get("linux_vcpus"),
                          meta.get("linux_cmdline", "?")))
         if meta.get("linux_vcpus") else "not run (--linux-vcpus none)"],
        ["flush-safety policy guests", "retype, ptstress rounds=%s; 4 vCPUs on 2 L0 CPUs (2x) "
         "and on 1 (4x)" % meta.get("policy_rounds") if meta.get("policy") == "1"
         else "not run"],
    ] + [["shim " + c, "`%s`" % (meta.get("cmdline." + c) or "xl default (pv-shim console=xen,pv)")
          + (" + viridian %s" % meta["viridian." + c] if meta.get("viridian." + c) else "")]
         for c in configs]))
    w("")
    w("## Caveats\n")
    w("- The bed is nested and emulated: Xen 4.17 runs under QEMU TCG on a shared "
      "2-core host, the shims run as its PVH guests. Absolute times mean little; "
      "compare the ratios to the reference measured in the same L0 boot.")
    w("- Ratios are per run (configuration / reference, same run, same vCPUs), then "
      "median (min-max) over runs. Latency: below 1 is better; throughput: above 1 is better.")
    w("- Latency samples are rdtsc-timed in the guest minus the cost of two rdtscs; "
      "throughput has no rdtsc between flushes (a shim may emulate rdtsc).")
    w("- Linux guests: every configuration runs the same kernel, initramfs, memory and "
      "command line; a reference-shim guest whose shim triple-faulted (a known failure of "
      "Xen's shim under nested TCG) was run again and the retry is counted under Runs; "
      "a failed minishim guest is never run again and is listed as a failed run.\n")

    failed = [r for r in runs if r["verdict"] != "PASS"]

    def per_run(metric, cfg, v):
        vals, ratios = [], []
        for run in nruns:
            r = fb.get((cfg, v, run))
            ref = fb.get((REFERENCE, v, run))
            x = metric(r) if r else None
            if x is None:
                continue
            vals.append(x)
            y = metric(ref) if ref else None
            if y:
                ratios.append(x / y)
        return vals, ratios

    def method_metric(method, field, scale=1.0):
        def f(r):
            m = r["bench"]["methods"].get(method)
            if not m or field not in m:
                return None
            # No back-to-back batch the guest's clock could time (it
            # stalled or jumped in every one).
            if field == "ops_per_s" and not m[field]:
                return None
            return m[field] * scale
        return f

    w("## Remote flush latency\n")
    w("Guest's view: one flush hypercall naming every vCPU (flushbench), median "
      "per run in µs; columns: median (min-max) over runs, and ratio to the reference.\n")
    for method in METHODS:
        w("### %s\n" % method)
        header = ["vCPUs"] + ["%s µs" % c for c in configs] + ["%s / ref" % c for c in others]
        rows = []
        for v in vcpus_list:
            row = [str(v)]
            for c in configs:
                row.append(spread(per_run(method_metric(method, "median_ns", 1e-3), c, v)[0]))
            for c in others:
                row.append(ratio_spread(per_run(method_metric(method, "median_ns", 1e-3), c, v)[1]))
            rows.append(row)
        w(table(header, rows))
        w("")
    w("## Flush throughput\n")
    w("Back-to-back flushes per second (higher is better): per run, the median "
      "of %d batches of iters flushes each (one preemption of a vCPU by L0 or "
      "the host costs milliseconds and would decide a single batch; the "
      "slowest batch is in results.json as ops_per_s_worst). A batch whose clock "
      "stalled or jumped (less time than iters x half the fastest single flush) "
      "is left out; a run with none left is left out.\n" % THR_BATCHES)
    for method in METHODS:
        w("### %s\n" % method)
        header = ["vCPUs"] + ["%s /s" % c for c in configs] + ["%s / ref" % c for c in others]
        rows = []
        for v in vcpus_list:
            row = [str(v)]
            for c in configs:
                row.append(spread(per_run(method_metric(method, "ops_per_s"), c, v)[0], 0))
            for c in others:
                row.append(ratio_spread(per_run(method_metric(method, "ops_per_s"), c, v)[1]))
            rows.append(row)
        w(table(header, rows))
        w("![throughput %s](throughput-%s.png)\n" % (method, method))

    w("## Boot\n")
    w("The hello guest (1 vCPU): `xl create` to the domain's poweroff as dom0 timed "
      "it, so shim boot + guest + shutdown, in s.\n")
    rows = []
    for c in configs:
        vals, ratios = [], []
        for run in nruns:
            r, ref = boot.get((c, run)), boot.get((REFERENCE, run))
            if r and isinstance(r["seconds"], (int, float)):
                vals.append(r["seconds"])
                if ref and isinstance(ref["seconds"], (int, float)) and ref["seconds"]:
                    ratios.append(r["seconds"] / ref["seconds"])
        rows.append([c, spread(vals, 2), ratio_spread(ratios)])
    w(table(["configuration", "seconds", "ratio to reference"], rows))
    w("")

    w("## Memory and image size\n")
    w("Memory the guest gets of a %s MiB domain (start_info nr_pages); the rest is "
      "the shim's overhead per guest.\n" % meta.get("memory_mib", "?"))
    rows = []
    mem = int(meta.get("memory_mib", 0) or 0)
    for c in configs:
        vals, ratios = [], []
        for run in nruns:
            for v in vcpus_list:
                r, ref = fb.get((c, v, run)), fb.get((REFERENCE, v, run))
                if r and r["bench"]["info"]:
                    ov = mem - r["bench"]["info"]["guest_kib"] / 1024.0
                    vals.append(ov)
                    if ref and ref["bench"]["info"]:
                        rov = mem - ref["bench"]["info"]["guest_kib"] / 1024.0
                        if rov:
                            ratios.append(ov / rov)
        rows.append([c, spread(vals, 1), ratio_spread(ratios)])
    w(table(["configuration", "shim overhead MiB", "ratio to reference"], rows))
    w("")
    rows = []
    imgs = res.get("images", {})
    for key in ("minishim", REFERENCE):
        i = imgs.get(key)
        if i:
            ref = imgs.get(REFERENCE)
            rows.append([key, "%d" % i["file_bytes"], "%d" % (i["load_bytes"] or 0),
                         "%.2f" % (i["load_bytes"] / ref["load_bytes"])
                         if ref and ref.get("load_bytes") and i.get("load_bytes") else "n/a"])
    w(table(["image", "ELF file bytes", "loaded bytes", "loaded / reference"], rows))
    w("")

    w("## Shim-side flush telemetry\n")
    w("minishim's own remote-flush latency (log2 TSC-cycle histograms, all runs and "
      "vCPU counts merged; median at the bucket's geometric middle) per method, and "
      "one bare L0 flush hypercall round trip timed by the shim (`l0-flush-probe`). "
      "The reference shim has no such telemetry.\n")
    rows = []
    hists = {}
    for c in others:
        merged = {}
        probe = []
        khz = None
        for r in ok:
            t = r.get("shim_telemetry")
            if r["config"] != c or not t:
                continue
            khz = khz or t.get("tsc_khz")
            if t.get("l0_probe") and "median_ns" in t["l0_probe"]:
                probe.append(t["l0_probe"]["median_ns"] / 1000.0)
            for path, h in (t.get("hist_log2_cycles") or {}).items():
                m = merged.setdefault(path, {})
                for b, n in h.items():
                    m[b] = m.get(b, 0) + n
        for path in sorted(merged):
            med = hist_median_cycles(merged[path])
            med_us = med / khz * 1000.0 if med and khz else None
            pm = statistics.median(probe) if probe else None
            label = {"assisted": "assisted (%s)" % ("Hyper-V" if "hyperv" in c else "Xen"),
                     "ipi": "IPI"}.get(path, path)
            hists["%s: %s" % (c, label)] = (merged[path], khz)
            rows.append([c, label, "%d" % sum(merged[path].values()), fmt(med_us),
                         spread(probe, 1), "%.1f" % (med_us / pm) if med_us and pm else "n/a"])
    w(table(["configuration", "method", "timed remote flushes", "median µs",
             "L0 round trip µs", "median / L0 round trip"], rows))
    w("![flush latency distribution](flush-latency.png)\n")

    linux_vcpus = [int(v) for v in (meta.get("linux_vcpus") or "").split()]
    lx = {(r["config"], r["vcpus"], r["run"]): r for r in ok if r["kind"] == "linux"}

    def linux_per_run(metric, cfg, v):
        """Values of cfg and ratios to the reference of the same run."""
        vals, ratios = [], []
        for run in nruns:
            r, ref = lx.get((cfg, v, run)), lx.get((REFERENCE, v, run))
            x = metric(r) if r else None
            if x is None:
                continue
            vals.append(x)
            y = metric(ref) if ref else None
            if y:
                ratios.append(x / y)
        return vals, ratios

    def wl_metric(name):
        def f(r):
            x = (r.get("workloads") or {}).get(name, {}).get("rate")
            return x if isinstance(x, (int, float)) else None
        return f

    w("## Linux workloads\n")
    w("Debian's kernel with the workload initramfs (tests/guests/linux/workload.c) "
      "under every configuration; one `WORKLOAD` line per workload, per run; "
      "median (min-max) over runs and the ratio to the reference of the same run "
      "(shootdown is µs per munmap: below 1 is better; every other is a rate: above "
      "1 is better).\n")
    if not linux_vcpus:
        w("Not run in this benchmark (`--linux-vcpus none`).\n")
    linux_plots = []
    ran = {n for r in runs if r["kind"] == "linux" for n in (r.get("workloads") or {})}
    for name in [n for n in WORKLOADS if n in ran] if linux_vcpus else []:
        unit = next((r["workloads"][name].get("unit") for r in ok if r["kind"] == "linux" and
                     name in (r.get("workloads") or {})), "?")
        w("### workload %s (%s)\n" % (name, unit))
        rows = []
        for v in linux_vcpus:
            rows.append([str(v)] +
                        [spread(linux_per_run(wl_metric(name), c, v)[0]) for c in configs] +
                        [ratio_spread(linux_per_run(wl_metric(name), c, v)[1]) for c in others])
        w(table(["vCPUs"] + ["%s %s" % (c, unit) for c in configs] +
                ["%s / ref" % c for c in others], rows))
        w("![linux %s](linux-%s.png)\n" % (name, name))
        linux_plots.append((name, unit))

    w("## Linux boot\n")
    w("On the guest kernel's printk clock (its console timestamps, zero when the kernel "
      "starts its clock, i.e. after the shim built the domain): to `Run /init as init "
      "process`, and to the workload's start (`WORKLOAD-START`, written to /dev/kmsg by "
      "/init); and `xl create` to the domain's end as dom0 timed it (shim boot, kernel "
      "boot, workloads, shutdown). Seconds, median (min-max), ratio to the reference.\n")
    rows = []
    for v in linux_vcpus:
        for key, label in (("init_s", "kernel start to /init"),
                           ("workload_start_s", "kernel start to workload start"),
                           ("seconds", "xl create to the domain's end")):
            def met(r, key=key):
                x = r.get(key) if key == "seconds" else (r.get("boot") or {}).get(key)
                return x if isinstance(x, (int, float)) else None
            rows.append([str(v), label] +
                        [spread(linux_per_run(met, c, v)[0], 2) for c in configs] +
                        [ratio_spread(linux_per_run(met, c, v)[1]) for c in others])
    if rows:
        w(table(["vCPUs", "milestone"] + ["%s s" % c for c in configs] +
                ["%s / ref" % c for c in others], rows))
    else:
        w("Not run in this benchmark.")
    w("")

    w("## Flush safety: ipi vs defer\n")
    w("`%s` (`flush-safety=ipi`, Xen's rule: a retype flush goes by IPI and waits for "
      "every target vCPU) against `%s` (`flush-safety=defer`: the retype flush may go to "
      "L0; docs/flush-safety.md), same run. Retype-heavy: the `retype` and `ptstress` "
      "guests, 4 vCPUs on 2 L0 CPUs (2x overcommit) and on 1 (4x), `xl create` to "
      "poweroff in s (lower is better). Fork-heavy: Linux `fork-exec` and `build` with 4 "
      "vCPUs (2x) and 8 (4x) on 2 L0 CPUs (higher is better). Counters from the shim's "
      "flush telemetry, summed over runs: `retype-ipi` / `retype-assisted` (retype "
      "flushes by IPI / by L0), and the defer grace periods: `defer-retypes` (retype "
      "flushes that took the epoch path instead of the IPI interlock), `defer-waited` "
      "(of those, how many found a CPU inside a walk and waited), `defer-fallback` (the "
      "wait hit its bound: the IPI interlock after all). flush-safety=defer parks no "
      "page: it waits for walks, never for the other vCPUs' IPI handling.\n"
      % (POLICY_IPI, POLICY_DEFER))
    pol_rows = []
    if POLICY_IPI in configs and POLICY_DEFER in configs:
        pol = {(r["guest"], r["config"], r["overcommit"], r["run"]): r
               for r in ok if r["kind"] == "policy"}
        items = []
        if meta.get("policy") == "1":
            for g in ("retype", "ptstress"):
                for o in (2, 4):
                    items.append(("%s guest" % g, "%dx" % o, "s",
                                  lambda c, run, g=g, o=o: pol.get((g, c, o, run)),
                                  lambda r: r["seconds"] if isinstance(r["seconds"], (int, float))
                                  else None))
        for wname in ("fork-exec", "build"):
            for v, o in ((4, "2x"), (8, "4x")):
                if v in linux_vcpus:
                    items.append(("Linux %s" % wname, o, wl_unit(ok, wname),
                                  lambda c, run, v=v: lx.get((c, v, run)), wl_metric(wname)))
        for label, o, unit, get, met in items:
            a_vals, d_vals, rat = [], [], []
            counters = {c: {} for c in (POLICY_IPI, POLICY_DEFER)}
            for run in nruns:
                a, d = get(POLICY_IPI, run), get(POLICY_DEFER, run)
                x, y = (met(a) if a else None), (met(d) if d else None)
                if x is not None:
                    a_vals.append(x)
                if y is not None:
                    d_vals.append(y)
                if x and y is not None:
                    rat.append(y / x)
                for c, r in ((POLICY_IPI, a), (POLICY_DEFER, d)):
                    t = (r or {}).get("shim_telemetry") or {}
                    for src in (t.get("flush_stats") or {}, t.get("safety") or {}):
                        for key in ("retype-ipi", "retype-assisted", "defer-retypes",
                                    "defer-waited", "defer-fallback"):
                            if isinstance(src.get(key), int):
                                counters[c][key] = counters[c].get(key, 0) + src[key]

            def cnt(c):
                k = counters[c]
                if not k:
                    return "n/a"
                return "%s / %s / %s / %s / %s" % tuple(
                    str(k.get(x, "n/a")) for x in ("retype-ipi", "retype-assisted", "defer-retypes",
                                                   "defer-waited", "defer-fallback"))
            pol_rows.append([label, o, "%s %s" % (spread(a_vals, 2), unit),
                             "%s %s" % (spread(d_vals, 2), unit), ratio_spread(rat),
                             cnt(POLICY_IPI), cnt(POLICY_DEFER)])
    if pol_rows:
        w(table(["workload", "overcommit", "ipi", "defer", "defer / ipi",
                 "ipi: retype-ipi / retype-assisted / defer-retypes / waited / fallback",
                 "defer: retype-ipi / retype-assisted / defer-retypes / waited / fallback"],
                pol_rows))
    else:
        w("Not run in this benchmark (it needs both %s and %s)." % (POLICY_IPI, POLICY_DEFER))
    w("")

    w("## Runs\n")
    w("%d guest runs, %d passed.\n" % (len(runs), len(runs) - len(failed)))
    retried = [r for r in runs if r.get("retries")]
    w("Retries (a reference-shim guest whose shim triple-faulted, or any guest L0 "
      "stalled under, run again in a new L0 boot and judged by that run): %d.\n"
      % sum(r["retries"] for r in retried))
    if retried:
        w(table(["run", "configuration", "vCPUs", "guest", "retries", "why", "final verdict"],
                [[str(r["run"]), r["config"], str(r["vcpus"]), r["guest"], str(r["retries"]),
                  "; ".join(r["retry_why"]).replace("|", "/")[:120], r["verdict"]]
                 for r in retried]))
        w("")
    if failed:
        w(table(["run", "configuration", "vCPUs", "guest", "verdict", "why"],
                [[str(r["run"]), r["config"], str(r["vcpus"]), r["guest"], r["verdict"],
                  (r["why"] or r["status"]).replace("|", "/")[:100]] for r in failed]))
        w("")

    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")

    # Plots: throughput vs vCPUs per configuration, one per method.
    for method in METHODS:
        dat = "throughput-%s.dat" % method
        with open(os.path.join(outdir, dat), "w") as f:
            f.write("# vcpus " + " ".join(configs) + "\n")
            for v in vcpus_list:
                cols = []
                for c in configs:
                    vals = per_run(method_metric(method, "ops_per_s"), c, v)[0]
                    cols.append("%g" % statistics.median(vals) if vals else "NaN")
                f.write("%d %s\n" % (v, " ".join(cols)))
        plots = ", ".join("'%s' using 1:%d with linespoints title '%s'" % (dat, i + 2, c)
                          for i, c in enumerate(configs))
        # No passed flushbench run at all (e.g. --parts without it): an
        # empty plot, and the checker reports the missing rows.
        has = any(per_run(method_metric(method, "ops_per_s"), c, v)[0]
                  for c in configs for v in vcpus_list)
        gnuplot("set terminal png size 800,500\nset output 'throughput-%s.png'\n"
                "set title '%s: flushes/s vs guest vCPUs (L0 CPUs %s)'\n"
                "set xlabel 'guest vCPUs'\nset ylabel 'flushes/s (median over runs)'\n"
                "%s\nset key outside\nset xtics (%s)\nplot %s\n"
                % (method, method, meta.get("l0_cpus"), "set logscale y" if has else "",
                   ", ".join(str(v) for v in vcpus_list),
                   plots if has else "1 title 'no data'"), outdir)
    # Linux workloads: rate vs vCPUs per configuration.
    for name, unit in linux_plots:
        dat = "linux-%s.dat" % name
        with open(os.path.join(outdir, dat), "w") as f:
            f.write("# vcpus " + " ".join(configs) + "\n")
            for v in linux_vcpus:
                cols = []
                for c in configs:
                    vals = linux_per_run(wl_metric(name), c, v)[0]
                    cols.append("%g" % statistics.median(vals) if vals else "NaN")
                f.write("%d %s\n" % (v, " ".join(cols)))
        plots = ", ".join("'%s' using 1:%d with linespoints title '%s'" % (dat, i + 2, c)
                          for i, c in enumerate(configs))
        if not any(linux_per_run(wl_metric(name), c, v)[0] for c in configs for v in linux_vcpus):
            plots = "1 title 'no data'"
        gnuplot("set terminal png size 800,500\nset output 'linux-%s.png'\n"
                "set title 'Linux %s: %s vs guest vCPUs (L0 CPUs %s)'\n"
                "set xlabel 'guest vCPUs'\nset ylabel '%s (median over runs)'\n"
                "set key outside\nset xtics (%s)\nplot %s\n"
                % (name, name, unit, meta.get("l0_cpus"), unit,
                   ", ".join(str(v) for v in linux_vcpus), plots), outdir)
    # Latency distribution per flush method (shim telemetry).
    with open(os.path.join(outdir, "flush-latency.dat"), "w") as f:
        keys = sorted(hists)
        f.write("# log2(us) " + " | ".join(keys) + "\n")
        for b in range(0, 48):
            cols = []
            for k in keys:
                h, khz = hists[k]
                total = sum(h.values())
                cols.append("%g" % (h.get(str(b), 0) / total) if total else "0")
            if khz:
                f.write("%g %s\n" % (b + 0.5 - __import__("math").log2(khz / 1000.0),
                                     " ".join(cols)))
    plots = ", ".join("'flush-latency.dat' using 1:%d with linespoints title '%s'" % (i + 2, k)
                      for i, k in enumerate(sorted(hists))) or "0 title 'no telemetry'"
    gnuplot("set terminal png size 800,500\nset output 'flush-latency.png'\n"
            "set title 'minishim remote-flush latency by method'\n"
            "set xlabel 'log2(latency / us)'\nset ylabel 'fraction of flushes'\n"
            "set key outside\nplot %s\n" % plots, outdir)
    print("bench-report: %s" % os.path.join(outdir, "report.md"))
    return 0


def summary(src):
    """One table of latency ratios to the reference (median over runs)."""
    with open(src) as f:
        res = json.load(f)
    meta, runs = res["meta"], res["runs"]
    configs = meta["configs"].split()
    others = [c for c in configs if c != REFERENCE]
    ok = [r for r in runs if r["verdict"] == "PASS" and r["kind"] == "flushbench"]
    fb = {(r["config"], r["vcpus"], r["run"]): r for r in ok}
    nruns = sorted({r["run"] for r in runs})
    rows = []
    for v in [int(x) for x in meta["vcpus"].split()]:
        for method in METHODS:
            row = [str(v), method]
            ref_vals = [fb[(REFERENCE, v, n)]["bench"]["methods"][method]["median_ns"] / 1000.0
                        for n in nruns if (REFERENCE, v, n) in fb and
                        method in fb[(REFERENCE, v, n)]["bench"]["methods"]]
            row.append(fmt(statistics.median(ref_vals)) if ref_vals else "n/a")
            for c in others:
                rat = []
                for n in nruns:
                    a, b = fb.get((c, v, n)), fb.get((REFERENCE, v, n))
                    if a and b and method in a["bench"]["methods"] and method in b["bench"]["methods"] \
                            and b["bench"]["methods"][method]["median_ns"]:
                        rat.append(a["bench"]["methods"][method]["median_ns"] /
                                   b["bench"]["methods"][method]["median_ns"])
                row.append(ratio_spread(rat))
            rows.append(row)
    print(table(["guest vCPUs", "flush", "reference µs"] + ["%s / ref" % c for c in others], rows))
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "summary":
        return summary(argv[2])
    if len(argv) == 4 and argv[1] == "collect":
        return collect(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "report":
        return report(argv[2], argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
