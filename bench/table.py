#!/usr/bin/env python3
"""bench/table.py RAW.tsv ABOUT.txt: the one markdown table of a bench/run, from its raw numbers.

Each cell is the median over the rounds; a ratio is lettagate's median over the peer's. Which way
is better is said in the row's name. Nothing here judges the numbers: docs/performance.md does,
written by people.
"""
import csv
import statistics
import sys
from collections import defaultdict

raw_path, about_path = sys.argv[1], sys.argv[2]
vals = defaultdict(list)  # (phase, peer, metric) -> values over rounds
notes = {}
with open(raw_path) as f:
    for row in csv.DictReader(f, delimiter="\t"):
        if row["metric"] == "skipped":
            notes[row["phase"]] = row["value"]
        else:
            vals[(row["phase"], row["peer"], row["metric"])].append(float(row["value"]))


def med(phase, peer, metric):
    v = vals.get((phase, peer, metric))
    return statistics.median(v) if v else None


def fmt(x, digits=0):
    return "" if x is None else f"{x:,.{digits}f}"


def ratio(a, b):
    return "" if a is None or not b else f"{a / b:.2f}x"


rows = []  # (measure, lettagate, haproxy, nginx, vs haproxy, vs nginx)


def peers_row(name, get, digits=0):
    lg, ha, ng = get("lettagate"), get("haproxy"), get("nginx")
    rows.append((name, fmt(lg, digits), fmt(ha, digits), fmt(ng, digits), ratio(lg, ha), ratio(lg, ng)))


if "quota" in notes:
    rows.append(("proxied req/s held to 0.25 of a core (higher is better)", "not measured: " + notes["quota"], "", "", "", ""))
else:
    peers_row("proxied req/s held to 0.25 of a core, wrk -c32 (higher is better)", lambda p: med("quota", p, "rps"))
direct = med("rtt", "direct", "us_per_req")
peers_row("round trip added on one connection, us (lower is better)",
          lambda p: None if med("rtt", p, "us_per_req") is None else med("rtt", p, "us_per_req") - direct, 1)
peers_row("bulk get, MB/s (higher is better)", lambda p: med("bulk", p, "get_MBps"))
peers_row("bulk put, MB/s (higher is better)", lambda p: med("bulk", p, "put_MBps"))
peers_row("idle RSS forwarding, MiB (lower is better)", lambda p: med("memory", p, "idle_kib") / 1024, 1)
held_n = med("memory", "lettagate", "held_n")
peers_row(f"RSS per proxied connection, KiB, {held_n:,.0f} held (lower is better)",
          lambda p: (med("memory", p, "held_kib") - med("memory", p, "idle_kib")) / held_n, 2)
for ep in ("readyz", "metrics"):
    lg, ng = med(ep, "lettagate", "rps"), med(ep, "nginx", "rps")
    rows.append((f"/{ep} req/s, nginx serving the same body as a file (higher is better)",
                 fmt(lg), "", fmt(ng), "", ratio(lg, ng)))
rows.append(("idle RSS probing all four components, MiB", fmt(med("memory", "lettagate_probing", "idle_kib") / 1024, 1),
             "", "", "", ""))
for dep in sorted({m[:-len("_down_ms")] for (phase, _, m) in vals if phase == "detect" and m.endswith("_down_ms")}):
    lg, ha = ([med("detect", p, f"{dep}_{w}_ms") for w in ("down", "up")] for p in ("lettagate", "haproxy"))
    rows.append((f"{dep} SIGKILLed: ms until seen down / seen up once it accepts again (lower is better)",
                 " / ".join(map(fmt, lg)), " / ".join(map(fmt, ha)), "", " / ".join(map(ratio, lg, ha)), ""))
errors = sum(sum(v) for (_, _, m), v in vals.items() if m == "errors")
rows.append(("wrk errors, all runs", fmt(errors), "", "", "", ""))

with open(about_path) as f:
    print(f.read().rstrip().replace("\n", "  \n"))
print()
print("| measure | lettagate | HAProxy (tcp) | nginx (stream, or static) | lettagate / HAProxy | lettagate / nginx |")
print("|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
