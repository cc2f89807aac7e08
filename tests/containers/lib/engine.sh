# shellcheck shell=bash
# The Docker side of the container test (sourced by tests/scripts/containers.sh): the engine
# (started here only when none answers, stopped by PID), the local base images from
# tests/containers/prepare-base, image builds with one builder (`docker build`), and the
# clean-up of everything the test creates. Needs: SRC, BUILD, WORK, and the ct_* output helpers
# of lib/report.sh.

DOCKER=/usr/bin/docker          # not whatever `docker` comes first on PATH (a newer client may)
DOCKERD_PID=""                  # set only when this run started dockerd
CT_LABEL=org.lettagate.test     # on every container, image and network the test makes itself
# shellcheck disable=SC2034  # used by lib/report.sh
CT_SKIP=77                      # ctest SKIP_RETURN_CODE of script.containers
CT_CLAIMED=0                    # 1 once the compose projects' names are this run's (ct_claim_names)

# ct_engine_up: a Docker engine that answers, or exit $CT_SKIP with the reason it cannot start.
ct_engine_up() {
  local err
  if err="$("$DOCKER" version -f '{{.Server.Version}}' 2>&1)"; then
    ct_note "engine: using the running dockerd ($err)"
    return 0
  fi
  err="$(grep -m1 -iE 'denied|cannot connect|error' <<<"$err" | sed 's/: Get "[^"]*"//' | cut -c1-240 || true)"
  [ -x /usr/sbin/dockerd ] || ct_skip "no dockerd (apt-get install docker.io); docker version: $err"
  [ "$(id -u)" -eq 0 ] || ct_skip "uid $(id -u) cannot use the engine (docker version: $err) and dockerd needs root to start one"
  setsid /usr/sbin/dockerd </dev/null >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  local i
  for ((i = 0; i < 300; i++)); do  # 30 s
    "$DOCKER" info >/dev/null 2>&1 && break
    if ! ct_alive "$DOCKERD_PID"; then
      DOCKERD_PID=""
      # e.g. "failed to mount overlay: operation not permitted", "iptables ... Permission denied"
      ct_skip "dockerd could not start: $(grep -E 'level=(error|fatal)|failed' "$WORK/dockerd.log" | tail -n 2 | tr '\n' ' ')"
    fi
    sleep 0.1
  done
  "$DOCKER" info >/dev/null 2>&1 || ct_skip "dockerd (PID $DOCKERD_PID) did not answer within 30 s: $(tail -n 2 "$WORK/dockerd.log" | tr '\n' ' ')"
  ct_note "engine: started dockerd $("$DOCKER" version -f '{{.Server.Version}}') (PID $DOCKERD_PID), answering after $(ct_since_phase)s"
}

ct_engine_down() {
  [ -n "$DOCKERD_PID" ] || return 0
  kill -TERM "$DOCKERD_PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 200; i++)); do ct_alive "$DOCKERD_PID" || break; sleep 0.1; done
  if ct_alive "$DOCKERD_PID"; then
    echo "containers: dockerd (PID $DOCKERD_PID) did not stop within 20 s of SIGTERM: SIGKILL" >&2
    kill -KILL "$DOCKERD_PID" 2>/dev/null || true
  fi
  DOCKERD_PID=""
}

# alive PID: running and not a zombie (PID 1 reaps late on these machines).
ct_alive() {
  local st
  st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [ -n "$st" ] && [[ "$st" != Z* ]]
}

# ct_base_images: waits for prepare-base (scripts/test started it in the background; the lock
# makes this run wait for that one) and imports its tarballs as debian:12 and debian:12-slim,
# unless the images there already carry the same cache key.
ct_base_images() {
  local status key tag file
  if ! "$SRC/tests/containers/prepare-base" --build-dir "$BUILD" >>"$WORK/prepare-base.log" 2>&1; then
    ct_fatal "base images: $(cat "$BUILD/containers/base.status" 2>/dev/null || tail -n 3 "$WORK/prepare-base.log")"
  fi
  status="$(cat "$BUILD/containers/base.status")"
  key="$(cut -d' ' -f2 <<<"$status")"
  ct_note "base: prepare-base: ${status} (s)"
  for tag in debian:12 debian:12-slim; do
    file="$BUILD/containers/base/$key/${tag/:/-}.tar"
    if [ "$("$DOCKER" image inspect -f '{{index .Config.Labels "org.lettagate.base"}}' "$tag" 2>/dev/null)" = "$key" ]; then
      continue
    fi
    "$DOCKER" import --change 'CMD ["bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change "LABEL org.lettagate.base=$key" "$file" "$tag" >/dev/null ||
      ct_fatal "docker import $file as $tag failed"
    ct_note "base: imported $tag ($(du -m "$file" | cut -f1) MB tarball)"
  done
}

# ct_build TAG DOCKERFILE CONTEXT [docker build args...]: one `docker build`, its output in
# WORK/build-<tag>.log. A stand-in TAG that exists without the stand-in/test labels is not ours
# (a real image of that name): the test stops rather than replace it. lettagate:* are this
# repository's own images (`make image` makes lettagate:local too): rebuilt from this tree.
ct_build() {
  local tag="$1" df="$2" ctx="$3" log t0
  shift 3
  log="$WORK/build-${tag//[:\/]/_}.log"
  if [[ "$tag" != lettagate:* ]] && "$DOCKER" image inspect "$tag" >/dev/null 2>&1 &&
    [ -z "$("$DOCKER" image inspect -f '{{index .Config.Labels "org.lettagate.standin"}}{{index .Config.Labels "'"$CT_LABEL"'"}}' "$tag")" ]; then
    ct_fatal "image $tag exists and is not one of this test's stand-ins: not replacing it (docker rmi it, or run on another engine)"
  fi
  t0=$EPOCHREALTIME
  if ! "$DOCKER" build -f "$df" -t "$tag" "$@" "$ctx" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    ct_fatal "docker build $tag failed (log $log)"
  fi
  ct_note "image $tag: $(ct_secs "$t0")s ($(grep -c 'Using cache' "$log" || true) steps cached), $(( $("$DOCKER" image inspect -f '{{.Size}}' "$tag") / 1000000 )) MB"
}

# ct_images: the stand-ins under the names the compose files use (tests/containers/images: one
# shared apt layer, lettagate-standins:base, then a few COPY lines each) and lettagate:local.
# The gate image's own apt layer builds beside the stand-ins' base: both mostly wait on dpkg.
ct_images() {
  local d="$SRC/tests/containers/images" gate_rc=0
  (ct_gate_image) &
  local gate_pid=$!
  ct_build lettagate-standins:base "$d/base/Dockerfile" "$SRC/tests"
  ct_build pgvector/pgvector:pg15 "$d/postgres/Dockerfile" "$SRC/tests"
  ct_build redis:7 "$d/redis/Dockerfile" "$SRC/tests"
  ct_build nginx:1.26 "$d/nginx/Dockerfile" "$SRC/tests"
  ct_build letta/letta:0.16.7 "$d/letta/Dockerfile" "$SRC/tests"
  ct_build thoth:dev "$d/app/Dockerfile" "$SRC/tests"
  wait "$gate_pid" || gate_rc=$?
  [ "$gate_rc" = 0 ] || ct_fatal "lettagate:local was not built"
}

# ct_gate_image: lettagate:local, from the binary scripts/test built (docker/Dockerfile's run
# stage, `--target runtime`, then docker/Dockerfile.prebuilt with a context holding only that
# binary, stripped as the build stage strips it), or with LG_CONTAINERS_FROM_SOURCE=1 from both
# Dockerfile stages (`make image`, a compile in Docker).
ct_gate_image() {
  local rev
  rev="$(git -C "$SRC" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  if [ "${LG_CONTAINERS_FROM_SOURCE:-0}" = 1 ]; then
    ct_build lettagate:local "$SRC/docker/Dockerfile" "$SRC" --label "$CT_LABEL=1" \
      --build-arg LETTAGATE_REVISION="$rev"
  else
    [ -x "$LG" ] || ct_fatal "no lettagate binary at $LG (LG_BINARY; build first)"
    mkdir -p "$WORK/gate-context"
    strip --strip-unneeded -o "$WORK/gate-context/lettagate" "$LG"
    ct_build lettagate:runtime "$SRC/docker/Dockerfile" "$SRC" --target runtime --label "$CT_LABEL=1"
    ct_build lettagate:local "$SRC/docker/Dockerfile.prebuilt" "$WORK/gate-context" --label "$CT_LABEL=1"
  fi
}

# ct_cleanup: everything the test made on the engine, and only that: both compose projects
# (containers, their networks and named volumes), the test's own containers, and dangling
# images of earlier builds. The base and built images stay (the next run's cache).
ct_cleanup() {
  "$DOCKER" info >/dev/null 2>&1 || return 0
  local ids
  # the test's own containers first: one left on letta-network keeps compose from removing it
  mapfile -t ids < <("$DOCKER" ps -aq --filter "label=$CT_LABEL")
  [ "${#ids[@]}" -eq 0 ] || "$DOCKER" rm -f "${ids[@]}" >/dev/null 2>&1 || true
  # its own volumes (the old layout's Postgres volume of scenarios/workflow.sh)
  mapfile -t ids < <("$DOCKER" volume ls -q --filter "label=$CT_LABEL")
  [ "${#ids[@]}" -eq 0 ] || "$DOCKER" volume rm "${ids[@]}" >/dev/null 2>&1 || true
  if [ "$CT_CLAIMED" = 1 ]; then
    # (compose takes seconds even when there is nothing to do: only where there is something)
    if [ -n "$("$DOCKER" ps -aq --filter label=com.docker.compose.project=thoth-dev)" ] ||
      "$DOCKER" network inspect thoth-dev-network >/dev/null 2>&1; then
      ct_compose_quiet dev down -v --remove-orphans --timeout 5
      ct_note "clean-up: the app stack is down"
    fi
    ct_compose_quiet letta down -v --remove-orphans --timeout 5
    ct_note "clean-up: the Letta stack is down (containers, letta-network, volumes)"
    local left
    left="$(ct_stack_names)"
    if [ -z "$left" ]; then rm -f "$BUILD/containers/stack-owner"; else
      ct_fail "clean-up left $left(the next run removes them)"; fi
  fi
  "$DOCKER" image prune -f --filter "label=$CT_LABEL" >/dev/null 2>&1 || true
  "$DOCKER" image prune -f --filter "label=org.lettagate.standin" >/dev/null 2>&1 || true
  "$DOCKER" image prune -f --filter "label=org.lettagate.base" >/dev/null 2>&1 || true
}

# ct_stack_names: the names the two compose projects use that exist on the engine, and those of
# the old layout scenarios/workflow.sh makes.
ct_stack_names() {
  { "$DOCKER" ps -a --format '{{.Names}}' --filter 'label=com.docker.compose.project=letta'
    "$DOCKER" ps -a --format '{{.Names}}' --filter 'label=com.docker.compose.project=thoth-dev'
    "$DOCKER" ps -a --format '{{.Names}}' | grep -xE 'letta-(server|postgres|redis|nginx|gate)|thoth-dev-letta(-postgres)?|lgtest-pg-port'
    "$DOCKER" network ls --format '{{.Name}}' | grep -xE 'letta-network|thoth-dev-network'
    "$DOCKER" volume ls --format '{{.Name}}' | grep -xE 'letta-(postgres|data|home)|lgtest-thoth-dev-letta-postgres'; } | sort -u | tr '\n' ' ' || true
}

# ct_claim_names: the compose files fix the names letta-server, letta-network, letta-postgres
# (volume) and so on. Ones left by an earlier run of this test (killed before its clean-up; it
# leaves a marker) are removed; any other owner's are never touched: the test stops instead.
ct_claim_names() {
  local found
  found="$(ct_stack_names)"
  if [ -n "${found// /}" ]; then
    if [ -f "$BUILD/containers/stack-owner" ]; then
      ct_note "removing what an earlier, interrupted run left: $found"
      CT_CLAIMED=1
      ct_cleanup
    else
      ct_fatal "this engine already has $found(a Letta stack of someone else's?): the test needs those names and touches nothing it did not make"
    fi
  fi
  echo "$$ $(date -u +%FT%TZ)" >"$BUILD/containers/stack-owner"
  CT_CLAIMED=1
}
