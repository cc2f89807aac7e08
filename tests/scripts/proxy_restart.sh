#!/usr/bin/env bash
# tier: stack
# A Letta restart is invisible through the forwarder (tests/hardening/proxy_restart.py): requests
# every 50 ms while the stand-in is killed and back 3 s later on the same address; none fails but
# one in flight at the kill, the held ones are served. Starts its own stand-in; about 10 s.
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
exec python3 "$SRC/tests/hardening/proxy_restart.py"
