#!/usr/bin/env bash
# tier: unit
# Validator: every compose/docker-compose*.yml passes `docker-compose config -q` (Debian's 1.29: it
# validates the schema without an engine, and the external letta-network need not exist), and
# the files say what the seed's lesson needs them to say:
#   - the app stack (docker-compose.dev.yml) has NO Letta, Postgres or Redis of its own, joins the
#     external letta-network, reaches Letta as letta:8283 through lettagate (alias `letta`,
#     LETTAGATE_FORWARD to letta-server:8283) and starts only once lettagate is healthy, with
#     LETTAGATE_MIN_AGENTS set;
#   - the Letta stack (docker-compose.letta.yml) has the four services with healthchecks that
#     really check (Letta's /v1/health/ WITH the slash, psql instead of pg_isready), the named
#     volumes and the fixed network, LETTA_PG_URI set, and lettagate read-only, non-root, with
#     `lettagate check` as its healthcheck;
#   - every LETTAGATE_* variable used is a setting `lettagate --help` knows, every file a
#     compose file mounts exists, and the Postgres DSN comes from a secret file (_FILE), not a value.
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"
require_binary
command -v docker-compose >/dev/null || die "docker-compose (Debian package docker-compose) is not installed"
PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || die "python3-yaml is not installed (apt-get install python3-yaml)"

"$LG" --help | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^LETTAGATE_[A-Z0-9_]+$/) print $i }' | sort -u >"$TMP/settings"
[ "$(wc -l <"$TMP/settings")" -gt 20 ] || die "could not read the settings from \`$LG --help\`"

cd "$SRC/compose"
files=(docker-compose*.yml)
[ "${#files[@]}" -ge 2 ] || die "expected compose/docker-compose.letta.yml and compose/docker-compose.dev.yml"

for f in "${files[@]}"; do
  STEP="$f"
  if docker-compose -f "$f" config -q 2>"$TMP/err"; then
    ok "docker-compose config -q"
  else
    fail "docker-compose config -q: $(cat "$TMP/err")"
    continue
  fi
  docker-compose -f "$f" config >"$TMP/$f.resolved" 2>/dev/null || true
  # LETTAGATE_* names used anywhere in the file must be real settings.
  while read -r v; do
    case "$v" in
      ""|LETTAGATE_TAG|LETTAGATE_REVISION|LETTAGATE_PORT) continue ;;  # compose-level variables, not settings
    esac
    grep -qx "$v" "$TMP/settings" || fail "$v is not a lettagate setting (see lettagate --help)"
  done < <(grep -oE 'LETTAGATE_[A-Z0-9_]+' "$f" | sort -u)
  # Passwords reach lettagate as files (secrets:, LETTAGATE_*_FILE), never as values: a value
  # shows in `docker inspect` and the process environment. Every secret's file exists.
  if grep -qE '^\s*LETTAGATE_(POSTGRES_DSN|REDIS_PASSWORD):' "$f"; then
    fail "sets LETTAGATE_POSTGRES_DSN or LETTAGATE_REDIS_PASSWORD as a value: use its _FILE variant and secrets:"
  fi
  while read -r m; do
    [ -e "$m" ] || fail "secret file $m does not exist"
  done < <("$PY" -c 'import sys, yaml; c = yaml.safe_load(open(sys.argv[1])) or {}
for s in (c.get("secrets") or {}).values(): print(s.get("file", ""))' "$TMP/$f.resolved")
  # Every bind-mounted file exists (paths relative to compose/).
  while read -r m; do
    [ -z "$m" ] || [ -e "$m" ] || fail "mounts $m, which does not exist"
  done < <(grep -oE '^\s*- \./[^:]+:' "$f" | sed -E 's/^\s*- (\.\/[^:]+):/\1/')
done

STEP="docker-compose.letta.yml"
"$PY" - "$TMP/docker-compose.letta.yml.resolved" "$SRC" <<'PY' || FAILS=$((FAILS + 1))
import os, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
src = sys.argv[2]
errs = []
s = c.get("services", {})
for name in ("letta-server", "letta-postgres", "letta-redis", "letta-nginx"):
    if name not in s:
        errs.append(f"service {name} missing")
for name, svc in s.items():
    if svc.get("profiles"):
        continue
    hc = svc.get("healthcheck", {})
    if not hc.get("test") or hc.get("disable"):
        errs.append(f"{name}: no healthcheck")
def test_text(name):
    t = s.get(name, {}).get("healthcheck", {}).get("test", [])
    return " ".join(t) if isinstance(t, list) else str(t)
if "/v1/health/" not in test_text("letta-server"):
    errs.append("letta-server healthcheck must GET /v1/health/ with the slash (the bare path answers 307)")
pg = test_text("letta-postgres")
if "psql" not in pg or "-U letta" not in pg or "-d letta" not in pg:
    errs.append("letta-postgres healthcheck must log in with psql -U letta -d letta (pg_isready does not authenticate)")
if "PONG" not in test_text("letta-redis"):
    errs.append("letta-redis healthcheck must require PONG")
if "/nginx-health" not in test_text("letta-nginx"):
    errs.append("letta-nginx healthcheck must GET /nginx-health")
env = s.get("letta-server", {}).get("environment", {})
if not str(env.get("LETTA_PG_URI", "")).startswith("postgresql://letta:") or "@letta-postgres:5432/letta" not in str(env.get("LETTA_PG_URI", "")):
    errs.append("letta-server: LETTA_PG_URI must point at letta-postgres (else the image starts its own empty Postgres)")
if env.get("LETTA_REDIS_HOST") != "letta-redis":
    errs.append("letta-server: LETTA_REDIS_HOST must be letta-redis")
pgenv = s.get("letta-postgres", {}).get("environment", {})
for k in ("POSTGRES_USER", "POSTGRES_DB"):
    if pgenv.get(k) != "letta":
        errs.append(f"letta-postgres: {k} must be letta")
if not str(s.get("letta-postgres", {}).get("image", "")).startswith("pgvector/pgvector:pg15"):
    errs.append("letta-postgres must use pgvector/pgvector:pg15")
init = [v for v in s.get("letta-postgres", {}).get("volumes", []) if "docker-entrypoint-initdb.d" in str(v)]
if not init:
    errs.append("letta-postgres: no init script mounted in /docker-entrypoint-initdb.d")
else:
    host = init[0]["source"] if isinstance(init[0], dict) else str(init[0]).split(":")[0]
    if not os.path.exists(host) or "create extension if not exists vector" not in open(host).read().lower():
        errs.append(f"letta-postgres init script {host} must CREATE EXTENSION IF NOT EXISTS vector")
vols = c.get("volumes", {})
for v in ("letta-postgres", "letta-data", "letta-home"):
    if v not in vols or vols[v].get("name") != v:
        errs.append(f"volume {v} missing or not named {v}")
net = c.get("networks", {}).get("letta-network", {})
if net.get("name") != "letta-network" or net.get("external"):
    errs.append("network letta-network must be defined here with name: letta-network")
subnets = [x.get("subnet") for x in net.get("ipam", {}).get("config", [])]
if "172.22.0.0/16" not in subnets:
    errs.append("letta-network must use 172.22.0.0/16")
gates = [n for n, v in s.items() if str(v.get("image", "")).startswith("lettagate") or "docker/Dockerfile" in str(v.get("build", ""))]
if not gates:
    errs.append("no lettagate service")
for g in gates:
    v = s[g]
    if v.get("read_only") is not True:
        errs.append(f"{g}: read_only must be true")
    if str(v.get("user", "0")).split(":")[0] in ("0", "root", ""):
        errs.append(f"{g}: user must be non-root")
    if test_text(g).split()[:3] not in (["CMD", "lettagate", "check"],):
        errs.append(f"{g}: healthcheck must be [CMD, lettagate, check]")
    if "letta-network" not in v.get("networks", {}):
        errs.append(f"{g}: must join letta-network")
    b = v.get("build", {})
    if not os.path.exists(os.path.join(b.get("context", ""), b.get("dockerfile", ""))):
        errs.append(f"{g}: build context/dockerfile {b} does not exist")
for e in errs:
    print(f"FAIL [docker-compose.letta.yml]: {e}", file=sys.stderr)
if not errs:
    print("ok   [docker-compose.letta.yml]: services, healthchecks, volumes, network and lettagate as required")
sys.exit(1 if errs else 0)
PY

STEP="docker-compose.dev.yml"
"$PY" - "$TMP/docker-compose.dev.yml.resolved" <<'PY' || FAILS=$((FAILS + 1))
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
errs = []
s = c.get("services", {})
# No Letta of its own, not even behind a profile: that is how a fresh, empty Letta got started.
for name, v in s.items():
    img = str(v.get("image", ""))
    if (name.startswith("letta") and name != "lettagate") or any(k in img for k in ("letta/letta", "pgvector", "postgres", "redis", "nginx")):
        errs.append(f"service {name} ({img}) is a Letta stack service: the app stack must not have any")
lg = s.get("lettagate")
if not lg:
    errs.append("no lettagate service")
else:
    env = lg.get("environment", {})
    if env.get("LETTAGATE_FORWARD") != "0.0.0.0:8283=letta-server:8283":
        errs.append("lettagate: LETTAGATE_FORWARD must be 0.0.0.0:8283=letta-server:8283")
    if "LETTAGATE_MIN_AGENTS" not in env:
        errs.append("lettagate: LETTAGATE_MIN_AGENTS must be set (the data guard)")
    aliases = (lg.get("networks", {}).get("letta-network") or {}).get("aliases", [])
    if "letta" not in aliases:
        errs.append("lettagate: needs the network alias `letta` on letta-network")
    if lg.get("read_only") is not True or str(lg.get("user", "0")).split(":")[0] in ("0", "root"):
        errs.append("lettagate: read_only: true and a non-root user")
    hc = lg.get("healthcheck", {}).get("test", [])
    if hc[:3] != ["CMD", "lettagate", "check"]:
        errs.append("lettagate: healthcheck must be [CMD, lettagate, check]")
app = s.get("thoth-all-in-one")
if not app:
    errs.append("no thoth-all-in-one service")
else:
    dep = app.get("depends_on", {})
    if not isinstance(dep, dict) or dep.get("lettagate", {}).get("condition") != "service_healthy":
        errs.append("thoth-all-in-one: depends_on lettagate with condition service_healthy")
    if "letta-network" not in app.get("networks", {}):
        errs.append("thoth-all-in-one: must join letta-network")
    url = str(app.get("environment", {}).get("THOTH_LETTA_URL", ""))
    if url != "http://letta:8283":
        errs.append(f"thoth-all-in-one: THOTH_LETTA_URL must be http://letta:8283 (through lettagate), is {url!r}")
    if any("letta-server" in str(x) for x in app.get("external_links", [])):
        errs.append("thoth-all-in-one: no external_links to letta-server (that bypasses the gate)")
net = c.get("networks", {}).get("letta-network", {})
if not net.get("external") or net.get("name") != "letta-network":
    errs.append("letta-network must be external with name letta-network")
for e in errs:
    print(f"FAIL [docker-compose.dev.yml]: {e}", file=sys.stderr)
if not errs:
    print("ok   [docker-compose.dev.yml]: no Letta services, letta:8283 through a healthy lettagate, data guard set")
sys.exit(1 if errs else 0)
PY

finish validate_compose
