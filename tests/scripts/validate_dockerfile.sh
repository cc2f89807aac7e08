#!/usr/bin/env bash
# tier: unit
# Validator: static checks of docker/Dockerfile (hadolint is not in Debian), against this build's
# binary: a multi-stage build (debian:12 builds with -DLETTAGATE_TESTS=OFF, debian:12-slim runs),
# a run stage with a fixed non-root USER, HEALTHCHECK `lettagate check` (exec form), no curl or
# wget, STOPSIGNAL SIGTERM, EXPOSE 8080 8283, ENTRYPOINT ["lettagate"] CMD ["serve"]; its apt
# packages exist in Debian 12 and are exactly the ones the binary's NEEDED libraries and the
# libraries it loads at run time (dlopen: libpq for the postgres probe) come from (dpkg -S),
# beyond what debian:12-slim already has; and /.dockerignore keeps build dirs out.
# scripts/container-smoke (tests/scripts/container_smoke.sh) then runs the stage for real.
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"
require_binary
DF="$SRC/docker/Dockerfile"
[ -f "$DF" ] || die "$DF is missing"
SMOKE="$SRC/scripts/container-smoke"

STEP="static"
python3 - "$DF" "$SRC/CMakeLists.txt" <<'PY' || FAILS=$((FAILS + 1))
import json, re, sys
text = open(sys.argv[1]).read()
cmake = open(sys.argv[2]).read()
errs = []
# instructions, continuation lines joined, comments dropped
ins, cur = [], ""
for raw in text.splitlines():
    s = raw.strip()
    if not s or s.startswith("#"):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    cur += s
    kw, _, rest = cur.partition(" ")
    ins.append((kw.upper(), rest.strip()))
    cur = ""
froms = [i for i, (k, _) in enumerate(ins) if k == "FROM"]
if len(froms) < 2:
    errs.append("not a multi-stage build (one FROM)")
else:
    build = ins[froms[0]:froms[-1]]
    run = ins[froms[-1]:]
    if not re.match(r"debian:12(\s|$)", ins[froms[0]][1]) or not re.search(r"\sAS\s+\w+", ins[froms[0]][1], re.I):
        errs.append(f"build stage must be `FROM debian:12 AS <name>`, is `FROM {ins[froms[0]][1]}`")
    if ins[froms[-1]][1] != "debian:12-slim":
        errs.append(f"run stage must be FROM debian:12-slim, is {ins[froms[-1]][1]}")
    build_text = " ".join(r for _, r in build)
    if "-DLETTAGATE_TESTS=OFF" not in build_text:
        errs.append("build stage must configure with -DLETTAGATE_TESTS=OFF")
    if not re.search(r"option\(LETTAGATE_TESTS\b", cmake):
        errs.append("CMakeLists.txt has no LETTAGATE_TESTS option")
    for dep in "cmake g++ pkg-config libuv1-dev libhiredis-dev libpq-dev libspdlog-dev node-llhttp nlohmann-json3-dev".split():
        if not re.search(rf"(\s|^){re.escape(dep)}(\s|$)", build_text):
            errs.append(f"build stage does not install {dep}")
    run_kw = {k: r for k, r in run}
    run_text = "\n".join(f"{k} {r}" for k, r in run)
    user = run_kw.get("USER", "")
    uid = user.split(":")[0]
    if not uid.isdigit() or uid == "0":
        errs.append(f"run stage USER must be a numeric non-root uid (Kubernetes runAsNonRoot checks it), is {user!r}")
    elif f"--uid {uid}" not in run_text:
        errs.append(f"USER {user} but no useradd --uid {uid} in the run stage")
    elif uid != "10001":
        errs.append(f"USER uid must be 10001 (compose and Kubernetes manifests use it), is {uid}")
    if [k for k, _ in run].index("USER") < max(i for i, (k, _) in enumerate(run) if k in ("RUN", "COPY")):
        errs.append("USER must come after the last RUN/COPY of the run stage")
    hc = run_kw.get("HEALTHCHECK", "")
    m = re.search(r"CMD\s+(\[.*\])\s*$", hc)
    if not m or json.loads(m.group(1))[:2] != ["lettagate", "check"]:
        errs.append(f'HEALTHCHECK must be CMD ["lettagate", "check", ...] (exec form), is {hc!r}')
    if re.search(r"\b(curl|wget)\b", "\n".join(r for k, r in run if k in ("RUN", "HEALTHCHECK", "CMD", "ENTRYPOINT"))):
        errs.append("curl/wget in the run stage: the image has no HTTP client, the HEALTHCHECK is the binary")
    if run_kw.get("STOPSIGNAL") != "SIGTERM":
        errs.append("STOPSIGNAL must be SIGTERM (it starts the drain)")
    ports = set(" ".join(r for k, r in run if k == "EXPOSE").split())
    if not {"8080", "8283"} <= ports:
        errs.append(f"EXPOSE must list 8080 and 8283, lists {sorted(ports)}")
    if json.loads(run_kw.get("ENTRYPOINT", "null") or "null") != ["lettagate"]:
        errs.append('ENTRYPOINT must be ["lettagate"]')
    if json.loads(run_kw.get("CMD", "null") or "null") != ["serve"]:
        errs.append('CMD must be ["serve"]')
    if any(k in ("VOLUME", "ADD") for k, _ in run):
        errs.append("the run stage must not declare VOLUME or ADD")
    if not any(k == "COPY" and "--from=" in r and r.split()[-2].endswith("/lettagate") for k, r in run):
        errs.append("run stage does not COPY --from=<build> the lettagate binary")
for e in errs:
    print(f"FAIL [Dockerfile]: {e}", file=sys.stderr)
if not errs:
    print("ok   [Dockerfile]: multi-stage, USER 10001, HEALTHCHECK lettagate check, no curl, SIGTERM, ports, entrypoint")
sys.exit(1 if errs else 0)
PY

STEP="runtime packages"
# The same parser container-smoke replays the stage with: what it installs there is checked here.
if ! "$SMOKE" --dockerfile "$DF" --print-packages >"$TMP/pkgs" 2>"$TMP/err"; then
  fail "scripts/container-smoke cannot replay the run stage: $(cat "$TMP/err")"
  finish validate_dockerfile
fi
read -r -a PKGS <"$TMP/pkgs"
[ "${#PKGS[@]}" -gt 0 ] || die "no apt-get install packages found in the run stage"
ok "run stage installs: ${PKGS[*]}"
apt-cache policy "${PKGS[@]}" >"$TMP/policy" 2>/dev/null || true
for p in "${PKGS[@]}"; do
  cand="$(awk -v p="$p:" '$1 == p { f = 1 } f && /Candidate:/ { print $2; exit }' "$TMP/policy")"
  if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then ok "$p is a Debian 12 package ($cand)"; else
    fail "$p: no such package in this machine's Debian 12 sources (apt-cache policy)"; fi
done
# Every library the binary links directly or loads at run time comes from a run stage package
# or from debian:12-slim; every run stage package provides one of them. (One ldconfig and one
# dpkg -S for all: fast.) Run-time loads: src/probes/libpq_loader.cpp dlopens libpq.so.5; the
# binary must name it, so this list cannot drift from the code unnoticed.
RUNTIME_LOADED=(libpq.so.5)
readelf -d "$LG" | awk '/\(NEEDED\)/ { gsub(/[\[\]]/, "", $NF); print $NF }' >"$TMP/needed"
for lib in "${RUNTIME_LOADED[@]}"; do
  if grep -qaF "$lib" "$LG"; then echo "$lib" >>"$TMP/needed"; ok "the binary loads $lib at run time"; else
    fail "RUNTIME_LOADED lists $lib but the binary does not name it (src/probes/libpq_loader.cpp changed?)"; fi
done
ldconfig -p >"$TMP/ldconfig"
python3 - "$TMP/needed" "$TMP/ldconfig" "${PKGS[@]}" <<'PY' || FAILS=$((FAILS + 1))
import os, subprocess, sys
needed = open(sys.argv[1]).read().split()
run_pkgs = sys.argv[3:]
base_pkgs = {"libc6", "libstdc++6", "libgcc-s1"}  # in debian:12-slim (apt depends on them)
paths = {}
for line in open(sys.argv[2]):
    parts = line.split()
    if parts and parts[0] in needed and parts[0] not in paths and "=>" in parts:
        if "x86-64" in line or "x86_64" in line or "64bit" in line or parts[0] not in paths:
            paths[parts[0]] = parts[-1]
errs, oks, owners = [], [], {}
queries = sorted({p for p in paths.values()} | {os.path.realpath(p) for p in paths.values()})
out = subprocess.run(["dpkg", "-S", *queries], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
by_path = {}
for line in out.splitlines():
    pkg, _, path = line.partition(": ")
    by_path[path.strip()] = pkg.split(":")[0]
for lib in needed:
    path = paths.get(lib)
    if not path:
        errs.append(f"{lib}: not found by ldconfig on this machine")
        continue
    pkg = by_path.get(path) or by_path.get(os.path.realpath(path))
    if not pkg:
        errs.append(f"NEEDED {lib} ({path}): dpkg -S knows no package")
        continue
    owners[lib] = pkg
    if pkg in run_pkgs:
        oks.append(f"NEEDED {lib} <- {pkg} (installed by the run stage)")
    elif pkg in base_pkgs:
        oks.append(f"NEEDED {lib} <- {pkg} (in debian:12-slim)")
    else:
        errs.append(f"NEEDED {lib} <- {pkg}, which the run stage does not install")
for p in run_pkgs:
    if p not in owners.values():
        errs.append(f"the run stage installs {p}, which no library of the binary needs")
for o in oks:
    print(f"ok   [runtime packages]: {o}")
for e in errs:
    print(f"FAIL [runtime packages]: {e}", file=sys.stderr)
sys.exit(1 if errs else 0)
PY

STEP=".dockerignore"
DI="$SRC/.dockerignore"
if [ -f "$DI" ]; then
  python3 - "$DI" <<'PY' || FAILS=$((FAILS + 1))
import re, sys
rules = [l.strip() for l in open(sys.argv[1]) if l.strip() and not l.lstrip().startswith("#")]
def to_regex(pat):
    # Docker's matching (Go filepath.Match plus `**`): `*` and `?` stay inside one path element,
    # `**` spans any number of them. A trailing slash is dropped, as Docker cleans the pattern.
    pat = pat.strip("/")
    out, i = "", 0
    while i < len(pat):
        if pat.startswith("**/", i):
            out += "(?:.*/)?"; i += 3
        elif pat.startswith("**", i):
            out += ".*"; i += 2
        elif pat[i] == "*":
            out += "[^/]*"; i += 1
        elif pat[i] == "?":
            out += "[^/]"; i += 1
        else:
            out += re.escape(pat[i]); i += 1
    return re.compile(out + r"\Z")
def ignored(path):
    # The last matching rule wins; `!` re-includes. A rule matching a parent dir matches the path.
    verdict = False
    parts = path.split("/")
    for r in rules:
        neg = r.startswith("!")
        rx = to_regex(r[1:] if neg else r)
        if any(rx.match("/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            verdict = not neg
    return verdict
errs = []
for p in ("build/CMakeCache.txt", "build-ship/lettagate", "build-asan/x", ".git/HEAD", "tests/unit/x.cpp"):
    if not ignored(p):
        errs.append(f"{p} would be sent to the Docker daemon")
for p in ("CMakeLists.txt", "src/app/main.cpp", "src/core/build_info.hpp.in"):
    if ignored(p):
        errs.append(f"{p} is ignored but the build stage needs it")
for e in errs:
    print(f"FAIL [.dockerignore]: {e}", file=sys.stderr)
if not errs:
    print("ok   [.dockerignore]: build dirs and .git excluded, CMakeLists.txt and src/ included")
sys.exit(1 if errs else 0)
PY
else
  fail "no .dockerignore at the repository root (the build context)"
fi

finish validate_dockerfile
