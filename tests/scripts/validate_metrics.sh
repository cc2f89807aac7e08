#!/usr/bin/env bash
# tier: stack
# Validator: the live /metrics of `lettagate serve` (every component pointed at the test stack,
# one forward route) passes `promtool check metrics` (format and naming lint), and the metric
# reference docs/metrics.md matches the code both ways: every family the live endpoint exposes
# and every name src/ registers is documented, and every documented name is registered in src/.
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"
command -v promtool >/dev/null || die "promtool is not installed (Debian package prometheus)"
DOC="$SRC/docs/metrics.md"
[ -f "$DOC" ] || die "$DOC is missing"

STEP="live"
lg_live_serve
curl -s -m 5 "$LIVE_URL/metrics" >"$TMP/metrics.txt" || die "GET /metrics failed"
ct="$(curl -s -m 5 -o /dev/null -w '%{content_type}' "$LIVE_URL/metrics")"
if [[ "$ct" == text/plain*version=0.0.4* ]]; then ok "content type $ct"; else fail "content type '$ct' is not text/plain; version=0.0.4"; fi
metric_families "$TMP/metrics.txt" >"$TMP/live"
ok "$(wc -l <"$TMP/live") metric families, $(grep -vc '^#' "$TMP/metrics.txt") samples"

STEP="promtool check metrics"
if promtool check metrics <"$TMP/metrics.txt" >"$TMP/lint" 2>&1; then
  ok "no problems"
else
  fail "promtool check metrics: $(cat "$TMP/lint")"
fi
# promtool exits 0 on some lint findings in older versions: any output is a finding.
[ ! -s "$TMP/lint" ] || fail "promtool check metrics reported: $(cat "$TMP/lint")"

STEP="docs/metrics.md"
# Names in the reference tables: rows that start with | `name` |.
# shellcheck disable=SC2016  # the backticks are literal markdown, not expansions
grep -oE '^\| *`[a-zA-Z_:][a-zA-Z0-9_:]*`' "$DOC" | sed -E 's/^\| *`//; s/`$//' | sort -u >"$TMP/doc"
[ "$(wc -l <"$TMP/doc")" -gt 10 ] || die "found only $(wc -l <"$TMP/doc") metric rows in $DOC"
# Names src/ registers: registry.counter("name", ...), .gauge(, .histogram( (the name may sit
# on the line after the call).
grep -rhozE '(counter|gauge|histogram)\(\s*"[a-zA-Z_:][a-zA-Z0-9_:]*"' "$SRC/src" | tr '\0' '\n' |
  grep -oE '"[a-zA-Z_:][a-zA-Z0-9_:]*"' | tr -d '"' | sort -u >"$TMP/src"
[ "$(wc -l <"$TMP/src")" -gt 10 ] || die "found only $(wc -l <"$TMP/src") registered names under src/ (grep broken?)"
while read -r n; do grep -qx "$n" "$TMP/doc" || fail "live /metrics exposes $n, which docs/metrics.md does not document"; done <"$TMP/live"
while read -r n; do grep -qx "$n" "$TMP/doc" || fail "src/ registers $n, which docs/metrics.md does not document"; done <"$TMP/src"
while read -r n; do grep -qx "$n" "$TMP/src" || fail "docs/metrics.md documents $n, which src/ does not register"; done <"$TMP/doc"
ok "$(wc -l <"$TMP/doc") documented, $(wc -l <"$TMP/src") registered in src/, $(wc -l <"$TMP/live") live"
# The documented type must be the exposed one.
while read -r name type; do
  row="$(grep -E "^\| *\`$name\` *\|" "$DOC" | head -n1 || true)"
  [ -z "$row" ] && continue
  dtype="$(awk -F'|' '{ gsub(/ /, "", $3); print $3 }' <<<"$row")"
  [ "$dtype" = "$type" ] || fail "$name is a $type, docs/metrics.md says '$dtype'"
done < <(awk '$1 == "#" && $2 == "TYPE" { print $3, $4 }' "$TMP/metrics.txt")

finish validate_metrics
