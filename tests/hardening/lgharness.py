#!/usr/bin/env python3
"""lgharness: what the hardening scripts (tests/scripts/fault_*.sh, hostile_*.sh) share.

- the LG_* environment of scripts/services (missing: the test FAILS, it never skips),
- a lettagate process (Lettagate): started on free loopback ports (start_ready() also waits for
  /readyz 200), its open fds (/proc/PID/fd),
  RSS (/proc/PID/status VmRSS) and CPU time (/proc/PID/stat), stopped with SIGTERM and checked:
  exit code 0 and no sanitizer report in its output,
- plain-socket HTTP GETs with their latency (independent of the code under test),
- a small upstream (`python3 lgharness.py upstream PORT MODE`) for proxy tests: echo or sink,
- a /livez latency monitor (`python3 lgharness.py livez-monitor PORT OUT SECONDS`) that runs in its
  own process, so the attacking process's work never inflates the latencies it measures.

Everything is bounded by deadlines and only uses 127.0.0.1.
"""

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.environ.get("LG_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")


class Fail(Exception):
    """A check failed; the message says which and what was seen."""


def log(msg):
    print(msg, flush=True)


def need_env(*names):
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise Fail("%s not set: run this through scripts/test (it sources $LG_SERVICES_DIR/env)" % ", ".join(missing))
    return {n: os.environ[n] for n in names}


def binary():
    b = os.environ.get("LG_BINARY") or os.path.join(REPO, "build", "lettagate")
    if not os.access(b, os.X_OK):
        raise Fail("lettagate binary %s is not there (LG_BINARY)" % b)
    return b


def sanitized(path=None):
    """True when the binary is built with AddressSanitizer (gcc links libasan, clang embeds it)."""
    path = path or binary()
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def overload():
    """How oversubscribed the machine is now: the 1-minute load average per core, at least 1.
    Timing slack (never a product bound) is multiplied by it: on a 2-core machine running a
    compile beside the suite (load 10) every wait stretches about fivefold, and a test must
    still tell a slow machine from a slow lettagate. Printed by the tests that use it."""
    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def failed(err, lg, lines=40):
    """A test's Fail, reported: the reason, then the tail of lettagate's log. Returns 1, the
    test's exit status."""
    print("FAIL: %s" % err, file=sys.stderr)
    print("lettagate log (tail):\n%s" % lg.log_tail(lines), file=sys.stderr)
    return 1


def results_dir():
    d = os.path.join(os.environ.get("LG_BUILD_DIR") or tempfile.gettempdir(), "hardening")
    os.makedirs(d, exist_ok=True)
    return d


def write_results(name, data):
    """Measured numbers, for docs/reliability.md: $LG_BUILD_DIR/hardening/NAME.json."""
    data = dict(data, binary=binary(), sanitized=sanitized(), at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    path = os.path.join(results_dir(), name + ".json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    log("results: %s" % path)


def stack_args(e):
    """lettagate's probe settings for the scripts/services stack (Redis without a password);
    `e` holds LG_LETTA_URL, LG_PG_DSN, LG_REDIS_PORT and LG_NGINX_URL."""
    return ["--letta-url", e["LG_LETTA_URL"], "--postgres-dsn", e["LG_PG_DSN"],
            "--redis-url", "redis://127.0.0.1:%s" % e["LG_REDIS_PORT"], "--nginx-url", e["LG_NGINX_URL"]]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def raise_nofile(want=20000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def services(*args, timeout=120):
    """scripts/services ARGS (e.g. "kill", "postgres"); raises Fail when it fails."""
    cmd = [os.path.join(REPO, "scripts", "services")] + list(args)
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, text=True)
    if r.returncode != 0:
        raise Fail("scripts/services %s failed (%d): %s" % (" ".join(args), r.returncode, r.stdout.strip()[-800:]))
    return r.stdout


def http_get(port, path, timeout=2.0, method="GET"):
    """One request on a new connection. Returns (status, body, seconds); status 0 when no answer."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return 0, "", time.monotonic() - t0
    try:
        s.settimeout(timeout)
        s.sendall(("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % (method, path)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        return 0, "", time.monotonic() - t0
    finally:
        s.close()
    elapsed = time.monotonic() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return (int(m.group(1)) if m else 0), body.decode("utf-8", "replace"), elapsed


def get_json(port, path, timeout=2.0):
    status, body, _ = http_get(port, path, timeout)
    if status == 0:
        return status, None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def poll(fn, timeout, interval=0.05):
    """Calls fn() until it returns a truthy value or timeout seconds pass. Returns (value, seconds)."""
    t0 = time.monotonic()
    while True:
        v = fn()
        if v:
            return v, time.monotonic() - t0
        if time.monotonic() - t0 >= timeout:
            return v, time.monotonic() - t0
        time.sleep(interval)


class Lettagate:
    """`lettagate serve` in the background on a free health port (plus the caller's settings)."""

    def __init__(self, name, args, nofile=None, env=None, port=None, nice=None):
        self.name = name
        self.nice = nice
        self.port = port or free_port()
        self.args = ["serve", "--listen", "127.0.0.1:%d" % self.port] + list(args)
        self.nofile = nofile
        self.env = dict(os.environ, **(env or {}))
        if sanitized():
            # ASan keeps freed memory in a quarantine of 256 MiB by default, which RSS would show
            # as growth; a small one keeps RSS comparable between cycles (leaks are LSan's job).
            self.env["ASAN_OPTIONS"] = ":".join(filter(None, [self.env.get("ASAN_OPTIONS"), "quarantine_size_mb=16"]))
        self.log_path = os.path.join(results_dir(), "%s-%d.log" % (name, os.getpid()))
        self.proc = None

    def start(self, live_timeout=15):
        nofile, nice = self.nofile, self.nice

        def limits():
            if nice:
                _renice(nice)
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
            else:  # thousands of connections in the hostile tests: up to the hard limit
                soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

        logf = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary()] + self.args, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, env=self.env, preexec_fn=limits)
        logf.close()
        ok, _ = poll(lambda: self.proc.poll() is not None or http_get(self.port, "/livez", 1.0)[0] == 200, live_timeout)
        if self.proc.poll() is not None:
            raise Fail("%s exited at start (%s): %s" % (self.name, self.proc.returncode, self.log_tail()))
        if not ok:
            raise Fail("%s: /livez did not answer within %ds" % (self.name, live_timeout))
        return self

    def start_ready(self, timeout=15):
        """start(), then /readyz polled until it answers 200 within `timeout` seconds: the
        baseline every test that measures a ready lettagate begins from. Fail names the last
        answer."""
        self.start()
        ok, _ = poll(lambda: http_get(self.port, "/readyz")[0] == 200, timeout)
        if not ok:
            status, body, _ = http_get(self.port, "/readyz")
            raise Fail("%s: /readyz not 200 within %ds (last: %s %s)" % (self.name, timeout, status, body[:300]))
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def fd_kinds(self):
        kinds = {}
        for fd in os.listdir("/proc/%d/fd" % self.pid):
            try:
                k = os.readlink("/proc/%d/fd/%s" % (self.pid, fd)).split(":")[0]
            except OSError:
                continue
            kinds[k] = kinds.get(k, 0) + 1
        return kinds

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.pid) as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()
        utime, stime = int(fields[11]), int(fields[12])
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def steady_fds(self, samples=10, spacing=0.1):
        """Median of a few samples: probes hold a socket for a moment now and then."""
        vals = []
        for _ in range(samples):
            vals.append(self.fds())
            time.sleep(spacing)
        vals.sort()
        return vals[len(vals) // 2]

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=30):
        return "\n".join(self.log_text().splitlines()[-n:])

    def stop(self, timeout=30):
        """SIGTERM, wait; Fail unless it exits 0 with no sanitizer report."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise Fail("%s did not exit within %ds of SIGTERM: %s" % (self.name, timeout, self.log_tail()))
        rc = self.proc.returncode
        text = self.log_text()
        bad = [m for m in SANITIZER_MARKERS if m in text]
        if bad:
            raise Fail("%s: sanitizer report in its output (%s):\n%s" % (self.name, bad[0], self.log_tail(60)))
        if rc != 0:
            raise Fail("%s exited %s after SIGTERM:\n%s" % (self.name, rc, self.log_tail()))

    def kill(self):
        """For cleanup after a failure: no checks."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass


class Upstream:
    """A helper upstream in its own process: `echo` (echoes, half-close aware) or `sink` (reads
    and discards, answers nothing; shuts its side when the client does)."""

    def __init__(self, mode):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "upstream", str(self.port), mode],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=lambda: raise_nofile())
        ok, _ = poll(lambda: _connectable(self.port), 10)
        if not ok:
            self.stop()
            raise Fail("upstream helper (%s) did not listen on %d" % (mode, self.port))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _renice(n):
    """Raise priority (root only; best effort): see LivezMonitor."""
    try:
        os.nice(n)
    except OSError:
        pass


class LivezMonitor:
    """GET /livez on a new connection every 20 ms, in a separate process; latencies in ms.

    With `nice`, the monitor (and the Lettagate started with the same `nice`) run ahead of the
    attacking process and of anything else on a shared CI machine: an attacker does not share
    lettagate's CPU in production, so the latency measured is lettagate's own event loop."""

    def __init__(self, port, seconds, nice=None):
        fd, self.out = tempfile.mkstemp(prefix="livez-", suffix=".json", dir=results_dir())
        os.close(fd)
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "livez-monitor", str(port), self.out,
                                      str(seconds)], stdin=subprocess.DEVNULL,
                                     preexec_fn=(lambda: _renice(nice)) if nice else None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        with open(self.out) as f:
            data = json.load(f)
        os.unlink(self.out)
        return data


class Conn:
    """One client socket of a Pool."""

    __slots__ = ("sock", "port", "tag", "opened", "out", "sent", "received", "data", "keep", "eof", "reset",
                 "closed_at", "wrote_eof", "send_failed")

    def __init__(self, sock, port, tag, keep):
        self.sock, self.port, self.tag, self.keep = sock, port, tag, keep
        self.opened = time.monotonic()
        self.out = b""
        self.sent = self.received = 0
        self.data = b""         # the first `keep` bytes received
        self.eof = self.reset = False
        self.closed_at = None   # when the server closed (EOF or reset)
        self.wrote_eof = False
        self.send_failed = False  # a send saw the server's reset: what it answered may still be unread

    @property
    def open(self):
        return self.closed_at is None


class Pool:
    """Many non-blocking client sockets on one epoll: queue bytes, pump, see who the server closed."""

    def __init__(self):
        import selectors
        self.sel = selectors.DefaultSelector()
        self.conns = []
        self.connect_failures = 0

    def open(self, port, n, tag, keep=256, timeout=5.0):
        import selectors
        made = []
        for _ in range(n):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            except OSError:
                self.connect_failures += 1
                continue
            s.setblocking(False)
            c = Conn(s, port, tag, keep)
            self.sel.register(s, selectors.EVENT_READ, c)
            self.conns.append(c)
            made.append(c)
        return made

    def send(self, c, data):
        if not c.open or c.sock is None:
            return
        c.out += data
        self._flush(c)

    def shutdown_write(self, c):
        c.wrote_eof = True
        if not c.out:
            self._shut(c)

    def _shut(self, c):
        try:
            c.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _flush(self, c):
        import selectors
        while c.out:
            try:
                n = c.sock.send(c.out[:262144])
            except BlockingIOError:
                break
            except OSError:
                # The server closed (it does, after answering, when an upload goes on too long
                # or pauses too long). Its answer may wait in our receive buffer, and a real
                # client reads it: stop sending, read on; the read ends it as a reset.
                c.out = b""
                c.send_failed = True
                break
            c.sent += n
            c.out = c.out[n:]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0)
        try:
            self.sel.modify(c.sock, events, c)
        except (KeyError, ValueError):
            pass
        if not c.out and c.wrote_eof:
            self._shut(c)

    def _closed(self, c, reset=False):
        if c.closed_at is None:
            c.closed_at = time.monotonic()
            c.reset = reset
            c.eof = not reset
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass

    def pump(self, seconds, tick=None, tick_every=0.25):
        """Handles events for `seconds`; calls tick() every tick_every seconds."""
        import selectors
        end = time.monotonic() + seconds
        next_tick = time.monotonic()
        while True:
            now = time.monotonic()
            if tick and now >= next_tick:
                tick()
                next_tick = now + tick_every
            if now >= end:
                break
            for key, ev in self.sel.select(min(0.05, max(0.0, end - now))):
                c = key.data
                if ev & selectors.EVENT_WRITE:
                    self._flush(c)
                if ev & selectors.EVENT_READ and c.open:
                    try:
                        d = c.sock.recv(262144)
                    except BlockingIOError:
                        continue
                    except OSError:
                        self._closed(c, reset=True)
                        continue
                    if not d:
                        self._closed(c, reset=c.send_failed)
                        continue
                    c.received += len(d)
                    if len(c.data) < c.keep:
                        c.data += d[:c.keep - len(c.data)]

    def close(self, conns=None, reset=False):
        import struct
        for c in list(conns if conns is not None else self.conns):
            if c.sock is None:
                continue
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            if reset:
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.sock.close()
            c.sock = None
        if conns is None:
            self.conns = []
        else:
            gone = set(id(c) for c in conns)
            self.conns = [c for c in self.conns if id(c) not in gone]


def _connectable(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]


# ---- subprocess modes -------------------------------------------------------------------------

def _run_upstream(port, mode):
    import asyncio

    raise_nofile()

    async def handle(reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if mode == "echo":
                    writer.write(data)
                    await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
            # Keep the socket until the peer closes (or a bound passes), as a server that
            # finished its answer would.
            await asyncio.wait_for(reader.read(1), 30)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
        async with server:
            await server.serve_forever()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(main())


def _run_livez_monitor(port, out, seconds):
    stop = [False]
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))
    lat, failures, samples = [], [], []
    t_end = time.monotonic() + seconds
    while not stop[0] and time.monotonic() < t_end:
        status, _, el = http_get(port, "/livez", 2.0)
        now = time.monotonic()  # system-wide: the caller compares with its own marks
        if status == 200:
            lat.append(el * 1000.0)
            samples.append((round(now, 3), round(el * 1000.0, 2)))
        else:
            failures.append((round(now, 3), status))
        time.sleep(0.02)
    with open(out, "w") as f:
        json.dump({"latencies_ms": lat, "failures": failures, "samples": samples}, f)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "upstream":
        _run_upstream(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) >= 2 and sys.argv[1] == "livez-monitor":
        _run_livez_monitor(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
    else:
        print(__doc__)
        sys.exit(2)
