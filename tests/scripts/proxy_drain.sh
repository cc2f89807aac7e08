#!/usr/bin/env bash
# tier: stack
# Drain through the forwarder (tests/hardening/proxy_drain.py): on SIGTERM, keep-alive connections
# whose SSE streams have ended close at once, a running stream finishes, a non-HTTP connection is
# left alone, and the process exits right after the last one closes, not at --drain-timeout.
# Needs the stack (the Letta stand-in; run via scripts/test).
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/proxy_drain.py"
