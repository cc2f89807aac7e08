#!/usr/bin/env bash
# tier: unit
# Validator: static checks of docker/Dockerfile (hadolint is not in Debian), against this build's
# binary, for what running it cannot show: the stages (debian:12 builds with -DLETTAGATE_TESTS=OFF
# and the build packages; the debian:12-slim run stage comes first, so that `--target runtime`
# builds nothing else with Docker's classic builder, which builds every stage up to the target;
# the last stage is the run stage plus the built binary, as docker/Dockerfile.prebuilt is the
# run stage plus a binary from its context), EXPOSE 8080 8283, no VOLUME or ADD; the run stage's
# apt packages exist in
# Debian 12 and are exactly the ones the binary's NEEDED libraries and the libraries it loads at
# run time (dlopen: libpq for the postgres probe) come from (dpkg -S), beyond what
# debian:12-slim already has; and /.dockerignore keeps build dirs out.
# What a running container shows (uid 10001, read-only, the HEALTHCHECK, SIGTERM -> exit 0, the
# entrypoint, no curl or wget) is checked on a real engine by tests/scripts/containers.sh.
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"
require_binary
DF="$SRC/docker/Dockerfile"
[ -f "$DF" ] || die "$DF is missing"

STEP="static"
python3 - "$DF" "$SRC/CMakeLists.txt" "$TMP/pkgs" "$SRC/docker/Dockerfile.prebuilt" <<'PY' || FAILS=$((FAILS + 1))
import os, re, shlex, sys
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
# stages: (base, name, [instructions])
stages = []
for kw, rest in ins:
    if kw == "FROM":
        m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?\s*$", rest, re.I)
        stages.append((m.group(1), (m.group(2) or "").lower(), []))
    elif stages:
        stages[-1][2].append((kw, rest))
def stage(pred):
    return next((st for st in stages if pred(st)), None)
build = stage(lambda st: st[0] == "debian:12")
runtime = stage(lambda st: st[0] == "debian:12-slim")
final = stages[-1] if stages else None
if not build or not build[1]:
    errs.append("no build stage `FROM debian:12 AS <name>`")
if not runtime or not runtime[1]:
    errs.append("no run stage `FROM debian:12-slim AS <name>`")
if build and runtime and final:
    btext = " ".join(r for _, r in build[2])
    if "-DLETTAGATE_TESTS=OFF" not in btext:
        errs.append("build stage must configure with -DLETTAGATE_TESTS=OFF")
    if not re.search(r"option\(LETTAGATE_TESTS\b", cmake):
        errs.append("CMakeLists.txt has no LETTAGATE_TESTS option")
    for dep in "cmake g++ pkg-config libuv1-dev libhiredis-dev libpq-dev libspdlog-dev node-llhttp nlohmann-json3-dev".split():
        if not re.search(rf"(\s|^){re.escape(dep)}(\s|$)", btext):
            errs.append(f"build stage does not install {dep}")
    if final[0].lower() != runtime[1]:
        errs.append(f"the default (last) stage must be FROM {runtime[1]}, is FROM {final[0]}")
    if not any(k == "COPY" and f"--from={build[1]}" in r and r.split()[-2].endswith("/lettagate") for k, r in final[2]):
        errs.append(f"the default stage does not COPY --from={build[1]} the lettagate binary")
    if stages[0] is not runtime:
        errs.append("the run stage must be the first stage: `--target runtime` must build nothing else")
    pb = sys.argv[4]
    pbtext = open(pb).read() if os.path.exists(pb) else ""
    if not re.search(r"^FROM \$\{RUNTIME_IMAGE\}\s*$", pbtext, re.M) or not re.search(r"^COPY lettagate /usr/local/bin/lettagate\s*$", pbtext, re.M):
        errs.append("docker/Dockerfile.prebuilt must be FROM ${RUNTIME_IMAGE} (the run stage) + COPY lettagate /usr/local/bin/lettagate")
    elif not any(k == "COPY" and r.split()[-1] == "/usr/local/bin/lettagate" for k, r in final[2]):
        errs.append("the last stage must COPY the binary to /usr/local/bin/lettagate, as Dockerfile.prebuilt does")
    ports = set(" ".join(r for k, r in runtime[2] if k == "EXPOSE").split())
    if not {"8080", "8283"} <= ports:
        errs.append(f"EXPOSE must list 8080 and 8283, lists {sorted(ports)}")
    for st in (runtime, final):
        if st and any(k in ("VOLUME", "ADD") for k, _ in st[2]):
            errs.append(f"stage {st[1] or st[0]} must not declare VOLUME or ADD")
    # the run stage's apt packages, for the checks below
    pkgs = []
    for k, r in runtime[2]:
        if k != "RUN":
            continue
        for part in re.split(r"&&|;", r):
            w = shlex.split(part.replace("\\", " "))
            if "apt-get" in w and "install" in w:
                pkgs += [x for x in w[w.index("install") + 1:] if not x.startswith("-")]
    open(sys.argv[3], "w").write(" ".join(pkgs) + "\n")
for e in errs:
    print(f"FAIL [Dockerfile]: {e}", file=sys.stderr)
if not errs:
    print("ok   [Dockerfile]: build stage, run stage first (--target runtime) and last, Dockerfile.prebuilt, ports")
sys.exit(1 if errs else 0)
PY

STEP="runtime packages"
[ -s "$TMP/pkgs" ] || die "could not read the run stage's apt packages"
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
