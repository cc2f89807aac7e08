#!/usr/bin/env bash
# tier: stack
# Validator: the Makefile's operator targets. `make -n TARGET` works for every target and prints
# the expected command (the compose this machine has; the Letta stack always as project `letta`
# from compose/docker-compose.letta.yml, the app stack as `thoth-dev`); and, with a stand-in for
# `docker compose` that only records its arguments and one for `docker ps` that lists given
# containers, `make dev` really runs its pre-flight and `lettagate wait` (the local binary,
# against the test stack): the app stack is started when the stack is ready with its agents, and
# NOT started when the data guard fails; a stopped shared stack is started first (up -d
# --no-recreate); a Letta that is not the shared stack's stops it before anything starts.
# The same on a real Docker engine: tests/scripts/containers.sh (scenarios 7-10).
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
# COMPOSE: `docker compose` where the v2 plugin answers, else `docker-compose` (Debian 12 has no
# plugin, and `docker compose` fails there).
if docker compose version >/dev/null 2>&1; then C="docker compose"; else C=docker-compose; fi
if [ "$(make -s --no-print-directory -n letta-start | head -n 1 | sed 's/ -p letta.*//')" = "$C" ]; then
  ok "COMPOSE is '$C' on this machine"
else
  fail "the Makefile's COMPOSE is not '$C': $(make -s --no-print-directory -n letta-start | head -n 1)"
fi
if [ "$(COMPOSE="my compose" make -s --no-print-directory -n letta-start | head -n 1)" = "my compose -p letta -f compose/docker-compose.letta.yml up -d" ]; then
  ok "COMPOSE from the environment wins"
else fail "COMPOSE from the environment is not used"; fi
L="$C -p letta -f compose/docker-compose.letta.yml"
D="$C -p thoth-dev -f compose/docker-compose.dev.yml"
expect letta-start "$L up -d"
expect letta-stop "$L stop"
expect letta-status "$L ps" "$L exec -T letta-gate lettagate check"
expect letta-logs "$L logs"
expect letta-restart "$L restart"
expect wait "$D run --rm --no-deps lettagate wait --timeout 3m"
expect preflight "scripts/letta-preflight"
expect dev "scripts/letta-preflight" "lettagate wait" "$D up -d"
expect microservices "scripts/letta-preflight" "lettagate wait" "$D --profile microservices up -d"
expect letta-migrate "scripts/letta-migrate"
expect dev-stop "$D stop"
expect build "lg_build build"
expect test "scripts/test"
expect demo "scripts/demo"
expect image "docker build -f docker/Dockerfile -t lettagate:local"
expect containers-test "tests/scripts/containers.sh"
expect image-test "LG_CONTAINERS_FROM_SOURCE=1 tests/scripts/containers.sh"
expect docs "scripts/gen-config-doc"
# `dev` must wait before it starts anything.
make -n --no-print-directory dev LETTAGATE=/nonexistent >"$TMP/dev.out" 2>&1 || true
w="$(grep -n 'lettagate wait' "$TMP/dev.out" | head -n1 | cut -d: -f1)"
u="$(grep -n 'up -d' "$TMP/dev.out" | head -n1 | cut -d: -f1)"
p="$(grep -n 'scripts/letta-preflight' "$TMP/dev.out" | head -n1 | cut -d: -f1 || true)"
if [ -n "$w" ] && [ -n "$u" ] && [ "$w" -lt "$u" ]; then ok "dev: wait comes before up -d"; else fail "dev: lettagate wait must run before up -d"; fi
if [ -n "$p" ] && [ -n "$w" ] && [ "$p" -lt "$w" ]; then ok "dev: the pre-flight comes before the wait"; else fail "dev: scripts/letta-preflight must run before lettagate wait"; fi
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
# `docker ps -a --format ...` as scripts/letta-preflight asks it: the lines of FAKE_PS (name,
# image, state, compose project, service, status, ports, volumes; tab-separated).
cat >"$TMP/fake-docker" <<'SH'
#!/bin/sh
[ "$1" = ps ] && cat "$FAKE_PS"
SH
chmod +x "$TMP/fake-docker"
export FAKE_PS="$TMP/ps"
shared_stack() {  # shared_stack STATE: the five containers of project letta, in STATE
  local s
  for s in letta-postgres letta-redis letta-server letta-nginx letta-gate; do
    printf '%s\timage\t%s\tletta\t%s\tUp 1 hour\t127.0.0.1:8283->8283/tcp\tletta-postgres\n' "$s" "$1" "$s"
  done
}
shared_stack running >"$FAKE_PS"
args=(--no-print-directory COMPOSE="$FAKE" DOCKER="$TMP/fake-docker" LETTAGATE="$LG" LETTA_PORT="$LG_LETTA_PORT" LETTA_NGINX_PORT="$LG_NGINX_PORT"
  LETTA_PG_PORT="$LG_PG_PORT" LETTA_REDIS_PORT="$LG_REDIS_PORT" LETTA_PG_PASSWORD="$LG_PG_PASSWORD")
: >"$FAKE_LOG"
if timeout 60 make dev "${args[@]}" WAIT_TIMEOUT=20s LETTAGATE_MIN_AGENTS="$LG_PG_AGENTS" >"$TMP/dev1.out" 2>&1; then
  ok "make dev: ready with $LG_PG_AGENTS agents"
else
  fail "make dev against the ready test stack failed: $(tail -n 5 "$TMP/dev1.out")"
fi
if [ "$(cat "$FAKE_LOG")" = "-p thoth-dev -f compose/docker-compose.dev.yml up -d" ]; then ok "the app stack was started, and nothing else (the shared stack runs)"; else fail "make dev did not start the app stack alone: $(cat "$FAKE_LOG")"; fi
: >"$FAKE_LOG"
need=$((LG_PG_AGENTS + 1))
rc=0
timeout 60 make dev "${args[@]}" WAIT_TIMEOUT=2s LETTAGATE_MIN_AGENTS="$need" >"$TMP/dev2.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then ok "make dev fails when the database holds fewer than $need agents"; else fail "make dev succeeded with LETTAGATE_MIN_AGENTS=$need"; fi
if [ ! -s "$FAKE_LOG" ]; then ok "nothing was started"; else fail "make dev started something although the gate said no: $(cat "$FAKE_LOG")"; fi
if grep -q "expected at least $need" "$TMP/dev2.out"; then ok "the reason names the agent count"; else fail "make dev's output does not say why: $(tail -n 5 "$TMP/dev2.out")"; fi

STEP="make dev (pre-flight)"
shared_stack running | sed 's/^letta-server\timage\trunning/letta-server\timage\texited/' >"$FAKE_PS"
: >"$FAKE_LOG"
if timeout 60 make dev "${args[@]}" WAIT_TIMEOUT=20s LETTAGATE_MIN_AGENTS="$LG_PG_AGENTS" >"$TMP/dev3.out" 2>&1 &&
  [ "$(head -n 1 "$FAKE_LOG")" = "-p letta -f compose/docker-compose.letta.yml up -d --no-recreate" ] &&
  [ "$(sed -n 2p "$FAKE_LOG")" = "-p thoth-dev -f compose/docker-compose.dev.yml up -d" ]; then
  ok "letta-server stopped: the shared stack is started (up -d --no-recreate), then the app stack"
else
  fail "letta-server stopped: $(tail -n 3 "$TMP/dev3.out" | tr '\n' ' '); compose ran: $(tr '\n' ';' <"$FAKE_LOG")"
fi
{ shared_stack running
  printf 'thoth-dev-letta\tletta/letta:0.16.7\trunning\tthoth\tletta\tUp 2 days\t\t\n'
  printf 'thoth-dev_lettagate_1\tlettagate:local\trunning\tthoth-dev\tlettagate\tUp 1 hour\t0.0.0.0:8283->8283/tcp\t\n'
  printf 'other-db\tpostgres:16\trunning\t\t\tUp 1 hour\t0.0.0.0:5432->5432/tcp\tother-data\n'; } >"$FAKE_PS"
: >"$FAKE_LOG"
rc=0
timeout 60 make dev "${args[@]}" WAIT_TIMEOUT=20s LETTAGATE_MIN_AGENTS="$LG_PG_AGENTS" >"$TMP/dev4.out" 2>&1 || rc=$?
check "a duplicate: make dev fails (exit $rc)" test "$rc" -ne 0
check "...and names thoth-dev-letta and other-db, not the gate or the shared stack" \
  test "$(grep -cE '^  (thoth-dev-letta +runs letta/letta:0.16.7; named like Letta|other-db +publishes 0.0.0.0:5432->5432/tcp)$' "$TMP/dev4.out")" = 2 \
  -a -z "$(grep -E '^  (letta-|thoth-dev_lettagate)' "$TMP/dev4.out")"
check "...and starts nothing, not even the wait" test ! -s "$FAKE_LOG" -a -z "$(grep 'lettagate wait' "$TMP/dev4.out")"
: >"$FAKE_LOG"
if timeout 60 make dev "${args[@]}" LETTA_ALLOW_DUPLICATE=1 WAIT_TIMEOUT=20s LETTAGATE_MIN_AGENTS="$LG_PG_AGENTS" >"$TMP/dev5.out" 2>&1 &&
  grep -q 'going on' "$TMP/dev5.out" && [ -s "$FAKE_LOG" ]; then
  ok "LETTA_ALLOW_DUPLICATE=1: warned, and the app stack was started"
else
  fail "LETTA_ALLOW_DUPLICATE=1: $(tail -n 3 "$TMP/dev5.out" | tr '\n' ' ')"
fi

finish validate_makefile
