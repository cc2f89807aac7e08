#!/usr/bin/env bash
# docs/operations.md against the real thing (tests/scripts/lib/operations_reasons.py): every
# failure reason its troubleshooting tables quote, the "Port already in use" lines, the startup
# grace prefix and the empty-database answer, produced by lettagate against the scripts/services
# stack and compared with the page. Needs root (unshare -m) and the stack (run via scripts/test).
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/scripts/lib/operations_reasons.py"
