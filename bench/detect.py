#!/usr/bin/env python3
"""bench/detect.py RAW ADMIN_PORT LG_FORWARD_PORT HA_PORT HA_SOCKET ROUNDS DEP...: bench/run's detect phase.

Each round, for each DEP of the scripts/services stack in LG_SERVICES_DIR: wait a random time, SIGKILL
the processes `scripts/services kill` would (signalled here, so the clock starts at the signal), poll
every 10 ms until lettagate's /readyz says 503 and HAProxy's stats socket shows the server named DEP
DOWN; `scripts/services start` it (it returns once the server answers), poll until 200 and UP. Appends
`detect PEER ROUND DEP_down_ms|DEP_up_ms MS` to RAW. Meanwhile a GET every 50 ms goes to Letta through
HAProxy and through lettagate's forwarder, so each one's passive signal has traffic to see.
"""
import contextlib, http.client, os, random, signal, socket, subprocess, sys, threading, time

raw, admin, lg_port, ha_port, ha_sock, rounds, *deps = sys.argv[1:]
SERVICES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "services")
STEP, BOUND_S = 0.010, 30.0
gate = None

def get_letta(port):  # one request, on a connection of its own; a failure is the proxies' signal, not ours
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /v1/health/ HTTP/1.1\r\nHost: letta\r\nConnection: close\r\n\r\n")
            while s.recv(65536):
                pass
    except OSError:
        pass

def traffic():
    while True:
        time.sleep(0.05)
        for port in (int(lg_port), int(ha_port)):
            threading.Thread(target=get_letta, args=(port,), daemon=True).start()

def lettagate_up():  # /readyz on a kept-alive connection: True 200, False 503, None no answer
    global gate
    try:
        gate = gate or http.client.HTTPConnection("127.0.0.1", int(admin), timeout=1)
        gate.request("GET", "/readyz")
        r = gate.getresponse()
        r.read()
        return {200: True, 503: False}.get(r.status)
    except (OSError, http.client.HTTPException):
        gate.close()
        gate = None

def haproxy_up(dep):  # the server's status in `show stat`: "UP" and "UP 1/2" (going down) are up
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(ha_sock)
        s.sendall(b"show stat\n")
        lines = b"".join(iter(lambda: s.recv(65536), b"")).decode().splitlines()
    cols = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(cols, line.split(","))) for line in lines[1:]]
    return next(row["status"] for row in rows if row.get("svname") == dep).startswith("UP")

def until(up, dep, t0):  # {peer: ms from t0 until the peer says `up`}
    got = {}
    while len(got) < 2:
        t = time.monotonic()
        if t - t0 > BOUND_S:
            sys.exit(f"detect: {dep} not seen {'up' if up else 'down'} within {BOUND_S:.0f} s, only by {got}")
        for peer, probe in (("lettagate", lettagate_up), ("haproxy", lambda: haproxy_up(dep))):
            if peer not in got and probe() == up:
                got[peer] = round((time.monotonic() - t0) * 1000)
        time.sleep(max(0.0, t + STEP - time.monotonic()))
    return got

def processes(pid):  # pid and its descendants, as scripts/services lists them
    kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [q for k in kids for q in processes(int(k))]


threading.Thread(target=traffic, daemon=True).start()
for dep in deps:
    until(True, dep, time.monotonic())
with open(raw, "a") as out:
    for r in range(1, int(rounds) + 1):
        for dep in deps:
            time.sleep(random.uniform(0, 5))  # a random phase of both schedules (lettagate's interval: 5 s)
            with open(os.path.join(os.environ["LG_SERVICES_DIR"], "run", dep + ".pid")) as f:
                pids = processes(int(f.read().split()[0]))
            t0 = time.monotonic()
            for p in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
            down = until(False, dep, t0)
            subprocess.run([SERVICES, "start", dep], stdout=sys.stderr, check=True)  # output: logs/detect.log
            up = until(True, dep, time.monotonic())
            for peer in down:
                out.write(f"detect\t{peer}\t{r}\t{dep}_down_ms\t{down[peer]}\n")
                out.write(f"detect\t{peer}\t{r}\t{dep}_up_ms\t{up[peer]}\n")
            out.flush()
            print(f"round {r} {dep}: down {down}, up {up}", file=sys.stderr, flush=True)
