#!/usr/bin/env python3
"""Secrets: the passwords lettagate is given never come out of it.

Against the real stack (scripts/services): lettagate runs with the Postgres and Redis passwords
and a Letta token (--letta-token) in every form it accepts (URL, key=value DSN, --redis-password, environment variables,
*_FILE files), at log
level trace, as text and as JSON lines, forwarding a port; and once more with WRONG passwords
(so every failure path that names the connection runs: auth failed, reasons, transitions). Each
time everything it says is collected: its whole log, /readyz, /status, /metrics, the status page
at /, `lettagate wait` (table and --json), `lettagate check`, `--help`, and the error messages
of bad configurations that carry a password. None may contain a password, percent-encoded or not.
"""

import os
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

ENDPOINTS = ["/readyz", "/status", "/metrics", "/", "/livez"]


def forms(secret):
    """A secret as it may appear: raw, percent-encoded, and encoded the way form bodies do."""
    return {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}


def check_clean(what, text, secrets):
    for s in secrets:
        for f in forms(s):
            if f and f in text:
                at = text.index(f)
                raise h.Fail("%s shows a password (%r) near: %r" % (what, f, text[max(0, at - 80):at + 80]))


def run_cli(args, env=None, timeout=60):
    r = subprocess.run([h.binary()] + args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ, **(env or {})))
    return r.returncode, r.stdout + r.stderr


def serve_and_collect(name, args, env, secrets, want_ready, fport=None, upstream_port=None):
    lg = h.Lettagate(name, args, env=env)
    lg.start()
    texts = []
    try:
        def settled():
            status, body = h.get_json(lg.port, "/status")
            if status == 0 or not body:
                return False
            comps = body.get("components", {})
            states = {c: v.get("status") for c, v in comps.items()}
            return all(s in ("up",) for s in states.values()) if want_ready else all(s == "down" for s in states.values())
        ok, secs = h.poll(settled, 30)
        if not ok:
            raise h.Fail("%s: components did not settle (%s) within 30 s: %s" % (name, "up" if want_ready else "down",
                                                                                h.http_get(lg.port, "/status")[1][:800]))
        for path in ENDPOINTS:
            status, body, _ = h.http_get(lg.port, path, 5.0)
            if status == 0:
                raise h.Fail("%s: no answer on %s" % (name, path))
            texts.append(("%s %s" % (name, path), body))
        if fport:  # a proxied exchange, so the forwarder's paths log too
            pool = h.Pool()
            c = pool.open(fport, 1, "secret-probe", keep=64)
            if c:
                pool.send(c[0], b"GET /v1/health/ HTTP/1.1\r\nHost: letta\r\nConnection: close\r\n\r\n")
                pool.pump(1.0)
            pool.close()
        rc, out = run_cli(["check", "--url", "http://127.0.0.1:%d/readyz" % lg.port])
        texts.append(("%s: lettagate check (exit %d)" % (name, rc), out))
        if want_ready and rc != 0:
            raise h.Fail("%s: lettagate check exited %d while ready: %s" % (name, rc, out))
    finally:
        lg.stop()
    texts.append(("%s: log" % name, lg.log_text()))
    for what, text in texts:
        check_clean(what, text, secrets)
    h.log("%s: %d outputs checked (log %d bytes), no password in any" % (name, len(texts), len(lg.log_text())))
    return len(texts)


def main():
    e = h.need_env("LG_LETTA_URL", "LG_PG_DSN", "LG_PG_PASSWORD", "LG_PG_HOST", "LG_PG_PORT", "LG_REDIS_AUTH_PORT",
                   "LG_REDIS_PASSWORD", "LG_NGINX_URL", "LG_LETTA_PORT")
    pg_pw, redis_pw = e["LG_PG_PASSWORD"], e["LG_REDIS_PASSWORD"]
    token = "letta-Token-3141"  # --letta-token: sent to Letta (the stand-in here is not secured)
    real = [pg_pw, redis_pw, token]
    wrong_pg, wrong_redis = "Wr0ng/pg@Secret%x", "Wr0ng-redis Secret"
    redis_url = "redis://:%s@127.0.0.1:%s" % (urllib.parse.quote(redis_pw, safe=""), e["LG_REDIS_AUTH_PORT"])
    kv_dsn = "host=%s port=%s dbname=letta user=letta password='%s' connect_timeout=2" % (
        e["LG_PG_HOST"], e["LG_PG_PORT"], pg_pw)
    common = ["--letta-url", e["LG_LETTA_URL"], "--nginx-url", e["LG_NGINX_URL"], "--probe-interval", "300ms",
              "--probe-timeout", "250ms", "--probe-rise", "1", "--probe-fall", "1", "--log-level", "trace"]
    checked = 0
    fport = h.free_port()

    # 1. Right passwords in URLs, text logs at trace, forwarding.
    checked += serve_and_collect("url-text", common + [
        "--postgres-dsn", e["LG_PG_DSN"], "--redis-url", redis_url, "--letta-token", token,
        "--forward", "127.0.0.1:%d=127.0.0.1:%s" % (fport, e["LG_LETTA_PORT"]), "--forward-health", "off"],
        None, real, True, fport=fport)
    # 2. Right passwords from the environment (key=value DSN, --redis-password), JSON logs.
    checked += serve_and_collect("env-json", common + ["--log-format", "json"], {
        "LETTAGATE_POSTGRES_DSN": kv_dsn, "LETTAGATE_REDIS_URL": "redis://127.0.0.1:%s" % e["LG_REDIS_AUTH_PORT"],
        "LETTAGATE_REDIS_PASSWORD": redis_pw, "LETTAGATE_LETTA_TOKEN": token, "LETTAGATE_FORWARD": "off"}, real, True)
    # 2b. Right passwords from files (LETTAGATE_*_FILE, as Docker secrets mount them).
    with tempfile.TemporaryDirectory(prefix="lg_secrets_") as tmp:
        files = {}
        for var, content in (("LETTAGATE_POSTGRES_DSN_FILE", kv_dsn), ("LETTAGATE_REDIS_PASSWORD_FILE", redis_pw),
                             ("LETTAGATE_LETTA_TOKEN_FILE", token)):
            files[var] = os.path.join(tmp, var.lower())
            with open(files[var], "w") as f:
                f.write(content + "\n")
        checked += serve_and_collect("file-text", common, dict(files, LETTAGATE_FORWARD="off",
                                     LETTAGATE_REDIS_URL="redis://127.0.0.1:%s" % e["LG_REDIS_AUTH_PORT"]), real, True)
    # 3. Wrong passwords: every failure reason and transition, text and JSON.
    wrong_dsn = "postgresql://letta:%s@%s:%s/letta" % (urllib.parse.quote(wrong_pg, safe=""), e["LG_PG_HOST"], e["LG_PG_PORT"])
    wrong_redis_url = "redis://:%s@127.0.0.1:%s" % (urllib.parse.quote(wrong_redis, safe=""), e["LG_REDIS_AUTH_PORT"])
    only_pg_redis = ["--letta-url", "off", "--nginx-url", "off", "--forward", "off", "--probe-interval", "300ms",
                     "--probe-timeout", "250ms", "--probe-fall", "1", "--log-level", "trace"]
    for fmt in ("text", "json"):
        checked += serve_and_collect("wrong-" + fmt, only_pg_redis + [
            "--log-format", fmt, "--postgres-dsn", wrong_dsn, "--redis-url", wrong_redis_url],
            None, real + [wrong_pg, wrong_redis], False)

    # 4. lettagate wait, as a table and as JSON, ready and not.
    wait_args = ["wait", "--timeout", "20s", "--letta-url", e["LG_LETTA_URL"], "--nginx-url", e["LG_NGINX_URL"],
                 "--postgres-dsn", e["LG_PG_DSN"], "--redis-url", redis_url]
    for extra in ([], ["--json"]):
        rc, out = run_cli(wait_args + extra)
        if rc != 0:
            raise h.Fail("lettagate wait %s exited %d: %s" % (" ".join(extra), rc, out[-800:]))
        check_clean("lettagate wait %s" % " ".join(extra), out, real)
        checked += 1
    rc, out = run_cli(["wait", "--timeout", "2s", "--json", "--letta-url", "off", "--nginx-url", "off",
                       "--postgres-dsn", wrong_dsn, "--redis-url", wrong_redis_url])
    if rc != 1:
        raise h.Fail("lettagate wait with wrong passwords exited %d, expected 1: %s" % (rc, out[-800:]))
    check_clean("lettagate wait (wrong passwords)", out, [wrong_pg, wrong_redis])
    checked += 1

    # 5. Bad configurations that carry a password: exit 2, the setting named, no password.
    s = "Cfg-Secret-5150"
    bad = [
        (["--postgres-dsn", "postgresql://letta:%s@host:notaport/letta" % s], "postgres-dsn"),
        (["--postgres-dsn", "postgresql://letta:%s/with/slash@host:5432/letta" % s], "postgres-dsn"),
        (["--redis-url", "rediss://:%s@host:6379" % s], "redis-url"),
        (["--redis-url", "redis://:%s@host:99999" % s], "redis-url"),
        (["--letta-url", "ftp://user:%s@host" % s], "letta-url"),
        (["--nginx-url", "http://u:%s@" % s], "nginx-url"),
        (["postgresql://letta:%s@host/letta" % s], "argument"),
        (["--no-such-flag=postgresql://letta:%s@host/letta" % s], None),
    ]
    for args, setting in bad:
        for cmd in (["serve"], ["wait"]):
            rc, out = run_cli(cmd + args)
            if rc != 2:
                raise h.Fail("%s exited %d, expected 2: %s" % (" ".join(cmd + args), rc, out))
            if setting and setting not in out:
                raise h.Fail("%s: the message does not name %s: %s" % (" ".join(cmd + args), setting, out))
            check_clean("error message of %s" % " ".join(cmd + args), out.replace(" ".join(args), ""), [s])
            check_clean("error message of %s" % " ".join(cmd + args), out, [s])
            checked += 1
    bad_env = {"LETTAGATE_POSTGRES_DSN": "postgresql://letta:%s@host:notaport/letta" % s}
    rc, out = run_cli(["serve"], env=bad_env)
    if rc != 2 or "LETTAGATE_POSTGRES_DSN" not in out:
        raise h.Fail("a bad LETTAGATE_POSTGRES_DSN exited %d (expected 2, naming the variable): %s" % (rc, out))
    check_clean("error message of a bad LETTAGATE_POSTGRES_DSN", out, [s])
    rc, out = run_cli(["check", "--url", "http://u:%s@127.0.0.1:1/readyz" % s])
    check_clean("lettagate check with a password in --url (exit %d)" % rc, out, [s])
    # 6. --help with secrets in the environment.
    rc, out = run_cli(["--help"], env={"LETTAGATE_POSTGRES_DSN": e["LG_PG_DSN"], "LETTAGATE_REDIS_PASSWORD": redis_pw,
                                       "LETTAGATE_LETTA_TOKEN": token})
    if rc != 0:
        raise h.Fail("--help exited %d" % rc)
    check_clean("--help", out, real)
    checked += 4
    h.write_results("secrets", {"outputs_checked": checked, "secrets": len(real) + 3})
    h.log("secrets: %d outputs checked, no password in any" % checked)


if __name__ == "__main__":
    try:
        main()
    except h.Fail as err:
        print("FAIL: %s" % err, flush=True)
        sys.exit(1)
