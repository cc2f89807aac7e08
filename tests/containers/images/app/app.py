"""The app stand-in: GET $THOTH_LETTA_URL/v1/health/ every APP_INTERVAL_MS (250) on a new
connection each time (as an app's first call after a pause would), with a 30 s timeout, and one
JSON line per request on stdout: {"t": start (epoch s), "ms": duration, "status": HTTP status or
0, "error": text or ""}. The first line is {"event": "start", ...}. SIGTERM stops it (exit 0)."""
import http.client
import json
import os
import signal
import sys
import time
import urllib.parse

signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
url = urllib.parse.urlsplit(os.environ.get("THOTH_LETTA_URL", "http://letta:8283"))
interval = float(os.environ.get("APP_INTERVAL_MS", "250")) / 1000.0


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
    print(json.dumps({"t": round(t, 3), "ms": round((time.time() - t) * 1000, 1),
                      "status": status, "error": error}), flush=True)


print(json.dumps({"event": "start", "t": round(time.time(), 3), "url": url.geturl()}), flush=True)
while True:
    started = time.monotonic()
    one_request()
    time.sleep(max(0.0, interval - (time.monotonic() - started)))
