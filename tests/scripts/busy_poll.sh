#!/usr/bin/env bash
# --busy-poll-us end to end on the real binary: lettagate forwards to the health server of a
# second lettagate process (the origin: no other server needed), with and without busy polling,
# under the same short wrk load.
#   1. Everything forwarded arrives (wrk: no errors, every answer a 200) with busy polling on.
#   2. It does what it is for: the process blocks (voluntary context switches) less than half
#      as often per request as the same load without it.
#   3. Sparse traffic does not make it spin (the window adapts: a wait longer than the bound
#      closes it): 40 requests 20 ms apart cost at most 1.5x the CPU of the same requests
#      without it, plus 3 ms. A fixed 1 ms window after every wake-up costs about 5x here.
#      Its metrics count the windows and the time in them (0 without it).
#   4. Idle it costs nothing: CPU time over 1 s with no traffic stays under 50 ms.
#   5. Bad values exit 2 naming the setting; the startup line says busy_poll=...us.
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"
require_binary

# cpu_us PID: the process's CPU time in microseconds (its CPU clock: ns, unlike /proc ticks).
cpu_us() { python3 -c 'import sys, time; print(int(time.clock_gettime(((~int(sys.argv[1])) << 3) | 2) * 1e6))' "$1"; }
sleeps() { awk '/^voluntary_ctxt_switches:/ {print $2}' "/proc/$1/status"; }
SERVERS=()
stop_servers() {
  local p
  for p in "${SERVERS[@]+"${SERVERS[@]}"}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
trap 'stop_servers; rm -rf "$TMP"' EXIT

OFF=(--letta-url off --postgres-dsn off --redis-url off --nginx-url off)
ORIGIN="$(free_ports 1)"
"$LG" serve --listen "127.0.0.1:$ORIGIN" --forward off "${OFF[@]}" --log-level warn >"$TMP/origin.log" 2>&1 &
SERVERS+=("$!")

# serve_to_origin NAME ARGS...: lettagate forwarding FWD to the origin's /livez, its own health
# port on ADMIN; sets PID, FWD, ADMIN.
serve_to_origin() {
  local name="$1" admin fwd i attempt
  shift
  # Ports are picked free, then bound by lettagate: if another process took one in between, it
  # exits naming it "already in use", and new ports are picked (at most three times).
  for attempt in 1 2 3; do
    read -r admin fwd < <(free_ports 2)
    "$LG" serve --listen "127.0.0.1:$admin" --forward "127.0.0.1:$fwd=127.0.0.1:$ORIGIN" --forward-health off \
      "${OFF[@]}" "$@" >"$TMP/$name.log" 2>&1 &
    PID=$!
    SERVERS+=("$PID")
    FWD="$fwd"
    ADMIN="$admin"
    for ((i = 0; i < 100; i++)); do
      curl -s -o /dev/null -m 1 "http://127.0.0.1:$fwd/livez" && return 0
      kill -0 "$PID" 2>/dev/null || break
      sleep 0.05
    done
    grep -q "already in use" "$TMP/$name.log" || break
    echo "($name: a port was taken between picking and binding, attempt $attempt: $(tail -1 "$TMP/$name.log"))" >&2
  done
  die "$name: the forwarder never answered ($(tail -3 "$TMP/$name.log"))"
}

# load NAME: wrk for 1 s through FWD; prints requests and the sleeps per request (x1000).
load() {
  local s0 s1 out n
  s0="$(sleeps "$PID")"
  out="$(wrk -t1 -c4 -d1s "http://127.0.0.1:$FWD/livez" 2>&1)"
  s1="$(sleeps "$PID")"
  echo "$out" >"$TMP/$1.wrk"
  n="$(echo "$out" | awk '/requests in/ {print $1}')"
  if echo "$out" | grep -qE "Socket errors|Non-2xx"; then fail "$1: wrk saw errors: $(grep -E 'Socket errors|Non-2xx' "$TMP/$1.wrk")"; fi
  echo "$n $(((s1 - s0) * 1000 / (n > 0 ? n : 1)))"
}

STEP="with and without"
serve_to_origin plain
PID_PLAIN="$PID" FWD_PLAIN="$FWD" ADMIN_PLAIN="$ADMIN"
read -r n_plain per_plain < <(load plain)
serve_to_origin busy --busy-poll-us 1000
read -r n_busy per_busy < <(load busy)
if [ "${n_plain:-0}" -gt 100 ]; then ok "without: $n_plain requests, $per_plain sleeps per 1000"; else fail "without: only ${n_plain:-0} requests"; fi
if [ "${n_busy:-0}" -gt 100 ]; then
  ok "with --busy-poll-us 1000: $n_busy requests, every answer a 200"
else
  fail "with: only ${n_busy:-0} requests"
fi
if [ "$((per_busy * 2))" -lt "$per_plain" ]; then
  ok "busy polling blocks less than half as often per request ($per_busy vs $per_plain per 1000)"
else
  fail "busy polling did not cut the sleeps: $per_busy vs $per_plain per 1000 requests"
fi

STEP="metrics"
# metric PORT NAME: its value on that lettagate's /metrics.
metric() { curl -s -m 2 "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n {print $2}'; }
w_busy="$(metric "$ADMIN" lettagate_busy_poll_windows_total)"
s_busy="$(metric "$ADMIN" lettagate_busy_poll_seconds_total)"
w_plain="$(metric "$ADMIN_PLAIN" lettagate_busy_poll_windows_total)"
if [ "${w_busy:-0}" -gt 0 ] && awk -v s="${s_busy:-0}" 'BEGIN {exit !(s > 0)}'; then
  ok "with it: $w_busy windows, ${s_busy}s in them (lettagate_busy_poll_*)"
else
  fail "with it: lettagate_busy_poll_windows_total=${w_busy:-none} seconds=${s_busy:-none}"
fi
if [ "${w_plain:-x}" = 0 ]; then ok "without it: lettagate_busy_poll_windows_total 0"; else fail "without it: windows ${w_plain:-none}"; fi

STEP="sparse traffic"
# sparse PID PORT: CPU (us) the process spends on 40 requests 20 ms apart.
sparse() {
  local c0 c1 i
  c0="$(cpu_us "$1")"
  for ((i = 0; i < 40; i++)); do
    curl -s -o /dev/null -m 2 "http://127.0.0.1:$2/livez" || fail "sparse: request $i through :$2 failed"
    sleep 0.02
  done
  c1="$(cpu_us "$1")"
  echo $((c1 - c0))
}
cpu_plain="$(sparse "$PID_PLAIN" "$FWD_PLAIN")"
cpu_busy="$(sparse "$PID" "$FWD")"
if [ "$((cpu_busy * 2))" -le "$((cpu_plain * 3 + 6000))" ]; then
  ok "40 requests 20 ms apart: ${cpu_busy} us of CPU with it, ${cpu_plain} us without (bound 1.5x + 3 ms)"
else
  fail "sparse traffic spins: ${cpu_busy} us of CPU with it vs ${cpu_plain} us without (bound 1.5x + 3 ms)"
fi

STEP="idle"
sleep 0.3
t0="$(cpu_us "$PID")"
sleep 1
t1="$(cpu_us "$PID")"
idle_ms=$(((t1 - t0) / 1000))
if [ "$idle_ms" -lt 50 ]; then ok "idle for 1 s: ${idle_ms} ms of CPU"; else fail "idle for 1 s took ${idle_ms} ms of CPU: it spins"; fi
check "the startup line names the setting" grep -q "busy_poll=1000us" "$TMP/busy.log"

STEP="bad values"
for v in -1 10001 fast; do
  rc=0
  "$LG" serve --busy-poll-us "$v" --listen "127.0.0.1:$(free_ports 1)" >"$TMP/bad.out" 2>&1 || rc=$?
  if [ "$rc" = 2 ] && grep -q -- "--busy-poll-us (LETTAGATE_BUSY_POLL_US)" "$TMP/bad.out"; then
    ok "--busy-poll-us $v: exit 2, setting named"
  else
    fail "--busy-poll-us $v: exit $rc: $(head -2 "$TMP/bad.out")"
  fi
done

finish busy_poll
