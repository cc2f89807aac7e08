# shellcheck shell=bash
# shellcheck disable=SC2154  # app_* come from ct_app_stats, CT_*/LETTA*_PORT from tests/scripts/containers.sh
# Scenarios of how the two stacks start (sourced by tests/scripts/containers.sh, which runs all
# scenarios in the order of its CT_SCENARIOS on one shared stack). Each is a function built from
# lib/stack.sh: act (marked on the timeline), wait with a bound, check, print the timeline.
# To add one: write sc_NAME in the file of its concept and put it into CT_SCENARIOS where the
# stack is as it needs it.

GATE_URL() { echo "http://127.0.0.1:$LETTAGATE_PORT"; }          # letta-gate (shared stack)
DEV_GATE_URL() { echo "http://127.0.0.1:$THOTH_LETTAGATE_PORT"; }  # the app stack's lettagate

# 1. `make letta-start` from nothing: every service healthy, in depends_on order, and the gate
#    ready with the database's agents.
sc_shared_stack() {
  ct_scenario_begin "1. the shared stack from nothing (make letta-start)"
  ct_mark "make letta-start"
  if ct_make -t 240 letta-start >"$WORK/letta-start.log" 2>&1; then ct_ok "make letta-start"; else
    ct_fail "make letta-start: $(tail -n 5 "$WORK/letta-start.log" | tr '\n' ' ')"; fi
  grep -q "^$COMPOSE -p letta -f compose/docker-compose.letta.yml.* up -d" "$WORK/letta-start.log" &&
    ct_ok "make ran '$COMPOSE -p letta ... up -d' (the compose this machine has)" ||
    ct_fail "make letta-start did not run $COMPOSE: $(head -n 1 "$WORK/letta-start.log")"
  local s=(letta-postgres letta-redis letta-server letta-nginx letta-gate) c
  ct_wait "all of ${s[*]} healthy" 180 ct_all_healthy "${s[@]}"
  for c in "${s[@]}"; do
    [ "$(ct_health "$c")" = healthy ] || ct_fail "$c: $(ct_health "$c"): $(ct_health_output "$c")"
  done
  # depends_on with condition service_healthy, seen from the creation times
  local pg rd ls
  pg="$(ct_event_time letta-postgres 'health_status: healthy')"
  rd="$(ct_event_time letta-redis 'health_status: healthy')"
  ls="$(ct_event_time letta-server 'health_status: healthy')"
  ct_check "letta-server created after letta-postgres and letta-redis were healthy" \
    ct_before "$pg" "$(ct_created letta-server)" ct_before "$rd" "$(ct_created letta-server)"
  ct_check "letta-nginx created after letta-server was healthy" ct_before "$ls" "$(ct_created letta-nginx)"
  local r
  r="$(ct_http "$(GATE_URL)/readyz")"
  [ "${r%% *}" = 200 ] && ct_ok "letta-gate /readyz 200" || ct_fail "letta-gate /readyz: $r"
  r="$(curl -s -m 5 "$(GATE_URL)/status")"
  [ "$(ct_json components.postgres.info.agents <<<"$r")" = "$CT_AGENTS" ] &&
    ct_ok "letta-gate sees $CT_AGENTS agents in letta-postgres (pgvector $(ct_json components.postgres.info.pgvector <<<"$r"))" ||
    ct_fail "letta-gate /status postgres: $(ct_json components.postgres <<<"$r")"
  r="$(curl -s -m 5 "$(GATE_URL)/metrics")"
  grep -qx 'lettagate_ready 1' <<<"$r" && grep -q '^lettagate_build_info{' <<<"$r" &&
    ct_ok "/metrics: lettagate_ready 1, lettagate_build_info" || ct_fail "/metrics lacks lettagate_ready 1 or lettagate_build_info"
  ct_scenario_end
}

# ct_before A B [ct_before C D ...]: A < B (epoch seconds), both known.
ct_before() {
  [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }' || return 1
  shift 2
  [ $# -eq 0 ] || "$@"
}

# 2. The app stack comes up while letta-server is stopped: compose holds the app back until the
#    gate is healthy, which it is only once Letta is back; the app's first request succeeds.
sc_app_waits_for_letta() {
  ct_scenario_begin "2. the app stack started while letta-server is stopped"
  ct_mark "docker stop letta-server"
  "$DOCKER" stop letta-server >/dev/null
  ct_mark "compose up -d (the app stack, LETTAGATE_MIN_AGENTS=$CT_AGENTS), in the background"
  # A start period longer than this scenario's own docker commands take on a busy machine
  # (dev.timing.yml): the gate must not turn unhealthy before letta-server is started.
  (LETTAGATE_MIN_AGENTS=$CT_AGENTS CT_DEV_START_PERIOD=90s ct_compose -t 150 dev up -d >"$WORK/dev-up.log" 2>&1
    echo $? >"$WORK/dev-up.rc") &
  local up_pid=$! gate=""
  dev_gate_checked() { gate="$(ct_cid thoth-dev lettagate)"; [ -n "$gate" ] &&
    [ -n "$("$DOCKER" inspect -f '{{with .State.Health}}{{range .Log}}x{{end}}{{end}}' "$gate")" ]; }
  ct_wait "the app stack's lettagate runs and has been health-checked" 60 dev_gate_checked
  ct_check "the gate is not healthy while Letta is down ($(ct_health "$gate"): $(ct_health_output "$gate" | cut -c1-140))" \
    test "$(ct_health "$gate")" != healthy
  ct_check "the app container does not exist yet" test -z "$(ct_cid thoth-dev thoth-all-in-one)"
  ct_mark "docker start letta-server"
  "$DOCKER" start letta-server >/dev/null
  local t_start
  t_start="$(ct_event_time letta-server start)"
  wait "$up_pid" || true
  [ "$(cat "$WORK/dev-up.rc")" = 0 ] && ct_ok "compose up -d succeeded" ||
    ct_fail "compose up -d: exit $(cat "$WORK/dev-up.rc"): $(tail -n 5 "$WORK/dev-up.log" | tr '\n' ' ')"
  local app t_healthy t_created
  app="$(ct_cid thoth-dev thoth-all-in-one)"
  t_healthy="$(ct_event_time "$(ct_name "$gate")" 'health_status: healthy')"
  t_created="$(ct_created "$app")"
  ct_check "gate healthy after letta-server started ($(ct_rel "$t_healthy") > $(ct_rel "$t_start"))" ct_before "$t_start" "$t_healthy"
  ct_check "app created after the gate was healthy ($(ct_rel "$t_created") > $(ct_rel "$t_healthy"))" ct_before "$t_healthy" "$t_created"
  app_has_requests() { ct_app_stats; [ "$app_total" -ge 1 ]; }
  ct_wait "the app made its first request" 20 app_has_requests
  ct_check "the app's first request through letta:8283 succeeded (HTTP $app_first_status $app_first_error)" \
    test "$app_first_status" = 200
  ct_scenario_end
}
ct_rel() { [ -n "$1" ] && awk -v a="$CT_SC_T0" -v b="$1" 'BEGIN { printf "%+.2fs", b - a }' || echo "never"; }

# 3. The data guard: more agents required than the database holds. Compose itself fails, the
#    app is never created, and the gate's healthcheck says why (compose prints only "is
#    unhealthy"); `make dev` stops at its `lettagate wait`, which prints the reason.
sc_data_guard() {
  local need=$((CT_AGENTS + 1))
  ct_scenario_begin "3. the data guard: LETTAGATE_MIN_AGENTS=$need, the database holds $CT_AGENTS"
  ct_app_log
  ct_mark "compose down (the app stack)"
  ct_compose -t 60 dev down --timeout 5 >>"$WORK/compose.log" 2>&1 || ct_fail "compose down of the app stack"
  ct_mark "compose up -d with LETTAGATE_MIN_AGENTS=$need"
  local rc=0
  LETTAGATE_MIN_AGENTS=$need ct_compose -t 150 dev up -d >"$WORK/guard-up.log" 2>&1 || rc=$?
  ct_mark "compose exited $rc"
  ct_check "compose up -d failed (exit $rc: $(grep -m1 -i unhealthy "$WORK/guard-up.log" | tr -s ' '))" test "$rc" -ne 0 -a "$rc" -ne 124
  ct_check "the app container was never created" test -z "$(ct_cid thoth-dev thoth-all-in-one)"
  local reason
  reason="$(ct_health_output "$(ct_cid thoth-dev lettagate)")"
  ct_check "the gate's healthcheck says why: $(grep -o '"postgres":{"reason":"[^"]*"' <<<"$reason")" \
    grep -q "expected at least $need" <<<"$reason"
  ct_compose -t 60 dev down --timeout 5 >>"$WORK/compose.log" 2>&1 || ct_fail "compose down of the app stack"
  ct_mark "make dev LETTAGATE_MIN_AGENTS=$need"
  local out
  rc=0
  out="$(ct_make -t 60 dev LETTAGATE="$LG" WAIT_TIMEOUT=5s LETTAGATE_MIN_AGENTS="$need" 2>&1)" || rc=$?
  echo "$out" >"$WORK/make-dev-guard.log"
  ct_check "make dev fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
  ct_check "...with the reason: $(grep -m1 -o "has $CT_AGENTS live agents, expected at least ${need}[^)]*" <<<"$out")" \
    grep -q "expected at least $need" <<<"$out"
  ct_check "...and starts nothing" test -z "$("$DOCKER" ps -aq --filter label=com.docker.compose.project=thoth-dev)"
  ct_scenario_end
}
