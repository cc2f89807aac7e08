#!/usr/bin/env bash
# tier: stack serial (it switches the shared stand-in's mode)
# The status page at GET / rendered by real headless Chromium: `lettagate serve` against the
# LG_* stack with letta up (the stand-in) and one component down (a --tcp-check to a closed
# port). The rendered DOM must show each state and reason, the gate and the forwarder; a
# screenshot lands in $LG_BUILD_DIR/status-page.png; text from a server is shown as text, never
# parsed as markup. Every step is bounded; serve, Chromium's profile and the stand-in mode are
# cleaned up on any exit.
set -euo pipefail

SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BUILD="${LG_BUILD_DIR:-$SRC/build}"
BIN="${LG_BINARY:-$BUILD/lettagate}"
for v in LG_LETTA_URL LG_LETTA_PORT; do
  if [ -z "${!v:-}" ]; then
    echo "FAIL: $v is not set: run this through scripts/test (it sources \$LG_SERVICES_DIR/env)" >&2
    exit 1
  fi
done
command -v chromium >/dev/null || { echo "FAIL: chromium is not installed (scripts/lib/deps.sh lists it)" >&2; exit 1; }

TMP="$(mktemp -d)"
SERVE_PID=""
FAILS=0
STEP="setup"

fail() { echo "FAIL [$STEP]: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok   [$STEP]: $*"; }
set_mode() { curl -s -m 5 -X POST --data "$1" "$LG_LETTA_URL/_standin/mode"; }
cleanup() {
  local rc=$?
  trap - EXIT
  if [ -n "$SERVE_PID" ]; then
    kill "$SERVE_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVE_PID" 2>/dev/null || true
  fi
  if [ "$(set_mode ok 2>/dev/null)" != ok ]; then
    echo "FAIL: could not set the stand-in back to mode ok" >&2
    rc=1
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT

# health port, forwarder port, and a port nothing listens on (the "ghost" component is down)
read -r PORT FWD CLOSED < <(python3 "$SRC/scripts/lib/free_ports.py" 3)

# chromium_run ARGS... URL: headless, isolated profile, bounded.
chromium_run() {
  local profile
  profile="$(mktemp -d -p "$TMP")"
  timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$profile" "$@" 2>"$TMP/chromium.err"
}

# wait_status PYTHON_CONDITION: polls /status (at most 15 s) until the condition on `d` holds.
wait_status() {
  for _ in $(seq 75); do
    if curl -s -m 2 "http://127.0.0.1:$PORT/status" | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($1) else 1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# check_dom FILE PYTHON_ASSERTIONS: parses the dumped DOM; `rows` maps a component name to
# {"status": data-status, "text": the row's text}; `gate` is the gate's text; `dom` the raw dump.
check_dom() {
  python3 - "$1" "$2" <<'PY'
import re
import sys
from html.parser import HTMLParser

class Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.current, self.depth, self.gate, self.in_gate = {}, None, 0, "", 0
        self.hidden = set()
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "hidden" in a and a.get("id"):
            self.hidden.add(a["id"])
        if tag == "tr" and a.get("id", "").startswith("component-"):
            self.current = a["id"][len("component-"):]
            self.rows[self.current] = {"status": a.get("data-status"), "text": ""}
        if a.get("id") == "gate":
            self.in_gate = 1
        elif self.in_gate:
            self.in_gate += 1
    def handle_endtag(self, tag):
        if tag == "tr":
            self.current = None
        if self.in_gate:
            self.in_gate -= 1
    def handle_data(self, data):
        if self.current:
            self.rows[self.current]["text"] += data + " "
        if self.in_gate:
            self.gate += data

dom = open(sys.argv[1], encoding="utf-8").read()
p = Rows()
p.feed(dom)
rows, gate, hidden = p.rows, p.gate, p.hidden
failed = 0
for line in sys.argv[2].strip().splitlines():
    expr = line.strip()
    if not expr:
        continue
    try:
        good = eval(expr)
    except Exception as e:  # noqa: BLE001 - report any failure as a failed check
        good, expr = False, f"{expr} ({e})"
    print(("ok   " if good else "FAIL ") + "[dom]: " + expr, file=sys.stdout if good else sys.stderr)
    failed += 0 if good else 1
if failed:
    print("rows: " + repr(rows) + "\ngate: " + repr(gate), file=sys.stderr)
sys.exit(1 if failed else 0)
PY
}

STEP="serve"
[ "$(set_mode ok)" = ok ] || fail "stand-in did not take mode ok"
"$BIN" serve --listen "127.0.0.1:$PORT" --letta-url "$LG_LETTA_URL" --postgres-dsn off --redis-url off \
  --nginx-url off --tcp-check "ghost=127.0.0.1:$CLOSED" --forward "127.0.0.1:$FWD=127.0.0.1:$LG_LETTA_PORT" \
  --probe-interval 300ms --probe-timeout 300ms --log-level warn </dev/null >"$TMP/serve.log" 2>&1 &
SERVE_PID=$!
if wait_status 'd["components"]["letta"]["status"] == "up" and d["components"]["ghost"]["status"] == "down"'; then
  ok "letta up and ghost down in /status"
else
  fail "/status never showed letta up and ghost down; serve log: $(tail -n 20 "$TMP/serve.log")"
  exit 1
fi
sleep 1  # a few results in the history strip

STEP="page"
curl -s -m 5 -o "$TMP/page.html" -w '%{http_code} %{content_type}' "http://127.0.0.1:$PORT/" >"$TMP/code"
if [ "$(cat "$TMP/code")" = "200 text/html; charset=utf-8" ]; then ok "GET / is HTML"; else fail "GET /: $(cat "$TMP/code")"; fi
# Self-contained: no script/style/image from elsewhere, no absolute URL at all.
if grep -Eqi '(src=|@import|url\(|https?://)' "$TMP/page.html"; then
  fail "the page refers to an external asset: $(grep -Eoi '(src=|@import|url\(|https?://)[^ ]{0,40}' "$TMP/page.html" | head -n 3)"
else
  ok "no external assets"
fi
if grep -q 'innerHTML' "$TMP/page.html"; then fail "the page uses innerHTML"; else ok "no innerHTML"; fi

# status_fetches: how many GET /status lettagate has answered with 200 (its own counter).
status_fetches() {
  curl -s -m 2 "http://127.0.0.1:$PORT/metrics" |
    sed -nE 's/^lettagate_http_requests_total\{(code="200",path="\/status"|path="\/status",code="200")\} ([0-9.e+]+)$/\2/p' | head -n1
}

STEP="dom"
before="$(status_fetches)"
if chromium_run --virtual-time-budget=5000 --dump-dom "http://127.0.0.1:$PORT/" >"$TMP/dom.html" &&
  [ -s "$TMP/dom.html" ]; then
  ok "chromium dumped the DOM ($(wc -c <"$TMP/dom.html") bytes)"
else
  fail "chromium --dump-dom failed: $(tail -n 5 "$TMP/chromium.err")"
  exit 1
fi
# The page refreshes itself: one page load, then /status every 2 s (5 s of the page's time).
after="$(status_fetches)"
fetched=$(python3 -c "print(int(float('${after:-0}') - float('${before:-0}')))")
if [ "$fetched" -ge 2 ]; then ok "the page fetched /status $fetched times in 5 s: it refreshes itself"; else fail "the page fetched /status $fetched time(s) in 5 s (before ${before:-?}, after ${after:-?})"; fi
if check_dom "$TMP/dom.html" '
  rows["letta"]["status"] == "up"
  " up " in rows["letta"]["text"]
  "0.16.7" in rows["letta"]["text"]
  rows["ghost"]["status"] == "down"
  " down " in rows["ghost"]["text"]
  "connection refused" in rows["ghost"]["text"]
  "failed in a row" in rows["ghost"]["text"]
  "Not ready" in gate
  "degraded" in hidden
  "forward" not in hidden
  "127.0.0.1:'"$FWD"'" in dom
  re.search(r"\b[1-9][0-9]*/[1-9][0-9]* ok", rows["letta"]["text"])
  re.search(r"\b0/[1-9][0-9]* ok", rows["ghost"]["text"])
  "class=\"cell ok\"" in dom and "class=\"cell fail\"" in dom
  "recent checks succeeded" in dom
  re.search(r"\b[0-9.]+ ms\b", rows["letta"]["text"])
  "href=\"metrics\"" in dom
'; then ok "rendered states, reasons, gate, forwarder, history, /metrics link"; else fail "rendered DOM"; fi

STEP="screenshot"
SHOT="$BUILD/status-page.png"
rm -f "$SHOT"
if chromium_run --virtual-time-budget=5000 --window-size=1200,900 --screenshot="$SHOT" "http://127.0.0.1:$PORT/" >/dev/null; then
  size="$(stat -c %s "$SHOT" 2>/dev/null || echo 0)"
  if [ "$size" -gt 10240 ] && [ "$(head -c 8 "$SHOT" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
    ok "$SHOT is a PNG of $size bytes"
  else
    fail "$SHOT: $size bytes, or not a PNG"
  fi
else
  fail "chromium --screenshot failed: $(tail -n 5 "$TMP/chromium.err")"
fi

# A reason quoting a server's body (<html>oops</html>) must show as text, not become markup.
# The failing answer has no version: the version shown is the last success's, marked last seen.
STEP="escaping"
[ "$(set_mode bad_body)" = bad_body ] || fail "stand-in did not take mode bad_body"
if wait_status '"oops" in d["components"]["letta"]["reason"] and d["components"]["letta"]["status"] == "down"'; then
  if wait_status 'd["components"]["letta"]["info"]["version"] == "0.16.7" and isinstance(d["components"]["letta"]["info_last_seen"]["version"], float) and not d["components"]["letta"]["info_last_seen"].keys() - {"version"}'; then
    ok "/status: the version of a down letta is marked last seen (info_last_seen)"
  else
    fail "/status: letta's version not marked last seen: $(curl -s -m 2 "http://127.0.0.1:$PORT/status" | head -c 600)"
  fi
  chromium_run --virtual-time-budget=5000 --dump-dom "http://127.0.0.1:$PORT/" >"$TMP/dom2.html" || true
  if check_dom "$TMP/dom2.html" '
    rows["letta"]["status"] == "down"
    "&lt;html&gt;oops&lt;/html&gt;" in dom
    "<html>oops" not in dom
    re.search(r"0\.16\.7\s*last seen", rows["letta"]["text"])
    "last seen" not in rows["ghost"]["text"]
  '; then ok "server text is escaped; the stale version is shown as last seen"; else fail "escaping / last seen"; fi
else
  fail "/status never showed the bad body reason"
fi

if [ "$FAILS" -ne 0 ]; then
  echo "status_page: $FAILS check(s) FAILED" >&2
  exit 1
fi
echo "status_page: all checks passed"
