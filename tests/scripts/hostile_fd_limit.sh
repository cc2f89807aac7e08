#!/usr/bin/env bash
# tier: stack
# Resource exhaustion (tests/hardening/fd_exhaustion.py): lettagate under RLIMIT_NOFILE 64 with far
# more clients than descriptors on the health and proxy ports: no busy loop (CPU time from
# /proc/PID/stat stays low), and it recovers (/livez, /readyz, the proxy, fds) once they leave.
# Needs the stack (run via scripts/test).
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/fd_exhaustion.py"
