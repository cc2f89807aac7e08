"""Runs letta_standin.py as PID 1 of the letta/letta stand-in image. PID 1 gets no default
signal action, so without a handler `docker stop` would wait its full grace period and then
kill: SIGTERM ends the server loop here (SystemExit in the main thread) and it exits 0."""
import runpy
import signal
import sys

signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
sys.argv = ["letta_standin.py"] + sys.argv[1:]
runpy.run_path("/opt/standin/letta_standin.py", run_name="__main__")
