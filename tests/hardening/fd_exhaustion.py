#!/usr/bin/env python3
"""Resource exhaustion: lettagate under RLIMIT_NOFILE 64 with far more clients than descriptors.

lettagate probes the stack (500 ms) and forwards a port to an echo upstream; then a crowd of
clients holds connections on the health port and the proxy port and keeps arriving for a few
seconds (EMFILE on accept, on probe sockets, on upstream connects). Checks:
  - no busy loop: lettagate's CPU time (/proc/PID/stat utime+stime) stays a small fraction of the
    wall time, while clients keep arriving and while they just sit there;
  - it stays truthful: whatever /status says while starved, it answers when it can;
  - recovery: once the clients leave, /livez answers, /readyz is ready again, a proxied connection
    works, and the fds return to the baseline; SIGTERM exits 0 (no sanitizer report).
Numbers: $LG_BUILD_DIR/hardening/fd_exhaustion.json.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

NOFILE = 64
ARRIVE_S = 4.0       # clients keep arriving this long
QUIET_S = 3.0        # then they just hold their connections
CPU_SHARE_MAX = 0.30  # of one core; a spinning accept loop is ~1.0


def cpu_share(lg, seconds, pool=None, arrive=None):
    c0, t0 = lg.cpu_seconds(), time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        if arrive:
            arrive()
        if pool:
            pool.pump(0.02)
        else:
            time.sleep(0.02)
    return (lg.cpu_seconds() - c0) / (time.monotonic() - t0)


def echo_ok(port):
    pool = h.Pool()
    c = pool.open(port, 1, "probe", keep=64)
    if not c:
        return False
    pool.send(c[0], b"hello")
    pool.shutdown_write(c[0])
    pool.pump(1.0)
    ok = c[0].data == b"hello" and c[0].eof
    pool.close()
    return ok


def main():
    e = h.need_env("LG_LETTA_URL", "LG_PG_DSN", "LG_REDIS_PORT", "LG_NGINX_URL")
    h.raise_nofile(20000)
    up = h.Upstream("echo")
    fport = h.free_port()
    lg = h.Lettagate("fd_exhaustion", [
        *h.stack_args(e),
        "--forward", "127.0.0.1:%d=127.0.0.1:%d" % (fport, up.port), "--forward-health", "off",
        "--probe-interval", "500ms", "--probe-timeout", "400ms", "--probe-rise", "1", "--probe-fall", "2",
        "--header-timeout", "2s",
    ], nofile=NOFILE)
    pool = h.Pool()
    try:
        lg.start_ready()
        time.sleep(1)
        fd_base = lg.steady_fds()
        idle_share = cpu_share(lg, 2.0)
        h.log("baseline: %d fds (limit %d), idle CPU %.1f%%" % (fd_base, NOFILE, idle_share * 100))

        pool.open(lg.port, 100, "health")
        pool.open(fport, 60, "proxy")
        arrivals = [0]

        def arrive():
            arrivals[0] += 1
            pool.open(lg.port if arrivals[0] % 2 else fport, 1, "late", timeout=0.2)

        arriving = cpu_share(lg, ARRIVE_S, pool, arrive)
        fds_starved = lg.fds()
        st_status, st = h.get_json(lg.port, "/status", timeout=1.0)
        starved_view = {n: (c.get("status"), c.get("reason")) for n, c in ((st or {}).get("components") or {}).items()}
        quiet = cpu_share(lg, QUIET_S, pool)
        held = sum(1 for c in pool.conns if c.open)
        shed = sum(1 for c in pool.conns if not c.open)
        h.log("starved: %d fds; CPU while clients arrive %.1f%%, while they hold %.1f%%; clients %d "
              "(+%d connect failures): %d still open, %d closed by lettagate; /status %s %s"
              % (fds_starved, arriving * 100, quiet * 100, len(pool.conns), pool.connect_failures, held, shed,
                 st_status, starved_view))
        if arriving > CPU_SHARE_MAX or quiet > CPU_SHARE_MAX:
            raise h.Fail("busy loop under EMFILE: CPU %.0f%% while clients arrive, %.0f%% while they hold (bound %.0f%%)"
                         % (arriving * 100, quiet * 100, CPU_SHARE_MAX * 100))
        pool.close()
        t0 = time.monotonic()
        live, live_s = h.poll(lambda: h.http_get(lg.port, "/livez", 1.0)[0] == 200, 10)
        ready, ready_s = h.poll(lambda: h.http_get(lg.port, "/readyz", 1.0)[0] == 200, 15)
        proxied, proxied_s = h.poll(lambda: echo_ok(fport), 10, 0.2)
        if not (live and ready and proxied):
            raise h.Fail("no recovery after the clients left: livez %s, readyz %s, proxy %s" % (live, ready, proxied))
        ok, _ = h.poll(lambda: lg.steady_fds(5, 0.05) <= fd_base + 2, 10, 0.2)
        fd_end = lg.steady_fds()
        if not ok:
            raise h.Fail("fds did not return to the baseline: %d before, %d after (%s)" % (fd_base, fd_end, lg.fd_kinds()))
        after_share = cpu_share(lg, 2.0)
        log_text = lg.log_text()
        lg.stop()
        results = {"nofile": NOFILE, "fds_base": fd_base, "fds_starved": fds_starved, "fds_end": fd_end,
                   "clients": held + shed, "held_open": held, "closed_by_lettagate": shed,
                   "connect_failures": pool.connect_failures, "arrivals": arrivals[0],
                   "cpu_idle_pct": round(idle_share * 100, 1), "cpu_arriving_pct": round(arriving * 100, 1),
                   "cpu_holding_pct": round(quiet * 100, 1), "cpu_after_pct": round(after_share * 100, 1),
                   "status_while_starved": starved_view, "livez_back_s": round(live_s, 2),
                   "readyz_back_s": round(ready_s, 2), "proxy_back_s": round(proxied_s, 2),
                   "emfile_log_lines": sum(1 for line in log_text.splitlines() if "too many open files" in line.lower()),
                   "log_lines": len(log_text.splitlines())}
        h.write_results("fd_exhaustion", results)
        h.log("recovered: livez after %.2fs, readyz after %.2fs, proxy after %.2fs; fds %d -> %d; CPU after %.1f%%; "
              "log lines %d (EMFILE mentions %d)" % (live_s, ready_s, proxied_s, fd_base, fd_end, after_share * 100,
                                                     results["log_lines"], results["emfile_log_lines"]))
        if results["log_lines"] > 400:
            raise h.Fail("the log grew by %d lines during the exhaustion: warnings are not rate-limited"
                         % results["log_lines"])
        h.log("fd_exhaustion: OK")
        return 0
    except h.Fail as err:
        return h.failed(err, lg)
    finally:
        pool.close()
        lg.kill()
        up.stop()


if __name__ == "__main__":
    sys.exit(main())
