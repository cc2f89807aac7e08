#!/usr/bin/env bash
# tier: unit
# Validator: compose/prometheus.yml passes `promtool check config` (which also checks the rule
# files it names), compose/prometheus-rules.yml passes `promtool check rules` and its unit tests
# (`promtool test rules`), and the config scrapes lettagate's /metrics on port 8080 of the
# compose services.
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"
command -v promtool >/dev/null || die "promtool is not installed (Debian package prometheus)"
cd "$SRC/compose"

STEP="prometheus.yml"
if promtool check config prometheus.yml >"$TMP/out" 2>&1; then ok "promtool check config"; else
  fail "promtool check config: $(cat "$TMP/out")"; fi
if grep -q 'rule files found' "$TMP/out"; then ok "rule files loaded"; else fail "prometheus.yml loads no rule files"; fi
/usr/bin/python3 - prometheus.yml <<'PY' || FAILS=$((FAILS + 1))
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
targets = [t for j in c.get("scrape_configs", []) if j.get("metrics_path", "/metrics") == "/metrics"
           for sc in j.get("static_configs", []) for t in sc.get("targets", [])]
need = {"lettagate:8080", "letta-gate:8080"}
missing = need - set(targets)
if missing:
    print(f"FAIL [prometheus.yml]: does not scrape {sorted(missing)} (targets: {targets})", file=sys.stderr)
    sys.exit(1)
print(f"ok   [prometheus.yml]: scrapes {sorted(need)} at /metrics")
PY

STEP="prometheus-rules.yml"
if promtool check rules prometheus-rules.yml >"$TMP/out" 2>&1; then ok "promtool check rules: $(grep -o '[0-9]* rules found' "$TMP/out")"; else
  fail "promtool check rules: $(cat "$TMP/out")"; fi

STEP="rule unit tests"
# compose/prometheus-rules.test.yml: the agents-dropped, not-ready (but not draining) and
# component-down alerts fire on the series lettagate exposes, and only then; one cause, one
# alert: nginx down because Letta is (lettagate_component_blocked_by) fires Letta's alert only.
if promtool test rules prometheus-rules.test.yml >"$TMP/out" 2>&1; then ok "promtool test rules: $(grep -c 'eval_time' prometheus-rules.test.yml) evaluations"; else
  fail "promtool test rules: $(cat "$TMP/out")"; fi

finish validate_prometheus
