"""The app stand-in: starts a GET $THOTH_LETTA_URL/v1/health/ every APP_INTERVAL_MS (250), each on
a new connection in its own thread (as an app serving several users does: a slow or held request
does not delay the next one), at most 64 at a time, with a 30 s timeout; one JSON line per
request on stdout: {"t": start (epoch s), "ms": duration, "status": HTTP status or 0, "error":
text or ""}. The first line is {"event": "start", ...}. SIGTERM stops it (exit 0)."""
import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
url = urllib.parse.urlsplit(os.environ.get("THOTH_LETTA_URL", "http://letta:8283"))
interval = float(os.environ.get("APP_INTERVAL_MS", "250")) / 1000.0
slots = threading.BoundedSemaphore(64)
out = threading.Lock()


def emit(doc):
    with out:
        sys.stdout.write(json.dumps(doc) + "\n")
        sys.stdout.flush()


def one_request():
    t = time.time()
    status, error = 0, ""
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
    try:
        conn.request("GET", url.path.rstrip("/") + "/v1/health/")
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    except (OSError, http.client.HTTPException) as e:
        error = f"{type(e).__name__}: {e}"
    finally:
        conn.close()
        slots.release()
    emit({"t": round(t, 3), "ms": round((time.time() - t) * 1000, 1), "status": status, "error": error})


emit({"event": "start", "t": round(time.time(), 3), "url": url.geturl()})
next_start = time.monotonic()
while True:
    if slots.acquire(blocking=False):
        threading.Thread(target=one_request, daemon=True).start()
    else:
        emit({"event": "skipped", "t": round(time.time(), 3), "why": "64 requests in flight"})
    next_start += interval
    time.sleep(max(0.0, next_start - time.monotonic()))
