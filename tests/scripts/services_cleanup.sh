#!/usr/bin/env bash
# tier: stack
# Harness test: scripts/services brings up a separate stack (its own LG_SERVICES_DIR), every
# service answers as the tests expect, a postgres stop/start comes back on the same port, and
# `down` leaves no process and no open port behind (and is idempotent).
set -euo pipefail

SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BUILD="${LG_BUILD_DIR:-$SRC/build}"
SERVICES="$SRC/scripts/services"
mkdir -p "$BUILD"
SD="$(mktemp -d "$BUILD/services-cleanup.XXXXXX")"
export LG_SERVICES_DIR="$SD"
FAILS=0
STEP="setup"

fail() { echo "FAIL [$STEP]: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok   [$STEP]: $*"; }
check() {  # check DESCRIPTION CMD...
  local d="$1"; shift
  if "$@"; then ok "$d"; else fail "$d"; fi
}
check_eq() {  # check_eq DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

cleanup() {
  local rc=$?
  trap - EXIT
  "$SERVICES" down >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ] || [ "$FAILS" -ne 0 ]; then
    echo "--- logs of the stack under test ($SD/logs) ---" >&2
    for f in "$SD"/logs/*; do
      [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
  fi
  # PostgreSQL's files may live outside $SD (see pg_make_root in scripts/services)
  local pgroot
  pgroot="$(readlink -f "$SD/pg" 2>/dev/null || true)"
  case "$pgroot" in /tmp/lettagate-pg-*) rm -rf "$pgroot" ;; esac
  rm -rf "$SD"
  exit "$rc"
}
trap cleanup EXIT

alive() { local st; st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1; [ -n "$st" ] && [[ "$st" != Z* ]]; }
descendants() { local c; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$c"; descendants "$c"; done; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

STEP="up"
t0=$(date +%s%N)
"$SERVICES" up || { echo "FAIL [up]: scripts/services up failed" >&2; exit 1; }
echo "up took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
# shellcheck disable=SC1091
source "$SD/env"

STEP="env"
for v in LG_SERVICES_DIR LG_REPO LG_PG_PORT LG_PG_HOST LG_PG_PASSWORD LG_PG_DSN LG_PG_DB_FRESH \
  LG_PG_DB_UNMIGRATED LG_PG_DB_NOVECTOR LG_PG_AGENTS LG_PG_BIN LG_PG_SOCKDIR LG_REDIS_PORT \
  LG_REDIS_AUTH_PORT LG_REDIS_PASSWORD LG_LETTA_PORT LG_LETTA_URL LG_NGINX_PORT \
  LG_NGINX_BUFFERED_PORT LG_NGINX_URL; do
  [ -n "${!v:-}" ] || fail "env file lacks $v"
done
check_eq "LG_SERVICES_DIR is the separate dir" "$SD" "$LG_SERVICES_DIR"
check_eq "LG_PG_HOST" 127.0.0.1 "$LG_PG_HOST"
check_eq "LG_PG_DSN" "postgresql://letta:${LG_PG_PASSWORD}@127.0.0.1:${LG_PG_PORT}/letta" "$LG_PG_DSN"
check_eq "LG_LETTA_URL" "http://127.0.0.1:${LG_LETTA_PORT}" "$LG_LETTA_URL"
check_eq "LG_NGINX_URL" "http://127.0.0.1:${LG_NGINX_PORT}" "$LG_NGINX_URL"
PORTS=("$LG_PG_PORT" "$LG_REDIS_PORT" "$LG_REDIS_AUTH_PORT" "$LG_LETTA_PORT" "$LG_NGINX_PORT" "$LG_NGINX_BUFFERED_PORT")
check_eq "six distinct ports" 6 "$(printf '%s\n' "${PORTS[@]}" | sort -u | wc -l)"

STEP="pids"
PIDS=()
for n in postgres redis redis-auth letta nginx; do
  f="$SD/run/$n.pid"
  if [ ! -f "$f" ]; then fail "no PID file for $n"; continue; fi
  p="$(cat "$f")"
  if alive "$p"; then ok "$n runs as pid $p"; else fail "$n pid $p not running"; fi
  # shellcheck disable=SC2207
  PIDS+=("$p" $(descendants "$p"))
done
echo "recorded ${#PIDS[@]} processes: ${PIDS[*]}"

STEP="postgres"
pg() {  # pg DB SQL: as role letta over TCP with the password
  PGPASSWORD="$LG_PG_PASSWORD" PGCONNECT_TIMEOUT=5 "$LG_PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$LG_PG_PORT" -U letta -d "$1" -c "$2" 2>&1
}
check_eq "letta: live agents" 3 "$(pg letta 'SELECT count(*) FROM agents WHERE NOT is_deleted')"
check_eq "letta: all agents (1 deleted)" 4 "$(pg letta 'SELECT count(*) FROM agents')"
check_eq "letta: agent ids" 4 "$(pg letta "SELECT count(*) FROM agents WHERE id ~ '^agent-[0-9a-f-]{36}\$'")"
check_eq "letta: search_path" letta "$(pg letta 'SHOW search_path')"
check_eq "letta: no public schema" 0 "$(pg letta "SELECT count(*) FROM pg_namespace WHERE nspname = 'public'")"
check_eq "letta: alembic_version row" 1 "$(pg letta 'SELECT count(*) FROM alembic_version')"
check_eq "letta: organizations row" 1 "$(pg letta 'SELECT count(*) FROM organizations')"
check_eq "letta: vector extension" "vector 0.8.0" "$(pg letta "SELECT extname || ' ' || extversion FROM pg_extension WHERE extname = 'vector'")"
check "letta: pg_control_system() as role letta" \
  bash -c "[[ \"\$1\" =~ ^[0-9]+\$ ]]" _ "$(pg letta 'SELECT system_identifier FROM pg_control_system()')"
check_eq "letta_fresh: agents" 0 "$(pg "$LG_PG_DB_FRESH" 'SELECT count(*) FROM agents WHERE NOT is_deleted')"
check_eq "letta_fresh: vector" 1 "$(pg "$LG_PG_DB_FRESH" "SELECT count(*) FROM pg_extension WHERE extname = 'vector'")"
check_eq "letta_unmigrated: no tables" 0 "$(pg "$LG_PG_DB_UNMIGRATED" "SELECT count(*) FROM pg_tables WHERE schemaname = 'letta'")"
check_eq "letta_unmigrated: search_path" letta "$(pg "$LG_PG_DB_UNMIGRATED" 'SHOW search_path')"
check_eq "letta_unmigrated: vector" 1 "$(pg "$LG_PG_DB_UNMIGRATED" "SELECT count(*) FROM pg_extension WHERE extname = 'vector'")"
check_eq "letta_novector: live agents" 3 "$(pg "$LG_PG_DB_NOVECTOR" 'SELECT count(*) FROM agents WHERE NOT is_deleted')"
check_eq "letta_novector: no vector" 0 "$(pg "$LG_PG_DB_NOVECTOR" "SELECT count(*) FROM pg_extension WHERE extname = 'vector'")"
out="$(PGPASSWORD=wrong-password PGCONNECT_TIMEOUT=5 "$LG_PG_BIN/psql" -X -At -h 127.0.0.1 -p "$LG_PG_PORT" -U letta -d letta -c 'SELECT 1' 2>&1 || true)"
check "wrong password is refused" grep -q 'password authentication failed' <<<"$out"
check "postgres listens on 127.0.0.1 only" bash -c "! ss -Hltn 'sport = :$LG_PG_PORT' | grep -v '127.0.0.1:$LG_PG_PORT' | grep -q ."

STEP="redis"
check_eq "redis PING" PONG "$(redis-cli -h 127.0.0.1 -p "$LG_REDIS_PORT" ping 2>&1)"
check "redis-auth needs AUTH" bash -c "redis-cli -h 127.0.0.1 -p $LG_REDIS_AUTH_PORT ping 2>&1 | grep -q NOAUTH"
check_eq "redis-auth PING with password" PONG \
  "$(redis-cli -h 127.0.0.1 -p "$LG_REDIS_AUTH_PORT" -a "$LG_REDIS_PASSWORD" --no-auth-warning ping 2>&1)"
check "redis-auth refuses a wrong password" bash -c \
  "redis-cli -h 127.0.0.1 -p $LG_REDIS_AUTH_PORT -a nope --no-auth-warning ping 2>&1 | grep -q WRONGPASS"

STEP="letta"
check_eq "stand-in /v1/health/" '200 {"version":"0.16.7","status":"ok"}' \
  "$(curl -s -m 5 -w '%{http_code} ' -o /tmp/lg-sc-$$ "$LG_LETTA_URL/v1/health/"; cat /tmp/lg-sc-$$; rm -f /tmp/lg-sc-$$)"
check_eq "stand-in /v1/health redirects" "307 http://127.0.0.1:$LG_LETTA_PORT/v1/health/" \
  "$(curl -s -m 5 -o /dev/null -w '%{http_code} %{redirect_url}' "$LG_LETTA_URL/v1/health")"

STEP="nginx"
check_eq "nginx /nginx-health" "nginx-sse-proxy-healthy" "$(curl -s -m 5 "$LG_NGINX_URL/nginx-health")"
check_eq "buffered nginx /nginx-health" "nginx-sse-proxy-healthy" "$(curl -s -m 5 "http://127.0.0.1:$LG_NGINX_BUFFERED_PORT/nginx-health")"
check_eq "/v1/health/ through nginx" '{"version":"0.16.7","status":"ok"}' "$(curl -s -m 5 "$LG_NGINX_URL/v1/health/")"
check_eq "/v1/health/ through buffered nginx" '{"version":"0.16.7","status":"ok"}' \
  "$(curl -s -m 5 "http://127.0.0.1:$LG_NGINX_BUFFERED_PORT/v1/health/")"

STEP="restart"
"$SERVICES" stop postgres || fail "stop postgres failed"
check "postgres port closed after stop" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$LG_PG_PORT) 2>/dev/null"
"$SERVICES" start postgres || fail "start postgres failed"
# shellcheck disable=SC1091
source "$SD/env"
check_eq "same port after restart" "${PORTS[0]}" "$LG_PG_PORT"
check_eq "agents after restart" 3 "$(pg letta 'SELECT count(*) FROM agents WHERE NOT is_deleted')"
"$SERVICES" kill postgres || fail "kill postgres failed"
"$SERVICES" start postgres || fail "start postgres after kill -9 failed"
check_eq "agents after kill -9 and start" 3 "$(pg letta 'SELECT count(*) FROM agents WHERE NOT is_deleted')"
for n in redis letta nginx; do
  "$SERVICES" stop "$n" >/dev/null 2>&1 || fail "stop $n failed"
  "$SERVICES" start "$n" >/dev/null 2>&1 || fail "start $n failed"
done
check_eq "redis back on its port" PONG "$(redis-cli -h 127.0.0.1 -p "$LG_REDIS_PORT" ping 2>&1)"
check_eq "nginx back on its port" "nginx-sse-proxy-healthy" "$(curl -s -m 5 "$LG_NGINX_URL/nginx-health")"
check "status: all running" "$SERVICES" status
# The processes now running (restarted ones too) must all go away with down.
for n in postgres redis redis-auth letta nginx; do
  p="$(cat "$SD/run/$n.pid" 2>/dev/null || true)"
  # shellcheck disable=SC2207
  [ -n "$p" ] && PIDS+=("$p" $(descendants "$p"))
done

STEP="down"
"$SERVICES" down || fail "down failed"
left=()
for p in "${PIDS[@]}"; do
  if alive "$p"; then left+=("$p:$(ps -o comm= -p "$p")"); fi
done
if [ "${#left[@]}" -eq 0 ]; then ok "all ${#PIDS[@]} processes gone"; else fail "still running after down: ${left[*]}"; fi
for p in "${PORTS[@]}"; do
  if port_open "$p"; then fail "port $p still open after down"; fi
done
ok "ports ${PORTS[*]} closed"
check "down again is a no-op" "$SERVICES" down
check "status reports stopped" bash -c "! '$SERVICES' status >/dev/null"

if [ "$FAILS" -ne 0 ]; then
  echo "services_cleanup: $FAILS check(s) FAILED" >&2
  exit 1
fi
echo "services_cleanup: all checks passed"
