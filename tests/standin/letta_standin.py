#!/usr/bin/env python3
"""letta_standin.py: a stand-in for the Letta API server (v0.16.7), for lettagate's tests.

python3 standard library only. Faithful, where lettagate looks, to Letta's FastAPI app served
by uvicorn (see /work/shared/letta-facts.md):

  GET  /v1/health/   200 {"version":"0.16.7","status":"ok"}   (application/json, server: uvicorn)
  GET  /v1/ready/    200 {"version":"0.16.7","status":"ok"}; 503 {"...","status":"warming"} etc.
  GET  /v1/health    307, location: http://<Host header>/v1/health/, empty body (Starlette's
                     redirect_slashes; the same for /v1/ready and for any known route written
                     with a trailing slash too many or too few, whatever the method)
  unknown path       404 {"detail":"Not Found"}
  wrong method       405 {"detail":"Method Not Allowed"} with an allow: header
  GET  /v1/agents/count  200, a bare JSON integer: the default actor's agents (the default
                     organisation's rows of `agents`, deleted ones left out) in the database of
                     --pg-dsn or $LETTA_PG_URI (as Letta), read with psql on each request; 0 in mode
                     `empty_db`, and always 0 without --pg-dsn (a Letta on a fresh database)
  POST /v1/agents/{agent_id}/messages/stream          SSE (deprecated route in Letta)
  POST /v1/agents/{agent_id}/messages                 SSE when the JSON body has "streaming": true,
                                                      else a LettaResponse JSON document
  POST /v1/conversations/{conversation_id}/messages   SSE (same as above)
  POST /v1/runs/{run_id}/stream                       SSE (resume)

SSE responses: content-type: text/event-stream; charset=utf-8, chunked transfer encoding (as
uvicorn does), frames `data: {json}\\n\\n`, each flushed at once: a reasoning_message, then
assistant_message frames, a stop_reason frame, a usage_statistics frame, and `data: [DONE]\\n\\n`.
After --ping-interval seconds of silence (Letta: 20 s) a normal data event with
"message_type":"ping" is sent.

Stand-in extensions (not in Letta):
  Query parameters on every SSE route:
    events=N        number of message frames (reasoning + assistant), default 4 (min 1, max 10000)
    interval_ms=M   spacing between message frames, default 200; the first frame goes at once
    hold_s=S        after the message frames keep the stream open for S seconds (pings after each
                    ping interval of silence) before stop_reason/usage/[DONE]; default 0 on
                    Letta's routes (a reply ends when it is generated), 60 on /_standin/sse; max 3600
    ping_ms=P       override --ping-interval for this stream (milliseconds)
  GET  /_standin/sse?events=N&interval_ms=M&hold_s=S&ping_ms=P   the same stream as a GET, and the
                    default SSE target of lettagate's check: it stays open (hold_s 60) longer than
                    any sensible --sse-deadline, as a check target must (a stream that ends within
                    the deadline cannot tell a buffering proxy from a short stream), and each of its
                    frames (not [DONE]) carries "sent_after_ms": milliseconds from reading the
                    request to writing the frame, the stream's own time for it
  GET  /_standin/mode              current mode name as text/plain (no newline)
  POST /_standin/mode[?ms=D]       body = one mode name; answers the new mode name (400 if unknown)
  GET  /_standin/stats             JSON counters: requests, connections, streams_active, ...

Command line: --host 127.0.0.1 --port N [--mode MODE] [--slow-ms MS] [--ping-interval S] [--pg-dsn DSN]
              [--keep-alive S (idle keep-alive connections closed after S, uvicorn: 5)]
              [--secure-password PW]

--secure-password PW: Letta with LETTA_SERVER_SECURE=true and that password. Every path but
health and ready (with or without the slash) needs `Authorization: Bearer PW` (or Letta's other
form, `X-BARE-PASSWORD: password PW`), else 401 {"detail":"Unauthorized"}. The stand-in's own
/_standin/mode and /_standin/stats stay open (test control); its /_standin/sse stream is guarded
like Letta's stream routes.

Modes (also --mode at start, and --slow-ms for the default delay of `slow`):
  ok        normal answers
  500       health and ready answer 500 "Internal Server Error" (text/plain; charset=utf-8) like
            uvicorn/Starlette on an unhandled exception
  hang      health and ready read the request and never answer; the socket is held until the
            client goes away (or one hour passes)
  bad_body  health and ready answer 200 with `<html>oops</html>` as text/html
  warming   ready answers 503 {"version":"0.16.7","status":"warming"}; health stays ok
  draining  ready answers 503 {"version":"0.16.7","status":"draining"}; health stays ok
  empty_db  health and ready stay ok, /v1/agents/count answers 0: Letta started without
            LETTA_PG_URI, serving a fresh database of its own while letta-postgres keeps the agents
  slow      health and ready answer normally after a delay: the request's own ?ms= if given,
            else the ?ms= of the POST /_standin/mode that set the mode, else --slow-ms
            (default 1500); every mode switch resets it
The redirects (no trailing slash) are made by the router before the handler, so they do not
change with the mode, as in Letta.

Every request is logged on stderr (scripts/services sends it to a log file).
"""

import argparse
import datetime
import email.utils
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LETTA_VERSION = "0.16.7"
MODES = ("ok", "500", "hang", "bad_body", "warming", "draining", "slow", "empty_db")
# Letta's default organisation (the actor without a user_id header belongs to it).
DEFAULT_ORG_ID = "org-00000000-0000-4000-8000-000000000000"
HANG_LIMIT_S = 3600.0
MAX_EVENTS = 10000
MAX_HOLD_S = 3600.0


class State:
    def __init__(self, mode, slow_ms, ping_interval):
        self.lock = threading.Lock()
        self.mode = mode
        self.slow_ms = slow_ms
        self.default_slow_ms = slow_ms
        self.ping_interval = ping_interval
        self.secure_password = None  # --secure-password: LETTA_SERVER_SECURE
        self.pg_dsn = None  # --pg-dsn: LETTA_PG_URI
        self.requests = 0
        self.connections = 0
        self.streams_active = 0
        self.streams_total = 0
        self.health_requests = 0
        self.ready_requests = 0

    def bump(self, name, delta=1):
        with self.lock:
            setattr(self, name, getattr(self, name) + delta)

    def snapshot(self):
        with self.lock:
            return {
                "mode": self.mode,
                "slow_ms": self.slow_ms,
                "ping_interval_s": self.ping_interval,
                "requests": self.requests,
                "connections": self.connections,
                "streams_active": self.streams_active,
                "streams_total": self.streams_total,
                "health_requests": self.health_requests,
                "ready_requests": self.ready_requests,
            }


STATE = State("ok", 1500, 20.0)


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def dumps(obj):
    # FastAPI's JSONResponse: compact separators, non-ASCII kept.
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class Disconnected(Exception):
    pass


# Route table: (method, compiled regex, handler name). Paths as Letta's FastAPI app declares them.
ROUTES = [
    ("GET", r"/v1/health/", "h_health"),
    ("GET", r"/v1/ready/", "h_ready"),
    ("GET", r"/v1/agents/count", "h_agents_count"),
    ("POST", r"/v1/agents/(?P<id>[^/]+)/messages/stream", "h_stream"),
    ("POST", r"/v1/agents/(?P<id>[^/]+)/messages", "h_messages"),
    ("POST", r"/v1/conversations/(?P<id>[^/]+)/messages", "h_stream"),
    ("POST", r"/v1/runs/(?P<id>[^/]+)/stream", "h_stream"),
    ("GET", r"/_standin/sse", "h_stream"),
    ("GET", r"/_standin/mode", "h_mode_get"),
    ("POST", r"/_standin/mode", "h_mode_set"),
    ("GET", r"/_standin/stats", "h_stats"),
]
ROUTES = [(m, re.compile(p + r"\Z"), h) for (m, p, h) in ROUTES]
# What LETTA_SERVER_SECURE leaves open (plus the stand-in's own control routes).
OPEN_PATHS = re.compile(r"/v1/(health|ready)/?\Z|/_standin/(mode|stats)\Z")


def match_path(path):
    """Returns (full_match_list) of (method, handler, groupdict) for routes whose path matches."""
    out = []
    for method, rx, handler in ROUTES:
        m = rx.match(path)
        if m:
            out.append((method, handler, m.groupdict()))
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stamp_from = None  # monotonic time the stream's request was read: frames carry sent_after_ms
    server_version = "uvicorn"
    sys_version = ""
    # uvicorn's timeout_keep_alive is 5 s: idle keep-alive connections are closed after it.
    timeout = 5

    # ---- plumbing -------------------------------------------------------------------------

    def setup(self):
        super().setup()
        STATE.bump("connections")

    def log_message(self, fmt, *args):
        sys.stderr.write("%s standin %s:%s %s\n" % (
            time.strftime("%Y-%m-%dT%H:%M:%S"), self.client_address[0], self.client_address[1],
            fmt % args))
        sys.stderr.flush()

    def start_response(self, code, headers):
        """uvicorn style: status line, then date and server, then the app's headers, lowercase."""
        self.log_request(code)
        self.send_response_only(code)
        self.send_header("date", email.utils.formatdate(usegmt=True))
        self.send_header("server", "uvicorn")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def respond(self, code, body=b"", content_type=None, extra=()):
        headers = [("content-length", str(len(body)))]
        if content_type:
            headers.append(("content-type", content_type))
        headers.extend(extra)
        self.start_response(code, headers)
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()

    def respond_json(self, code, obj, extra=()):
        self.respond(code, dumps(obj), "application/json", extra)

    def read_body(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            for _ in range(100000):
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until the empty line
                    for _ in range(100):
                        if self.rfile.readline(65537) in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
                total += size
                if total > 16 * 1024 * 1024:
                    break
            return b"".join(chunks)
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def query(self):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)

    def qnum(self, q, name, default, lo, hi):
        try:
            v = float(q[name][0])
        except (KeyError, IndexError, ValueError):
            return default
        return max(lo, min(hi, v))

    # ---- dispatch -------------------------------------------------------------------------

    def dispatch(self):
        STATE.bump("requests")
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        self.body = self.read_body() if self.command in ("POST", "PUT", "PATCH", "DELETE") else b""
        if STATE.secure_password is not None and not OPEN_PATHS.match(path) and not self.authorized():
            return self.respond_json(401, {"detail": "Unauthorized"})
        matches = match_path(path)
        for method, handler, groups in matches:
            if method == self.command:
                return getattr(self, handler)(**groups)
        if matches:
            allow = ", ".join(sorted({m for m, _, _ in matches}))
            return self.respond_json(405, {"detail": "Method Not Allowed"}, [("allow", allow)])
        # Starlette's redirect_slashes: toggle the trailing slash; if any route matches (whatever
        # its method), answer 307 to that URL built from the Host header.
        if path != "/":
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            if match_path(other):
                host = self.headers.get("host")
                url = "http://%s%s" % (host, other) if host is not None else other
                if split.query:
                    url += "?" + split.query
                url = urllib.parse.quote(url, safe=":/%#?=@[]!$&'()*+,;")
                return self.respond(307, b"", None, [("location", url)])
        return self.respond_json(404, {"detail": "Not Found"})

    def authorized(self):
        pw = STATE.secure_password
        return (self.headers.get("authorization") == "Bearer " + pw
                or self.headers.get("x-bare-password") == "password " + pw)

    def handle_request_safely(self):
        try:
            self.dispatch()
        except (BrokenPipeError, ConnectionResetError, Disconnected, socket.timeout):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_request_safely

    # ---- health and ready -----------------------------------------------------------------

    def mode_gate(self):
        """Applies the failure modes shared by health and ready. True when already answered."""
        mode = STATE.mode
        if mode == "500":
            self.respond(500, b"Internal Server Error", "text/plain; charset=utf-8")
            return True
        if mode == "hang":
            self.hang()
            return True
        if mode == "bad_body":
            self.respond(200, b"<html>oops</html>", "text/html; charset=utf-8")
            return True
        if mode == "slow":
            q = self.query()
            ms = self.qnum(q, "ms", STATE.slow_ms, 0, 600000)
            time.sleep(ms / 1000.0)
        return False

    def hang(self):
        """Never answer; hold the socket until the client closes it (bounded: one hour)."""
        self.log_message("hang: holding %s without answering", self.path)
        self.close_connection = True
        sock = self.connection
        deadline = time.monotonic() + HANG_LIMIT_S
        while time.monotonic() < deadline:
            r, _, _ = select.select([sock], [], [], 1.0)
            if r:
                try:
                    data = sock.recv(65536)
                except (OSError, socket.timeout):
                    return
                if not data:
                    return

    def h_health(self):
        STATE.bump("health_requests")
        if self.mode_gate():
            return
        self.respond_json(200, {"version": LETTA_VERSION, "status": "ok"})

    def h_ready(self):
        STATE.bump("ready_requests")
        if self.mode_gate():
            return
        mode = STATE.mode
        if mode in ("warming", "draining"):
            return self.respond_json(503, {"version": LETTA_VERSION, "status": mode})
        self.respond_json(200, {"version": LETTA_VERSION, "status": "ok"})

    # ---- agents ---------------------------------------------------------------------------

    def h_agents_count(self):
        """Letta's count_agents: agent_manager.size_async(actor), the actor's organisation's
        agents that are not deleted. A database error is Letta's unhandled exception: 500."""
        if STATE.mode == "empty_db" or STATE.pg_dsn is None:
            return self.respond_json(200, 0)
        sql = "SELECT count(*) FROM agents WHERE organization_id = '%s' AND NOT is_deleted" % DEFAULT_ORG_ID
        try:
            out = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-d", STATE.pg_dsn, "-c", sql],
                                 capture_output=True, text=True, timeout=10)
            count = int(out.stdout.strip()) if out.returncode == 0 else None
        except (OSError, ValueError, subprocess.TimeoutExpired):
            count = None
        if count is None:
            return self.respond(500, b"Internal Server Error", "text/plain; charset=utf-8")
        self.respond_json(200, count)

    # ---- stand-in control -----------------------------------------------------------------

    def h_mode_get(self):
        self.respond(200, STATE.mode.encode(), "text/plain; charset=utf-8")

    def h_mode_set(self):
        mode = self.body.decode("utf-8", "replace").strip()
        q = self.query()
        if not mode and "mode" in q:
            mode = q["mode"][0]
        if mode not in MODES:
            return self.respond(400, ("unknown mode %r; one of %s\n" % (mode, ", ".join(MODES))).encode(),
                                "text/plain; charset=utf-8")
        with STATE.lock:
            STATE.mode = mode
            # every mode switch resets the delay of `slow`: ?ms= if given, else --slow-ms
            STATE.slow_ms = self.qnum(q, "ms", STATE.default_slow_ms, 0, 600000)
        self.log_message("mode set to %s", mode)
        self.respond(200, mode.encode(), "text/plain; charset=utf-8")

    def h_stats(self):
        self.respond_json(200, STATE.snapshot())

    # ---- messages and streams -------------------------------------------------------------

    def json_body(self):
        if not self.body:
            return {}
        try:
            v = json.loads(self.body)
            return v if isinstance(v, dict) else {}
        except ValueError:
            return None

    def h_messages(self, id):
        body = self.json_body()
        if body is None:
            return self.respond_json(422, {"detail": [{"type": "json_invalid", "loc": ["body"],
                                                       "msg": "JSON decode error"}]})
        if body.get("streaming") is True:
            return self.h_stream(id)
        run_id = "run-" + str(uuid.uuid4())
        msgs = [self.reasoning(run_id, "The user said hello; answer briefly."),
                self.assistant(run_id, "Hello from the lettagate stand-in.")]
        self.respond_json(200, {
            "messages": msgs,
            "stop_reason": {"stop_reason": "end_turn", "message_type": "stop_reason"},
            "usage": self.usage(),
        })

    @staticmethod
    def base_msg(run_id, message_type):
        return {"id": "message-" + str(uuid.uuid4()), "date": now_iso(), "name": None,
                "message_type": message_type, "otid": str(uuid.uuid4()), "sender_id": None,
                "step_id": "step-" + str(uuid.uuid4()), "is_err": None, "seq_id": None,
                "run_id": run_id}

    def reasoning(self, run_id, text):
        m = self.base_msg(run_id, "reasoning_message")
        m.update({"source": "reasoner_model", "reasoning": text, "signature": None})
        return m

    def assistant(self, run_id, text):
        m = self.base_msg(run_id, "assistant_message")
        m["content"] = text
        return m

    def ping(self, run_id):
        return self.base_msg(run_id, "ping")

    @staticmethod
    def usage():
        return {"message_type": "usage_statistics", "completion_tokens": 12, "prompt_tokens": 345,
                "total_tokens": 357, "step_count": 1, "steps_messages": None, "run_ids": None}

    def write_chunk(self, data):
        if self.chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)
        self.wfile.flush()

    def frame(self, obj):
        if self.stamp_from is not None and isinstance(obj, dict):
            obj = dict(obj, sent_after_ms=round((time.monotonic() - self.stamp_from) * 1000.0, 1))
        self.write_chunk(b"data: " + (obj if isinstance(obj, bytes) else dumps(obj)) + b"\n\n")

    def wait_or_ping(self, seconds, run_id, last_send, ping_s):
        """Sleeps `seconds`, sending pings whenever ping_s passed without a frame. Returns the
        time of the last frame sent."""
        end = time.monotonic() + seconds
        while True:
            now = time.monotonic()
            if now >= end:
                return last_send
            next_ping = last_send + ping_s
            if next_ping <= now:
                self.frame(self.ping(run_id))
                last_send = time.monotonic()
                continue
            time.sleep(max(0.0, min(end, next_ping) - now))

    def h_stream(self, id=None):
        own = id is None  # the stand-in's GET /_standin/sse, not one of Letta's routes
        self.stamp_from = time.monotonic() if own else None
        if self.command == "POST" and self.json_body() is None:
            return self.respond_json(422, {"detail": [{"type": "json_invalid", "loc": ["body"],
                                                       "msg": "JSON decode error"}]})
        q = self.query()
        events = int(self.qnum(q, "events", 4, 1, MAX_EVENTS))
        interval = self.qnum(q, "interval_ms", 200, 0, 600000) / 1000.0
        hold = self.qnum(q, "hold_s", 60 if own else 0, 0, MAX_HOLD_S)
        ping_s = self.qnum(q, "ping_ms", STATE.ping_interval * 1000.0, 10, 3600000) / 1000.0
        run_id = "run-" + str(uuid.uuid4())
        STATE.bump("streams_total")
        STATE.bump("streams_active")
        # HTTP/1.1: chunked, as uvicorn does. An HTTP/1.0 client (nginx's default proxy_http_version)
        # gets the body delimited by the connection's close, as uvicorn (h11) does too.
        self.chunked = self.request_version != "HTTP/1.0"
        headers = [("content-type", "text/event-stream; charset=utf-8")]
        if self.chunked:
            headers.append(("transfer-encoding", "chunked"))
        else:
            headers.append(("connection", "close"))
            self.close_connection = True
        try:
            self.start_response(200, headers)
            last = time.monotonic()
            for i in range(events):
                if i > 0:
                    last = self.wait_or_ping(interval, run_id, last, ping_s)
                if i == 0:
                    msg = self.reasoning(run_id, "Thinking about the reply (frame 1 of %d)." % events)
                else:
                    msg = self.assistant(run_id, "chunk %d of %d" % (i + 1, events))
                self.frame(msg)
                last = time.monotonic()
            if hold > 0:
                last = self.wait_or_ping(hold, run_id, last, ping_s)
            self.frame({"message_type": "stop_reason", "stop_reason": "end_turn"})
            self.frame(self.usage())
            self.frame(b"[DONE]")
            if self.chunked:
                self.write_chunk(b"")  # last chunk: 0\r\n\r\n
        finally:
            STATE.bump("streams_active", -1)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8283)
    ap.add_argument("--mode", choices=MODES, default="ok")
    ap.add_argument("--slow-ms", type=float, default=1500)
    ap.add_argument("--ping-interval", type=float, default=20.0,
                    help="seconds of silence before a ping event (Letta: 20)")
    ap.add_argument("--secure-password", default=None,
                    help="act as Letta with LETTA_SERVER_SECURE=true and this password")
    ap.add_argument("--pg-dsn", default=os.environ.get("LETTA_PG_URI"),
                    help="the database this Letta uses: /v1/agents/count reads it (default: "
                         "$LETTA_PG_URI, as Letta reads it; the environment keeps the password out of ps)")
    ap.add_argument("--keep-alive", type=float, default=5.0,
                    help="idle keep-alive connections are closed after this many seconds "
                         "(uvicorn's timeout_keep_alive: 5); also bounds a stalled write")
    args = ap.parse_args()
    Handler.timeout = max(0.1, args.keep_alive)
    STATE.mode = args.mode
    STATE.secure_password = args.secure_password
    STATE.pg_dsn = args.pg_dsn
    STATE.slow_ms = STATE.default_slow_ms = args.slow_ms
    STATE.ping_interval = max(0.01, args.ping_interval)
    if ":" in args.host:
        Server.address_family = socket.AF_INET6
    srv = Server((args.host, args.port), Handler)
    sys.stderr.write("%s standin listening on %s:%d mode=%s ping_interval=%ss\n" % (
        time.strftime("%Y-%m-%dT%H:%M:%S"), args.host, srv.server_address[1], args.mode,
        args.ping_interval))
    sys.stderr.flush()
    try:
        srv.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
