#!/usr/bin/env bash
# tier: slow
# Fault matrix (tests/hardening/fault_matrix.py): kill -9 and restart PostgreSQL, Redis, nginx and
# the Letta stand-in LG_FAULT_CYCLES times each (10 here; the long mode is 100) under
# `lettagate serve` probing every 200 ms; /readyz and /status must tell the truth within the
# detection bound, SSE streams through the forwarder must end cleanly when Letta dies, and fds and
# RSS must come back to their baseline. On a stack of its own (lib/own_stack.sh).
set -euo pipefail
# shellcheck source=tests/scripts/lib/own_stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/own_stack.sh"
export LG_FAULT_CYCLES="${LG_FAULT_CYCLES:-10}"
own_stack fault-matrix
python3 "$SRC/tests/hardening/fault_matrix.py"
