#!/usr/bin/env bash
# tier: unit
# Configuration errors never show a password (tests/hardening/config_secrets.py): every URL,
# DSN and secret setting, as flag, variable and *_FILE file, with each kind of malformation and
# passwords holding '@', '/', ':', '%', spaces, quotes and non-ASCII letters; `serve`, `wait`
# and `check` must exit 2 naming the setting, the password nowhere in their output. Needs no
# services (every case is refused before a socket is opened).
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/config_secrets.py" "$@"
