#!/usr/bin/env bash
# tier: slow
# Detection figures (tests/hardening/detect_kill.py): Redis, PostgreSQL's postmaster, the Letta
# stand-in and nginx, each SIGKILLed 8 times at random phases of the probe interval, with default
# settings: /readyz 503 after a median <= 100 ms (worst <= 250 ms), 200 within 1 s of the server
# answering again; a hung Letta (SIGSTOP) 503 by the timeout and fall. Prints median and worst per
# service; ~30 s per service. On a stack of its own
# (lib/own_stack.sh).
set -euo pipefail
# shellcheck source=tests/scripts/lib/own_stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/own_stack.sh"
own_stack detect-kill
python3 "$SRC/tests/hardening/detect_kill.py"
