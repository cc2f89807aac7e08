#!/usr/bin/env python3
"""Configuration errors never show a password: a generator of bad configurations.

Every setting that takes a URL, a DSN or a secret (--letta-url, --nginx-url, --sse-url,
--postgres-dsn as a URL and as key=value, --redis-url, --forward, --letta-token), every kind of
malformation below, and passwords holding '@', '/', ':', '%', spaces, quotes, a backslash, '?',
'&', '#', ',' and non-ASCII letters; each given as a flag (--x v and --x=v), as its LETTAGATE_*
variable and, for secret settings, through a file (LETTAGATE_X_FILE and --x-file). The real
binary runs `serve` and `wait` with each (and `check` on its --url and with the bad variable):
the exit code must be 2, the message must name the setting as it was given (flag, variable or
file variable and path), and the password must appear nowhere in stdout or stderr: not whole,
not percent-encoded, not as a piece between delimiters (libpq quotes single tokens).

Also: a misspelt variable or flag carrying a password, a bare URL argument, both X and X_FILE,
and unreadable, empty or directory secret files.

Needs no services: every case is refused before a socket is opened. A case the binary accepts
runs until a bound (wait --timeout 1s; serve is killed after 4 s on a loopback port of its own)
and fails. By default every malformation meets every other password (the next one the others),
serve and wait and the sources taken in turn; --mode all crosses every password with every
malformation, --mode quick takes one password through every source (for a run against an old
binary that accepts some cases and so waits out the bounds); a sanitized binary gets --mode one.
"""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lgharness as h  # noqa: E402

PASSWORDS = ["Zq81Wv3kPlain", "Ab7@Xy9Q", "Cd3/Ef8R/Gh2", "Jk5:Lm6T", "Np4%Qr%zz", "St2 Uv7W", "Wx3'Yz8\"Ba",
             "Kö9ñŁ7ü", "Mn6?Op1&Qs", "Rt4,Sx5", "Bk8\\Cl2", "Dm9#En3", "Hp2=Iq4"]
DELIMS = re.compile(r"[\s'\"\\/@:?&=,;%#]+")
SERVE_BOUND, WAIT_BOUND = 4.0, 6.0


def enc(pw):
    return urllib.parse.quote(pw, safe="")


def kv_quote(pw):
    return pw.replace("\\", "\\\\").replace("'", "\\'")


# (setting, malformation, value builder). Each value is malformed however the password reads.
HTTP = [
    ("credentials", lambda p: "http://user:%s@letta:8283" % enc(p)),
    ("password only", lambda p: "http://:%s@letta:8283" % enc(p)),
    ("unencoded password", lambda p: "http://user:%s@letta:8283" % p),
    ("no host", lambda p: "http://user:%s@" % enc(p)),
    ("no host, no '@'", lambda p: "http://user:%s" % enc(p)),
    ("empty host", lambda p: "http://user:%s@:8283" % enc(p)),
    ("bad port", lambda p: "http://user:%s@letta:port" % enc(p)),
    ("huge port", lambda p: "http://user:%s@letta:99999999999" % enc(p)),
    ("malformed IPv6", lambda p: "http://user:%s@[::1:8283" % enc(p)),
    ("IPv6 without brackets", lambda p: "http://user:%s@::1:8283" % enc(p)),
    ("bad scheme", lambda p: "https://user:%s@letta:8283" % enc(p)),
    ("not a URL", lambda p: "user:%s@letta:8283" % enc(p)),
    ("space in the path", lambda p: "http://user:%s@letta:8283/a b" % enc(p)),
]
POSTGRES_URL = [
    ("bad port", lambda p: "postgresql://letta:%s@db:notaport/letta" % enc(p)),
    ("huge port", lambda p: "postgresql://letta:%s@db:99999999999/letta" % enc(p)),
    ("port out of range", lambda p: "postgresql://letta:%s@db:65536/letta" % enc(p)),
    ("malformed IPv6", lambda p: "postgresql://letta:%s@[::1/letta" % enc(p)),
    ("empty IPv6", lambda p: "postgresql://letta:%s@[]:5432/letta" % enc(p)),
    ("unknown query parameter", lambda p: "postgresql://letta:%s@db:5432/letta?nosuchparam=1" % enc(p)),
    ("bad percent-encoding", lambda p: "postgresql://letta:%s%%zz@db:5432/letta" % enc(p)),
    ("NUL percent-encoded", lambda p: "postgresql://letta:%s%%00@db:5432/letta" % enc(p)),
    ("no host, no '@'", lambda p: "postgresql://letta:%s" % enc(p)),
    ("unencoded password, bad port", lambda p: "postgresql://letta:%s@db:x/letta" % p),
    ("bad scheme", lambda p: "postgresq://letta:%s@db:5432/letta" % enc(p)),
]
POSTGRES_KV = [
    ("unterminated quote", lambda p: "host=db dbname=letta password='%s" % kv_quote(p)),
    ("unterminated quote, escaped last quote", lambda p: "host=db password='%s\\'" % kv_quote(p)),
    ("unknown key", lambda p: "host=db password='%s' nosuchkey=1" % kv_quote(p)),
    ("missing '='", lambda p: "host=db password='%s' dbname" % kv_quote(p)),
    ("bad port", lambda p: "host=db port=abc password='%s'" % kv_quote(p)),
    ("huge port", lambda p: "host=db port=99999999999 password='%s'" % kv_quote(p)),
    ("unquoted password, unknown key", lambda p: "host=db password=%s nosuchkey=1" % p.replace("\\", "\\\\")),
]
REDIS = [
    ("no host", lambda p: "redis://:%s" % enc(p)),
    ("no host, user", lambda p: "redis://user:%s" % enc(p)),
    ("empty host", lambda p: "redis://:%s@:6379" % enc(p)),
    ("bad port", lambda p: "redis://:%s@r:notaport" % enc(p)),
    ("huge port", lambda p: "redis://:%s@r:99999999999" % enc(p)),
    ("malformed IPv6", lambda p: "redis://:%s@[::1:6379" % enc(p)),
    ("IPv6 without brackets", lambda p: "redis://:%s@::1:6379" % enc(p)),
    ("bad scheme", lambda p: "rediss://:%s@r:6379" % enc(p)),
    ("not a URL", lambda p: ":%s@r:6379" % enc(p)),
    ("bad database", lambda p: "redis://:%s@r:6379/notadb" % enc(p)),
    ("unencoded password, bad port", lambda p: "redis://:%s@r:notaport" % p),
]
FORWARD = [
    ("userinfo in the upstream", lambda p: "127.0.0.1:18283=user:%s@letta:8283" % enc(p)),
    ("unencoded userinfo in the upstream", lambda p: "127.0.0.1:18283=user:%s@letta:8283" % p),
    ("URL as the upstream", lambda p: "127.0.0.1:18283=http://user:%s@letta:8283" % enc(p)),
    ("host name as LISTEN", lambda p: "localhost:18283=user:%s@letta:8283" % enc(p)),
    ("no '='", lambda p: "127.0.0.1:18283:user:%s@letta" % enc(p)),
]
TOKEN = [("line break", lambda p: p + "\nmore")]

# setting -> (malformations, has a _FILE variant)
SETTINGS = {
    "letta-url": (HTTP, False), "nginx-url": (HTTP, False), "sse-url": (HTTP, False),
    "postgres-dsn": (POSTGRES_URL + POSTGRES_KV, True), "redis-url": (REDIS, True),
    "forward": (FORWARD, False), "letta-token": (TOKEN, True),
}
SECRET_SETTINGS = ["postgres-dsn", "redis-url", "redis-password", "letta-token"]


def env_name(setting):
    return "LETTAGATE_" + setting.upper().replace("-", "_")


def forms(pw):
    """The password as a message might show it: whole, encoded, and its pieces of 3+ characters."""
    out = {pw, enc(pw), urllib.parse.quote_plus(pw), kv_quote(pw)}
    out |= {piece for piece in DELIMS.split(pw) if len(piece) >= 3}
    return out


class Case:
    def __init__(self, what, argv, env, pw, names, want_exit=2):
        self.what, self.argv, self.env, self.pw, self.names, self.want_exit = what, argv, env, pw, names, want_exit


def run_case(case):
    """Runs one case; returns None or why it failed."""
    bound = WAIT_BOUND if case.argv[:1] == ["wait"] else SERVE_BOUND
    env = {k: v for k, v in os.environ.items() if not k.startswith("LETTAGATE_")}
    env.update(case.env)
    try:
        r = subprocess.run([h.binary()] + case.argv, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                           timeout=bound)
        rc, out = r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")
    except subprocess.TimeoutExpired as t:
        rc, out = None, ((t.stdout or b"") + (t.stderr or b"")).decode("utf-8", "replace")
    for f in sorted(forms(case.pw), key=len, reverse=True):
        if f in out:
            at = out.index(f)
            return "shows the password (%r) near %r" % (f, out[max(0, at - 100):at + 60])
    if case.want_exit is not None and rc != case.want_exit:
        return "exit %s, expected %d%s: %r" % (rc, case.want_exit, " (ran past the bound: accepted)" if rc is None else "",
                                               out[-300:])
    missing = [n for n in case.names if n not in out]
    if missing:
        return "the message does not name %s: %r" % (" / ".join(missing), out[-300:])
    return None


def secret_file(tmp, content):
    fd, path = tempfile.mkstemp(dir=tmp)
    with os.fdopen(fd, "wb") as f:
        f.write(content.encode("utf-8") + b"\n")
    return path


def setting_cases(tmp, mode):
    """settings x malformations x passwords x sources x commands, sampled (see main)."""
    cases = []
    for setting, (malformations, has_file) in SETTINGS.items():
        var = env_name(setting)
        turn = 0  # serve and wait in turn, the sources in turn, over this setting's cases
        for mi, (kind, build) in enumerate(malformations):
            if mode in ("quick", "one"):
                passwords = [PASSWORDS[mi % len(PASSWORDS)]]
            elif mode == "all":
                passwords = PASSWORDS
            else:  # every other password, shifted by one for the next malformation
                passwords = PASSWORDS[mi % 2::2]
            for pi, pw in enumerate(passwords):
                value = build(pw)
                what = "%s %s [%r]" % (setting, kind, pw)
                sources = [("flag", ["--" + setting, value], {}, ["--" + setting]),
                           ("flag=", ["--%s=%s" % (setting, value)], {}, ["--" + setting]),
                           ("env", [], {var: value}, [var])]
                if has_file:
                    path = secret_file(tmp, value)
                    sources += [("file", [], {var + "_FILE": path}, [var + "_FILE", path]),
                                ("file flag", ["--%s-file" % setting, path], {}, ["--%s-file" % setting, path])]
                picked = sources if mode == "quick" else [sources[(turn // 2) % len(sources)]]
                for source, argv, env, names in picked:
                    if turn % 2 == 0:
                        cmd = ["serve", "--listen", "127.0.0.1:%d" % h.free_port()]
                        cmd += [] if setting == "forward" else ["--forward", "off"]
                    else:
                        cmd = ["wait", "--timeout", "1s"]
                    turn += 1
                    cases.append(Case("%s %s via %s" % (cmd[0], what, source), cmd + argv, env, pw, names))
                    if source == "env" and (mode == "quick" or turn % 4 == 1):  # check reads the environment too
                        cases.append(Case("check with %s via env" % what, ["check", "--timeout", "300ms"], env, pw, [],
                                          want_exit=None))
                if setting in ("letta-url", "nginx-url", "sse-url") and (mode != "sample" or pi % 2 == 0):
                    # check --url is no setting: credentials alone are not refused there, only hidden.
                    malformed = kind not in ("credentials", "password only", "unencoded password")
                    cases.append(Case("check --url %s" % what, ["check", "--timeout", "300ms", "--url", value], {}, pw,
                                      ["--url"] if malformed else [], want_exit=2 if malformed else None))
    return cases


def other_cases(tmp):
    """Misspelt names, bare arguments, both forms of a secret, unreadable files."""
    pw = "Vv5@Ww6/Xx7 Yy8"
    url = "postgresql://letta:%s@db:5432/letta" % enc(pw)
    good = secret_file(tmp, url)
    empty = secret_file(tmp, "")
    cases = []
    for setting in SECRET_SETTINGS:
        var = env_name(setting)
        value = url if setting == "postgres-dsn" else ("redis://:%s@r:6379" % enc(pw) if setting == "redis-url" else pw)
        typo = var[:-1] + var[-1] * 2  # LETTAGATE_POSTGRES_DSNN
        for cmd in (["serve", "--listen", "127.0.0.1:%d" % h.free_port(), "--forward", "off"], ["wait", "--timeout", "1s"]):
            c = cmd[0]
            cases += [
                Case("%s: misspelt variable %s" % (c, typo), cmd, {typo: value}, pw, [typo, "did you mean " + var]),
                Case("%s: misspelt _FILE variable" % c, cmd, {var + "_FIEL": good}, pw, [var + "_FIEL", var + "_FILE"]),
                Case("%s: misspelt flag" % c, cmd + ["--%sx=%s" % (setting, value)], {}, pw,
                     ["--%sx" % setting, "did you mean --%s" % setting]),
                Case("%s: %s and %s_FILE" % (c, var, var), cmd, {var: value, var + "_FILE": good}, pw, [var, var + "_FILE"]),
                Case("%s: --%s and --%s-file" % (c, setting, setting), cmd + ["--" + setting, value, "--%s-file" % setting, good],
                     {}, pw, ["--" + setting, "--%s-file" % setting]),
            ]
            for path, why in (("/nonexistent/secret", "missing"), (tmp, "a directory"), (empty, "empty")):
                cases.append(Case("%s: %s_FILE %s" % (c, var, why), cmd, {var + "_FILE": path}, pw, [var + "_FILE", path]))
    for cmd in (["serve", "--listen", "127.0.0.1:%d" % h.free_port()], ["wait", "--timeout", "1s"]):
        cases.append(Case("%s: a bare URL argument" % cmd[0], cmd + [url], {}, pw, ["argument"]))
    cases.append(Case("check: a bare URL argument", ["check", url], {}, pw, []))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("sample", "all", "quick", "one"),
                    help="sample: every other password per malformation, commands and sources in turn (the default); "
                         "all: every password with every malformation; quick: one password, every source and command; "
                         "one: one password and one source per malformation (the default for a sanitized binary, "
                         "whose every start costs ten times as much: there the point is memory errors, not coverage)")
    ap.add_argument("--jobs", type=int, default=4)
    a = ap.parse_args()
    a.mode = a.mode or ("one" if h.sanitized() else "sample")
    with tempfile.TemporaryDirectory(prefix="lg_config_secrets_") as tmp:
        cases = setting_cases(tmp, a.mode) + other_cases(tmp)
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
            results = list(pool.map(run_case, cases))
        secs = time.monotonic() - started
    failures = [(c, why) for c, why in zip(cases, results) if why]
    for c, why in failures[:40]:
        h.log("FAIL %s: %s" % (c.what, why))
    if len(failures) > 40:
        h.log("... and %d more failures" % (len(failures) - 40))
    if failures:
        kinds = {"shows the password": 0, "exit": 0, "does not name": 0}
        for _, why in failures:
            kinds[next(k for k in kinds if why.startswith(k) or why.startswith("the message " + k))] += 1
        h.log("failures: %d show a password, %d exit with another code, %d do not name the setting" % tuple(kinds.values()))
    malformations = sum(len(m) for m, _ in SETTINGS.values())
    h.log("config_secrets (%s): %d runs of the binary (%d settings, %d malformations, %d passwords, flag/variable/file, "
          "serve/wait/check) in %.1f s: %d failed" % (a.mode, len(cases), len(SETTINGS), malformations, len(PASSWORDS),
                                                     secs, len(failures)))
    h.write_results("config_secrets", {"mode": a.mode, "runs": len(cases), "failed": len(failures),
                                       "malformations": malformations, "passwords": len(PASSWORDS),
                                       "seconds": round(secs, 1)})
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except h.Fail as err:
        print("FAIL: %s" % err, flush=True)
        sys.exit(1)
