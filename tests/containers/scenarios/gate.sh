# shellcheck shell=bash
# shellcheck disable=SC2154  # app_* come from ct_app_stats, CT_*/LETTA*_PORT from tests/scripts/containers.sh
# Scenarios of the gate's own container (sourced by tests/scripts/containers.sh; see
# scenarios/startup.sh for how scenarios are built and added).

# 6. The gate container: read-only as uid 10001, no HTTP client in the image; `docker stop`
#    drains and exits 0 within a second; `make wait` with Letta down says why and starts nothing
#    (with the local binary and with the check in a container). (`make dev` starts a stopped
#    shared stack: scenarios/workflow.sh.)
sc_gate_container() {
  ct_scenario_begin "6. the gate container; make wait with Letta down"
  local pid uid
  ct_check "letta-gate: read-only root file system" test "$("$DOCKER" inspect -f '{{.HostConfig.ReadonlyRootfs}}' letta-gate)" = true
  pid="$("$DOCKER" inspect -f '{{.State.Pid}}' letta-gate)"
  uid="$(awk '/^Uid:/ { print $2 ":" $3 ":" $4 ":" $5 }' "/proc/$pid/status" 2>/dev/null)"
  ct_check "letta-gate's process runs as uid 10001 (real:effective:saved:fs $uid)" test "$uid" = 10001:10001:10001:10001
  local w
  if w="$("$DOCKER" exec letta-gate sh -c ': >/probe-write; : >/tmp/probe-write' 2>&1)"; then
    ct_fail "writing in letta-gate's root worked"
  else
    ct_check "writing in the container fails ($w)" grep -q 'Read-only file system' <<<"$w"
  fi
  ct_check "no curl or wget in lettagate:local" test -z "$("$DOCKER" run --rm --name lgtest-no-http-client --label "$CT_LABEL=1" \
    --entrypoint sh lettagate:local -c 'command -v curl wget')"

  ct_mark "docker stop letta-gate"
  local t0=$EPOCHREALTIME took kill die code
  "$DOCKER" stop letta-gate >/dev/null
  took="$(ct_secs "$t0")"
  kill="$(ct_event_time letta-gate kill)"
  die="$(ct_event_time letta-gate die)"
  code="$("$DOCKER" inspect -f '{{.State.ExitCode}}' letta-gate)"
  ct_check "letta-gate exited 0 after SIGTERM (exit $code)" test "$code" = 0
  ct_check "...within a second of the signal ($(ct_secs_between "$kill" "$die")s; docker stop took ${took}s)" \
    ct_before "$die" "$(awk -v k="$kill" 'BEGIN { printf "%.3f", k + 1 }')"
  "$DOCKER" logs letta-gate 2>&1 | grep -i 'drain' | tail -n 2 | sed 's/^/    log: /' || true

  ct_mark "docker stop letta-server"
  "$DOCKER" stop letta-server >/dev/null
  local how out rc
  for how in local container; do
    ct_mark "make wait ($how lettagate wait)"
    rc=0
    if [ "$how" = local ]; then
      out="$(ct_make -t 60 wait LETTAGATE="$LG" WAIT_TIMEOUT=5s LETTAGATE_MIN_AGENTS="$CT_AGENTS" 2>&1)" || rc=$?
    else
      out="$(ct_make -t 90 wait LETTAGATE= WAIT_TIMEOUT=5s LETTAGATE_MIN_AGENTS="$CT_AGENTS" 2>&1)" || rc=$?
    fi
    echo "$out" >"$WORK/make-wait-$how.log"
    ct_check "make wait ($how) fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
    ct_check "...says why: $(grep -m1 -iE 'letta .*(refused|resolve|down)' <<<"$out" | tr -s ' ' | cut -c1-160)" \
      grep -qiE 'letta .*(refused|resolve|down)' <<<"$out"
    ct_check "...and that the app stack was not started" grep -q 'Letta is not ready (above): the app stack was not started' <<<"$out"
    ct_check "...and nothing did (no container of project thoth-dev; \`compose run\` leaves its network)" \
      test -z "$("$DOCKER" ps -aq --filter label=com.docker.compose.project=thoth-dev)"
  done
  ct_scenario_end
}
