#!/usr/bin/env bash
# tier: stack
# Validator: compose/nginx/letta-sse.conf (the letta-nginx conf.d file) is a valid nginx config
# (`nginx -t`) with every setting SSE needs, and, run for real in front of the stand-in Letta of
# the test stack, answers /nginx-health, reaches Letta's /v1/health/, adds X-Accel-Buffering: no,
# and passes stream events through as they come (first event long before the last).
#
# letta-server is resolved at request time (resolver 127.0.0.11, Docker's DNS, and a variable
# upstream: a restarted letta-server with a new address is followed; tests/scripts/containers.sh
# shows it on a real engine), and that name exists only on the compose network. The test
# therefore runs a temp copy in which the upstream letta-server:8283 is replaced by the stand-in's
# loopback address (and `listen 8284` by a free loopback port); nothing else in the file is changed. The conf.d file is wrapped in a minimal nginx.conf (events {}, http {}
# with every temp path inside a temp prefix), as the nginx image's own nginx.conf includes it.
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"
CONF="$SRC/compose/nginx/letta-sse.conf"
[ -f "$CONF" ] || die "$CONF is missing"
command -v nginx >/dev/null || die "nginx is not installed"
NGINX_PID=""
stop_nginx() {
  if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$NGINX_PID" 2>/dev/null || true
  fi
  NGINX_PID=""
}
CLEANUP_HOOKS+=(stop_nginx)

STEP="settings"
# The directives SSE needs, as they must appear (whitespace-normalised, comments dropped).
sed -e 's/#.*//' "$CONF" | tr -s ' \t' ' ' | sed 's/^ //' >"$TMP/flat.conf"
for d in "proxy_buffering off;" "proxy_cache off;" "proxy_request_buffering off;" "proxy_http_version 1.1;" \
  'proxy_set_header Connection "";' "listen 8284;" \
  "resolver 127.0.0.11 valid=5s ipv6=off;" 'set $letta_upstream letta-server:8283;' 'proxy_pass http://$letta_upstream;' \
  "add_header X-Accel-Buffering no always;" 'return 200 "nginx-sse-proxy-healthy\n";'; do
  if grep -qF -- "$d" "$TMP/flat.conf"; then ok "has: $d"; else fail "missing: $d"; fi
done
rt="$(grep -oE 'proxy_read_timeout [0-9]+[smh]?;' "$TMP/flat.conf" | head -n1 | grep -oE '[0-9]+[smh]?' || true)"
secs="$(python3 -c "import sys; v=sys.argv[1]; m={'s':1,'m':60,'h':3600}; print(int(v[:-1])*m[v[-1]] if v and v[-1] in m else int(v or 0))" "$rt")"
if [ "$secs" -ge 600 ]; then ok "proxy_read_timeout ${rt} (>= 10 min: quiet streams are not cut)"; else
  fail "proxy_read_timeout must be long (>= 600s) for SSE, is '${rt:-60s (default)}'"; fi
check "location = /nginx-health" grep -q 'location = /nginx-health' "$TMP/flat.conf"
# A name in an upstream{} block or a literal proxy_pass is resolved once, at start: nginx would
# keep a restarted letta-server's old address (which Docker may give to another container).
if grep -qE '^(server letta-server|proxy_pass http://letta-server)' "$TMP/flat.conf"; then
  fail "letta-server is named in an upstream{} server or a literal proxy_pass: resolved once, never followed"
else ok "letta-server is only reached through the variable upstream"; fi

STEP="nginx -t"
P="$TMP/nginx"
mkdir -p "$P/logs"
read -r NP UP <<<"$(free_ports 2)"
LETTA_PORT="${LG_LETTA_PORT:-$UP}"
# The substitution described above: only the upstream host and the listen port change.
sed -e "s/set \$letta_upstream letta-server:8283;/set \$letta_upstream 127.0.0.1:$LETTA_PORT;/" -e "s/listen 8284;/listen 127.0.0.1:$NP;/" \
  "$CONF" >"$P/letta-sse.conf"
[ "$(diff "$CONF" "$P/letta-sse.conf" | grep -c '^>')" = 2 ] || fail "substitution changed $(diff "$CONF" "$P/letta-sse.conf" | grep -c '^>') lines, expected 2"
cat >"$P/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $P/nginx.pid;
error_log $P/logs/error.log notice;
events { worker_connections 64; }
http {
    access_log $P/logs/access.log;
    client_body_temp_path $P/client_body;
    proxy_temp_path $P/proxy;
    fastcgi_temp_path $P/fastcgi;
    uwsgi_temp_path $P/uwsgi;
    scgi_temp_path $P/scgi;
    include $P/letta-sse.conf;
}
NGX
if nginx -t -q -p "$P/" -c "$P/nginx.conf" -e "$P/logs/error.log" >"$TMP/t.out" 2>&1; then
  ok "nginx -t accepts compose/nginx/letta-sse.conf"
else
  fail "nginx -t: $(cat "$TMP/t.out")"
  finish validate_nginx
  exit 1
fi

STEP="running"
require_stack_env
curl -s -m 5 -X POST --data ok "$LG_LETTA_URL/_standin/mode" >/dev/null || true
nginx -p "$P/" -c "$P/nginx.conf" -e "$P/logs/error.log" </dev/null >"$P/logs/stdout.log" 2>&1 &
NGINX_PID=$!
NG="http://127.0.0.1:$NP"
for ((i = 0; i < 100; i++)); do
  curl -s -m 1 -o /dev/null "$NG/nginx-health" && break
  kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(tail -n 5 "$P/logs/error.log")"
  sleep 0.1
done
if [ "$(curl -s -m 5 "$NG/nginx-health")" = "nginx-sse-proxy-healthy" ]; then ok "/nginx-health"; else fail "/nginx-health did not answer nginx-sse-proxy-healthy"; fi
if [ "$(curl -s -m 5 "$NG/v1/health/")" = '{"version":"0.16.7","status":"ok"}' ]; then ok "/v1/health/ reaches Letta"; else fail "/v1/health/ through nginx did not reach the stand-in"; fi
hdr="$(curl -s -m 5 -D - -o /dev/null "$NG/v1/health/" | tr -d '\r')"
if grep -qi '^x-accel-buffering: no$' <<<"$hdr"; then ok "X-Accel-Buffering: no"; else fail "no X-Accel-Buffering: no header"; fi
if grep -qi '^cache-control: no-cache$' <<<"$hdr"; then ok "Cache-Control: no-cache"; else fail "no Cache-Control: no-cache header"; fi
loc="$(curl -s -m 5 -D - -o /dev/null -H 'Host: letta.example:8284' "$NG/v1/health" | tr -d '\r' | grep -i '^location:' || true)"
if grep -q 'letta.example:8284' <<<"$loc"; then ok "Host (with port) reaches Letta: 307 $loc"; else fail "Host header not passed with its port: '$loc'"; fi

# 4 events 400 ms apart: the first must arrive promptly (a buffering proxy delivers all at the end).
sse_prompt() {
  local out first
  out="$(python3 "$SRC/tests/standin/sse_timing.py" --timeout 15 --method POST --body '{"streaming":true}' \
    "$NG/v1/agents/agent-x/messages?events=4&interval_ms=400")"
  echo "$out" | tr '\n' ' ' >&2; echo >&2
  first="$(echo "$out" | sed -n 2p | cut -d' ' -f1)"
  [ "$(echo "$out" | head -n1)" = "status 200" ] && [ -n "$first" ] && [ "$first" -le 400 ] &&
    [ "$(echo "$out" | tail -n1 | cut -d' ' -f2)" = DONE ]
}
check "SSE: first event within 400 ms of a 1.2 s stream (unbuffered)" bash -c "$(declare -f sse_prompt); NG='$NG' SRC='$SRC'; sse_prompt || sse_prompt || sse_prompt"

finish validate_nginx
