#!/usr/bin/env bash
# tier: stack serial (it switches the shared stand-in's mode)
# Harness test: the Letta stand-in of the shared stack (LG_LETTA_PORT, from scripts/test) answers
# like Letta 0.16.7 on every endpoint and in every mode, streams SSE, and the two nginx servers
# differ as they should: events pass promptly through LG_NGINX_PORT (letta-sse.conf) and late
# through LG_NGINX_BUFFERED_PORT (a buffering proxy). The mode is set back to `ok` on any exit.
set -euo pipefail

SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
for v in LG_LETTA_PORT LG_LETTA_URL LG_NGINX_PORT LG_NGINX_BUFFERED_PORT; do
  if [ -z "${!v:-}" ]; then
    echo "FAIL: $v is not set: run this through scripts/test (it sources \$LG_SERVICES_DIR/env)" >&2
    exit 1
  fi
done
B="$LG_LETTA_URL"
NG="http://127.0.0.1:$LG_NGINX_PORT"
NGB="http://127.0.0.1:$LG_NGINX_BUFFERED_PORT"
TIMING="$SRC/tests/standin/sse_timing.py"
TMP="$(mktemp -d)"
FAILS=0
STEP="setup"

fail() { echo "FAIL [$STEP]: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok   [$STEP]: $*"; }
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi; }
check() { local d="$1"; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }

set_mode() { curl -s -m 5 -X POST --data "$1" "$B/_standin/mode${2:-}"; }
restore() {
  local rc=$?
  trap - EXIT
  if [ "$(set_mode ok 2>/dev/null)" != ok ]; then
    echo "FAIL: could not set the stand-in back to mode ok" >&2
    rc=1
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap restore EXIT

# req METHOD URL [curl args]: prints "CODE|CONTENT_TYPE|BODY"; headers in $TMP/h
req() {
  local m="$1" u="$2"; shift 2
  local code
  code="$(curl -s -m 10 -X "$m" -D "$TMP/h" -o "$TMP/b" -w '%{http_code}|%{content_type}' "$@" "$u" || true)"
  echo "$code|$(cat "$TMP/b" 2>/dev/null)"
}
header() { grep -i "^$1:" "$TMP/h" | head -n1 | cut -d: -f2- | sed 's/^ //; s/\r$//'; }

OKBODY='{"version":"0.16.7","status":"ok"}'

STEP="mode ok"
check_eq "set mode ok" ok "$(set_mode ok)"
check_eq "GET /v1/health/" "200|application/json|$OKBODY" "$(req GET "$B/v1/health/")"
check_eq "health: server header" uvicorn "$(header server)"
check_eq "health: content-length" 34 "$(header content-length)"
check "health: date header" test -n "$(header date)"
check_eq "GET /v1/ready/" "200|application/json|$OKBODY" "$(req GET "$B/v1/ready/")"
check_eq "GET /v1/health (no slash)" "307||" "$(req GET "$B/v1/health")"
check_eq "307 location from the Host header" "http://127.0.0.1:$LG_LETTA_PORT/v1/health/" "$(header location)"
check_eq "307 content-length" 0 "$(header content-length)"
req GET "$B/v1/health" -H 'Host: letta.example:8283' >/dev/null
check_eq "307 location follows the Host header" "http://letta.example:8283/v1/health/" "$(header location)"
check_eq "GET /v1/ready (no slash)" "307||" "$(req GET "$B/v1/ready")"
check_eq "ready 307 location" "http://127.0.0.1:$LG_LETTA_PORT/v1/ready/" "$(header location)"
check_eq "curl -f -L follows the 307" "$OKBODY" "$(curl -fsSL -m 5 "$B/v1/health")"
check_eq "unknown path" '404|application/json|{"detail":"Not Found"}' "$(req GET "$B/v1/nope")"
check_eq "unknown path /" '404|application/json|{"detail":"Not Found"}' "$(req GET "$B/")"
check_eq "POST /v1/health/" '405|application/json|{"detail":"Method Not Allowed"}' "$(req POST "$B/v1/health/")"
check_eq "405 allow header" GET "$(header allow)"
check_eq "GET on the stream route" '405|application/json|{"detail":"Method Not Allowed"}' \
  "$(req GET "$B/v1/agents/agent-1/messages/stream")"
check_eq "GET /_standin/mode" "200|text/plain; charset=utf-8|ok" "$(req GET "$B/_standin/mode")"
check_eq "unknown mode is refused" 400 "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST --data nonsense "$B/_standin/mode")"
check_eq "mode unchanged after a refused one" ok "$(curl -s -m 5 "$B/_standin/mode")"
check "stats answer JSON" bash -c "curl -s -m 5 '$B/_standin/stats' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"mode\"]==\"ok\" and d[\"requests\"]>0'"

STEP="agents count"
check_eq "GET /v1/agents/count: the database's live agents of the default organisation" \
  "200|application/json|${LG_PG_AGENTS:-3}" "$(req GET "$B/v1/agents/count")"
check_eq "GET /v1/agents/count/ redirects like every known route" "307||" "$(req GET "$B/v1/agents/count/")"
check_eq "set empty_db" empty_db "$(set_mode empty_db)"
check_eq "empty_db: health stays ok" "200|application/json|$OKBODY" "$(req GET "$B/v1/health/")"
check_eq "empty_db: Letta on a fresh database of its own counts 0" "200|application/json|0" \
  "$(req GET "$B/v1/agents/count")"
check_eq "set ok" ok "$(set_mode ok)"

STEP="mode 500"
check_eq "set" 500 "$(set_mode 500)"
check_eq "health" "500|text/plain; charset=utf-8|Internal Server Error" "$(req GET "$B/v1/health/")"
check_eq "ready" "500|text/plain; charset=utf-8|Internal Server Error" "$(req GET "$B/v1/ready/")"
check_eq "redirect unchanged" "307||" "$(req GET "$B/v1/health")"

STEP="mode bad_body"
check_eq "set" bad_body "$(set_mode bad_body)"
check_eq "health" "200|text/html; charset=utf-8|<html>oops</html>" "$(req GET "$B/v1/health/")"
check_eq "ready" "200|text/html; charset=utf-8|<html>oops</html>" "$(req GET "$B/v1/ready/")"

STEP="mode warming"
check_eq "set" warming "$(set_mode warming)"
check_eq "health stays ok" "200|application/json|$OKBODY" "$(req GET "$B/v1/health/")"
check_eq "ready 503" '503|application/json|{"version":"0.16.7","status":"warming"}' "$(req GET "$B/v1/ready/")"

STEP="mode draining"
check_eq "set" draining "$(set_mode draining)"
check_eq "health stays ok" "200|application/json|$OKBODY" "$(req GET "$B/v1/health/")"
check_eq "ready 503" '503|application/json|{"version":"0.16.7","status":"draining"}' "$(req GET "$B/v1/ready/")"

STEP="mode slow"
check_eq "set" slow "$(set_mode slow)"
t="$(curl -s -m 10 -o /dev/null -w '%{time_total}' "$B/v1/health/")"
check "health waits the default 1500 ms (took ${t}s)" python3 -c "import sys; sys.exit(not 1.4 <= float('$t') <= 5)"
t="$(curl -s -m 10 -o /dev/null -w '%{time_total}' "$B/v1/health/?ms=300")"
check "health?ms=300 waits 300 ms (took ${t}s)" python3 -c "import sys; sys.exit(not 0.28 <= float('$t') <= 1.2)"
check_eq "set with ?ms=600" slow "$(set_mode slow '?ms=600')"
t="$(curl -s -m 10 -o /dev/null -w '%{time_total}' "$B/v1/ready/")"
check "ready waits 600 ms (took ${t}s)" python3 -c "import sys; sys.exit(not 0.55 <= float('$t') <= 1.4)"
check_eq "slow answer is ok" "200|application/json|$OKBODY" "$(req GET "$B/v1/health/?ms=10")"

STEP="mode hang"
check_eq "set" hang "$(set_mode hang)"
check_eq "GET /_standin/mode" hang "$(curl -s -m 5 "$B/_standin/mode")"
rc=0; curl -s -m 1 -o /dev/null "$B/v1/health/" || rc=$?
check_eq "health never answers (curl exit 28 = timeout)" 28 "$rc"
rc=0; curl -s -m 1 -o /dev/null "$B/v1/ready/" || rc=$?
check_eq "ready never answers" 28 "$rc"
# The held socket is released once the client goes away: a raw connection that gets no answer.
check "hang holds the connection open, without a byte" python3 - "$LG_LETTA_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /v1/health/ HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(1.0)
try:
    data = s.recv(1)
    sys.exit(1)  # got an answer (or EOF) instead of a hang
except socket.timeout:
    sys.exit(0)
finally:
    s.close()
PY
check_eq "redirect still answers while hanging" "307||" "$(req GET "$B/v1/health")"

STEP="mode ok again"
check_eq "set" ok "$(set_mode ok)"
check_eq "health" "200|application/json|$OKBODY" "$(req GET "$B/v1/health/")"

STEP="sse"
ALL="reasoning_message assistant_message assistant_message stop_reason usage_statistics DONE"
req POST "$B/v1/agents/agent-3f9b2c1e-7a4d-4e8b-9c2a-1d5e6f708192/messages/stream?events=3&interval_ms=50" \
  -H 'content-type: application/json' --data '{"messages":[{"role":"user","content":"hi"}]}' >/dev/null
check_eq "stream: content-type" "text/event-stream; charset=utf-8" "$(header content-type)"
check_eq "stream: chunked" chunked "$(header transfer-encoding)"
check_eq "stream: frames" "$ALL" "$(grep '^data: ' "$TMP/b" | sed 's/^data: //' |
  python3 -c 'import sys,json
for l in sys.stdin:
    l=l.strip(); print("DONE" if l=="[DONE]" else json.loads(l)["message_type"])' | xargs)"
check "stream: frames end with data: [DONE] and a blank line" bash -c "tail -c 16 '$TMP/b' | grep -q '^data: \[DONE\]\$'"
check "stream: message ids and dates" bash -c "grep -q '\"id\":\"message-' '$TMP/b' && grep -q '\"date\":\"20' '$TMP/b'"
check "stream: assistant content" grep -q '"content":"chunk 2 of 3"' "$TMP/b"
req POST "$B/v1/agents/agent-x/messages?events=3&interval_ms=10" -H 'content-type: application/json' \
  --data '{"messages":[{"role":"user","content":"hi"}],"streaming":true}' >/dev/null
check_eq "messages with streaming:true is SSE" "text/event-stream; charset=utf-8" "$(header content-type)"
check "messages with streaming:true ends with [DONE]" grep -q '^data: \[DONE\]' "$TMP/b"
r="$(req POST "$B/v1/agents/agent-x/messages" -H 'content-type: application/json' --data '{"messages":[]}')"
check "messages without streaming is a LettaResponse JSON" python3 -c "
import json,sys
code, ct, body = sys.argv[1].split('|', 2)
d = json.loads(body)
assert code == '200' and ct == 'application/json' and d['messages'] and 'usage' in d" "$r"
check_eq "conversations route streams" "text/event-stream; charset=utf-8" \
  "$(curl -s -m 10 -o /dev/null -w '%{content_type}' -X POST --data '{}' "$B/v1/conversations/conv-1/messages?events=1")"
check_eq "runs/stream route streams" "text/event-stream; charset=utf-8" \
  "$(curl -s -m 10 -o /dev/null -w '%{content_type}' -X POST --data '{}' "$B/v1/runs/run-1/stream?events=1")"
check_eq "GET /_standin/sse" "reasoning_message assistant_message stop_reason usage_statistics DONE" \
  "$(python3 "$TIMING" --timeout 10 "$B/_standin/sse?events=2&interval_ms=10&hold_s=0" | tail -n +2 | cut -d' ' -f2 | xargs)"
check_eq "HTTP/1.0 client gets a close-delimited stream" "reasoning_message stop_reason usage_statistics DONE" \
  "$(curl -s -m 10 --http1.0 "$B/_standin/sse?events=1&hold_s=0" | grep '^data: ' | sed 's/^data: //' |
    python3 -c 'import sys,json
for l in sys.stdin:
    l=l.strip(); print("DONE" if l=="[DONE]" else json.loads(l)["message_type"])' | xargs)"
out="$(python3 "$TIMING" --timeout 10 "$B/_standin/sse?events=1&hold_s=1&ping_ms=300" | tail -n +2 | cut -d' ' -f2 | xargs)"
# pings at ~300, 600, 900 ms of silence; a loaded machine may fit one fewer into the second.
check "hold_s keeps the stream open with pings ($out)" bash -c \
  "[[ '$out' =~ ^reasoning_message\ (ping\ ){2,4}stop_reason\ usage_statistics\ DONE\$ ]]"

# Timing: 4 events 400 ms apart (last at ~1200 ms). Through letta-sse.conf the first frame must
# arrive within 300 ms and the frames spread out; through the buffering proxy the first frame
# arrives late (with the rest). Up to 3 attempts each, for a loaded machine.
STEP="sse through nginx"
Q="events=4&interval_ms=400&hold_s=0"
sse_prompt() {  # URL: first frame <= 300 ms, second before 1000 ms, DONE last
  local out first second
  out="$(python3 "$TIMING" --timeout 15 "$1")"
  echo "$out" | tr '\n' ' ' >&2; echo >&2
  first="$(echo "$out" | sed -n 2p | cut -d' ' -f1)"
  second="$(echo "$out" | sed -n 3p | cut -d' ' -f1)"
  [ "$(echo "$out" | head -n1)" = "status 200" ] && [ "$(echo "$out" | tail -n1 | cut -d' ' -f2)" = DONE ] &&
    [ -n "$first" ] && [ "$first" -le 300 ] && [ -n "$second" ] && [ "$second" -lt 1000 ]
}
sse_late() {  # URL: first frame only after >= 1000 ms, DONE last
  local out first
  out="$(python3 "$TIMING" --timeout 15 "$1")"
  echo "$out" | tr '\n' ' ' >&2; echo >&2
  first="$(echo "$out" | sed -n 2p | cut -d' ' -f1)"
  [ "$(echo "$out" | head -n1)" = "status 200" ] && [ "$(echo "$out" | tail -n1 | cut -d' ' -f2)" = DONE ] &&
    [ -n "$first" ] && [ "$first" -ge 1000 ]
}
retry3() { "$@" || "$@" || "$@"; }
check "GET SSE through LG_NGINX_PORT arrives promptly" retry3 sse_prompt "$NG/_standin/sse?$Q"
sse_prompt_post() {
  local out first
  out="$(python3 "$TIMING" --timeout 15 --method POST --body '{"streaming":true}' "$1/v1/agents/agent-x/messages?$Q")"
  echo "$out" | tr '\n' ' ' >&2; echo >&2
  first="$(echo "$out" | sed -n 2p | cut -d' ' -f1)"
  [ -n "$first" ] && [ "$first" -le 300 ] && [ "$(echo "$out" | tail -n1 | cut -d' ' -f2)" = DONE ]
}
check "POST streaming through LG_NGINX_PORT arrives promptly" retry3 sse_prompt_post "$NG"
check "SSE through LG_NGINX_BUFFERED_PORT arrives late" retry3 sse_late "$NGB/_standin/sse?$Q"
curl -s -m 5 -D "$TMP/h" -o /dev/null "$NG/v1/health/"
check_eq "nginx adds X-Accel-Buffering" no "$(header x-accel-buffering)"
check_eq "nginx adds Cache-Control" no-cache "$(header cache-control)"

if [ "$FAILS" -ne 0 ]; then
  echo "standin: $FAILS check(s) FAILED" >&2
  exit 1
fi
echo "standin: all checks passed"
