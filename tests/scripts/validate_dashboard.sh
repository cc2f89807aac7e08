#!/usr/bin/env bash
# tier: stack
# Validator: compose/grafana/lettagate-dashboard.json is a Grafana dashboard (parses with
# python3 -m json.tool; panels with ids, grid positions and targets on the $datasource
# variable) that shows what operators need (ready, component status, probe duration, failures
# by reason, agents, proxy connections and bytes), and every metric name in its PromQL (and in
# compose/prometheus-rules.yml) is one lettagate really exports: compared with the live /metrics
# of `lettagate serve` against the test stack (histogram _bucket/_sum/_count map to their family).
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"
DASH="$SRC/compose/grafana/lettagate-dashboard.json"
NAMES="$SRC/tests/scripts/lib/promql_names.py"

STEP="json"
if python3 -m json.tool "$DASH" >/dev/null 2>"$TMP/err"; then ok "json.tool parses the dashboard"; else
  fail "json.tool: $(cat "$TMP/err")"; finish validate_dashboard; fi

STEP="structure"
python3 - "$DASH" <<'PY' || FAILS=$((FAILS + 1))
import json, sys
d = json.load(open(sys.argv[1]))
errs = []
for k in ("title", "uid", "panels", "schemaVersion", "templating"):
    if k not in d:
        errs.append(f"dashboard has no '{k}'")
vars_ = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
if vars_.get("datasource", {}).get("type") != "datasource" or vars_["datasource"].get("query") != "prometheus":
    errs.append("needs a `datasource` variable of type datasource (query: prometheus), so it imports anywhere")
ids, exprs = set(), []
def walk(panels):
    for p in panels:
        pid = p.get("id")
        if pid in ids:
            errs.append(f"panel id {pid} used twice")
        ids.add(pid)
        g = p.get("gridPos", {})
        if not all(k in g for k in ("h", "w", "x", "y")) or g.get("x", 0) + g.get("w", 0) > 24:
            errs.append(f"panel {p.get('title')!r}: bad gridPos {g}")
        if p.get("type") != "row":
            if not p.get("targets"):
                errs.append(f"panel {p.get('title')!r} has no targets")
            for t in p.get("targets", []):
                if not t.get("expr"):
                    errs.append(f"panel {p.get('title')!r}: target without expr")
                if t.get("datasource", {}).get("uid") != "${datasource}":
                    errs.append(f"panel {p.get('title')!r}: target not on ${{datasource}}")
                exprs.append(t.get("expr", ""))
        walk(p.get("panels", []))
walk(d.get("panels", []))
joined = "\n".join(exprs)
for need, what in [("lettagate_ready", "ready gauge"), ("lettagate_component_status", "component status"),
                   ("probe_duration_seconds", "probe duration"), ("lettagate_probe_failures_total", "failures by reason"),
                   ("letta_agents", "agents"), ("lettagate_proxy_connections_active", "proxy connections"),
                   ("lettagate_proxy_bytes_total", "proxy bytes")]:
    if need not in joined:
        errs.append(f"no panel shows the {what} ({need})")
if "reason" not in joined:
    errs.append("failures are not broken down by reason")
for e in errs:
    print(f"FAIL [structure]: {e}", file=sys.stderr)
if not errs:
    print(f"ok   [structure]: {len(ids)} panels, {len(exprs)} queries, every required view present")
sys.exit(1 if errs else 0)
PY

STEP="metric names"
lg_live_serve
curl -s -m 5 "$LIVE_URL/metrics" >"$TMP/metrics.txt" || die "GET /metrics failed"
check_metric_names "dashboard PromQL" "$TMP/metrics.txt" < <(python3 "$NAMES" dashboard-exprs "$DASH")
check_metric_names "prometheus-rules.yml" "$TMP/metrics.txt" < <(python3 "$NAMES" rules-exprs "$SRC/compose/prometheus-rules.yml")

STEP="provisioning"
for f in "$SRC"/compose/grafana/provisioning/*/*.yml; do
  if /usr/bin/python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$f" 2>"$TMP/err"; then
    ok "$(basename "$f") parses"
  else
    fail "$f: $(cat "$TMP/err")"
  fi
done

finish validate_dashboard
