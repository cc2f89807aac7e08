#!/usr/bin/env bash
# tier: stack
# Validator: the Makefile's operator targets. `make -n TARGET` works for every target and prints
# the expected command (the Letta stack always as project `letta` from
# compose/docker-compose.letta.yml, the app stack as `thoth-dev`); and, with a stand-in for
# `docker compose` that only records its arguments, `make dev` really runs `lettagate wait`
# first (the local binary, against the test stack): the app stack is started when the stack is
# ready with its agents, and NOT started when the data guard fails.
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"
command -v make >/dev/null || die "make is not installed"
cd "$SRC"
[ -f Makefile ] || die "no Makefile at the repository root"

STEP="make -n"
expect() {  # expect TARGET SUBSTRING...: make -n TARGET succeeds and prints every SUBSTRING
  local t="$1"; shift
  if ! make -n --no-print-directory "$t" LETTAGATE=/nonexistent >"$TMP/n.out" 2>&1; then
    fail "make -n $t failed: $(tail -n 3 "$TMP/n.out")"
    return
  fi
  local s
  for s in "$@"; do
    grep -qF -- "$s" "$TMP/n.out" || { fail "make -n $t does not run '$s': $(tr '\n' ' ' <"$TMP/n.out")"; return; }
  done
  ok "make -n $t"
}
L="docker compose -p letta -f compose/docker-compose.letta.yml"
D="docker compose -p thoth-dev -f compose/docker-compose.dev.yml"
expect letta-start "$L up -d"
expect letta-stop "$L stop"
expect letta-status "$L ps" "$L exec -T letta-gate lettagate check"
expect letta-logs "$L logs"
expect letta-restart "$L restart"
expect wait "$D run --rm --no-deps lettagate wait --timeout 3m"
expect dev "lettagate wait" "$D up -d"
expect dev-stop "$D stop"
expect build "lg_build build"
expect test "scripts/test"
expect demo "scripts/demo"
expect image "docker build -f docker/Dockerfile -t lettagate:local"
expect container-smoke "scripts/container-smoke --binary build/lettagate"
expect image-smoke "scripts/container-smoke --from-source"
expect docs "scripts/gen-config-doc"
# `dev` must wait before it starts anything.
make -n --no-print-directory dev LETTAGATE=/nonexistent >"$TMP/dev.out" 2>&1 || true
w="$(grep -n 'lettagate wait' "$TMP/dev.out" | head -n1 | cut -d: -f1)"
u="$(grep -n 'up -d' "$TMP/dev.out" | head -n1 | cut -d: -f1)"
if [ -n "$w" ] && [ -n "$u" ] && [ "$w" -lt "$u" ]; then ok "dev: wait comes before up -d"; else fail "dev: lettagate wait must run before up -d"; fi
# No target may bring up Letta services from the app stack's file.
if grep -nE 'docker-compose.dev.yml.*(letta-server|letta-postgres)' Makefile; then fail "the Makefile starts Letta services from the app stack"; fi

STEP="make dev (real wait)"
require_binary
require_stack_env
FAKE="$TMP/fake-compose"
cat >"$FAKE" <<'SH'
#!/bin/sh
echo "$*" >>"$FAKE_LOG"
SH
chmod +x "$FAKE"
export FAKE_LOG="$TMP/compose.log"
args=(--no-print-directory COMPOSE="$FAKE" LETTAGATE="$LG" LETTA_PORT="$LG_LETTA_PORT" LETTA_NGINX_PORT="$LG_NGINX_PORT"
  LETTA_PG_PORT="$LG_PG_PORT" LETTA_REDIS_PORT="$LG_REDIS_PORT" LETTA_PG_PASSWORD="$LG_PG_PASSWORD")
: >"$FAKE_LOG"
if timeout 60 make dev "${args[@]}" WAIT_TIMEOUT=20s LETTAGATE_MIN_AGENTS="$LG_PG_AGENTS" >"$TMP/dev1.out" 2>&1; then
  ok "make dev: ready with $LG_PG_AGENTS agents"
else
  fail "make dev against the ready test stack failed: $(tail -n 5 "$TMP/dev1.out")"
fi
if grep -qx -- "-p thoth-dev -f compose/docker-compose.dev.yml up -d" "$FAKE_LOG"; then ok "the app stack was started"; else fail "make dev did not start the app stack: $(cat "$FAKE_LOG")"; fi
: >"$FAKE_LOG"
need=$((LG_PG_AGENTS + 1))
rc=0
timeout 60 make dev "${args[@]}" WAIT_TIMEOUT=2s LETTAGATE_MIN_AGENTS="$need" >"$TMP/dev2.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then ok "make dev fails when the database holds fewer than $need agents"; else fail "make dev succeeded with LETTAGATE_MIN_AGENTS=$need"; fi
if [ ! -s "$FAKE_LOG" ]; then ok "nothing was started"; else fail "make dev started something although the gate said no: $(cat "$FAKE_LOG")"; fi
if grep -q "expected at least $need" "$TMP/dev2.out"; then ok "the reason names the agent count"; else fail "make dev's output does not say why: $(tail -n 5 "$TMP/dev2.out")"; fi

finish validate_makefile
