#!/usr/bin/env bash
# tier: slow
# Fault matrix (tests/hardening/fault_matrix.py): kill -9 and restart PostgreSQL, Redis, nginx and
# the Letta stand-in LG_FAULT_CYCLES times each (10 here; the long mode is 100) under
# `lettagate serve` probing every 200 ms; /readyz and /status must tell the truth within the
# detection bound, SSE streams through the forwarder must end cleanly when Letta dies, and fds and
# RSS must come back to their baseline. It kills services, so it brings up a stack of its own
# (scripts/services in its own LG_SERVICES_DIR) and runs beside the other tests.
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BUILD="${LG_BUILD_DIR:-$SRC/build}"
export LG_SERVICES_DIR="$BUILD/fault-matrix-services"
export LG_FAULT_CYCLES="${LG_FAULT_CYCLES:-10}"
trap '"$SRC/scripts/services" down >/dev/null 2>&1 || true' EXIT
if ! "$SRC/scripts/services" up >"$BUILD/fault-matrix-services.log" 2>&1; then
  echo "FAIL: scripts/services up for the fault matrix's own stack (see $BUILD/fault-matrix-services.log)" >&2
  exit 1
fi
# shellcheck disable=SC1091
source "$LG_SERVICES_DIR/env"
python3 "$SRC/tests/hardening/fault_matrix.py"
