# shellcheck shell=bash
# shellcheck disable=SC2154  # app_* come from ct_app_stats, CT_*/LETTA*_PORT from tests/scripts/containers.sh
# The seed's day-to-day workflow through make (sourced by tests/scripts/containers.sh; see
# scenarios/startup.sh for how scenarios are built): `make dev` refuses a second Letta, starts
# the shared one when it is stopped or missing and waits for a starting one without recreating
# it; `make microservices` does the same with the app's profile. The old layout they run beside
# (an old Letta and its Postgres volume with agents) is made here; scenarios/migrate.sh moves its
# agents into the shared stack.

OLD_VOLUME=lgtest-thoth-dev-letta-postgres   # the old layout's Postgres volume (test-made, labelled)
OLD_AGENTS=5                                 # live agents in it: the stand-in's 3 and 2 more

# ct_actions [SINCE]: the container events since SINCE (default: the scenario's begin), one
# `NAME ACTION` a line.
ct_actions() {
  python3 "$TIMELINE" --events "$WORK/events.jsonl" --since "${1:-$CT_SC_T0}" --until "$EPOCHREALTIME" actions
}
# ct_started_since SINCE NAME...: every NAME has a start event since SINCE.
ct_started_since() {
  local since="$1" n
  shift
  for n in "$@"; do [ -n "$(ct_event_time "$n" start "$since")" ] || return 1; done
}
# ct_has_words TEXT WORD...: every WORD is a word of TEXT.
ct_has_words() {
  local text=" $1 " w
  shift
  for w in "$@"; do [[ "$text" == *" $w "* ]] || return 1; done
}
# ct_pg_ready CONTAINER: its PostgreSQL takes `letta` over TCP (the entrypoint's init server, which
# stops again, listens on the socket only).
ct_pg_ready() { "$DOCKER" exec -e PGPASSWORD=letta "$1" psql -X -h 127.0.0.1 -U letta -d letta -Atc 'select 1' >/dev/null 2>&1; }
ct_live_agents() { "$DOCKER" exec "$1" psql -X -U letta -d letta -Atc 'select count(*) from agents where not is_deleted' 2>&1; }

# The seed's old layout, still running: thoth-dev-letta-postgres on its own volume (made by the
# postgres stand-in as the compose file makes letta-postgres: vector extension, Letta schema, 3
# agents; then 2 more), thoth-dev-letta (letta/letta, no published port), and lgtest-pg-port, a
# container of another name and image that publishes Letta's Postgres port (on 127.0.0.2, beside
# letta-postgres on 127.0.0.1).
ct_old_layout_up() {
  "$DOCKER" volume create --label "$CT_LABEL=1" "$OLD_VOLUME" >/dev/null
  "$DOCKER" run -d --name thoth-dev-letta-postgres --label "$CT_LABEL=1" \
    -e POSTGRES_USER=letta -e POSTGRES_PASSWORD=letta -e POSTGRES_DB=letta \
    -v "$OLD_VOLUME:/var/lib/postgresql/data" \
    -v "$SRC/compose/postgres/init-vector.sql:/docker-entrypoint-initdb.d/10-init-vector.sql:ro" \
    pgvector/pgvector:pg15 >/dev/null
  "$DOCKER" run -d --name thoth-dev-letta --label "$CT_LABEL=1" letta/letta:0.16.7 >/dev/null
  "$DOCKER" run -d --init --name lgtest-pg-port --label "$CT_LABEL=1" -p "127.0.0.2:$LETTA_PG_PORT:5432" \
    --entrypoint python3 thoth:dev -m http.server 5432 >/dev/null
  ct_wait "thoth-dev-letta-postgres accepts letta" 60 ct_pg_ready thoth-dev-letta-postgres
  "$DOCKER" exec thoth-dev-letta-postgres psql -X -q -U letta -d letta -c "INSERT INTO agents (id, name, organization_id) VALUES
    ('agent-5a0c7e21-1f3b-4d8e-a6c9-2b7d4e1f0a35', 'thoth-research', 'org-00000000-0000-4000-8000-000000000000'),
    ('agent-9e4b1c07-6d2a-4f5e-b8c3-7a1d0e9f2b64', 'thoth-discovery', 'org-00000000-0000-4000-8000-000000000000')"
  local n
  n="$(ct_live_agents thoth-dev-letta-postgres)"
  ct_check "the old volume $OLD_VOLUME holds $OLD_AGENTS live agents ($n)" test "$n" = "$OLD_AGENTS"
}

# 7. The old layout runs beside the shared stack (whose letta-server and letta-gate scenario 6
#    stopped): `make dev` and `make microservices` name each Letta-like container and what to do,
#    and start nothing; the shared stack's own containers (letta-*, publishing Letta's ports) are
#    not counted.
sc_duplicates_refused() {
  ct_scenario_begin "7. make dev and make microservices refuse a second Letta"
  ct_mark "the old layout: thoth-dev-letta-postgres ($OLD_VOLUME), thoth-dev-letta, lgtest-pg-port"
  ct_old_layout_up
  local t0=$EPOCHREALTIME target out rc
  for target in dev microservices; do
    ct_mark "make $target"
    rc=0
    out="$(ct_make -t 60 "$target" LETTAGATE="$LG" LETTAGATE_MIN_AGENTS="$OLD_AGENTS" 2>&1)" || rc=$?
    echo "$out" >"$WORK/make-$target-duplicates.log"
    ct_check "make $target fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
    ct_check "...names thoth-dev-letta: $(grep -m1 -o 'thoth-dev-letta  .*' <<<"$out" | tr -s ' ')" \
      grep -qE '^  thoth-dev-letta +runs letta/letta:0.16.7; named like Letta$' <<<"$out"
    ct_check "...names thoth-dev-letta-postgres" grep -qE '^  thoth-dev-letta-postgres +named like Letta$' <<<"$out"
    ct_check "...names lgtest-pg-port: $(grep -m1 -o 'lgtest-pg-port .*' <<<"$out" | tr -s ' ')" \
      grep -qE "^  lgtest-pg-port +publishes 127.0.0.2:$LETTA_PG_PORT->5432/tcp$" <<<"$out"
    ct_check "...and no container of the shared stack" test -z "$(grep -E '^  letta-' <<<"$out")"
    local stop
    stop="$(grep -m1 '^  docker stop ' <<<"$out" || true)"
    ct_check "...says what to do: $(cut -d'#' -f1 <<<"$stop" | tr -s ' ')" \
      ct_has_words "$stop" thoth-dev-letta thoth-dev-letta-postgres lgtest-pg-port
    ct_check "...make letta-migrate, naming $OLD_VOLUME" grep -q "make letta-migrate FROM=VOLUME .*$OLD_VOLUME" <<<"$out"
    ct_check "...and LETTA_ALLOW_DUPLICATE=1" grep -q 'LETTA_ALLOW_DUPLICATE=1 make' <<<"$out"
  done
  sed -n '/a Letta that is not/,$p' "$WORK/make-dev-duplicates.log" | sed 's/^/    make dev: /'
  local acts
  acts="$(ct_actions "$t0")"
  ct_check "nothing was created, started or stopped (container events since: ${acts:-none})" test -z "$acts"
  ct_mark "docker stop thoth-dev-letta (as the message says)"
  "$DOCKER" stop thoth-dev-letta >/dev/null
  ct_scenario_end
}

# 9. `make dev` with the shared stack stopped (`make letta-stop` in scenario 8) while a new
#    letta-server is starting (recreated with a 12 s start, as a migrating Letta; compose files
#    that now differ from it): the pre-flight starts every stopped container with `up -d
#    --no-recreate`, leaves the starting one alone (not recreated, not restarted), `lettagate
#    wait` waits for the migrated agents, and the app starts after. lgtest-pg-port still runs:
#    LETTA_ALLOW_DUPLICATE=1 says so and goes on.
sc_dev_starts_letta() {
  ct_scenario_begin "9. make dev starts the stopped shared stack and waits for a starting Letta"
  local slow="$SRC/tests/containers/compose/letta.slow-start.yml"
  ct_mark "compose up -d --no-deps letta-server, with LETTA_STANDIN_START_DELAY=12 (a starting Letta)"
  ct_compose -f "$slow" letta up -d --no-deps letta-server >>"$WORK/compose.log" 2>&1 || ct_fail "recreating letta-server"
  local server t_server
  server="$("$DOCKER" inspect -f '{{.Id}}' letta-server)"
  t_server="$(ct_event_time letta-server start)"
  ct_check "letta-server is starting (health $(ct_health letta-server))" test "$(ct_health letta-server)" = starting
  ct_mark "make dev LETTA_ALLOW_DUPLICATE=1 LETTAGATE_MIN_AGENTS=$OLD_AGENTS"
  local t0=$EPOCHREALTIME rc=0 took
  ct_make -t 150 dev LETTAGATE="$LG" LETTAGATE_MIN_AGENTS="$OLD_AGENTS" LETTA_ALLOW_DUPLICATE=1 >"$WORK/make-dev-start.log" 2>&1 || rc=$?
  took="$(ct_secs "$t0")"
  ct_mark "make dev exited $rc"
  ct_check "make dev succeeded (exit $rc, ${took}s)" test "$rc" = 0
  sed 's/^/    make dev: /' "$WORK/make-dev-start.log"
  local out
  out="$(cat "$WORK/make-dev-start.log")"
  ct_check "...warned about lgtest-pg-port and went on" grep -q 'LETTA_ALLOW_DUPLICATE=1: going on' <<<"$out"
  ct_check "...started the shared stack with up -d --no-recreate" grep -q -- '-p letta .* up -d --no-recreate$' <<<"$out"
  ct_check "...every stopped container of it was started" \
    ct_started_since "$t0" letta-postgres letta-redis letta-nginx letta-gate
  local acts
  acts="$(ct_actions "$t0")"
  ct_check "...none was created: $(grep -c ' create$' <<<"$acts" || true) create events, none of a letta-* container" \
    test -z "$(grep -E '^letta-[a-z]+ create$' <<<"$acts")"
  ct_check "...and the starting letta-server was left alone (same container, no kill/die/start since make dev)" \
    test "$("$DOCKER" inspect -f '{{.Id}}' letta-server)" = "$server" -a -z "$(grep -E '^letta-server (kill|die|start|destroy|stop)$' <<<"$acts")"
  local t_healthy t_app
  t_healthy="$(ct_event_time letta-server 'health_status: healthy' "$t0")"
  t_app="$(ct_created "$(ct_cid thoth-dev thoth-all-in-one)")"
  ct_check "letta-server became healthy $(ct_secs_between "$t_server" "$t_healthy")s after its start (12 s delay)" \
    ct_before "$(awk -v t="$t_server" 'BEGIN { printf "%.3f", t + 11 }')" "$t_healthy"
  ct_check "lettagate wait saw $OLD_AGENTS agents: $(grep -m1 -o 'postgres: [a-z]* -> up.*' <<<"$out" | cut -c1-120)" \
    grep -q "$OLD_AGENTS live agents" <<<"$out"
  ct_check "the app was created after letta-server was healthy ($(ct_rel "$t_app") > $(ct_rel "$t_healthy"))" ct_before "$t_healthy" "$t_app"
  app_has_requests() { ct_app_stats "$t0"; [ "$app_total" -ge 1 ]; }
  ct_wait "the app made its first request" 20 app_has_requests
  ct_check "the app's first request succeeded (HTTP $app_first_status $app_first_error)" test "$app_first_status" = 200
  "$DOCKER" rm -f lgtest-pg-port >/dev/null
  ct_mark "docker rm -f lgtest-pg-port"
  ct_scenario_end
}

# 10. `make microservices` with everything running: the same pre-flight (nothing to start), the
#     wait, then the profile's service, which reaches Letta through the gate; nothing else is
#     recreated. `make letta-status` shows the stack; `make dev-stop` stops the profile's service
#     too.
sc_microservices() {
  ct_scenario_begin "10. make microservices; make letta-status; make dev-stop"
  ct_mark "make microservices"
  local t0=$EPOCHREALTIME rc=0 out mcp
  ct_make -t 90 microservices LETTAGATE="$LG" LETTAGATE_MIN_AGENTS="$OLD_AGENTS" >"$WORK/make-microservices.log" 2>&1 || rc=$?
  out="$(cat "$WORK/make-microservices.log")"
  ct_check "make microservices succeeded (exit $rc, $(ct_secs "$t0")s)" test "$rc" = 0
  ct_check "...its pre-flight found the shared stack running" grep -q 'the shared Letta stack is running' <<<"$out"
  ct_check "...and touched none of it" test -z "$(ct_actions "$t0" | grep -E '^letta-')"
  ct_check "...ran compose with --profile microservices" grep -q -- '--profile microservices up -d' <<<"$out"
  mcp="$(ct_cid thoth-dev thoth-mcp)"
  ct_check "thoth-mcp was created, nothing else (created: $(ct_actions "$t0" | awk '$2 == "create" { print $1 }' | tr '\n' ' '))" \
    test -n "$mcp" -a "$(ct_actions "$t0" | awk '$2 == "create"' | wc -l)" = 1
  mcp_first() { "$DOCKER" logs "$mcp" 2>/dev/null | grep -m1 '"status"'; }
  ct_wait "thoth-mcp made a request through letta:8283" 20 mcp_first
  ct_check "...answered 200: $(mcp_first)" grep -q '"status": 200' <<<"$(mcp_first)"
  ct_mark "make letta-status"
  ct_make -t 60 letta-status >"$WORK/make-letta-status.log" 2>&1 || true
  ct_check "make letta-status lists the five and the gate is ready" \
    test "$(grep -cE '^letta-(server|postgres|redis|nginx|gate) .*Up .*\(healthy\)' "$WORK/make-letta-status.log")" = 5 \
    -a -n "$(grep '^ready ' "$WORK/make-letta-status.log")"
  ct_mark "make dev-stop"
  ct_make -t 60 dev-stop >"$WORK/make-dev-stop.log" 2>&1 || ct_fail "make dev-stop: $(tail -n 3 "$WORK/make-dev-stop.log")"
  ct_app_log
  ct_check "make dev-stop stopped the app stack with thoth-mcp (running: $("$DOCKER" ps --format '{{.Names}}' --filter label=com.docker.compose.project=thoth-dev | tr '\n' ' '))" \
    test -z "$("$DOCKER" ps -q --filter label=com.docker.compose.project=thoth-dev)"
  ct_check "...and left the shared stack running" ct_all_healthy letta-server letta-postgres letta-gate
  ct_scenario_end
}
