#!/usr/bin/env python3
"""sse_timing.py URL [--method GET|POST] [--body JSON] [--timeout S]

Opens URL on 127.0.0.1 with a raw HTTP/1.1 request, reads the (chunked or close-delimited) SSE
body and prints one line per `data:` frame: milliseconds since the request was sent, then the
frame's message_type (or DONE). First line: `status <code>`. Used by tests/scripts/standin.sh to
tell a proxy that passes events promptly from one that holds them. Bounded by --timeout.
"""

import argparse
import json
import socket
import sys
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--body", default=None)
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    host, port = u.hostname, u.port or 80
    path = u.path + ("?" + u.query if u.query else "")
    body = a.body.encode() if a.body is not None else b""
    req = "%s %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\nConnection: close\r\n" % (
        a.method, path, host, port)
    if a.method != "GET" or body:
        req += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    req = req.encode() + b"\r\n" + body
    deadline = time.monotonic() + a.timeout
    s = socket.create_connection((host, port), timeout=a.timeout)
    t0 = time.monotonic()
    s.sendall(req)
    buf = b""
    head_done = False
    chunked = False
    raw = b""   # undecoded body bytes
    text = b""  # decoded body bytes not yet split into frames
    out = sys.stdout
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        now_ms = (time.monotonic() - t0) * 1000.0
        if not data:
            break
        if not head_done:
            buf += data
            if b"\r\n\r\n" not in buf:
                continue
            head, rest = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            out.write("status %s\n" % lines[0].split(" ")[1])
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                if k.strip().lower() == "transfer-encoding" and "chunked" in v.lower():
                    chunked = True
            head_done = True
            data = rest
        raw += data
        if chunked:
            # decode every complete chunk in raw
            while True:
                i = raw.find(b"\r\n")
                if i < 0:
                    break
                size = int(raw[:i].split(b";")[0] or b"0", 16)
                if len(raw) < i + 2 + size + 2:
                    break
                text += raw[i + 2:i + 2 + size]
                raw = raw[i + 2 + size + 2:]
                if size == 0:
                    break
        else:
            text += raw
            raw = b""
        while b"\n\n" in text:
            frame, text = text.split(b"\n\n", 1)
            for ln in frame.split(b"\n"):
                if ln.startswith(b"data: "):
                    payload = ln[6:]
                    if payload == b"[DONE]":
                        kind = "DONE"
                    else:
                        try:
                            kind = json.loads(payload).get("message_type", "?")
                        except ValueError:
                            kind = "?"
                    out.write("%.0f %s\n" % (now_ms, kind))
                    out.flush()
    s.close()


if __name__ == "__main__":
    main()
