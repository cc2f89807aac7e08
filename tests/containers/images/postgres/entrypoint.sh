#!/bin/bash
# The official postgres image's entrypoint, reduced to what the Letta stack uses: on an empty
# $PGDATA, initdb with POSTGRES_USER as the superuser and POSTGRES_PASSWORD (scram-sha-256 over
# TCP from anywhere, trust on the socket), create POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sql
# in it on a socket-only server; then exec postgres (listening everywhere) as user postgres.
set -euo pipefail
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ "${1:-}" = postgres ]; then
  shift
  : "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
  [ -n "${POSTGRES_PASSWORD:-}" ] || { echo "docker-entrypoint: POSTGRES_PASSWORD is not set" >&2; exit 1; }
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    echo "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    as_postgres initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
      -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    as_postgres pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
    psql=(psql -X -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -h /var/run/postgresql)
    [ "$POSTGRES_DB" = postgres ] || "${psql[@]}" -d postgres -qc "CREATE DATABASE \"$POSTGRES_DB\""
    for f in /docker-entrypoint-initdb.d/*.sql; do
      [ -e "$f" ] || continue
      echo "docker-entrypoint: running $f"
      "${psql[@]}" -d "$POSTGRES_DB" -q -f "$f"
    done
    as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "docker-entrypoint: PostgreSQL init process complete; ready for start up."
  fi
  exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
