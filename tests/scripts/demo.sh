#!/usr/bin/env bash
# tier: stack
# The README's first command: `scripts/demo --check` brings up its own stack (build/demo-services,
# never the tests' one), runs lettagate against it, requires /livez /readyz /status /metrics to
# answer 200 (the stack is healthy, so /readyz must turn ready), prints the URLs to open, and stops
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
# scripts/demo builds and uses build/lettagate; --no-build: this test runs after the build.
timeout 180 "$SRC/scripts/demo" --check --no-build >"$out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then ok "scripts/demo --check exited 0"; else fail "scripts/demo --check exited $rc"; cat "$out" >&2; fi
for p in /livez /readyz /status /metrics; do
  if grep -qx "$p 200" "$out"; then ok "$p answered 200"; else fail "$p did not answer 200"; fi
done
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
