#!/usr/bin/env python3
"""bench/report.py WORKDIR OUT.md OUT.png: turns bench/run's raw files into the report.

Every number comes from WORKDIR/raw (written by bench/run in the same run): medians over
rounds, ratios of medians. bench/analysis.md (hand-written: profile, proposals) is appended
as is. Exits non-zero when a number the report needs is missing, so a smoke run that did not
really run fails.
"""
import glob
import os
import re
import statistics
import subprocess
import sys

WORK, OUT_MD, OUT_PNG = sys.argv[1], sys.argv[2], sys.argv[3]
RAW = os.path.join(WORK, "raw")
TARGETS = ["direct", "lettagate", "haproxy", "nginx"]
PEERS = ["lettagate", "haproxy", "nginx"]
BP = "lettagate_bp"  # lettagate --busy-poll-us N (opt-in): HTTP and SSE rows, never in the goals
NAMES = {"direct": "direct (no proxy)", "lettagate": "lettagate", "haproxy": "HAProxy (mode tcp)",
         "nginx": "nginx stream"}
missing = []


def meta():
    m = {}
    with open(os.path.join(RAW, "meta.txt")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            m[k] = v
    return m


M = meta()
ROUNDS = int(M["rounds"])
NAMES[BP] = f"lettagate --busy-poll-us {M.get('busy_poll_us', '?')} (opt-in)"
LATENCY_ROWS = ["direct", "lettagate", BP, "haproxy", "nginx"]  # the HTTP and SSE tables


def steal_pct():
    """Steal time between the run's first and last /proc/stat 'cpu' lines: the share (percent) of
    CPU time the hypervisor gave to others while this virtual machine wanted to run; None if not
    recorded."""
    try:
        a = [int(x) for x in M["cpu_start"].split()]
        b = [int(x) for x in M["cpu_end"].split()]
    except (KeyError, ValueError):
        return None
    d = [y - x for x, y in zip(a, b)]
    if len(d) < 8 or sum(d) <= 0:
        return None
    return 100.0 * d[7] / sum(d)


def steal_text():
    st = steal_pct()
    return "not recorded" if st is None else f"{st:.1f}% of all CPU time"


# A full run during which the hypervisor took more than this share of the CPU (steal) is
# contended: its numbers say more about the neighbours than about the proxies. It is recorded in
# bench/history.tsv but not published (docs/ keep the last run that was not contended) unless
# bench/run --publish-contended says so (LG_BENCH_PUBLISH_CONTENDED=1).
MAX_STEAL_PCT = 5.0


def to_us(value, unit):
    return float(value) * {"us": 1.0, "ms": 1e3, "s": 1e6}[unit]


def usage(path):
    """(CPU seconds, sleeps, wake-ups) of the proxy during the run whose output is path (bench/run's
    sut_usage writes path.cpu: CPU time, its units per second, sleeps, wake-up interrupts on its
    core); None if not recorded or no proxy was measured (direct). A count is None in files from
    before it was recorded (wake-ups also when the proxy was not pinned to a core)."""
    if not os.path.exists(path + ".cpu"):
        return None
    fields = open(path + ".cpu").read().split()
    if int(fields[0]) <= 0:
        return None
    counts = [int(x) for x in fields[2:4]] + [None] * (2 - len(fields[2:4]))
    return (int(fields[0]) / int(fields[1]), *counts)


def parse_wrk(path):
    text = open(path).read()
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    r["requests"] = int(m.group(1)) if m else None
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % pct, text, re.M)
        r["p" + pct] = to_us(m.group(1), m.group(2)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non2xx"] = int(m.group(1)) if m else 0
    r["cpu_us_req"] = r["sleeps_req"] = r["wakeups_req"] = None
    u = usage(path)
    if u and r["requests"]:
        r["cpu_us_req"] = u[0] * 1e6 / r["requests"]
        r["sleeps_req"] = u[1] / r["requests"] if u[1] is not None else None
        r["wakeups_req"] = u[2] / r["requests"] if u[2] is not None else None
    for k in ("rps", "p50", "p99"):
        if r[k] is None:
            missing.append(f"{k} in {path}")
    return r


def by_round(pattern):
    """The files matching pattern (which ends in _r*<ext>), in round order (r2 before r10)."""
    def num(path):
        m = re.search(r"_r(\d+)[^/]*$", path)
        return int(m.group(1)) if m else 0
    return sorted(glob.glob(pattern), key=num)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    i = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[i]


def ratio(a, b):
    return a / b if a is not None and b else None


def round_ratios(a_all, b_all):
    """a over b round by round (each round measured both back to back)."""
    return [x for x in (ratio(a, b) for a, b in zip(a_all, b_all)) if x is not None]


def span_x(xs):
    """'0.84-1.19x', or '1.19x' when they are all the same."""
    lo, hi = f"{min(xs):.2f}", f"{max(xs):.2f}"
    return f"{lo}x" if lo == hi else f"{lo}-{hi}x"


def f(x, nd=0, unit=""):
    if x is None:
        return "n/a"
    return f"{x:,.{nd}f}{unit}"


def fr(x):
    return "n/a" if x is None else f"{x:.2f}x"


def span(xs, nd=0):
    xs = [x for x in xs if x is not None]
    if len(xs) < 2:
        return ""
    return f" ({min(xs):,.{nd}f}-{max(xs):,.{nd}f})"


def goal(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


# ---------------------------------------------------------------------------------------------
# http

def wrk_rounds(pattern, what):
    """The rounds of one wrk measurement (files matching pattern): medians over them, the
    per-round req/s and p99, errors summed; None (and what is noted as missing) if none ran."""
    runs = [parse_wrk(p) for p in by_round(pattern)]
    if not runs:
        missing.append(what)
        return None
    return {"rps": med(r["rps"] for r in runs), "rps_all": [r["rps"] for r in runs],
            "p50": med(r["p50"] for r in runs), "p99": med(r["p99"] for r in runs),
            "p99_all": [r["p99"] for r in runs],
            "cpu": med(r["cpu_us_req"] for r in runs), "sleeps": med(r["sleeps_req"] for r in runs),
            "wakeups": med(r["wakeups_req"] for r in runs),
            "errors": sum(r["errors"] + r["non2xx"] for r in runs)}


http = {}
for c in (32, 256):
    for t in TARGETS + [BP]:
        h = wrk_rounds(f"{RAW}/http_c{c}_{t}_r*.wrk", f"http c{c} {t}")
        if h:
            http[(c, t)] = h

# one connection, back to back: lgbench http-reqs prints "requests seconds req/s"

seq = {}
for t in TARGETS + [BP]:
    rps, cpu, sleeps = [], [], []
    for p in by_round(f"{RAW}/seq_{t}_r*.txt"):
        fields = open(p).read().split()
        if len(fields) < 3:
            continue
        n = int(fields[0])
        rps.append(float(fields[2]))
        u = usage(p)
        if u:
            cpu.append(u[0] * 1e6 / n)
            sleeps.append(u[1] / n)
    if not rps:
        missing.append(f"seq {t}")
        continue
    seq[t] = {"rps": med(rps), "rps_all": rps, "cpu": med(cpu), "sleeps": med(sleeps)}

# ---------------------------------------------------------------------------------------------
# bulk

bulk = {}
for d in ("get", "put"):
    for t in TARGETS:
        vals = []
        for p in by_round(f"{RAW}/bulk_{d}_{t}_r*.txt"):
            parts = open(p).read().split()
            if len(parts) == 3:
                vals.append(float(parts[2]))
        if not vals:
            missing.append(f"bulk {d} {t}")
            continue
        bulk[(d, t)] = {"mbs": med(vals), "all": vals}

# ---------------------------------------------------------------------------------------------
# sse

sse = {}
for t in TARGETS + [BP]:
    pooled, round_p50, round_p99 = [], [], []
    cpu_s, sleeps, counted = 0.0, 0, 0  # the proxy's, over the rounds whose usage was recorded
    for p in by_round(f"{RAW}/sse_{t}_r*.txt"):
        lat = [int(x) / 1000.0 for x in open(p).read().split()]
        if lat:
            pooled += lat
            round_p50.append(statistics.median(lat))
            round_p99.append(pct(lat, 99))
            u = usage(p)
            if u:
                cpu_s += u[0]
                sleeps += u[1]
                counted += len(lat)
    if not pooled:
        missing.append(f"sse {t}")
        continue
    sse[t] = {"n": len(pooled), "p50": pct(pooled, 50), "p90": pct(pooled, 90), "p99": pct(pooled, 99),
              "max": max(pooled), "round_p50": round_p50,
              "round_p99": round_p99,
              "cpu": cpu_s * 1e6 / counted if counted else None,
              "sleeps": sleeps / counted if counted else None}

# ---------------------------------------------------------------------------------------------
# limited: the HTTP load with each proxy under a CPU limit (a cgroup CFS quota). Not run where no
# cpu controller was writable: meta says cpu_limit=none and why.

LIMITED = ["lettagate", BP, "haproxy", "nginx"]
limit_text = M.get("cpu_limit", "none: not recorded")
limit_cores = None if limit_text.startswith("none") else int(limit_text.split()[0]) / 1000
limited = {}
for t in LIMITED if limit_cores else []:
    h = wrk_rounds(f"{RAW}/limited_{t}_r*.wrk", f"limited {t}")
    if not h:
        continue
    out_of_quota = []  # per run: the share of CFS periods in which the proxy used up its quota
    for p in by_round(f"{RAW}/limited_{t}_r*.wrk.cg"):
        periods, throttled = (int(x) for x in open(p).read().split())
        if periods:
            out_of_quota.append(100.0 * throttled / periods)
    limited[t] = h | {"throttled": med(out_of_quota)}


def limited_bp_text():
    """What busy polling did under the CPU limit, for the sentence on why it stays off."""
    r = ratio(limited[BP]["rps"], limited["lettagate"]["rps"])
    return (f": held to {limit_cores:g} of a core, it served {fr(r)} the req/s of the default"
            + (", the polling spending the quota" if r < 1 else ""))


def limited_vs(peer):
    """lettagate's req/s over peer's under the CPU limit, as '1.05x'."""
    return fr(ratio(limited["lettagate"]["rps"], limited[peer]["rps"]))


def limited_rounds(peer, at_least):
    """'per round 1.05-1.40x, at least 1.10x in 6 of 9': the same ratio round by round."""
    per = round_ratios(limited["lettagate"]["rps_all"], limited[peer]["rps_all"])
    return f"per round {span_x(per)}, at least {at_least:.2f}x in {sum(x >= at_least for x in per)} of {len(per)}"


# ---------------------------------------------------------------------------------------------
# memory

mem = {}
for peer in PEERS:
    p = f"{RAW}/mem_{peer}.txt"
    if not os.path.exists(p):
        missing.append(f"memory {peer}")
        continue
    d = {line.split()[0]: line.split()[1:] for line in open(p) if line.strip()}
    if not all(k in d and len(d[k]) == 2 for k in ("idle", "n1", "n2")):
        missing.append(f"memory steps of {peer}")
        continue
    mem[peer] = {k: int(v[0]) for k, v in d.items()}
    mem[peer].update({k + "_anon": int(v[1]) for k, v in d.items()})
full = {}
p = f"{RAW}/mem_full.txt"
if os.path.exists(p):
    for line in open(p):
        if line.strip():
            k, rss, anon = line.split()
            full[k], full[k + "_anon"] = int(rss), int(anon)
if "full_idle" not in full:
    missing.append("full_idle RSS")
N1, N2 = int(M["mem_n1"]), int(M["mem_n2"])


def per_conn_kib(peer, step, n):
    m = mem.get(peer)
    return (m[step] - m["idle"]) / n if m else None


# ---------------------------------------------------------------------------------------------
# cost (counted: instructions and system calls)

cost = {}
for peer in PEERS:
    p = f"{RAW}/cost_{peer}.txt"
    if not os.path.exists(p):
        missing.append(f"cost {peer}")
        continue
    d = {}
    for line in open(p):
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            d[parts[0]] = int(parts[1])
    if not all(k in d for k in ("ir_http", "ir_bulk", "sys_http", "sys_bulk")):
        missing.append(f"cost numbers of {peer}: {d}")
        continue
    reqs, mib = int(M["cost_reqs"]), int(M["cost_mib"])
    cost[peer] = {"ir_req": d["ir_http"] / reqs, "ir_mib": d["ir_bulk"] / mib,
                  "sys_req": d["sys_http"] / reqs, "sys_mib": d["sys_bulk"] / mib}

# ---------------------------------------------------------------------------------------------
# health

health = {}
for ep in ("readyz", "metrics"):
    for who in ("lettagate", "nginx"):
        h = wrk_rounds(f"{RAW}/health_{ep}_{who}_r*.wrk", f"health {ep} {who}")
        if h:
            health[(ep, who)] = h

# ---------------------------------------------------------------------------------------------
# detection

bound = int(M["probe_interval_ms"]) * int(M["probe_fall"]) + int(M["probe_timeout_ms"])
detect = {}
p = f"{RAW}/detect.txt"
if os.path.exists(p):
    for line in open(p):
        dep, r, stop_ms, det_ms = line.split()
        detect.setdefault(dep, []).append((int(stop_ms), int(det_ms)))
if not detect:
    missing.append("detection")

if missing:
    print("report.py: missing numbers: " + "; ".join(missing), file=sys.stderr)
    sys.exit(1)

# ---------------------------------------------------------------------------------------------
# goals

G = []  # (goal, measured, ok)


def rounds_held(oks):
    """'held in k of N rounds': the same goal judged round by round (peers measured back to back
    in each round), which shows whether a verdict on the medians is inside the noise; '' for one
    round."""
    oks = [ok for ok in oks if ok is not None]
    return f"held in {sum(oks)} of {len(oks)} rounds" if len(oks) > 1 else ""


def ratio_goal(name, a_all, b_all, a_med, b_med, at_least):
    r = ratio(a_med, b_med)
    per = round_ratios(a_all, b_all)
    held = rounds_held([x >= at_least for x in per])
    detail = f" (per round {min(per):.2f}-{max(per):.2f}, {held})" if held else ""
    G.append((name, fr(r) + detail, r >= at_least))


def added_goal(name, peer_all, direct_med, peer_med, nd):
    """added p99 (peer minus direct) of lettagate <= the better of HAProxy's and nginx's. Round by
    round the direct p99 is the same for every peer, so the peers' own p99s are compared."""
    added = {t: peer_med[t] - direct_med for t in PEERS}
    best = min(added["haproxy"], added["nginx"])
    per = [lg <= min(ha, ng) for lg, ha, ng in zip(peer_all["lettagate"], peer_all["haproxy"], peer_all["nginx"])]
    held = rounds_held(per)
    G.append((name, f"{f(added['lettagate'], nd)} us vs {f(best, nd)} us" + (f" ({held})" if held else ""),
              added["lettagate"] <= best))


for c in (32, 256):
    lg = http[(c, "lettagate")]
    for peer, name, at_least in (("haproxy", "HAProxy tcp", 1.10), ("nginx", "nginx stream", 1.05)):
        h = http[(c, peer)]
        ratio_goal(f"proxied req/s >= {at_least:.2f} x {name} (c{c})", lg["rps_all"], h["rps_all"],
                   lg["rps"], h["rps"], at_least)
for c in (32, 256):
    added_goal(f"added p99 <= best peer's (HTTP c{c})", {t: http[(c, t)]["p99_all"] for t in PEERS}, http[(c, "direct")]["p99"],
               {t: http[(c, t)]["p99"] for t in PEERS}, 0)
sse_added = {t: sse[t]["p99"] - sse["direct"]["p99"] for t in PEERS}
sse_round_added = {t: [x - d for x, d in zip(sse[t]["round_p99"], sse["direct"]["round_p99"])] for t in PEERS}
added_goal("added p99 <= best peer's (SSE event)", {t: sse[t]["round_p99"] for t in PEERS}, sse["direct"]["p99"], {t: sse[t]["p99"] for t in PEERS}, 1)
for d in ("get", "put"):
    a, b = bulk[(d, "lettagate")], bulk[(d, "haproxy")]
    ratio_goal(f"bulk {d} >= 1.0 x HAProxy", a["all"], b["all"], a["mbs"], b["mbs"], 1.0)
for ep in ("readyz", "metrics"):
    a, b = health[(ep, "lettagate")], health[(ep, "nginx")]
    ratio_goal(f"/{ep} req/s >= 0.8 x nginx static", a["rps_all"], b["rps_all"], a["rps"], b["rps"], 0.8)
idle_full = full["full_idle"] / 1024
idle_fwd = mem["lettagate"]["idle"] / 1024
G.append(("idle RSS <= 6 MiB (probing 4 components)",
          f"{idle_full:.1f} MiB (anonymous {full['full_idle_anon'] / 1024:.1f} MiB)", idle_full <= 6))
G.append(("idle RSS <= 6 MiB (forwarder only, probes off)",
          f"{idle_fwd:.1f} MiB (anonymous {mem['lettagate']['idle_anon'] / 1024:.1f} MiB)", idle_fwd <= 6))
pc = per_conn_kib("lettagate", "n2", N2)
G.append((f"<= 32 KiB per proxied connection ({N2:,} held)", f"{pc:.1f} KiB", pc <= 32))
worst = max(det for v in detect.values() for _, det in v)
G.append((f"failure detected within interval x fall + timeout = {bound} ms, every time",
          f"max {worst} ms over {sum(len(v) for v in detect.values())} stops", worst <= bound))

# ---------------------------------------------------------------------------------------------
# run to run: bench/history.tsv keeps the HTTP verdicts of every full run (published or, when
# contended, not), because on a shared machine one run's verdict on a 5% or 10% margin can flip
# in the next

HISTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "history.tsv")
HISTORY_COLS = ["date", "tree", "rounds", "c32_vs_haproxy", "c32_vs_nginx", "c256_vs_haproxy", "c256_vs_nginx",
                "c32_added_p99", "c32_best_peer_added_p99", "c256_added_p99", "c256_best_peer_added_p99",
                "limited_vs_haproxy", "limited_vs_nginx",  # "-" where not measured
                "steal", "published"]  # steal: percent, "-" where not recorded


def history_row():
    row = {"date": M["date"], "tree": M["tree"].split()[0], "rounds": str(ROUNDS)}
    for c in (32, 256):
        lg_c = http[(c, "lettagate")]
        for peer in ("haproxy", "nginx"):
            row[f"c{c}_vs_{peer}"] = f"{ratio(lg_c['rps'], http[(c, peer)]['rps']):.2f}"
        d99 = http[(c, "direct")]["p99"]
        row[f"c{c}_added_p99"] = f"{lg_c['p99'] - d99:.0f}"
        row[f"c{c}_best_peer_added_p99"] = f"{min(http[(c, t)]['p99'] for t in ('haproxy', 'nginx')) - d99:.0f}"
    for peer in ("haproxy", "nginx"):
        row[f"limited_vs_{peer}"] = limited_vs(peer).rstrip("x") if limited else "-"
    row["steal"] = "-" if STEAL is None else f"{STEAL:.1f}"
    row["published"] = "yes" if published else "no"
    return row


def history():
    """The recorded full runs, oldest first; a full run adds its own row (replacing any row of the
    same date, so reporting a run again does not count it twice). Smoke runs only read."""
    head, rows = [], []
    if os.path.exists(HISTORY):
        for line in open(HISTORY):
            if line.startswith("#") or line.startswith("date\t"):
                head.append(line)
            elif line.strip():
                values = line.rstrip("\n").split("\t")
                rows.append(dict(zip(HISTORY_COLS, values + ["-"] * (len(HISTORY_COLS) - len(values)))))
    if not smoke:
        rows = [r for r in rows if r["date"] != M["date"]] + [history_row()]
        with open(HISTORY, "w") as out:
            out.write("".join(h for h in head if h.startswith("#")) + "\t".join(HISTORY_COLS) + "\n")
            for r in rows:
                out.write("\t".join(r[k] for k in HISTORY_COLS) + "\n")
    return rows


smoke = M["mode"] == "smoke"
STEAL = steal_pct()
contended = not smoke and STEAL is not None and STEAL > MAX_STEAL_PCT
published = not contended or os.environ.get("LG_BENCH_PUBLISH_CONTENDED") == "1"
if not published:
    OUT_MD, OUT_PNG = os.path.join(WORK, "performance.md"), os.path.join(WORK, "performance.png")
    print(f"report.py: contended run (steal {STEAL:.1f}% > {MAX_STEAL_PCT:g}%): not published; the report is "
          f"{OUT_MD}, docs/ are left as they were (bench/run --publish-contended publishes anyway)", file=sys.stderr)
RUNS = history()
UNCONTENDED = [r for r in RUNS if r["steal"] in ("-", "") or float(r["steal"]) <= MAX_STEAL_PCT]


def runs_text(col, at_least):
    """'0.84-1.19x (median 1.02), at least 1.10x in 1 of 7 runs' over the published runs."""
    xs = [float(r[col]) for r in UNCONTENDED]
    return (f"{span_x(xs)} (median {statistics.median(xs):.2f}), at least {at_least:.2f}x in "
            f"{sum(x >= at_least for x in xs)} of {len(xs)} runs")


def limited_runs_text():
    """How the quarter-core ratios ranged, once two runs or more had that phase."""
    had = [r for r in UNCONTENDED if r["limited_vs_haproxy"] != "-"]
    if len(had) < 2:
        return ""
    ha, ng = ([float(r[f"limited_vs_{p}"]) for r in had] for p in ("haproxy", "nginx"))
    return (f" Held to a quarter of a core ({len(had)} runs): {span_x(ha)} HAProxy and {span_x(ng)} nginx stream.")


# ---------------------------------------------------------------------------------------------
# chart

rel_rows = []
for c in (32, 256):
    rel_rows.append((f"HTTP c{c}", [ratio(http[(c, t)]["rps"], http[(c, "direct")]["rps"]) for t in PEERS]))
for d in ("get", "put"):
    rel_rows.append((f"bulk {d}", [ratio(bulk[(d, t)]["mbs"], bulk[(d, "direct")]["mbs"]) for t in PEERS]))
os.makedirs(os.path.join(WORK, "tmp"), exist_ok=True)
dat1 = os.path.join(WORK, "tmp", "chart-proxy.dat")
dat2 = os.path.join(WORK, "tmp", "chart-health.dat")
with open(dat1, "w") as out:
    for label, vals in rel_rows:
        out.write(f'"{label}"\t' + "\t".join(f"{v:.3f}" for v in vals) + "\n")
with open(dat2, "w") as out:
    for ep in ("readyz", "metrics"):
        out.write(f'"/{ep}"\t{ratio(health[(ep, "lettagate")]["rps"], health[(ep, "nginx")]["rps"]):.3f}\t1.0\n')
title = f"lettagate bench/run, {M['date']}, {M['nproc']} cores {M['cpu']}"
ymax1 = max([1.0] + [v for _, vals in rel_rows for v in vals if v is not None]) * 1.25
ymax2 = max(1.0, max(ratio(health[(ep, "lettagate")]["rps"], health[(ep, "nginx")]["rps"])
                     for ep in ("readyz", "metrics"))) * 1.25
gp = f"""
set terminal pngcairo size 1200,480 font "DejaVu Sans,10"
set output '{OUT_PNG}'
set datafile separator "\\t"
set multiplot layout 1,2 title "{title}"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top center horizontal
set ytics 0.2
set ylabel "relative to direct (no proxy) = 1.0"
set title "Proxied req/s (wrk -t1 -cN) and bulk MB/s, medians of {ROUNDS} rounds"
set yrange [0:{ymax1:.2f}]
plot '{dat1}' using 2:xtic(1) title 'lettagate' lc rgb '#1f77b4', \\
     '' using 3 title 'HAProxy tcp' lc rgb '#ff7f0e', \\
     '' using 4 title 'nginx stream' lc rgb '#2ca02c'
set ylabel "relative to nginx serving the same bytes as a static file = 1.0"
set title "Health endpoints req/s (wrk -t1 -c32)"
set yrange [0:{ymax2:.2f}]
plot '{dat2}' using 2:xtic(1) title 'lettagate' lc rgb '#1f77b4', \\
     '' using 3 title 'nginx static' lc rgb '#7f7f7f'
unset multiplot
"""
subprocess.run(["gnuplot"], input=gp, text=True, check=True)

# ---------------------------------------------------------------------------------------------
# markdown

L = []
w = L.append
w("# Performance\n")
if contended:
    w(f"> **Contended run**: the hypervisor took {STEAL:.1f}% of the CPU time (steal), more than the "
      f"{MAX_STEAL_PCT:g}% under which runs are published; absolute numbers are slower than this machine's usual, "
      "and the peers measured in one round still shared the same conditions.\n")
if smoke:
    w("> **Smoke run** (1 round, 1 s per wrk run, 10 MiB bulk): proves that every path runs; the "
      "numbers mean nothing.\n")
w(f"Generated by `bench/run` on {M['date']} in {M['elapsed_s']} s; every number below comes from that "
  "one run (peers measured in the same, interleaved rounds). Do not edit by hand: run `bench/run` "
  f"again. Raw files: `{M.get('workdir', WORK)}/raw/`.\n")
w(f"![lettagate relative to direct and to its peers]({os.path.basename(OUT_PNG)})\n")
w("## Machine and versions\n")
w("| | |\n|---|---|")
for k, label in (("date", "date"), ("tree", "source tree"), ("cpu", "CPU (/proc/cpuinfo)"), ("nproc", "cores (nproc)"),
                 ("mem_total", "memory"),
                 ("virtual", "virtual machine (hypervisor flag in /proc/cpuinfo)"),
                 ("cpuidle", "cpuidle driver (none: an idle core halts at once)"), ("kernel", "kernel"), ("os", "OS"), ("lettagate", "lettagate"),
                 ("libuv", "libuv"), ("haproxy", "HAProxy"), ("nginx", "nginx"), ("wrk", "wrk"),
                 ("load_start", "load average at start (1/5/15 min)"), ("load_end", "load average at end")):
    w(f"| {label} | {M.get(k, '?')} |")
w(f"| CPU time taken by the hypervisor (steal) during the run | {steal_text()} |")
w("")
w("## Method\n")
pin = ("core 0: wrk, the benchmark clients and every origin server; core 1: the system under "
       "test alone (each proxy, lettagate's health server, the nginx it is compared with). "
       "`direct` therefore runs client and origin on one core, like every other column")
w(f"- Rounds: {ROUNDS} (peers interleaved inside each round, their order rotated from one round to the next); medians over rounds, "
  "min-max in parentheses; ratios are ratios of medians.")
w(f"- Placement (`taskset`): {pin if M['pin'] == '1' else 'none (--no-pin)'}.")
w(f"- Proxied HTTP: `wrk -t1 -cN -d{M['duration']}s --latency` for a {M['http_body_bytes']}-byte "
  "static file on nginx (1 worker, access_log off, keep-alive). lettagate: `serve --forward` with every "
  "probe off, `--log-level warn`; HAProxy: `mode tcp`, `nbthread 1`, no log, maxconn "
  f"{M['haproxy_maxconn']}; nginx: `stream {{}}`, `worker_processes 1`, default stream settings, no "
  "access log. All single-threaded, no logs, default buffers. CPU/req is the proxy's own user+system "
  "CPU time (its CPU clock, clock_getcpuclockid) divided by the requests served: the efficiency measure "
  "that does not depend on which core is the bottleneck. Sleeps/req: the proxy's voluntary context "
  "switches (/proc/PID/status: the times it blocked waiting for events) divided by the requests served. "
  "Wake-up IPIs/req: the function-call and rescheduling interrupts its core received "
  "(/proc/interrupts, CAL and RES of core 1; the proxy is alone there), per request: how often another "
  "core had to wake it. "
  "'held in k of N rounds' judges a goal on each round's own numbers, peers measured back to back.")
w(f"- Bulk: {int(M['bulk_bytes']) / 2**20:,.0f} MiB per run, `bench/lgbench` (C, 1 MiB read/write "
  "buffers): `get` = origin to client, `put` = client to origin (ends with a half-close), MB/s = 10^6 B/s.")
w(f"- SSE: {M['sse_events']} events per round, one every {int(M['sse_interval_us']) / 1000:g} ms; the "
  "origin writes CLOCK_MONOTONIC into each event, the client subtracts it from the arrival time. "
  "Percentiles over all events of all rounds; 'added' = through the proxy minus direct.")
w(f"- Memory: a fresh proxy per peer; RSS (VmRSS, nginx: master + worker) idle, then with {N1:,} and "
  f"{N2:,} idle connections established end to end (each greeted by the origin through the proxy). "
  "Per connection = (RSS with N - idle RSS) / N.")
w(f"- Health: lettagate probing a real stack (`scripts/services`: stand-in Letta, PostgreSQL, Redis, nginx) "
  f"every {M['probe_interval_ms']} ms; `wrk -t1 -c32` on /readyz ({M.get('readyz_bytes', '?')} B) and /metrics "
  f"({M.get('metrics_bytes', '?')} B) vs nginx (1 worker, same core) serving copies of those bodies as files.")
w(f"- Detection: `scripts/services stop NAME` at a random phase of the probe interval; time from "
  f"issuing the stop to the first /readyz 503 (polled every 20 ms); probe interval {M['probe_interval_ms']} ms, "
  f"fall {M['probe_fall']}, timeout {M['probe_timeout_ms']} ms: bound {bound} ms.")
w("")
w("## Goals\n")
w("| goal | measured | |\n|---|---|---|")
for g, m, ok in G:
    w(f"| {g} | {m} | {goal(ok)} |")
w("")
if not smoke and len(UNCONTENDED) >= 3:
    w(f"**Run to run.** Over the {len(UNCONTENDED)} full runs recorded with at most {MAX_STEAL_PCT:g}% steal (this one "
      f"and those before it: the section Run to run), lettagate's req/s over HAProxy's at 32 connections was {runs_text('c32_vs_haproxy', 1.10)}; over "
      f"nginx stream's {runs_text('c32_vs_nginx', 1.05)}. At 256 connections: {runs_text('c256_vs_haproxy', 1.10)} "
      f"and {runs_text('c256_vs_nginx', 1.05)}. lettagate's added p99 was at most the best peer's in "
      + " and ".join(f"{sum(float(r[f'c{c}_added_p99']) <= float(r[f'c{c}_best_peer_added_p99']) for r in UNCONTENDED)} of "
                     f"{len(UNCONTENDED)} runs at {c} connections" for c in (32, 256))
      + "." + limited_runs_text()
      + " On this shared virtual machine one run's verdict on a 10% or 5% margin does not carry over to the next.\n")
missed = [g for g, _, ok in G if not ok]
if missed and not smoke:
    w("### Where a goal is not met, and why\n")
    if any(g.startswith(("proxied req/s", "added p99 <= best peer's (HTTP")) for g in missed):
        h32 = {t: http[(32, t)] for t in TARGETS}
        cpu = {t: h32[t]["cpu"] for t in PEERS}
        busy = {t: cpu[t] * h32[t]["rps"] / 1e4 for t in PEERS}  # percent of one core
        text = "- **Proxied HTTP (req/s, added p99).** "
        if M["pin"] == "1":
            text += (f"wrk and the origin nginx share core 0 (direct: {f(h32['direct']['rps'])} req/s with nothing "
                     f"in between); each proxy has core 1 to itself and used {busy['lettagate']:.0f}% (lettagate), "
                     f"{busy['haproxy']:.0f}% (HAProxy) and {busy['nginx']:.0f}% (nginx stream) of it. ")
            if max(busy.values()) < 95:
                text += ("No proxy is the bottleneck, so the closed-loop req/s of 32 connections measures the "
                         "latency a proxy adds per request, not how much it can carry. ")
                if limited:
                    text += (f"Where the proxy is the bottleneck (each held to {limit_cores:g} of a core, the section "
                             f"Under a CPU limit), lettagate served {limited_vs('haproxy')} HAProxy's req/s and "
                             f"{limited_vs('nginx')} nginx stream's. ")
        cheapest = min(PEERS, key=lambda t: cpu[t])
        text += (f"What each proxy spends per request at 32 connections: {f(cpu['lettagate'], 1)} us of CPU "
                 f"(lettagate), {f(cpu['haproxy'], 1)} (HAProxy) and {f(cpu['nginx'], 1)} (nginx stream)"
                 + ("; lettagate is the cheapest" if cheapest == "lettagate" else
                    f"; {NAMES[cheapest]} is the cheapest in this run") +
                 f". Counted, not timed: {f(cost['lettagate']['ir_req'])} user-space instructions and "
                 f"{cost['lettagate']['sys_req']:.2f} system calls per request against {f(cost['haproxy']['ir_req'])} / "
                 f"{cost['haproxy']['sys_req']:.2f} (HAProxy) and {f(cost['nginx']['ir_req'])} / "
                 f"{cost['nginx']['sys_req']:.2f} (nginx stream).")
        if cost["lettagate"]["sys_req"] < 6.05:
            text += (" One read and one write per direction is the least a copying proxy can do; the rest of "
                     "its time is the kernel's TCP work, the same for every proxy.")
        w(text)

        def per_round(c, peer):
            return span_x(round_ratios(http[(c, "lettagate")]["rps_all"], http[(c, peer)]["rps_all"]))

        ha = h32["haproxy"]["rps_all"]
        w("  Round by round (each round measures the peers back to back), lettagate's req/s over HAProxy's "
          f"ranged {per_round(32, 'haproxy')} at 32 connections and {per_round(256, 'haproxy')} at 256; over "
          f"nginx stream's {per_round(32, 'nginx')} and {per_round(256, 'nginx')}. HAProxy alone ranged "
          f"{f(min(ha))}-{f(max(ha))} req/s at 32 connections. This machine's noise from one round to the "
          "next is larger than the margins asked (10% and 5%), so a single run's verdict on them can go "
          "either way.")
        lg_ = {c: http[(c, "lettagate")] for c in (32, 256)}
        bp_ = {c: http[(c, BP)] for c in (32, 256)}
        peers_sl = {c: {t: http[(c, t)]["sleeps"] for t in ("haproxy", "nginx")} for c in (32, 256)}
        text = ("  How often each proxy blocked waiting for events, per request: "
                + "; ".join(f"{c} connections: lettagate {f(lg_[c]['sleeps'], 2)}, HAProxy {f(peers_sl[c]['haproxy'], 2)}, "
                            f"nginx stream {f(peers_sl[c]['nginx'], 2)}" for c in (32, 256)) + ".")
        wk = {t: http[(32, t)]["wakeups"] for t in ("lettagate", "haproxy", "nginx")}
        if all(v is not None for v in wk.values()):
            text += (" A blocked proxy is woken by an interrupt from the core that wrote to it; its core "
                     f"received {f(wk['lettagate'], 2)} such interrupts per request (lettagate), "
                     f"{f(wk['haproxy'], 2)} (HAProxy) and {f(wk['nginx'], 2)} (nginx stream) at 32 connections.")
        if all(bp_[c]["sleeps"] < lg_[c]["sleeps"] for c in (32, 256)):
            d99 = {c: http[(c, "direct")]["p99"] for c in (32, 256)}
            text += (f" The same build with `--busy-poll-us {M.get('busy_poll_us', '?')}`, which differs only in blocking "
                     f"less ({f(bp_[32]['sleeps'], 2)} and {f(bp_[256]['sleeps'], 2)} times per request), served "
                     + " and ".join(f"{fr(ratio(bp_[c]['rps'], lg_[c]['rps']))} the req/s with {f(bp_[c]['p99'] - d99[c])} us "
                                    f"added at p99 instead of {f(lg_[c]['p99'] - d99[c])} ({c} connections)" for c in (32, 256)) + ".")
            if all(bp_[c]["rps"] > lg_[c]["rps"] and bp_[c]["p99"] < lg_[c]["p99"] for c in (32, 256)):
                best = {c: max(http[(c, t)]["rps"] for t in ("haproxy", "nginx")) for c in (32, 256)}
                behind = [c for c in (32, 256) if lg_[c]["rps"] < best[c]]
                vm = M.get("virtual") == "yes"
                text += (" So the wake-ups cost: each time the proxy blocks, the core that writes to it (core 0, the "
                         f"busy one) must wake core 1, and on this {'virtual ' if vm else ''}machine (cpuidle driver: "
                         f"{M.get('cpuidle', '?')}) a halted core is woken "
                         + ("through the hypervisor." if vm else "by an interrupt."))
                if all(bp_[c]["rps"] >= best[c] for c in behind):
                    text += " Blocking less closed the gap to the best peer."
                else:
                    fewest = all(bp_[c]["sleeps"] < min(peers_sl[c].values()) for c in (32, 256))
                    text += (" They are not all of it: blocking less" + (" than any peer" if fewest else "")
                             + " did not close the gap to the best one ("
                             + ", ".join(f"{c} connections: {f(bp_[c]['rps'])} against {f(best[c])} req/s"
                                         for c in behind) + ").")
        text += (" Busy polling stays off by default: where events come often enough to keep its window open "
                 "but the proxy is not saturated, it spends the window's CPU polling (one connection with "
                 f"requests back to back: {f(seq[BP]['cpu'], 1)} us of CPU per request instead of "
                 f"{f(seq['lettagate']['cpu'], 1)}), which a sidecar under a CPU limit must not do unasked"
                 + (limited_bp_text() if limited else "")
                 + " (the Opt-in section below; docs/forwarder.md).")
        w(text)
    if any(g.startswith("added p99 <= best peer's (SSE") for g in missed):
        sse_round_spread = min(max(sse_round_added[t]) - min(sse_round_added[t]) for t in PEERS)
        w(f"- **SSE added p99.** The three proxies add {f(sse_added['lettagate'], 1)} (lettagate), "
          f"{f(sse_added['haproxy'], 1)} (HAProxy) and {f(sse_added['nginx'], 1)} us (nginx stream) at the "
          f"99th percentile, and {f(sse['lettagate']['p50'] - sse['direct']['p50'], 1)}, "
          f"{f(sse['haproxy']['p50'] - sse['direct']['p50'], 1)} and {f(sse['nginx']['p50'] - sse['direct']['p50'], 1)} "
          "us at the median; round by round the added p99 was "
          + "; ".join(f"{NAMES[t]} {', '.join(f(x, 1) for x in sse_round_added[t])}"
                      for t in PEERS)
          + " us. Each event crosses every proxy as one read and one write, unbuffered"
          + ("; the tails move from round to round by more than they differ between proxies."
             if sse_round_spread > max(sse_added.values()) - min(sse_added.values())
             else "; the difference between the proxies' tails is larger than their spread over the rounds."))
    if any(g.startswith("idle RSS <= 6 MiB (probing") for g in missed):
        w(f"- **Idle RSS with the probes on.** The forwarder and health server alone idle at "
          f"{idle_fwd:.1f} MiB, and lettagate's own heap and stacks are {full['full_idle_anon'] / 1024:.1f} MiB "
          "with the probes running. The rest is libpq doing its normal work, pages of shared libraries it "
          "touches: OpenSSL's set-up for SCRAM password authentication (about 3.4 MiB of libcrypto, even with "
          "sslmode=disable), Kerberos/GSSAPI for libpq's default gssencmode=prefer (about 1 MiB; "
          "`gssencmode=disable` in the DSN saves about 0.7 MiB) and p11-kit's initialiser (about 0.45 MiB). "
          "libpq is loaded only when the Postgres probe is on (src/probes/libpq_loader.cpp); getting under "
          "6 MiB with it would mean replacing libpq, which would change what users' connection strings can do.")
    w("")
if not smoke:
    bp_us = M.get("busy_poll_us", "?")
    w(f"### Opt-in: `--busy-poll-us {bp_us}`\n")
    interval_ms = int(M["sse_interval_us"]) / 1000
    w(f"The same lettagate with `--busy-poll-us {bp_us}` (off by default) was measured in the same rounds: after "
      f"a wake-up its loop keeps polling without blocking for a window of up to {bp_us} us before it blocks again. "
      "The window adapts (like KVM's halt polling): it grows while the loop's waits are shorter than the bound "
      "and closes after a longer one, so under steady traffic the loop rarely sleeps, and idle it costs "
      "nothing (HAProxy's `busy-polling` spins whether or not there is traffic). Sparse traffic (the SSE "
      f"phase: one event every {interval_ms:g} ms) cost {f(sse[BP]['cpu'], 1)} us of CPU per event with it and "
      f"{f(sse['lettagate']['cpu'], 1)} us without; one connection with requests back to back, where the "
      f"next event always comes within the window, {f(seq[BP]['cpu'], 1)} us per request instead of "
      f"{f(seq['lettagate']['cpu'], 1)}, for {fr(ratio(seq[BP]['rps'], seq['lettagate']['rps']))} the req/s. "
      "Not part of the goals above, which compare defaults.\n")
    w("| measure | lettagate | with busy polling | HAProxy | nginx stream |\n|---|---|---|---|---|")
    cols = ("lettagate", BP, "haproxy", "nginx")

    def opt_row(label, value):  # value(target) -> the formatted cell
        w(f"| {label} | " + " | ".join(value(t) for t in cols) + " |")

    for c in (32, 256):
        d99 = http[(c, "direct")]["p99"]
        opt_row(f"HTTP c{c} req/s", lambda t: f(http[(c, t)]["rps"]))
        opt_row(f"HTTP c{c} added p99 us", lambda t: f(http[(c, t)]["p99"] - d99))
        opt_row(f"HTTP c{c} CPU us/req", lambda t: f(http[(c, t)]["cpu"], 1))
        opt_row(f"HTTP c{c} sleeps/req", lambda t: f(http[(c, t)]["sleeps"], 2))
    opt_row("SSE added p99 us", lambda t: f(sse[t]["p99"] - sse["direct"]["p99"], 1))
    opt_row("SSE CPU us/event", lambda t: f(sse[t]["cpu"], 1))
    opt_row("one connection req/s", lambda t: f(seq[t]["rps"]))
    opt_row("one connection CPU us/req", lambda t: f(seq[t]["cpu"], 1))
    bp32 = http[(32, BP)]
    w(f"\nWith busy polling, req/s at 32 connections is {fr(ratio(bp32['rps'], http[(32, 'haproxy')]['rps']))} HAProxy's "
      f"and {fr(ratio(bp32['rps'], http[(32, 'nginx')]['rps']))} nginx stream's, for "
      f"{f(bp32['cpu'], 1)} us of CPU per request instead of {f(http[(32, 'lettagate')]['cpu'], 1)}.\n")
w("## Proxied HTTP\n")
for c in (32, 256):
    d = http[(c, "direct")]
    w(f"**{c} connections** (wrk -t1 -c{c})\n")
    w("| path | req/s | vs direct | lettagate vs this | p50 us | p99 us | added p99 us | proxy CPU us/req | proxy sleeps/req | "
      "wake-up IPIs/req | errors |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    lg = http[(c, "lettagate")]
    for t in LATENCY_ROWS:
        h = http[(c, t)]
        vs_lg = "" if t in ("direct", "lettagate", BP) else fr(ratio(lg["rps"], h["rps"]))
        added = "" if t == "direct" else f(h["p99"] - d["p99"])
        w(f"| {NAMES[t]} | {f(h['rps'])}{span(h['rps_all'])} | {fr(ratio(h['rps'], d['rps']))} | {vs_lg} | "
          f"{f(h['p50'])} | {f(h['p99'])} | {added} | {f(h['cpu'], 1) if t != 'direct' else ''} | "
          f"{f(h['sleeps'], 2) if t != 'direct' else ''} | {f(h['wakeups'], 2) if h['wakeups'] is not None else ''} | "
          f"{h['errors']} |")
    w("")
w("## Under a CPU limit\n")
if limited:
    quota_us = int(limit_cores * 100000)
    lg_l = limited["lettagate"]
    w(f"The proxied HTTP load again (wrk -t1 -c{M.get('limit_conns', 32)}, same files, same placement) with each proxy held "
      f"to {limit_cores:g} of a core by a cgroup (v{limit_text.split('v')[-1]}) CFS quota of {quota_us:,} us of CPU per "
      f"100,000 us period: what `cpus: {limit_cores:g}` in compose and `limits.cpu: {int(limit_cores * 1000)}m` in "
      "Kubernetes set. The proxy is then the bottleneck (last column: the share of 100 ms periods in which it used "
      "up its quota and was held until the next one), so req/s is what each carries per CPU second, and the "
      "p99 is mostly that wait.\n")
    w("| path | req/s | lettagate vs this | p50 us | p99 us | proxy CPU us/req | periods out of quota | errors |")
    w("|---|---|---|---|---|---|---|---|")
    for t in LIMITED:
        h = limited[t]
        vs_lg = "" if t in ("lettagate", BP) else limited_vs(t)
        w(f"| {NAMES[t]} | {f(h['rps'])}{span(h['rps_all'])} | {vs_lg} | {f(h['p50'])} | {f(h['p99'])} | "
          f"{f(h['cpu'], 1)} | {f(h['throttled'])}% | {h['errors']} |")
    bp_vs = ratio(limited[BP]["rps"], lg_l["rps"])
    w(f"\nlettagate served {limited_vs('haproxy')} HAProxy's req/s ({limited_rounds('haproxy', 1.10)}) and "
      f"{limited_vs('nginx')} nginx stream's ({limited_rounds('nginx', 1.05)}); "
      f"with busy polling it served {fr(bp_vs)} the default's"
      + (": under a quota the time spent polling is taken from forwarding." if bp_vs < 1 else ".") + " At "
      f"{f(lg_l['cpu'], 1)} us of CPU per request, {limit_cores:g} of a core carries about "
      f"{f(limit_cores * 1e6 / lg_l['cpu'] if lg_l['cpu'] else None)} requests per second on this machine.\n")
else:
    w(f"Not measured in this run: {limit_text.partition(': ')[2]}.\n")
w("## One connection, requests back to back\n")
w(f"{int(M.get('seq_reqs', 0)):,} keep-alive requests in a row on one connection (lgbench http-reqs), as an app "
  "calling the API in sequence: nothing queues, so this is the round trip each proxy adds, and what it "
  "costs per request when the proxy sleeps between requests.\n")
w("| path | req/s | vs direct | round trip us | added us | proxy CPU us/req | proxy sleeps/req |")
w("|---|---|---|---|---|---|---|")
for t in LATENCY_ROWS:
    q = seq[t]
    rtt = 1e6 / q["rps"]
    added = "" if t == "direct" else f(rtt - 1e6 / seq["direct"]["rps"], 1)
    w(f"| {NAMES[t]} | {f(q['rps'])}{span(q['rps_all'])} | {fr(ratio(q['rps'], seq['direct']['rps']))} | "
      f"{f(rtt, 1)} | {added} | " + (" | |" if t == "direct" else f"{f(q['cpu'], 1)} | {f(q['sleeps'], 2)} |"))
w("")
w("## Cost per request and per MiB (counted, not timed)\n")
w(f"Sequential keep-alive requests ({int(M['cost_reqs']):,}) and a {M['cost_mib']} MiB download through a fresh "
  "instance of each proxy. Instructions: user space only (callgrind, instrumentation on only around "
  "the workload; the kernel's share is not in it). System calls: strace -c on the proxy. These do not "
  "depend on the machine's load.\n")
w("| proxy | instructions per request | system calls per request | instructions per MiB | system calls per MiB |")
w("|---|---|---|---|---|")
for peer in PEERS:
    c = cost[peer]
    w(f"| {NAMES[peer]} | {f(c['ir_req'])} | {f(c['sys_req'], 2)} | {f(c['ir_mib'])} | {f(c['sys_mib'], 1)} |")
w("")
w("## Bulk transfer\n")
w("| path | get MB/s | vs direct | put MB/s | vs direct |\n|---|---|---|---|---|")
for t in TARGETS:
    g, p = bulk[("get", t)], bulk[("put", t)]
    w(f"| {NAMES[t]} | {f(g['mbs'])}{span(g['all'])} | {fr(ratio(g['mbs'], bulk[('get', 'direct')]['mbs']))} | "
      f"{f(p['mbs'])}{span(p['all'])} | {fr(ratio(p['mbs'], bulk[('put', 'direct')]['mbs']))} |")
w("")
w("lettagate vs HAProxy: get " + fr(ratio(bulk[("get", "lettagate")]["mbs"], bulk[("get", "haproxy")]["mbs"]))
  + ", put " + fr(ratio(bulk[("put", "lettagate")]["mbs"], bulk[("put", "haproxy")]["mbs"]))
  + "; vs nginx stream: get " + fr(ratio(bulk[("get", "lettagate")]["mbs"], bulk[("get", "nginx")]["mbs"]))
  + ", put " + fr(ratio(bulk[("put", "lettagate")]["mbs"], bulk[("put", "nginx")]["mbs"])) + ".\n")
w("## SSE per-event latency\n")
w("| path | events | p50 us | p90 us | p99 us | max us | added p50 us | added p99 us | proxy CPU us/event | proxy sleeps/event |")
w("|---|---|---|---|---|---|---|---|---|---|")
for t in LATENCY_ROWS:
    s = sse[t]
    a50 = "" if t == "direct" else f(s["p50"] - sse["direct"]["p50"], 1)
    a99 = "" if t == "direct" else f(s["p99"] - sse["direct"]["p99"], 1)
    w(f"| {NAMES[t]} | {s['n']} | {f(s['p50'], 1)} | {f(s['p90'], 1)} | {f(s['p99'], 1)} | {f(s['max'], 1)} | {a50} | {a99} | "
      + (" | |" if t == "direct" else f"{f(s['cpu'], 1)} | {f(s['sleeps'], 2)} |"))
w("")
w("## Health endpoints\n")
w("| endpoint | lettagate req/s | nginx static req/s | ratio | lettagate p99 us | nginx p99 us | lettagate CPU us/req | nginx CPU us/req | errors |")
w("|---|---|---|---|---|---|---|---|---|")
for ep in ("readyz", "metrics"):
    a, b = health[(ep, "lettagate")], health[(ep, "nginx")]
    w(f"| /{ep} | {f(a['rps'])}{span(a['rps_all'])} | {f(b['rps'])}{span(b['rps_all'])} | {fr(ratio(a['rps'], b['rps']))} | "
      f"{f(a['p99'])} | {f(b['p99'])} | {f(a['cpu'], 1)} | {f(b['cpu'], 1)} | {a['errors'] + b['errors']} |")
w("")
w("## Memory\n")
w(f"| peer | idle RSS KiB (anonymous) | RSS with {N1:,} KiB | RSS with {N2:,} KiB | KiB per connection ({N1:,}) | KiB per connection ({N2:,}) |")
w("|---|---|---|---|---|---|")
for peer in PEERS:
    m = mem[peer]
    w(f"| {NAMES[peer]} | {m['idle']:,} ({m['idle_anon']:,}) | {m['n1']:,} | {m['n2']:,} | "
      f"{f(per_conn_kib(peer, 'n1', N1), 2)} | {f(per_conn_kib(peer, 'n2', N2), 2)} |")
w("")
w(f"lettagate with its four probes running against the stack: {full['full_idle']:,} KiB idle "
  f"(anonymous {full['full_idle_anon']:,} KiB), {full.get('full_after_load', 0):,} KiB after the "
  "health-endpoint load. RSS (VmRSS) counts every page touched, the shared libraries' included; "
  "'anonymous' (RssAnon) is the process's own heap and stacks. Kernel socket buffers are in neither "
  "(they are the same for every peer).\n")
w("## Failure detection\n")
w(f"| dependency | stops | detection ms (each) | max ms | bound ms | stop command took ms (each) |")
w("|---|---|---|---|---|---|")
for dep, v in detect.items():
    w(f"| {dep} | {len(v)} | {', '.join(str(x[1]) for x in v)} | {max(x[1] for x in v)} | {bound} | "
      f"{', '.join(str(x[0]) for x in v)} |")
w("")
if not smoke:
    w("## Run to run\n")
    w("Every full run recorded in `bench/history.tsv` and the source tree it measured: lettagate's req/s over "
      "each peer's, and the p99 latency lettagate adds against the best peer's, in us. Runs with more than "
      f"{MAX_STEAL_PCT:g}% steal were not published and are left out of the ranges above.\n")
    w("| date | source tree | rounds | c32 vs HAProxy | c32 vs nginx stream | c256 vs HAProxy | c256 vs nginx stream "
      "| c32 added p99 (best peer) | c256 added p99 (best peer) | quarter core vs HAProxy | quarter core vs nginx stream "
      "| steal | published |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in RUNS:
        w(f"| {r['date']} | {r['tree']} | {r['rounds']} | {r['c32_vs_haproxy']}x | {r['c32_vs_nginx']}x | "
          f"{r['c256_vs_haproxy']}x | {r['c256_vs_nginx']}x | {r['c32_added_p99']} ({r['c32_best_peer_added_p99']}) | "
          f"{r['c256_added_p99']} ({r['c256_best_peer_added_p99']}) | "
          + " | ".join("" if r[k] == "-" else f"{r[k]}x" for k in ("limited_vs_haproxy", "limited_vs_nginx"))
          + f" | {'' if r['steal'] == '-' else r['steal'] + '%'} | {r['published']} |")
    w("")
analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
if os.path.exists(analysis) and not smoke:
    w(open(analysis).read().rstrip() + "\n")
with open(OUT_MD, "w") as out:
    out.write("\n".join(L))
print("\n".join(f"{'MET    ' if ok else 'NOT MET'} {g}: {m}" for g, m, ok in G))
print(f"report: {OUT_MD}" + ("" if published else " (contended run: not published)"))
