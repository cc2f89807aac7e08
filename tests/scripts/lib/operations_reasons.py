#!/usr/bin/env python3
"""docs/operations.md against the real thing: every reason the troubleshooting tables quote, the
"Port already in use" error lines, the grace-period prefix and the healthy empty-database answer
are produced by lettagate against the scripts/services stack (real PostgreSQL, Redis, the Letta
stand-in) and compared, shape for shape, with what the page says.

Shape: host names of the Letta stack and IPv4 addresses become <host>, digit runs <n>; the rest
must be equal, so a reworded message or a renamed reason_code fails here until the page follows.
Each table row is matched to a scenario by its first column; a row without a scenario fails too,
so a new row cannot go unchecked. The "cannot resolve" row runs lettagate in a private mount
namespace (unshare -m) whose /etc/hosts lacks the name and whose nsswitch.conf says files only:
no DNS query leaves the machine.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile

SRC = os.environ.get("LG_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
BIN = os.environ.get("LG_BINARY") or os.path.join(SRC, "build", "lettagate")
DOC = os.path.join(SRC, "docs", "operations.md")
ALL_OFF = {"letta": ["--letta-url", "off"], "postgres": ["--postgres-dsn", "off"],
           "redis": ["--redis-url", "off"], "nginx": ["--nginx-url", "off"]}

failures = []


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    failures.append(msg)


def ok(msg):
    print("ok   " + msg)


def shape(text):
    text = re.sub(r"\b(letta-server|letta-postgres|letta-redis|letta-nginx|localhost)\b", "<host>", text)
    text = re.sub(r"\b\d{1,3}(\.\d{1,3}){3}\b", "<host>", text)
    return re.sub(r"\d+", "<n>", text)


def env(name):
    v = os.environ.get(name)
    if not v:
        print("FAIL: %s is not set: run through scripts/test (it starts scripts/services)" % name, file=sys.stderr)
        sys.exit(1)
    return v


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dsn(db=None, password=None, port=None):
    """The stack's DSN with one part changed."""
    user = "letta"
    return "postgresql://%s:%s@127.0.0.1:%s/%s" % (user, password or env("LG_PG_PASSWORD"),
                                                   port or env("LG_PG_PORT"), db or "letta")


def wait_json(component, args, prefix=()):
    """`lettagate wait --json` with only `component` probed; its entry in the answer."""
    others = [a for name, off in ALL_OFF.items() if name != component for a in off]
    cmd = [*prefix, BIN, "wait", "--json", "--timeout", "2s", "--probe-interval", "500ms",
           "--probe-fall", "1", *others, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    try:
        return json.loads(p.stdout)["components"][component]
    except (ValueError, KeyError) as err:
        raise RuntimeError("wait gave no answer for %s (exit %d, %s): %s" % (component, p.returncode, err,
                                                                            p.stderr.strip()[-400:]))


def in_namespace(hosts_lines, tmp):
    """A command prefix: a private mount namespace with these /etc/hosts lines, files-only lookup."""
    hosts = os.path.join(tmp, "hosts")
    nss = os.path.join(tmp, "nsswitch.conf")
    with open(hosts, "w") as f:
        f.write("\n".join(hosts_lines) + "\n")
    with open(nss, "w") as f:
        f.write("hosts: files\n")
    script = 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf && shift 2 && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", hosts, nss]


def scenarios(tmp):
    """First column of the doc's tables -> (component, how to make lettagate report it)."""
    letta = env("LG_LETTA_URL")
    agents = int(env("LG_PG_AGENTS"))
    return {
        "fewer live agents than `--min-agents`":
            ("postgres", lambda: wait_json("postgres", ["--postgres-dsn", dsn(), "--min-agents", str(agents + 2)])),
        "a database Letta never migrated (no `agents` table)":
            ("postgres", lambda: wait_json("postgres", ["--postgres-dsn", dsn(db=env("LG_PG_DB_UNMIGRATED"))])),
        "a different PostgreSQL cluster than the pinned one":
            ("postgres", lambda: wait_json("postgres", ["--postgres-dsn", dsn(), "--postgres-identity", "123456789"])),
        "no pgvector in that database":
            ("postgres", lambda: wait_json("postgres", ["--postgres-dsn", dsn(db=env("LG_PG_DB_NOVECTOR"))])),
        "Letta not listening":
            ("letta", lambda: wait_json("letta", ["--letta-url", "http://127.0.0.1:%d" % closed_port()])),
        "Letta container missing, or lettagate not on `letta-network`":
            ("letta", lambda: wait_json("letta", ["--letta-url", "http://letta-server:8283"],
                                        prefix=in_namespace(["127.0.0.1 localhost"], tmp))),
        "health path without the slash":
            ("letta", lambda: wait_json("letta", ["--letta-url", letta, "--letta-path", "/v1/health"])),
        "Postgres":
            ("postgres", lambda: wait_json("postgres", ["--postgres-dsn", dsn(port=closed_port())])),
        "Postgres, wrong password":
            ("postgres", lambda: wait_json("postgres", ["--postgres-dsn", dsn(password="not-the-password")])),
        "Redis":
            ("redis", lambda: wait_json("redis", ["--redis-url", "redis://127.0.0.1:%d" % closed_port()])),
    }


def doc_rows(text):
    """(situation, reason_code, reason) of every troubleshooting table row."""
    rows = []
    for line in text.splitlines():
        m = re.match(r"^\| (.+?) \| `([a-z_]+)` \| (`+)(.+?)\3 \|$", line)
        if m:
            rows.append((m.group(1), m.group(2), m.group(4).strip()))
    return rows


def check_tables(text, tmp):
    known = scenarios(tmp)
    rows = doc_rows(text)
    if len(rows) < 10:
        fail("docs/operations.md: found %d reason rows, expected the two troubleshooting tables (10 or more)"
             % len(rows))
    for situation, code, reason in rows:
        if situation not in known:
            fail("docs/operations.md row '%s' has no scenario in %s: add one" % (situation, __file__))
            continue
        component, run = known[situation]
        got = run()
        label = "%s (%s)" % (situation, component)
        if got.get("reason_code") != code:
            fail("%s: docs say reason_code %s, lettagate says %s (%s)" % (label, code, got.get("reason_code"),
                                                                          got.get("reason")))
        elif shape(got.get("reason", "")) != shape(reason):
            fail("%s: docs say\n       %s\n     lettagate says\n       %s" % (label, reason, got.get("reason")))
        else:
            ok("%s: %s: %s" % (label, code, got["reason"]))


def check_empty_database(text):
    m = re.search(r"stays 200\s+and says `(PostgreSQL [^`]+)`", text)
    if not m:
        fail("docs/operations.md: the sentence on --min-agents 0 and its quoted answer are gone")
        return
    got = wait_json("postgres", ["--postgres-dsn", dsn(db=env("LG_PG_DB_FRESH")), "--min-agents", "0",
                                 "--probe-rise", "1"])
    if got.get("status") != "up" or shape(got.get("reason", "")) != shape(m.group(1)):
        fail("empty database with --min-agents 0: docs say up, '%s'; lettagate says %s, '%s'"
             % (m.group(1), got.get("status"), got.get("reason")))
    else:
        ok("empty database with --min-agents 0: up: %s" % got["reason"])


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
        ok("startup grace: unknown: %s" % got["reason"])


def check_port_in_use(text):
    m = re.search(r'### "Port already in use".*?```text\n(.*?)```', text, re.S)
    lines = [l for l in (m.group(1).splitlines() if m else []) if l.strip()]
    if len(lines) != 2:
        fail("docs/operations.md: expected the two 'cannot start' lines under \"Port already in use\"")
        return
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    busy = held.getsockname()[1]
    free = closed_port()
    off = [a for v in ALL_OFF.values() for a in v]
    runs = [  # the health port taken; then a forward route's port taken
        [BIN, "serve", "--listen", "127.0.0.1:%d" % busy, "--forward", "off", *off],
        [BIN, "serve", "--listen", "127.0.0.1:%d" % free, "--forward", "127.0.0.1:%d=letta-server:8283" % busy,
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
                ok("port in use: exit 1: %s" % out.strip().splitlines()[-1])
    finally:
        held.close()


def main():
    if not os.access(BIN, os.X_OK):
        print("FAIL: no lettagate binary at %s" % BIN, file=sys.stderr)
        return 1
    if os.geteuid() != 0:
        print("FAIL: needs root for unshare -m (the 'cannot resolve' row)", file=sys.stderr)
        return 1
    with open(DOC) as f:
        text = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        check_tables(text, tmp)
    check_empty_database(text)
    check_grace(text)
    check_port_in_use(text)
    if failures:
        print("%d of docs/operations.md's statements differ from what lettagate does" % len(failures), file=sys.stderr)
        return 1
    print("docs/operations.md: every quoted reason and error matches lettagate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
