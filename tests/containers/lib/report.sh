# shellcheck shell=bash
# Output and bookkeeping of the container test (sourced by tests/scripts/containers.sh): checks
# that count failures, phases with their times, and marks (the test's own actions, with their
# time, for the timelines of lib/stack.sh). Needs WORK.

CT_T0=$EPOCHREALTIME
CT_PHASE_T0=$EPOCHREALTIME
CT_FAILS=0
CT_PHASE="setup"
CT_PHASES=()      # "seconds name" per finished phase

ct_secs() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
ct_since_phase() { ct_secs "$CT_PHASE_T0"; }
ct_note() { printf '[%6ss] %s\n' "$(ct_secs "$CT_T0")" "$*"; }
ct_ok() { printf '[%6ss] ok   [%s] %s\n' "$(ct_secs "$CT_T0")" "$CT_PHASE" "$*"; }
ct_fail() {
  printf '[%6ss] FAIL [%s] %s\n' "$(ct_secs "$CT_T0")" "$CT_PHASE" "$*" >&2
  CT_FAILS=$((CT_FAILS + 1))
}
# ct_check DESCRIPTION CMD...: ok or fail by CMD's status.
ct_check() {
  local d="$1"; shift
  if "$@"; then ct_ok "$d"; else ct_fail "$d"; fi
}
# ct_fatal: a failure after which nothing else can be checked (the trap cleans up).
ct_fatal() {
  ct_fail "$*"
  exit 1
}
# ct_skip: no engine can run here; ctest reports the test as skipped, with this reason.
ct_skip() {
  echo "SKIP: script.containers: $*"
  exit "$CT_SKIP"
}

# ct_phase NAME: ends the current phase (its time goes into the summary), starts NAME.
ct_phase() {
  ct_phase_end
  CT_PHASE="$1"
  CT_PHASE_T0=$EPOCHREALTIME
  echo
  ct_note "== $1"
}
ct_phase_end() {
  [ -n "$CT_PHASE" ] && CT_PHASES+=("$(ct_since_phase) $CT_PHASE")
  CT_PHASE=""
}
ct_phase_summary() {
  local p
  echo
  echo "phase times:"
  for p in "${CT_PHASES[@]}"; do
    printf '  %7ss  %s\n' "${p%% *}" "${p#* }"
  done
  printf '  %7ss  total\n' "$(ct_secs "$CT_T0")"
}

# ct_mark TEXT: a line in the timelines at the current time (what the test just did).
ct_mark() {
  echo "$EPOCHREALTIME $*" >>"$WORK/marks"
}
