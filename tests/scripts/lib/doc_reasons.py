#!/usr/bin/env python3
"""The reasons the docs quote against the real thing. Every row of the reason tables in
docs/operations.md (troubleshooting) and docs/probes.md (Redis, Letta API, nginx SSE proxy,
Postgres), the "Port already in use" error lines, the grace-period prefix and the healthy
empty-database answer are made to happen with lettagate against the scripts/services stack (real
PostgreSQL, Redis and nginx, the Letta stand-in) and compared with what the page says.

Shape: host names of the Letta stack and IPv4 addresses become <host>, the test databases
(letta_fresh, ...) `letta`, digit runs <n>; in the docs, `…` and `(...)` stand for anything. The
rest must be equal, so a reworded message or a renamed reason_code fails here until the page
follows. A row is matched to a scenario by its section and its situation column; a row with no
scenario fails, so a new row cannot go unchecked. The few situations that need a server in a
state this script cannot cheaply make (a Redis loading a dataset, a lock held by a migration,
...) are listed in ELSEWHERE with the test that covers them, and that test must name the
reason_code: most make the situation against real servers; max_connections and 57P01 are
checked there as SQLSTATE mappings.

Names that must not resolve run lettagate in a private mount namespace (unshare -m) whose
/etc/hosts lacks them and whose nsswitch.conf says files only: no DNS query leaves the machine.
"""
import concurrent.futures
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request

SRC = os.environ.get("LG_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
BIN = os.environ.get("LG_BINARY") or os.path.join(SRC, "build", "lettagate")
ALL_OFF = {"letta": ["--letta-url", "off"], "postgres": ["--postgres-dsn", "off"],
           "redis": ["--redis-url", "off"], "nginx": ["--nginx-url", "off"]}
SSE_PATH = "/_standin/sse?events=5&interval_ms=300&hold_s=10"

# (doc, section, situation) -> the test that makes this situation happen (and names the code).
ELSEWHERE = {
    ("probes.md", "Redis", "`-LOADING` to PING, or `loading:1` in INFO (after a restart with a big dataset)"):
        "tests/integration/redis_probe_test.cpp",
    ("probes.md", "nginx SSE proxy", "headers but no body byte within the deadline"):
        "tests/integration/sse_check_test.cpp",
    ("probes.md", "nginx SSE proxy", "bytes came (comments, an unfinished event), no complete event"):
        "tests/integration/sse_check_test.cpp",
    ("probes.md", "nginx SSE proxy", "the stream ended before its first event"):
        "tests/integration/sse_check_test.cpp",
    ("probes.md", "nginx SSE proxy", "an event over 1 MiB"):
        "tests/integration/sse_check_test.cpp",
    ("probes.md", "Postgres", "53300 (`max_connections` reached)"): "tests/unit/pg_checks_test.cpp",
    ("probes.md", "Postgres", "57P03: starting up, shutting down, in recovery"):
        "tests/integration/postgres_probe_test.cpp",
    ("probes.md", "Postgres", "57P01/57P02: the server ended the session mid-probe"): "tests/unit/pg_checks_test.cpp",
    ("probes.md", "Postgres", "55P03: our `lock_timeout` on `agents` (a migration holding a lock)"):
        "tests/integration/postgres_probe_test.cpp",
    ("probes.md", "Postgres", "42501, e.g. the pinned identity cannot be read"):
        "tests/integration/postgres_probe_test.cpp",
}

failures = []


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    failures.append(msg)


def ok(msg):
    print("ok   " + msg)


def env(name):
    v = os.environ.get(name)
    if not v:
        print("FAIL: %s is not set: run through scripts/test (it starts scripts/services)" % name, file=sys.stderr)
        sys.exit(1)
    return v


# ---------------------------------------------------------------------------------------------
# shapes

def shape(text):
    text = re.sub(r"\b(letta-server|letta-postgres|letta-redis|letta-nginx|localhost)\b", "<host>", text)
    text = re.sub(r"\b\d{1,3}(\.\d{1,3}){3}\b", "<host>", text)
    text = re.sub(r"\bletta_[a-z0-9_]+\b", "letta", text)
    return re.sub(r"\d+", "<n>", text)


def matches(doc_reason, live_reason):
    pattern = re.escape(shape(doc_reason))
    for wildcard in (re.escape("(...)"), re.escape("…")):
        pattern = pattern.replace(wildcard, ".*")
    return re.fullmatch(pattern, shape(live_reason)) is not None


# ---------------------------------------------------------------------------------------------
# servers and lettagate runs

_held = []


def closed_port():
    """A loopback port that refuses connections and stays so: bound, never listening, held
    until the script ends (nothing else can take it meanwhile)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _held.append(s)
    return s.getsockname()[1]


def free_port():
    """A loopback port nobody holds now (for a server about to start on it)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Listener:
    """A loopback port that accepts into the backlog and never answers (silent), or accepts,
    reads the request and closes without a word (closing)."""

    def __init__(self, closing=False):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        if closing:
            threading.Thread(target=self._close_all, daemon=True).start()

    def _close_all(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(2)
            try:
                c.recv(65536)
            except OSError:
                pass
            c.close()

    def close(self):
        self.sock.close()


class NotFoundServer:
    """A plain HTTP server with nothing to serve: every path is 404."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_error(404)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class MismatchDatabase:
    """A database laid out like Letta's (schema letta, search_path, vector) whose agents table
    is not Letta's (no is_deleted). Made over the unix socket as scripts/services does (trust
    for local connections), dropped afterwards."""

    NAME = "letta_schema_mismatch"

    def __init__(self):
        self.psql("postgres", "postgres", "DROP DATABASE IF EXISTS %s" % self.NAME)
        self.psql("postgres", "postgres", "CREATE DATABASE %s OWNER letta" % self.NAME)
        self.psql("postgres", self.NAME, "CREATE SCHEMA letta AUTHORIZATION letta; "
                  "ALTER DATABASE %s SET search_path TO letta; "
                  "CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA letta" % self.NAME)
        self.psql("letta", self.NAME, "CREATE TABLE agents (id text PRIMARY KEY, name text)")

    @staticmethod
    def psql(user, db, sql):
        p = subprocess.run([os.path.join(env("LG_PG_BIN"), "psql"), "-X", "-q", "-h", env("LG_PG_SOCKDIR"),
                            "-p", env("LG_PG_PORT"), "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError("psql %s: %s" % (sql, p.stderr.strip()))

    def close(self):
        self.psql("postgres", "postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.NAME)


def standin_mode(mode, ms=None):
    url = env("LG_LETTA_URL") + "/_standin/mode" + ("?ms=%d" % ms if ms else "")
    req = urllib.request.Request(url, data=mode.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        if r.read().decode() != mode:
            raise RuntimeError("the stand-in did not switch to mode %s" % mode)


def namespace(tmp, hosts_lines):
    """A command prefix: a private mount namespace with these /etc/hosts lines, files-only lookup."""
    where = tempfile.mkdtemp(dir=tmp)  # one pair of files per run: scenarios run side by side
    hosts = os.path.join(where, "hosts")
    nss = os.path.join(where, "nsswitch.conf")
    with open(hosts, "w") as f:
        f.write("\n".join(hosts_lines) + "\n")
    with open(nss, "w") as f:
        f.write("hosts: files\n")
    script = 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf && shift 2 && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", hosts, nss]


def wait_json(component, args, prefix=(), timeout="2s"):
    """`lettagate wait --json` with only `component` probed; its entry in the answer."""
    others = [a for name, off in ALL_OFF.items() if name != component for a in off]
    cmd = [*prefix, BIN, "wait", "--json", "--timeout", timeout, "--probe-interval", "500ms",
           "--probe-fall", "1", "--probe-rise", "1", *others, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    try:
        return json.loads(p.stdout)["components"][component]
    except (ValueError, KeyError) as err:
        raise RuntimeError("wait gave no answer for %s (exit %d, %s): %s" % (component, p.returncode, err,
                                                                            p.stderr.strip()[-400:]))


def dsn(db=None, password=None, host=None, port=None):
    """The stack's DSN with one part changed."""
    return "postgresql://letta:%s@%s:%s/%s" % (password or env("LG_PG_PASSWORD"), host or "127.0.0.1",
                                               port or env("LG_PG_PORT"), db or "letta")


# ---------------------------------------------------------------------------------------------
# scenarios: (doc, section, situation) -> a function returning lettagate's answer

class Scenarios:
    def __init__(self, tmp):
        self.tmp = tmp
        self.letta = env("LG_LETTA_URL")
        self.nginx = env("LG_NGINX_URL")
        self.redis = "redis://127.0.0.1:%s" % env("LG_REDIS_PORT")
        self.redis_auth_port = env("LG_REDIS_AUTH_PORT")
        self.agents = int(env("LG_PG_AGENTS"))

    def pg(self, *args, **kw):
        return wait_json("postgres", list(args), **kw)

    @staticmethod
    def exclusive(fn):
        """Marks a scenario that switches the shared stand-in's mode: it runs alone."""
        fn.exclusive = True
        return fn

    def letta_with(self, mode, *args, ms=None):
        standin_mode(mode, ms)
        try:
            return wait_json("letta", ["--letta-url", self.letta, *args])
        finally:
            standin_mode("ok")

    def nginx_with(self, mode, *args):
        standin_mode(mode)
        try:
            return wait_json("nginx", ["--nginx-url", self.nginx, *args])
        finally:
            standin_mode("ok")

    def unresolvable(self):
        return namespace(self.tmp, ["127.0.0.1 localhost"])

    @staticmethod
    def with_fixture(fixture, run):
        """run(fixture), then fixture.close() whatever happened."""
        try:
            return run(fixture)
        finally:
            fixture.close()

    def table(self):
        s = self
        closed = closed_port
        x = Scenarios.exclusive
        ops, probes = "operations.md", "probes.md"
        t = {
            # docs/operations.md, "No agents found"
            (ops, "Troubleshooting", "fewer live agents than `--min-agents`"):
                lambda: s.pg("--postgres-dsn", dsn(), "--min-agents", str(s.agents + 2)),
            (ops, "Troubleshooting", "a database Letta never migrated (no `agents` table)"):
                lambda: s.pg("--postgres-dsn", dsn(db=env("LG_PG_DB_UNMIGRATED"))),
            (ops, "Troubleshooting", "a different PostgreSQL cluster than the pinned one"):
                lambda: s.pg("--postgres-dsn", dsn(), "--postgres-identity", "123456789"),
            (ops, "Troubleshooting", "no pgvector in that database"):
                lambda: s.pg("--postgres-dsn", dsn(db=env("LG_PG_DB_NOVECTOR"))),
            # docs/operations.md, "Connection refused to Letta"
            (ops, "Troubleshooting", "Letta not listening"):
                lambda: wait_json("letta", ["--letta-url", "http://127.0.0.1:%d" % closed()]),
            (ops, "Troubleshooting", "Letta container missing, or lettagate not on `letta-network`"):
                lambda: wait_json("letta", ["--letta-url", "http://letta-server:8283"], prefix=s.unresolvable()),
            (ops, "Troubleshooting", "health path without the slash"):
                lambda: wait_json("letta", ["--letta-url", s.letta, "--letta-path", "/v1/health"]),
            (ops, "Troubleshooting", "Postgres"):
                lambda: s.pg("--postgres-dsn", dsn(port=closed())),
            (ops, "Troubleshooting", "Postgres, wrong password"):
                lambda: s.pg("--postgres-dsn", dsn(password="not-the-password")),
            (ops, "Troubleshooting", "Redis"):
                lambda: wait_json("redis", ["--redis-url", "redis://127.0.0.1:%d" % closed()]),

            # docs/probes.md, Redis
            (probes, "Redis", "PONG and INFO not loading"):
                lambda: wait_json("redis", ["--redis-url", s.redis]),
            (probes, "Redis", "nothing listens on the port"):
                lambda: wait_json("redis", ["--redis-url", "redis://127.0.0.1:%d" % closed()]),
            (probes, "Redis", "the host does not resolve"):
                lambda: wait_json("redis", ["--redis-url", "redis://letta-redis:6379"], prefix=s.unresolvable()),
            (probes, "Redis", "`-WRONGPASS`, `-ERR invalid password`, any AUTH error; also a password sent to a "
                              "Redis that has none"):
                lambda: wait_json("redis", ["--redis-url", "redis://:not-the-password@127.0.0.1:%s"
                                            % s.redis_auth_port]),
            (probes, "Redis", "`-NOAUTH`: the server needs a password and none is configured"):
                lambda: wait_json("redis", ["--redis-url", "redis://127.0.0.1:%s" % s.redis_auth_port]),
            (probes, "Redis", "no result within the probe timeout (the runner's deadline; a black-holed host)"):
                lambda: s.with_fixture(Listener(), lambda l: wait_json(
                    "redis", ["--redis-url", "redis://127.0.0.1:%d" % l.port, "--redis-interval", "1s",
                              "--redis-timeout", "1s"])),
            (probes, "Redis", "anything else: another error reply, a lost connection, a connect error other "
                              "than refused"):
                lambda: wait_json("redis", ["--redis-url", s.redis + "/99"]),

            # docs/probes.md, Letta API
            (probes, "Letta API", "accepted status, body and JSON as expected"):
                lambda: wait_json("letta", ["--letta-url", s.letta]),
            (probes, "Letta API", "passed, slower than `--letta-degraded-after`"):
                x(lambda: s.letta_with("slow", "--letta-degraded-after", "100ms", ms=300)),
            (probes, "Letta API", "a 3xx not in the accepted list"):
                lambda: wait_json("letta", ["--letta-url", s.letta, "--letta-path", "/v1/health"]),
            (probes, "Letta API", "a 5xx"): x(lambda: s.letta_with("500")),
            (probes, "Letta API", "any other status not accepted (404, 401, …)"):
                lambda: s.with_fixture(NotFoundServer(), lambda n: wait_json(
                    "letta", ["--letta-url", "http://127.0.0.1:%d" % n.port])),
            (probes, "Letta API", "the substring is missing, the body is not a JSON object, the field is missing "
                                  "or differs"):
                x(lambda: s.letta_with("bad_body")),
            (probes, "Letta API", "`--letta-ready` and `/v1/ready/` answered 503"):
                x(lambda: s.letta_with("warming", "--letta-ready=true")),
            (probes, "Letta API", "no complete answer within the timeout (a hung server)"):
                x(lambda: s.letta_with("hang", "--letta-interval", "1s", "--letta-timeout", "1s")),
            (probes, "Letta API", "nothing listens"):
                lambda: wait_json("letta", ["--letta-url", "http://127.0.0.1:%d" % closed()]),
            (probes, "Letta API", "the name does not resolve"):
                lambda: wait_json("letta", ["--letta-url", "http://letta-server:8283"], prefix=s.unresolvable()),
            (probes, "Letta API", "the connection failed, closed before the answer ended, the answer is not HTTP, "
                                  "a body over 1 MiB, another socket error"):
                lambda: s.with_fixture(Listener(closing=True), lambda l: wait_json(
                    "letta", ["--letta-url", "http://127.0.0.1:%d" % l.port])),

            # docs/probes.md, nginx SSE proxy
            (probes, "nginx SSE proxy", "200 (and JSON ok) through nginx; first event in time"):
                lambda: wait_json("nginx", ["--nginx-url", s.nginx, "--sse-url", SSE_PATH]),
            (probes, "nginx SSE proxy", "as for Letta (a 502 from nginx is `http_5xx`)"):
                lambda: wait_json("nginx", ["--nginx-url", s.nginx, "--nginx-health-path", "/v1/no-such-route/"]),
            (probes, "nginx SSE proxy", "the connection failed"):
                lambda: wait_json("nginx", ["--nginx-url", "http://127.0.0.1:%d" % closed()]),
            (probes, "nginx SSE proxy", "not 200, or not `text/event-stream`"):
                lambda: wait_json("nginx", ["--nginx-url", s.nginx, "--sse-url", "/v1/health/"]),
            (probes, "nginx SSE proxy", "not even the headers within the deadline"):
                lambda: wait_json("nginx", ["--nginx-url", "http://127.0.0.1:%s" % env("LG_NGINX_BUFFERED_PORT"),
                                            "--sse-url", SSE_PATH, "--sse-deadline", "1s", "--nginx-interval", "2s",
                                            "--nginx-timeout", "2s"], timeout="3s"),
            (probes, "nginx SSE proxy", "the runner's cut (a hung route; the HTTP check has no deadline of its own)"):
                x(lambda: s.nginx_with("hang", "--nginx-interval", "1s", "--nginx-timeout", "1s")),

            # docs/probes.md, Postgres
            (probes, "Postgres", "every check passed"): lambda: s.pg("--postgres-dsn", dsn()),
            (probes, "Postgres", "nothing listens (PostgreSQL stopped)"):
                lambda: s.pg("--postgres-dsn", dsn(port=closed())),
            (probes, "Postgres", "a host name does not resolve"):
                lambda: s.pg("--postgres-dsn", dsn(host="letta-postgres", port=5432), prefix=s.unresolvable()),
            (probes, "Postgres", "no result within the probe timeout (the runner's; a black-holed host), or our "
                                 "`statement_timeout` (57014)"):
                lambda: s.with_fixture(Listener(), lambda l: s.pg(
                    "--postgres-dsn", dsn(port=l.port), "--postgres-interval", "1s", "--postgres-timeout", "1s")),
            (probes, "Postgres", "28P01 wrong password, 28000 no `pg_hba.conf` entry, or no password supplied"):
                lambda: s.pg("--postgres-dsn", dsn(password="not-the-password")),
            (probes, "Postgres", "3D000"): lambda: s.pg("--postgres-dsn", dsn(db="letta_no_such_db")),
            (probes, "Postgres", "42P01/42703: `agents` exists but not as Letta's (no `is_deleted`)"):
                lambda: s.with_fixture(MismatchDatabase(), lambda m: s.pg("--postgres-dsn", dsn(db=m.NAME))),
            (probes, "Postgres", "the connection dropped, was reset, no route, a TLS failure"):
                lambda: s.with_fixture(Listener(closing=True), lambda l: s.pg("--postgres-dsn", dsn(port=l.port))),
            (probes, "Postgres", "no `agents` table through the search_path"):
                lambda: s.pg("--postgres-dsn", dsn(db=env("LG_PG_DB_UNMIGRATED"))),
            (probes, "Postgres", "live agents below `--min-agents`"):
                lambda: s.pg("--postgres-dsn", dsn(db=env("LG_PG_DB_FRESH")), "--min-agents", "3"),
            (probes, "Postgres", "no `vector` extension and `--require-pgvector`"):
                lambda: s.pg("--postgres-dsn", dsn(db=env("LG_PG_DB_NOVECTOR"))),
            (probes, "Postgres", "system identifier differs from the pin"):
                lambda: s.pg("--postgres-dsn", dsn(), "--postgres-identity", "7000000000000000001"),
        }
        return t


# ---------------------------------------------------------------------------------------------
# the docs' tables

def table_rows(doc, text):
    """(section, situation, codes, status, reason) of every row of a table with a reason_code column whose
    example is quoted; section = the nearest `## ` heading."""
    rows, section, header = [], "", None
    for line in text.splitlines():
        if line.startswith("## "):
            section, header = line[3:].strip(), None
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        if "reason_code" not in header:
            continue
        code_col = header.index("reason_code")
        situation_col = next(i for i, h in enumerate(header) if i != code_col and h not in ("check",))
        quoted = re.search(r"(`+)(.+?)\1", cells[-1])
        if not quoted:
            continue  # "the server's or libpq's message": nothing to compare
        status = re.search(r"status `([a-z_]+)`", cells[code_col])  # "`ok` + status `degraded`"
        codes = re.findall(r"`([a-z0-9_]+)`", re.sub(r"status `[a-z_]+`", "", cells[code_col]))
        rows.append((section, cells[situation_col], codes, status.group(1) if status else None,
                     quoted.group(2).strip()))
    return rows


def run_all(scenarios, keys):
    """Runs the scenarios: those that switch the stand-in's mode one by one, the rest four at a
    time (each is a lettagate of its own against its own ports). key -> answer or exception."""
    def attempt(key):
        try:
            return scenarios[key]()
        except (RuntimeError, OSError, subprocess.SubprocessError) as err:
            return err
    alone = [k for k in keys if getattr(scenarios[k], "exclusive", False)]
    shared = [k for k in keys if k not in alone]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(shared, pool.map(attempt, shared)))
    results.update({k: attempt(k) for k in alone})
    return results


def check_tables(scenarios):
    seen = set()
    docs = {}
    for doc in ("operations.md", "probes.md"):
        with open(os.path.join(SRC, "docs", doc)) as f:
            docs[doc] = table_rows(doc, f.read())
        if len(docs[doc]) < 10:
            fail("docs/%s: found %d reason rows; the tables' layout changed?" % (doc, len(docs[doc])))
    wanted = {(doc, r[0], r[1]) for doc, rows in docs.items() for r in rows}
    results = run_all(scenarios, [k for k in scenarios if k in wanted and k not in ELSEWHERE])
    for doc, rows in docs.items():
        for section, situation, codes, status, reason in rows:
            key = (doc, section, situation)
            seen.add(key)
            label = "%s, %s: %s" % (doc, section, situation)
            if key in ELSEWHERE:
                path = ELSEWHERE[key]
                with open(os.path.join(SRC, path)) as f:
                    body = f.read()
                if any(c in body for c in codes):
                    ok("%s: made in %s" % (label, path))
                else:
                    fail("%s: %s is named as its test but mentions none of %s" % (label, path, codes))
                continue
            if key not in scenarios:
                fail("%s: no scenario for this row in %s: add one (or name its test in ELSEWHERE)"
                     % (label, __file__))
                continue
            got = results[key]
            if isinstance(got, Exception):
                fail("%s: the scenario did not run: %s" % (label, got))
                continue
            code, live = got.get("reason_code"), got.get("reason", "")
            if code not in codes:
                fail("%s: docs say reason_code %s, lettagate says %s (%s)" % (label, "/".join(codes), code, live))
            elif status and got.get("status") != status:
                fail("%s: docs say status %s, lettagate says %s (%s)" % (label, status, got.get("status"), live))
            elif not matches(reason, live):
                fail("%s: docs say\n       %s\n     lettagate says\n       %s" % (label, reason, live))
            else:
                ok("%s: %s (%s): %s" % (label, code, got.get("status"), live))
    for key in sorted(set(scenarios) - seen):
        fail("scenario %s matches no row of the docs any more: reworded? update the key" % (key,))
    for key in sorted(set(ELSEWHERE) - seen):
        fail("ELSEWHERE entry %s matches no row of the docs any more" % (key,))


# ---------------------------------------------------------------------------------------------
# docs/operations.md's prose

def check_empty_database(text):
    m = re.search(r"stays 200\s+and says `(PostgreSQL [^`]+)`", text)
    if not m:
        fail("docs/operations.md: the sentence on --min-agents 0 and its quoted answer are gone")
        return
    got = wait_json("postgres", ["--postgres-dsn", dsn(db=env("LG_PG_DB_FRESH")), "--min-agents", "0"])
    if got.get("status") != "up" or not matches(m.group(1), got.get("reason", "")):
        fail("empty database with --min-agents 0: docs say up, '%s'; lettagate says %s, '%s'"
             % (m.group(1), got.get("status"), got.get("reason")))
    else:
        ok("operations.md: empty database with --min-agents 0: up: %s" % got["reason"])


def check_grace(text):
    m = re.search(r"reason prefixed\s+`([^`]+)`", text)
    if not m:
        fail("docs/operations.md: the startup grace prefix is no longer quoted")
        return
    prefix = " ".join(m.group(1).split())  # the quote may wrap
    got = wait_json("letta", ["--letta-url", "http://127.0.0.1:%d" % closed_port(), "--startup-grace", "30s"])
    if got.get("status") != "unknown" or not got.get("reason", "").startswith(prefix):
        fail("startup grace: docs say unknown, '%s ...'; lettagate says %s, '%s'"
             % (prefix, got.get("status"), got.get("reason")))
    else:
        ok("operations.md: startup grace: unknown: %s" % got["reason"])


def check_port_in_use(text):
    m = re.search(r'### "Port already in use".*?```text\n(.*?)```', text, re.S)
    lines = [l for l in (m.group(1).splitlines() if m else []) if l.strip()]
    if len(lines) != 2:
        fail("docs/operations.md: expected the two 'cannot start' lines under \"Port already in use\"")
        return
    held = Listener()
    free = free_port()
    off = [a for v in ALL_OFF.values() for a in v]
    runs = [  # the health port taken; then a forward route's port taken
        [BIN, "serve", "--listen", "127.0.0.1:%d" % held.port, "--forward", "off", *off],
        [BIN, "serve", "--listen", "127.0.0.1:%d" % free, "--forward", "127.0.0.1:%d=letta-server:8283" % held.port,
         "--forward-health", "off", *off],
    ]
    try:
        for doc_line, cmd in zip(lines, runs):
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            out = p.stdout + p.stderr
            if p.returncode != 1 or shape(doc_line) not in shape(out):
                fail("port in use: docs say exit 1 and\n       %s\n     lettagate exited %d with\n       %s"
                     % (doc_line, p.returncode, out.strip()[-400:]))
            else:
                ok("operations.md: port in use: exit 1: %s" % out.strip().splitlines()[-1])
    finally:
        held.close()


def main():
    if not os.access(BIN, os.X_OK):
        print("FAIL: no lettagate binary at %s" % BIN, file=sys.stderr)
        return 1
    if os.geteuid() != 0:
        print("FAIL: needs root for unshare -m (the names that must not resolve)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        check_tables(Scenarios(tmp).table())
    with open(os.path.join(SRC, "docs", "operations.md")) as f:
        text = f.read()
    check_empty_database(text)
    check_grace(text)
    check_port_in_use(text)
    if failures:
        print("%d statements of the docs differ from what lettagate does" % len(failures), file=sys.stderr)
        return 1
    print("docs/operations.md and docs/probes.md: every quoted reason and error matches lettagate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
