#!/usr/bin/env bash
# tier: stack
# Secrets (tests/hardening/secrets.py): the configured Postgres and Redis passwords, right and
# wrong, in every accepted form, never appear in lettagate's logs (trace, text and JSON),
# /readyz, /status, /metrics, the status page, `wait`, `check`, `--help` or the error messages of
# bad configurations (exit 2). Needs the stack of scripts/services (run via scripts/test).
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/secrets.py"
