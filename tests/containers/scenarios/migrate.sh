# shellcheck shell=bash
# shellcheck disable=SC2154  # CT_*, OLD_* come from tests/scripts/containers.sh and scenarios/workflow.sh
# The seed's "Migration Path" (sourced by tests/scripts/containers.sh; see scenarios/startup.sh
# for how scenarios are built): `make letta-migrate FROM=VOLUME` on the old layout's volume that
# scenario 7 made (OLD_AGENTS live agents) into the shared letta-postgres (CT_AGENTS).

# ct_migrate NAME [VAR=VALUE...]: make letta-migrate with the gate in a container (LETTAGATE=, as
# on a machine without a lettagate binary); output in WORK/migrate-NAME.log, exit status in
# migrate_rc.
ct_migrate() {
  local name="$1"
  shift
  migrate_rc=0
  ct_mark "make letta-migrate $*"
  ct_make -t 120 letta-migrate LETTAGATE= "$@" >"$WORK/migrate-$name.log" 2>&1 || migrate_rc=$?
}
ct_no_migrate_container() { test -z "$("$DOCKER" ps -aq --filter label=org.lettagate.migrate)"; }

# 8. Refusals first, each changing nothing: no FROM (exit 2); the old volume in use by its
#    running Postgres; letta-postgres already holding agents. Then, with the shared stack stopped
#    (`make letta-stop`), FORCE=1: letta-postgres is started and stopped again, the old volume's
#    server runs in a throwaway container that is removed, the counts before and after are printed
#    (old OLD_AGENTS -> OLD_AGENTS, letta-postgres CT_AGENTS -> OLD_AGENTS) and the gate's data
#    guard passes with --min-agents OLD_AGENTS.
sc_migrate_old_volume() {
  ct_scenario_begin "8. make letta-migrate FROM=$OLD_VOLUME"
  ct_migrate no-from
  ct_check "without FROM: fails (make: exit $migrate_rc), naming FROM: $(head -n 1 "$WORK/migrate-no-from.log" | cut -c1-90)" \
    test "$migrate_rc" -ne 0 -a -n "$(grep 'FROM is not set' "$WORK/migrate-no-from.log")"
  ct_migrate in-use FROM="$OLD_VOLUME"
  ct_check "refused while thoth-dev-letta-postgres runs on the volume (exit $migrate_rc)" \
    test "$migrate_rc" -ne 0 -a -n "$(grep "in use by the running container(s) thoth-dev-letta-postgres" "$WORK/migrate-in-use.log")"
  ct_mark "docker stop thoth-dev-letta-postgres"
  "$DOCKER" stop thoth-dev-letta-postgres >/dev/null
  ct_migrate target-has-agents FROM="$OLD_VOLUME"
  ct_check "refused: letta-postgres holds agents (exit $migrate_rc): $(grep -o "already holds.*replace its database" "$WORK/migrate-target-has-agents.log")" \
    test "$migrate_rc" -ne 0 -a -n "$(grep "letta-postgres already holds $CT_AGENTS live agents" "$WORK/migrate-target-has-agents.log")"
  ct_check "...it says how to go on (FORCE=1)" grep -q "FORCE=1 make letta-migrate FROM=$OLD_VOLUME" "$WORK/migrate-target-has-agents.log"
  ct_check "...letta-postgres still holds $CT_AGENTS ($(ct_live_agents letta-postgres)), the old volume's server was never started" \
    test "$(ct_live_agents letta-postgres)" = "$CT_AGENTS" -a -z "$(grep letta-migrate-source "$WORK/migrate-target-has-agents.log")"

  ct_mark "make letta-stop"
  ct_make -t 60 letta-stop >>"$WORK/compose.log" 2>&1 || ct_fail "make letta-stop"
  local target t0=$EPOCHREALTIME
  target="$("$DOCKER" inspect -f '{{.Id}}' letta-postgres)"
  ct_migrate force FROM="$OLD_VOLUME" FORCE=1
  local log="$WORK/migrate-force.log"
  sed 's/^/    make letta-migrate: /' "$log"
  ct_check "FORCE=1: exit 0 ($migrate_rc)" test "$migrate_rc" = 0
  ct_check "...the counts before and after: $OLD_VOLUME $OLD_AGENTS -> $OLD_AGENTS" \
    grep -qE "^  $OLD_VOLUME +$OLD_AGENTS +$OLD_AGENTS$" "$log"
  ct_check "...letta-postgres $CT_AGENTS -> $OLD_AGENTS" grep -qE "^  letta-postgres +$CT_AGENTS +$OLD_AGENTS$" "$log"
  ct_check "...the gate's data guard passed: $(grep -m1 -o 'ready after.*' "$log")" \
    grep -q "lettagate wait: ready" "$log"
  ct_check "...letta-postgres was started and stopped again, the same container" \
    test -n "$(ct_event_time letta-postgres start "$t0")" -a -n "$(ct_event_time letta-postgres die "$t0")" \
    -a "$("$DOCKER" inspect -f '{{.Id}} {{.State.Running}}' letta-postgres)" = "$target false"
  ct_check "...the throwaway container was removed" ct_no_migrate_container
  ct_check "...nothing else of the shared stack was started (started: $(ct_actions "$t0" | awk '$2 == "start" { print $1 }' | tr '\n' ' '))" \
    test -z "$(ct_actions "$t0" | awk '$2 == "start" && $1 ~ /^letta-(server|redis|nginx|gate)$/')"
  ct_scenario_end
}

# 11. letta-server runs (scenario 9 started it): refused, even with FORCE=1.
sc_migrate_refused_while_letta_runs() {
  ct_scenario_begin "11. make letta-migrate while letta-server runs"
  ct_migrate letta-runs FROM="$OLD_VOLUME" FORCE=1
  ct_check "refused (exit $migrate_rc): $(grep -o 'letta-server is running[^.]*' "$WORK/migrate-letta-runs.log")" \
    test "$migrate_rc" -ne 0 -a -n "$(grep 'letta-server is running' "$WORK/migrate-letta-runs.log")"
  ct_check "...and letta-postgres still holds $OLD_AGENTS" test "$(ct_live_agents letta-postgres)" = "$OLD_AGENTS"
  ct_scenario_end
}
