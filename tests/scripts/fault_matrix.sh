#!/usr/bin/env bash
# tier: slow serial (it kills and restarts the shared services)
# Fault matrix (tests/hardening/fault_matrix.py): kill -9 and restart PostgreSQL, Redis, nginx and
# the Letta stand-in LG_FAULT_CYCLES times each (default 20; the long mode is 100) under
# `lettagate serve` probing every 200 ms; /readyz and /status must tell the truth within the
# detection bound, SSE streams through the forwarder must end cleanly when Letta dies, and fds and
# RSS must come back to their baseline. Needs the stack of scripts/services (run via scripts/test).
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/fault_matrix.py"
