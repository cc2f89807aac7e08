#!/usr/bin/env bash
# tier: stack
# Pipelined requests never read (tests/hardening/pipeline_flood.py): 20 clients each write 64 KiB
# of pipelined GET /metrics (then /status and /) and never read; lettagate's RSS grows by no more
# than its output high-water marks allow, and /livez from another process keeps answering
# (p99 <= 100 ms, max <= 250 ms). Needs the stack (run via scripts/test).
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/pipeline_flood.py"
