#!/usr/bin/env python3
"""PromQL metric names versus a Prometheus text exposition (for tests/scripts/validate_*.sh).

  promql_names.py names < exprs              metric names used by the expressions (one a line)
  promql_names.py check EXPOSITION < exprs   "found NAME FAMILY" / "missing NAME" per name
  promql_names.py dashboard-exprs FILE.json  every PromQL expression of a Grafana dashboard
  promql_names.py rules-exprs FILE.yml       every `expr:` of a Prometheus rules file
"""
import json
import re
import sys

WORDS = set("""abs absent absent_over_time avg avg_over_time bottomk ceil changes clamp clamp_max clamp_min
count count_over_time count_values day_of_month day_of_week days_in_month delta deriv exp floor group
histogram_quantile holt_winters hour idelta increase irate label_join label_replace last_over_time ln log10
log2 max max_over_time min min_over_time minute month predict_linear quantile quantile_over_time rate
resets round scalar sgn sort sort_desc sqrt stddev stddev_over_time stdvar stdvar_over_time sum
sum_over_time time timestamp topk vector year and or unless by without on ignoring group_left
group_right bool offset Inf NaN inf nan""".split())


def names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', " ", expr)         # strings (label values, regexes)
    e = re.sub(r"\{[^}]*\}", " ", e)                     # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)                    # range selectors
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)  # label lists
    e = re.sub(r"\$\{?\w+(:\w+)?\}?", " ", e)            # Grafana variables
    e = re.sub(r"\b\d+(\.\d+)?([eE][+-]?\d+)?\b", " ", e)  # numbers
    return {t for t in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", e) if t not in WORDS}


def families(path):
    fam = {}
    for line in open(path, encoding="utf-8"):
        p = line.split()
        if len(p) >= 4 and p[0] == "#" and p[1] == "TYPE":
            fam[p[2]] = p[3]
    return fam


# Series Prometheus adds to every scrape itself (rules may use them; lettagate does not export them).
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
                 "scrape_series_added"}


def resolve(name, fam):
    if name in SCRAPE_SERIES:
        return "(added by prometheus at scrape time)"
    if name in fam:
        return name
    m = re.match(r"(.+)_(bucket|sum|count)$", name)
    if m and fam.get(m.group(1)) in ("histogram", "summary") and (m.group(2) != "bucket" or fam[m.group(1)] == "histogram"):
        return m.group(1)
    return None


def dashboard_exprs(path):
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append(t["expr"])
            walk(p.get("panels", []))

    d = json.load(open(path, encoding="utf-8"))
    walk(d.get("panels", []))
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"\s*label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,", q or "")
        if v.get("type") == "query" and m:
            out.append(m.group(1))
    return out


def rules_exprs(path):
    out = []
    for line in open(path, encoding="utf-8"):
        m = re.match(r"\s*expr:\s*(.+?)\s*$", line)
        if m:
            out.append(m.group(1).strip("'\""))
    return out


def main():
    mode = sys.argv[1]
    if mode == "dashboard-exprs":
        print("\n".join(dashboard_exprs(sys.argv[2])))
    elif mode == "rules-exprs":
        print("\n".join(rules_exprs(sys.argv[2])))
    else:
        used = set()
        for line in sys.stdin:
            if line.strip():
                used |= names(line)
        if mode == "names":
            print("\n".join(sorted(used)))
        elif mode == "check":
            fam = families(sys.argv[2])
            if not fam:
                print(f"no # TYPE lines in {sys.argv[2]}", file=sys.stderr)
                return 1
            for n in sorted(used):
                f = resolve(n, fam)
                print(f"found {n} {f}" if f else f"missing {n}")
        else:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
