#!/usr/bin/env bash
# tier: stack
# A flapping network resets every second held HTTP connection to Letta (tests/hardening/held_flap.py):
# /readyz stays 200 for 12 s, the resets are passive signals, the stand-in's idle closes are not.
# Starts its own stand-in and relay; about 15 s.
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/held_flap.py"
