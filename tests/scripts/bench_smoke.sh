#!/usr/bin/env bash
# tier: stack
# Harness test: `bench/run --smoke` runs every benchmark path (HTTP through lettagate, HAProxy
# and nginx stream, also under a CPU limit; bulk; SSE; memory with held connections; health endpoints; one failure
# detection against the scripts/services stack) in well under 4 minutes, writes a report with
# every number present and a chart, and leaves no process or port behind. Speed is NOT checked.
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

before="$(stat -c %Y "$SRC/docs/performance.md" 2>/dev/null || echo none)"
history_before="$(md5sum <"$SRC/bench/history.tsv")"
rc=0
timeout 240 "$SRC/bench/run" --smoke --binary "$BINARY" --workdir "$WORK" >"$BUILD/bench-smoke.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
  fail "bench/run --smoke exited $rc"
  tail -n 40 "$BUILD/bench-smoke.log" >&2
  for f in "$WORK"/logs/*; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 10 "$f" >&2; }; done
else
  ok "bench/run --smoke exited 0 ($(grep -o 'done in [0-9]* s' "$BUILD/bench-smoke.log" || echo '?'))"
fi

MD="$WORK/performance.md"
if [ -s "$MD" ]; then
  ok "report written"
  # Every section must hold real numbers, never a placeholder.
  if grep -q 'n/a' "$MD"; then fail "report has n/a values: $(grep -n 'n/a' "$MD" | head -3)"; else ok "no n/a in the report"; fi
  for section in "Proxied HTTP" "Under a CPU limit" "One connection, requests back to back" "Bulk transfer" "SSE per-event latency" "Health endpoints" "Memory" "Failure detection" "Goals"; do
    if grep -q "^## $section" "$MD"; then ok "section $section"; else fail "section $section missing"; fi
  done
  for row in "| lettagate |" "| HAProxy (mode tcp) |" "| nginx stream |" "| direct (no proxy) |" "| /readyz |" "| /metrics |" "| redis |"; do
    n="$(grep -cF "$row" "$MD" || true)"
    if [ "$n" -ge 1 ]; then ok "rows '$row': $n"; else fail "no row '$row'"; fi
  done
  # A request rate is a number with at least 3 digits, errors 0 (the smoke checks paths, not speed).
  if grep -qE '^\| lettagate \| [0-9,]{3,}' "$MD"; then ok "lettagate req/s present"; else fail "no lettagate req/s"; fi
  # Pinned (2 cores or more), each proxy's row counts the wake-up interrupts of its core.
  if [ "$(nproc)" -ge 2 ]; then
    if awk -F'|' '/^## / {http = /^## Proxied HTTP/} http && /^\| (lettagate|HAProxy|nginx stream)/ && NF == 13 {rows++; if ($(NF-2) !~ /^ [0-9]+\.[0-9]+ $/) bad=1} END {exit bad || rows < 6}' "$MD"; then
      ok "wake-up interrupts counted for every proxy"
    else
      fail "a proxy row has no wake-up interrupt count"
    fi
  fi
  # Under a CPU limit: where the run could write a cgroup quota, four rows (lettagate, busy
  # polling, HAProxy, nginx stream), each with its req/s and a share of periods out of quota
  # (1 s of wrk at a quarter of a core runs every proxy out of it: the limit took hold);
  # elsewhere the section says why it was not measured.
  if grep -q '^cpu_limit=none' "$WORK/raw/meta.txt" 2>/dev/null; then
    if grep -q '^Not measured in this run: ' "$MD"; then ok "CPU limit not measured, and the report says why: $(grep '^cpu_limit' "$WORK/raw/meta.txt")"; else fail "no CPU limit numbers and no reason"; fi
  elif awk -F'|' '/^## / {lim = /^## Under a CPU limit/} lim && /^\| (lettagate|HAProxy|nginx stream)/ {rows++; if ($3 !~ /^ [0-9][0-9,][0-9,]+/ || $(NF-2) !~ /^ [0-9]+% $/ || $(NF-2) ~ /^ 0% $/ || $(NF-1)+0 != 0) bad=1} END {exit bad || rows != 4}' "$MD"; then
    ok "CPU limit: four proxies measured, each held by its quota"
  else
    fail "the CPU-limit table is incomplete: $(sed -n '/^## Under a CPU limit/,/^## One/p' "$MD" | grep '^|' | tr '\n' ' ')"
  fi
  # The errors column is the last of the proxied-HTTP tables (other sections have tables as wide).
  if awk -F'|' '/^## / {http = /^## Proxied HTTP/} http && /^\| (direct|lettagate|HAProxy|nginx stream)/ && NF == 13 && $(NF-1)+0 != 0 {bad=1} END {exit !bad}' "$MD"; then
    fail "wrk reported errors through a proxy"
  else
    ok "no wrk errors"
  fi
else
  fail "no report at $MD"
fi
if [ -s "$WORK/performance.png" ] && head -c 8 "$WORK/performance.png" | grep -q PNG; then
  ok "chart written"
else
  fail "no PNG chart"
fi
after="$(stat -c %Y "$SRC/docs/performance.md" 2>/dev/null || echo none)"
if [ "$before" = "$after" ]; then ok "docs/performance.md untouched"; else fail "the smoke run wrote docs/performance.md"; fi
if [ "$history_before" = "$(md5sum <"$SRC/bench/history.tsv")" ]; then ok "bench/history.tsv untouched"; else fail "the smoke run wrote bench/history.tsv"; fi

# Everything the run started is gone, and so is its services stack.
left=()
if [ -f "$WORK/pids" ]; then
  while read -r pid name; do
    if alive "$pid"; then left+=("$pid:$name"); fi
  done <"$WORK/pids"
  n="$(wc -l <"$WORK/pids")"
  if [ "$n" -ge 10 ]; then ok "$n processes were started"; else fail "only $n processes recorded"; fi
else
  fail "no pid list"
fi
if [ -d "$WORK/services/run" ]; then
  for f in "$WORK"/services/run/*.pid; do
    [ -f "$f" ] || continue
    p="$(cat "$f")"
    if alive "$p"; then left+=("$p:$(basename "$f" .pid)"); fi
  done
fi
if [ "${#left[@]}" -eq 0 ]; then ok "no process left behind"; else fail "still running: ${left[*]}"; fi
# The CPU-limit phase's cgroups are gone too.
cgroups_left="$(find /sys/fs/cgroup -maxdepth 2 -name 'lettagate-bench-*' 2>/dev/null || true)"
if [ -z "$cgroups_left" ]; then ok "no cgroup left behind"; else fail "cgroups left: $cgroups_left"; fi
# No bench process of this work dir survives (configs and binaries live under $WORK).
stray="$(pgrep -af -- "$WORK/" | grep -v pgrep || true)"
if [ -z "$stray" ]; then ok "no stray process mentions $WORK"; else fail "stray: $stray"; fi

if [ "$FAILS" -ne 0 ]; then
  echo "bench_smoke: $FAILS check(s) FAILED" >&2
  exit 1
fi
echo "bench_smoke: all checks passed"
