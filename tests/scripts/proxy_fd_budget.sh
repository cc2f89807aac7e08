#!/usr/bin/env bash
# tier: stack
# Descriptor budget (tests/hardening/proxy_fd_budget.py): under ulimit -n 256 with 300 SSE clients
# through the forwarder, /livez and /readyz keep answering, no probe fails on EMFILE, and clients
# beyond the cap derived at start are refused at once. Needs the stack (run via scripts/test).
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/proxy_fd_budget.py"
