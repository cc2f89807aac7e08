#!/usr/bin/env python3
"""Drain through the forwarder (issue 15, item 6): on SIGTERM, keep-alive connections whose
streams have ended are closed at once, a stream still running finishes, and the process exits
right after it, not at --drain-timeout.

lettagate forwards a port to the Letta stand-in (scripts/services) with --drain-timeout 8s.
  idle     6 keep-alive clients, each has run 2 SSE streams (GET /_standin/sse, chunked) on its
           connection to the end and keeps the connection open
  running  1 SSE stream of 8 events 400 ms apart (pauses longer than any "quiet" guess)
  opaque   1 connection carrying non-HTTP bytes to an echo upstream on a second route: it is not
           closed by the drain; the test closes it when the stream has ended
Then SIGTERM. Checks: every idle connection is closed (EOF) within 0.5 s of the signal; the
running stream delivers every event and its last chunk, then is closed; the opaque one still
echoes during the drain; the process exits 0 within 0.5 s of the last connection closing.
Prints the times. Numbers: $LG_BUILD_DIR/hardening/proxy_drain.json.
"""

import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

DRAIN_TIMEOUT_S = 8.0
IDLE_CLIENTS = 6
RUN_EVENTS, RUN_INTERVAL_MS = 8, 400
IDLE_CLOSE_BOUND_S = 0.5
EXIT_BOUND_S = 0.5


class HttpConn:
    """A blocking keep-alive HTTP/1.1 client that reads chunked responses to their last chunk."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def _more(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("closed by the server")
        self.buf += d

    def _until(self, token):
        while token not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(token)
        return head

    def get(self, path):
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: letta\r\n\r\n" % path).encode())

    def read_head(self):
        head = self._until(b"\r\n\r\n").decode()
        status = int(re.match(r"HTTP/1\.1 (\d{3})", head).group(1))
        if "transfer-encoding: chunked" not in head.lower():
            raise h.Fail("the stand-in's stream is not chunked: %r" % head)
        return status

    def read_chunk(self):
        """One chunk's data; b"" for the last chunk."""
        size = int(self._until(b"\r\n").split(b";")[0], 16)
        while len(self.buf) < size + 2:
            self._more()
        data, self.buf = self.buf[:size], self.buf[size + 2:]  # the last chunk: "0\r\n" + "\r\n"
        return data

    def read_stream(self, on_event=None):
        """Reads one SSE response to its last chunk; returns its events."""
        if self.read_head() != 200:
            raise h.Fail("the stand-in's stream did not answer 200")
        events = []
        while True:
            data = self.read_chunk()
            if not data:
                return events
            for frame in data.split(b"\n\n"):
                if frame.startswith(b"data: "):
                    events.append(frame[6:])
                    if on_event:
                        on_event(frame[6:])

    def wait_end(self, timeout):
        """When the server closed (EOF or reset), or None."""
        self.s.settimeout(timeout)
        try:
            while True:
                if not self.s.recv(65536):
                    return time.monotonic()
        except socket.timeout:
            return None
        except OSError:
            return time.monotonic()

    def close(self):
        self.s.close()


def wait_ends(conns, timeout):
    """When the server closed each connection (EOF or reset), None for those still open."""
    import select
    ends = {c: None for c in conns}
    deadline = time.monotonic() + timeout
    while any(v is None for v in ends.values()) and time.monotonic() < deadline:
        waiting = [c.s for c, v in ends.items() if v is None]
        ready, _, _ = select.select(waiting, [], [], max(0.0, deadline - time.monotonic()))
        now = time.monotonic()
        for c in conns:
            if c.s in ready and ends[c] is None:
                try:
                    gone = not c.s.recv(65536)
                except OSError:
                    gone = True
                if gone:
                    ends[c] = now
    return [ends[c] for c in conns]


def main():
    e = h.need_env("LG_LETTA_URL")
    standin = int(e["LG_LETTA_URL"].rsplit(":", 1)[1].strip("/"))
    echo = h.Upstream("echo")
    fport, oport = h.free_port(), h.free_port()
    lg = h.Lettagate("proxy_drain", [
        "--letta-url", "off", "--postgres-dsn", "off", "--redis-url", "off", "--nginx-url", "off",
        "--forward", "127.0.0.1:%d=127.0.0.1:%d" % (fport, standin),
        "--forward", "127.0.0.1:%d=127.0.0.1:%d" % (oport, echo.port),
        "--forward-health", "off", "--drain-timeout", "%ds" % DRAIN_TIMEOUT_S, "--log-level", "debug",
    ])
    conns = []
    try:
        lg.start()
        idle = []
        for _ in range(IDLE_CLIENTS):
            c = HttpConn(fport)
            conns.append(c)
            for _ in range(2):
                c.get("/_standin/sse?events=2&interval_ms=10&hold_s=0")
                ev = c.read_stream()
                if not ev or ev[-1] != b"[DONE]":
                    raise h.Fail("a short stream did not end with [DONE]: %r" % ev[-3:])
            idle.append(c)
        opaque = socket.create_connection(("127.0.0.1", oport), timeout=5)
        opaque.sendall(b"\x00\x01not http\r\n")
        if opaque.recv(64) != b"\x00\x01not http\r\n":
            raise h.Fail("the echo route does not echo")

        run = HttpConn(fport)
        conns.append(run)
        run.get("/_standin/sse?events=%d&interval_ms=%d&hold_s=0" % (RUN_EVENTS, RUN_INTERVAL_MS))
        if run.read_head() != 200:
            raise h.Fail("the running stream did not start")
        first = run.read_chunk()
        if not first.startswith(b"data: "):
            raise h.Fail("the running stream sent %r first" % first[:60])

        t_sig = time.monotonic()
        lg.proc.send_signal(15)
        idle_closed = wait_ends(idle, 3.0)
        idle_s = [round(t - t_sig, 3) if t else None for t in idle_closed]
        h.log("idle keep-alive connections closed after SIGTERM at (s): %s" % idle_s)

        events = [first]
        run.s.settimeout(RUN_INTERVAL_MS / 1000.0 * RUN_EVENTS + 5)
        while True:
            data = run.read_chunk()
            if not data:
                break
            events.append(data)
        t_stream_end = time.monotonic()
        t_run_closed = run.wait_end(2.0)
        opaque.sendall(b"still here")
        opaque_echo = opaque.recv(64)
        t_opaque_closed = time.monotonic()
        opaque.close()
        try:
            rc = lg.proc.wait(DRAIN_TIMEOUT_S + 5)
        except Exception:
            rc = None
        t_exit = time.monotonic()
        frames = b"".join(events).split(b"\n\n")
        done = [f for f in frames if f.startswith(b"data: [DONE]")]
        results = {
            "idle_closed_after_s": idle_s,
            "stream_ended_after_s": round(t_stream_end - t_sig, 3),
            "stream_closed_after_end_s": round(t_run_closed - t_stream_end, 3) if t_run_closed else None,
            "opaque_echo_during_drain": opaque_echo == b"still here",
            "exit_after_s": round(t_exit - t_sig, 3),
            "exit_after_last_close_s": round(t_exit - t_opaque_closed, 3),
            "exit_code": rc, "drain_timeout_s": DRAIN_TIMEOUT_S,
            "stream_frames": len([f for f in frames if f.startswith(b"data: ")]),
        }
        h.write_results("proxy_drain", results)
        h.log("SIGTERM at 0: idle closed by %s s; the running stream ended at %.3f s (closed %s s later); "
              "the opaque connection closed by the test at %.3f s; exit %s at %.3f s (%.3f s after the last "
              "close; drain timeout %.0f s)"
              % (max(t for t in idle_s if t is not None) if all(idle_s) else "NOT ALL", t_stream_end - t_sig,
                 results["stream_closed_after_end_s"], t_opaque_closed - t_sig, rc, t_exit - t_sig,
                 t_exit - t_opaque_closed, DRAIN_TIMEOUT_S))
        fails = []
        if not all(t is not None and t <= IDLE_CLOSE_BOUND_S for t in idle_s):
            fails.append("idle keep-alive connections not all closed within %.1f s: %s" % (IDLE_CLOSE_BOUND_S, idle_s))
        if not done or results["stream_frames"] < RUN_EVENTS:
            fails.append("the running stream was cut: %d frames, [DONE] %s" % (results["stream_frames"], bool(done)))
        if results["stream_closed_after_end_s"] is None or results["stream_closed_after_end_s"] > IDLE_CLOSE_BOUND_S:
            fails.append("the finished stream's connection was not closed at once (%s)"
                         % results["stream_closed_after_end_s"])
        if not results["opaque_echo_during_drain"]:
            fails.append("the non-HTTP connection was cut by the drain")
        if rc != 0 or t_exit - t_opaque_closed > EXIT_BOUND_S:
            fails.append("exit %s %.2f s after the last connection closed (bound %.1f s)"
                         % (rc, t_exit - t_opaque_closed, EXIT_BOUND_S))
        if fails:
            raise h.Fail("; ".join(fails))
        h.log("proxy_drain: OK")
        return 0
    except (h.Fail, OSError, EOFError) as err:
        print("FAIL: %s" % err, file=sys.stderr)
        print("lettagate log (tail):\n%s" % lg.log_tail(30), file=sys.stderr)
        return 1
    finally:
        for c in conns:
            c.close()
        lg.kill()
        echo.stop()


if __name__ == "__main__":
    sys.exit(main())
