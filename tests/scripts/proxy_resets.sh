#!/usr/bin/env bash
# tier: stack
# Resets through the forwarder (tests/hardening/proxy_resets.py): 1,000 tries through the real
# binary against a small upstream; a reset from either side (also after 4 MiB, also behind a slow
# reader) must arrive as a reset at the other side, and a clean FIN as a FIN with every byte.
# Prints the counts (reset / FIN / bytes). Needs no services.
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/proxy_resets.py"
