#!/usr/bin/env bash
# tier: slow serial
# Detection figures (tests/hardening/detect_kill.py): Redis, PostgreSQL's postmaster, the Letta
# stand-in and nginx, each SIGKILLed 8 times at random phases of the probe interval, with default
# settings: /readyz 503 after a median <= 100 ms (worst <= 250 ms), 200 within 1 s of the server
# answering again. Prints median and worst per service. Needs the stack; ~40 s per service.
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/detect_kill.py"
