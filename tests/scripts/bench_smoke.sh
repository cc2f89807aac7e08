#!/usr/bin/env bash
# tier: stack
# `bench/run --smoke` runs every benchmark path (round trip, bulk, CPU quota, memory, health
# endpoints, one SIGKILL seen by lettagate and HAProxy in a scripts/services stack of its own),
# writes raw.tsv with every phase and peer measured and a table with a number in every cell it
# should have, leaves docs/ alone and leaves no process or cgroup behind. Speed is NOT checked.
set -euo pipefail

SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BUILD="${LG_BUILD_DIR:-$SRC/build}"
BINARY="${LG_BINARY:-$BUILD/lettagate}"
WORK="$BUILD/bench-smoke"
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok   $*"; }
alive() { local st; st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1; [ -n "$st" ] && [[ "$st" != Z* ]]; }

[ -x "$BINARY" ] || { echo "FAIL: no lettagate binary at $BINARY" >&2; exit 1; }
docs_before="$(md5sum "$SRC"/docs/* | md5sum)"
rc=0
timeout 400 "$SRC/bench/run" --smoke --binary "$BINARY" --workdir "$WORK" >"$BUILD/bench-smoke.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  ok "bench/run --smoke exited 0 ($(grep -o 'done in [0-9]* s' "$BUILD/bench-smoke.log"))"
else
  fail "bench/run --smoke exited $rc"
  tail -n 30 "$BUILD/bench-smoke.log" >&2
fi

# Every phase measured every peer it compares.
for want in "rtt direct" "rtt lettagate" "rtt haproxy" "rtt nginx" "bulk lettagate" "bulk haproxy" "bulk nginx" \
  "memory lettagate" "memory haproxy" "memory nginx" "memory lettagate_probing" "readyz lettagate" "readyz nginx" \
  "metrics lettagate" "metrics nginx" "detect lettagate" "detect haproxy"; do
  if awk -F'\t' -v p="${want% *}" -v q="${want#* }" '$1 == p && $2 == q && $5 ~ /^[0-9.]+$/ {f = 1} END {exit !f}' "$WORK/raw.tsv" 2>/dev/null; then
    ok "raw.tsv: $want"
  else
    fail "raw.tsv has no number for $want"
  fi
done
# The quota phase ran where a cgroup cpu controller is writable; elsewhere the table says why.
if grep -q $'^quota\t-\t-\tskipped' "$WORK/raw.tsv" 2>/dev/null; then
  if grep -q 'not measured: ' "$WORK/table.md"; then ok "quota not measured, and the table says why"; else fail "quota skipped silently"; fi
else
  for p in lettagate haproxy nginx; do
    if grep -qP "^quota\t$p\t1\trps\t[0-9.]+\$" "$WORK/raw.tsv"; then ok "quota: $p measured"; else fail "quota: no req/s for $p"; fi
  done
fi
# The table: every proxy row has its three numbers; wrk saw no error.
rows="$(grep -c '^| ' "$WORK/table.md" 2>/dev/null || echo 0)"
if [ "$rows" -ge 12 ]; then ok "table: $rows rows"; else fail "table has $rows rows"; fi
for row in "round trip added" "bulk get" "bulk put" "idle RSS forwarding" "RSS per proxied connection"; do
  if grep -qE "^\| ${row}[^|]*\| -?[0-9][0-9.,]* \| -?[0-9][0-9.,]* \| -?[0-9][0-9.,]* \| [0-9.]+x \| [0-9.]+x \|$" "$WORK/table.md"; then
    ok "table row: $row"
  else
    fail "table row '$row' incomplete: $(grep -F "| $row" "$WORK/table.md" || echo missing)"
  fi
done
if grep -qE '^\| redis SIGKILLed[^|]*\| [0-9,]+ / [0-9,]+ \| [0-9,]+ / [0-9,]+ \|' "$WORK/table.md"; then
  ok "table row: redis SIGKILLed, lettagate and HAProxy"
else
  fail "detection row incomplete: $(grep -F '| redis SIGKILLed' "$WORK/table.md" || echo missing)"
fi
if grep -q '^| wrk errors, all runs | 0 |' "$WORK/table.md"; then ok "no wrk errors"; else fail "wrk errors: $(grep 'wrk errors' "$WORK/table.md")"; fi
if [ "$docs_before" = "$(md5sum "$SRC"/docs/* | md5sum)" ]; then ok "docs/ untouched"; else fail "the smoke run changed docs/"; fi

# Everything the run started is gone: its processes, its services stack, its cgroups.
left=()
while read -r pid name; do if alive "$pid"; then left+=("$pid:$name"); fi; done <"$WORK/pids"
for f in "$WORK"/services/run/*.pid; do
  [ -f "$f" ] && alive "$(cat "$f")" && left+=("$(cat "$f"):$(basename "$f" .pid)")
done
if [ "${#left[@]}" -eq 0 ]; then ok "no process left behind ($(wc -l <"$WORK/pids") were started)"; else fail "still running: ${left[*]}"; fi
cgroups_left="$(find /sys/fs/cgroup -maxdepth 2 -name 'lettagate-bench-*' 2>/dev/null || true)"
if [ -z "$cgroups_left" ]; then ok "no cgroup left behind"; else fail "cgroups left: $cgroups_left"; fi

if [ "$FAILS" -ne 0 ]; then echo "bench_smoke: $FAILS check(s) FAILED" >&2; exit 1; fi
echo "bench_smoke: all checks passed"
