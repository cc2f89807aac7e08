"""Dockerfile run stage and apt sources, for scripts/container-smoke (which see).

parse_run_stage() reads the last stage of docker/Dockerfile the way `docker build` does
(continuations joined, comment lines dropped) into steps the smoke test can replay;
debian_sources() finds this machine's Debian 12 mirror and suites.
"""
import glob
import json
import os
import re
import shlex
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
DOCKERFILE = REPO / "docker" / "Dockerfile"
SUITE = "bookworm"
# What a Docker build of the run stage does that this replay understands; anything else in
# the stage is an error, so the replay never silently diverges from the image.
RECORDED = {"EXPOSE", "LABEL", "ARG", "STOPSIGNAL", "HEALTHCHECK", "ENTRYPOINT", "CMD"}


class SmokeError(Exception):
    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def dockerfile_instructions(path):
    """(KEYWORD, rest) per instruction; continuation lines joined, comment lines dropped
    (Docker drops comment lines inside a continuation too)."""
    out, cur = [], ""
    for raw in Path(path).read_text().splitlines():
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1].rstrip() + " "
            continue
        cur += s
        kw, _, rest = cur.partition(" ")
        out.append((kw.upper(), rest.strip()))
        cur = ""
    if cur:
        raise SmokeError(f"{path}: file ends inside a continuation line", 2)
    return out


def exec_form(text, what):
    try:
        v = json.loads(text)
    except json.JSONDecodeError:
        raise SmokeError(f"docker/Dockerfile: {what} must use the exec (JSON) form, got: {text}", 2)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise SmokeError(f"docker/Dockerfile: {what} is not a JSON list of strings: {text}", 2)
    return v


def apt_packages(run_text):
    """Packages named by `apt-get install` in a RUN line (options dropped)."""
    lex = shlex.shlex(run_text, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    toks = list(lex)
    pkgs = []
    for i, t in enumerate(toks):
        if t not in ("apt-get", "apt"):
            continue
        j = i + 1
        while j < len(toks) and toks[j].startswith("-"):
            j += 1
        if j >= len(toks) or toks[j] != "install":
            continue
        for t2 in toks[j + 1:]:
            if t2 in ("&&", "||", ";", "|", "&", ")", "("):
                break
            if not t2.startswith("-"):
                pkgs.append(t2)
    return pkgs


def parse_run_stage(path=DOCKERFILE):
    ins = dockerfile_instructions(path)
    froms = [i for i, (kw, _) in enumerate(ins) if kw == "FROM"]
    if len(froms) < 2:
        raise SmokeError("docker/Dockerfile: expected a multi-stage build (build stage + run stage)", 2)
    stage_names = set()
    for i in froms[:-1]:
        m = re.search(r"\s+AS\s+(\S+)\s*$", ins[i][1], re.IGNORECASE)
        if m:
            stage_names.add(m.group(1))
    from_text = ins[froms[-1]][1]
    steps, env, user, entrypoint, cmd, healthcheck, stopsignal = [], {}, "root", None, None, None, None
    for kw, rest in ins[froms[-1] + 1:]:
        if kw == "RUN":
            steps.append({"op": "run", "shell": rest, "user": user, "env": dict(env)})
        elif kw == "COPY":
            parts = shlex.split(rest)
            flags = [p for p in parts if p.startswith("--")]
            args = [p for p in parts if not p.startswith("--")]
            src_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            if src_stage not in stage_names or len(args) != 2 or not args[0].endswith("/lettagate"):
                raise SmokeError(f"container-smoke can only replay `COPY --from=<build stage> <...>/lettagate DEST`,"
                                 f" not: COPY {rest}", 2)
            dest = args[1] + ("lettagate" if args[1].endswith("/") else "")
            steps.append({"op": "copy_binary", "dest": dest, "src": args[0], "stage": src_stage})
        elif kw == "USER":
            user = rest
        elif kw == "ENV":
            if "=" in rest.split()[0]:
                for kv in shlex.split(rest):
                    k, _, v = kv.partition("=")
                    env[k] = v
            else:
                k, _, v = rest.partition(" ")
                env[k] = v.strip()
        elif kw == "ENTRYPOINT":
            entrypoint = exec_form(rest, "ENTRYPOINT")
        elif kw == "CMD":
            cmd = exec_form(rest, "CMD")
        elif kw == "HEALTHCHECK":
            m = re.search(r"(?:^|\s)CMD\s+(.*)$", rest)
            if not m:
                raise SmokeError(f"docker/Dockerfile: HEALTHCHECK without CMD: {rest}", 2)
            healthcheck = exec_form(m.group(1), "HEALTHCHECK CMD")
        elif kw == "STOPSIGNAL":
            stopsignal = rest
        elif kw in RECORDED:
            pass
        else:
            raise SmokeError(f"container-smoke cannot replay `{kw}` in the run stage of docker/Dockerfile;"
                             " teach it, or keep the stage to RUN/COPY/USER/ENV/...", 2)
    if not any(s["op"] == "copy_binary" for s in steps):
        raise SmokeError("docker/Dockerfile: the run stage does not COPY the lettagate binary", 2)
    if entrypoint is None or healthcheck is None:
        raise SmokeError("docker/Dockerfile: the run stage needs ENTRYPOINT and HEALTHCHECK (exec form)", 2)
    packages = [p for s in steps if s["op"] == "run" for p in apt_packages(s["shell"])]
    return {"from": from_text, "steps": steps, "user": user, "env": env, "entrypoint": entrypoint,
            "cmd": cmd or [], "healthcheck": healthcheck, "stopsignal": stopsignal, "packages": packages}


def parse_build_stage(name, path=DOCKERFILE):
    """The stage `FROM ... AS name` as replayable steps: RUN (with ARG/ENV values and WORKDIR),
    COPY from the build context, WORKDIR. Anything else is an error."""
    ins = dockerfile_instructions(path)
    start = next((i for i, (kw, rest) in enumerate(ins)
                  if kw == "FROM" and re.search(rf"\s+AS\s+{re.escape(name)}\s*$", rest, re.IGNORECASE)), None)
    if start is None:
        raise SmokeError(f"docker/Dockerfile: no stage named {name}", 2)
    end = next((i for i in range(start + 1, len(ins)) if ins[i][0] == "FROM"), len(ins))
    steps, env, workdir = [], {}, "/"
    for kw, rest in ins[start + 1:end]:
        if kw == "RUN":
            steps.append({"op": "run", "shell": rest, "user": "root", "env": dict(env), "workdir": workdir})
        elif kw == "WORKDIR":
            workdir = rest if rest.startswith("/") else os.path.join(workdir, rest)
            steps.append({"op": "workdir", "dir": workdir})
        elif kw == "COPY":
            parts = shlex.split(rest)
            if any(p.startswith("--") for p in parts) or len(parts) < 2:
                raise SmokeError(f"container-smoke replays only `COPY SRC... DEST` from the context: COPY {rest}", 2)
            dest = os.path.normpath(parts[-1] if parts[-1].startswith("/") else os.path.join(workdir, parts[-1]))
            steps.append({"op": "copy", "srcs": parts[:-1], "dest": dest, "dir_dest": parts[-1].endswith("/")})
        elif kw in ("ARG", "ENV"):
            k, eq, v = rest.partition("=") if kw == "ARG" or "=" in rest.split()[0] else rest.partition(" ")
            env[k.strip()] = v.strip().strip('"') if (eq or kw == "ENV") else env.get(k.strip(), "")
        elif kw not in RECORDED:
            raise SmokeError(f"container-smoke cannot replay `{kw}` in the {name} stage of docker/Dockerfile", 2)
    return {"name": name, "steps": steps,
            "packages": [p for s in steps if s["op"] == "run" for p in apt_packages(s["shell"])]}


def dockerignore(context):
    """ignored(relative_path) with Docker's .dockerignore rules: the last matching pattern wins,
    `!` re-includes, `*` and `?` stay inside a path element, `**` spans elements, and a pattern
    that matches a parent directory matches what is inside."""
    f = Path(context) / ".dockerignore"
    rules = [l.strip() for l in f.read_text().splitlines()] if f.exists() else []
    compiled = []
    for r in rules:
        if not r or r.startswith("#"):
            continue
        neg, pat = r.startswith("!"), r.lstrip("!").strip("/")
        rx, i = "", 0
        while i < len(pat):
            if pat.startswith("**/", i):
                rx, i = rx + "(?:.*/)?", i + 3
            elif pat.startswith("**", i):
                rx, i = rx + ".*", i + 2
            elif pat[i] in "*?":
                rx, i = rx + ("[^/]*" if pat[i] == "*" else "[^/]"), i + 1
            else:
                rx, i = rx + re.escape(pat[i]), i + 1
        compiled.append((neg, re.compile(rx + r"\Z")))

    def ignored(rel):
        parts, verdict = rel.strip("/").split("/"), False
        for neg, rx in compiled:
            if any(rx.match("/".join(parts[:i])) for i in range(1, len(parts) + 1)):
                verdict = not neg
        return verdict

    return ignored


def configured_sources():
    """(uri, suite, components) of every enabled `deb` source on this machine."""
    entries = []
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    deb822 = sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for f in files:
        if not os.path.isfile(f):
            continue
        for line in Path(f).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line.startswith("deb "):
                continue
            parts = re.sub(r"\[[^\]]*\]", " ", line).split()
            if len(parts) >= 3:
                entries.append((parts[1], parts[2], parts[3:]))
    for f in deb822:
        for para in re.split(r"\n\s*\n", Path(f).read_text()):
            fields, key = {}, None
            for line in para.splitlines():
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                if line[0] in " \t" and key:
                    fields[key] += " " + line.strip()
                    continue
                key, _, val = line.partition(":")
                key = key.strip().lower()
                fields[key] = val.strip()
            if fields.get("enabled", "yes").lower() == "no" or "deb" not in fields.get("types", "").split():
                continue
            for uri in fields.get("uris", "").split():
                for suite in fields.get("suites", "").split():
                    entries.append((uri, suite, fields.get("components", "").split()))
    return entries


def debian_sources():
    """The mirror for debootstrap and the sources.list lines for the chroot (main only, like
    the debian:12 images): bookworm, bookworm-updates and bookworm-security as configured."""
    override = os.environ.get("LG_DEBIAN_MIRROR", "").strip()
    keep = [(u, s) for (u, s, c) in configured_sources()
            if re.fullmatch(rf"{SUITE}(-updates|-security)?", s) and "main" in c]
    if override:
        keep = [(override, SUITE)] + [(u, s) for (u, s) in keep if s != SUITE]
    mirror = next((u for (u, s) in keep if s == SUITE), None)
    if not mirror:
        raise SmokeError(f"no Debian '{SUITE} main' source in /etc/apt/sources.list(.d); set LG_DEBIAN_MIRROR", 2)
    lines, seen = [], set()
    for u, s in keep:
        if (u, s) not in seen:
            seen.add((u, s))
            lines.append(f"deb {u} {s} main")
    return mirror, lines
