# shellcheck shell=bash
# The compose stacks as the scenarios see them (sourced by tests/scripts/containers.sh): compose
# and make as an operator runs them, container health and creation times from `docker inspect`,
# the engine's event stream (recorded for the whole run), the app's own requests, bounded waits,
# and the timeline of a scenario. Needs SRC, WORK, DOCKER and lib/report.sh.
#
# A scenario is a function: ct_scenario_begin "title"; actions with ct_mark; checks with
# ct_ok/ct_fail; ct_scenario_end prints the timeline of everything since the begin.

TIMELINE="$SRC/tests/containers/lib/timeline.py"
EVENTS_PID=""
CT_SC_T0=0

# Compose as the Makefile picks it: `docker compose` where the v2 plugin exists, else 1.29.
if "$DOCKER" compose version >/dev/null 2>&1; then COMPOSE="$DOCKER compose"; else COMPOSE=docker-compose; fi
# ct_compose [-t SECONDS] [-f FILE]... letta|dev ARGS...: compose on that stack's file under its
# project name, as the Makefile runs it (plus the -f FILEs after the timing override), cut after
# SECONDS (default 120).
ct_compose() {
  local t=120 p f o extra=()
  while [ "$1" = -t ] || [ "$1" = -f ]; do
    if [ "$1" = -t ]; then t="$2"; else extra+=(-f "$2"); fi
    shift 2
  done
  local files=()
  case "$1" in
    letta) p=letta f=compose/docker-compose.letta.yml o="$CT_LETTA_OVERRIDES" ;;
    dev) p=thoth-dev f=compose/docker-compose.dev.yml o="$CT_DEV_OVERRIDES" ;;
  esac
  [ -z "$o" ] || files=(-f "$o")
  files+=("${extra[@]}")
  shift
  # shellcheck disable=SC2086  # COMPOSE is one or two words
  (cd "$SRC" && timeout -k 10 "$t" $COMPOSE -p "$p" -f "$f" "${files[@]}" "$@")
}
ct_compose_quiet() { ct_compose "$@" >>"$WORK/compose.log" 2>&1 || true; }
# ct_make [-t SECONDS] TARGET [VAR=VALUE...]: make in the repository, as an operator types it.
ct_make() {
  local t=120
  if [ "$1" = -t ]; then t="$2"; shift 2; fi
  timeout -k 10 "$t" make -C "$SRC" --no-print-directory "$@" \
    LETTA_COMPOSE_OVERRIDES="$CT_LETTA_OVERRIDES" DEV_COMPOSE_OVERRIDES="$CT_DEV_OVERRIDES"
}

# ---- the engine's events, recorded from the start ------------------------------------------
ct_events_start() {
  "$DOCKER" events --filter type=container --format '{{json .}}' >"$WORK/events.jsonl" 2>"$WORK/events.err" &
  EVENTS_PID=$!
}
ct_events_stop() {
  [ -n "$EVENTS_PID" ] || return 0
  kill "$EVENTS_PID" 2>/dev/null || true
  wait "$EVENTS_PID" 2>/dev/null || true
  EVENTS_PID=""
}
# ct_event_time NAME ACTION [SINCE]: epoch of the first such event of container NAME since SINCE
# (default: the scenario's begin); empty if none yet. ACTION: create, start, die,
# "health_status: healthy", ...
ct_event_time() {  # (awk, not timeline.py: called often, and cheap)
  awk -v n="\"name\":\"$1\"" -v a="\"Action\":\"$2" -v s="${3:-$CT_SC_T0}" '
    index($0, n) && index($0, a) && match($0, /"timeNano":[0-9]+/) {
      t = substr($0, RSTART + 11, RLENGTH - 11) / 1e9
      if (t >= s) { printf "%.3f\n", t; exit }
    }' "$WORK/events.jsonl"
}

# ---- containers ----------------------------------------------------------------------------
# ct_cid PROJECT SERVICE: the id of the service's container (compose v1 and v2 name them
# differently; the labels are the same).
ct_cid() {
  "$DOCKER" ps -aq --filter "label=com.docker.compose.project=$1" --filter "label=com.docker.compose.service=$2" | head -n1
}
ct_name() { "$DOCKER" inspect -f '{{.Name}}' "$1" 2>/dev/null | sed 's|^/||'; }
ct_health() {  # healthy, unhealthy, starting, none, or missing
  "$DOCKER" inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$1" 2>/dev/null || echo missing
}
ct_health_output() {  # the last healthcheck's output, on one line
  "$DOCKER" inspect -f '{{json .State.Health}}' "$1" 2>/dev/null |
    python3 -c 'import json, sys
h = json.load(sys.stdin) or {}
print(" ".join(((h.get("Log") or [{}])[-1].get("Output") or "").split()))' 2>/dev/null || true
}
ct_created() {  # epoch seconds of the container's creation, from docker inspect
  local c
  c="$("$DOCKER" inspect -f '{{.Created}}' "$1" 2>/dev/null)" || return 0
  date -d "$c" +%s.%N
}
ct_ip() { "$DOCKER" inspect -f '{{with index .NetworkSettings.Networks "letta-network"}}{{.IPAddress}}{{end}}' "$1"; }

# ct_poll SECONDS CMD...: runs CMD every 0.2 s until it succeeds (0) or SECONDS pass (1).
ct_poll() {
  local limit="$1" t0=$EPOCHREALTIME
  shift
  until "$@" >/dev/null 2>&1; do
    awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$limit" 'BEGIN { exit !(b - a > l) }' && return 1
    sleep 0.2
  done
}
# ct_wait DESCRIPTION SECONDS CMD...: ct_poll, and says how long it took. After SECONDS the
# scenario cannot go on: fail, print its timeline and end the run.
ct_wait() {
  local d="$1" limit="$2" t0=$EPOCHREALTIME
  shift 2
  if ct_poll "$limit" "$@"; then
    ct_ok "$d (after $(ct_secs "$t0")s)"
    return 0
  fi
  ct_fail "$d: not within ${limit}s"
  ct_scenario_end
  exit 1
}
ct_is_healthy() { [ "$(ct_health "$1")" = healthy ]; }
ct_all_healthy() { local c; for c in "$@"; do ct_is_healthy "$c" || return 1; done; }
ct_exists() { [ -n "$1" ] && "$DOCKER" inspect "$1" >/dev/null 2>&1; }

# ct_json FIELD.PATH < JSON: one field ("" if absent).
ct_json() {
  python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k, {}) if isinstance(v, dict) else {}
print(v if v != {} else "")' "$1" 2>/dev/null || true
}
# ct_http URL: "CODE BODY" of one GET (CODE 000 when nothing answered).
ct_http() { curl -s -m 5 -w ' %{http_code}' "$1" 2>/dev/null | awk '{ code = $NF; $NF = ""; print code, $0 }'; }

# ---- the app's own requests ----------------------------------------------------------------
# ct_app_log: the app containers' request lines (every container the app had: call it before
# a `down`) into WORK/app.jsonl.
ct_app_log() {
  local id
  id="$(ct_cid thoth-dev thoth-all-in-one)"
  if [ -n "$id" ]; then "$DOCKER" logs "$id" >"$WORK/app-$id.jsonl" 2>/dev/null || true; fi
  cat "$WORK"/app-*.jsonl >"$WORK/app.jsonl" 2>/dev/null || : >"$WORK/app.jsonl"
}
# ct_app_stats [SINCE] [UNTIL]: sets app_total app_ok app_held app_failed app_first_t
# app_first_status app_first_error app_last_status app_max_ms app_fails (START:MS each).
ct_app_stats() {
  ct_app_log
  local line
  while IFS= read -r line; do
    eval "app_$line"
  done < <(python3 "$TIMELINE" --app "$WORK/app.jsonl" --since "${1:-$CT_SC_T0}" --until "${2:-inf}" app)
}

# ---- scenarios -----------------------------------------------------------------------------
ct_scenario_begin() {
  ct_phase "$1"
  CT_SC_T0=$EPOCHREALTIME
  ct_mark "begin: $1"
}
ct_scenario_end() {
  ct_app_log
  echo "  timeline ($CT_PHASE):"
  python3 "$TIMELINE" --events "$WORK/events.jsonl" --marks "$WORK/marks" --app "$WORK/app.jsonl" \
    --since "$CT_SC_T0" --until "$EPOCHREALTIME" print
}
