#!/usr/bin/env bash
# tier: unit
# The reasons the docs quote against the real thing (tests/scripts/lib/doc_reasons.py): every
# row of the reason tables in docs/operations.md and docs/probes.md, the "Port already in use"
# lines, the startup grace prefix and the empty-database answer, made to happen with lettagate
# against the scripts/services stack and compared with the page. Needs root (unshare -m) and
# the stack (run via scripts/test).
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/scripts/lib/doc_reasons.py"
