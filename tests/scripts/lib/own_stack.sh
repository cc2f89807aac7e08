# shellcheck shell=bash
# Sourced by the checks that kill services (fault_matrix.sh, detect_kill.sh): they bring up a
# stack of their own (scripts/services in its own LG_SERVICES_DIR, free ports), so they run
# beside the other tests (label `isolated`) instead of alone. Sets SRC and BUILD; the stack's
# LG_* environment is exported and the stack goes down on exit.
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
BUILD="${LG_BUILD_DIR:-$SRC/build}"

own_stack() {  # own_stack NAME: up in $BUILD/NAME-services (its log: $BUILD/NAME-services.log)
  export LG_SERVICES_DIR="$BUILD/$1-services"
  trap '"$SRC/scripts/services" down >/dev/null 2>&1 || true' EXIT
  if ! "$SRC/scripts/services" up >"$BUILD/$1-services.log" 2>&1; then
    echo "FAIL: scripts/services up for $1's own stack (see $BUILD/$1-services.log)" >&2
    exit 1
  fi
  # shellcheck disable=SC1091
  source "$LG_SERVICES_DIR/env"
}
