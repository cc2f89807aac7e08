"""Debian 12 root filesystems for scripts/container-smoke (which see): a cached debootstrap
minbase made to look like debian:12-slim, and a cached layer with the Dockerfile run stage's RUN
lines replayed in it; mounts and chroot commands with their clean-up; phase timings.
"""
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

from container_image import SUITE, SmokeError

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # as in debian images
SLIM_DPKG_CFG = """# as in the debian:*-slim images: no documentation or translations
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
"""
# The apt settings of the debian:12 images (/etc/apt/apt.conf.d/docker-*): no .debs or package
# caches left behind by an install, no translations fetched by `apt-get update`.
APT_DOCKER_CFG = {
    "docker-clean": 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
                    ' /var/cache/apt/*.bin || true"; };\n'
                    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb'
                    ' /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
                    'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n',
    "docker-no-languages": 'Acquire::Languages "none";\n',
}

T0 = time.monotonic()
TIMINGS = []


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def timed(name):
    class _T:
        def __enter__(self):
            self.t = time.monotonic()
            return self

        def __exit__(self, *exc):
            dt = time.monotonic() - self.t
            TIMINGS.append((name, dt))
            if exc[0] is None:
                log(f"{name}: {dt:.2f}s")
            return False

    return _T()


def run(cmd, timeout, check=True, **kw):
    r = subprocess.run(cmd, timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    if check and r.returncode != 0:
        raise SmokeError(f"command failed (exit {r.returncode}): {' '.join(map(str, cmd))}")
    return r


def sha(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


class Mounts:
    """Mount points made here; unmounted in reverse order (lazily if busy)."""

    def __init__(self):
        self.points = []

    def mount(self, args, point):
        run(["mount", *args, str(point)], timeout=30)
        if "remount" not in " ".join(args):  # a remount changes a mount, it adds none
            self.points.append(str(point))

    def umount_all(self):
        while self.points:
            p = self.points.pop()
            if subprocess.run(["umount", p], timeout=30).returncode != 0:
                subprocess.run(["umount", "-l", p], timeout=30)


def rmtree(path):
    if os.path.lexists(path):
        # never follow into a mount that is still there: check first
        with open("/proc/self/mounts") as f:
            if any(line.split()[1].startswith(str(path) + "/") or line.split()[1] == str(path) for line in f):
                raise SmokeError(f"refusing to delete {path}: something is still mounted under it", 2)
        shutil.rmtree(path)


def chroot_cmd(root, argv, user=None, env=None):
    e = {"PATH": BASE_PATH, "HOME": "/root" if user in (None, "0:0") else "/nonexistent"}
    e.update(env or {})
    spec = [f"--userspec={user}"] if user else []
    return ["env", "-i", *[f"{k}={v}" for k, v in e.items()], "chroot", *spec, str(root), *argv]


def lock_cache(cache):
    cache.mkdir(parents=True, exist_ok=True)
    fd = os.open(cache / "lock", os.O_CREAT | os.O_RDWR, 0o644)
    deadline = time.monotonic() + 900
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise SmokeError(f"{cache}/lock held by another run for 15 min", 2)
            time.sleep(1)


def build_base(cache, mirror, cached_only):
    tar = cache / f"base-{SUITE}-minbase-{sha(SUITE, 'minbase', mirror, SLIM_DPKG_CFG, json.dumps(APT_DOCKER_CFG))}.tar"
    if tar.exists():
        log(f"base: cached {tar.name}")
        return tar
    if cached_only:
        raise SmokeError(f"base rootfs not cached ({tar}); run scripts/container-smoke once without --cached-only", 3)
    if not shutil.which("debootstrap"):
        log("installing debootstrap")
        run(["apt-get", "install", "-y", "-q", "debootstrap"], timeout=600,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    tmp = cache / f"tmp-base-{os.getpid()}"
    rmtree(tmp)
    try:
        with timed(f"debootstrap --variant=minbase {SUITE} from {mirror}"):
            run(["debootstrap", "--variant=minbase", SUITE, str(tmp), mirror], timeout=1200,
                stdout=subprocess.DEVNULL)
        slim_down(tmp)
        run(["tar", "-C", str(tmp), "--numeric-owner", "-cf", f"{tar}.part", "."], timeout=300)
        os.replace(f"{tar}.part", tar)
    finally:
        rmtree(tmp)
        if os.path.exists(f"{tar}.part"):
            os.unlink(f"{tar}.part")
    for old in cache.glob("base-*.tar"):
        if old != tar:
            old.unlink()
    return tar


def slim_down(root):
    """What makes debian:12-slim slim: no docs, man pages or translations (a dpkg path-exclude
    for later installs too), and no apt lists or cached .debs. Half the size, twice as fast."""
    (root / "etc/dpkg/dpkg.cfg.d/slim").write_text(SLIM_DPKG_CFG)
    for name, text in APT_DOCKER_CFG.items():
        (root / "etc/apt/apt.conf.d" / name).write_text(text)
    for d in ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/groff",
              "usr/share/lintian", "usr/share/linda", "var/lib/apt/lists", "var/cache/apt/archives"):
        p = root / d
        if not p.is_dir():
            continue
        for child in p.iterdir():
            if d == "usr/share/doc" and child.is_dir() and (child / "copyright").exists():
                for f in child.iterdir():
                    if f.name != "copyright":
                        shutil.rmtree(f) if f.is_dir() and not f.is_symlink() else f.unlink()
                continue
            if child.name in ("partial", "lock"):  # apt's own layout stays
                continue
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    for f in (root / "var/cache/apt").glob("*.bin"):
        f.unlink()


def replay_run(root, step, extra_env=None, timeout=900):
    user = None if step["user"] in ("root", "0", "0:0") else resolve_user(root, step["user"])
    # cd to the WORKDIR, then the RUN line as written, by a fresh shell (as Docker runs it)
    argv = ["/bin/sh", "-c", 'cd "$0" && exec /bin/sh -c "$1"', step.get("workdir", "/"), step["shell"]]
    r = run(chroot_cmd(root, argv, user, {**step["env"], **(extra_env or {})}), timeout=timeout, check=False,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(r.stdout[-4000:], file=sys.stderr)
        raise SmokeError(f"RUN failed in the chroot (exit {r.returncode}): {step['shell'][:200]}")


def build_image(cache, base_tar, stage, source_lines, cached_only, prefix="image", what="run stage"):
    """The stage's RUN lines up to its first other step, replayed on the base and cached."""
    first_other = next(i for i, s in enumerate(stage["steps"]) if s["op"] != "run")
    layer = stage["steps"][:first_other]
    key = sha(base_tar.name, json.dumps(layer, sort_keys=True), *source_lines)
    tar = cache / f"{prefix}-{key}.tar"
    if tar.exists():
        log(f"{prefix} layer: cached {tar.name} ({what} RUN lines unchanged)")
        return tar
    if cached_only:
        raise SmokeError(f"image layer not cached ({tar}); run scripts/container-smoke once without --cached-only", 3)
    tmp = cache / f"tmp-{prefix}-{os.getpid()}"
    rmtree(tmp)
    mounts = Mounts()
    try:
        tmp.mkdir()
        run(["tar", "-C", str(tmp), "--numeric-owner", "-xf", str(base_tar)], timeout=300)
        (tmp / "etc/apt/sources.list").write_text("\n".join(source_lines) + "\n")
        for f in glob.glob(str(tmp / "etc/apt/sources.list.d/*")):
            os.unlink(f)
        shutil.copyfile("/etc/resolv.conf", tmp / "etc/resolv.conf")
        mounts.mount(["-t", "proc", "proc"], tmp / "proc")
        with timed(f"{prefix} layer: replay {len(layer)} RUN line(s) of the {what} (apt: {' '.join(stage['packages'])})"):
            for step in layer:
                replay_run(tmp, step)
        mounts.umount_all()
        run(["tar", "-C", str(tmp), "--numeric-owner", "-cf", f"{tar}.part", "."], timeout=300)
        os.replace(f"{tar}.part", tar)
    finally:
        mounts.umount_all()
        rmtree(tmp)
        if os.path.exists(f"{tar}.part"):
            os.unlink(f"{tar}.part")
    # older layers (the Dockerfile changed) only take space
    for old in cache.glob(f"{prefix}-*.tar"):
        if old != tar:
            old.unlink()
    return tar


def build_from_source(cache, layer_tar, stage, context, ignored, build_args, artifact, out):
    """Replays the rest of the build stage on its cached layer: WORKDIR, COPY from the build
    context (minus what .dockerignore excludes), RUN with the ARG values; copies `artifact`
    (the path the run stage copies from this stage) to `out`."""
    tmp = cache / f"tmp-build-{os.getpid()}"
    rmtree(tmp)
    mounts = Mounts()
    try:
        tmp.mkdir()
        run(["tar", "-C", str(tmp), "--numeric-owner", "-xf", str(layer_tar)], timeout=300)
        mounts.mount(["-t", "proc", "proc"], tmp / "proc")
        first_other = next(i for i, s in enumerate(stage["steps"]) if s["op"] != "run")
        with timed(f"{stage['name']} stage: COPY the context and RUN the build"):
            for step in stage["steps"][first_other:]:
                if step["op"] == "workdir":
                    (tmp / step["dir"].lstrip("/")).mkdir(parents=True, exist_ok=True)
                elif step["op"] == "copy":
                    copy_context(context, ignored, step, tmp)
                else:
                    replay_run(tmp, step, build_args, timeout=2400)
        built = tmp / artifact.lstrip("/")
        if not built.is_file():
            raise SmokeError(f"the {stage['name']} stage did not produce {artifact}")
        shutil.copyfile(built, out)
        os.chmod(out, 0o755)
    finally:
        mounts.umount_all()
        rmtree(tmp)


def copy_context(context, ignored, step, root):
    """COPY SRC... DEST from the build context, as Docker does it: a directory's contents go
    into DEST; a file goes to DEST, or into it when DEST ends with '/' or there are several."""
    context = os.path.realpath(context)
    for src in step["srcs"]:
        path = os.path.join(context, src)
        if ignored(os.path.relpath(path, context)) or not os.path.exists(path):
            raise SmokeError(f"COPY {src}: not in the build context (missing, or excluded by .dockerignore)")
        dest = root / step["dest"].lstrip("/")
        if os.path.isdir(path):
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = [d for d in dirnames if not ignored(os.path.relpath(os.path.join(dirpath, d), context))]
                for f in filenames:
                    full = os.path.join(dirpath, f)
                    if ignored(os.path.relpath(full, context)):
                        continue
                    target = dest / os.path.relpath(full, path)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(full, target)
        else:
            target = dest / os.path.basename(src) if step["dir_dest"] or len(step["srcs"]) > 1 else dest
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def resolve_user(root, spec):
    """USER value -> uid:gid via the chroot's /etc/passwd and /etc/group."""
    name, _, group = spec.partition(":")

    def lookup(file, key, field):
        if key.isdigit():
            return key
        for line in (root / "etc" / file).read_text().splitlines():
            parts = line.split(":")
            if parts[0] == key:
                return parts[field]
        raise SmokeError(f"USER {spec}: no '{key}' in the image's /etc/{file}")

    uid = lookup("passwd", name, 2)
    if group:
        gid = lookup("group", group, 2)
    else:
        gid = next((l.split(":")[3] for l in (root / "etc/passwd").read_text().splitlines()
                    if l.split(":")[2] == uid), uid)
    return f"{uid}:{gid}"
