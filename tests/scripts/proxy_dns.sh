#!/usr/bin/env bash
# tier: stack
# The forwarder's resolver through real getaddrinfo: lettagate runs in a private mount
# namespace (unshare -m) whose /etc/hosts is a bind-mounted file this script rewrites.
#   1. TTL: the upstream name moves from 127.0.0.2 to 127.0.0.3; after --forward-dns-ttl the
#      next client reaches the new address, without a restart.
#   2. Invalidation: with a long TTL, the old address refusing makes the next lookup fresh
#      (the client it refused is held, its connect retried: the retry resolves afresh and
#      reaches the new address; the retry is counted, no client is closed).
#   3. Each address in turn: the name lists ::1 first (nothing listens there) and 127.0.0.1.
#   4. The name disappears: retried for --forward-hold (300ms), then closed, counted as dns.
# Needs root (mount namespaces). Only loopback addresses are used.
set -euo pipefail

SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BIN="${LG_BINARY:-$SRC/build/lettagate}"
TMP="$(mktemp -d)"
PIDS=()
FAILS=0
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok   $*"; }
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi; }

[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root for unshare -m" >&2; exit 1; }
[ -x "$BIN" ] || { echo "FAIL: no lettagate binary at $BIN" >&2; exit 1; }

# Debian's python3 directly: a pyenv shim on PATH costs half a second per start.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# tag_server IP PORT TAG: answers every connection with TAG and closes.
tag_server() {
  "$PY" - "$1" "$2" "$3" >"$TMP/server-$3.log" 2>&1 </dev/null <<'PY' &
import socket, sys
ip, port, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ip, port)); s.listen(64)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(tag); c.close()
PY
  PIDS+=($!)
  local i
  for i in $(seq 50); do grep -q listening "$TMP/server-$3.log" 2>/dev/null && return 0; sleep 0.1; done
  echo "FAIL: server $3 on $1:$2 did not start" >&2; cat "$TMP/server-$3.log" >&2; exit 1
}

# ask PORT: what a client through the proxy receives (until EOF, 5 s at most).
ask() {
  "$PY" - "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
data = b""
try:
    while True:
        b = s.recv(4096)
        if not b: break
        data += b
except (socket.timeout, ConnectionResetError):
    pass
print(data.decode() or "<closed>")
PY
}

# start_proxy NAME TTL LISTEN_PORT UPSTREAM [HOLD]: lettagate in its own mount namespace; sets HTTP
# (its health port). Not in a $(...) subshell, so that PIDS keeps the process for the cleanup.
start_proxy() {
  local name="$1" ttl="$2" port="$3" upstream="$4" hold="${5:-10s}" http
  http="$(free_port)"
  HTTP="$http"
  unshare -m --propagation private bash -c "mount --bind '$TMP/hosts' /etc/hosts && exec '$BIN' serve \
    --listen 127.0.0.1:$http --letta-url off --postgres-dsn off --redis-url off --nginx-url off \
    --forward 127.0.0.1:$port=$upstream --forward-dns-ttl $ttl --forward-hold $hold" >"$TMP/$name.log" 2>&1 </dev/null &
  PIDS+=($!)
  local i
  for i in $(seq 100); do
    curl -s -m 1 "http://127.0.0.1:$http/livez" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "FAIL: lettagate ($name) did not start" >&2; cat "$TMP/$name.log" >&2; exit 1
}

metric() {  # HTTP_PORT SERIES_PREFIX
  curl -s -m 5 "http://127.0.0.1:$1/metrics" | grep -F "$2" | awk '{print $2}' | head -n1
}

UP="$(free_port)"
tag_server 127.0.0.2 "$UP" A
tag_server 127.0.0.3 "$UP" B

echo "== 1. the name moves; the TTL (300ms) runs out; the next client goes to the new address"
printf '127.0.0.2 lg-upstream.test\n' >"$TMP/hosts"
P1="$(free_port)"
start_proxy ttl 300ms "$P1" "lg-upstream.test:$UP"
check_eq "before the move" A "$(ask "$P1")"
printf '127.0.0.3 lg-upstream.test\n' >"$TMP/hosts"   # same inode: the bind mount sees it
sleep 0.6
check_eq "after the move, same process" B "$(ask "$P1")"
check_eq "and again" B "$(ask "$P1")"
grep -q "resolves to 127.0.0.3:$UP" "$TMP/ttl.log" && ok "the new address is logged" || fail "no 'resolves to 127.0.0.3' in the log"

echo "== 2. long TTL (1h): the old address refusing makes the next lookup fresh"
printf '127.0.0.2 lg-upstream.test\n' >"$TMP/hosts"
P2="$(free_port)"
start_proxy inval 1h "$P2" "lg-upstream.test:$UP"
H2="$HTTP"
check_eq "before the move" A "$(ask "$P2")"
printf '127.0.0.3 lg-upstream.test\n' >"$TMP/hosts"
check_eq "moved, but the cached address still answers" A "$(ask "$P2")"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true   # A stops: its address refuses
check_eq "the old address refuses: the held client's retry resolves afresh" B "$(ask "$P2")"
check_eq "and the next client too" B "$(ask "$P2")"
ROUTE="127.0.0.1:$P2=lg-upstream.test:$UP"
check_eq "one retry counted, refused" 1 "$(metric "$H2" "lettagate_proxy_upstream_connect_retries_total{route=\"$ROUTE\",reason=\"refused\"}")"
check_eq "no client closed" 0 "$(metric "$H2" "lettagate_proxy_upstream_connect_errors_total{route=\"$ROUTE\",reason=\"refused\"}")"

echo "== 3. each address in turn: ::1 (nothing there) then 127.0.0.1"
UP3="$(free_port)"
tag_server 127.0.0.1 "$UP3" C
printf '::1 lg-multi.test\n127.0.0.1 lg-multi.test\n' >"$TMP/hosts"
P3="$(free_port)"
start_proxy multi 1s "$P3" "lg-multi.test:$UP3" 300ms
H3="$HTTP"
check_eq "reached through the second address" C "$(ask "$P3")"
grep -q "resolves to \[::1\]:$UP3, 127.0.0.1:$UP3" "$TMP/multi.log" && ok "both addresses resolved, ::1 first" ||
  fail "expected '[::1]:$UP3, 127.0.0.1:$UP3' in the log: $(grep resolves "$TMP/multi.log")"
ROUTE3="127.0.0.1:$P3=lg-multi.test:$UP3"
check_eq "no connect error counted" 0 "$(metric "$H3" "lettagate_proxy_upstream_connect_errors_total{route=\"$ROUTE3\",reason=\"refused\"}")"

echo "== 4. the name disappears: retried for --forward-hold (300ms), then a dns error, client closed"
printf '127.0.0.1 something-else.test\n' >"$TMP/hosts"
sleep 1.2  # multi's TTL is 1s
check_eq "no address: client closed" "<closed>" "$(ask "$P3")"
check_eq "dns error counted" 1 "$(metric "$H3" "lettagate_proxy_upstream_connect_errors_total{route=\"$ROUTE3\",reason=\"dns\"}")"

if [ "$FAILS" -ne 0 ]; then
  echo "proxy_dns: $FAILS check(s) FAILED" >&2
  for f in "$TMP"/*.log; do echo "--- $f" >&2; cat "$f" >&2; done
  exit 1
fi
echo "proxy_dns: all checks passed"
