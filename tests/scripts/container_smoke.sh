#!/usr/bin/env bash
# tier: slow
# Container smoke test without a Docker engine: scripts/container-smoke replays the run stage of
# docker/Dockerfile in a debootstrapped Debian 12 root (its apt packages and user, parsed from
# the Dockerfile), copies this build's binary in, bind-mounts the root read-only and, as uid
# 10001, runs `lettagate version`, `lettagate serve` with a --tcp-check to a loopback port, and
# the HEALTHCHECK (`lettagate check`): exit 1 with the port closed, 0 once it listens, 1 after
# it closes; then SIGTERM -> exit 0.
#
# Bounded: the whole run gets 540 s (ctest allows 600). The rootfs is cached under
# build/container-smoke-cache (keyed by the mirror and the run stage's RUN lines), shared by
# every build dir. Measured on this machine kind (2 cores, others building): cold 2m10s-4m20s
# (debootstrap 75-155 s, apt in the chroot 8-30 s), warm 12-20 s (mostly unpacking the cached
# root). Needs root (debootstrap, mount, chroot) and the Debian mirror when the cache is cold.
set -euo pipefail
SRC="${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
LG="${LG_BINARY:-$SRC/build/lettagate}"
[ "$(id -u)" -eq 0 ] || { echo "FAIL: container_smoke needs root (debootstrap, mount, chroot)" >&2; exit 1; }
[ -x "$LG" ] || { echo "FAIL: no lettagate binary at $LG" >&2; exit 1; }
rc=0
timeout -k 20 540 "$SRC/scripts/container-smoke" --binary "$LG" || rc=$?
case "$rc" in
  0) ;;
  124) echo "FAIL: scripts/container-smoke did not finish within 540 s (cold cache on a slow mirror?)" >&2 ;;
  3) echo "FAIL: the rootfs cache is cold and --cached-only was given" >&2 ;;
  *) echo "FAIL: scripts/container-smoke exited $rc" >&2 ;;
esac
exit "$rc"
