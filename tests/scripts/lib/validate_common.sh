# shellcheck shell=bash
# Shared by tests/scripts/validate_*.sh (sourced; not a test itself: ctest globs only
# tests/scripts/*.sh). Gives SRC, LG (the lettagate binary), BUILD, a temp dir TMP removed on
# exit, check helpers that count failures, and lg_live_serve: a real `lettagate serve` against
# the test stack of scripts/services (the LG_* environment scripts/test exports).

SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
BUILD="${LG_BUILD_DIR:-$SRC/build}"
LG="${LG_BINARY:-$BUILD/lettagate}"
FAILS=0
STEP="setup"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/lg-validate.XXXXXX")"
LIVE_PID=""
LIVE_LOG=""

fail() { echo "FAIL [$STEP]: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok   [$STEP]: $*"; }
check() {  # check DESCRIPTION CMD...
  local d="$1"; shift
  if "$@"; then ok "$d"; else fail "$d"; fi
}
die() { echo "FAIL [$STEP]: $*" >&2; exit 1; }

# finish NAME: the last line of every validator; exit status from the failure count.
finish() {
  if [ "$FAILS" -ne 0 ]; then
    echo "$1: $FAILS check(s) FAILED" >&2
    exit 1
  fi
  echo "$1: all checks passed"
}

CLEANUP_HOOKS=()  # commands a validator adds (stop what it started); run on exit, before TMP goes
lg_validate_cleanup() {
  local rc=$? h
  trap - EXIT
  for h in "${CLEANUP_HOOKS[@]}"; do $h || true; done
  lg_live_stop
  rm -rf "$TMP"
  exit "$rc"
}
trap lg_validate_cleanup EXIT

require_binary() {
  [ -x "$LG" ] || die "no lettagate binary at $LG (LG_BINARY; build first)"
}

require_stack_env() {
  local v
  for v in LG_LETTA_URL LG_LETTA_PORT LG_PG_DSN LG_REDIS_PORT LG_NGINX_URL; do
    [ -n "${!v:-}" ] || die "$v is not set: run this through scripts/test (it sources \$LG_SERVICES_DIR/env)"
  done
}

free_ports() { python3 "$SRC/scripts/lib/free_ports.py" "$1"; }

# lg_live_serve: starts `lettagate serve` with every component pointed at the test stack and one
# forward route to the stand-in Letta, waits until /readyz is 200 (all components probed and up),
# and makes one request through the forward route. Sets LIVE_URL (http://127.0.0.1:PORT) and
# LIVE_FWD (forward port). Stops in lg_live_stop (also on exit).
lg_live_serve() {
  require_binary
  require_stack_env
  local hp fp i code
  read -r hp fp <<<"$(free_ports 2)"
  LIVE_URL="http://127.0.0.1:$hp"
  LIVE_FWD="$fp"  # for validators that forward through it
  export LIVE_FWD
  LIVE_LOG="$TMP/live-serve.log"
  "$LG" serve --listen "127.0.0.1:$hp" \
    --letta-url "$LG_LETTA_URL" --postgres-dsn "$LG_PG_DSN" \
    --redis-url "redis://127.0.0.1:$LG_REDIS_PORT" --nginx-url "$LG_NGINX_URL" \
    --forward "127.0.0.1:$fp=127.0.0.1:$LG_LETTA_PORT" \
    --probe-interval 300ms --probe-timeout 250ms --probe-rise 1 --probe-fall 2 \
    --drain-timeout 2s </dev/null >"$LIVE_LOG" 2>&1 &
  LIVE_PID=$!
  code=""
  for ((i = 0; i < 200; i++)); do  # 20 s
    code="$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$LIVE_URL/readyz" || true)"
    [ "$code" = 200 ] && break
    kill -0 "$LIVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$code" != 200 ]; then
    echo "--- lettagate serve log ---" >&2
    tail -n 30 "$LIVE_LOG" >&2 || true
    curl -s -m 2 "$LIVE_URL/readyz" >&2 || true
    die "lettagate serve against the test stack did not become ready within 20 s (/readyz $code)"
  fi
  # one forwarded request, so that the per-route proxy series exist
  curl -s -m 5 -o /dev/null "http://127.0.0.1:$fp/v1/health/" || true
}

lg_live_stop() {
  if [ -n "$LIVE_PID" ] && kill -0 "$LIVE_PID" 2>/dev/null; then
    kill -TERM "$LIVE_PID" 2>/dev/null || true
    local i st
    for ((i = 0; i < 50; i++)); do
      st="$(ps -o stat= -p "$LIVE_PID" 2>/dev/null || true)"
      { [ -z "$st" ] || [[ "$st" == Z* ]]; } && break
      sleep 0.1
    done
    kill -9 "$LIVE_PID" 2>/dev/null || true
  fi
  LIVE_PID=""
}

# metric_families FILE: the family names of a Prometheus text exposition (# TYPE lines).
metric_families() { awk '$1 == "#" && $2 == "TYPE" { print $3 }' "$1" | sort -u; }

# check_metric_names WHAT EXPOSITION_FILE: reads PromQL expressions (one a line) on stdin and
# checks that every metric name they use is a family of the exposition (histogram series names
# _bucket/_sum/_count map to their family); one fail per unknown name.
check_metric_names() {
  local what="$1" file="$2" out
  out="$(python3 "$SRC/tests/scripts/lib/promql_names.py" check "$file")" || {
    fail "$what: could not check the metric names"; return; }
  local n=0 line
  while IFS= read -r line; do
    case "$line" in
      missing\ *) fail "$what uses ${line#missing } which lettagate does not export"; n=$((n + 1)) ;;
      found\ *) ;;
    esac
  done <<<"$out"
  local found
  found="$(grep -c '^found ' <<<"$out" || true)"
  if [ "$n" -eq 0 ]; then ok "$what: all $found metric names are exported by lettagate"; fi
  [ "$found" -gt 0 ] || fail "$what: no metric names found at all (parser broken?)"
}
