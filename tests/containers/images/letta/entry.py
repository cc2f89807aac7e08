"""Runs letta_standin.py as PID 1 of the letta/letta stand-in image. PID 1 gets no default
signal action, so without a handler `docker stop` would wait its full grace period and then
kill: SIGTERM ends the server loop here (SystemExit in the main thread) and it exits 0.
LETTA_STANDIN_START_DELAY=S: listen only after S seconds, as Letta does while its migrations run
(the container test's "a starting Letta is waited for" scenario)."""
import os
import runpy
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
delay = float(os.environ.get("LETTA_STANDIN_START_DELAY", "0"))
if delay > 0:
    print(f"entry.py: starting in {delay:g} s (LETTA_STANDIN_START_DELAY)", flush=True)
    time.sleep(delay)
sys.argv = ["letta_standin.py"] + sys.argv[1:]
runpy.run_path("/opt/standin/letta_standin.py", run_name="__main__")
