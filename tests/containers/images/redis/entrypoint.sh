#!/bin/sh
# `redis-server ARGS` as user redis with protected mode off (the official image builds redis
# with it off); redis-server is PID 1 and stops on SIGTERM.
set -e
if [ "$1" = redis-server ]; then
  shift
  exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no "$@"
fi
exec "$@"
