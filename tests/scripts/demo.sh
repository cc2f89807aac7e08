#!/usr/bin/env bash
# tier: stack
# The README's first command: `scripts/demo --check` brings up its own stack (build/demo-services,
# never the tests' one), runs lettagate against it, requires /livez /readyz /status /metrics to
# answer 200 (the stack is healthy, so /readyz must turn ready), shows the data guard and the SSE
# check at work and the empty database turning /readyz 503, prints the URLs to open, and stops
# everything it started: afterwards no process it recorded is alive and its ports are closed.
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BUILD="${LG_BUILD_DIR:-$SRC/build}"
DEMO="$BUILD/demo-services"
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok   $*"; }

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
rc=0
# scripts/demo builds and uses build/lettagate; --no-build: this test runs after the build. The
# timeout only guards against a hang: on a loaded 2-core machine a run took 186 s.
timeout 400 "$SRC/scripts/demo" --check --no-build >"$out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then ok "scripts/demo --check exited 0"; else fail "scripts/demo --check exited $rc"; cat "$out" >&2; fi
for p in /livez /readyz /status /metrics; do
  if grep -qx "$p 200" "$out"; then ok "$p answered 200"; else fail "$p did not answer 200"; fi
done
# The headline features are on: the data guard counts the agents against --min-agents, the SSE
# check gets its first event through nginx, and the empty database turns /readyz 503.
if grep -qE '^data guard: postgres up ok: .*3 live agents' "$out"; then ok "the data guard counts the agents"; else fail "no data guard line with 3 live agents"; fi
if grep -qE '^sse check: nginx up ok: .*nginx SSE GET .*/_standin/sse: first event after' "$out"; then ok "the SSE check is on and passes"; else fail "no passing SSE check line"; fi
if grep -qE '^empty database: /readyz 503 postgres .*too_few_agents: .*has 0 live agents, expected at least 3' "$out"; then
  ok "the empty database makes /readyz 503 (too_few_agents)"
else
  fail "no empty-database line with /readyz 503 and too_few_agents"
fi
if grep -q 'scripts/demo --empty-db' "$out"; then ok "the hints show the empty-database case"; else fail "no empty-database hint"; fi
for what in "status page" readiness metrics "forwarded Letta"; do
  if grep -q "|   $what .*http://127.0.0.1:[0-9]*" "$out"; then ok "prints where to look: $what"; else fail "no URL for $what"; fi
done
# Everything the demo started is stopped: nothing answers on its ports (the stack's, from its env
# file, and lettagate's, from the URLs it printed), and no process runs from its state dir.
ports=()
if [ -f "$DEMO/env" ]; then
  # shellcheck disable=SC1091
  source "$DEMO/env"
  ports+=("$LG_PG_PORT" "$LG_REDIS_PORT" "$LG_REDIS_AUTH_PORT" "$LG_LETTA_PORT" "$LG_NGINX_PORT" "$LG_NGINX_BUFFERED_PORT")
else
  fail "no $DEMO/env: the demo did not bring its stack up"
fi
while read -r port; do ports+=("$port"); done < <(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$out" | sed 's/.*://' | sort -u)
open_ports=0
for port in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then open_ports=$((open_ports + 1)); echo "port $port still answers" >&2; fi
done
if [ "$open_ports" -eq 0 ]; then ok "all ${#ports[@]} ports of the demo are closed"; else fail "$open_ports port(s) still answer"; fi
left="$(pgrep -af -- "$DEMO" || true)"
if [ -z "$left" ]; then ok "no process runs from $DEMO"; else fail "left running: $left"; fi
[ "$FAILS" -eq 0 ] || { echo "demo: $FAILS check(s) failed" >&2; exit 1; }
echo "demo: all checks passed"
