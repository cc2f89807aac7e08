#!/usr/bin/env bash
# tier: slow
# Hostile clients (tests/hardening/hostile_clients.py) on the health port and the proxy port:
# slowloris, oversized headers and bodies, 3000 idle connections (twice), garbage bytes and
# half-open connections, while another process measures /livez latency (p99 <= 100 ms) and the
# test samples RSS; fds return to the baseline afterwards. Needs the stack (run via scripts/test).
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/hostile_clients.py"
