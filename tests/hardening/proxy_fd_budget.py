#!/usr/bin/env python3
"""The forwarder cannot take the descriptors of the health server and the probes (issue 15,
item 4): lettagate under `ulimit -n 256` (soft = hard: nothing to raise), probing the whole
scripts/services stack every 500 ms, forwarding a port to the Letta stand-in with the default
cap of 4,096, and 300 SSE clients streaming through it at once.

Checks, over 6 s with the 300 clients connected:
  - the start log names the limit, what was set aside, and the forward cap it derived;
  - /livez and /readyz (a new connection each, every 100 ms) always answer 200, within 1 s;
  - no probe fails: /status has every component up, and nothing in the log or /status says
    "too many open files";
  - clients up to the derived cap stream; the others are closed at once without a byte
    (lettagate_proxy_connections_rejected_total{reason="limit"} counts them), as documented;
  - fds stay within the limit, and lettagate exits 0 on SIGTERM.
Prints the counts and latencies. Numbers: $LG_BUILD_DIR/hardening/proxy_fd_budget.json.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

NOFILE = 256
CLIENTS = 300
WATCH_S = 6.0


def metric(text, name, labels):
    for line in text.splitlines():
        if line.startswith(name + "{") and all(l in line for l in labels):
            return float(line.rsplit(" ", 1)[1])
    return None


def main():
    e = h.need_env("LG_LETTA_URL", "LG_PG_DSN", "LG_REDIS_PORT", "LG_NGINX_URL")
    h.raise_nofile(20000)
    standin = int(e["LG_LETTA_URL"].rsplit(":", 1)[1].strip("/"))
    fport = h.free_port()
    lg = h.Lettagate("proxy_fd_budget", [
        *h.stack_args(e),
        "--forward", "127.0.0.1:%d=127.0.0.1:%d" % (fport, standin), "--forward-health", "off",
        # fall 2 and a 1 s timeout: a probe slowed by a busy machine is not what this test is
        # about (at load 11 one 400 ms postgres timeout with fall 1 made /readyz 503).
        "--probe-interval", "1s", "--probe-timeout", "1s", "--probe-rise", "1", "--probe-fall", "2",
    ], nofile=NOFILE)
    pool = h.Pool()
    try:
        lg.start_ready()
        budget = [l for l in lg.log_text().splitlines() if "file descriptors:" in l]
        h.log("start log: %s" % (budget[0] if budget else "(no file descriptor line)"))
        _, st = h.get_json(lg.port, "/status")
        cap = ((st or {}).get("forward") or {}).get("max_connections_per_route")

        conns = pool.open(fport, CLIENTS, "sse", keep=64)
        for c in conns:
            pool.send(c, b"GET /_standin/sse?events=60&interval_ms=250 HTTP/1.1\r\nHost: letta\r\n\r\n")
        pool.pump(1.5)

        lat = {"/livez": [], "/readyz": []}
        failed = {"/livez": 0, "/readyz": 0}
        fds_max = 0
        end = time.monotonic() + WATCH_S

        def tick():
            nonlocal fds_max
            for path in lat:
                status, _, took = h.http_get(lg.port, path, timeout=1.0)
                if status == 200:
                    lat[path].append(took * 1000)
                else:
                    failed[path] += 1
            fds_max = max(fds_max, lg.fds())

        pool.pump(max(0.0, end - time.monotonic()), tick=tick, tick_every=0.1)
        _, st = h.get_json(lg.port, "/status", timeout=2.0)
        _, text, _ = h.http_get(lg.port, "/metrics", timeout=2.0)
        comps = {n: (c.get("status"), c.get("reason")) for n, c in ((st or {}).get("components") or {}).items()}
        streaming = sum(1 for c in conns if c.open and c.received > 0)
        refused = sum(1 for c in conns if not c.open and c.received == 0)
        other = len(conns) - streaming - refused
        route = '127.0.0.1:%d=127.0.0.1:%d' % (fport, standin)
        rejected = metric(text, "lettagate_proxy_connections_rejected_total", ['reason="limit"', route])
        log_text = lg.log_text()
        emfile = [l for l in log_text.splitlines() if "too many open files" in l.lower()]
        results = {
            "nofile": NOFILE, "clients": CLIENTS, "forward_cap": cap, "streaming": streaming, "refused": refused,
            "other": other, "rejected_limit_metric": rejected, "fds_max": fds_max,
            "livez_ok": len(lat["/livez"]), "livez_failed": failed["/livez"],
            "readyz_ok": len(lat["/readyz"]), "readyz_failed": failed["/readyz"],
            "livez_p99_ms": round(h.percentile(lat["/livez"], 99) or 0, 2),
            "livez_max_ms": round(max(lat["/livez"] or [0]), 2),
            "readyz_max_ms": round(max(lat["/readyz"] or [0]), 2),
            "components": comps, "emfile_log_lines": len(emfile),
            "budget_log": budget[0] if budget else None,
        }
        h.write_results("proxy_fd_budget", results)
        h.log("%d SSE clients under ulimit -n %d: forward cap %s, %d streaming, %d refused at once "
              "(rejected{limit} %s), %d other; /livez %d ok / %d failed (p99 %.1f ms, max %.1f ms), /readyz %d ok / "
              "%d failed (max %.1f ms); fds at most %d; components %s; EMFILE log lines %d"
              % (CLIENTS, NOFILE, cap, streaming, refused, rejected, other, results["livez_ok"], failed["/livez"],
                 results["livez_p99_ms"], results["livez_max_ms"], results["readyz_ok"], failed["/readyz"],
                 results["readyz_max_ms"], fds_max, comps, len(emfile)))
        fails = []
        if not budget or not re.search(r"limit %d\b" % NOFILE, budget[0]) or "--forward-max-connections" not in budget[0]:
            fails.append("the start log does not give the limit and the derived forward cap")
        if failed["/livez"] or failed["/readyz"] or not lat["/livez"] or not lat["/readyz"]:
            fails.append("health endpoints did not always answer: /livez %d failed, /readyz %d failed"
                         % (failed["/livez"], failed["/readyz"]))
        if any(s != "up" for s, _ in comps.values()) or len(comps) < 4:
            fails.append("a probe failed: %s" % comps)
        if emfile:
            fails.append("'too many open files' in the log: %s" % emfile[:3])
        if not isinstance(cap, int) or streaming != cap or refused != CLIENTS - cap or rejected != CLIENTS - cap:
            fails.append("clients beyond the cap not refused as documented: cap %s, streaming %d, refused %d, "
                         "rejected{limit} %s" % (cap, streaming, refused, rejected))
        if fds_max > NOFILE:
            fails.append("more fds than the limit?")
        if fails:
            raise h.Fail("; ".join(fails))
        pool.close()
        lg.stop()
        h.log("proxy_fd_budget: OK")
        return 0
    except h.Fail as err:
        return h.failed(err, lg, 20)
    finally:
        pool.close()
        lg.kill()


if __name__ == "__main__":
    sys.exit(main())
