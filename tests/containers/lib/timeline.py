#!/usr/bin/env python3
"""timeline.py: reads what the container test records and answers its questions.

Inputs: --events FILE (`docker events --format '{{json .}}'`, one JSON object a line),
--marks FILE (`EPOCH text` lines: what the test did, lib/report.sh's ct_mark), --app FILE (the
app stand-in's JSON lines: {"t", "ms", "status", "error"}), and a window --since/--until (epoch
seconds).

  print                  one timeline of the window: container events (create, start, health,
                         kill, die, destroy; not the healthchecks' exec_*), marks, and the app's
                         requests in runs of the same outcome; times relative to --since
  first NAME ACTION      epoch of the first event of container NAME whose action starts with
                         ACTION ("create", "start", "die", "health_status: healthy") in the
                         window; exit 1 if there is none
  actions                the window's container events (as print shows them) as `NAME ACTION`
                         lines, ACTION without its detail ("health_status", "die", ...)
  app                    the app's requests in the window as shell assignments: total ok held
                         failed (held: answered 200 after >= --held-ms, default 250: the
                         app's spacing; a request served at once takes a few ms, and a Letta
                         restarted on a fast machine is back within a second),
                         first_t first_status first_error, last_status, max_ms, fails
                         (START:MS of each failed request)
"""
import argparse
import json
import shlex
import sys

SHOWN = ("create", "start", "health_status", "kill", "die", "stop", "destroy", "restart")


def events(path, since, until):
    out = []
    for line in open(path) if path else []:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("Type") != "container":
            continue
        t = e.get("timeNano", 0) / 1e9
        if since <= t <= until:
            out.append((t, e.get("Action", ""), e.get("Actor", {}).get("Attributes", {})))
    return out


def marks(path, since, until):
    out = []
    for line in open(path) if path else []:
        t, _, text = line.rstrip("\n").partition(" ")
        if since <= float(t) <= until:
            out.append((float(t), text))
    return out


def requests(path, since, until):
    out = []
    for line in open(path) if path else []:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if "status" in r and since <= r["t"] <= until:
            out.append(r)
    return sorted(out, key=lambda r: r["t"])  # (written when they end, several at a time)


def outcome(r, held_ms):
    if r["status"] != 200:
        return "timed_out" if r["ms"] >= HOLD_MS else "failed"
    return "held" if r["ms"] >= held_ms else "ok"


HOLD_MS = 9500  # a request that failed after this long ran out lettagate's --forward-hold (10 s)


def describe_event(action, attrs):
    name = attrs.get("name", "?")
    if action.startswith("health_status"):
        return f"{name}: {action.split(': ', 1)[-1]}"
    if action == "die":
        return f"{name}: exited {attrs.get('exitCode', '?')}"
    if action == "kill":
        return f"{name}: signal {attrs.get('signal', '?')}"
    return f"{name}: {action}"


def describe_run(run, held_ms):
    kind = outcome(run[0], held_ms)
    ms = [r["ms"] for r in run]
    n = len(run)
    lat = f"{min(ms):.0f}-{max(ms):.0f} ms" if n > 1 else f"{ms[0]:.0f} ms"
    if kind in ("failed", "timed_out"):
        whats = {}
        for r in run:
            w = r["error"] or f"HTTP {r['status']}"
            whats[w] = whats.get(w, 0) + 1
        what = "; ".join(f"{c}x {w}" for w, c in whats.items())
        held = " (held, then closed)" if kind == "timed_out" else ""
        return f"app: {n} request(s) FAILED after {lat}{held}: {what}"
    return f"app: {n} request(s) answered {run[0]['status']} in {lat}" + (" (held, then served)" if kind == "held" else "")


def cmd_print(a):
    rows = [(t, "docker", describe_event(act, at)) for t, act, at in events(a.events, a.since, a.until)
            if act.split(":")[0] in SHOWN]
    rows += [(t, "test", text) for t, text in marks(a.marks, a.since, a.until)]
    reqs = requests(a.app, a.since, a.until)
    run = []
    for r in reqs + [None]:
        if run and (r is None or outcome(r, a.held_ms) != outcome(run[0], a.held_ms)):
            rows.append((run[0]["t"], "app", describe_run(run, a.held_ms)))
            run = []
        if r is not None:
            run.append(r)
    for t, who, text in sorted(rows, key=lambda x: x[0]):
        print(f"  {t - a.since:+8.2f}s  {who:<6}  {text}")


def cmd_first(a):
    for t, act, at in events(a.events, a.since, a.until):
        if at.get("name") == a.name and act.startswith(a.action):
            print(f"{t:.3f}")
            return 0
    return 1


def cmd_actions(a):
    for t, act, at in events(a.events, a.since, a.until):
        if act.split(":")[0] in SHOWN:
            print(at.get("name", "?"), act.split(":")[0])


def cmd_app(a):
    reqs = requests(a.app, a.since, a.until)
    kinds = [outcome(r, a.held_ms) for r in reqs]
    first = reqs[0] if reqs else {"t": 0, "status": 0, "error": ""}
    vals = {
        "total": len(reqs), "ok": kinds.count("ok"), "held": kinds.count("held"),
        "failed": kinds.count("failed") + kinds.count("timed_out"),
        "first_t": f"{first['t']:.3f}", "first_status": first["status"], "first_error": first["error"],
        "last_status": reqs[-1]["status"] if reqs else 0,
        "max_ms": f"{max((r['ms'] for r in reqs), default=0):.0f}",
        "fails": " ".join(f"{r['t']:.3f}:{r['ms']:.0f}" for r, k in zip(reqs, kinds) if k in ("failed", "timed_out")),
    }
    for k, v in vals.items():
        print(f"{k}={shlex.quote(str(v))}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events")
    ap.add_argument("--marks")
    ap.add_argument("--app")
    ap.add_argument("--since", type=float, default=0.0)
    ap.add_argument("--until", type=float, default=float("inf"))
    ap.add_argument("--held-ms", type=float, default=250.0)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("print")
    f = sub.add_parser("first")
    f.add_argument("name")
    f.add_argument("action")
    sub.add_parser("actions")
    sub.add_parser("app")
    a = ap.parse_args()
    return {"print": cmd_print, "first": cmd_first, "actions": cmd_actions, "app": cmd_app}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
