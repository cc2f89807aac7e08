#!/usr/bin/env bash
# tier: unit
# Every reason_code lettagate's source can produce is in the docs' reason tables and in the
# metric's list of reason values, and every documented code is one the source produces
# (tests/scripts/lib/doc_reasons.py). Reads files only.
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/scripts/lib/doc_reasons.py"
