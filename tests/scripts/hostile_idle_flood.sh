#!/usr/bin/env bash
# tier: stack
# Idle connections must not starve the health port (tests/hardening/idle_flood.py): one process
# holds 1,000 connections (idle, slowloris, or idle after a request; each reopened when closed)
# against the cap of 512, while /livez and /readyz must still answer 200 for >= 99% of requests.
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/idle_flood.py"
