#!/usr/bin/env bash
# tier: slow
# The container test (ctest script.containers, tier slow): the image and both compose stacks on
# a real Docker engine, as an operator runs them with the Makefile.
#
#   1. engine: uses the running dockerd, or starts one (root) and stops it, by PID, at the end;
#      where none can start, exits 77 (ctest: skipped) and says why.
#   2. base images: debian:12 and debian:12-slim from tests/containers/prepare-base (debootstrap,
#      cached in BUILD/containers/base; scripts/test starts it in the background at its very
#      beginning, and this waits for it), `docker import`ed once per cache key.
#   3. images, one builder (`docker build`, cached layers): the stand-ins under the names the
#      compose files use (pgvector/pgvector:pg15, redis:7, nginx:1.26, letta/letta:0.16.7,
#      thoth:dev; tests/containers/images) and lettagate:local: docker/Dockerfile's run stage
#      (--target runtime) plus the binary scripts/test built (LG_BINARY), by
#      docker/Dockerfile.prebuilt. With LG_CONTAINERS_FROM_SOURCE=1 (`make image-test`), from both
#      stages of docker/Dockerfile instead (a compile in Docker).
#   4. the scenarios of tests/containers/scenarios/ on one stack, each with its timeline of
#      container events, the test's actions and the app's own requests (LG_CONTAINERS_ONLY: a
#      subset). Healthcheck intervals are shortened (tests/containers/compose/*.timing.yml)
#      unless LG_CONTAINERS_REAL_TIMINGS=1.
# Ports: every published port is a free loopback port (LETTA_PORT, ... as the compose files read
# them). It touches only what it makes: compose projects letta and thoth-dev (whose fixed names,
# letta-server, letta-network, the letta-* volumes, must not exist already) and containers
# labelled org.lettagate.test; all removed on exit, with dangling images of earlier builds. The
# base and built images stay as the next run's cache. Logs: BUILD/containers/last-run/.
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BUILD="${LG_BUILD_DIR:-$SRC/build}"
LG="${LG_BINARY:-$BUILD/lettagate}"
WORK="$BUILD/containers/last-run"
mkdir -p "$BUILD/containers"
rm -rf "$WORK"
mkdir -p "$WORK"
: >"$WORK/marks"
: >"$WORK/app.jsonl"
: >"$WORK/events.jsonl"
# shellcheck source=tests/containers/lib/report.sh
source "$SRC/tests/containers/lib/report.sh"
# shellcheck source=tests/containers/lib/engine.sh
source "$SRC/tests/containers/lib/engine.sh"
# shellcheck source=tests/containers/lib/stack.sh
source "$SRC/tests/containers/lib/stack.sh"
for f in "$SRC"/tests/containers/scenarios/*.sh; do
  # shellcheck source=/dev/null
  source "$f"
done

# shellcheck disable=SC2034  # used by the scenarios
CT_AGENTS=3   # live agents in the stand-in database (tests/containers/images/postgres)
# Shorter healthcheck intervals (tests/containers/compose/*.timing.yml: why), unless asked for
# the compose files' own.
CT_LETTA_OVERRIDES="$SRC/tests/containers/compose/letta.timing.yml"
CT_DEV_OVERRIDES="$SRC/tests/containers/compose/dev.timing.yml"
if [ "${LG_CONTAINERS_REAL_TIMINGS:-0}" = 1 ]; then CT_LETTA_OVERRIDES="" CT_DEV_OVERRIDES=""; fi
CT_SCENARIOS=(sc_shared_stack sc_app_waits_for_letta sc_letta_restart sc_nginx_follows_letta
  sc_data_guard sc_gate_container sc_duplicates_refused sc_migrate_old_volume sc_dev_starts_letta
  sc_microservices sc_migrate_refused_while_letta_runs)
# LG_CONTAINERS_ONLY="sc_shared_stack sc_nginx_follows_letta": a subset, in that order (the
# shared stack first: the others start from it).
if [ -n "${LG_CONTAINERS_ONLY:-}" ]; then read -r -a CT_SCENARIOS <<<"$LG_CONTAINERS_ONLY"; fi

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne "$CT_SKIP" ]; then
    ct_phase "clean-up"
    ct_events_stop
    ct_cleanup
    ct_engine_down
    ct_phase_end
    ct_phase_summary
  fi
  if [ "$rc" -eq 0 ] && [ "$CT_FAILS" -gt 0 ]; then rc=1; fi
  [ "$rc" -eq "$CT_SKIP" ] || echo "containers: $([ "$rc" -eq 0 ] && echo PASS || echo "FAIL ($CT_FAILS check(s))")"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v docker-compose >/dev/null || [ -x /usr/libexec/docker/cli-plugins/docker-compose ] ||
  ct_fatal "no docker-compose (apt-get install docker-compose)"
# make and compose run `docker`: this engine's client, not a newer one earlier on PATH.
mkdir -p "$WORK/bin"
ln -s "$DOCKER" "$WORK/bin/docker"
export PATH="$WORK/bin:$PATH"

ct_phase "engine"
ct_engine_up

ct_phase "base images"
ct_base_images

ct_phase "images"
ct_images
v="$("$DOCKER" run --rm --label "$CT_LABEL=1" lettagate:local version 2>&1)" || true
if [[ "$v" == lettagate* ]]; then ct_ok "lettagate:local runs: $v"; else ct_fatal "lettagate:local version: $v"; fi

ct_phase "stack names and ports"
ct_claim_names
read -r LETTA_PORT LETTA_NGINX_PORT LETTA_PG_PORT LETTA_REDIS_PORT LETTAGATE_PORT THOTH_LETTAGATE_PORT \
  <<<"$(python3 "$SRC/scripts/lib/free_ports.py" 6)"
export LETTA_PORT LETTA_NGINX_PORT LETTA_PG_PORT LETTA_REDIS_PORT LETTAGATE_PORT THOTH_LETTAGATE_PORT
unset LETTAGATE_MIN_AGENTS LETTAGATE_TAG THOTH_IMAGE LETTA_PG_PASSWORD
ct_note "published on 127.0.0.1: letta $LETTA_PORT, nginx $LETTA_NGINX_PORT, postgres $LETTA_PG_PORT, redis $LETTA_REDIS_PORT, letta-gate $LETTAGATE_PORT, the app's gate $THOTH_LETTAGATE_PORT; compose: $COMPOSE"
ct_events_start

for sc in "${CT_SCENARIOS[@]}"; do
  [ "$(type -t "$sc")" = function ] || ct_fatal "no scenario $sc (tests/containers/scenarios/*.sh)"
  "$sc"
done
